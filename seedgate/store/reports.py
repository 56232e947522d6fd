"""Reports over the task table that no dialect serves: the console's search by text, and usage (GET /v1/usage, the
console's usage page, `seedgate usage`) by day, model and key, with what it cost.

They read the table in bulk on a plain connection; `Store` keeps the per-task operations."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from seedgate.core.limits import MICRO
from seedgate.core.status import Status

from .schema import ledger
from .schema import tasks as tasks_table
from .store import Store

SEARCH_MAX = 1000  # the newest matching tasks a search pages through
USAGE_MAX_ROWS = 50_000  # tasks one report reads; beyond it the answer says `truncated`
GROUPS = ("day", "model", "key")


def _like(text: str) -> str:
    """A LIKE pattern matching `text` as it appears inside the stored spec JSON (written with ensure_ascii=False,
    so only quotes and backslashes change)."""
    encoded = json.dumps(text.lower(), ensure_ascii=False)[1:-1]
    return "%" + encoded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def search_ids(store: Store, owner: str, query: str, since: float) -> list[str]:
    """IDs of the owner's tasks whose ID, prompt or model contains `query` (case-insensitive, newest first, capped).
    The database narrows by the spec's JSON text; the exact fields are then checked here (a match in another
    field or a JSON key does not count)."""
    pattern, needle = _like(query), query.lower()
    where = [
        tasks_table.c.owner == owner,
        tasks_table.c.created_at >= since,
        sa.or_(
            sa.func.lower(tasks_table.c.spec).like(pattern, escape="\\"),
            sa.func.lower(tasks_table.c.id).like(pattern, escape="\\"),
        ),
    ]
    select = (
        sa.select(tasks_table.c.id, tasks_table.c.model, tasks_table.c.spec)
        .where(*where)
        .order_by(tasks_table.c.created_at.desc())
        .limit(SEARCH_MAX * 5)
    )
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select)).all()
    found = []
    for row in rows:
        spec = json.loads(row.spec)
        fields = (row.id, row.model, spec.get("model_name") or "", spec.get("prompt") or "")
        if any(needle in str(value).lower() for value in fields):
            found.append(row.id)
    return found[:SEARCH_MAX]


@dataclass(frozen=True)
class UsageQuery:
    since: float
    until: float
    owner: str | None  # one key's tasks; None: every key's
    group_by: tuple[str, ...] = ("day", "model")  # in GROUPS' order
    utc_offset_min: int = 0  # whose days: minutes east of UTC (UTC+8 is 480)


def _seconds(spec: dict[str, Any]) -> float:
    frames, fps = spec.get("frame_count"), spec.get("fps")
    if frames and fps:
        return float(frames) / float(fps)
    duration = spec.get("duration")
    return float(duration) if isinstance(duration, int | float) and duration > 0 else 0.0


def _group() -> dict[str, Any]:
    return {
        "tasks": 0,
        "statuses": {},
        "succeeded": 0,
        "failed": 0,
        "seconds": 0.0,
        "tokens": 0,
        "cost": {},
        "estimated": {},
    }


def _add(group: dict[str, Any], row: Any) -> None:
    """One task into its group: counts by status; for a succeeded task its seconds, tokens and the cost its settle
    recorded; for a queued or running one the estimate its create took (what it will cost at most)."""
    group["tasks"] += 1
    group["statuses"][row.status] = group["statuses"].get(row.status, 0) + 1
    if row.status == Status.SUCCEEDED.value:
        group["succeeded"] += 1
        group["seconds"] += _seconds(json.loads(row.spec))
        result = json.loads(row.result) if row.result else {}
        usage = result.get("usage") or {}
        group["tokens"] += int(usage.get("completion_tokens") or usage.get("total_tokens") or 0)
        cost = result.get("cost")
        if isinstance(cost, dict) and cost.get("currency"):
            _count(group["cost"], str(cost["currency"]), int(cost["amount"]))
    elif row.status in (Status.FAILED.value, Status.EXPIRED.value):
        group["failed"] += 1
    elif row.status in (Status.QUEUED.value, Status.RUNNING.value) and row.billing:
        estimate = json.loads(row.billing).get("estimate") or {}
        if estimate.get("currency"):
            _count(group["estimated"], str(estimate["currency"]), int(estimate["amount"]))


def _count(by_currency: dict[str, int], currency: str, amount: int) -> None:
    by_currency[currency] = by_currency.get(currency, 0) + amount


def _merge(into: dict[str, Any], group: dict[str, Any]) -> None:
    for name in ("tasks", "succeeded", "failed", "seconds", "tokens"):
        into[name] += group[name]
    for name in ("statuses", "cost", "estimated"):
        for k, v in group[name].items():
            into[name][k] = into[name].get(k, 0) + v


def _finish(group: dict[str, Any]) -> dict[str, Any]:
    group["seconds"] = round(group["seconds"], 1)
    for name in ("cost", "estimated"):
        group[name] = {currency: _money(amount) for currency, amount in sorted(group[name].items())}
    return group


def _money(micros: int) -> dict[str, Any]:
    return {"amount": round(micros / MICRO, 6), "amount_micros": micros}


def day_of(stamp: float, utc_offset_min: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(stamp + utc_offset_min * 60))


async def usage_report(store: Store, query: UsageQuery) -> dict[str, Any]:
    """Tasks created in [since, until) by the chosen groups, newest day first: counts by status, video seconds,
    tokens, what the succeeded ones cost (per currency, from the cost each settle recorded in its task's result) and
    what the unfinished ones reserved. One key's report reads its own index range (owner, created_at), so a week
    of one key never scans the table. For a key linked to budgets, `budgets` adds each budget's books for the key
    over the same window, from the ledger."""
    t = tasks_table.c
    where = [t.created_at >= query.since, t.created_at < query.until]
    if query.owner is not None:
        where.append(t.owner == query.owner)
    select = (
        sa.select(t.owner, t.model, t.created_at, t.status, t.spec, t.result, t.billing)
        .where(*where)
        .order_by(t.created_at.desc())
        .limit(USAGE_MAX_ROWS)
    )
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select)).all()
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        names = {"day": day_of(row.created_at, query.utc_offset_min), "model": row.model, "key": row.owner}
        key = tuple(names[g] for g in query.group_by)
        if key not in groups:
            groups[key] = {("key_id" if g == "key" else g): names[g] for g in query.group_by} | _group()
        _add(groups[key], row)
    totals = _group()
    for group in groups.values():
        _merge(totals, group)
    items = [_finish(groups[k]) for k in sorted(groups, reverse=True)]
    report: dict[str, Any] = {
        "since": query.since,
        "until": query.until,
        "key_id": query.owner or "all",
        "group_by": list(query.group_by),
        "utc_offset_min": query.utc_offset_min,
        "items": items,
        "totals": _finish(totals),
        "truncated": len(rows) >= USAGE_MAX_ROWS,
    }
    if query.owner is not None:
        report["budgets"] = await budget_books(store, query.owner, query.since, query.until)
    return report


async def budget_books(store: Store, key_id: str, since: float, until: float) -> list[dict[str, Any]]:
    """Each budget the key is linked to: its limit and what its current period used (every linked key together),
    and this key's ledger entries in [since, until) summed by kind, in the budget's unit (micro-units or tokens)."""
    entries = (
        sa.select(ledger.c.budget_id, ledger.c.kind, sa.func.sum(ledger.c.amount))
        .where(ledger.c.key_id == key_id, ledger.c.at >= since, ledger.c.at < until)
        .group_by(ledger.c.budget_id, ledger.c.kind)
    )
    async with store.engine.connect() as conn:
        sums = (await conn.execute(entries)).all()
    kinds: dict[str, dict[str, int]] = {}
    for budget_id, kind, total in sums:
        kinds.setdefault(budget_id, {})[kind] = int(total or 0)
    out = []
    for budget in await store.budgets.of_key(key_id):
        books = kinds.get(budget.id, {})
        out.append(
            {
                "id": budget.id,
                "name": budget.name,
                "unit": budget.unit,
                "limit": budget.limit,
                "period": budget.period,
                "used": budget.used,
                "remaining": budget.remaining(),
                "ledger": {
                    "reserved": books.get("reserve", 0),
                    "settled": books.get("settle", 0),
                    "refunded": books.get("refund", 0),
                    "charged": sum(books.values()),
                },
            }
        )
    return out


def known_groups(names: Iterable[str]) -> tuple[str, ...]:
    """`names` in GROUPS' order; ValueError naming the first unknown one."""
    wanted = set()
    for name in names:
        if name not in GROUPS:
            raise ValueError(f"{name!r} is not a group; use {', '.join(GROUPS)}")
        wanted.add(name)
    return tuple(g for g in GROUPS if g in wanted)
