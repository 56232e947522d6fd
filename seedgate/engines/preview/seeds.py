"""Deterministic randomness: the same job draws the same picture and the same chords on every machine."""

from __future__ import annotations

import hashlib

import numpy as np


def seeded_rng(*parts: object) -> np.random.Generator:
    """A generator seeded by a hash of `parts` (a purpose word, the job's seed, its prompt ...)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8", "surrogatepass")).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))
