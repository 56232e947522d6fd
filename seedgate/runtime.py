"""Assembles one node: store, catalog, storage, fetcher, task service, and the background loops it runs."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import httpx

from seedgate.assets.auditor import Auditor
from seedgate.assets.library import AssetLibrary
from seedgate.config import Settings
from seedgate.core.catalog import Catalog, load_catalog
from seedgate.dialects.registry import DEFAULT, DIALECTS
from seedgate.engines.local.config import LocalModels, load_local_models
from seedgate.engines.local.serving import narrow_catalog
from seedgate.engines.registry import build_engines
from seedgate.media.fetch import Fetcher, FetchPolicy, guarded_client
from seedgate.media.objects import ObjectStore
from seedgate.media.probe import shutdown_decoders
from seedgate.media.signing import UrlSigner
from seedgate.media.storage import Storage
from seedgate.store.store import Store, wait_until_reachable
from seedgate.tasks.keys import ensure_key
from seedgate.tasks.service import TaskService
from seedgate.upstream.channels import Channels, load_channels
from seedgate.upstream.relay import Relay
from seedgate.worker.maintenance import Maintenance
from seedgate.worker.runner import Worker
from seedgate.worker.webhooks import CONCURRENCY as WEBHOOK_CONCURRENCY
from seedgate.worker.webhooks import WebhookSender

log = logging.getLogger("seedgate")
# Threads a node needs besides its render slots: file moves, probes, thumbnails, the SQLite writer.
THREADS_BESIDE_SLOTS = 8


@dataclass
class Runtime:
    settings: Settings
    store: Store
    catalog: Catalog
    storage: Storage
    fetcher: Fetcher
    service: TaskService
    webhook_secret: str
    local_models: LocalModels | None = None
    workers: list[Worker] = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _loops: list[asyncio.Task[None]] = field(default_factory=list)
    _http: httpx.AsyncClient | None = None

    async def start_background(self, worker_slots: int) -> None:
        """Webhook delivery and housekeeping always; render slots when `worker_slots` > 0."""
        settings = self.settings
        # As many connections as the sender has attempts in flight: a receiver that hangs must not hold the
        # connections another receiver's delivery waits for.
        self._http = guarded_client(
            FetchPolicy(allow_private=settings.allow_private_urls, max_concurrency=WEBHOOK_CONCURRENCY)
        )
        sender = WebhookSender(self.store, self.webhook_secret, self._http)
        upkeep = Maintenance(
            self.store,
            self.storage,
            self.service.webhooks_for,
            retention_s=settings.task_retention_s,
            result_ttl_s=self.service.longest_result_ttl_s(),
        )
        # The lease must outlast a whole audit: the download (its own time limit, plus waiting for a fetch slot)
        # and the probe.
        auditor = Auditor(
            self.store.assets,
            self.storage,
            self.fetcher,
            wake=self.service.assets.audit_signal,
            lease_s=2 * settings.fetch_timeout_s + 60,
        )
        self._loops += [
            asyncio.create_task(sender.run(self._stopping)),
            asyncio.create_task(upkeep.run(self._stopping)),
            asyncio.create_task(auditor.run(self._stopping)),
        ]
        if self.service.relay is not None:  # every node follows upstream tasks; leases share them out
            self._loops.append(asyncio.create_task(self.service.relay.run(self._stopping)))
        if worker_slots > 0:
            # Each slot renders in a thread (asyncio.to_thread); the default pool has cores + 4 threads, which would
            # leave slots beyond that waiting for a thread while renders that use no CPU (a GPU, a wait) could run.
            threads = worker_slots + THREADS_BESIDE_SLOTS
            if threads > min(32, (os.cpu_count() or 1) + 4):
                asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(threads, "seedgate"))
            engines = await asyncio.to_thread(build_engines, settings.engines, self.local_models)
            worker = Worker(
                self.store,
                self.storage,
                engines,
                self.service.webhooks_for,
                concurrency=worker_slots,
                lease_s=settings.lease_s,
                poll_interval_s=settings.poll_interval_s,
                wake=self.service.queue_signal,
            )
            self.workers.append(worker)
            self._loops.append(asyncio.create_task(worker.run()))
        if worker_slots > 0 or self.service.relay is not None:
            try:
                await self.store.listen_new_tasks(self._new_tasks_elsewhere)
            except Exception as exc:  # polling still finds the tasks; waking at once is an optimisation
                log.warning("cannot LISTEN for new tasks (%s); workers and the relay poll instead", exc)

    def _new_tasks_elsewhere(self) -> None:
        self.service.queue_signal.set()
        if self.service.relay is not None:
            self.service.relay.wake.set()

    async def close(self) -> None:
        self._stopping.set()
        if self.service.relay is not None:
            self.service.relay.wake.set()  # it may be sleeping through an idle stretch
        for worker in self.workers:
            worker.stop()
        if self._loops:
            await asyncio.gather(*self._loops, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
        await self.fetcher.aclose()
        await self.store.close()
        shutdown_decoders()


def route_to_channels(catalog: Catalog, channels: Channels) -> None:
    """Models a channel serves run on the upstream engine (every mode the catalog gives them, whatever a local
    engine could do); the rest stay on the engine the catalog names."""
    for model_id in channels.models():
        catalog.models[model_id] = replace(catalog.models[model_id], engine="upstream", served_modes=None)


def open_storage(settings: Settings, store: Store) -> Storage:
    """The data directory, or the object store SEEDGATE_STORAGE_URL names; blob use is recorded in the database."""
    objects = ObjectStore.from_url(settings.storage_url) if settings.storage_url else None
    return Storage(settings.data_dir, objects, store.blobs)


async def start_runtime(settings: Settings) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = load_catalog(settings.catalog_path)
    local_models = load_local_models(settings.local_models_path) if settings.local_models_path else None
    narrow_catalog(catalog, local_models)
    channels = load_channels(settings.channels_path, catalog)
    route_to_channels(catalog, channels)
    store = Store(settings.db_url)
    await wait_until_reachable(store)
    await store.migrate()
    storage = open_storage(settings, store)
    fetcher = Fetcher(FetchPolicy(allow_private=settings.allow_private_urls, timeout_s=settings.fetch_timeout_s))
    signer = UrlSigner(await store.shared_secret("url_signing"))
    raw = await store.shared_secret("webhook_secret")
    webhook_secret = "whsec_" + base64.b64encode(raw.encode()[:32]).decode()
    assets = AssetLibrary(store.assets, storage, signer, retention_s=settings.asset_retention_s)
    # The service renders webhooks in each task's dialect; it is handed the registry rather than importing it.
    service = TaskService(settings, store, catalog, storage, fetcher, signer, assets, DIALECTS, DEFAULT)
    if channels:
        service.relay = Relay(
            store,
            storage,
            channels,
            fetcher=fetcher,
            signer=signer,
            webhooks_for=service.webhooks_for,
            public_url=settings.public_url,
            lease_s=settings.lease_s,
        )
    if settings.api_key:
        await ensure_key(store, settings.api_key, name="SEEDGATE_API_KEY", admin=True)
    await service.keys.follow_revocations()
    log.info(
        "store %s ready; %d models in the catalog; data in %s%s",
        "SQLite" if store.is_sqlite else "PostgreSQL",
        len(catalog.models),
        settings.data_dir.resolve(),
        f", files in {settings.storage_url}" if settings.storage_url else "",
    )
    return Runtime(settings, store, catalog, storage, fetcher, service, webhook_secret, local_models)
