"""Which engines this process can run. The catalog names an engine per model; workers claim only those."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Engine

if TYPE_CHECKING:
    from .local.config import LocalModels

ENGINE_NAMES = ("preview", "diffusers")


def build_engines(names: tuple[str, ...], local_models: LocalModels | None = None) -> dict[str, Engine]:
    """Build (and, for `diffusers`, load the weights of) each named engine; errors here stop the process at start."""
    engines: dict[str, Engine] = {}
    for name in names:
        if name == "preview":
            from .preview import PreviewEngine

            engines[name] = PreviewEngine()
        elif name == "diffusers":
            if local_models is None:
                raise ValueError("the diffusers engine needs a local-models file (SEEDGATE_LOCAL_MODELS)")
            # Imported here: torch and diffusers are the optional `gpu` extra.
            try:
                from .local.engine import DiffusersEngine
            except ImportError as exc:
                hint = "pip install 'seedgate[gpu]'"
                raise ValueError(f"the diffusers engine needs the gpu extra ({hint}): {exc}") from exc

            engines[name] = DiffusersEngine(local_models)
        else:
            raise ValueError(f"unknown engine {name!r}; this build has: {', '.join(ENGINE_NAMES)}")
    return engines
