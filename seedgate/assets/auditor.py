"""The background audit: fetch an asset's bytes if needed, judge them by content, and settle it Active or Failed.

Runs on every node. Assets are claimed with a lease, so an audit cut short by a crash is taken up again by any
node once the lease runs out; after MAX_ATTEMPTS such interruptions the asset fails instead of looping forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import replace
from pathlib import Path

from seedgate.core.asset import Asset, AssetStatus
from seedgate.media.fetch import Fetcher, FetchError
from seedgate.media.probe import MediaRejected, audit_media_bounded, sniff_kind
from seedgate.media.storage import Storage
from seedgate.store.assets import AssetStore

from .library import MAX_UPLOAD_BYTES

log = logging.getLogger("seedgate.assets")

MAX_ATTEMPTS = 3
DOWNLOAD_FAILED = "InvalidParameter.DownloadFailed"  # the code Volcengine's asset API reports for this
MEDIA_REJECTED = "InvalidParameter.InvalidMedia"


class _Failed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Auditor:
    def __init__(
        self,
        store: AssetStore,
        storage: Storage,
        fetcher: Fetcher,
        *,
        wake: asyncio.Event,
        concurrency: int = 4,
        lease_s: float = 120.0,
        poll_s: float = 1.0,
    ) -> None:
        self.store = store
        self.storage = storage
        self.fetcher = fetcher
        self.wake = wake
        self.lease_s = lease_s  # longer than a fetch may take (the fetcher's own time limit) plus the probe
        self.poll_s = poll_s
        self.id = f"auditor-{secrets.token_hex(4)}"
        self._slots = asyncio.Semaphore(concurrency)

    async def run(self, stopping: asyncio.Event) -> None:
        running: set[asyncio.Task[None]] = set()
        while not stopping.is_set():
            try:
                # Claim while a slot is free; a full house waits for a finishing audit to wake the loop.
                while not stopping.is_set() and not self._slots.locked():
                    await self._slots.acquire()  # free, so this does not block
                    try:
                        asset = await self.store.claim_audit(self.id, self.lease_s, time.time())
                    except BaseException:
                        self._slots.release()
                        raise
                    if asset is None:
                        self._slots.release()
                        break
                    job = asyncio.create_task(self._audit_and_release(asset))
                    running.add(job)
                    job.add_done_callback(running.discard)
            except Exception:
                log.exception("audit claim failed")
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_or_wake(stopping), self.poll_s)
        for job in running:
            job.cancel()  # the lease runs out and another node (or the next start) audits it again
        await asyncio.gather(*running, return_exceptions=True)

    async def _stop_or_wake(self, stopping: asyncio.Event) -> None:
        waits = [asyncio.create_task(stopping.wait()), asyncio.create_task(self.wake.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def _audit_and_release(self, asset: Asset) -> None:
        try:
            await self.audit(asset)
        except Exception:
            log.exception("audit of asset %s crashed; it will be retried", asset.id)
        finally:
            self._slots.release()
            self.wake.set()  # a slot is free: claim the next one now

    async def audit(self, asset: Asset) -> Asset:
        """Audit one claimed asset and record the outcome."""
        try:
            if asset.attempts > MAX_ATTEMPTS:
                raise _Failed("InternalServiceError", f"the audit was interrupted {MAX_ATTEMPTS} times")
            kind, blob, info = await self._check(asset)
            done = replace(asset, status=AssetStatus.ACTIVE, kind=kind, blob=blob, info=info, error=None)
        except _Failed as failure:
            # A failed asset keeps no bytes: nothing may use them, and the collector reclaims the space.
            done = replace(
                asset, status=AssetStatus.FAILED, blob=None, error={"code": failure.code, "message": failure.message}
            )
        if await self.store.settle_audit(done, self.id, time.time()):
            log.info("asset %s %s%s", asset.id, done.status.value, f": {done.error['message']}" if done.error else "")
        return done

    async def _check(self, asset: Asset) -> tuple[str, str, dict[str, object]]:
        if asset.blob is not None:
            try:
                path = await self.storage.blob_path(asset.blob)
            except FileNotFoundError:
                gone = "the uploaded file is no longer stored; upload it again"
                raise _Failed("InternalServiceError", gone) from None
            kind, info = await self._measure(asset, path)
            return kind, asset.blob, info
        try:
            fetched = await self.fetcher.fetch(asset.source_url or "", self.storage.tmp, max_bytes=MAX_UPLOAD_BYTES)
        except FetchError as exc:
            raise _Failed(DOWNLOAD_FAILED, f"cannot download {asset.source_url}: {exc}") from None
        try:
            kind, info = await self._measure(asset, fetched.path)
        except BaseException:
            fetched.path.unlink(missing_ok=True)
            raise
        return kind, await self.storage.adopt_blob(fetched.path, fetched.sha256), info

    async def _measure(self, asset: Asset, path: Path) -> tuple[str, dict[str, object]]:
        sniffed = await asyncio.to_thread(sniff_kind, path)
        kind = asset.kind or sniffed
        if kind is None:
            raise _Failed(MEDIA_REJECTED, "the file is not a recognised image, video or audio file")
        if asset.kind and sniffed and sniffed != asset.kind:
            raise _Failed(MEDIA_REJECTED, f"the asset was declared {asset.kind} but the file is {sniffed}")
        try:
            return kind, await audit_media_bounded(kind, path)
        except MediaRejected as exc:
            raise _Failed(MEDIA_REJECTED, str(exc)) from None
