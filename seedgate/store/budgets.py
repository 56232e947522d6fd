"""Budgets, the keys linked to them, and the ledger: the books of what every key reserved, spent and got back.

The rules are core/limits.py's; this module applies them where they cannot be raced. A create's reservation is
made in the transaction that stores the task, with its budget rows locked (PostgreSQL row locks taken in id order;
SQLite's single writer), so two API nodes can never both spend a budget's last yuan. A task's settle or refund is
written in the transaction that moves it to its final status, which only one actor can win (Store.transition), and
the ledger's unique (task, budget, kind) index makes any repeat a no-op: a retry, a restart, two nodes settling
the same task never charge or refund twice.

The reservation runs on the create hot path, in the group-committed transaction the fast paths (sqlite_fast.py,
postgres_fast.py) open on their plain drivers: `reserve` is written once, as steps of plain SQL that either driver
runs, so the rules stay core/limits.py's and the SQL is the same on both.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from seedgate.core.limits import Budget, Charge, LimitExceeded, admit_all

from .postgres_fast import KEYS_CHANNEL
from .schema import api_keys, budgets, key_budgets, ledger


@dataclass(frozen=True)
class Admission:
    """One create asking to be admitted: the task's ID, its owner (the key), model and estimated charge."""

    task_id: str
    key_id: str
    model: str
    charge: Charge


@dataclass(frozen=True)
class Entry:
    at: float
    budget_id: str
    kind: str
    amount: int
    task_id: str | None
    key_id: str | None
    model: str | None
    tokens: int
    note: str | None


def _budget(m: Mapping[Any, Any]) -> Budget:
    values = {f.name: m[f.name] for f in fields(Budget) if f.name in m}
    values["models"] = tuple(json.loads(m["models"])) if m["models"] is not None else None
    return Budget(**values)


def _row(budget: Budget, now: float) -> dict[str, Any]:
    values = {f.name: getattr(budget, f.name) for f in fields(Budget)}
    values["models"] = json.dumps(list(budget.models)) if budget.models is not None else None
    return {**values, "updated_at": now}


class BudgetBook:
    def __init__(self, engine: AsyncEngine, is_sqlite: bool) -> None:
        self.engine = engine
        self.is_sqlite = is_sqlite

    # -- managing budgets -----------------------------------------------------------------------------------------

    async def create(self, budget: Budget) -> Budget:
        now = time.time()
        budget = replace(budget, id=budget.id or f"bud_{secrets.token_hex(8)}", created_at=now).current(now)
        async with self.engine.begin() as conn:
            await conn.execute(budgets.insert().values(**_row(budget, now)))
        return budget

    async def get(self, ident: str) -> Budget | None:
        """By ID or by name."""
        query = sa.select(budgets).where(sa.or_(budgets.c.id == ident, budgets.c.name == ident))
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _budget(row._mapping).current(time.time()) if row is not None else None

    async def all(self) -> list[Budget]:
        now = time.time()
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(budgets).order_by(budgets.c.created_at))).all()
        return [_budget(r._mapping).current(now) for r in rows]

    async def update(self, budget_id: str, **changes: Any) -> Budget | None:
        """Change a budget's limits (not its books: `used` changes only through the ledger)."""
        now = time.time()
        async with self.engine.begin() as conn:
            row = (await conn.execute(sa.select(budgets).where(budgets.c.id == budget_id).with_for_update())).first()
            if row is None:
                return None
            budget = replace(_budget(row._mapping), **changes).current(now)
            await conn.execute(budgets.update().where(budgets.c.id == budget_id).values(**_row(budget, now)))
        return budget

    async def delete(self, budget_id: str) -> bool:
        """Remove a budget and its links (its ledger entries stay: the books are append-only)."""
        async with self.engine.begin() as conn:
            keys = (
                (await conn.execute(sa.select(key_budgets.c.key_id).where(key_budgets.c.budget_id == budget_id)))
                .scalars()
                .all()
            )
            await conn.execute(key_budgets.delete().where(key_budgets.c.budget_id == budget_id))
            gone = (await conn.execute(budgets.delete().where(budgets.c.id == budget_id))).rowcount > 0
            for key_id in keys:
                await self._mark_limited(conn, key_id)
        return gone

    async def link(self, key_id: str, budget_id: str) -> None:
        async with self.engine.begin() as conn:
            exists = await conn.execute(
                sa.select(key_budgets.c.key_id).where(
                    key_budgets.c.key_id == key_id, key_budgets.c.budget_id == budget_id
                )
            )
            if exists.first() is None:
                await conn.execute(key_budgets.insert().values(key_id=key_id, budget_id=budget_id))
            await self._mark_limited(conn, key_id)

    async def unlink(self, key_id: str, budget_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                key_budgets.delete().where(key_budgets.c.key_id == key_id, key_budgets.c.budget_id == budget_id)
            )
            await self._mark_limited(conn, key_id)

    async def of_key(self, key_id: str) -> list[Budget]:
        now = time.time()
        query = (
            sa.select(budgets)
            .join(key_budgets, key_budgets.c.budget_id == budgets.c.id)
            .where(key_budgets.c.key_id == key_id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.order_by(budgets.c.name))).all()
        return [_budget(r._mapping).current(now) for r in rows]

    async def keys_of(self, budget_id: str) -> list[str]:
        query = sa.select(key_budgets.c.key_id).where(key_budgets.c.budget_id == budget_id)
        async with self.engine.connect() as conn:
            return list((await conn.execute(query.order_by(key_budgets.c.key_id))).scalars())

    async def _mark_limited(self, conn: AsyncConnection, key_id: str) -> None:
        """`api_keys.limited` says whether the key's creates take the budget path; every node's key cache is told
        (PostgreSQL), as for a revocation, so none keeps admitting it unchecked."""
        linked = sa.exists().where(key_budgets.c.key_id == key_id)
        await conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(limited=linked))
        if not self.is_sqlite:
            await conn.execute(sa.select(sa.func.pg_notify(KEYS_CHANNEL, key_id)))

    # -- inside a final transition's transaction ------------------------------------------------------------------

    async def close(
        self,
        conn: AsyncConnection,
        task_id: str,
        key_id: str,
        model: str,
        budget_ids: Sequence[str],
        delivered: Charge | None,
        now: float,
    ) -> None:
        """Settle a task on what it delivered (`delivered`), or refund its reservation (None): one entry per budget,
        written once whoever calls (the unique index), and the budget's `used` moved by the difference when the
        reservation belongs to the budget's current period (an old period's books are closed). Runs in the final
        transition's transaction, which has already written the task (so it holds SQLite's writer); each budget row
        is locked and read in one statement (PostgreSQL row locks, in id order)."""
        reserved = {
            r.budget_id: r
            for r in (
                await conn.execute(
                    sa.select(ledger.c.budget_id, ledger.c.amount, ledger.c.at).where(
                        ledger.c.task_id == task_id, ledger.c.kind == "reserve"
                    )
                )
            ).all()
        }
        kind = "refund" if delivered is None else "settle"
        for budget_id in sorted(budget_ids):
            reserve = reserved.get(budget_id)
            if reserve is None:
                continue
            locked = sa.select(budgets).where(budgets.c.id == budget_id).with_for_update()
            row = (await conn.execute(locked)).first()
            if row is None:
                continue
            budget = _budget(row._mapping).current(now)
            final = 0 if delivered is None else delivered.in_unit(budget.unit) or 0
            delta = final - reserve.amount
            entry = {"at": now, "budget_id": budget_id, "kind": kind, "amount": delta, "task_id": task_id}
            entry.update(key_id=key_id, model=model, tokens=delivered.tokens if delivered else 0, note=None)
            written = await conn.execute(_insert_once(self.is_sqlite, entry))
            if written.rowcount and reserve.at >= budget.period_start:
                budget = replace(budget, used=max(0, budget.used + delta))
            await conn.execute(budgets.update().where(budgets.c.id == budget_id).values(**_row(budget, now)))

    # -- reading the books ----------------------------------------------------------------------------------------

    async def entries(
        self, *, budget_id: str | None = None, task_id: str | None = None, since: float = 0.0
    ) -> list[Entry]:
        query = sa.select(ledger).where(ledger.c.at >= since)
        if budget_id is not None:
            query = query.where(ledger.c.budget_id == budget_id)
        if task_id is not None:
            query = query.where(ledger.c.task_id == task_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.order_by(ledger.c.id))).all()
        return [
            Entry(r.at, r.budget_id, r.kind, r.amount, r.task_id, r.key_id, r.model, r.tokens, r.note) for r in rows
        ]


def _insert_once(is_sqlite: bool, entry: dict[str, Any]) -> Any:
    """An entry the unique (task, budget, kind) index keeps from being written twice: a repeat writes nothing."""
    insert = sqlite_insert if is_sqlite else pg_insert
    return insert(ledger).values(**entry).on_conflict_do_nothing()


# -- a create's reservation, on the fast paths ---------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """One step of `reserve`: plain SQL with `?` placeholders (PostgreSQL's are numbered from them), run with
    `params`, or once per parameter tuple in `params` when `many` (then no rows come back)."""

    sql: str
    params: Sequence[Any]
    many: bool = False


# Per create: the budgets it reserved against and None, or no budgets and the limit it broke.
Admitted = list[tuple[tuple[str, ...], LimitExceeded | None]]
# What a driver runs: send it each statement's rows (a mapping per row) until it returns the outcome.
Reserving = Generator[Statement, list[Mapping[str, Any]], Admitted]

_BUDGET_WRITE = (
    "UPDATE budgets SET used = ?, period_start = ?, window_start = ?, window_count = ?, updated_at = ? WHERE id = ?"
)
_LEDGER_WRITE = (
    "INSERT INTO ledger (at, budget_id, kind, amount, task_id, key_id, model, tokens) "
    "VALUES (?, ?, 'reserve', ?, ?, ?, ?, ?)"
)


def reserve(wanted: Sequence[Admission], now: float, *, row_locks: bool) -> Reserving:
    """Reserve each create's charge against every budget of its key, in order, inside the caller's transaction
    (which then stores the admitted tasks). `row_locks` (PostgreSQL): lock the budget rows, in id order so that
    nodes locking overlapping sets never deadlock; SQLite's transaction already holds its single writer's lock.

    Three to four statements per batch whatever its size: links, lock and read in one; the queued count only where
    a budget caps it; the budgets' new state and the reserve entries each in one executemany."""
    if not wanted:
        return []
    keys = sorted({w.key_id for w in wanted})
    rows = yield Statement(
        "SELECT key_budgets.key_id AS linked_key, budgets.* FROM key_budgets "
        "JOIN budgets ON budgets.id = key_budgets.budget_id "
        f"WHERE key_budgets.key_id IN ({', '.join('?' * len(keys))}) ORDER BY budgets.id"
        + (" FOR UPDATE OF budgets" if row_locks else ""),
        keys,
    )
    of_key: dict[str, list[str]] = {}
    state: dict[str, Budget] = {}
    for row in rows:
        of_key.setdefault(row["linked_key"], []).append(row["id"])
        state.setdefault(row["id"], _budget(row).current(now))
    capped = [budget_id for budget_id, budget in state.items() if budget.max_queued is not None]
    queued: dict[str, int] = {}
    if capped:
        counts = yield Statement(
            "SELECT key_budgets.budget_id AS budget_id, count(*) AS queued FROM tasks "
            "JOIN key_budgets ON key_budgets.key_id = tasks.owner "
            f"WHERE key_budgets.budget_id IN ({', '.join('?' * len(capped))}) AND tasks.status = 'queued' "
            "GROUP BY key_budgets.budget_id",
            capped,
        )
        queued = {row["budget_id"]: row["queued"] for row in counts}
    outcome: Admitted = []
    entries: list[tuple[Any, ...]] = []
    for w in wanted:
        mine = of_key.get(w.key_id, [])
        try:
            state.update(admit_all(state, mine, w.model, w.charge, queued, now))
        except LimitExceeded as refused:
            outcome.append(((), refused))
            continue
        for budget_id in mine:
            queued[budget_id] = queued.get(budget_id, 0) + 1
            amount = w.charge.in_unit(state[budget_id].unit) or 0
            entries.append((now, budget_id, amount, w.task_id, w.key_id, w.model, w.charge.tokens))
        outcome.append((tuple(mine), None))
    if state:
        yield Statement(
            _BUDGET_WRITE,
            [(b.used, b.period_start, b.window_start, b.window_count, now, b.id) for b in state.values()],
            many=True,
        )
    if entries:
        yield Statement(_LEDGER_WRITE, entries, many=True)
    return outcome
