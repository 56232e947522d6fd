"""Even-size arithmetic: yuv420p halves chroma in both directions, so sizes and offsets stay even."""

from __future__ import annotations


def even(value: float) -> int:
    """Nearest even size, at least 2 (yuv420p needs even geometry)."""
    return max(2, int(round(value / 2.0)) * 2)


def even_offset(value: float, limit: int) -> int:
    """Even offset clamped to [0, limit]; even so that chroma offsets are exact halves."""
    return min(max(int(value) // 2 * 2, 0), limit)


def with_margin(width: int, height: int, margin: float) -> tuple[int, int]:
    """The plate size for a camera that needs room to move: the output grown by `margin`, kept even."""
    return even(width * margin), even(height * margin)
