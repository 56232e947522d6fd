"""Asset audits surviving crashes, and retention with a fake clock (SQLite and PostgreSQL, in process)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from seedgate.assets.auditor import MAX_ATTEMPTS, Auditor
from seedgate.config import normalize_database_url
from seedgate.core.asset import Asset, AssetStatus, new_asset_id
from seedgate.core.plan import TaskPlan
from seedgate.core.status import Status
from seedgate.core.task import Task, new_task_id
from seedgate.media.fetch import Fetcher, FetchPolicy
from seedgate.media.storage import Storage
from seedgate.store.store import Store
from seedgate.worker.maintenance import BLOB_GRACE_S, Maintenance

from .conftest import Database, downgrade_to
from .media import image_bytes

DAY = 86400.0


@pytest.fixture
async def store(database: Database, tmp_path: Path) -> AsyncIterator[Store]:
    url = normalize_database_url(database.url) if database.url else f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    store = Store(url)
    await store.migrate()
    async with store.engine.begin() as conn:  # the PostgreSQL database is shared by the module's tests
        for table in ("assets", "asset_groups", "webhook_deliveries", "task_blobs", "tasks"):
            await conn.exec_driver_sql(f"DELETE FROM {table}")
    yield store
    await store.close()


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(FetchPolicy()) as f:
        yield f


async def put_blob(storage: Storage, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    part = storage.tmp / f"{digest}.part"
    part.write_bytes(data)
    return await storage.adopt_blob(part, digest)


async def uploaded(
    store: Store, storage: Storage, data: bytes, *, expires_in: float = DAY, kind: str | None = None
) -> Asset:
    now = time.time()
    asset = Asset(
        id=new_asset_id(now),
        owner="k1",
        kind=kind,
        blob=await put_blob(storage, data),
        created_at=now,
        updated_at=now,
        expires_at=now + expires_in,
    )
    await store.assets.insert(asset)
    return asset


async def no_webhooks(_task: Task) -> list[Any]:
    return []


async def test_an_interrupted_audit_is_taken_over_after_its_lease(
    store: Store, tmp_path: Path, fetcher: Fetcher
) -> None:
    storage = Storage(tmp_path / "data")
    asset = await uploaded(store, storage, image_bytes(640, 480))
    now = time.time()
    crashed = await store.assets.claim_audit("node-a", lease_s=60, now=now)
    assert crashed is not None and crashed.id == asset.id and crashed.attempts == 1
    # node-a dies here. While its lease holds nobody else audits the asset; afterwards anyone may.
    assert await store.assets.claim_audit("node-b", lease_s=60, now=now + 30) is None
    taken = await store.assets.claim_audit("node-b", lease_s=60, now=now + 61)
    assert taken is not None and taken.attempts == 2
    survivor = Auditor(store.assets, storage, fetcher, wake=asyncio.Event())
    survivor.id = "node-b"
    done = await survivor.audit(taken)
    assert done.status is AssetStatus.ACTIVE and done.kind == "image" and done.info["width"] == 640
    stored = await store.assets.get(asset.id)
    assert stored is not None and stored.status is AssetStatus.ACTIVE and stored.info == done.info
    # node-a comes back and tries to record a stale outcome: refused, the settled audit stands.
    stale = Asset(**{**vars(crashed), "status": AssetStatus.FAILED})
    assert not await store.assets.settle_audit(stale, "node-a", time.time())
    assert (await store.assets.get(asset.id)).status is AssetStatus.ACTIVE  # type: ignore[union-attr]


async def test_an_audit_that_keeps_crashing_fails_instead_of_looping(
    store: Store, tmp_path: Path, fetcher: Fetcher
) -> None:
    storage = Storage(tmp_path / "data")
    asset = await uploaded(store, storage, image_bytes(640, 480))
    now = time.time()
    claimed = None
    for attempt in range(MAX_ATTEMPTS + 1):
        claimed = await store.assets.claim_audit("node", lease_s=10, now=now + attempt * 11)
    assert claimed is not None and claimed.attempts == MAX_ATTEMPTS + 1
    auditor = Auditor(store.assets, storage, fetcher, wake=asyncio.Event())
    auditor.id = "node"
    done = await auditor.audit(claimed)
    assert done.status is AssetStatus.FAILED and "interrupted" in (done.error or {})["message"]
    assert (await store.assets.get(asset.id)).blob is None  # type: ignore[union-attr]


async def test_retention_with_a_fake_clock(store: Store, tmp_path: Path) -> None:
    now = time.time()
    clock = [now - 2 * BLOB_GRACE_S]  # every blob below is stored (claimed) long enough ago to be collectable
    storage = Storage(tmp_path / "data", None, store.blobs, clock=lambda: clock[0])
    upkeep = Maintenance(store, storage, no_webhooks, retention_s=7 * DAY, result_ttl_s=DAY, clock=lambda: clock[0])

    short = await uploaded(store, storage, b"short-lived asset", expires_in=3600)
    kept = await uploaded(store, storage, b"long-lived asset", expires_in=30 * DAY)
    task_blob = await put_blob(storage, b"a task's input")
    orphan = await put_blob(storage, b"left behind by a failed create")
    input_image = {
        "kind": "image",
        "url": "https://example.com/a.png",
        "role": "first_frame",
        "param": "x",
        "blob": task_blob,
    }
    spec = TaskPlan.from_json({"model": "m", "media": [input_image]})
    task = Task(
        id=new_task_id(now),
        owner="k1",
        dialect="ark",
        endpoint="m",
        spec=spec,
        created_at=now,
        updated_at=now,
        expires_at=now + DAY,
    )
    await store.insert_task(task)
    await store.transition(task, Status.CANCELLED, now=now)  # finished: kept for its retention, then deleted

    async def stored(digest: str | None) -> bool:
        return await storage.blob(digest or "") is not None

    clock[0] = now
    await upkeep.sweep()  # nothing has expired yet; only the unreferenced, old orphan goes
    assert not await stored(orphan)
    assert [await stored(b) for b in (short.blob, kept.blob, task_blob)] == [True] * 3

    clock[0] = now + 2 * 3600  # the short-lived asset expired: its record, then its bytes, go
    await upkeep.sweep()
    assert await store.assets.get(short.id) is None and not await stored(short.blob)
    assert await store.assets.get(kept.id) is not None and await stored(task_blob)

    clock[0] = now + 2 * DAY  # cancelled tasks are dropped after a day; the task's input is then unreferenced
    await upkeep.sweep()
    assert await store.get_task(task.id) is None and not await stored(task_blob)
    assert await stored(kept.blob)

    fresh = await put_blob(storage, b"claimed a moment ago, its task not committed yet")
    await upkeep.sweep()
    assert await stored(fresh)  # inside the grace period

    clock[0] = now + 31 * DAY
    await upkeep.sweep()
    assert await store.assets.get(kept.id) is None and not await stored(kept.blob)


async def test_upgrading_indexes_the_inputs_of_existing_tasks(tmp_path: Path) -> None:
    """Migration 0005 fills task_blobs from the specs of tasks stored before it, so none of their inputs is
    collected as unused."""
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    await store.migrate()
    used, unused = hashlib.sha256(b"used").hexdigest(), hashlib.sha256(b"unused").hexdigest()
    now = time.time()
    input_image = {
        "kind": "image",
        "url": "https://example.com/a.png",
        "role": "first_frame",
        "param": "x",
        "blob": used,
    }
    spec = TaskPlan.from_json({"model": "m", "media": [input_image]})
    await store.insert_task(
        Task(
            id=new_task_id(now),
            owner="k1",
            dialect="ark",
            endpoint="m",
            spec=spec,
            created_at=now,
            updated_at=now,
            expires_at=now + DAY,
        )
    )
    await downgrade_to(store, "0004")  # the task stays; task_blobs goes
    await store.migrate()
    assert await store.blobs_in_use({used, unused}) == {used}
    await store.close()
