"""Persistence of tasks handed to upstream channels (see schema.upstream_tasks).

Every write names the node's lease, so two nodes can never both act on one row: a node that lost its lease (it
stalled past it and another node took the row over) changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from seedgate.core.status import Status
from seedgate.core.upstream_states import IN_FLIGHT, UpstreamState, check_move, sources_of

from .schema import tasks, upstream_tasks

_DONE = UpstreamState.DONE.value


# next_check_at of a row an upstream callback asked to look at now; no real schedule is ever this early.
POKED = 0.0


def _unless_poked(at: float) -> Any:
    return sa.case((upstream_tasks.c.next_check_at == POKED, POKED), else_=at)


class Keep(Enum):
    """The value of an `update` argument left out: that column stays as it is (None is a value some take)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass
class UpstreamRecord:
    task_id: str
    model: str
    state: UpstreamState
    marker: str
    channel: str | None = None
    upstream_id: str | None = None
    tried: list[str] = field(default_factory=list)
    sent_at: float | None = None
    next_check_at: float = 0.0
    misses: int = 0
    upstream_status: str | None = None
    note: str | None = None
    created_at: float = 0.0


def _record(row: Any) -> UpstreamRecord:
    return UpstreamRecord(
        task_id=row.task_id,
        model=row.model,
        state=UpstreamState(row.state),
        marker=row.marker,
        channel=row.channel,
        upstream_id=row.upstream_id,
        tried=json.loads(row.tried),
        sent_at=row.sent_at,
        next_check_at=row.next_check_at,
        misses=row.misses,
        upstream_status=row.upstream_status,
        note=row.note,
        created_at=row.created_at,
    )


class UpstreamStore:
    def __init__(self, engine: AsyncEngine, is_sqlite: bool) -> None:
        self.engine = engine
        self.is_sqlite = is_sqlite

    async def adopt(
        self, task_id: str, model: str, marker: str, task_lease: str, owner: str, lease_s: float, now: float
    ) -> bool:
        """Take a claimed task over from the task queue: from now on its lease is this row's, not the task's.

        One transaction: either the task is released from the worker lease and the row exists, or neither."""
        release = (
            tasks.update()
            .where(tasks.c.id == task_id, tasks.c.lease_owner == task_lease, tasks.c.status == Status.RUNNING.value)
            .values(lease_owner=None, lease_expires_at=None)
        )
        row = {
            "task_id": task_id,
            "model": model,
            "state": UpstreamState.WAITING.value,
            "marker": marker,
            "tried": "[]",
            "next_check_at": now,
            "misses": 0,
            "lease_owner": owner,
            "lease_expires_at": now + lease_s,
            "created_at": now,
            "updated_at": now,
        }
        async with self.engine.begin() as conn:
            if (await conn.execute(release)).rowcount == 0:
                return False
            await conn.execute(upstream_tasks.insert().values(**row))
        return True

    async def take_orphans(
        self, owner: str, lease_s: float, now: float, channels: list[str], models: list[str], limit: int = 500
    ) -> int:
        """Lease rows no live node holds (their node stopped or died); returns how many were taken.

        Only rows of channels and models this node has configured: a node with another channels file leaves
        the rest to the nodes that can act on them."""
        orphan = sa.and_(
            upstream_tasks.c.state != _DONE,
            sa.or_(upstream_tasks.c.lease_owner.is_(None), upstream_tasks.c.lease_expires_at < now),
            upstream_tasks.c.model.in_(models),
            sa.or_(upstream_tasks.c.channel.is_(None), upstream_tasks.c.channel.in_(channels)),
        )
        pick = sa.select(upstream_tasks.c.task_id).where(orphan).limit(limit)
        if not self.is_sqlite:
            pick = pick.with_for_update(skip_locked=True)
        take = (
            upstream_tasks.update()
            .where(upstream_tasks.c.task_id.in_(pick.scalar_subquery()), orphan)
            .values(lease_owner=owner, lease_expires_at=now + lease_s, next_check_at=now)
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(take)).rowcount

    async def renew(self, owner: str, lease_s: float, now: float) -> None:
        query = (
            upstream_tasks.update()
            .where(upstream_tasks.c.lease_owner == owner, upstream_tasks.c.state != _DONE)
            .values(lease_expires_at=now + lease_s)
        )
        async with self.engine.begin() as conn:
            await conn.execute(query)

    async def release(self, owner: str) -> None:
        """A node shutting down hands its rows to whichever node looks next (no lease wait)."""
        query = (
            upstream_tasks.update()
            .where(upstream_tasks.c.lease_owner == owner, upstream_tasks.c.state != _DONE)
            .values(lease_owner=None, lease_expires_at=None)
        )
        async with self.engine.begin() as conn:
            await conn.execute(query)

    async def due(self, owner: str, now: float, limit: int = 2000) -> list[UpstreamRecord]:
        query = (
            sa.select(upstream_tasks)
            .where(
                upstream_tasks.c.lease_owner == owner,
                upstream_tasks.c.state != _DONE,
                upstream_tasks.c.next_check_at <= now,
            )
            .order_by(upstream_tasks.c.next_check_at)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_record(r) for r in (await conn.execute(query)).all()]

    async def next_due(self, owner: str) -> float | None:
        query = sa.select(sa.func.min(upstream_tasks.c.next_check_at)).where(
            upstream_tasks.c.lease_owner == owner, upstream_tasks.c.state != _DONE
        )
        async with self.engine.connect() as conn:
            due: float | None = (await conn.execute(query)).scalar()
        return due

    async def update(
        self,
        record: UpstreamRecord,
        owner: str,
        now: float,
        *,
        state: UpstreamState | None = None,
        channel: str | None | Keep = KEEP,
        upstream_id: str | Keep = KEEP,
        tried: Sequence[str] | Keep = KEEP,
        sent_at: float | Keep = KEEP,
        next_check_at: float | Keep = KEEP,
        misses: int | Keep = KEEP,
        upstream_status: str | Keep = KEEP,
        note: str | None | Keep = KEEP,
    ) -> bool:
        """Write the columns given (and mirror them on `record`) if this node still holds the row; False when it
        does not (another node took it over) or, with a `state`, when the row is no longer in a state that may
        move there (a cancel ended it meanwhile). A step the table in core/upstream_states.py does not allow from the
        record's state is a bug: StateError, nothing written."""
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("channel", channel),
                ("upstream_id", upstream_id),
                ("tried", list(tried) if not isinstance(tried, Keep) else tried),
                ("sent_at", sent_at),
                ("next_check_at", next_check_at),
                ("misses", misses),
                ("upstream_status", upstream_status),
                ("note", note),
            )
            if value is not KEEP
        }
        stored: dict[str, Any] = {k: json.dumps(v) if k == "tried" else v for k, v in changes.items()}
        if "next_check_at" in stored:
            stored["next_check_at"] = _unless_poked(stored["next_check_at"])
        where = [upstream_tasks.c.task_id == record.task_id, upstream_tasks.c.lease_owner == owner]
        if state is not None:
            check_move(record.state, state)
            where.append(upstream_tasks.c.state.in_([s.value for s in sources_of(state)]))
            stored["state"] = state.value
            changes["state"] = state
        query = upstream_tasks.update().where(*where).values(updated_at=now, **stored)
        async with self.engine.begin() as conn:
            changed = (await conn.execute(query)).rowcount > 0
        if changed:
            for key, value in changes.items():
                setattr(record, key, value)
        return changed

    async def reschedule(self, task_ids: list[str], owner: str, at: float) -> None:
        """Many rows polled with nothing new: one statement instead of one write each."""
        query = (
            upstream_tasks.update()
            .where(upstream_tasks.c.task_id.in_(task_ids), upstream_tasks.c.lease_owner == owner)
            .values(next_check_at=_unless_poked(at))
        )
        async with self.engine.begin() as conn:
            await conn.execute(query)

    async def unpoke(self, task_ids: list[str], now: float) -> None:
        """The node is about to look at these poked rows: from here on a new poke counts again."""
        query = (
            upstream_tasks.update()
            .where(upstream_tasks.c.task_id.in_(task_ids), upstream_tasks.c.next_check_at == POKED)
            .values(next_check_at=now)
        )
        async with self.engine.begin() as conn:
            await conn.execute(query)

    async def poke(self, task_id: str, now: float) -> bool:
        """Make a row due at once (an upstream callback arrived); whichever node leases it acts on it.

        The mark survives a poll that was already in flight (see _unless_poked): that poll's answer may predate
        the change the callback reported."""
        query = (
            upstream_tasks.update()
            .where(upstream_tasks.c.task_id == task_id, upstream_tasks.c.state != _DONE)
            .values(next_check_at=POKED)
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(query)).rowcount > 0

    async def finish_if(self, task_id: str, state: UpstreamState) -> bool:
        """End a row still in `state` (a cancel of a task not yet sent), whoever leases it."""
        check_move(state, UpstreamState.DONE)
        query = (
            upstream_tasks.update()
            .where(upstream_tasks.c.task_id == task_id, upstream_tasks.c.state == state.value)
            .values(state=_DONE)
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(query)).rowcount > 0

    async def get(self, task_id: str) -> UpstreamRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(upstream_tasks).where(upstream_tasks.c.task_id == task_id))).first()
        return _record(row) if row else None

    async def in_flight(self) -> dict[str, int]:
        query = (
            sa.select(upstream_tasks.c.channel, sa.func.count())
            .where(upstream_tasks.c.state.in_([s.value for s in IN_FLIGHT]))
            .group_by(upstream_tasks.c.channel)
        )
        async with self.engine.connect() as conn:
            return {channel: count for channel, count in (await conn.execute(query)).all()}

    async def known_ids(self, channel: str, upstream_ids: list[str]) -> set[str]:
        """Which of these upstream IDs some task already owns (a reconciliation must not adopt those)."""
        if not upstream_ids:
            return set()
        query = sa.select(upstream_tasks.c.upstream_id).where(
            upstream_tasks.c.channel == channel, upstream_tasks.c.upstream_id.in_(upstream_ids)
        )
        async with self.engine.connect() as conn:
            return {row[0] for row in (await conn.execute(query)).all()}
