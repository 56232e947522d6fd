"""Periodic housekeeping any node may run: expire overdue tasks, drop old records, result files, expired assets
and the blobs nothing uses any more, each decided by the database so that many nodes can run it at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from seedgate.core.status import Status
from seedgate.media.storage import Storage
from seedgate.store.store import Store
from seedgate.tasks.removal import delete_task_and_files
from seedgate.tasks.service import IDEMPOTENCY_KEPT_S
from seedgate.tasks.settle import WebhooksFor, settle

log = logging.getLogger("seedgate.maintenance")

CANCELLED_KEPT_S = 86400  # Ark deletes cancelled tasks after 24 h
# A blob claimed this recently may belong to a create still in flight (its task not yet committed).
BLOB_GRACE_S = 3600
# A collector deletes what it marked within seconds; a mark this old was left by one that died.
STALE_MARK_S = 60
TMP_KEPT_S = 86400


class Maintenance:
    def __init__(
        self,
        store: Store,
        storage: Storage,
        webhooks_for: WebhooksFor,
        *,
        retention_s: float,
        result_ttl_s: float,
        interval_s: float = 1.0,
        sweep_every_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.storage = storage
        self.webhooks_for = webhooks_for
        self.retention_s = retention_s
        self.result_ttl_s = result_ttl_s
        self.interval_s = interval_s
        self.sweep_every_s = sweep_every_s
        self.clock = clock  # tests move time forward without waiting for it
        self._tracked = False

    async def run(self, stopping: asyncio.Event) -> None:
        last_sweep = 0.0
        while not stopping.is_set():
            try:
                await self.expire_overdue()
                if time.monotonic() - last_sweep > self.sweep_every_s:
                    last_sweep = time.monotonic()
                    await self.sweep()
            except Exception:
                log.exception("maintenance pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.interval_s)

    async def expire_overdue(self) -> int:
        now = self.clock()
        expired = 0
        for task in await self.store.due_for_expiry(now):
            if await settle(
                self.store,
                self.webhooks_for,
                task,
                Status.EXPIRED,
                now=now,
                error_code="TaskExpired",
                error_message="the task did not finish within execution_expires_after",
            ):
                expired += 1
                log.info("task %s expired (was %s)", task.id, task.status.value)
        return expired

    async def sweep(self) -> None:
        now = self.clock()
        finished = (Status.SUCCEEDED, Status.FAILED, Status.EXPIRED)
        for task in await self.store.finished_before(finished, now - self.retention_s):
            await delete_task_and_files(self.store, self.storage, task.id)
        for task in await self.store.finished_before((Status.CANCELLED,), now - CANCELLED_KEPT_S):
            await delete_task_and_files(self.store, self.storage, task.id)
        await self.store.purge_deliveries(now - self.retention_s)
        await self.store.purge_idempotency(now - IDEMPOTENCY_KEPT_S)
        await self.delete_expired_results(now)
        await self.collect_assets(now)

    async def delete_expired_results(self, now: float) -> None:
        """Result links die after result_ttl; the files go with them, the task record stays for its retention.
        Which tasks are due is the database's answer (an object store keeps no usable mtimes); deleting twice
        from two nodes is harmless."""
        while due := await self.store.results_to_delete(now - self.result_ttl_s):
            for task_id in due:
                await self.storage.delete_results(task_id)
            await self.store.mark_results_deleted(due, now)

    async def collect_assets(self, now: float) -> None:
        """Expired assets go, then every blob no asset and no stored task refers to."""
        for asset in await self.store.assets.expired(now):
            await self.store.assets.delete(asset.id)
            log.info("asset %s expired", asset.id)
        if not self._tracked and self.storage.root is not None:
            # Blobs a data directory held before the database recorded them: recorded now, collected later.
            await self.store.blobs.track([digest async for digest in self.storage.blob_digests()], now)
        self._tracked = True
        # Marked first, deleted second, forgotten last: a create that needs a blob while it is being deleted
        # waits for its row to go and then stores it again (media/storage.py), so no task is left without bytes.
        # Marks older than STALE_MARK_S belong to a collector that died mid-way; this one finishes its work.
        collected = 0
        while doomed := await self.store.blobs.doom(now - BLOB_GRACE_S, now):
            await self._delete_blobs(doomed)
            collected += len(doomed)
        await self._delete_blobs(await self.store.blobs.stale_doomed(now - STALE_MARK_S))
        await asyncio.to_thread(self.storage.purge_scratch_older_than, now - TMP_KEPT_S)
        if collected:
            log.info("collected %d unused blobs", collected)

    async def _delete_blobs(self, digests: list[str]) -> None:
        for digest in digests:
            await self.storage.delete_blob(digest)
        await self.store.blobs.forget(digests)
