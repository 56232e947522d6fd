"""OpenAPI descriptions of Ark's answers (task objects, lists, errors). The create body is described once, in
ark.py's `CREATE_BODY` table, which its parser reads its options from."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class TaskId(BaseModel):
    id: str


class TaskContent(BaseModel):
    video_url: str | None = None
    last_frame_url: str | None = None


class TaskError(BaseModel):
    code: str
    message: str


class Usage(BaseModel):
    completion_tokens: int
    total_tokens: int


class Cost(BaseModel):
    """seedgate's own: what the task cost in its price's currency (an estimate while it runs)."""

    currency: str
    amount: float
    amount_micros: int
    estimated: bool | None = None


class TaskObject(BaseModel):
    id: str
    model: str
    status: Literal["queued", "running", "cancelled", "succeeded", "failed", "expired"]
    created_at: int
    updated_at: int
    content: TaskContent | None = None
    error: TaskError | None = None
    usage: Usage | None = None
    seed: int | None = None
    resolution: str | None = None
    ratio: str | None = None
    duration: int | None = None
    frames: int | None = None
    framespersecond: int | None = None
    generate_audio: bool | None = None
    draft: bool | None = None
    draft_task_id: str | None = None
    service_tier: str | None = None
    execution_expires_after: int | None = None
    priority: int | None = None
    safety_identifier: str | None = None
    engine: str | None = None
    engine_notice: str | None = None
    cost: Cost | None = None


class TaskList(BaseModel):
    total: int
    items: list[TaskObject]


class ErrorBody(BaseModel):
    code: str
    message: str
    param: str
    type: str


class ErrorEnvelope(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": text}
    for status, text in (
        (400, "Invalid or missing parameter"),
        (401, "Missing or invalid API key"),
        (404, "Unknown model or task"),
        (409, "The task cannot be cancelled or deleted now"),
    )
}
