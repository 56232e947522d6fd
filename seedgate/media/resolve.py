"""Turn the media URLs of a spec into audited local blobs, with errors that name the offending item."""

from __future__ import annotations

import asyncio
from pathlib import Path

from seedgate.core.errors import invalid
from seedgate.core.spec import MediaRef, TaskSpec

from .fetch import Fetcher, FetchError
from .probe import MediaRejected, audit_audio, audit_image, audit_video
from .storage import LocalStorage

MAX_BYTES = {"image": 30 * 1024 * 1024, "video": 200 * 1024 * 1024, "audio": 15 * 1024 * 1024}


async def _resolve_one(ref: MediaRef, fetcher: Fetcher, storage: LocalStorage) -> None:
    scheme = ref.url.split(":", 1)[0].lower()
    if scheme == "asset":
        raise invalid(ref.param, "asset:// references are not supported by this server yet; "
                                 "pass an http(s) or data: URL")
    if ref.kind == "video" and scheme == "data":
        raise invalid(ref.param, "reference_video must be provided as a web URL")
    try:
        fetched = await fetcher.fetch(ref.url, storage.tmp, max_bytes=MAX_BYTES[ref.kind])
    except FetchError as exc:
        raise invalid(ref.param, f"cannot fetch {ref.kind}: {exc}") from None
    path: Path = fetched.path
    try:
        if ref.kind == "image":
            image = await asyncio.to_thread(audit_image, path)
            ref.width, ref.height = image.width, image.height
        elif ref.kind == "video":
            video = await asyncio.to_thread(audit_video, path)
            ref.width, ref.height, ref.seconds = video.width, video.height, video.duration
        else:
            audio = await asyncio.to_thread(audit_audio, path)
            ref.seconds = audio.duration
    except MediaRejected as exc:
        path.unlink(missing_ok=True)
        raise invalid(ref.param, str(exc)) from None
    ref.blob = storage.adopt_blob(path, fetched.sha256)
    if scheme == "data":
        # The bytes now live in the blob store; keeping a base64 copy in the task record would bloat every read.
        ref.url = f"blob:sha256:{fetched.sha256}"


async def resolve_media(spec: TaskSpec, fetcher: Fetcher, storage: LocalStorage) -> None:
    """Fetch and audit every not-yet-resolved item concurrently; the first failure (in request order) wins."""
    pending = [ref for ref in spec.media if ref.blob is None]
    results = await asyncio.gather(*(_resolve_one(ref, fetcher, storage) for ref in pending), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
