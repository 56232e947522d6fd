"""Workers: claim tasks with a lease, render them on an engine, and settle them exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any, cast

from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.core.usage import usage
from seedgate.engines.base import (
    Engine,
    MediaInput,
    MediaKind,
    RenderCancelled,
    RenderFailed,
    RenderJob,
    RenderResult,
)
from seedgate.media.remux import remux
from seedgate.media.storage import Storage
from seedgate.metrics import ENGINE_SECONDS
from seedgate.store.store import Store, Webhook
from seedgate.tasks.settle import WebhooksFor, settle

log = logging.getLogger("seedgate.worker")

MAX_ATTEMPTS = 3  # a task whose worker died this many times is failed, not retried forever


class Worker:
    def __init__(
        self,
        store: Store,
        storage: Storage,
        engines: dict[str, Engine],
        webhooks_for: WebhooksFor,
        *,
        concurrency: int = 1,
        lease_s: float = 30.0,
        poll_interval_s: float = 0.25,
        wake: asyncio.Event | None = None,
        grace_s: float = 30.0,
    ) -> None:
        self.store = store
        self.storage = storage
        self.engines = engines
        self.webhooks_for = webhooks_for
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.poll_interval_s = poll_interval_s
        self.wake = wake or asyncio.Event()
        self.grace_s = grace_s
        self.id = f"{socket.gethostname()}-{os.getpid()}-{id(self) & 0xFFFF:04x}"
        self._stopping = asyncio.Event()
        self._abort = threading.Event()  # set when the grace period ran out: renders stop and give tasks back

    async def run(self) -> None:
        log.info("worker %s started: %d slot(s), engines %s", self.id, self.concurrency, ", ".join(self.engines))
        slots = [asyncio.create_task(self._slot()) for _ in range(self.concurrency)]
        await self._stopping.wait()
        _, pending = await asyncio.wait(slots, timeout=self.grace_s)
        if pending:
            log.warning("grace period over: giving %d running task(s) back to the queue", len(pending))
            self._abort.set()
            await asyncio.wait(pending)
        log.info("worker %s stopped", self.id)

    def stop(self) -> None:
        self._stopping.set()
        self.wake.set()

    async def _slot(self) -> None:
        while not self._stopping.is_set():
            # A lease names one claim, not the worker: two slots of one worker can never pass for each other.
            lease = f"{self.id}-{secrets.token_hex(4)}"
            try:
                task = await self.store.claim(
                    lease, list(self.engines), self.lease_s, webhooks_for=self._running_webhooks
                )
            except Exception:
                log.exception("claim failed; retrying")
                task = None
                await asyncio.sleep(1)
            if task is None:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.poll_interval_s)
                continue
            try:
                await self._execute(task, lease)
            except Exception:
                log.exception("task %s: unexpected worker error", task.id)

    async def _running_webhooks(self, task: Task) -> list[Webhook]:
        """The `running` webhooks, which the claim writes in its own transaction."""
        try:
            return await self.webhooks_for(task)
        except Exception:
            # Not worth losing the render over; the final status change still sends its webhook.
            log.exception("task %s: could not render the running webhook", task.id)
            return []

    async def _settle(self, task: Task, lease: str, target: Status, **fields: Any) -> bool:
        return await settle(self.store, self.webhooks_for, task, target, lease_owner=lease, **fields)

    async def _execute(self, task: Task, lease: str) -> None:
        if task.attempts > MAX_ATTEMPTS:
            log.error("task %s: failed after %d lost workers", task.id, task.attempts - 1)
            await self._settle(
                task,
                lease,
                Status.FAILED,
                error_code="InternalServiceError",
                error_message="the task was interrupted repeatedly and was given up",
            )
            return
        engine = self.engines[task.spec.engine]
        lease_lost = threading.Event()
        progress = [0.0]
        # Beating before the inputs are read: a large reference video may take a while to come from storage.
        beat = asyncio.create_task(self._heartbeat(task, lease, progress, lease_lost))
        output_dir = self.storage.scratch(task.id)
        started = time.monotonic()
        outcome = "failed"
        log.info("task %s running on %s (attempt %d)", task.id, engine.name, task.attempts)
        try:
            job = await self._job(task, output_dir)
            result = await asyncio.to_thread(
                engine.render,
                job,
                lambda f: progress.__setitem__(0, f),
                lambda: lease_lost.is_set() or self._abort.is_set(),
            )
            outcome = "succeeded"
            done = await self._store_result(task, engine, result, output_dir)
            if await self._settle(task, lease, Status.SUCCEEDED, result=done, progress=1.0):
                log.info(
                    "task %s succeeded in %.2f s%s",
                    task.id,
                    time.monotonic() - started,
                    f" ({engine.notice})" if engine.notice else "",
                )
            else:
                log.warning("task %s finished after its lease was lost; result discarded", task.id)
        except RenderCancelled:
            outcome = "interrupted"
            if lease_lost.is_set():
                log.warning("task %s: lease lost (expired or taken over); stopped rendering", task.id)
            else:
                await self._settle(task, lease, Status.QUEUED)
                log.info("task %s given back to the queue", task.id)
        except RenderFailed as exc:
            await self._settle(task, lease, Status.FAILED, error_code=exc.code, error_message=exc.message)
            log.warning("task %s failed: %s", task.id, exc.message)
        except MemoryError:
            await self._settle(
                task,
                lease,
                Status.FAILED,
                error_code="InternalServiceError",
                error_message="the engine ran out of memory rendering this task",
            )
            log.error("task %s failed: out of memory", task.id)
        except Exception as exc:
            await self._settle(
                task,
                lease,
                Status.FAILED,
                error_code="InternalServiceError",
                error_message=f"the engine failed: {type(exc).__name__}",
            )
            log.exception("task %s: engine error", task.id)
        finally:
            beat.cancel()
            shutil.rmtree(output_dir, ignore_errors=True)
            ENGINE_SECONDS.labels(engine.name, outcome).observe(time.monotonic() - started)

    async def _job(self, task: Task, output_dir: Path) -> RenderJob:
        """What the engine renders, its inputs read from storage onto this node."""
        spec = task.spec
        try:
            # Validation admits only these kinds (core.validation); MediaRef keeps a plain str for the parsers.
            inputs = [
                MediaInput(cast(MediaKind, m.kind), m.role or "", await self.storage.blob_path(m.blob or ""))
                for m in spec.media
            ]
        except FileNotFoundError:
            raise RenderFailed("an input of this task is no longer stored; create the task again") from None
        return RenderJob(
            task_id=task.id,
            model=task.model,
            mode=spec.mode,
            prompt=spec.prompt,
            width=spec.width,
            height=spec.height,
            fps=spec.fps,
            frames=spec.frame_count,
            seed=spec.seed,
            camera_fixed=spec.camera_fixed,
            watermark=spec.watermark,
            generate_audio=bool(spec.generate_audio),
            return_last_frame=spec.return_last_frame,
            inputs=tuple(inputs),
            output_dir=output_dir,
        )

    async def _store_result(self, task: Task, engine: Engine, result: RenderResult, output_dir: Path) -> dict[str, Any]:
        """Store the rendered files with the task's results; answers the task's `result` record."""
        spec = task.spec
        video_path = result.video_path
        if spec.output_format == "mov":
            video_path = await asyncio.to_thread(remux, video_path, video_path.with_suffix(".mov"))
        done: dict[str, Any] = {
            "video": video_path.name,
            "frames": result.frames,
            "has_audio": result.has_audio,
            "usage": usage(spec),
            "engine": engine.name,
        }
        if engine.notice:
            done["notice"] = engine.notice
        if result.last_frame_path is not None:
            done["last_frame"] = result.last_frame_path.name
        # Before the task says succeeded: whoever reads the answer finds the files, on any node.
        await self.storage.store_results(task.id, output_dir)
        return done

    async def _heartbeat(self, task: Task, lease: str, progress: list[float], lost: threading.Event) -> None:
        interval = max(0.2, min(self.lease_s / 3, 2.0))
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self.store.heartbeat(task.id, lease, self.lease_s, round(progress[0], 4)):
                    lost.set()
                    return
            except Exception:
                log.exception("task %s: heartbeat failed", task.id)
