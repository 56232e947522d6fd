"""Asset operations shared by every asset dialect: create (from a URL or an upload), read, list, change, delete,
groups, and the lookup task creation uses for `asset://` references. Assets belong to the key that made them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from seedgate.core.asset import KINDS, Asset, AssetGroup, AssetStatus, new_asset_id, new_group_id
from seedgate.core.errors import invalid, not_found
from seedgate.media.fetch import FetchedFile, FetchError, PartFile
from seedgate.media.resolve import MAX_BYTES
from seedgate.media.signing import UrlSigner
from seedgate.media.storage import Storage
from seedgate.store.assets import AssetStore

log = logging.getLogger("seedgate.assets")

MAX_UPLOAD_BYTES = max(MAX_BYTES.values())
MAX_NAME_CHARS = 200  # the column's width
LINK_TTL_S = 12 * 3600  # Volcengine's asset URLs are valid 12 h
_CHUNK = 1024 * 1024


def check_kind(kind: str | None, param: str) -> str | None:
    if kind is None:
        return None
    normal = kind.strip().lower()
    if normal not in KINDS:
        raise invalid(param, f"{kind!r} is not one of Image, Video, Audio")
    return normal


def check_name(name: Any, param: str) -> str:
    if name is None:
        return ""
    if not isinstance(name, str):
        raise invalid(param, f"{param} must be a string")
    if len(name) > MAX_NAME_CHARS:
        raise invalid(param, f"{param} has {len(name)} characters; at most {MAX_NAME_CHARS}")
    return name.strip()


def check_source_url(url: Any, param: str) -> str:
    """A URL an asset can be fetched from: http(s), checked again address by address when fetched. Local bytes
    come as a multipart upload instead (a data: URL would sit in the asset record, and be echoed, whole)."""
    if not isinstance(url, str) or not url.strip():
        raise invalid(param, "the asset URL must be a non-empty string")
    text = url.strip()
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme not in ("http", "https"):
        raise invalid(param, f"{text[:80]!r} is not an http(s) URL; upload local files to POST /v1/assets")
    if len(text) > 8192:
        raise invalid(param, "the URL is longer than 8192 characters")
    return text


class Upload(Protocol):
    """What spooling needs of an uploaded file (Starlette's `UploadFile` has it), so code that knows no HTTP can
    take one."""

    @property
    def filename(self) -> str | None: ...

    async def read(self, size: int = -1) -> bytes: ...


async def spool_upload(tmp: Path, upload: Upload, limit: int, param: str, what: str) -> FetchedFile:
    """An uploaded file streamed to a temporary file (capped at `limit`, hashed); refusals are 400s naming `param`."""
    try:
        with PartFile(tmp, limit, f"the uploaded {what} exceeds {{limit}} bytes") as sink:
            while chunk := await upload.read(_CHUNK):
                sink.write(chunk)
    except FetchError as exc:
        raise invalid(param, str(exc)) from None
    if sink.result.size == 0:
        sink.result.path.unlink(missing_ok=True)
        raise invalid(param, f"the uploaded {what} is empty")
    return sink.result


class AssetLibrary:
    def __init__(
        self, store: AssetStore, storage: Storage, signer: UrlSigner, *, retention_s: float, wait_s: float = 5.0
    ) -> None:
        self.store = store
        self.storage = storage
        self.signer = signer
        self.retention_s = retention_s
        self.wait_s = wait_s
        self.audit_signal = asyncio.Event()  # wakes this node's auditor at once

    # -- create -------------------------------------------------------------------------------------------------

    async def _new(
        self,
        owner: str,
        *,
        kind: str | None,
        name: str,
        group_id: str | None,
        metadata: dict[str, Any] | None,
        source_url: str | None = None,
        blob: str | None = None,
        status: AssetStatus = AssetStatus.PROCESSING,
    ) -> Asset:
        """Store a new asset; one still Processing is queued for the auditor."""
        if group_id is not None and await self.store.get_group(group_id, owner) is None:
            raise not_found("asset group", group_id, "GroupId")
        now = time.time()
        asset = Asset(
            id=new_asset_id(now),
            owner=owner,
            kind=kind,
            name=name[:MAX_NAME_CHARS],
            group_id=group_id,
            source_url=source_url,
            blob=blob,
            metadata=metadata or {},
            status=status,
            created_at=now,
            updated_at=now,
            expires_at=now + self.retention_s,
        )
        await self.store.insert(asset)
        if status is not AssetStatus.PROCESSING:
            return asset
        self.audit_signal.set()
        log.info("asset %s accepted (%s, %s)", asset.id, kind or "kind to be sniffed", "upload" if blob else "to fetch")
        return asset

    async def create_from_url(
        self,
        owner: str,
        url: str,
        *,
        kind: str | None = None,
        name: str = "",
        group_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Asset:
        """Accept at once; the auditor fetches and checks it (Processing -> Active | Failed)."""
        return await self._new(owner, kind=kind, name=name, group_id=group_id, metadata=metadata, source_url=url)

    async def create_from_upload(
        self,
        owner: str,
        upload: Upload,
        *,
        kind: str | None = None,
        name: str = "",
        group_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        param: str = "file",
    ) -> Asset:
        """Store the uploaded bytes (streamed, capped, hashed) and queue the audit."""
        limit = MAX_BYTES[kind] if kind else MAX_UPLOAD_BYTES
        spooled = await spool_upload(self.storage.tmp, upload, limit, param, "file")
        blob = await self.storage.adopt_blob(spooled.path, spooled.sha256)
        return await self._new(
            owner, kind=kind, name=name or upload.filename or "", group_id=group_id, metadata=metadata, blob=blob
        )

    async def add_record(self, owner: str, url: str, name: str, metadata: dict[str, Any]) -> Asset:
        """An asset that holds no media, only a reference (its URL): Active at once, with nothing to fetch or audit,
        so a video task cannot use it as an image, video or audio."""
        return await self._new(
            owner, kind=None, name=name, group_id=None, metadata=metadata, source_url=url, status=AssetStatus.ACTIVE
        )

    # -- read ---------------------------------------------------------------------------------------------------

    async def get(self, owner: str, asset_id: str, param: str = "Id") -> Asset:
        asset = await self.store.get(asset_id, owner)
        if asset is None:
            raise not_found("asset", asset_id, param)
        return asset

    async def find(self, owner: str, asset_id: str) -> Asset | None:
        """The owner's asset, or None (where a missing asset is no 404 of its own)."""
        return await self.store.get(asset_id, owner)

    async def lookup(self, asset_id: str) -> Asset | None:
        """Any owner's asset, for signed links (the signature, not a key, says who may read it)."""
        return await self.store.get(asset_id)

    async def list_assets(
        self,
        owner: str,
        *,
        group_ids: Sequence[str] = (),
        statuses: Sequence[AssetStatus] = (),
        kinds: Sequence[str] = (),
        name: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> tuple[int, list[Asset]]:
        """One page of the owner's assets, newest first, and how many match in all; an empty filter matches all."""
        return await self.store.list(
            owner, group_ids=group_ids, statuses=statuses, kinds=kinds, name=name, offset=offset, limit=limit
        )

    async def by_ids(self, owner: str, ids: Sequence[str], limit: int) -> list[Asset]:
        """The owner's assets among `ids` (at most `limit`, newest first); unknown IDs are left out. No IDs ask for
        nothing (the store reads no ID filter as "all of them")."""
        if not ids:
            return []
        _, found = await self.store.list(owner, ids=ids, limit=limit)
        return found

    async def by_name(self, owner: str, text: str, kinds: Sequence[str], limit: int) -> list[Asset]:
        """The owner's assets of these kinds whose name contains `text` (any case), at most `limit`, newest first."""
        _, found = await self.store.list(owner, name=text, kinds=kinds, limit=limit)
        return found

    async def settled(self, owner: str, asset_id: str) -> Asset | None:
        """The asset for a task's `asset://` reference, waiting a bounded time while its audit is still running."""
        deadline = time.monotonic() + self.wait_s
        while True:
            asset = await self.store.get(asset_id, owner)
            if asset is None or asset.status is not AssetStatus.PROCESSING or time.monotonic() >= deadline:
                return asset
            await asyncio.sleep(0.2)

    def link(self, asset: Asset, base_url: str) -> str | None:
        """A signed link to the asset's bytes, valid 12 h; None until they are stored and passed the audit."""
        if asset.blob is None or asset.status is not AssetStatus.ACTIVE:
            return None
        expires = int(time.time() + LINK_TTL_S)
        return self.signer.sign(base_url, f"/files/assets/{asset.id}", expires)

    # -- change -------------------------------------------------------------------------------------------------

    async def update(self, owner: str, asset_id: str, **values: Any) -> Asset:
        if "group_id" in values:
            values["group_id"] = values["group_id"] or None  # "" moves the asset out of its group
        if values.get("group_id") and await self.store.get_group(values["group_id"], owner) is None:
            raise not_found("asset group", values["group_id"], "GroupId")
        if values and not await self.store.update(owner, asset_id, time.time(), **values):
            raise not_found("asset", asset_id, "Id")
        return await self.get(owner, asset_id)

    async def delete(self, owner: str, asset_id: str) -> None:
        """The record goes now; the bytes go with the next collection once no task uses them either."""
        if not await self.store.delete(asset_id, owner):
            raise not_found("asset", asset_id, "Id")
        log.info("asset %s deleted", asset_id)

    # -- groups -------------------------------------------------------------------------------------------------

    async def create_group(self, owner: str, name: str, description: str = "", group_type: str = "AIGC") -> AssetGroup:
        now = time.time()
        group = AssetGroup(new_group_id(now), owner, name, description, group_type, now, now)
        await self.store.insert_group(group)
        return group

    async def list_groups(
        self, owner: str, *, ids: Sequence[str] = (), name: str | None = None, offset: int = 0, limit: int = 20
    ) -> tuple[int, list[AssetGroup]]:
        """One page of the owner's groups, newest first, and how many match in all."""
        return await self.store.list_groups(owner, ids=ids, name=name, offset=offset, limit=limit)

    async def get_group(self, owner: str, group_id: str) -> AssetGroup:
        group = await self.store.get_group(group_id, owner)
        if group is None:
            raise not_found("asset group", group_id, "Id")
        return group

    async def update_group(self, owner: str, group_id: str, **values: Any) -> AssetGroup:
        if values and not await self.store.update_group(owner, group_id, time.time(), **values):
            raise not_found("asset group", group_id, "Id")
        return await self.get_group(owner, group_id)

    async def delete_group(self, owner: str, group_id: str) -> None:
        if not await self.store.delete_group(owner, group_id):
            raise not_found("asset group", group_id, "Id")
