"""Periodic housekeeping any node may run: expire overdue tasks, drop old records, result files, expired assets
and the blobs nothing uses any more."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from seedgate.core.status import Status
from seedgate.media.storage import LocalStorage
from seedgate.store.store import Store
from seedgate.tasks.removal import delete_task_and_files
from seedgate.tasks.settle import WebhooksFor, settle

log = logging.getLogger("seedgate.maintenance")

CANCELLED_KEPT_S = 86400  # Ark deletes cancelled tasks after 24 h
# A blob adopted this recently may belong to a create still in flight (its row not yet committed).
BLOB_GRACE_S = 3600
TMP_KEPT_S = 86400


class Maintenance:
    def __init__(
        self,
        store: Store,
        storage: LocalStorage,
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
        # Result links die after result_ttl; the files go with them, the task record stays for its retention.
        await asyncio.to_thread(self.storage.purge_results_older_than, now - self.result_ttl_s)
        await self.collect_assets(now)

    async def collect_assets(self, now: float) -> None:
        """Expired assets go, then every blob no asset and no stored task refers to."""
        for asset in await self.store.assets.expired(now):
            await self.store.assets.delete(asset.id)
            log.info("asset %s expired", asset.id)
        # Candidates first, references second: a blob referenced by a row committed in between is then seen as
        # in use, and one reused since it was listed has a fresh mtime that remove_blobs checks again.
        candidates = await asyncio.to_thread(self.storage.old_blobs, now - BLOB_GRACE_S)
        if candidates:
            candidates -= await self.store.assets.blobs()
            candidates -= await self.store.blobs_in_use(candidates)
        removed = await asyncio.to_thread(self.storage.remove_blobs, candidates, now - BLOB_GRACE_S)
        await asyncio.to_thread(self.storage.purge_tmp_older_than, now - TMP_KEPT_S)
        if removed:
            log.info("collected %d unused blobs", removed)
