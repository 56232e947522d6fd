"""Frame maths between a model's native grid and the catalog's exact output: size, count, rate.

Models render at their own sizes (multiples of the VAE stride times the patch size) and rates (Wan 2.1: 16 fps,
4k+1 frames; LTX: 8k+1 frames); Seedance clients expect the catalog's exact pixels at 24 fps.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image


def native_size(width: int, height: int, max_area: int, multiple: int) -> tuple[int, int]:
    """The model-friendly size with the output's aspect ratio and at most `max_area` pixels (never upscaled)."""
    scale = min(1.0, math.sqrt(max_area / (width * height)))
    w = max(multiple, int(width * scale) // multiple * multiple)
    h = max(multiple, int(height * scale) // multiple * multiple)
    return w, h


def native_frame_count(frames: int, fps: int, native_fps: int, step: int) -> int:
    """Frames the model renders for a clip of frames/fps seconds: step*k+1, the closest to the same duration."""
    seconds = (frames - 1) / fps
    k = max(1, round(seconds * native_fps / step))
    return step * k + 1


def resample(video: np.ndarray, count: int, how: str = "blend") -> np.ndarray:
    """Retime (N, H, W, 3) float frames in [0, 1] to `count` frames spanning the same time, first and last kept."""
    n = video.shape[0]
    if n == count:
        return video
    positions = np.linspace(0.0, n - 1, count)
    # numpy's stubs type fancy indexing and clip as Any; the annotations say what they return.
    out: np.ndarray
    if how == "nearest" or n == 1:
        out = video[np.rint(positions).astype(int)]
        return out
    low = np.floor(positions).astype(int)
    high = np.minimum(low + 1, n - 1)
    weight = (positions - low)[:, None, None, None].astype(video.dtype)
    out = video[low] * (1 - weight) + video[high] * weight
    return out


def to_uint8(frame: np.ndarray) -> np.ndarray:
    out: np.ndarray = (np.clip(frame, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return out


def cover(image: Image.Image, width: int, height: int) -> Image.Image:
    """Scale to cover width x height and crop the centre: the exact geometry without letterboxing."""
    src_w, src_h = image.size
    scale = max(width / src_w, height / src_h)
    new_w, new_h = max(width, round(src_w * scale)), max(height, round(src_h * scale))
    if (new_w, new_h) != (src_w, src_h):
        image = image.resize((new_w, new_h), Image.Resampling.BICUBIC if scale > 1 else Image.Resampling.LANCZOS)
    left, top = (new_w - width) // 2, (new_h - height) // 2
    return image.crop((left, top, left + width, top + height))
