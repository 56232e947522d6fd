"""The soft gradient backdrop the text scene (and the reference grid) is drawn on, and its seeded colours."""

from __future__ import annotations

import colorsys
import math

import numpy as np
from PIL import Image


def palette(rng: np.random.Generator, n: int) -> list[tuple[int, int, int]]:
    """`n` related RGB colours: neighbouring hues, mid saturation, bright enough for white text on top."""
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


def gradient_scene(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A soft multi-colour backdrop; computed at quarter size since it has no detail to lose."""
    qw, qh = max(8, width // 4), max(8, height // 4)
    c1, c2, c3, c4 = (np.array(c, dtype=np.float32) for c in palette(rng, 4))
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
