"""Turn the media URLs of a checked request into audited local blobs, with errors that name the offending item.

Nothing is changed in place: resolution returns new references and a new checked request.

`asset://ID` references resolve to the caller's own audited asset; every other URL is fetched and audited here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from seedgate.core.asset import Asset, AssetStatus, asset_id_of
from seedgate.core.errors import invalid
from seedgate.core.plan import CheckedSpec
from seedgate.core.spec import MediaRef

from .fetch import Fetcher, FetchError
from .probe import MediaRejected, audit_media_bounded
from .storage import Storage

MAX_BYTES = {"image": 30 * 1024 * 1024, "video": 200 * 1024 * 1024, "audio": 15 * 1024 * 1024}

# The caller's asset by ID (None when it does not exist or belongs to someone else), once its audit has settled
# or a bounded wait for it ran out.
AssetLookup = Callable[[str], Awaitable[Asset | None]]


def measured(info: dict[str, object]) -> dict[str, Any]:
    """What an audit measured, as MediaRef fields (what the geometry and cross-item rules need)."""
    width, height, seconds = info.get("width"), info.get("height"), info.get("seconds")
    return {
        "width": int(width) if isinstance(width, int) else None,
        "height": int(height) if isinstance(height, int) else None,
        "seconds": float(seconds) if isinstance(seconds, int | float) else None,
    }


def apply_info(ref: MediaRef, info: dict[str, object]) -> None:
    """Copy what an audit measured onto a reference the caller owns (one not yet in any plan)."""
    for name, value in measured(info).items():
        setattr(ref, name, value)


def _article(word: str | None) -> str:
    return "an" if word and word[0] in "aeiou" else "a"


async def _use_asset(ref: MediaRef, asset_id: str, find_asset: AssetLookup | None) -> MediaRef:
    asset = await find_asset(asset_id) if find_asset else None
    if asset is None:
        # Ark's own wording for an unknown asset (ark_api.md §3), so clients matching on it keep working.
        raise invalid(ref.param, f"The specified asset {asset_id} is not found")
    if asset.status is AssetStatus.FAILED:
        reason = asset.error["message"] if asset.error else "unknown reason"
        raise invalid(ref.param, f"the asset {asset_id} failed its audit: {reason}")
    if asset.status is AssetStatus.PROCESSING:
        raise invalid(ref.param, f"the asset {asset_id} is still being audited; retry in a few seconds")
    if asset.kind != ref.kind:
        raise invalid(
            ref.param,
            f"the asset {asset_id} is {_article(asset.kind)} {asset.kind}, not {_article(ref.kind)} {ref.kind}",
        )
    return replace(ref, blob=asset.blob, **measured(asset.info))


async def _resolve_one(ref: MediaRef, fetcher: Fetcher, storage: Storage, find_asset: AssetLookup | None) -> MediaRef:
    if ref.blob is not None:
        return ref
    asset_id = asset_id_of(ref.url)
    if asset_id is not None:
        resolved = await _use_asset(ref, asset_id, find_asset)
        # The task now needs these bytes too; the claim keeps the collector off them until its row is stored.
        if not await storage.reuse_blob(resolved.blob or ""):
            raise invalid(ref.param, f"the bytes of asset {asset_id} are no longer stored; upload it again")
        return resolved
    scheme = ref.url.split(":", 1)[0].lower()
    if ref.kind == "video" and scheme == "data":
        raise invalid(ref.param, "reference_video must be provided as a web URL")
    try:
        fetched = await fetcher.fetch(ref.url, storage.tmp, max_bytes=MAX_BYTES[ref.kind])
    except FetchError as exc:
        raise invalid(ref.param, f"cannot fetch {ref.kind}: {exc}") from None
    try:
        info = await audit_media_bounded(ref.kind, fetched.path)
    except MediaRejected as exc:
        fetched.path.unlink(missing_ok=True)
        raise invalid(ref.param, str(exc)) from None
    blob = await storage.adopt_blob(fetched.path, fetched.sha256)
    # The bytes of a data: URL now live in the blob store; a base64 copy in the task record would bloat every read.
    url = f"blob:sha256:{fetched.sha256}" if scheme == "data" else ref.url
    return replace(ref, url=url, blob=blob, **measured(info))


async def resolve_refs(
    refs: Sequence[MediaRef], fetcher: Fetcher, storage: Storage, find_asset: AssetLookup | None = None
) -> tuple[MediaRef, ...]:
    """Resolved copies of `refs`, in order: every not-yet-resolved item fetched and audited concurrently; the first
    failure (in request order) wins."""
    results = await asyncio.gather(
        *(_resolve_one(ref, fetcher, storage, find_asset) for ref in refs), return_exceptions=True
    )
    resolved: list[MediaRef] = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        resolved.append(result)
    return tuple(resolved)


async def resolve_media(
    checked: CheckedSpec, fetcher: Fetcher, storage: Storage, find_asset: AssetLookup | None = None
) -> CheckedSpec:
    """The checked request with its media resolved to audited blobs (sizes and lengths measured)."""
    return replace(checked, media=await resolve_refs(checked.media, fetcher, storage, find_asset))
