"""Reference videos a request hands in as bytes (an upload, or a copy of one of the caller's results): spooled,
audited in the memory-capped decode pool, and adopted into the blob store, so the task owns bytes of its own."""

from __future__ import annotations

from pathlib import Path

from seedgate.assets.library import Upload, spool_upload
from seedgate.core.errors import invalid
from seedgate.core.spec import MediaRef
from seedgate.media.fetch import FetchedFile, PartFile
from seedgate.media.probe import MediaRejected, audit_media_bounded
from seedgate.media.resolve import MAX_BYTES, apply_info
from seedgate.media.storage import Storage

_CHUNK = 1024 * 1024


async def adopt_audited(storage: Storage, part: FetchedFile, param: str) -> MediaRef:
    try:
        # In the memory-capped decode pool, like every other audit: a hostile video never grows this process.
        info = await audit_media_bounded("video", part.path)
    except MediaRejected as exc:
        part.path.unlink(missing_ok=True)
        raise invalid(param, str(exc)) from None
    except BaseException:
        part.path.unlink(missing_ok=True)
        raise
    digest = await storage.adopt_blob(part.path, part.sha256)
    # Not a web URL: an upstream gets it as a signed link to the blob (upstream/relay.py), the preview reads it.
    ref = MediaRef("video", f"blob:sha256:{digest}", "reference_video", param, blob=digest)
    apply_info(ref, info)
    return ref


async def video_from_upload(storage: Storage, upload: Upload, param: str) -> MediaRef:
    spooled = await spool_upload(storage.tmp, upload, MAX_BYTES["video"], param, "video")
    return await adopt_audited(storage, spooled, param)


def copy_to_part(storage: Storage, path: Path) -> FetchedFile:
    with (
        PartFile(storage.tmp, MAX_BYTES["video"], "the video exceeds {limit} bytes") as sink,
        path.open("rb") as source,
    ):
        while chunk := source.read(_CHUNK):
            sink.write(chunk)
    return sink.result
