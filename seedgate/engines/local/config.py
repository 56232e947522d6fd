"""The operator's local-models file (SEEDGATE_LOCAL_MODELS): which weights serve which catalog model and mode.

Example (docs/local-models.md has the full reference):

    [defaults]
    device = "cuda"
    dtype = "bfloat16"
    attention = "_native_cudnn"

    [[pipeline]]
    name = "wan-1.3b"
    family = "wan-t2v"
    path = "/models/Wan2.1-T2V-1.3B-Diffusers"
    serves = { "wan2.1-t2v-1.3b" = ["text"] }
    price = { currency = "USD", per_second = { "480p" = 0.01, "720p" = 0.03 } }  # optional; default free
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from seedgate.core.price import Price, PriceError, parse_price

from .families import Family, family

OFFLOAD = ("none", "model", "sequential", "group")
DTYPES = ("bfloat16", "float16", "float32")
INTERPOLATION = ("blend", "nearest")


class LocalModelsError(ValueError):
    """The local-models file is wrong or names weights that are not there (reported at start)."""


@dataclass(frozen=True)
class PipelineConfig:
    name: str
    family: str
    path: Path
    serves: dict[str, tuple[str, ...]]  # catalog model id -> seedgate modes
    device: str = "auto"  # auto: cuda when available, else cpu
    dtype: str = "bfloat16"
    attention: str = ""  # a diffusers attention backend name; "" keeps the pipeline's default (SDPA)
    compile: bool = False
    compile_mode: str = "default"
    offload: str = "none"
    vae_tiling: bool = False
    steps: int | None = None  # None: the family's default
    guidance: float | None = None
    guidance_2: float | None = None  # Wan 2.2 MoE low-noise expert
    flow_shift: float | None = None
    negative_prompt: str | None = None
    native_fps: int | None = None
    max_area: int = 832 * 480  # native render area in pixels; the output is then resized to the catalog size
    interpolation: str = "blend"  # how native frames become 24 fps frames
    batched_cfg: bool = False  # one transformer call for both guidance halves (Wan families; LTX always batches)
    cache: dict[str, Any] = field(default_factory=dict)  # e.g. {kind = "first_block", threshold = 0.05}
    camera_fixed_hint: str = "static shot, fixed camera, no camera movement"
    # What a task on this pipeline costs (docs/pricing.md); None: the catalog's price (free for shipped local models).
    price: Price | None = None

    @property
    def spec(self) -> Family:
        return family(self.family)

    @property
    def fps(self) -> int:
        return self.native_fps or self.spec.native_fps

    @property
    def num_steps(self) -> int:
        return self.steps or self.spec.steps

    @property
    def guidance_scale(self) -> float:
        return self.spec.guidance if self.guidance is None else self.guidance

    @property
    def negative(self) -> str:
        return self.spec.negative_prompt if self.negative_prompt is None else self.negative_prompt


@dataclass(frozen=True)
class LocalModels:
    pipelines: tuple[PipelineConfig, ...]
    source: Path | None = None

    def find(self, model_id: str, mode: str) -> PipelineConfig | None:
        return next((p for p in self.pipelines if mode in p.serves.get(model_id, ())), None)

    def price_for(self, model_id: str) -> Price | None:
        """The price the pipelines serving a model set (parse_local_models made sure they agree)."""
        return next((p.price for p in self.pipelines if model_id in p.serves and p.price is not None), None)

    def modes_for(self, model_id: str) -> tuple[str, ...]:
        modes: list[str] = []
        for p in self.pipelines:
            modes += [m for m in p.serves.get(model_id, ()) if m not in modes]
        return tuple(modes)


_KNOWN = {f.name for f in fields(PipelineConfig)}


def _pipeline(raw: dict[str, Any], defaults: dict[str, Any], base: Path) -> PipelineConfig:
    merged = {**defaults, **raw}
    name = str(merged.get("name") or merged.get("family") or "?")
    where = f"pipeline {name!r}"
    unknown = set(merged) - _KNOWN
    if unknown:
        raise LocalModelsError(f"{where}: unknown settings {sorted(unknown)}")
    for key in ("family", "path", "serves"):
        if key not in merged:
            raise LocalModelsError(f"{where} lacks {key!r}")
    try:
        spec = family(merged["family"])
    except ValueError as exc:
        raise LocalModelsError(f"{where}: {exc}") from None
    serves = merged["serves"]
    if not isinstance(serves, dict) or not serves:
        raise LocalModelsError(f"{where}: serves must map catalog model ids to lists of modes")
    for model_id, modes in serves.items():
        bad = [m for m in modes if m not in spec.modes]
        if bad:
            raise LocalModelsError(
                f"{where}: family {spec.name} cannot render {bad} for {model_id!r}; it renders {', '.join(spec.modes)}"
            )
    path = Path(merged["path"]).expanduser()
    checks = {"offload": OFFLOAD, "dtype": DTYPES, "interpolation": INTERPOLATION}
    for key, allowed in checks.items():
        if key in merged and merged[key] not in allowed:
            raise LocalModelsError(f"{where}: {key} must be one of {', '.join(allowed)}")
    try:
        price = parse_price(merged["price"]) if "price" in merged else None
    except PriceError as exc:
        raise LocalModelsError(f"{where}: {exc}") from None
    merged.update(
        name=name,
        path=path if path.is_absolute() else base / path,
        serves={k: tuple(v) for k, v in serves.items()},
        price=price,
    )
    return PipelineConfig(**merged)


def parse_local_models(text: str, base: Path, source: Path | None = None) -> LocalModels:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LocalModelsError(f"cannot parse the local-models file {source}: {exc}") from None
    defaults = data.get("defaults", {})
    pipelines = tuple(_pipeline(raw, defaults, base) for raw in data.get("pipeline", []))
    names = [p.name for p in pipelines]
    if len(set(names)) != len(names):
        raise LocalModelsError(f"pipeline names must be unique, got {names}")
    _check_prices(pipelines)
    return LocalModels(pipelines, source)


def _check_prices(pipelines: tuple[PipelineConfig, ...]) -> None:
    """A model has one price: pipelines serving the same model (for different modes) must not disagree."""
    seen: dict[str, PipelineConfig] = {}
    for pipeline in pipelines:
        if pipeline.price is None:
            continue
        for model_id in pipeline.serves:
            other = seen.setdefault(model_id, pipeline)
            if other.price != pipeline.price:
                raise LocalModelsError(
                    f"pipelines {other.name!r} and {pipeline.name!r} both serve {model_id!r} at different prices; "
                    "a model has one price"
                )


def load_local_models(path: Path) -> LocalModels:
    """Read and check the file; relative weight paths are relative to the file's folder."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise LocalModelsError(f"cannot read the local-models file {path}: {exc}") from None
    return parse_local_models(text, path.resolve().parent, path)
