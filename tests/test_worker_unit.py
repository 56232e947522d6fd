"""The worker's error paths, fast: a real SQLite store in a temporary directory and an in-memory engine.

Each test runs the real `Worker` loop (claim, heartbeat, settle) over an engine whose `render` does what the test
says: fail with a code, crash, run out of memory, or keep rendering until it is told to stop. What is checked is
what a client would see: the task's status, error and progress, and the webhooks queued for it. The same paths
through real processes stay in tests/test_workers.py and the dialect suites.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from seedgate.core.plan import TaskPlan
from seedgate.core.status import Status
from seedgate.core.task import Task, new_task_id
from seedgate.engines.base import ProgressFn, RenderCancelled, RenderFailed, RenderJob, RenderResult, StopFn
from seedgate.media.storage import Storage
from seedgate.store.schema import tasks as tasks_table
from seedgate.store.store import Store, Webhook
from seedgate.worker.runner import MAX_ATTEMPTS, Worker

from .waiting import wait_until_async

HOOK = "http://hooks.example/cb"

Render = Callable[[RenderJob, ProgressFn, StopFn], RenderResult]


class FakeEngine:
    """An engine that runs `behaviour` in the worker's render thread and remembers what it was asked to do."""

    name = "fake"
    notice = ""

    def __init__(self, behaviour: Render) -> None:
        self.behaviour = behaviour
        self.jobs: list[RenderJob] = []
        self.started = threading.Event()

    def render(self, job: RenderJob, progress: ProgressFn, should_stop: StopFn) -> RenderResult:
        self.jobs.append(job)
        self.started.set()
        return self.behaviour(job, progress, should_stop)


def until_stopped(job: RenderJob, progress: ProgressFn, should_stop: StopFn) -> RenderResult:
    """A render that reports some progress, then keeps going step by step until it is told to stop."""
    progress(0.25)
    while not should_stop():
        threading.Event().wait(0.01)  # one denoising step
    raise RenderCancelled()


def writes_a_video(job: RenderJob, progress: ProgressFn, should_stop: StopFn) -> RenderResult:
    job.output_dir.mkdir(parents=True, exist_ok=True)
    video = job.output_dir / "video.mp4"
    video.write_bytes(b"\0\0\0\x18ftypmp42")
    progress(1.0)
    return RenderResult(video, None, job.frames, False)


def raises(exc: BaseException) -> Render:
    def render(job: RenderJob, progress: ProgressFn, should_stop: StopFn) -> RenderResult:
        raise exc

    return render


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'worker.db'}")
    await store.migrate()
    yield store
    await store.close()


async def hooks_for(task: Task) -> list[Webhook]:
    return [Webhook(HOOK, {"id": task.id, "status": task.status.value, "error": task.error})]


async def add_task(store: Store) -> Task:
    now = time.time()
    spec = TaskPlan.from_json(
        {"model": "m", "model_id": "m", "engine": "fake", "width": 64, "height": 64, "frame_count": 5, "mode": "text"}
    )
    task = Task(new_task_id(), "owner", "ark", "m", spec, created_at=now, updated_at=now, expires_at=now + 3600)
    await store.insert_task(task, await hooks_for(task))
    return task


class Running:
    """A worker running in the background for one test; `stop()` is what a shutdown does."""

    def __init__(self, store: Store, storage: Storage, engine: FakeEngine, **options: Any) -> None:
        options = {"lease_s": 3.0, "poll_interval_s": 0.05, "grace_s": 30.0, **options}
        self.worker = Worker(store, storage, {"fake": engine}, hooks_for, **options)
        self.loop = asyncio.create_task(self.worker.run())

    async def stop(self) -> None:
        self.worker.stop()
        await self.loop


@pytest.fixture
async def run_worker(store: Store, tmp_path: Path) -> AsyncIterator[Callable[..., Running]]:
    storage = Storage(tmp_path / "data")
    started: list[Running] = []

    def start(engine: FakeEngine, **options: Any) -> Running:
        started.append(Running(store, storage, engine, **options))
        return started[-1]

    yield start
    for running in started:
        if not running.loop.done():
            await running.stop()


async def finished(store: Store, task_id: str) -> Task:
    task = await wait_until_async(
        lambda: store.get_task(task_id),
        f"task {task_id} to finish",
        until=lambda t: t is not None and t.status.terminal,
    )
    assert task is not None
    return task


async def rendering(engine: FakeEngine) -> None:
    async def started() -> bool:
        return engine.started.is_set()

    await wait_until_async(started, "the render to start")


async def hook_statuses(store: Store, task_id: str) -> list[Any]:
    return [h["payload"]["status"] for h in await store.webhook_history(task_id)]


# -- the engine fails --------------------------------------------------------------------------------------------------


async def test_an_engine_error_fails_the_task_with_its_code_and_message(
    store: Store, run_worker: Callable[..., Running]
) -> None:
    task = await add_task(store)
    run_worker(FakeEngine(raises(RenderFailed("the first frame is not an image", code="InvalidParameter"))))
    done = await finished(store, task.id)
    assert done.status is Status.FAILED
    assert done.error == {"code": "InvalidParameter", "message": "the first frame is not an image"}
    assert done.finished_at is not None
    # queued, running, then the failure, which carries the error it reports.
    history = await store.webhook_history(task.id)
    assert [h["payload"]["status"] for h in history] == ["queued", "running", "failed"]
    assert history[-1]["payload"]["error"] == done.error


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (ValueError("secret internals"), "the engine failed: ValueError"),
        (MemoryError(), "the engine ran out of memory rendering this task"),
    ],
)
async def test_an_engine_crash_is_an_internal_error_that_tells_no_internals(
    store: Store, run_worker: Callable[..., Running], exc: BaseException, message: str
) -> None:
    task = await add_task(store)
    run_worker(FakeEngine(raises(exc)))
    done = await finished(store, task.id)
    assert done.status is Status.FAILED
    assert done.error == {"code": "InternalServiceError", "message": message}
    assert await hook_statuses(store, task.id) == ["queued", "running", "failed"]


async def test_the_worker_keeps_working_after_a_failed_task(store: Store, run_worker: Callable[..., Running]) -> None:
    outcomes = iter([raises(RenderFailed("no")), writes_a_video])
    engine = FakeEngine(lambda job, progress, stop: next(outcomes)(job, progress, stop))
    first, second = await add_task(store), await add_task(store)
    run_worker(engine)
    assert (await finished(store, first.id)).status is Status.FAILED
    done = await finished(store, second.id)
    assert done.status is Status.SUCCEEDED and done.progress == 1.0
    assert done.result is not None and done.result["video"] == "video.mp4" and done.result["engine"] == "fake"


async def test_a_task_interrupted_too_often_fails_without_rendering(
    store: Store, run_worker: Callable[..., Running]
) -> None:
    task = await add_task(store)
    async with store.engine.begin() as conn:  # MAX_ATTEMPTS workers already died holding it
        await conn.execute(tasks_table.update().where(tasks_table.c.id == task.id).values(attempts=MAX_ATTEMPTS))
    engine = FakeEngine(writes_a_video)
    run_worker(engine)
    done = await finished(store, task.id)
    assert done.status is Status.FAILED and done.error is not None
    assert done.error["code"] == "InternalServiceError" and "interrupted repeatedly" in done.error["message"]
    assert engine.jobs == []


# -- the render is stopped ---------------------------------------------------------------------------------------------


async def test_a_lost_lease_stops_the_render_and_leaves_the_task_to_its_new_owner(
    store: Store, run_worker: Callable[..., Running]
) -> None:
    task = await add_task(store)
    engine = FakeEngine(until_stopped)
    running = run_worker(engine, lease_s=0.6)  # heartbeats every 0.2 s
    await rendering(engine)
    async with store.engine.begin() as conn:  # another worker took the task over (its lease had run out)
        await conn.execute(
            tasks_table.update()
            .where(tasks_table.c.id == task.id)
            .values(lease_owner="another-worker", lease_expires_at=time.time() + 3600)
        )
    # The heartbeat notices; the render is told to stop; the worker settles nothing and takes its next task.
    follower = await add_task(store)
    engine.behaviour = writes_a_video
    assert (await finished(store, follower.id)).status is Status.SUCCEEDED
    await running.stop()
    taken = await store.get_task(task.id)
    assert taken is not None and taken.status is Status.RUNNING
    assert await hook_statuses(store, task.id) == ["queued", "running"]


async def test_a_shutdown_mid_render_gives_the_task_back_without_a_webhook(
    store: Store, run_worker: Callable[..., Running]
) -> None:
    task = await add_task(store)
    engine = FakeEngine(until_stopped)
    running = run_worker(engine, grace_s=0.1)
    await rendering(engine)
    await wait_until_async(
        lambda: store.get_task(task.id), "the running status", until=lambda t: t is not None and t.progress > 0
    )
    await running.stop()  # the grace period runs out while the render is still going
    back = await store.get_task(task.id)
    assert back is not None and back.status is Status.QUEUED and back.error is None
    # Going back to the queue is not a change a client hears about; the next worker starts it afresh.
    assert await hook_statuses(store, task.id) == ["queued", "running"]
    run_worker(FakeEngine(writes_a_video))
    assert (await finished(store, task.id)).status is Status.SUCCEEDED
