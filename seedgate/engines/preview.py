"""Preview engine: a model-free CPU stand-in that writes real, deterministic H.264 MP4s.

It does not generate anything: it draws a plausible placeholder (a gradient scene with the prompt, or
the caller's images animated with a Ken Burns camera) so that app developers can exercise their whole
pipeline, including audio, watermark and last-frame handling, without a GPU.

Speed notes (the engine is benchmarked against a raw libx264 encode of the same frames):
- everything is composed directly in planar yuv420p, so no per-frame RGB->YUV conversion is needed;
  stills are converted once with swscale, overlays are pre-multiplied once and blended in uint16;
- camera motion crops an integer window out of a pre-fitted plate and lets swscale resample it (the
  text scene only pans, so its window is a plain copy);
- frames are produced on a helper thread while the main thread encodes (swscale, numpy and
  libx264 all release the GIL), which hides most of the drawing cost behind the encoder.
"""

from __future__ import annotations

import colorsys
import contextlib
import hashlib
import logging
import math
import os
import queue
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import av
import numpy as np
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.reformatter import ColorRange, Colorspace, Interpolation, VideoReformatter
from av.video.stream import VideoStream
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from seedgate.engines.base import (
    MediaInput,
    ProgressFn,
    RenderCancelled,
    RenderFailed,
    RenderJob,
    RenderResult,
    StopFn,
)
from seedgate.media.probe import trim_heap

# superfast keeps 720p x 5 s well under 2 s on two cores while producing files about half the size
# of ultrafast; the benchmark's raw-encode ceiling imports these so both sides stay identical.
X264_PRESET = "superfast"
X264_CRF = 23
AUDIO_RATE = 48_000
AUDIO_BITRATE = 96_000

# FFmpeg's AVColorSpace / AVColorPrimaries / AVColorTransferCharacteristic value for BT.709.
_AVCOL_BT709 = 1
_AVCOL_RANGE_MPEG = 1

# Resampling for camera moves. FAST_BILINEAR is ~10% cheaper but keeps more aliasing/grain, which the
# encoder then pays for (+15% file size on grainy photos), so the net gain is nil.
_CAMERA_INTERP = Interpolation.BILINEAR

_EXIF_ORIENTATION = 0x0112

# Memory allowed for decoded reference-video frames, shared by all video tiles.
_VIDEO_TILE_BUDGET = 96 * 1024 * 1024

# Frames between should_stop()/progress() calls: cheap enough to poll, rare enough not to matter.
_POLL_EVERY = 4

# The CJK caption font ships with the package (a subset of Noto Sans CJK SC, SIL OFL 1.1; see fonts/OFL.txt and
# tools/subset_cjk_font.py), so a Chinese prompt draws the same on every machine; SEEDGATE_PREVIEW_FONT overrides it.
log = logging.getLogger("seedgate.engines.preview")

_BUNDLED_CJK_FONT = Path(__file__).resolve().parent / "fonts" / "NotoSansCJKsc-Subset.otf"


# --------------------------------------------------------------------------------------------------
# Encoder


def open_h264_output(
    path: Path, width: int, height: int, fps: int, *, audio: bool = False
) -> tuple[OutputContainer, VideoStream, AudioStream | None]:
    """Open an MP4 with the engine's exact libx264 settings; returns (container, video, audio|None).

    Public so that the benchmark's raw-encode ceiling uses the very same codec configuration.
    """
    container = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
    try:
        video = container.add_stream("libx264", rate=fps)
        video.width = width
        video.height = height
        video.pix_fmt = "yuv420p"
        video.options = {"preset": X264_PRESET, "crf": str(X264_CRF)}
        video.thread_count = 0  # libx264 picks the thread count from the core count
        cc = video.codec_context
        # Tag BT.709 limited range: that is what the frames contain and what HD players assume anyway.
        cc.colorspace = _AVCOL_BT709
        cc.color_primaries = _AVCOL_BT709
        cc.color_trc = _AVCOL_BT709
        cc.color_range = _AVCOL_RANGE_MPEG
        audio_stream = None
        if audio:
            audio_stream = container.add_stream("aac", rate=AUDIO_RATE)
            audio_stream.layout = "mono"
            audio_stream.format = "fltp"
            audio_stream.bit_rate = AUDIO_BITRATE
    except BaseException:
        container.close()
        raise
    return container, video, audio_stream


def new_yuv_frame(width: int, height: int) -> av.VideoFrame:
    """An empty yuv420p frame tagged with the colour metadata the engine writes."""
    frame = av.VideoFrame(width, height, "yuv420p")
    frame.colorspace = _AVCOL_BT709
    frame.color_range = _AVCOL_RANGE_MPEG
    return frame


# --------------------------------------------------------------------------------------------------
# Planar YUV helpers


class Planes(NamedTuple):
    y: np.ndarray  # (h, w) uint8
    u: np.ndarray  # (h/2, w/2) uint8
    v: np.ndarray  # (h/2, w/2) uint8


def frame_views(frame: av.VideoFrame) -> Planes:
    """Writable numpy views on a yuv420p frame's planes (skipping the line padding)."""
    views = []
    for plane in frame.planes:
        flat = np.frombuffer(plane, dtype=np.uint8)
        views.append(flat[: plane.height * plane.line_size].reshape(plane.height, plane.line_size))
        views[-1] = views[-1][:, : plane.width]
    return Planes(*views)


def planes_to_frame(planes: Planes) -> av.VideoFrame:
    h, w = planes.y.shape
    frame = new_yuv_frame(w, h)
    dst = frame_views(frame)
    dst.y[...] = planes.y
    dst.u[...] = planes.u
    dst.v[...] = planes.v
    return frame


def audio_frame(samples: np.ndarray, pts: int) -> av.AudioFrame:
    """Mono float samples at AUDIO_RATE starting at sample `pts`, as the AAC encoder takes them."""
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="fltp", layout="mono")
    frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, pts, Fraction(1, AUDIO_RATE)
    return frame


def rgb_to_planes(rgb: np.ndarray | Image.Image) -> Planes:
    """Convert an RGB image (even size) to BT.709 limited-range yuv420p planes via swscale."""
    arr = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)[..., :3])
    frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
    yuv = frame.reformat(
        format="yuv420p",
        dst_colorspace=Colorspace.ITU709,
        dst_color_range=ColorRange.MPEG,
        interpolation=Interpolation.BILINEAR | Interpolation.ACCURATE_RND,
    )
    return Planes(*(np.array(view) for view in frame_views(yuv)))


def _even(value: float) -> int:
    """Nearest even size, at least 2 (yuv420p needs even geometry)."""
    return max(2, int(round(value / 2.0)) * 2)


def _even_offset(value: float, limit: int) -> int:
    """Even offset clamped to [0, limit]; even so that chroma offsets are exact halves."""
    return min(max(int(value) // 2 * 2, 0), limit)


class Overlay:
    """An RGBA image pre-converted to yuv420p and pre-multiplied, ready for cheap per-frame blending."""

    def __init__(self, rgba: np.ndarray, opacity: float = 1.0) -> None:
        # Even geometry keeps the chroma planes aligned with luma.
        h, w = rgba.shape[:2]
        if h % 2 or w % 2:
            padded = np.zeros((h + h % 2, w + w % 2, 4), dtype=np.uint8)
            padded[:h, :w] = rgba
            rgba = padded
        alpha = rgba[..., 3].astype(np.uint16)
        alpha = ((alpha + (alpha >> 7)) * opacity).astype(np.uint16)  # 0..256 so that >> 8 is exact
        planes = rgb_to_planes(rgba[..., :3])
        alpha_c = (alpha[0::2, 0::2] + alpha[1::2, 0::2] + alpha[0::2, 1::2] + alpha[1::2, 1::2] + 2) // 4
        self.height, self.width = alpha.shape
        self.inv_y = (256 - alpha).astype(np.uint16)
        self.pre_y = (planes.y * alpha).astype(np.uint16)
        self.inv_c = (256 - alpha_c).astype(np.uint16)
        self.pre_u = (planes.u * alpha_c).astype(np.uint16)
        self.pre_v = (planes.v * alpha_c).astype(np.uint16)

    def blend(self, dst: Planes, x: int, y: int) -> None:
        """Alpha-blend in place at (x, y) (rounded down to even), clipped to the frame."""
        x -= x % 2
        y -= y % 2
        fh, fw = dst.y.shape
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + self.width, fw), min(y + self.height, fh)
        if x0 >= x1 or y0 >= y1:
            return
        ox, oy = x0 - x, y0 - y
        sl = (slice(oy, oy + y1 - y0), slice(ox, ox + x1 - x0))
        _blend_region(dst.y[y0:y1, x0:x1], self.inv_y[sl], self.pre_y[sl])
        csl = (slice(oy // 2, (oy + y1 - y0) // 2), slice(ox // 2, (ox + x1 - x0) // 2))
        inv_c = self.inv_c[csl]
        cy0, cy1, cx0, cx1 = y0 // 2, y1 // 2, x0 // 2, x1 // 2
        _blend_region(dst.u[cy0:cy1, cx0:cx1], inv_c, self.pre_u[csl])
        _blend_region(dst.v[cy0:cy1, cx0:cx1], inv_c, self.pre_v[csl])


def _blend_region(region: np.ndarray, inv: np.ndarray, pre: np.ndarray) -> None:
    # One temporary, updated in place: this runs several times per frame.
    acc = region * inv
    acc += pre
    acc >>= 8
    region[...] = acc


# --------------------------------------------------------------------------------------------------
# Camera


@dataclass(frozen=True)
class _View:
    zoom: float  # 1.0 shows the whole plate, plate_w / out_w shows plate pixels 1:1
    cx: float  # centre of the view, as a fraction of the plate size
    cy: float


def _ease(t: float) -> float:
    t = min(max(t, 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


class Camera:
    """Crops a moving window out of a plate and resamples it to the output size with swscale."""

    def __init__(self, plate: Planes, out_w: int, out_h: int, start: _View, end: _View) -> None:
        self.plate = plate
        self.out_w, self.out_h = out_w, out_h
        self.start, self.end = start, end
        self._reformatter = VideoReformatter()

    def render(self, t: float) -> av.VideoFrame:
        e = _ease(t)
        zoom = self.start.zoom + (self.end.zoom - self.start.zoom) * e
        cx = self.start.cx + (self.end.cx - self.start.cx) * e
        cy = self.start.cy + (self.end.cy - self.start.cy) * e
        ph, pw = self.plate.y.shape
        cw = min(pw, _even(pw / zoom))
        ch = min(ph, _even(ph / zoom))
        if abs(cw - self.out_w) <= 2 and abs(ch - self.out_h) <= 2:
            cw, ch = self.out_w, self.out_h  # 1:1 window: skip the resample
        x0 = _even_offset(cx * pw - cw / 2, pw - cw)
        y0 = _even_offset(cy * ph - ch / 2, ph - ch)
        crop = new_yuv_frame(cw, ch)
        dst = frame_views(crop)
        dst.y[...] = self.plate.y[y0 : y0 + ch, x0 : x0 + cw]
        dst.u[...] = self.plate.u[y0 // 2 : (y0 + ch) // 2, x0 // 2 : (x0 + cw) // 2]
        dst.v[...] = self.plate.v[y0 // 2 : (y0 + ch) // 2, x0 // 2 : (x0 + cw) // 2]
        if (cw, ch) == (self.out_w, self.out_h):
            return crop
        # One swscale thread: the encoder already keeps the cores busy.
        return self._reformatter.reformat(crop, self.out_w, self.out_h, interpolation=_CAMERA_INTERP, threads=1)


def _static_camera(plate: Planes) -> Callable[[float], av.VideoFrame]:
    return lambda _t: planes_to_frame(plate)


# --------------------------------------------------------------------------------------------------
# Deterministic randomness


def _rng(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8", "surrogatepass")).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def _palette(rng: np.random.Generator, n: int) -> list[tuple[int, int, int]]:
    base = float(rng.random())
    spread = float(rng.uniform(0.08, 0.3))
    colours = []
    for i in range(n):
        hue = (base + spread * i + float(rng.uniform(-0.03, 0.03))) % 1.0
        sat = float(rng.uniform(0.45, 0.85))
        val = float(rng.uniform(0.55, 0.95))
        r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return colours


# --------------------------------------------------------------------------------------------------
# Text


def _clean_text(text: str) -> str:
    """Drop what no font can draw (controls, lone surrogates) so drawing can never raise."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\t\r":
            out.append("\n" if ch == "\n" else " ")
        elif cat in ("Cc", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(ch)
    return "".join(out).strip()


def _needs_cjk(text: str) -> bool:
    return any(ord(ch) >= 0x2E80 for ch in text)


@lru_cache(maxsize=1)
def _cjk_font_path() -> str | None:
    for candidate in (os.environ.get("SEEDGATE_PREVIEW_FONT", ""), str(_BUNDLED_CJK_FONT)):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@lru_cache(maxsize=32)
def _font(size: int, cjk: bool) -> Any:
    if cjk and (path := _cjk_font_path()):
        try:
            return ImageFont.truetype(path, size)
        except OSError as exc:
            _warn_once(
                f"font:{path}", "preview: cannot load the caption font %s (%s); CJK text is drawn as boxes", path, exc
            )
    return ImageFont.load_default(size=size)


_warned: set[str] = set()
_WARN_LOCK = threading.Lock()


def _warn_once(key: str, message: str, *args: object) -> None:
    with _WARN_LOCK:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(message, *args)


def _glyph(font: Any, ch: str) -> tuple[tuple[int, int], bytes]:
    left, top, right, bottom = font.getbbox(ch)
    image = Image.new("L", (max(1, right - left), max(1, bottom - top)))
    ImageDraw.Draw(image).text((-left, -top), ch, font=font, fill=255)
    return image.size, image.tobytes()


@lru_cache(maxsize=64)
def _notdef(font: Any) -> tuple[tuple[int, int], bytes]:
    """How `font` draws a character it lacks: like a code point no font has."""
    return _glyph(font, "\U0010fffd")


@lru_cache(maxsize=4096)
def _missing_glyph(font: Any, ch: str) -> bool:
    """Whether `font` would draw `ch` as its "missing" box."""
    if ch.isspace():
        return False
    with _FONT_LOCK:
        try:
            return _glyph(font, ch) == _notdef(font)
        except (UnicodeError, ValueError, OSError):
            return True


def _script(ch: str) -> str:
    """A script-ish name for the log: the first word of the character's Unicode name (CJK, HANGUL, ARABIC ...)."""
    if unicodedata.category(ch) == "So":
        return "symbol/emoji"
    name = unicodedata.name(ch, "")
    return name.split(" ")[0] if name else f"U+{ord(ch):04X}"


def _report_undrawable(font: Any, text: str) -> None:
    """Log once per script what the caption font cannot draw (it shows as boxes), so the cause is never a mystery."""
    for ch in dict.fromkeys(text):
        if ord(ch) >= 0x80 and _missing_glyph(font, ch):
            script = _script(ch)
            _warn_once(
                f"script:{script}",
                "preview: the caption font has no glyph for %s text such as %r; it is "
                "drawn as boxes (SEEDGATE_PREVIEW_FONT names a font that has it)",
                script,
                ch,
            )


# Cached fonts are shared by renders running in parallel worker threads, and a FreeType face is not
# safe to use from two threads at once.
_FONT_LOCK = threading.Lock()


def _text_length(font: Any, text: str) -> float:
    with _FONT_LOCK:
        try:
            return float(font.getlength(text))
        except (UnicodeError, ValueError, OSError):
            # Bitmap fallback fonts only know Latin-1.
            return float(font.getlength(text.encode("latin-1", "replace").decode("latin-1")))


def _draw_text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font: Any, fill: Any) -> None:
    with _FONT_LOCK:
        try:
            draw.text(xy, text, font=font, fill=fill)
        except (UnicodeError, ValueError, OSError):
            draw.text(xy, text.encode("latin-1", "replace").decode("latin-1"), font=font, fill=fill)


def _wrap(text: str, font: Any, max_width: float, max_lines: int) -> list[str]:
    """Greedy wrap that breaks at spaces when it can and anywhere otherwise (CJK has no spaces)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for ch in paragraph:
            candidate = line + ch
            if line and _text_length(font, candidate) > max_width:
                cut = line.rfind(" ")
                if ch != " " and cut > 0:
                    lines.append(line[:cut])
                    line = line[cut + 1 :] + ch
                else:
                    lines.append(line)
                    line = "" if ch == " " else ch
                if len(lines) > max_lines:
                    break
            else:
                line = candidate
        if len(lines) > max_lines:
            break
        lines.append(line.strip())
    lines = [ln for ln in lines if ln]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and _text_length(font, last + "…") > max_width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines


def _caption_overlay(prompt: str, width: int, height: int) -> tuple[Overlay, int, int] | None:
    text = _clean_text(prompt)
    if not text:
        return None
    size = max(12, height // 20)
    font = _font(size, _needs_cjk(text))
    max_w = width * 0.78
    lines = _wrap(text, font, max_w, max_lines=4)
    if not lines:
        return None
    _report_undrawable(font, "".join(lines))  # only what is drawn: a few lines at most
    line_h = int(size * 1.35)
    pad = max(6, size // 2)
    box_w = int(max(_text_length(font, ln) for ln in lines)) + 2 * pad
    box_h = line_h * len(lines) + 2 * pad
    panel = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    ImageDraw.Draw(panel).rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=pad, fill=(0, 0, 0, 120))
    ink = Image.new("RGBA", (box_w, box_h), (255, 255, 255, 0))
    draw = ImageDraw.Draw(ink)
    for i, ln in enumerate(lines):
        x = (box_w - _text_length(font, ln)) / 2
        _draw_text(draw, (x, pad + i * line_h), ln, font, (255, 255, 255, 255))
    panel = Image.alpha_composite(panel, ink)
    x = (width - box_w) // 2
    y = int(height * 0.94) - box_h
    return Overlay(np.asarray(panel)), x, max(0, y)


def _label_overlay(text: str, size: int, opacity: float) -> Overlay:
    """White text over a soft dark shadow, readable on any background."""
    font = _font(size, False)
    w = int(_text_length(font, text)) + size
    h = int(size * 1.6)
    # Transparent pixels are black like the shadow, so chroma subsampling cannot tint the edges.
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    _draw_text(ImageDraw.Draw(layer), (size // 2 + 1, size // 4 + 1), text, font, (0, 0, 0, 200))
    layer = layer.filter(ImageFilter.GaussianBlur(max(1, size // 12)))
    _draw_text(ImageDraw.Draw(layer), (size // 2, size // 4), text, font, (255, 255, 255, 255))
    return Overlay(np.asarray(layer), opacity=opacity)


@lru_cache(maxsize=8)
def preview_label_overlay(width: int, height: int) -> tuple[Overlay, int, int]:
    """The small "seedgate preview" mark in the top-left corner of every preview video, whatever the mode, so a
    downloaded MP4 says it is a stand-in (read-only, so cached per size)."""
    size = max(10, min(width, height) // 36)
    margin = max(4, min(width, height) // 40)
    return _label_overlay("seedgate preview", size, 0.8), margin, margin


@lru_cache(maxsize=8)
def watermark_overlay(width: int, height: int) -> tuple[Overlay, int, int]:
    """The "AI Generated" mark, anchored in the bottom-right corner (read-only, so cached per size)."""
    size = max(10, min(width, height) // 22)
    overlay = _label_overlay("AI Generated", size, opacity=0.85)
    margin = max(4, min(width, height) // 40)
    return overlay, width - overlay.width - margin, height - overlay.height - margin


# --------------------------------------------------------------------------------------------------
# Sprites (moving shapes)


@dataclass
class _Sprite:
    overlay: Overlay
    cx: float
    cy: float
    ax: float
    ay: float
    fx: float
    fy: float
    px: float
    py: float

    def position(self, t: float, width: int, height: int) -> tuple[int, int]:
        x = (self.cx + self.ax * math.sin(2 * math.pi * (self.fx * t + self.px))) * width
        y = (self.cy + self.ay * math.sin(2 * math.pi * (self.fy * t + self.py))) * height
        return int(x) - self.overlay.width // 2, int(y) - self.overlay.height // 2


def _shape_image(kind: int, size: int, colour: tuple[int, int, int], alpha: int) -> np.ndarray:
    # Drawn 4x larger then reduced: cheap antialiasing, done once per sprite.
    big = size * 4
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    inset = big // 16
    if kind == 0:
        draw.ellipse((inset, inset, big - inset, big - inset), fill=alpha)
    elif kind == 1:
        draw.rounded_rectangle((inset, inset, big - inset, big - inset), radius=big // 5, fill=alpha)
    elif kind == 2:
        draw.polygon([(big / 2, inset), (big - inset, big - inset), (inset, big - inset)], fill=alpha)
    else:
        ring = big // 7
        draw.ellipse((inset, inset, big - inset, big - inset), fill=alpha)
        draw.ellipse((inset + ring, inset + ring, big - inset - ring, big - inset - ring), fill=0)
    mask = mask.resize((size, size), Image.Resampling.BOX)
    rgba = np.empty((size, size, 4), dtype=np.uint8)
    rgba[..., :3] = colour  # colour everywhere, so subsampled chroma does not bleed at the edges
    rgba[..., 3] = np.asarray(mask)
    return rgba


def _glow_image(size: int, colour: tuple[int, int, int], alpha: float) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    r = np.hypot(xx - size / 2, yy - size / 2) / (size / 2)
    a = np.clip(1.0 - r, 0.0, 1.0) ** 2 * (alpha * 255.0)
    rgba = np.empty((size, size, 4), dtype=np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = a.astype(np.uint8)
    return rgba


def _make_sprites(rng: np.random.Generator, width: int, height: int, count: int) -> list[_Sprite]:
    colours = _palette(rng, count)
    sprites = []
    for i in range(count):
        size = _even(min(width, height) * float(rng.uniform(0.12, 0.24)))
        kind = int(rng.integers(0, 4))
        rgba = _shape_image(kind, size, colours[i], int(rng.integers(170, 235)))
        sprites.append(
            _Sprite(
                overlay=Overlay(rgba),
                cx=float(rng.uniform(0.2, 0.8)),
                cy=float(rng.uniform(0.2, 0.65)),
                ax=float(rng.uniform(0.08, 0.25)),
                ay=float(rng.uniform(0.05, 0.18)),
                fx=float(rng.uniform(0.05, 0.2)) * (1 if rng.random() < 0.5 else -1),
                fy=float(rng.uniform(0.05, 0.2)),
                px=float(rng.random()),
                py=float(rng.random()),
            )
        )
    return sprites


# --------------------------------------------------------------------------------------------------
# Backgrounds and input media


def _gradient_scene(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A soft multi-colour backdrop; computed at quarter size since it has no detail to lose."""
    qw, qh = max(8, width // 4), max(8, height // 4)
    c1, c2, c3, c4 = (np.array(c, dtype=np.float32) for c in _palette(rng, 4))
    yy, xx = np.mgrid[0:qh, 0:qw].astype(np.float32)
    xx /= qw
    yy /= qh
    angle = float(rng.uniform(0, 2 * math.pi))
    g = np.clip((xx - 0.5) * math.cos(angle) + (yy - 0.5) * math.sin(angle) + 0.5, 0, 1)[..., None]
    img = c1 * (1 - g) + c2 * g
    for colour in (c3, c4):
        gx, gy = float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.1, 0.9))
        radius = float(rng.uniform(0.25, 0.5))
        d = np.hypot((xx - gx) * qw / qh, yy - gy) / radius
        w = (np.clip(1 - d, 0, 1) ** 2)[..., None] * 0.8
        img = img * (1 - w) + colour * w
    # A darker horizon band gives the camera motion something to read against.
    horizon = float(rng.uniform(0.55, 0.75))
    band = np.clip((yy - horizon) * 6, 0, 1)[..., None] * 0.35
    img = img * (1 - band)
    small = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    return small.resize((width, height), Image.Resampling.BICUBIC)


def _media_error(item: MediaInput, kind: str, exc: Exception) -> RenderFailed:
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


def _load_image(item: MediaInput, width: int, height: int) -> Image.Image:
    try:
        with Image.open(item.path) as img:
            # JPEG can decode at a reduced scale for next to nothing; ask in stored orientation.
            rotated = img.getexif().get(_EXIF_ORIENTATION, 1) in (5, 6, 7, 8)
            img.draft("RGB", (height, width) if rotated else (width, height))
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
        raise _media_error(item, "image", exc) from exc
    if img.width < 2 or img.height < 2:
        raise RenderFailed(f"{item.role} image is too small ({img.width}x{img.height})", "InvalidParameter")
    trim_heap()  # the full-size decode is freed: give it back to the system rather than keep it in the heap
    return _fit(img, width, height)


def _load_video_tiles(item: MediaInput, width: int, height: int, max_frames: int, sample_fps: float) -> list[Planes]:
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
                sw, sh = max(width, _even(frame.width * scale)), max(height, _even(frame.height * scale))
                scaled = frame.reformat(
                    sw,
                    sh,
                    "yuv420p",
                    dst_colorspace=Colorspace.ITU709,
                    dst_color_range=ColorRange.MPEG,
                    interpolation=Interpolation.BILINEAR,
                )
                v = frame_views(scaled)
                x0 = _even_offset((sw - width) / 2, sw - width)
                y0 = _even_offset((sh - height) / 2, sh - height)
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
        raise _media_error(item, "video", exc) from exc
    if not tiles:
        raise RenderFailed(f"{item.role} video has no decodable frames ({item.path.name})", "InvalidParameter")
    return tiles


def _load_audio(item: MediaInput, samples: int) -> np.ndarray:
    """Decode to 48 kHz mono float32, then loop or trim to exactly `samples`."""
    chunks: list[np.ndarray] = []
    try:
        with av.open(str(item.path)) as container:
            if not container.streams.audio:
                raise ValueError("no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
            have = 0
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
                    have += chunks[-1].size
                if have >= samples:
                    break
            else:
                for out in resampler.resample(None):
                    chunks.append(out.to_ndarray().reshape(-1))
    except Exception as exc:
        raise _media_error(item, "audio", exc) from exc
    pcm = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if pcm.size < AUDIO_RATE // 50:
        raise RenderFailed(f"{item.role} audio has no decodable samples ({item.path.name})", "InvalidParameter")
    if pcm.size < samples:
        # Short fades at the loop seam avoid a click every repetition.
        fade = min(pcm.size // 4, AUDIO_RATE // 100)
        if fade:
            ramp = np.linspace(0, 1, fade, dtype=np.float32)
            pcm = pcm.copy()
            pcm[:fade] *= ramp
            pcm[-fade:] *= ramp[::-1]
        pcm = np.tile(pcm, samples // pcm.size + 1)
    pcm = pcm[:samples].copy()
    fade = min(samples // 4, AUDIO_RATE // 20)
    if fade:
        pcm[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    return np.clip(pcm, -1.0, 1.0)


def _synth_audio(seed: int, prompt: str, samples: int) -> np.ndarray:
    """A soft, seed-dependent chord progression; quiet enough to be unobtrusive."""
    rng = _rng("audio", seed, prompt)
    # float32 halves the cost; its phase error over a 15 s clip is far below audibility.
    t = np.arange(samples, dtype=np.float32) / np.float32(AUDIO_RATE)
    root = 110.0 * 2 ** (int(rng.integers(0, 12)) / 12)  # A2..G#3
    minor = bool(rng.random() < 0.5)
    progression = [0, 7, 9, 5] if not minor else [0, 8, 3, 10]
    offset = int(rng.integers(0, 4))
    chord_len = 2.0
    out = np.zeros(samples, dtype=np.float32)
    n_chords = int(math.ceil(samples / AUDIO_RATE / chord_len)) + 1
    for k in range(n_chords):
        step = progression[(k + offset) % len(progression)]
        third = 3 if minor else 4
        # Each chord fades in/out over half a second so the changes are smooth.
        mid = k * chord_len + chord_len / 2
        half = chord_len / 2 + 0.5
        lo = max(0, int((mid - half) * AUDIO_RATE))
        hi = min(samples, int((mid + half) * AUDIO_RATE) + 1)
        phases = rng.uniform(0, 2 * np.pi, 4)
        if lo >= hi:
            continue
        seg = t[lo:hi]
        env = np.clip(1.0 - np.abs(seg - mid) / half, 0, 1)
        for (semis, gain), phase in zip(((0, 0.5), (third, 0.35), (7, 0.35), (12, 0.2)), phases, strict=True):
            f = root * 2 ** ((step + semis) / 12) * 2
            out[lo:hi] += np.float32(gain) * env * np.sin(np.float32(2 * np.pi * f) * seg + np.float32(phase))
    tremolo = 0.85 + 0.15 * np.sin(2 * np.pi * float(rng.uniform(0.2, 0.6)) * t)
    out *= tremolo
    attack = np.clip(t / 0.25, 0, 1)
    release = np.clip((samples / AUDIO_RATE - t) / 0.4, 0, 1)
    out *= attack * release
    peak = float(np.max(np.abs(out))) or 1.0
    return (out * (0.25 / peak)).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# Scenes: each returns a fresh yuv420p frame for a time t in [0, 1] (before the watermark)


class _Scene:
    def __init__(self, base: Callable[[float], av.VideoFrame]) -> None:
        self.base = base
        self.sprites: list[_Sprite] = []
        self.overlays: list[tuple[Overlay, int, int]] = []
        self.before_base: Callable[[float], None] | None = None

    def render(self, t: float) -> av.VideoFrame:
        if self.before_base is not None:
            self.before_base(t)
        frame = self.base(t)
        views = frame_views(frame)
        h, w = views.y.shape
        for sprite in self.sprites:
            sprite.overlay.blend(views, *sprite.position(t, w, h))
        for overlay, x, y in self.overlays:
            overlay.blend(views, x, y)
        return frame


def _margin(width: int, height: int, margin: float) -> tuple[int, int]:
    return _even(width * margin), _even(height * margin)


def _text_scene(job: RenderJob) -> _Scene:
    w, h = job.width, job.height
    rng = _rng("text", job.seed, job.prompt)
    if job.camera_fixed:
        plate = rgb_to_planes(_gradient_scene(rng, w, h))
        scene = _Scene(_static_camera(plate))
    else:
        # A pure pan: on a backdrop this soft a zoom reads the same, and a window of exactly the output
        # size is a plain copy instead of a per-frame resample.
        pw, ph = _margin(w, h, 1.16)
        plate = rgb_to_planes(_gradient_scene(rng, pw, ph))
        dx = float(rng.uniform(0.03, 0.07)) * (1 if rng.random() < 0.5 else -1)
        dy = float(rng.uniform(0.0, 0.05)) * (1 if rng.random() < 0.5 else -1)
        zoom = pw / w
        start, end = _View(zoom, 0.5 - dx, 0.5 - dy), _View(zoom, 0.5 + dx, 0.5 + dy)
        scene = _Scene(Camera(plate, w, h, start, end).render)
    scene.sprites = _make_sprites(rng, w, h, count=int(rng.integers(3, 6)))
    caption = _caption_overlay(job.prompt, w, h)
    if caption:
        scene.overlays.append(caption)
    return scene


def _ken_burns_views(rng: np.random.Generator, max_zoom: float) -> tuple[_View, _View]:
    # Always start on the full picture so frame 0 matches the caller's first frame.
    focus_x, focus_y = float(rng.uniform(0.35, 0.65)), float(rng.uniform(0.35, 0.65))
    return _View(1.0, 0.5, 0.5), _View(max_zoom, focus_x, focus_y)


def _light_sprite(rng: np.random.Generator, w: int, h: int) -> _Sprite:
    size = _even(min(w, h) * 0.6)
    return _Sprite(
        overlay=Overlay(_glow_image(size, (255, 250, 235), alpha=0.16)),
        cx=0.5,
        cy=0.5,
        ax=float(rng.uniform(0.15, 0.3)),
        ay=float(rng.uniform(0.08, 0.2)),
        fx=float(rng.uniform(0.1, 0.25)),
        fy=float(rng.uniform(0.1, 0.25)),
        px=float(rng.random()),
        py=float(rng.random()),
    )


def _first_frame_scene(job: RenderJob) -> _Scene:
    w, h = job.width, job.height
    item = _require(job, "first_frame")
    rng = _rng("first_frame", job.seed)
    if job.camera_fixed:
        plate = rgb_to_planes(_load_image(item, w, h))
        scene = _Scene(_static_camera(plate))
        # A drifting soft light keeps consecutive frames distinct without moving the picture.
        scene.sprites = [_light_sprite(rng, w, h)]
        return scene
    pw, ph = _margin(w, h, 1.15)
    plate = rgb_to_planes(_load_image(item, pw, ph))
    start, end = _ken_burns_views(rng, pw / w)
    return _Scene(Camera(plate, w, h, start, end).render)


def _blend_into(dst: Planes, src: Planes, weight: float) -> None:
    k = int(round(weight * 256))
    if k <= 0:
        return
    if k >= 256:
        for d, s in zip(dst, src, strict=True):
            d[...] = s
        return
    for d, s in zip(dst, src, strict=True):
        acc = d * np.uint16(256 - k)
        acc += s * np.uint16(k)
        acc >>= 8
        d[...] = acc


def _first_last_scene(job: RenderJob) -> _Scene:
    w, h = job.width, job.height
    first, last = _require(job, "first_frame"), _require(job, "last_frame")
    rng = _rng("first_last_frame", job.seed)
    if job.camera_fixed:
        pw, ph = w, h
    else:
        pw, ph = _margin(w, h, 1.1)
    plate_a = rgb_to_planes(_load_image(first, pw, ph))
    plate_b = rgb_to_planes(_load_image(last, pw, ph))
    zoom = pw / w
    cam_a = Camera(plate_a, w, h, _View(1.0, 0.5, 0.5), _View(zoom, *rng.uniform(0.4, 0.6, 2)))
    cam_b = Camera(plate_b, w, h, _View(zoom, *rng.uniform(0.4, 0.6, 2)), _View(1.0, 0.5, 0.5))

    def base(t: float) -> av.VideoFrame:
        # Hold each end briefly so the first/last frames are exactly the inputs.
        weight = _ease((t - 0.15) / 0.7)
        if weight >= 1.0:
            return cam_b.render(t)
        frame = cam_a.render(t)
        if weight > 0.0:
            _blend_into(frame_views(frame), frame_views(cam_b.render(t)), weight)
        return frame

    return _Scene(base)


def _reference_scene(job: RenderJob) -> _Scene:
    w, h = job.width, job.height
    items = [i for i in job.inputs if i.role in ("reference_image", "reference_video")]
    if not items:
        # Reference mode with only audio references: nothing to show but the prompt.
        return _text_scene(job)
    rng = _rng("reference", job.seed)
    if job.camera_fixed:
        pw, ph = w, h
    else:
        pw, ph = _margin(w, h, 1.1)
    while True:
        n = len(items)
        cols = math.ceil(math.sqrt(n))
        rows = math.ceil(n / cols)
        if h > w:
            cols, rows = rows, cols
        gap = _even(min(pw, ph) * 0.015) if n > 1 else 0
        tile_w = (pw - gap * (cols + 1)) // cols // 2 * 2
        tile_h = (ph - gap * (rows + 1)) // rows // 2 * 2
        if n == 1 or min(tile_w, tile_h) >= 16:
            break
        # Tiny outputs cannot hold a grid; show as many references as fit.
        items = items[: n - 1]
    canvas = np.asarray(_gradient_scene(rng, pw, ph).filter(ImageFilter.BoxBlur(2))).copy()
    canvas = (canvas * 0.35).astype(np.uint8)  # dim backdrop so the references stand out
    plate = rgb_to_planes(canvas)
    duration = job.frames / job.fps
    videos: list[tuple[int, int, list[Planes]]] = []
    for idx, item in enumerate(items):
        r, c = divmod(idx, cols)
        in_row = min(cols, n - r * cols)
        row_offset = (cols - in_row) * (tile_w + gap) // 2
        x = _even_offset(gap + c * (tile_w + gap) + row_offset, pw) if n > 1 else 0
        y = _even_offset(gap + r * (tile_h + gap), ph) if n > 1 else 0
        tw, th = (tile_w, tile_h) if n > 1 else (pw, ph)
        if item.role == "reference_image":
            tile = rgb_to_planes(_load_image(item, tw, th))
            _paste(plate, tile, x, y)
        else:
            sample_fps = min(12.0, float(job.fps))
            # Bounded by count and by memory: a full-frame 1080p tile is ~3.7 MB per sampled frame.
            budget = _VIDEO_TILE_BUDGET // max(1, len(items)) // (tw * th * 3 // 2)
            max_frames = max(1, min(48, budget, int(math.ceil(duration * sample_fps))))
            tiles = _load_video_tiles(item, tw, th, max_frames, sample_fps)
            _paste(plate, tiles[0], x, y)
            videos.append((x, y, tiles))

    def update(t: float) -> None:
        # Video tiles play at sample_fps and bounce back and forth when they run out.
        for x, y, tiles in videos:
            k = int(t * duration * min(12.0, float(job.fps)))
            period = max(1, 2 * len(tiles) - 2)
            k %= period
            _paste(plate, tiles[k if k < len(tiles) else period - k], x, y)

    if job.camera_fixed:
        scene = _Scene(_static_camera(plate))
        scene.sprites = [_light_sprite(rng, w, h)]
    else:
        start, end = _ken_burns_views(rng, pw / w)
        scene = _Scene(Camera(plate, w, h, start, end).render)
    scene.before_base = update if videos else None
    return scene


def _paste(dst: Planes, src: Planes, x: int, y: int) -> None:
    th, tw = src.y.shape
    dst.y[y : y + th, x : x + tw] = src.y
    dst.u[y // 2 : (y + th) // 2, x // 2 : (x + tw) // 2] = src.u
    dst.v[y // 2 : (y + th) // 2, x // 2 : (x + tw) // 2] = src.v


def _require(job: RenderJob, role: str) -> MediaInput:
    items = job.inputs_with_role(role)
    if not items:
        raise RenderFailed(f"mode {job.mode!r} needs a {role} input", code="InvalidParameter")
    return items[0]


# --------------------------------------------------------------------------------------------------
# Engine


class PreviewEngine:
    """Deterministic placeholder renderer; see the module docstring."""

    name = "preview"
    notice = "preview engine: a deterministic stand-in video, not a generative model"

    def render(self, job: RenderJob, progress: ProgressFn, should_stop: StopFn) -> RenderResult:
        self._validate(job)
        if should_stop():
            raise RenderCancelled(job.task_id)
        scene = self._build_scene(job)
        audio = self._build_audio(job) if job.generate_audio else None
        if should_stop():
            raise RenderCancelled(job.task_id)

        out_dir = Path(job.output_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        video_path = out_dir / "video.mp4"
        # faststart rewrites the file at close; a .part name keeps half-written files out of sight.
        part_path = out_dir / "video.mp4.part"
        last_path = out_dir / "last_frame.png" if job.return_last_frame else None
        watermark = watermark_overlay(job.width, job.height) if job.watermark else None

        try:
            self._encode(job, scene, audio, watermark, part_path, last_path, progress, should_stop)
        except BaseException as exc:
            part_path.unlink(missing_ok=True)
            if last_path is not None:
                last_path.unlink(missing_ok=True)
            if isinstance(exc, av.error.FFmpegError):
                raise RenderFailed(f"preview encoding failed: {exc}") from exc
            raise
        part_path.replace(video_path)
        progress(1.0)
        return RenderResult(
            video_path=video_path,
            last_frame_path=last_path,
            frames=job.frames,
            has_audio=audio is not None,
        )

    @staticmethod
    def _validate(job: RenderJob) -> None:
        if job.width < 2 or job.height < 2 or job.width % 2 or job.height % 2:
            raise RenderFailed(
                f"preview engine needs an even width and height, got {job.width}x{job.height}",
                code="InvalidParameter",
            )
        if job.frames < 1 or job.fps < 1:
            raise RenderFailed(f"invalid frames={job.frames} fps={job.fps}", code="InvalidParameter")
        if job.mode not in ("text", "first_frame", "first_last_frame", "reference"):
            raise RenderFailed(f"unknown mode {job.mode!r}", code="InvalidParameter")

    @staticmethod
    def _build_scene(job: RenderJob) -> _Scene:
        if job.mode == "first_frame":
            return _first_frame_scene(job)
        if job.mode == "first_last_frame":
            return _first_last_scene(job)
        if job.mode == "reference":
            return _reference_scene(job)
        return _text_scene(job)

    @staticmethod
    def _build_audio(job: RenderJob) -> np.ndarray:
        samples = int(round(job.frames * AUDIO_RATE / job.fps))
        refs = job.inputs_with_role("reference_audio")
        if refs:
            return _load_audio(refs[0], samples)
        return _synth_audio(job.seed, job.prompt, samples)

    def _encode(
        self,
        job: RenderJob,
        scene: _Scene,
        audio: np.ndarray | None,
        watermark: tuple[Overlay, int, int] | None,
        part_path: Path,
        last_path: Path | None,
        progress: ProgressFn,
        should_stop: StopFn,
    ) -> None:
        container, vstream, astream = open_h264_output(
            part_path, job.width, job.height, job.fps, audio=audio is not None
        )
        time_base = Fraction(1, job.fps)
        audio_pos = 0
        audio_chunk = 1024  # the AAC frame size; feeding whole frames avoids re-buffering
        stop = threading.Event()
        frames_q: queue.Queue[Any] = queue.Queue(maxsize=6)
        producer = threading.Thread(
            target=self._produce,
            args=(job, scene, watermark, last_path, frames_q, stop),
            name=f"preview-frames-{job.task_id}",
            daemon=True,
        )
        producer.start()
        try:
            for index in range(job.frames):
                item = frames_q.get()
                if isinstance(item, BaseException):
                    raise item
                frame = item
                frame.pts = index
                frame.time_base = time_base
                for packet in vstream.encode(frame):
                    container.mux(packet)
                if astream is not None and audio is not None:
                    target = min(audio.size, int((index + 1) * AUDIO_RATE / job.fps))
                    while audio_pos < target:
                        chunk = audio[audio_pos : audio_pos + audio_chunk]
                        for packet in astream.encode(audio_frame(chunk, audio_pos)):
                            container.mux(packet)
                        audio_pos += chunk.size
                if (index + 1) % _POLL_EVERY == 0 and index + 1 < job.frames:
                    if should_stop():
                        raise RenderCancelled(job.task_id)
                    progress(0.99 * (index + 1) / job.frames)
            for packet in vstream.encode(None):
                container.mux(packet)
            if astream is not None:
                for packet in astream.encode(None):
                    container.mux(packet)
        except BaseException:
            stop.set()
            with contextlib.suppress(queue.Empty):
                while True:
                    frames_q.get_nowait()
            producer.join()
            with contextlib.suppress(Exception):
                container.close()
            raise
        producer.join()
        container.close()

    @staticmethod
    def _produce(
        job: RenderJob,
        scene: _Scene,
        watermark: tuple[Overlay, int, int] | None,
        last_path: Path | None,
        frames_q: queue.Queue[Any],
        stop: threading.Event,
    ) -> None:
        def put(item: Any) -> bool:
            while not stop.is_set():
                try:
                    frames_q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for frame in _scene_frames(job, scene, watermark, last_path):
                if stop.is_set() or not put(frame):
                    return
        except BaseException as exc:  # handed to the encoding thread, which re-raises it
            put(exc)


def _scene_frames(
    job: RenderJob, scene: _Scene, watermark: tuple[Overlay, int, int] | None, last_path: Path | None
) -> Iterator[av.VideoFrame]:
    denom = max(1, job.frames - 1)
    label, label_x, label_y = preview_label_overlay(job.width, job.height)
    for index in range(job.frames):
        frame = scene.render(index / denom)
        if last_path is not None and index == job.frames - 1:
            # Saved before the label and the watermark: the last frame is meant to seed the next clip.
            frame.to_image().save(last_path, format="PNG", compress_level=1)
        label.blend(frame_views(frame), label_x, label_y)
        if watermark is not None:
            overlay, x, y = watermark
            overlay.blend(frame_views(frame), x, y)
        yield frame


def iter_scene_frames(job: RenderJob) -> Iterator[av.VideoFrame]:
    """Yield the frames the engine would encode for `job` (label and watermark included), without encoding.

    Used by the benchmark to build the raw-encode ceiling from identical pixels.
    """
    watermark = watermark_overlay(job.width, job.height) if job.watermark else None
    yield from _scene_frames(job, PreviewEngine._build_scene(job), watermark, None)
