"""The model catalog: per-model rules and prices loaded from TOML data (shipped file plus an operator's file)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .price import Price, PriceError, check_covers, parse_price

MODES = ("text", "first_frame", "first_last_frame", "reference")
RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9")


class CatalogError(ValueError):
    """The catalog file itself is wrong (an operator's mistake, reported at start)."""


@dataclass(frozen=True)
class DurationRule:
    min: int
    max: int
    default: int  # -1 means "the model chooses"
    auto: bool  # whether -1 is accepted
    values: tuple[int, ...] = ()  # when set, only these lengths within [min, max] are accepted


@dataclass(frozen=True)
class ReferenceRule:
    images: tuple[int, int] = (0, 0)
    videos: tuple[int, int] = (0, 0)
    audios: tuple[int, int] = (0, 0)
    audio_alone: bool = False
    video_seconds_total: float = 15.0


@dataclass(frozen=True)
class TaskTypeRule:
    """What an explicit `omni_reference_task_type` requires (2.5's edit and extend); unset parts add no rule."""

    videos: tuple[int, int] | None = None  # [min, max] reference videos
    ratio: str | None = None  # the only ratio accepted, applied when the request has none
    duration: int | None = None  # the only duration accepted (-1: the model chooses), applied when absent
    video_seconds: tuple[float, float] | None = None  # [min, max] length of each reference video


@dataclass(frozen=True)
class ModelProfile:
    id: str
    name: str
    family: str
    engine: str
    modes: tuple[str, ...]
    resolutions: tuple[str, ...]
    default_resolution: str
    ratios: tuple[str, ...]
    default_ratio: dict[str, str]
    adaptive_modes: tuple[str, ...]
    duration: DurationRule
    frames: bool
    reference: ReferenceRule
    audio: bool
    draft: bool
    flex: bool
    priority: bool
    camera_fixed: bool
    tools: bool
    output_formats: tuple[str, ...]
    task_types: dict[str, TaskTypeRule]  # accepted omni_reference_task_type values and their rules; {}: none
    prompt_max_chars: int
    aliases: tuple[str, ...] = ()
    assets_only: bool = False  # every media item must be an asset:// reference (jimmyai's Manxue line)
    mode_resolutions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The wire dialect this model's clients speak: on a shared route (`POST /v1/videos`) a body naming a model of
    # a vendor's own line is read in that vendor's dialect when its fields leave it open. None: no preference.
    dialect: str | None = None
    # Modes this server can render now, when narrower than `modes` (a local engine with some weights installed).
    served_modes: tuple[str, ...] | None = None
    # A vendor line's own asset pool: an asset made for another line (tagged at upload) is refused on this one
    # (MoonApiX's `-cl` vs `-kz` assets, jimmyai's SP library). None: any of the caller's assets.
    asset_pool: str | None = None
    # Every media item must be a URL to fetch: no asset:// references (MoonApiX `-wc-720p`, jimmyai MD).
    urls_only: bool = False
    # What a task costs (core/price.py); None: unpriced, and a quote says so.
    price: Price | None = None

    def resolutions_for(self, mode: str) -> tuple[str, ...]:
        return self.mode_resolutions.get(mode, self.resolutions)

    def summary(self) -> dict[str, Any]:
        """What a client needs to know to build a valid request (served by `GET /v1/models` and the CLI)."""
        return {
            "id": self.id,
            "name": self.name,
            "aliases": list(self.aliases),
            "engine": self.engine,
            "modes": list(self.modes if self.served_modes is None else self.served_modes),
            "resolutions": list(self.resolutions),
            "default_resolution": self.default_resolution,
            "ratios": list(self.ratios),
            # Per-mode narrowing, so a form can mirror validation exactly (adaptive ratio, resolutions).
            "adaptive_modes": list(self.adaptive_modes),
            "mode_resolutions": {mode: list(res) for mode, res in self.mode_resolutions.items()},
            "assets_only": self.assets_only,
            "duration": {
                "min": self.duration.min,
                "max": self.duration.max,
                "default": self.duration.default,
                "auto": self.duration.auto,
                "values": list(self.duration.values),
            },
            "frames": self.frames,
            "reference": {
                "images": list(self.reference.images),
                "videos": list(self.reference.videos),
                "audios": list(self.reference.audios),
                "audio_alone": self.reference.audio_alone,
            },
            "audio": self.audio,
            "draft": self.draft,
            "flex": self.flex,
            "priority": self.priority,
            "prompt_max_chars": self.prompt_max_chars,
            "task_types": {name: _rule_summary(rule) for name, rule in self.task_types.items()},
            "dialect": self.dialect,
            "asset_pool": self.asset_pool,
            "urls_only": self.urls_only,
            "price": self.price.summary() if self.price is not None else None,
        }


def _rule_summary(rule: TaskTypeRule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "videos": rule.videos,
        "ratio": rule.ratio,
        "duration": rule.duration,
        "video_seconds": rule.video_seconds,
    }
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items() if v is not None}


TASK_TYPES = ("auto", "reference", "edit", "extend")
_RULE_KEYS = {"videos", "ratio", "duration", "video_seconds"}


def _task_types(raw: Any, where: str) -> dict[str, TaskTypeRule]:
    """`task_types = true` (every type, no rules), false / absent (none), or a table of type -> rule."""
    if raw is True:
        return {name: TaskTypeRule() for name in TASK_TYPES}
    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: task_types must be a boolean or a table")
    rules = {}
    for name, rule in raw.items():
        if name not in TASK_TYPES or not isinstance(rule, dict) or set(rule) - _RULE_KEYS:
            raise CatalogError(
                f"{where}: task_types.{name} must be one of {', '.join(TASK_TYPES)} with keys among "
                f"{', '.join(sorted(_RULE_KEYS))}"
            )
        videos, seconds = rule.get("videos"), rule.get("video_seconds")
        rules[name] = TaskTypeRule(
            videos=(int(videos[0]), int(videos[1])) if videos else None,
            ratio=rule.get("ratio"),
            duration=int(rule["duration"]) if "duration" in rule else None,
            video_seconds=(float(seconds[0]), float(seconds[1])) if seconds else None,
        )
    return rules


Geometry = dict[str, dict[str, dict[str, tuple[int, int]]]]  # family -> resolution -> ratio -> (w, h)


@dataclass
class Catalog:
    models: dict[str, ModelProfile]
    geometry: Geometry
    aliases: dict[str, str]  # alias (incl. the id itself) -> model id

    def find(self, name: str) -> ModelProfile | None:
        model_id = self.aliases.get(name)
        return self.models[model_id] if model_id else None

    def size(self, family: str, resolution: str, ratio: str) -> tuple[int, int]:
        return self.geometry[family][resolution][ratio]


def _price(raw: dict[str, Any]) -> Price | None:
    if "price" not in raw:
        return None
    try:
        return parse_price(raw["price"])
    except PriceError as exc:
        raise CatalogError(f"model {raw['id']!r}: {exc}") from None


def _profile(raw: dict[str, Any]) -> ModelProfile:
    try:
        duration = raw["duration"]
        ref = raw.get("reference", {})
        return ModelProfile(
            id=raw["id"],
            name=raw.get("name", raw["id"]),
            family=raw["family"],
            engine=raw.get("engine", "preview"),
            modes=tuple(raw["modes"]),
            resolutions=tuple(raw["resolutions"]),
            default_resolution=raw["default_resolution"],
            ratios=tuple(raw["ratios"]),
            default_ratio=dict(raw["default_ratio"]),
            adaptive_modes=tuple(raw.get("adaptive_modes", ())),
            duration=DurationRule(
                int(duration["min"]),
                int(duration["max"]),
                int(duration["default"]),
                bool(duration.get("auto", False)),
                tuple(int(v) for v in duration.get("values", ())),
            ),
            frames=bool(raw.get("frames", False)),
            reference=ReferenceRule(
                images=tuple(ref.get("images", (0, 0))),
                videos=tuple(ref.get("videos", (0, 0))),
                audios=tuple(ref.get("audios", (0, 0))),
                audio_alone=bool(ref.get("audio_alone", False)),
                video_seconds_total=float(ref.get("video_seconds_total", 15)),
            ),
            audio=bool(raw.get("audio", False)),
            draft=bool(raw.get("draft", False)),
            flex=bool(raw.get("flex", False)),
            priority=bool(raw.get("priority", False)),
            camera_fixed=bool(raw.get("camera_fixed", False)),
            tools=bool(raw.get("tools", False)),
            output_formats=tuple(raw.get("output_formats", ("mp4",))),
            task_types=_task_types(raw.get("task_types", False), f"model {raw.get('id', '?')!r}"),
            prompt_max_chars=int(raw.get("prompt_max_chars", 3000)),
            aliases=tuple(raw.get("aliases", ())),
            assets_only=bool(raw.get("assets_only", False)),
            mode_resolutions={k: tuple(v) for k, v in raw.get("mode_resolutions", {}).items()},
            dialect=raw.get("dialect"),
            asset_pool=raw.get("asset_pool"),
            urls_only=bool(raw.get("urls_only", False)),
            price=_price(raw),
        )
    except KeyError as exc:
        raise CatalogError(f"model {raw.get('id', '?')!r} lacks {exc.args[0]!r}") from None


def _check(profile: ModelProfile, geometry: Geometry) -> None:
    where = f"model {profile.id!r}"
    unknown_modes = set(profile.modes) - set(MODES)
    if unknown_modes:
        raise CatalogError(f"{where}: unknown modes {sorted(unknown_modes)}")
    if profile.family not in geometry:
        raise CatalogError(f"{where}: no geometry for family {profile.family!r}")
    for res in profile.resolutions:
        if res not in geometry[profile.family]:
            raise CatalogError(f"{where}: family {profile.family!r} has no {res!r} sizes")
    if profile.default_resolution not in profile.resolutions:
        raise CatalogError(f"{where}: default_resolution not among resolutions")
    dur = profile.duration
    if any(not dur.min <= v <= dur.max for v in dur.values):
        raise CatalogError(f"{where}: duration values {list(dur.values)} must lie in [{dur.min}, {dur.max}]")
    if dur.values and dur.default != -1 and dur.default not in dur.values:
        raise CatalogError(f"{where}: the default duration {dur.default} is not among its values")
    for name, rule in profile.task_types.items():
        if rule.ratio is not None and rule.ratio not in profile.ratios:
            raise CatalogError(f"{where}: task_types.{name}.ratio {rule.ratio!r} is not among its ratios")
        if rule.duration is not None and rule.duration == -1 and not dur.auto:
            raise CatalogError(f"{where}: task_types.{name}.duration is -1 but the model does not choose lengths")
    if profile.dialect is not None and not isinstance(profile.dialect, str):
        raise CatalogError(f"{where}: dialect must be a string")
    if profile.asset_pool is not None and not isinstance(profile.asset_pool, str):
        raise CatalogError(f"{where}: asset_pool must be a string")
    if profile.price is not None:
        try:
            check_covers(profile.price, profile.resolutions)
        except PriceError as exc:
            raise CatalogError(f"{where}: {exc}") from None


def _resolve_extends(raw_models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id: dict[str, dict[str, Any]] = {}
    for raw in raw_models:
        if "id" not in raw:
            raise CatalogError("a [[model]] entry lacks 'id'")
        parent_id = raw.get("extends")
        if parent_id:
            if parent_id not in by_id:
                raise CatalogError(f"model {raw['id']!r} extends unknown or later model {parent_id!r}")
            # A model that extends its own id patches the earlier entry (name and aliases kept); any other child
            # takes everything but those two from its parent.
            keep = parent_id == raw["id"]
            parent = {k: v for k, v in by_id[parent_id].items() if keep or k not in ("aliases", "name")}
            raw = {**parent, **raw}
        by_id[raw["id"]] = raw
    return list(by_id.values())


def _override_prices(raw_models: list[dict[str, Any]], prices: dict[str, Any]) -> list[dict[str, Any]]:
    """Apply `[prices."model-id"]` tables: the price of that model, and of the models that extend it without a
    price of their own (applied before `extends` is resolved, so they inherit it)."""
    known = {raw.get("id") for raw in raw_models}
    unknown = sorted(set(prices) - known)
    if unknown:
        raise CatalogError(f"prices names unknown model ids {unknown} (name a [[model]] id, not an alias)")
    return [{**raw, "price": prices[raw["id"]]} if raw.get("id") in prices else raw for raw in raw_models]


def load_catalog(extra: Path | None = None) -> Catalog:
    """The shipped catalog, with an operator's file (models, aliases, geometry) layered on top."""
    shipped = tomllib.loads(resources.files("seedgate.catalog").joinpath("models.toml").read_text("utf-8"))
    layers = [shipped]
    if extra is not None:
        try:
            layers.append(tomllib.loads(extra.read_text("utf-8")))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise CatalogError(f"cannot read catalog {extra}: {exc}") from None

    geometry: Geometry = {}
    raw_models: list[dict[str, Any]] = []
    alias_map: dict[str, str] = {}
    prices: dict[str, Any] = {}
    for layer in layers:
        for family, table in layer.get("geometry", {}).items():
            geometry[family] = {
                res: {r: (int(wh[0]), int(wh[1])) for r, wh in sizes.items()} for res, sizes in table.items()
            }
        raw_models.extend(layer.get("model", []))
        # Operators point endpoint IDs (ep-...) or friendly names at a model without redefining it.
        alias_map.update(layer.get("aliases", {}))
        # Operators reprice a model without restating it.
        prices.update(layer.get("prices", {}))

    models: dict[str, ModelProfile] = {}
    aliases: dict[str, str] = {}
    for raw in _resolve_extends(_override_prices(raw_models, prices)):
        profile = _profile(raw)
        _check(profile, geometry)
        models[profile.id] = profile
        aliases[profile.id] = profile.id
        for alias in profile.aliases:
            aliases[alias] = profile.id
    for alias, target in alias_map.items():
        target_id = aliases.get(target)
        if target_id is None:
            raise CatalogError(f"alias {alias!r} points at unknown model {target!r}")
        aliases[alias] = target_id
    return Catalog(models=models, geometry=geometry, aliases=aliases)
