"""Task operations shared by every dialect: authenticate, create, read, list, cancel, delete, remix.

Nothing here knows HTTP: routes hand in the Authorization header's value and their base URL, and get tasks or
`ApiError`s back. What the service needs of the dialects (how a task renders for its webhooks, how long its links
live) is handed in at construction (runtime.py), so this module does not import the dialect registry."""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import logging
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from seedgate.assets.library import AssetLibrary, Upload
from seedgate.assets.pools import check_asset_pools
from seedgate.config import Settings
from seedgate.core.catalog import Catalog
from seedgate.core.errors import ApiError, conflict, invalid, limit_error, not_found, shown, unauthorized
from seedgate.core.limits import Budget, LimitExceeded
from seedgate.core.spec import MediaRef, TaskSpec
from seedgate.core.status import Status
from seedgate.core.task import Task, new_task_id
from seedgate.core.validation import Soft, check_resolved_media, settle_geometry, validate
from seedgate.media.fetch import Fetcher
from seedgate.media.resolve import resolve_media, resolve_refs
from seedgate.media.signing import UrlSigner
from seedgate.media.storage import Storage, StoredFile, result_key
from seedgate.metrics import count_refusal
from seedgate.store.reports import UsageQuery, search_ids, usage_report
from seedgate.store.store import ApiKey, DuplicateRequest, Store, Webhook

from . import billing, intake
from .budgets import BudgetAdmin
from .endpoints import EndpointService
from .keys import KeyCache, create_key, hash_secret
from .removal import delete_task_and_files
from .settle import settle

if TYPE_CHECKING:
    from seedgate.upstream.relay import Relay

log = logging.getLogger("seedgate.tasks")

DRAFT_VALID_S = 7 * 86400
IDEMPOTENCY_HEADER = "Idempotency-Key"
# A create's Idempotency-Key answers its task this long (Stripe's 24 h); then the key may be used again.
IDEMPOTENCY_KEPT_S = 86400
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


class DialectView(Protocol):
    """What the service needs of a task's dialect (dialects/base.py's `Dialect` has it): its webhook documents
    and how long its result links live."""

    @property
    def result_ttl_s(self) -> int: ...

    def render_task(self, task: Task, links: dict[str, str]) -> dict[str, Any]: ...

    def callback_url(self, task: Task) -> str | None: ...

    def event_type(self, task: Task) -> str | None: ...

    def render_event(self, task: Task, event: str) -> dict[str, Any]: ...


class TaskService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        catalog: Catalog,
        storage: Storage,
        fetcher: Fetcher,
        signer: UrlSigner,
        assets: AssetLibrary,
        dialects: Mapping[str, DialectView],
        default_dialect: DialectView,
    ) -> None:
        self.settings = settings
        self.dialects = dialects  # by name; a task of an unknown dialect renders in `default_dialect`
        self.default_dialect = default_dialect
        self.store = store
        self.catalog = catalog
        self.storage = storage
        self.fetcher = fetcher
        self.signer = signer
        self.assets = assets
        self.relay: Relay | None = None  # set when upstream channels are configured
        self.queue_signal = asyncio.Event()  # wakes in-process workers at once
        self.keys = KeyCache(store)  # revocations reach it at once (keys.py)
        self.endpoints = EndpointService(store)
        self.budgets = BudgetAdmin(store)

    # -- callers ------------------------------------------------------------------------------------------------

    async def authenticate(self, header: str) -> ApiKey:
        """The key an `Authorization` header value names; 401 when it names none, or a revoked one."""
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise unauthorized(_auth_hint(header))
        key = await self.keys.by_secret_hash(hash_secret(secret))
        if key is None or key.revoked_at is not None:
            raise unauthorized("the API key is invalid or revoked")
        return key

    def base_url(self, request_base: str | None) -> str:
        """Where links point: the operator's public URL when set, else the base URL the request came in on."""
        if self.settings.public_url or request_base is None:
            return self.settings.base_url
        return request_base.rstrip("/")

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
        reused["model"] = draft.spec.model_name
        if draft.spec.frames_requested:
            reused["duration"] = None
        else:
            reused["frames"] = None
        return replace(spec, **reused, draft=False, draft_task_id=None)

    async def create(
        self, spec: TaskSpec, soft: Soft, *, key: ApiKey, dialect: str, idempotency_key: str | None = None
    ) -> Task:
        """Validate, fetch and audit the request's media, and store the task (reserving its estimate against the
        key's budgets); ApiError for a bad request, and for one a budget or limit refuses.

        With an `idempotency_key` (the Idempotency-Key header) a repeat of the same request answers the task the
        first one made, never a second (paid) task; the same key with a different request is refused."""
        owner = key.id
        request_hash = hashlib.sha256(repr((spec, soft, dialect)).encode()).hexdigest()
        if idempotency_key is not None and (earlier := await self.store.idempotent(owner, idempotency_key)):
            return await self._replay(owner, idempotency_key, request_hash, *earlier)
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
            billing=billing.billing_for(planned, self.catalog),
        )
        idempotency = (idempotency_key, request_hash) if idempotency_key is not None else None
        try:
            webhooks = await self.webhooks_for(task)
            task = await self.store.insert_task(task, webhooks, reserve=key.limited, idempotency=idempotency)
        except LimitExceeded as refused:
            count_refusal(refused)
            raise limit_error(refused) from None
        except DuplicateRequest as twin:  # a concurrent repeat got there first
            return await self._replay(owner, idempotency_key or "", request_hash, twin.request_hash, twin.task_id)
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

    async def list(self, key: ApiKey, **filters: Any) -> tuple[int, builtins.list[Task]]:
        since = time.time() - self.settings.task_retention_s
        return await self.store.list_tasks(key.id, since=since, **filters)

    def result_ttl_s(self, dialect: str) -> int:
        """How long the result links of a task created in `dialect` live: the operator's setting, else the vendor's."""
        settings = self.settings
        if dialect in settings.result_ttl_by_dialect:
            return settings.result_ttl_by_dialect[dialect]
        if settings.result_ttl_s is not None:
            return settings.result_ttl_s
        return self.dialects.get(dialect, self.default_dialect).result_ttl_s

    def longest_result_ttl_s(self) -> int:
        """Result files are kept as long as any dialect's links may still point at them."""
        return max(self.result_ttl_s(name) for name in self.dialects)

    def links(self, task: Task, base_url: str) -> dict[str, str]:
        """Signed URLs of a finished task's files; they expire the task's dialect's result TTL after it finished.

        The task's own dialect decides (not the route that reads it), so a link is the same whoever renders it.
        With SEEDGATE_RESULT_LINKS=presigned they point straight at the object store, expiring at the same time."""
        if task.status is not Status.SUCCEEDED or not task.result:
            return {}
        expires = int((task.finished_at or task.updated_at) + self.result_ttl_s(task.dialect))
        links = {}
        for field, name in (("video_url", task.result.get("video")), ("last_frame_url", task.result.get("last_frame"))):
            if name:
                links[field] = self.file_link(base_url, task.id, name, expires)
        return links

    def file_link(self, base_url: str, task_id: str, name: str, expires: int) -> str:
        """A link to one result file, valid until `expires`: presigned at the object store, or seedgate's own."""
        if self.settings.result_links == "presigned":
            url = self.storage.presign(result_key(task_id, name), expires)
            if url is not None:
                return url
        return self.signer.sign(base_url, f"/files/{task_id}/{name}", expires)

    async def webhooks_for(self, task: Task) -> builtins.list[Webhook]:
        """The deliveries a task in this state causes: its own callback URL, and the owner's subscribed endpoints."""
        dialect = self.dialects.get(task.dialect, self.default_dialect)
        hooks = []
        if url := dialect.callback_url(task):
            hooks.append(Webhook(url=url, payload=dialect.render_task(task, self.links(task, self.settings.base_url))))
        if event := dialect.event_type(task):
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
        """Cancel a queued task; False when it left the queue meanwhile. Through `settle`, like every status
        change, so the record and the webhooks agree on when it finished."""
        if await settle(self.store, self.webhooks_for, task, Status.CANCELLED):
            log.info("task %s cancelled", task.id)
            return True
        return False

    async def delete(self, task: Task) -> None:
        """Delete a task that is no longer running, upstream too (best effort), with its files."""
        if self.relay is not None:
            await self.relay.forget(task.id)
        await delete_task_and_files(self.store, self.storage, task.id)
        log.info("task %s deleted", task.id)

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
        await self.delete(task)
        return None

    async def delete_or_cancel_video(self, key: ApiKey, task_id: str) -> Task:
        """OpenAI's DELETE: like Ark's, but a cancelled task is deleted too (a cancelled job reads as `failed` to
        OpenAI clients, and OpenAI deletes failed videos). Returns the task as it was found."""
        task = await self.get(key, task_id)
        if task.status is Status.CANCELLED:
            await self.delete(task)
        else:
            await self.cancel_or_delete(key, task_id)  # queued: cancelled; finished: deleted; running: 409
        return task

    # -- remix --------------------------------------------------------------------------------------------------

    async def _replay(self, owner: str, key: str, request_hash: str, first_hash: str, task_id: str) -> Task:
        if first_hash != request_hash:
            raise ApiError(
                422,
                "InvalidParameter.IdempotencyKey",
                f"the Idempotency-Key {shown(key)!r} was used for a different request; use a new key",
                IDEMPOTENCY_HEADER,
            )
        task = await self.store.get_task(task_id, owner=owner)
        if task is None:  # the first task was deleted since: the key names nothing any more
            raise conflict(f"the task the Idempotency-Key {shown(key)!r} created was deleted; use a new key")
        return task

    async def remix(
        self,
        key: ApiKey,
        source_id: str,
        prompt: str,
        *,
        dialect: str,
        status_word: Callable[[Status], str],
        wire_names: dict[str, str],
        idempotency_key: str | None = None,
    ) -> Task:
        """A new task that repeats a succeeded one (model, media, geometry, audio) with a new prompt.

        `status_word` names a status in the caller's dialect; `wire_names` maps spec fields to its field names."""
        source = await self.get(key, source_id)
        if source.status is not Status.SUCCEEDED:
            raise invalid(
                "video_id",
                f"the video {source_id} is {status_word(source.status)}; only a completed video can be remixed",
            )
        old = source.spec
        # Reuse the fetched media when its blob is still stored, so a remix does not depend on the original URLs.
        media = [
            replace(m, blob=m.blob if m.blob and await self.storage.reuse_blob(m.blob) else None) for m in old.media
        ]
        spec = TaskSpec(
            model=old.model_name,
            prompt=prompt,
            media=media,
            resolution=old.resolution,
            ratio=old.ratio,
            duration=None if old.frames_requested else old.duration,
            frames=old.frame_count if old.frames_requested else None,
            generate_audio=old.generate_audio,
            camera_fixed=old.camera_fixed,
            watermark=old.watermark,
            remix_of=source.id,
            wire_names=wire_names,
        )
        return await self.create(spec, (), key=key, dialect=dialect, idempotency_key=idempotency_key)

    # -- keys ---------------------------------------------------------------------------------------------------

    async def list_keys(self) -> builtins.list[ApiKey]:
        return await self.store.list_keys()

    async def create_key(self, name: str, *, admin: bool) -> tuple[ApiKey, str]:
        """A new key and its secret (the only time the secret is available: the store keeps a hash)."""
        return await create_key(self.store, name, admin=admin)

    async def revoke_key(self, key_id: str) -> bool:
        return await self.store.revoke_key(key_id)

    # -- small reads routes need --------------------------------------------------------------------------------

    async def linked_task(self, task_id: str) -> Task | None:
        """Any owner's task, for signed links (the signature, not a key, says who may read it)."""
        return await self.store.get_task(task_id)

    async def owned_task(self, owner: str, task_id: str) -> Task | None:
        """The owner's task, or None: `get` for callers whose missing task is no 404 of its own."""
        return await self.store.get_task(task_id, owner=owner)

    # -- files: the one place routes learn where bytes live (a local directory or object storage) -----------------

    async def result_file(self, task_id: str, name: str) -> StoredFile | None:
        """A task's result file, if `name` is a plain file name and the file is still stored."""
        return await self.storage.result(task_id, name)

    async def video_file(self, task: Task) -> StoredFile | None:
        """A task's result video, if it has one and it is still stored."""
        return await self.storage.result(task.id, (task.result or {}).get("video", ""))

    async def still(self, task: Task, name: str, make: Callable[[Path, Path], None]) -> StoredFile | None:
        """A picture made from a task's result video (a thumbnail, a spritesheet), made by `make(video, folder)`
        into a scratch folder on first request and stored beside the results (deleting the task deletes it).
        None when the video is no longer stored."""
        if (stored := await self.storage.result(task.id, name)) is not None:
            return stored
        video = await self.storage.result_path(task.id, (task.result or {}).get("video", ""))
        if video is None:
            return None
        folder = self.storage.scratch(task.id)
        try:
            await asyncio.to_thread(make, video, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        await self.storage.store_results(task.id, folder)
        return await self.storage.result(task.id, name)

    async def video_from_upload(self, upload: Upload, param: str) -> MediaRef:
        """An uploaded reference video, audited and stored as a blob of its own."""
        return await intake.video_from_upload(self.storage, upload, param)

    async def video_from_result(self, task: Task, param: str) -> MediaRef | None:
        """A copy of a task's result video as a reference video (the source's results may be deleted or expire
        before the new task runs); None when the video is no longer stored."""
        path = await self.storage.result_path(task.id, (task.result or {}).get("video", ""))
        if path is None:
            return None
        part = await asyncio.to_thread(intake.copy_to_part, self.storage, path)
        return await intake.adopt_audited(self.storage, part, param)

    async def resolve_refs(self, owner: str, refs: Sequence[MediaRef]) -> tuple[MediaRef, ...]:
        """URL and `asset://` references fetched (or found) and audited, as task creation does it."""
        return await resolve_refs(
            refs, self.fetcher, self.storage, lambda asset_id: self.assets.settled(owner, asset_id)
        )

    async def blob_file(self, digest: str) -> StoredFile | None:
        """A stored input (an asset's or a task's bytes) by content hash, if `digest` is one and still stored."""
        return await self.storage.blob(digest)

    async def check_database(self) -> None:
        """Raises when the database does not answer (readiness)."""
        await self.store.ping()

    async def status_counts(self) -> dict[str, int]:
        """How many tasks the store holds in each status, all owners together (metrics)."""
        return await self.store.count_by_status()

    async def queue_position(self, task: Task) -> int | None:
        """Where a queued task stands (None once it left the queue); read on demand, never in every answer."""
        return await self.store.queue_position(task) if task.status is Status.QUEUED else None

    async def webhook_history(self, task: Task) -> builtins.list[dict[str, Any]]:
        return await self.store.webhook_history(task.id)

    async def search(self, key: ApiKey, text: str) -> builtins.list[str]:
        """IDs of the caller's tasks (within retention) whose ID, prompt or model contains `text`, newest first."""
        return await search_ids(self.store, key.id, text, since=time.time() - self.settings.task_retention_s)

    async def budgets_of(self, key: ApiKey) -> builtins.list[Budget]:
        """The budgets a key is linked to, as of now: what it may still spend (jimmyai's balance routes)."""
        return await self.store.budgets.of_key(key.id)

    async def usage(self, query: UsageQuery) -> dict[str, Any]:
        """Counts, seconds, tokens and cost by day, model and key, for one key or everyone (store/reports.py)."""
        return await usage_report(self.store, query)
