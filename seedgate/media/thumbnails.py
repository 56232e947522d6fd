"""Still pictures of a finished video: OpenAI's thumbnail and spritesheet content variants, and the console's
small list thumbnail. Each is made once, on first request, beside the task's result files (so deleting the task
deletes them), and written under a temporary name so concurrent first requests never expose half a file."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

import av
from PIL import Image

from .encode import to_image

THUMBNAIL = "thumbnail.webp"
SPRITESHEET = "spritesheet.jpg"
_SPRITE_TILES, _SPRITE_COLUMNS, _SPRITE_TILE_WIDTH = 16, 4, 320


def _write_atomic(path: Path, save: Callable[[Path], None]) -> None:
    part = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        save(part)
        os.replace(part, path)  # concurrent first requests each render; the last rename wins, readers never see half
    finally:
        part.unlink(missing_ok=True)


def render_stills(video: Path, out_dir: Path) -> None:
    """The thumbnail (the middle frame, WebP) and the spritesheet (16 evenly spaced frames, a 4-column JPEG), written
    to `out_dir` as THUMBNAIL and SPRITESHEET."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        total = stream.frames or 1
        count = max(1, min(_SPRITE_TILES, total))
        tiles = sorted({i * (total - 1) // max(count - 1, 1) for i in range(count)})
        # Keep only the frames used: a 4k 15 s video decoded whole would be gigabytes of pixels.
        wanted = set(tiles) | {total // 2}
        kept = {i: to_image(frame) for i, frame in enumerate(container.decode(stream)) if i in wanted}
    if not kept:
        raise ValueError(f"{video} has no frames")
    # The container's frame count may be off by a few; fall back to the last frame decoded.
    middle = kept.get(total // 2) or kept[max(kept)]
    _write_atomic(out_dir / THUMBNAIL, lambda p: middle.save(p, format="WEBP", quality=85))
    picked = [kept[i] for i in tiles if i in kept] or [middle]
    first = picked[0]
    width = _SPRITE_TILE_WIDTH
    height = max(1, round(width * first.height / first.width))
    rows = -(-len(picked) // _SPRITE_COLUMNS)
    sheet = Image.new("RGB", (width * min(len(picked), _SPRITE_COLUMNS), height * rows))
    for index, image in enumerate(picked):
        tile = image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
        sheet.paste(tile, ((index % _SPRITE_COLUMNS) * width, (index // _SPRITE_COLUMNS) * height))
    _write_atomic(out_dir / SPRITESHEET, lambda p: sheet.save(p, format="JPEG", quality=85))


def make_thumbnail(video: Path, out: Path, width: int) -> None:
    """A small JPEG of the frame a third into the video (the first frame is often a plain fade-in), `width` wide.

    Raises av.FFmpegError, ValueError (no frame) or OSError when the video cannot give one.
    """
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        seconds = float(container.duration or 0) / av.time_base if container.duration else 0.0
        if seconds > 0 and stream.time_base:
            container.seek(int(seconds / 3 / stream.time_base), stream=stream, any_frame=False, backward=True)
        # Not a bare next(): a StopIteration cannot cross asyncio.to_thread (the awaiting request would hang).
        frame = next(container.decode(stream), None)
        if frame is None:
            raise ValueError("the video has no frame to show")
        image = to_image(frame)
    height = max(1, round(image.height * width / image.width))
    folder = out.parent.stat()
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}")  # two first views at once must not mix bytes
    image.resize((width, height)).save(tmp, "JPEG", quality=80)
    tmp.replace(out)
    # The results folder's mtime decides when it is purged (Storage.purge_results_older_than): a thumbnail
    # made on a late first view must not extend the life of the task's files.
    os.utime(out.parent, ns=(folder.st_atime_ns, folder.st_mtime_ns))
