"""Legacy `--rs 720p --dur 5` commands at the end of an Ark prompt. Lenient by contract: bad values are ignored."""

from __future__ import annotations

import re
from typing import Any

_NAMES = {
    "rs": "resolution",
    "resolution": "resolution",
    "rt": "ratio",
    "ratio": "ratio",
    "dur": "duration",
    "duration": "duration",
    "frames": "frames",
    "fps": "fps",
    "framepersecond": "fps",
    "seed": "seed",
    "cf": "camera_fixed",
    "camerafixed": "camera_fixed",
    "wm": "watermark",
    "watermark": "watermark",
}
_COMMAND = re.compile(r"--([A-Za-z]+)\s+(\S+)")
_TRAILER = re.compile(r"(?:\s*--[A-Za-z]+\s+\S+)+\s*$")


def _coerce(name: str, raw: str) -> Any:
    if name in ("duration", "frames", "seed", "fps"):
        return int(raw)
    if name in ("camera_fixed", "watermark"):
        lowered = raw.lower()
        if lowered not in ("true", "false"):
            raise ValueError(raw)
        return lowered == "true"
    return raw


def split_commands(text: str) -> tuple[str, list[tuple[str, Any]]]:
    """Return the prompt without its trailing commands, and the (name, value) commands whose values parse, in order."""
    trailer = _TRAILER.search(text)
    if not trailer:
        return text, []
    options: list[tuple[str, Any]] = []
    for key, raw in _COMMAND.findall(trailer.group(0)):
        name = _NAMES.get(key.lower())
        if name is None:
            continue
        try:
            options.append((name, _coerce(name, raw)))
        except ValueError:
            continue
    return text[: trailer.start()].rstrip(), options
