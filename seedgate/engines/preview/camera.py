"""Camera moves: an eased window travelling over a pre-fitted plate, resampled to the output size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import av
from av.video.reformatter import Interpolation, VideoReformatter

from seedgate.media.encode import Planes, frame_views, new_yuv_frame, planes_to_frame

from .geometry import even, even_offset

# Resampling for camera moves. FAST_BILINEAR is ~10% cheaper but keeps more aliasing/grain, which the
# encoder then pays for (+15% file size on grainy photos), so the net gain is nil.
_CAMERA_INTERP = Interpolation.BILINEAR


@dataclass(frozen=True)
class View:
    zoom: float  # 1.0 shows the whole plate, plate_w / out_w shows plate pixels 1:1
    cx: float  # centre of the view, as a fraction of the plate size
    cy: float


def ease(t: float) -> float:
    """Smoothstep: moves start and end at rest."""
    t = min(max(t, 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


class Camera:
    """Crops a moving window out of a plate and resamples it to the output size with swscale."""

    def __init__(self, plate: Planes, out_w: int, out_h: int, start: View, end: View) -> None:
        self.plate = plate
        self.out_w, self.out_h = out_w, out_h
        self.start, self.end = start, end
        self._reformatter = VideoReformatter()

    def render(self, t: float) -> av.VideoFrame:
        e = ease(t)
        zoom = self.start.zoom + (self.end.zoom - self.start.zoom) * e
        cx = self.start.cx + (self.end.cx - self.start.cx) * e
        cy = self.start.cy + (self.end.cy - self.start.cy) * e
        ph, pw = self.plate.y.shape
        cw = min(pw, even(pw / zoom))
        ch = min(ph, even(ph / zoom))
        if abs(cw - self.out_w) <= 2 and abs(ch - self.out_h) <= 2:
            cw, ch = self.out_w, self.out_h  # 1:1 window: skip the resample
        x0 = even_offset(cx * pw - cw / 2, pw - cw)
        y0 = even_offset(cy * ph - ch / 2, ph - ch)
        crop = new_yuv_frame(cw, ch)
        dst = frame_views(crop)
        dst.y[...] = self.plate.y[y0 : y0 + ch, x0 : x0 + cw]
        dst.u[...] = self.plate.u[y0 // 2 : (y0 + ch) // 2, x0 // 2 : (x0 + cw) // 2]
        dst.v[...] = self.plate.v[y0 // 2 : (y0 + ch) // 2, x0 // 2 : (x0 + cw) // 2]
        if (cw, ch) == (self.out_w, self.out_h):
            return crop
        # One swscale thread: the encoder already keeps the cores busy.
        return self._reformatter.reformat(crop, self.out_w, self.out_h, interpolation=_CAMERA_INTERP, threads=1)


def static_camera(plate: Planes) -> Callable[[float], av.VideoFrame]:
    """A camera that never moves: a fresh copy of the plate for every t."""
    return lambda _t: planes_to_frame(plate)
