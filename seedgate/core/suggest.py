"""A "did you mean" for names people get nearly right (model IDs without their date, dots for dashes)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def _normal(name: str) -> str:
    return name.strip().lower().replace(".", "-").replace("_", "-")


def did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    """The known name closest to `name`, or None when none is close.

    A known name that starts with the typed one (`doubao-seedance-1-0-pr` -> `doubao-seedance-1-0-pro`, after
    dots become dashes) wins over a merely similar one; among several, the most similar.
    """
    by_normal: dict[str, str] = {}
    for choice in sorted(choices):
        by_normal.setdefault(_normal(choice), choice)
    typed = _normal(name)
    if not typed:
        return None
    if typed in by_normal:
        return by_normal[typed]
    extended = [n for n in by_normal if n.startswith(typed + "-")]
    pool = extended or list(by_normal)
    close = difflib.get_close_matches(typed, pool, n=1, cutoff=0.0 if extended else 0.75)
    return by_normal[close[0]] if close else None
