"""The queue inside the task table: claim order, leases, and settling exactly once (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from seedgate.config import normalize_database_url
from seedgate.core.plan import TaskPlan
from seedgate.core.status import Status
from seedgate.core.task import Task, new_task_id
from seedgate.store.store import Store, Webhook

from .conftest import Database


@pytest.fixture
async def store(database: Database, tmp_path: Path) -> AsyncIterator[Store]:
    url = normalize_database_url(database.url) if database.url else f"sqlite+aiosqlite:///{tmp_path / 'q.db'}"
    store = Store(url)
    await store.migrate()
    async with store.engine.begin() as conn:  # the PostgreSQL database is shared by the module's tests
        for table in ("webhook_deliveries", "tasks"):
            await conn.exec_driver_sql(f"DELETE FROM {table}")
    yield store
    await store.close()


async def add(
    store: Store,
    *,
    tier: str = "default",
    priority: int = 0,
    age: float = 0,
    engine: str = "preview",
    expires_in: float = 3600,
) -> Task:
    now = time.time() - age
    spec = TaskPlan.from_json({"model": "m", "engine": engine, "service_tier": tier, "priority": priority})
    task = Task(new_task_id(), "owner", "ark", "m", spec, created_at=now, updated_at=now, expires_at=now + expires_in)
    await store.insert_task(task)
    return task


async def test_claim_order_default_before_flex_then_priority_then_age(store: Store) -> None:
    flex_old = await add(store, tier="flex", age=100)
    low_old = await add(store, age=50)
    high_new = await add(store, priority=9, age=1)
    low_new = await add(store, age=10)
    other_engine = await add(store, engine="wan", age=200)
    order = [(await store.claim("w", ["preview"], 30)).id for _ in range(4)]
    assert order == [high_new.id, low_old.id, low_new.id, flex_old.id]
    assert await store.claim("w", ["preview"], 30) is None
    assert (await store.claim("w", ["wan"], 30)).id == other_engine.id


async def test_concurrent_claims_never_hand_out_a_task_twice(store: Store) -> None:
    ids = {(await add(store)).id for _ in range(20)}
    claims = await asyncio.gather(*(store.claim(f"w{i}", ["preview"], 30) for i in range(30)))
    got = [c.id for c in claims if c is not None]
    assert len(got) == len(set(got)) == 20 and set(got) == ids


async def test_expired_lease_is_reclaimed_and_old_owner_cannot_settle(store: Store) -> None:
    task = await add(store)
    first = await store.claim("dead-worker", ["preview"], 0.2)
    assert first.attempts == 1
    assert await store.claim("w2", ["preview"], 30) is None  # lease still valid
    await asyncio.sleep(0.3)
    second = await store.claim("w2", ["preview"], 30)
    assert second.id == task.id and second.attempts == 2
    assert not await store.heartbeat(task.id, "dead-worker", 30, 0.5)
    assert not await store.transition(first, Status.SUCCEEDED, lease_owner="dead-worker", result={"video": "x"})
    assert await store.transition(
        second,
        Status.SUCCEEDED,
        lease_owner="w2",
        result={"video": "y"},
        webhooks=[Webhook("http://127.0.0.1:9/cb", {"id": task.id})],
    )
    assert not await store.transition(second, Status.SUCCEEDED, lease_owner="w2", result={"video": "z"})
    done = await store.get_task(task.id)
    assert done.status is Status.SUCCEEDED and done.result == {"video": "y"}
    assert len(await store.webhook_history(task.id)) == 1


async def test_cancel_only_while_queued_and_expired_tasks_are_not_claimed(store: Store) -> None:
    task = await add(store)
    assert await store.transition(task, Status.CANCELLED)
    assert not await store.transition(task, Status.RUNNING)
    overdue = await add(store, age=10, expires_in=5)
    assert await store.claim("w", ["preview"], 30) is None
    assert [t.id for t in await store.due_for_expiry(time.time())] == [overdue.id]


async def test_list_filters(store: Store) -> None:
    a = await add(store, age=3)
    b = await add(store, tier="flex", age=2)
    total, page = await store.list_tasks("owner", limit=1)
    assert total == 2 and page[0].id == b.id
    assert (await store.list_tasks("owner", service_tier="flex"))[0] == 1
    assert (await store.list_tasks("owner", ids=[a.id]))[1][0].id == a.id
    assert (await store.list_tasks("someone-else"))[0] == 0


async def test_group_commit_batches_concurrent_writes_and_isolates_a_bad_row() -> None:
    from seedgate.store.batching import GroupCommit

    batches: list[list[int]] = []

    async def write(items: list[int]) -> None:
        await asyncio.sleep(0.01)
        if 13 in items:
            raise ValueError("unlucky row")
        batches.append(items)

    commit = GroupCommit(write)
    results = await asyncio.gather(*(commit.submit(i) for i in range(40)), return_exceptions=True)
    failed = [i for i, r in enumerate(results) if isinstance(r, Exception)]
    assert failed == [13]
    assert sorted(i for b in batches for i in b) == [i for i in range(40) if i != 13]
    assert len(batches) < 40  # most rows shared a transaction


async def test_give_back_is_not_an_attempt_and_delete_keeps_pending_webhooks(store: Store) -> None:
    task = await add(store)
    claimed = await store.claim("w-1", ["preview"], 30)
    assert await store.transition(claimed, Status.QUEUED, lease_owner="w-1")
    again = await store.claim("w-2", ["preview"], 30)
    assert again.attempts == 1
    assert await store.transition(
        again, Status.SUCCEEDED, lease_owner="w-2", webhooks=[Webhook("http://127.0.0.1:9/cb", {"id": task.id})]
    )
    await store.delete_task(task.id)
    assert await store.get_task(task.id) is None
    assert [d.task_id for d in await store.due_webhooks(time.time())] == [task.id]
