"""The "AI Generated" mark every engine stamps on a video when the request asks for a watermark, so every engine's
files look alike to clients; and the shadowed text it is drawn with, which the preview engine's own label reuses."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .overlay import Overlay


def label_overlay(text: str, size: int, opacity: float) -> Overlay:
    """White ASCII text over a soft dark shadow, readable on any background, in Pillow's default font."""
    # A face of its own: a FreeType face must not be shared between threads, and callers cache the overlay anyway.
    font = ImageFont.load_default(size=size)
    w = int(font.getlength(text)) + size
    h = int(size * 1.6)
    # Transparent pixels are black like the shadow, so chroma subsampling cannot tint the edges.
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    ImageDraw.Draw(layer).text((size // 2 + 1, size // 4 + 1), text, font=font, fill=(0, 0, 0, 200))
    layer = layer.filter(ImageFilter.GaussianBlur(max(1, size // 12)))
    ImageDraw.Draw(layer).text((size // 2, size // 4), text, font=font, fill=(255, 255, 255, 255))
    return Overlay(np.asarray(layer), opacity=opacity)


@lru_cache(maxsize=8)
def watermark_overlay(width: int, height: int) -> tuple[Overlay, int, int]:
    """The "AI Generated" mark, anchored in the bottom-right corner (read-only, so cached per size)."""
    size = max(10, min(width, height) // 22)
    overlay = label_overlay("AI Generated", size, opacity=0.85)
    margin = max(4, min(width, height) // 40)
    return overlay, width - overlay.width - margin, height - overlay.height - margin
