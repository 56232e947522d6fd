"""Reports over the task table that no dialect serves, only the console: search by text, usage by day and model.

They read the table in bulk on a plain connection; `Store` keeps the per-task operations."""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa

from seedgate.core.status import Status

from .schema import tasks as tasks_table
from .store import Store

SEARCH_MAX = 1000  # the newest matching tasks a search pages through
USAGE_MAX_ROWS = 50_000


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


def _seconds(spec: dict[str, Any]) -> float:
    frames, fps = spec.get("frame_count"), spec.get("fps")
    if frames and fps:
        return float(frames) / float(fps)
    duration = spec.get("duration")
    return float(duration) if isinstance(duration, int | float) and duration > 0 else 0.0


async def usage_report(store: Store, owner: str | None, days: int, tz_offset_min: int) -> dict[str, Any]:
    """Counts, video seconds and tokens by day and model, from the tasks the store still holds (not money: prices
    are another part's business). Days are the browser's local days (`tz_offset_min` as JavaScript's
    getTimezoneOffset gives it)."""
    since = time.time() - days * 86400
    cols = (
        tasks_table.c.model,
        tasks_table.c.created_at,
        tasks_table.c.status,
        tasks_table.c.spec,
        tasks_table.c.result,
    )
    where = [tasks_table.c.created_at >= since] + ([tasks_table.c.owner == owner] if owner else [])
    select = sa.select(*cols).where(*where).order_by(tasks_table.c.created_at.desc()).limit(USAGE_MAX_ROWS)
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select)).all()
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        day = time.strftime("%Y-%m-%d", time.gmtime(row.created_at - tz_offset_min * 60))
        spec = json.loads(row.spec)
        model = spec.get("model_name") or row.model
        g = groups.setdefault(
            (day, model),
            {"day": day, "model": model, "tasks": 0, "succeeded": 0, "failed": 0, "seconds": 0.0, "tokens": 0},
        )
        g["tasks"] += 1
        if row.status == Status.SUCCEEDED.value:
            g["succeeded"] += 1
            g["seconds"] += _seconds(spec)
            usage = (json.loads(row.result) if row.result else {}).get("usage") or {}
            g["tokens"] += int(usage.get("completion_tokens") or usage.get("total_tokens") or 0)
        elif row.status in (Status.FAILED.value, Status.EXPIRED.value):
            g["failed"] += 1
    items = sorted(groups.values(), key=lambda g: (g["day"], g["model"]), reverse=True)
    for g in items:
        g["seconds"] = round(g["seconds"], 1)
    totals = {k: sum(g[k] for g in items) for k in ("tasks", "succeeded", "failed", "tokens")}
    totals["seconds"] = round(sum(g["seconds"] for g in items), 1)
    return {"days": days, "since": since, "items": items, "totals": totals, "truncated": len(rows) >= USAGE_MAX_ROWS}
