"""Typed views of the server's answers; `raw` keeps the whole JSON for fields not mapped here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TERMINAL = frozenset({"succeeded", "failed", "expired", "cancelled"})


@dataclass
class Task:
    id: str
    status: str
    model: str | None = None
    progress: int | None = None  # 0-100; Ark answers lack it, so `wait` fills it from GET /v1/videos/{id}
    queue_position: int | None = None  # only when the server reports one
    video_url: str | None = None
    last_frame_url: str | None = None
    usage: dict[str, Any] | None = None
    # {currency, amount, amount_micros}, plus estimated: true while the task runs; None for an unpriced model
    cost: dict[str, Any] | None = None
    error: dict[str, Any] | None = None  # {code, message} on failed/expired
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @classmethod
    def from_ark(cls, body: dict[str, Any]) -> Task:
        content = body.get("content") or {}
        progress = body.get("progress")
        if progress is None and body.get("status") == "succeeded":
            progress = 100
        return cls(
            id=body["id"],
            status=body.get("status", "queued"),
            model=body.get("model"),
            progress=progress if isinstance(progress, int) else None,
            queue_position=_int_or_none(body.get("queue_position")),
            video_url=content.get("video_url"),
            last_frame_url=content.get("last_frame_url"),
            usage=body.get("usage"),
            cost=body.get("cost"),
            error=body.get("error"),
            raw=body,
        )

    def to_dict(self) -> dict[str, Any]:
        """The server's task object, plus the progress and queue position the client learned."""
        out = dict(self.raw)
        if self.progress is not None:
            out["progress"] = self.progress
        if self.queue_position is not None:
            out["queue_position"] = self.queue_position
        return out


@dataclass
class Asset:
    id: str
    status: str  # processing | ready | failed
    kind: str | None = None
    name: str | None = None
    url: str | None = None
    error: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ref(self) -> str:
        """What a task's content item takes: `asset://ID`."""
        return f"asset://{self.id}"

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Asset:
        return cls(
            id=body["id"],
            status=body.get("status", "processing"),
            kind=body.get("kind"),
            name=body.get("name"),
            url=body.get("url"),
            error=body.get("error"),
            raw=body,
        )


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
