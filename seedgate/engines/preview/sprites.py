"""Sprites: soft shapes (and a drifting light) that float over a scene so consecutive frames differ."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from seedgate.media.overlay import Overlay

from .backdrop import palette
from .geometry import even


@dataclass
class Sprite:
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


def make_sprites(rng: np.random.Generator, width: int, height: int, count: int) -> list[Sprite]:
    """`count` coloured shapes on slow independent orbits."""
    colours = palette(rng, count)
    sprites = []
    for i in range(count):
        size = even(min(width, height) * float(rng.uniform(0.12, 0.24)))
        kind = int(rng.integers(0, 4))
        rgba = _shape_image(kind, size, colours[i], int(rng.integers(170, 235)))
        sprites.append(
            Sprite(
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


def light_sprite(rng: np.random.Generator, w: int, h: int) -> Sprite:
    """A faint warm glow drifting over a still picture, so consecutive frames differ without moving it."""
    size = even(min(w, h) * 0.6)
    return Sprite(
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
