"""Output geometry: which ratio `adaptive` becomes, and how many frames a duration means."""

from __future__ import annotations

import math
import re

from .catalog import RATIOS

FPS = 24
FRAMES_MIN, FRAMES_MAX = 29, 289
# Words in a prompt that say which way up the picture is; `adaptive` text-to-video follows them.
_PROMPT_RATIO_HINTS = (
    (re.compile(r"vertical|portrait|竖屏|竖版|9:16", re.I), "9:16"),
    (re.compile(r"square|方形|1:1", re.I), "1:1"),
    (re.compile(r"cinemascope|ultra[- ]?wide|超宽|21:9", re.I), "21:9"),
    (re.compile(r"4:3", re.I), "4:3"),
    (re.compile(r"3:4", re.I), "3:4"),
)


def ratio_value(ratio: str) -> float:
    w, h = ratio.split(":")
    return int(w) / int(h)


def nearest_ratio(width: int, height: int, allowed: tuple[str, ...] = RATIOS) -> str:
    """The supported ratio closest to an image's, compared on a log scale so 2:1 and 1:2 are equally far from 1:1."""
    target = math.log(width / height)
    return min((r for r in allowed if r != "adaptive"), key=lambda r: abs(math.log(ratio_value(r)) - target))


def ratio_from_prompt(prompt: str, default: str = "16:9") -> str:
    for pattern, ratio in _PROMPT_RATIO_HINTS:
        if pattern.search(prompt):
            return ratio
    return default


def frames_for_duration(seconds: int) -> int:
    """Seedance writes 24*d + 1 frames (the 25+4n grid); usage tokens confirm it (108900 for 720p 5 s)."""
    return FPS * seconds + 1


def duration_for_frames(frames: int) -> int:
    return frames // FPS


def valid_frames(frames: int) -> bool:
    return FRAMES_MIN <= frames <= FRAMES_MAX and (frames - 25) % 4 == 0
