"""Task operations shared by every dialect: authenticate, create, read, list, cancel, delete."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from typing import Any

from fastapi import Request

from seedgate.assets.library import AssetLibrary
from seedgate.assets.pools import check_asset_pools
from seedgate.config import Settings
from seedgate.core.catalog import Catalog
from seedgate.core.errors import ApiError, conflict, internal, invalid, not_found, unauthorized
from seedgate.core.spec import TaskSpec
from seedgate.core.status import Status
from seedgate.core.task import Task, new_task_id
from seedgate.core.validation import Soft, check_resolved_media, settle_geometry, validate
from seedgate.dialects.registry import DEFAULT, DIALECTS, dialect_of
from seedgate.media.fetch import Fetcher
from seedgate.media.resolve import resolve_media
from seedgate.media.signing import UrlSigner
from seedgate.media.storage import LocalStorage
from seedgate.store.store import ApiKey, Store, Webhook
from seedgate.upstream.relay import Relay

from .keys import KeyCache, hash_secret

log = logging.getLogger("seedgate.tasks")

DRAFT_VALID_S = 7 * 86400
# What a final video takes over from its draft; the rest may be set afresh on the final request.
_FROM_DRAFT = ("model", "prompt", "media", "generate_audio", "seed", "ratio", "duration", "frames", "camera_fixed")


def _auth_hint(header: str) -> str:
    """Why an Authorization header carries no usable key, worded for the common slips (never echoing the key)."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return "the API key is missing; send `Authorization: Bearer <key>`"
    if scheme.lower() == "bearer":
        return "the Authorization header says `Bearer` but no key follows; send `Authorization: Bearer <key>`"
    if not rest.strip() or not scheme.isalpha() or len(scheme) > 20:
        # Ark and OpenAI require the scheme too; accepting a bare key would hide the mistake until production.
        return "the Authorization header holds a bare key; put `Bearer ` before it: `Authorization: Bearer <key>`"
    return f"the Authorization scheme `{scheme}` is not supported; send `Authorization: Bearer <key>`"


class TaskService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        catalog: Catalog,
        storage: LocalStorage,
        fetcher: Fetcher,
        signer: UrlSigner,
        assets: AssetLibrary,
    ) -> None:
        self.settings = settings
        self.store = store
        self.catalog = catalog
        self.storage = storage
        self.fetcher = fetcher
        self.signer = signer
        self.assets = assets
        self.relay: Relay | None = None  # set when upstream channels are configured
        self.queue_signal = asyncio.Event()  # wakes in-process workers at once
        self.keys = KeyCache(store)  # revocations reach it at once (keys.py)

    # -- callers ------------------------------------------------------------------------------------------------

    async def authenticate(self, request: Request) -> ApiKey:
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise unauthorized(_auth_hint(header))
        key = await self.keys.by_secret_hash(hash_secret(secret))
        if key is None or key.revoked_at is not None:
            raise unauthorized("the API key is invalid or revoked")
        request.state.key = key
        return key

    def base_url(self, request: Request | None) -> str:
        if self.settings.public_url or request is None:
            return self.settings.base_url
        return str(request.base_url).rstrip("/")

    # -- create -------------------------------------------------------------------------------------------------

    async def _expand_draft(self, spec: TaskSpec, owner: str) -> TaskSpec:
        draft_id = spec.draft_task_id or ""
        draft = await self.store.get_task(draft_id, owner)
        param = spec.param("draft_task")
        if draft is None:
            raise invalid(param, f"the draft task {draft_id} was not found")
        if not draft.spec.draft:
            raise invalid(param, f"the task {draft_id} is not a draft task")
        if draft.status is not Status.SUCCEEDED:
            raise invalid(param, f"the draft task {draft_id} has status {draft.status.value}; it must be succeeded")
        if draft.created_at < time.time() - DRAFT_VALID_S:
            raise invalid(param, f"the draft task {draft_id} is older than 7 days")
        reused: dict[str, Any] = {name: getattr(draft.spec, name) for name in _FROM_DRAFT}
        reused["model"] = draft.spec.model_name or draft.spec.model
        if draft.spec.frames_requested:
            reused["duration"] = None
        else:
            reused["frames"] = None
        return replace(spec, **reused, draft=False, draft_task_id=None)

    async def create(self, spec: TaskSpec, soft: Soft, *, owner: str, dialect: str) -> Task:
        draft_id = spec.draft_task_id
        if draft_id and spec.draft:
            raise invalid(spec.param("draft"), "a final video cannot itself be a draft")
        if draft_id:
            spec = await self._expand_draft(spec, owner)
        checked = replace(validate(spec, self.catalog, soft), draft_task_id=draft_id)
        await check_asset_pools(checked, self.catalog, lambda asset_id: self.assets.store.get(asset_id, owner))
        checked = await resolve_media(
            checked, self.fetcher, self.storage, lambda asset_id: self.assets.settled(owner, asset_id)
        )
        check_resolved_media(checked, self.catalog)
        planned = settle_geometry(checked, self.catalog)
        if self.relay is not None:
            self.relay.check(planned)

        now = time.time()
        task = Task(
            id=new_task_id(now),
            owner=owner,
            dialect=dialect,
            endpoint=spec.model,
            spec=planned,
            created_at=now,
            updated_at=now,
            expires_at=now + planned.execution_expires_after,
        )
        await self.store.insert_task(task, await self.webhooks_for(task))
        self.queue_signal.set()
        if self.relay is not None:
            self.relay.wake.set()
        log.debug(
            "task %s queued: model=%s mode=%s %dx%d frames=%d tier=%s",
            task.id,
            task.model,
            planned.mode,
            planned.width,
            planned.height,
            planned.frame_count,
            planned.service_tier,
        )
        return task

    # -- read ---------------------------------------------------------------------------------------------------

    async def get(self, key: ApiKey, task_id: str) -> Task:
        task = await self.store.get_task(task_id, owner=key.id)
        if task is None:
            raise not_found("task", task_id, "id")
        return task

    async def list(self, key: ApiKey, **filters: Any) -> tuple[int, list[Task]]:
        since = time.time() - self.settings.task_retention_s
        return await self.store.list_tasks(key.id, since=since, **filters)

    def result_ttl_s(self, dialect: str) -> int:
        """How long the result links of a task created in `dialect` live: the operator's setting, else the vendor's."""
        settings = self.settings
        if dialect in settings.result_ttl_by_dialect:
            return settings.result_ttl_by_dialect[dialect]
        if settings.result_ttl_s is not None:
            return settings.result_ttl_s
        return DIALECTS.get(dialect, DEFAULT).result_ttl_s

    def longest_result_ttl_s(self) -> int:
        """Result files are kept as long as any dialect's links may still point at them."""
        return max(self.result_ttl_s(name) for name in DIALECTS)

    def links(self, task: Task, base_url: str) -> dict[str, str]:
        """Signed URLs of a finished task's files; they expire the task's dialect's result TTL after it finished.

        The task's own dialect decides (not the route that reads it), so a link is the same whoever renders it."""
        if task.status is not Status.SUCCEEDED or not task.result:
            return {}
        expires = int((task.finished_at or task.updated_at) + self.result_ttl_s(task.dialect))
        links = {}
        for field, name in (("video_url", task.result.get("video")), ("last_frame_url", task.result.get("last_frame"))):
            if name:
                links[field] = self.signer.sign(base_url, f"/files/{task.id}/{name}", expires)
        return links

    async def webhooks_for(self, task: Task) -> list[Webhook]:
        """The deliveries a task in this state causes: its own callback URL, and the owner's subscribed endpoints."""
        dialect = dialect_of(task)
        hooks = []
        if url := dialect.callback_url(task):
            hooks.append(Webhook(url=url, payload=dialect.render_task(task, self.links(task, self.settings.base_url))))
        if dialect.event_type and dialect.render_event and (event := dialect.event_type(task)):
            for endpoint in await self.store.endpoints_for(task.owner, event):
                hooks.append(
                    Webhook(
                        url=endpoint.url,
                        payload=dialect.render_event(task, event),
                        secret=endpoint.signing_secrets(time.time()),
                    )
                )
        return hooks

    # -- cancel and delete --------------------------------------------------------------------------------------

    async def cancel(self, task: Task) -> bool:
        """Cancel a queued task; False when it left the queue meanwhile."""
        cancelled = replace(task, status=Status.CANCELLED, updated_at=time.time())
        if await self.store.transition(
            task, Status.CANCELLED, webhooks=await self.webhooks_for(cancelled), now=cancelled.updated_at
        ):
            log.info("task %s cancelled", task.id)
            return True
        return False

    async def cancel_or_delete(self, key: ApiKey, task_id: str) -> Status | None:
        """Ark's DELETE: cancel a queued task, delete a finished one, refuse running or cancelled ones.

        Returns the new status (CANCELLED) or None when the record was deleted.
        """
        task = await self.get(key, task_id)
        while task.status is Status.QUEUED:
            if await self.cancel(task):
                return Status.CANCELLED
            task = await self.get(key, task_id)  # a worker took it meanwhile (and may have given it back)
        if task.status is Status.RUNNING and self.relay is not None and await self.relay.cancel(task):
            # Still queued upstream (or not sent yet): cancelled there, so cancelled here.
            if await self.cancel(task):
                return Status.CANCELLED
            task = await self.get(key, task_id)
        if task.status in (Status.RUNNING, Status.CANCELLED):
            raise conflict(
                f"the task {task_id} is {task.status.value} and cannot be cancelled or deleted",
                code=f"InvalidAction.Task{task.status.value.capitalize()}",
            )
        if self.relay is not None:
            await self.relay.forget(task.id)
        await self.store.delete_task(task.id)
        self.storage.delete_results(task.id)
        log.info("task %s deleted", task.id)
        return None


def error_for_unexpected(exc: Exception) -> ApiError:
    log.exception("unexpected error", exc_info=exc)
    return internal()
