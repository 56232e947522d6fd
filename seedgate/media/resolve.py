"""Turn the media URLs of a spec into audited local blobs, with errors that name the offending item.

`asset://ID` references resolve to the caller's own audited asset; every other URL is fetched and audited here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from seedgate.core.asset import Asset, AssetStatus, asset_id_of
from seedgate.core.errors import invalid
from seedgate.core.spec import MediaRef, TaskSpec

from .fetch import Fetcher, FetchError
from .probe import MediaRejected, audit_media_bounded
from .storage import LocalStorage

MAX_BYTES = {"image": 30 * 1024 * 1024, "video": 200 * 1024 * 1024, "audio": 15 * 1024 * 1024}

# The caller's asset by ID (None when it does not exist or belongs to someone else), once its audit has settled
# or a bounded wait for it ran out.
AssetLookup = Callable[[str], Awaitable[Asset | None]]


def apply_info(ref: MediaRef, info: dict[str, object]) -> None:
    """Copy what an audit measured onto the reference (what the geometry and cross-item rules need)."""
    width, height, seconds = info.get("width"), info.get("height"), info.get("seconds")
    ref.width = int(width) if isinstance(width, int) else None
    ref.height = int(height) if isinstance(height, int) else None
    ref.seconds = float(seconds) if isinstance(seconds, int | float) else None


def _article(word: str | None) -> str:
    return "an" if word and word[0] in "aeiou" else "a"


async def _use_asset(ref: MediaRef, asset_id: str, find_asset: AssetLookup | None) -> None:
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
    ref.blob = asset.blob
    apply_info(ref, asset.info)


async def _resolve_one(ref: MediaRef, fetcher: Fetcher, storage: LocalStorage, find_asset: AssetLookup | None) -> None:
    asset_id = asset_id_of(ref.url)
    if asset_id is not None:
        await _use_asset(ref, asset_id, find_asset)
        # The task now needs these bytes too; a fresh mark keeps the collector off them until its row is stored.
        if not storage.touch_blob(ref.blob or ""):
            raise invalid(ref.param, f"the bytes of asset {asset_id} are no longer stored; upload it again")
        return
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
    apply_info(ref, info)
    ref.blob = storage.adopt_blob(fetched.path, fetched.sha256)
    if scheme == "data":
        # The bytes now live in the blob store; keeping a base64 copy in the task record would bloat every read.
        ref.url = f"blob:sha256:{fetched.sha256}"


async def resolve_media(
    spec: TaskSpec, fetcher: Fetcher, storage: LocalStorage, find_asset: AssetLookup | None = None
) -> None:
    """Fetch and audit every not-yet-resolved item concurrently; the first failure (in request order) wins."""
    pending = [ref for ref in spec.media if ref.blob is None]
    results = await asyncio.gather(
        *(_resolve_one(ref, fetcher, storage, find_asset) for ref in pending), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
