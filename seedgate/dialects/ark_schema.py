"""OpenAPI descriptions of the Ark wire shapes. Parsing stays in ark.py, which is lenient where Ark is (null means
absent, unknown fields ignored) and names the field in every error; these models only document the API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class MediaUrl(BaseModel):
    url: str = Field(description="http(s) URL or data:<mime>;base64,... (images and audio)")


class ContentItem(BaseModel):
    type: Literal["text", "image_url", "video_url", "audio_url", "draft_task"]
    text: str | None = Field(None, description="The prompt; may end with legacy commands such as `--rs 720p --dur 5`")
    image_url: MediaUrl | None = None
    video_url: MediaUrl | None = None
    audio_url: MediaUrl | None = None
    draft_task: dict[str, str] | None = Field(None, description='{"id": "<draft task id>"}')
    role: Literal["first_frame", "last_frame", "reference_image", "reference_video", "reference_audio"] | None = None


class CreateTaskRequest(BaseModel):
    model: str = Field(description="Model ID (Volcengine or BytePlus) or an endpoint alias (ep-...)")
    content: list[ContentItem]
    resolution: Literal["480p", "720p", "1080p", "4k"] | None = None
    ratio: Literal["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive"] | None = None
    duration: int | None = Field(None, description="Seconds; -1 lets the model choose (1.5 pro, 2.x)")
    frames: int | None = Field(None, description="25+4n in [29, 289]; 1.0 models only")
    seed: int | None = Field(None, ge=-1, le=2**32 - 1)
    camera_fixed: bool | None = None
    watermark: bool | None = None
    generate_audio: bool | None = None
    draft: bool | None = None
    return_last_frame: bool | None = None
    service_tier: Literal["default", "flex"] | None = None
    priority: int | None = Field(None, ge=0, le=9)
    execution_expires_after: int | None = Field(None, ge=3600, le=259200)
    callback_url: str | None = None
    safety_identifier: str | None = Field(None, max_length=64)
    tools: list[dict[str, Any]] | None = None
    output_format: Literal["mp4", "mov"] | None = None
    omni_reference_task_type: Literal["auto", "reference", "edit", "extend"] | None = None


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


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its body itself; nested models are inlined (refs inside
    openapi_extra would resolve against the whole document, where these definitions do not live)."""
    raw = model.model_json_schema()
    schema = _inline(raw, raw.get("$defs", {}))
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": text}
    for status, text in (
        (400, "Invalid or missing parameter"),
        (401, "Missing or invalid API key"),
        (404, "Unknown model or task"),
        (409, "The task cannot be cancelled or deleted now"),
    )
}
