"""The canonical asset: a piece of media uploaded once, audited, and referenced as `asset://ID` by tasks.

Every dialect's asset API (Volcengine actions, jimmyai audits, MoonApiX uploads, seedgate's own upload) is a codec
onto this one model, the way task dialects are codecs onto `TaskSpec`.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

KINDS = ("image", "video", "audio")
# `asset://ID` and MoonApiX's `Asset://ID`; the scheme is case-insensitive like any URL scheme.
SCHEME = "asset://"


class AssetStatus(StrEnum):
    PROCESSING = "processing"  # stored or being fetched; the audit has not finished
    ACTIVE = "active"  # audited and usable
    FAILED = "failed"  # fetching or the audit failed; `error` says why


def _stamp_id(prefix: str, now: float | None) -> str:
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now if now is not None else time.time()))
    return f"{prefix}-{stamp}-{base64.b32encode(secrets.token_bytes(5)).decode().lower()}"


def new_asset_id(now: float | None = None) -> str:
    """`asset-` + UTC yyyyMMddHHmmss + a random suffix: the shape Volcengine's asset IDs have."""
    return _stamp_id("asset", now)


def new_group_id(now: float | None = None) -> str:
    return _stamp_id("group", now)


def asset_id_of(url: str) -> str | None:
    """The ID in an `asset://ID` reference (any case of the scheme), or None for other URLs."""
    if url[: len(SCHEME)].lower() != SCHEME:
        return None
    return url[len(SCHEME) :].strip().strip("/") or None


@dataclass
class Asset:
    id: str
    owner: str
    kind: str | None  # image | video | audio; None until the audit sniffs an undeclared upload
    name: str = ""
    group_id: str | None = None
    status: AssetStatus = AssetStatus.PROCESSING
    source_url: str | None = None  # where it was fetched from; None for direct uploads
    blob: str | None = None  # sha256 in the blob store, once the bytes are here
    info: dict[str, Any] = field(default_factory=dict)  # what the audit measured: format, width, height, seconds...
    error: dict[str, str] | None = None  # {"code", "message"} when failed
    metadata: dict[str, Any] = field(default_factory=dict)  # the caller's own fields, echoed back (purpose, ...)
    created_at: float = 0.0
    updated_at: float = 0.0
    expires_at: float = 0.0
    attempts: int = 0


@dataclass
class AssetGroup:
    id: str
    owner: str
    name: str
    description: str = ""
    group_type: str = "AIGC"
    created_at: float = 0.0
    updated_at: float = 0.0
