"""The caller's pictures: images and reference videos decoded and cover-fitted to the size a scene needs."""

from __future__ import annotations

import av
from av.video.reformatter import ColorRange, Colorspace, Interpolation
from PIL import Image, ImageOps

from seedgate.engines.base import MediaInput, RenderFailed
from seedgate.media.encode import Planes, frame_views
from seedgate.media.probe import trim_heap

from .geometry import even, even_offset

_EXIF_ORIENTATION = 0x0112


def media_error(item: MediaInput, kind: str, exc: Exception) -> RenderFailed:
    """The client-facing failure for an input that cannot be decoded."""
    # Decoder messages embed the server-side path; API clients should only see the file name.
    detail = str(exc).replace(str(item.path), item.path.name) or type(exc).__name__
    return RenderFailed(f"{item.role} {kind} could not be decoded: {detail}", code="InvalidParameter")


def _fit(img: Image.Image, width: int, height: int) -> Image.Image:
    """Centre-crop to the target ratio, then resize."""
    scale = max(width / img.width, height / img.height)
    cw, ch = width / scale, height / scale
    left, top = max(0.0, (img.width - cw) / 2), max(0.0, (img.height - ch) / 2)
    box = (left, top, min(float(img.width), left + cw), min(float(img.height), top + ch))
    return img.resize((width, height), Image.Resampling.BICUBIC, box=box, reducing_gap=2.0)


def load_image(item: MediaInput, width: int, height: int) -> Image.Image:
    """The input image upright, in RGB (transparency over black), centre-cropped and resized to width x height."""
    try:
        with Image.open(item.path) as opened:
            # JPEG can decode at a reduced scale for next to nothing; ask in stored orientation.
            rotated = opened.getexif().get(_EXIF_ORIENTATION, 1) in (5, 6, 7, 8)
            opened.draft("RGB", (height, width) if rotated else (width, height))
            img: Image.Image = opened
            # Shrink before any conversion: a 6000x6000 RGBA PNG is 144 MB decoded, and every full-size copy below
            # cost as much again (550 MB in all). reduce() keeps at least the pixels _fit resizes from.
            want_w, want_h = (height, width) if rotated else (width, height)
            factor = min(img.width // max(1, want_w), img.height // max(1, want_h))
            if factor >= 2 and img.mode in ("RGB", "RGBA", "L", "LA", "CMYK", "I", "F"):
                img = img.reduce(factor)
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                img = Image.new("RGB", rgba.size, (0, 0, 0))
                img.paste(rgba, mask=rgba.getchannel("A"))
            else:
                img = img.convert("RGB")
            img.load()
    except Exception as exc:  # PIL raises a zoo of types for corrupt/truncated files
        raise media_error(item, "image", exc) from exc
    if img.width < 2 or img.height < 2:
        raise RenderFailed(f"{item.role} image is too small ({img.width}x{img.height})", "InvalidParameter")
    trim_heap()  # the full-size decode is freed: give it back to the system rather than keep it in the heap
    return _fit(img, width, height)


def load_video_tiles(item: MediaInput, width: int, height: int, max_frames: int, sample_fps: float) -> list[Planes]:
    """Decode up to max_frames frames (sampled at sample_fps from the start), cover-fitted to a tile."""
    tiles: list[Planes] = []
    try:
        with av.open(str(item.path)) as container:
            if not container.streams.video:
                raise ValueError("no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            next_t = 0.0
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else next_t
                if t + 1e-6 < next_t:
                    continue
                next_t = t + 1.0 / sample_fps
                scale = max(width / frame.width, height / frame.height)
                sw, sh = max(width, even(frame.width * scale)), max(height, even(frame.height * scale))
                scaled = frame.reformat(
                    sw,
                    sh,
                    "yuv420p",
                    dst_colorspace=Colorspace.ITU709,
                    dst_color_range=ColorRange.MPEG,
                    interpolation=Interpolation.BILINEAR,
                )
                v = frame_views(scaled)
                x0 = even_offset((sw - width) / 2, sw - width)
                y0 = even_offset((sh - height) / 2, sh - height)
                tiles.append(
                    Planes(
                        v.y[y0 : y0 + height, x0 : x0 + width].copy(),
                        v.u[y0 // 2 : (y0 + height) // 2, x0 // 2 : (x0 + width) // 2].copy(),
                        v.v[y0 // 2 : (y0 + height) // 2, x0 // 2 : (x0 + width) // 2].copy(),
                    )
                )
                if len(tiles) >= max_frames:
                    break
    except RenderFailed:
        raise
    except Exception as exc:
        raise media_error(item, "video", exc) from exc
    if not tiles:
        raise RenderFailed(f"{item.role} video has no decodable frames ({item.path.name})", "InvalidParameter")
    return tiles
