"""Cheap per-frame compositing in planar YUV: an RGBA picture converted and pre-multiplied once, blended many times."""

from __future__ import annotations

import numpy as np

from .encode import Planes, rgb_to_planes


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
