"""Which engines this process can run. The catalog names an engine per model; workers claim only those."""

from __future__ import annotations

from .base import Engine


def build_engines(names: tuple[str, ...]) -> dict[str, Engine]:
    engines: dict[str, Engine] = {}
    for name in names:
        if name == "preview":
            from .preview import PreviewEngine

            engines[name] = PreviewEngine()
        else:
            raise ValueError(f"unknown engine {name!r}; this build has: preview")
    return engines
