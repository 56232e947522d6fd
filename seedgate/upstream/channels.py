"""Upstream channels as operator configuration: who serves which model, with which key and limits.

A channels file (TOML, named by SEEDGATE_CHANNELS) lists `[[channel]]` entries. Keys never appear in the file
itself: each channel names the environment variable holding its key, and nothing logs it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedgate.core.catalog import Catalog

KINDS = ("ark-volcengine", "ark-byteplus", "seedgate", "openai-videos")
_DEFAULT_BASE = {
    "ark-volcengine": "https://ark.cn-beijing.volces.com/api/v3",
    "ark-byteplus": "https://ark.ap-southeast.bytepluses.com/api/v3",
}
# Ark's documented per-account query limits (ark_api.md §6): 20 retrieves and 1 list per second.
_DEFAULT_LIMITS = {"query_rps": 20.0, "list_rps": 1.0}


class ChannelError(ValueError):
    """The channels file is wrong (reported at start, naming the channel and the key)."""


@dataclass(frozen=True)
class Channel:
    name: str
    kind: str
    base_url: str  # the API root: .../api/v3 for the Ark kinds, .../v1 for openai-videos
    key_env: str
    models: dict[str, str]  # catalog model id -> the upstream's model (or endpoint) ID
    priority: int = 0  # higher is tried first
    weight: int = 1  # share among channels of the same priority
    concurrency: int = 10  # upstream tasks in flight at once
    query_rps: float = 20.0  # task retrieves per second
    list_rps: float = 1.0  # task list calls per second (0: never list)
    list_batch: int = 100  # task IDs per list call; the query string grows by ~40 bytes per ID
    timeout_s: float = 30.0
    poll_interval_s: float = 1.0  # the shortest time between two looks at one task
    callbacks: bool = True  # ask the upstream to call back (only when SEEDGATE_PUBLIC_URL is set)
    # An ambiguous create is looked up for this long before it counts as never received.
    reconcile_s: float = 60.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def speaks_ark(self) -> bool:
        return self.kind != "openai-videos"

    @property
    def key(self) -> str:
        return os.environ.get(self.key_env, "")

    def __repr__(self) -> str:  # never the key, only where it comes from
        return f"Channel({self.name!r}, {self.kind}, {self.base_url}, key from ${self.key_env})"


def _number(raw: dict[str, Any], name: str, where: str, default: float, *, low: float = 0) -> float:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise ChannelError(f"{where}: `{name}` must be a number >= {low}")
    return float(value)


def _models(raw: Any, where: str, catalog: Catalog) -> dict[str, str]:
    if isinstance(raw, list):
        raw = {name: name for name in raw}
    if not isinstance(raw, dict) or not raw:
        raise ChannelError(f"{where}: `models` must list catalog models, or map them to upstream model IDs")
    models = {}
    for name, upstream in raw.items():
        profile = catalog.find(name)
        if profile is None:
            raise ChannelError(f"{where}: model {name!r} is not in the catalog (see `seedgate models`)")
        if not isinstance(upstream, str) or not upstream:
            raise ChannelError(f"{where}: the upstream model for {name!r} must be a non-empty string")
        models[profile.id] = upstream
    return models


def _channel(raw: dict[str, Any], index: int, catalog: Catalog) -> Channel:
    name = raw.get("name")
    where = f"channel {name!r}" if isinstance(name, str) and name else f"channel #{index + 1}"
    if not isinstance(name, str) or not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ChannelError(f"{where}: `name` must be letters, digits, '-' or '_'")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ChannelError(f"{where}: `kind` must be one of {', '.join(KINDS)}")
    base_url = raw.get("base_url") or _DEFAULT_BASE.get(kind)
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise ChannelError(f"{where}: `base_url` must be an http(s) URL")
    base_url = base_url.rstrip("/")
    if kind == "seedgate" and not base_url.endswith("/api/v3"):
        base_url += "/api/v3"  # a seedgate upstream is named by its root, like its own README does
    key_env = raw.get("key_env")
    if not isinstance(key_env, str) or not key_env:
        raise ChannelError(f"{where}: `key_env` must name the environment variable holding the key")
    limits = {name: _number(raw, name, where, _DEFAULT_LIMITS.get(name, 0.0)) for name in ("query_rps", "list_rps")}
    if limits["query_rps"] <= 0:
        raise ChannelError(f"{where}: `query_rps` must be above 0")
    known = {
        "name",
        "kind",
        "base_url",
        "key_env",
        "models",
        "priority",
        "weight",
        "concurrency",
        "query_rps",
        "list_rps",
        "list_batch",
        "timeout",
        "poll_interval",
        "callbacks",
        "reconcile_seconds",
    }
    return Channel(
        name=name,
        kind=kind,
        base_url=base_url,
        key_env=key_env,
        models=_models(raw.get("models"), where, catalog),
        priority=int(_number(raw, "priority", where, 0, low=-1e9)),
        weight=int(_number(raw, "weight", where, 1, low=1)),
        concurrency=int(_number(raw, "concurrency", where, 10, low=1)),
        query_rps=limits["query_rps"],
        list_rps=limits["list_rps"] if kind != "openai-videos" else 0.0,
        list_batch=min(500, int(_number(raw, "list_batch", where, 100, low=1))),  # Ark's page_size cap
        timeout_s=_number(raw, "timeout", where, 30, low=1),
        poll_interval_s=_number(raw, "poll_interval", where, 1.0, low=0.1),
        callbacks=bool(raw.get("callbacks", True)) and kind != "openai-videos",
        reconcile_s=_number(raw, "reconcile_seconds", where, 60, low=1),
        extra={k: v for k, v in raw.items() if k not in known},
    )


@dataclass(frozen=True)
class Channels:
    channels: tuple[Channel, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.channels)

    def get(self, name: str) -> Channel | None:
        return next((c for c in self.channels if c.name == name), None)

    def serving(self, model_id: str) -> list[Channel]:
        """The channels that serve a model, best first (priority, then weight)."""
        found = [c for c in self.channels if model_id in c.models]
        return sorted(found, key=lambda c: (-c.priority, -c.weight, c.name))

    def models(self) -> set[str]:
        return {model for c in self.channels for model in c.models}


def load_channels(path: Path | None, catalog: Catalog) -> Channels:
    if path is None:
        return Channels()
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ChannelError(f"cannot read channels file {path}: {exc}") from None
    raw = data.get("channel", [])
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise ChannelError(f"{path}: channels are `[[channel]]` tables")
    channels = tuple(_channel(r, i, catalog) for i, r in enumerate(raw))
    names = [c.name for c in channels]
    if len(set(names)) != len(names):
        raise ChannelError(f"{path}: channel names must be unique")
    return Channels(channels)
