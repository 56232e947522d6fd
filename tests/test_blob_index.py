"""The blob index (collection by database references, no file times) and result retention rows, on a real SQLite
store in a temporary directory and on PostgreSQL, races included."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from seedgate.core.asset import Asset, new_asset_id
from seedgate.core.plan import TaskPlan
from seedgate.core.status import Status
from seedgate.core.task import Task, new_task_id
from seedgate.store.schema import blobs, tasks
from seedgate.store.store import Store

from .conftest import Database, downgrade_to, emptied_store
from .waiting import wait_until_async

TABLES = ("blobs", "assets", "webhook_deliveries", "upstream_tasks", "task_blobs", "tasks")


@pytest.fixture
async def store(database: Database, tmp_path: Path) -> AsyncIterator[Store]:
    async with emptied_store(database, tmp_path, TABLES) as store:
        yield store


@pytest.fixture
async def other(store: Store) -> AsyncIterator[Store]:
    """A second node on the same database."""
    node = Store(store.url)
    yield node
    await node.close()


def digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


async def add_task(store: Store, *digests: str) -> Task:
    """A queued task whose inputs use these blobs (task_blobs rows, written with the task)."""
    now = time.time()
    media = [
        {"kind": "image", "url": f"https://example.com/{d}.png", "role": "reference_image", "blob": d} for d in digests
    ]
    task = Task(
        id=new_task_id(now),
        owner="k1",
        dialect="ark",
        endpoint="m",
        spec=TaskPlan.from_json({"model": "m", "media": media}),
        created_at=now,
        updated_at=now,
        expires_at=now + 3600,
    )
    await store.insert_task(task)
    return task


async def add_asset(store: Store, blob: str) -> Asset:
    now = time.time()
    asset = Asset(
        id=new_asset_id(now), owner="k1", kind="image", blob=blob, created_at=now, updated_at=now, expires_at=now + 3600
    )
    await store.assets.insert(asset)
    return asset


async def rows(store: Store) -> dict[str, tuple[float, float | None]]:
    """digest -> (touched_at, deleting_since)."""
    async with store.engine.connect() as conn:
        found = await conn.execute(sa.select(blobs.c.digest, blobs.c.touched_at, blobs.c.deleting_since))
        return {d: (touched, deleting) for d, touched, deleting in found.all()}


async def test_touch_doom_forget_lifecycle(store: Store) -> None:
    a, b = digest("a"), digest("b")
    assert await store.blobs.touch([b, a, a], now=100) == set()
    assert await store.blobs.doom(cutoff=100, now=500) == []  # touched at the cutoff: not before it
    assert sorted(await store.blobs.doom(cutoff=101, now=500)) == sorted([a, b])
    assert await rows(store) == {a: (100, 500), b: (100, 500)}
    assert await store.blobs.doom(cutoff=1000, now=600) == []  # marked once only
    assert await store.blobs.stale_doomed(before=500) == []
    assert sorted(await store.blobs.stale_doomed(before=501)) == sorted([a, b])
    await store.blobs.forget([a, b])
    assert await rows(store) == {}
    assert await store.blobs.touch([a], now=700) == set()  # stored anew after the collector let go
    assert await rows(store) == {a: (700, None)}


async def test_touch_renews_and_a_recent_touch_is_not_doomed(store: Store) -> None:
    a, b = digest("a"), digest("b")
    await store.blobs.touch([a, b], now=100)
    await store.blobs.touch([a], now=300)
    assert await store.blobs.doom(cutoff=200, now=400) == [b]
    assert await rows(store) == {a: (300, None), b: (100, 400)}


async def test_referenced_blobs_are_never_doomed(store: Store) -> None:
    by_task, by_asset, both, free = digest("task"), digest("asset"), digest("both"), digest("free")
    await store.blobs.touch([by_task, by_asset, both, free], now=100)
    task = await add_task(store, by_task, both)
    asset = await add_asset(store, by_asset)
    await add_asset(store, both)
    assert await store.blobs.doom(cutoff=200, now=300) == [free]
    # The referenced rows were renewed by that pass: a later pass within the grace period does not read them again.
    assert {d: r for d, r in (await rows(store)).items() if d != free} == {
        by_task: (300, None),
        by_asset: (300, None),
        both: (300, None),
    }
    assert await store.blobs.doom(cutoff=250, now=350) == []
    await store.delete_task(task.id)
    await store.assets.delete(asset.id)
    assert sorted(await store.blobs.doom(cutoff=400, now=500)) == sorted([by_task, by_asset])  # `both`: an asset


async def test_touch_on_a_doomed_blob_reports_it_and_leaves_the_mark(store: Store) -> None:
    a, b = digest("a"), digest("b")
    await store.blobs.touch([a], now=100)
    assert await store.blobs.doom(cutoff=200, now=300) == [a]
    assert await store.blobs.touch([a, b], now=400) == {a}
    assert await rows(store) == {a: (100, 300), b: (400, None)}
    await store.blobs.forget([a, b])  # only the row marked deleting goes
    assert await rows(store) == {b: (400, None)}


async def test_track_adds_missing_rows_only(store: Store) -> None:
    kept, doomed, found = digest("kept"), digest("doomed"), digest("found")
    await store.blobs.touch([kept, doomed], now=100)
    await store.blobs.doom(cutoff=100.5, now=100.5)  # nothing referenced: both marked
    await store.blobs.touch([kept], now=100)  # refused, still marked
    await store.blobs.forget([kept])
    await store.blobs.touch([kept], now=150)
    await store.blobs.track([kept, doomed, found], now=200)
    assert await rows(store) == {kept: (150, None), doomed: (100, 100.5), found: (200, None)}


async def test_large_batches_span_chunks(store: Store) -> None:
    many = [digest(str(i)) for i in range(1203)]
    assert await store.blobs.touch(many, now=100) == set()
    doomed = await store.blobs.doom(cutoff=200, now=300, limit=1000)
    assert len(doomed) == 1000
    assert await store.blobs.touch(many, now=400) == set(doomed)
    await store.blobs.forget(many)
    assert len(await rows(store)) == 203


async def test_concurrent_dooms_never_mark_the_same_blob(store: Store, other: Store) -> None:
    many = {digest(str(i)) for i in range(600)}
    await store.blobs.touch(many, now=100)
    seen: list[str] = []
    while True:
        first, second = await asyncio.gather(
            store.blobs.doom(cutoff=200, now=300, limit=70), other.blobs.doom(cutoff=200, now=300, limit=70)
        )
        if not first and not second:
            break
        assert not set(first) & set(second)
        seen += first + second
    assert sorted(seen) == sorted(many)


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
async def test_doom_skips_a_blob_whose_touch_is_not_committed(store: Store, other: Store) -> None:
    """PostgreSQL, READ COMMITTED: a create's touch holds the row's lock until it commits; a collector running
    meanwhile must neither mark that row nor, once the touch commits, find it untouched."""
    held, idle = digest("held"), digest("idle")
    await store.blobs.touch([held, idle], now=100)
    async with other.engine.connect() as conn:
        touch = await conn.begin()
        await conn.execute(
            sa.text("UPDATE blobs SET touched_at = 1000 WHERE digest = :d AND deleting_since IS NULL"), {"d": held}
        )
        doom = asyncio.create_task(store.blobs.doom(cutoff=500, now=1000))

        async def settled_or_waiting() -> bool:
            return doom.done() or await waits_on_a_lock(store)

        await wait_until_async(settled_or_waiting, "the collector to finish or wait for the touch's row lock")
        await touch.commit()
    assert await doom == [idle]
    assert (await rows(store))[held] == (1000, None)
    assert await store.blobs.doom(cutoff=500, now=1100) == []


async def waits_on_a_lock(store: Store) -> bool:
    query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    async with store.engine.connect() as conn:
        return bool((await conn.exec_driver_sql(query)).scalar_one())


async def finished(store: Store, status: Status, at: float) -> str:
    task = await add_task(store)
    claimed = await store.claim("w", ["preview"], 30)
    assert claimed is not None and claimed.id == task.id
    assert await store.transition(claimed, status, lease_owner="w", now=at)
    return task.id


async def test_results_to_delete_and_mark_deleted(store: Store) -> None:
    old = await finished(store, Status.SUCCEEDED, at=1000)
    newer = await finished(store, Status.SUCCEEDED, at=2000)
    await finished(store, Status.FAILED, at=1000)  # no result files
    queued = await add_task(store)
    assert await store.results_to_delete(before=1500) == [old]
    assert await store.results_to_delete(before=3000) == [old, newer]
    assert await store.results_to_delete(before=3000, limit=1) == [old]
    await store.mark_results_deleted([old], now=4000)
    assert await store.results_to_delete(before=3000) == [newer]
    await store.mark_results_deleted([newer], now=4000)
    assert await store.results_to_delete(before=5000) == []
    assert (await store.get_task(old)) is not None and (await store.get_task(queued.id)) is not None


async def test_results_to_delete_reads_the_partial_index(store: Store) -> None:
    """Issue 20 wants this flat on a million tasks: the query must be one the partial index answers."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await store.results_to_delete(before=1000)
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", capture)
    (statement, parameters), *_ = [s for s in statements if "files_deleted_at" in s[0]]
    async with store.engine.begin() as conn:
        if store.is_sqlite:
            plan = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)).all()
        else:
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # else a tiny table is read whole
            plan = (await conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)).all()
    assert "ix_tasks_results_kept" in str(plan)


async def test_migration_keeps_old_rows(store: Store) -> None:
    """A database written before 0008: its tasks, assets and task_blobs survive; succeeded tasks count as still
    having their files, and the blob index starts empty (BlobIndex.track fills it from storage)."""
    used = digest("used")
    done = await finished(store, Status.SUCCEEDED, at=1000)
    await add_task(store, used)
    await downgrade_to(store, "0007")
    async with store.engine.connect() as conn:
        assert "blobs" not in await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        columns = await conn.run_sync(lambda c: [col["name"] for col in sa.inspect(c).get_columns("tasks")])
        assert "files_deleted_at" not in columns
    await store.migrate()
    assert await store.results_to_delete(before=2000) == [done]
    assert await rows(store) == {}
    await store.blobs.track([used, digest("unused")], now=100)
    assert await store.blobs.doom(cutoff=200, now=300) == [digest("unused")]
    async with store.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(tasks))).scalar_one() == 2
