"""Usage tokens as the vendors bill them: width x height x frames / 1024."""

from __future__ import annotations

from .geometry import FPS
from .plan import TaskPlan

DRAFT_AUDIO_FACTOR = 0.6


def completion_tokens(spec: TaskPlan) -> int:
    frames = spec.frame_count
    # Seedance 2.x bills the seconds of reference video on top of the output.
    frames += round(sum(m.seconds or 0 for m in spec.media_of("video")) * FPS)
    tokens = spec.width * spec.height * frames // 1024
    if spec.draft and spec.generate_audio:
        tokens = int(tokens * DRAFT_AUDIO_FACTOR)
    return tokens


def usage(spec: TaskPlan) -> dict[str, int]:
    tokens = completion_tokens(spec)
    return {"completion_tokens": tokens, "total_tokens": tokens}
