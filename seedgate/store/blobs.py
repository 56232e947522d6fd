"""The blob index: which stored input blobs exist, when a node last relied on each, and which a collector is deleting.

Object stores keep no access times a collector could trust, so the database decides when a blob may go. The protocol,
safe with any number of nodes on SQLite or PostgreSQL:

- a node `touch`es a blob's row before it stores or reuses the blob, and commits the task or asset that references
  it within the grace period after that touch; a touch refused because a collector is deleting the blob means:
  wait until that collector has `forget`-ten it, then touch again and store the blob anew;
- a collector `doom`s rows untouched for the grace period that nothing references (marks them deleting), deletes
  their objects, then `forget`s the rows; rows a collector left marked (it died) come back from `stale_doomed`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from .schema import assets, blobs, task_blobs

# Rows per statement: well under SQLite's and asyncpg's bound-parameter limits.
_CHUNK = 500


def _chunks(digests: Collection[str]) -> Iterator[list[str]]:
    # Sorted, so that two nodes touching overlapping sets lock the rows in the same order (no deadlock on PostgreSQL).
    wanted = sorted(set(digests))
    for start in range(0, len(wanted), _CHUNK):
        yield wanted[start : start + _CHUNK]


class BlobIndex:
    def __init__(self, engine: AsyncEngine, is_sqlite: bool) -> None:
        self.engine = engine
        self._insert = sqlite_insert if is_sqlite else pg_insert

    async def touch(self, digests: Collection[str], now: float) -> set[str]:
        """Record that this node is about to store or reuse these blobs; returns those it must not use yet.

        Each row is created, or has its touched_at set to `now`, unless a collector marked it deleting: those
        digests are returned, and the caller waits until the row is gone (the object with it) and touches again.
        The upsert returns the rows it wrote, so the refused ones are the rest, in one statement per chunk."""
        refused: set[str] = set()
        async with self.engine.begin() as conn:
            for chunk in _chunks(digests):
                rows = self._insert(blobs).values([{"digest": d, "touched_at": now} for d in chunk])
                upsert = rows.on_conflict_do_update(
                    index_elements=[blobs.c.digest],
                    set_={"touched_at": rows.excluded.touched_at},
                    where=blobs.c.deleting_since.is_(None),
                ).returning(blobs.c.digest)
                written = set((await conn.execute(upsert)).scalars())
                refused.update(d for d in chunk if d not in written)
        return refused

    async def doom(self, cutoff: float, now: float, limit: int = 500) -> list[str]:
        """Mark up to `limit` blobs deleting (deleting_since = `now`) and return them: rows touched before `cutoff`,
        not already deleting, that no task (task_blobs) and no asset (assets.blob) references.

        The marking is one statement, WITH picked AS (SELECT ... NOT EXISTS ... FOR UPDATE SKIP LOCKED) UPDATE ...
        RETURNING: on SQLite it runs alone (one writer); on PostgreSQL two collectors never mark the same row, since
        a row another collector has locked is skipped and the UPDATE's WHERE re-checks deleting_since on the newest
        row version.

        Why a create is never undercut, on PostgreSQL under READ COMMITTED: a create touches its blobs before it
        inserts its task. If that touch has not committed yet, it holds the row lock (the upsert), so the row is
        skipped here (or, for a new row, not visible at all). If it has committed, the row's touched_at is the
        touch's time: the locking re-read (and the UPDATE's WHERE, re-evaluated on the newest version) sees it is not
        before `cutoff`, so the row is not marked until the grace period (now - cutoff) has passed since the touch.
        By then the create has committed its task, on the assumption this relies on: a create commits the task
        that references a blob within the grace period of its touch (and clocks across nodes agree to well within
        it). This statement's snapshot, taken after that commit, then sees the task_blobs row. SQLite serializes
        writers, so the same holds there trivially.

        Rows found still referenced are renewed (touched_at = `now`) in the same transaction: they leave the range
        this scan reads until the grace period passes again, so each call reads about `limit` rows however many
        old, referenced blobs a large store keeps."""
        idle = sa.and_(blobs.c.deleting_since.is_(None), blobs.c.touched_at < cutoff)
        unreferenced = sa.and_(
            ~sa.exists().where(task_blobs.c.digest == blobs.c.digest),
            ~sa.exists().where(assets.c.blob == blobs.c.digest),
        )
        async with self.engine.begin() as conn:
            doomed = await conn.execute(
                blobs.update()
                .where(blobs.c.digest.in_(_pick(idle, unreferenced, limit)), idle)
                .values(deleting_since=now)
                .returning(blobs.c.digest)
            )
            marked = list(doomed.scalars())
            await conn.execute(
                blobs.update().where(blobs.c.digest.in_(_pick(idle, ~unreferenced, limit)), idle).values(touched_at=now)
            )
        return marked

    async def stale_doomed(self, before: float, limit: int = 500) -> list[str]:
        """Blobs marked deleting before `before`: their collector died mid-way, so the caller deletes their objects
        again and forgets them. `before` must lie well past how long a collector takes to delete what it marked:
        a slow collector still at work would otherwise see its blob deleted twice, harmless only while no node
        stored it again in between."""
        query = (
            sa.select(blobs.c.digest)
            .where(blobs.c.deleting_since < before)
            .order_by(blobs.c.deleting_since)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def forget(self, digests: Collection[str]) -> None:
        """Drop the rows of blobs whose objects are deleted (only rows still marked deleting)."""
        async with self.engine.begin() as conn:
            for chunk in _chunks(digests):
                await conn.execute(blobs.delete().where(blobs.c.digest.in_(chunk), blobs.c.deleting_since.is_not(None)))

    async def track(self, digests: Collection[str], now: float) -> None:
        """Add rows, touched `now`, for blobs found in storage that have none (data written before this index); rows
        that exist are left as they are."""
        async with self.engine.begin() as conn:
            for chunk in _chunks(digests):
                rows = [{"digest": d, "touched_at": now} for d in chunk]
                await conn.execute(self._insert(blobs).values(rows).on_conflict_do_nothing())


def _pick(idle: sa.ColumnElement[bool], condition: sa.ColumnElement[bool], limit: int) -> sa.Select[tuple[str]]:
    """Up to `limit` idle rows meeting `condition`, locked; rows another transaction holds are skipped (PostgreSQL;
    SQLite has one writer and ignores the clause). A materialized CTE, read once: as a plain IN (subquery),
    PostgreSQL may rescan it for each outer row, and a rescan skips the rows this statement already changed and
    locks further ones, past `limit`."""
    picked = (
        sa.select(blobs.c.digest)
        .where(idle, condition)
        .limit(limit)
        .with_for_update(skip_locked=True, of=blobs)
        .cte("picked")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    return sa.select(picked.c.digest)
