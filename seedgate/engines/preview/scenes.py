"""The four scenes, one per mode: the prompt over a moving backdrop, the first frame under a Ken Burns camera, a
cross-fade from the first frame to the last, and a grid of the references (video tiles playing)."""

from __future__ import annotations

import math
from collections.abc import Callable

import av
import numpy as np
from PIL import ImageFilter

from seedgate.engines.base import MediaInput, RenderFailed, RenderJob
from seedgate.media.encode import Planes, frame_views, rgb_to_planes
from seedgate.media.overlay import Overlay

from .backdrop import gradient_scene
from .camera import Camera, View, ease, static_camera
from .geometry import even, even_offset, with_margin
from .inputs import load_image, load_video_tiles
from .seeds import seeded_rng
from .sprites import Sprite, light_sprite, make_sprites
from .text import caption_overlay

# Memory allowed for decoded reference-video frames, shared by all video tiles.
_VIDEO_TILE_BUDGET = 96 * 1024 * 1024


def build_scene(job: RenderJob) -> Scene:
    """The scene for the job's mode (the mode is already validated)."""
    if job.mode == "first_frame":
        return _first_frame_scene(job)
    if job.mode == "first_last_frame":
        return _first_last_scene(job)
    if job.mode == "reference":
        return _reference_scene(job)
    return _text_scene(job)


class Scene:
    """A base picture for a time t in [0, 1] (a fresh yuv420p frame), with sprites and overlays blended on top."""

    def __init__(self, base: Callable[[float], av.VideoFrame]) -> None:
        self.base = base
        self.sprites: list[Sprite] = []
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


def _text_scene(job: RenderJob) -> Scene:
    w, h = job.width, job.height
    rng = seeded_rng("text", job.seed, job.prompt)
    if job.camera_fixed:
        plate = rgb_to_planes(gradient_scene(rng, w, h))
        scene = Scene(static_camera(plate))
    else:
        # A pure pan: on a backdrop this soft a zoom reads the same, and a window of exactly the output
        # size is a plain copy instead of a per-frame resample.
        pw, ph = with_margin(w, h, 1.16)
        plate = rgb_to_planes(gradient_scene(rng, pw, ph))
        dx = float(rng.uniform(0.03, 0.07)) * (1 if rng.random() < 0.5 else -1)
        dy = float(rng.uniform(0.0, 0.05)) * (1 if rng.random() < 0.5 else -1)
        zoom = pw / w
        start, end = View(zoom, 0.5 - dx, 0.5 - dy), View(zoom, 0.5 + dx, 0.5 + dy)
        scene = Scene(Camera(plate, w, h, start, end).render)
    scene.sprites = make_sprites(rng, w, h, count=int(rng.integers(3, 6)))
    caption = caption_overlay(job.prompt, w, h)
    if caption:
        scene.overlays.append(caption)
    return scene


def _ken_burns_views(rng: np.random.Generator, max_zoom: float) -> tuple[View, View]:
    # Always start on the full picture so frame 0 matches the caller's first frame.
    focus_x, focus_y = float(rng.uniform(0.35, 0.65)), float(rng.uniform(0.35, 0.65))
    return View(1.0, 0.5, 0.5), View(max_zoom, focus_x, focus_y)


def _first_frame_scene(job: RenderJob) -> Scene:
    w, h = job.width, job.height
    item = _require(job, "first_frame")
    rng = seeded_rng("first_frame", job.seed)
    if job.camera_fixed:
        plate = rgb_to_planes(load_image(item, w, h))
        scene = Scene(static_camera(plate))
        # A drifting soft light keeps consecutive frames distinct without moving the picture.
        scene.sprites = [light_sprite(rng, w, h)]
        return scene
    pw, ph = with_margin(w, h, 1.15)
    plate = rgb_to_planes(load_image(item, pw, ph))
    start, end = _ken_burns_views(rng, pw / w)
    return Scene(Camera(plate, w, h, start, end).render)


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


def _first_last_scene(job: RenderJob) -> Scene:
    w, h = job.width, job.height
    first, last = _require(job, "first_frame"), _require(job, "last_frame")
    rng = seeded_rng("first_last_frame", job.seed)
    if job.camera_fixed:
        pw, ph = w, h
    else:
        pw, ph = with_margin(w, h, 1.1)
    plate_a = rgb_to_planes(load_image(first, pw, ph))
    plate_b = rgb_to_planes(load_image(last, pw, ph))
    zoom = pw / w
    cam_a = Camera(plate_a, w, h, View(1.0, 0.5, 0.5), View(zoom, *rng.uniform(0.4, 0.6, 2)))
    cam_b = Camera(plate_b, w, h, View(zoom, *rng.uniform(0.4, 0.6, 2)), View(1.0, 0.5, 0.5))

    def base(t: float) -> av.VideoFrame:
        # Hold each end briefly so the first/last frames are exactly the inputs.
        weight = ease((t - 0.15) / 0.7)
        if weight >= 1.0:
            return cam_b.render(t)
        frame = cam_a.render(t)
        if weight > 0.0:
            _blend_into(frame_views(frame), frame_views(cam_b.render(t)), weight)
        return frame

    return Scene(base)


def _reference_scene(job: RenderJob) -> Scene:
    w, h = job.width, job.height
    items = [i for i in job.inputs if i.role in ("reference_image", "reference_video")]
    if not items:
        # Reference mode with only audio references: nothing to show but the prompt.
        return _text_scene(job)
    rng = seeded_rng("reference", job.seed)
    if job.camera_fixed:
        pw, ph = w, h
    else:
        pw, ph = with_margin(w, h, 1.1)
    while True:
        n = len(items)
        cols = math.ceil(math.sqrt(n))
        rows = math.ceil(n / cols)
        if h > w:
            cols, rows = rows, cols
        gap = even(min(pw, ph) * 0.015) if n > 1 else 0
        tile_w = (pw - gap * (cols + 1)) // cols // 2 * 2
        tile_h = (ph - gap * (rows + 1)) // rows // 2 * 2
        if n == 1 or min(tile_w, tile_h) >= 16:
            break
        # Tiny outputs cannot hold a grid; show as many references as fit.
        items = items[: n - 1]
    canvas = np.asarray(gradient_scene(rng, pw, ph).filter(ImageFilter.BoxBlur(2))).copy()
    canvas = (canvas * 0.35).astype(np.uint8)  # dim backdrop so the references stand out
    plate = rgb_to_planes(canvas)
    duration = job.frames / job.fps
    videos: list[tuple[int, int, list[Planes]]] = []
    for idx, item in enumerate(items):
        r, c = divmod(idx, cols)
        in_row = min(cols, n - r * cols)
        row_offset = (cols - in_row) * (tile_w + gap) // 2
        x = even_offset(gap + c * (tile_w + gap) + row_offset, pw) if n > 1 else 0
        y = even_offset(gap + r * (tile_h + gap), ph) if n > 1 else 0
        tw, th = (tile_w, tile_h) if n > 1 else (pw, ph)
        if item.role == "reference_image":
            tile = rgb_to_planes(load_image(item, tw, th))
            _paste(plate, tile, x, y)
        else:
            sample_fps = min(12.0, float(job.fps))
            # Bounded by count and by memory: a full-frame 1080p tile is ~3.7 MB per sampled frame.
            budget = _VIDEO_TILE_BUDGET // max(1, len(items)) // (tw * th * 3 // 2)
            max_frames = max(1, min(48, budget, int(math.ceil(duration * sample_fps))))
            tiles = load_video_tiles(item, tw, th, max_frames, sample_fps)
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
        scene = Scene(static_camera(plate))
        scene.sprites = [light_sprite(rng, w, h)]
    else:
        start, end = _ken_burns_views(rng, pw / w)
        scene = Scene(Camera(plate, w, h, start, end).render)
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
