"""Settings from the environment (SEEDGATE_*) and the command line; embedded defaults need none of them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


_TTL_PREFIX = "SEEDGATE_RESULT_TTL_"


def normalize_database_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://, sqlite:///) and pick the async drivers."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("./data")
    database_url: str | None = None
    api_key: str | None = None
    allow_private_urls: bool = False
    public_url: str | None = None  # base for absolute URLs in webhooks and behind proxies
    workers: int = 1  # in-process render slots of `serve`; 0 runs an API-only node
    catalog_path: Path | None = None
    channels_path: Path | None = None  # upstream channels (docs/upstreams.md)
    # How long result links (and files) live after a task finishes. None: as long as the task's dialect promises
    # (maxapi 7 days, jimmyai 3 days, the rest 24 h); set, it applies to every dialect. Per-dialect overrides in
    # `result_ttl_by_dialect` (SEEDGATE_RESULT_TTL_<DIALECT>) win over both.
    result_ttl_s: int | None = None
    result_ttl_by_dialect: dict[str, int] = field(default_factory=dict)
    task_retention_s: int = 7 * 86400
    asset_retention_s: int = 30 * 86400
    lease_s: float = 30.0
    poll_interval_s: float = 0.25
    fetch_timeout_s: float = 30.0
    log_format: str = "text"
    log_level: str = "INFO"
    engines: tuple[str, ...] = field(default_factory=lambda: ("preview",))
    # The operator's local-models file (docs/local-models.md); setting it adds the `diffusers` engine.
    local_models_path: Path | None = None
    # Where inputs and results are stored: None, the data directory; `s3://bucket/prefix` (credentials and endpoint
    # from the AWS_* variables), object storage every node reads, so nodes share no disk (docs/deploy.md).
    storage_url: str | None = None
    # How answers link to results: "proxy" (seedgate's signed /files links, bytes streamed by any API node) or
    # "presigned" (links straight to the object store; S3 only).
    result_links: str = "proxy"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        settings = cls(
            host=env.get("SEEDGATE_HOST", "127.0.0.1"),
            port=_int("SEEDGATE_PORT", 8000),
            data_dir=Path(env.get("SEEDGATE_DATA_DIR", "./data")),
            database_url=env.get("SEEDGATE_DATABASE_URL") or None,
            api_key=env.get("SEEDGATE_API_KEY") or None,
            allow_private_urls=_flag("SEEDGATE_ALLOW_PRIVATE_URLS"),
            public_url=(env.get("SEEDGATE_PUBLIC_URL") or "").rstrip("/") or None,
            workers=_int("SEEDGATE_WORKERS", 1),
            catalog_path=Path(env["SEEDGATE_CATALOG"]) if env.get("SEEDGATE_CATALOG") else None,
            channels_path=Path(env["SEEDGATE_CHANNELS"]) if env.get("SEEDGATE_CHANNELS") else None,
            result_ttl_s=int(env["SEEDGATE_RESULT_TTL"]) if env.get("SEEDGATE_RESULT_TTL") else None,
            result_ttl_by_dialect={
                key[len(_TTL_PREFIX) :].lower(): int(value)
                for key, value in env.items()
                if key.startswith(_TTL_PREFIX) and value
            },
            task_retention_s=_int("SEEDGATE_TASK_RETENTION", 7 * 86400),
            asset_retention_s=_int("SEEDGATE_ASSET_RETENTION", 30 * 86400),
            lease_s=float(_int("SEEDGATE_LEASE_SECONDS", 30)),
            fetch_timeout_s=float(_int("SEEDGATE_FETCH_TIMEOUT", 30)),
            log_format=env.get("SEEDGATE_LOG_FORMAT", "text"),
            log_level=env.get("SEEDGATE_LOG_LEVEL", "INFO").upper(),
            local_models_path=Path(env["SEEDGATE_LOCAL_MODELS"]) if env.get("SEEDGATE_LOCAL_MODELS") else None,
            storage_url=env.get("SEEDGATE_STORAGE_URL") or None,
            result_links=env.get("SEEDGATE_RESULT_LINKS", "proxy").strip().lower(),
        )
        if env.get("SEEDGATE_ENGINES"):
            settings.engines = tuple(e.strip() for e in env["SEEDGATE_ENGINES"].split(",") if e.strip())
        elif settings.local_models_path is not None:
            settings.engines = ("preview", "diffusers")
        for key, value in overrides.items():
            if value is not None:
                setattr(settings, key, value)
        settings.data_dir = Path(settings.data_dir)
        if settings.result_links not in ("proxy", "presigned"):
            raise ValueError(f"SEEDGATE_RESULT_LINKS is {settings.result_links!r}; use proxy or presigned")
        if settings.result_links == "presigned" and not (settings.storage_url or "").startswith("s3://"):
            raise ValueError(
                "SEEDGATE_RESULT_LINKS=presigned needs object storage: SEEDGATE_STORAGE_URL=s3://bucket/prefix"
            )
        return settings

    @property
    def db_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'seedgate.db').resolve()}"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"
