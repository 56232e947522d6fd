"""The canonical task request: what every dialect's create request becomes, before validation.

Validation turns it into a frozen plan (plan.py); nothing after validation reads or changes a `TaskSpec`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES = {
    "image": ("first_frame", "last_frame", "reference_image"),
    "video": ("reference_video",),
    "audio": ("reference_audio",),
}


@dataclass
class MediaRef:
    kind: str  # image | video | audio
    url: str
    role: str | None = None  # None: the client left it out, the mode rules decide
    param: str = ""  # where it sits in the caller's request, for error messages
    # Filled in once the media was fetched and audited.
    blob: str | None = None
    width: int | None = None
    height: int | None = None
    seconds: float | None = None
    # The caller's name for the item (MoonApiX `alias`), written `@alias` in the prompt. The prompt is kept verbatim;
    # an upstream engine that addresses media by position can rewrite the mentions from this.
    alias: str | None = None


@dataclass
class TaskSpec:
    """One shape for every mode, as the client sent it. Fields left None take the model's defaults in validation."""

    model: str
    prompt: str = ""
    media: list[MediaRef] = field(default_factory=list)
    draft_task_id: str | None = None
    resolution: str | None = None
    ratio: str | None = None
    duration: int | None = None
    frames: int | None = None
    seed: int | None = None
    camera_fixed: bool | None = None
    watermark: bool | None = None
    generate_audio: bool | None = None
    draft: bool | None = None
    return_last_frame: bool | None = None
    service_tier: str | None = None
    priority: int | None = None
    execution_expires_after: int | None = None
    callback_url: str | None = None
    safety_identifier: str | None = None
    tools: list[dict[str, Any]] | None = None
    output_format: str | None = None
    omni_reference_task_type: str | None = None
    remix_of: str | None = None  # OpenAI remix: the task whose settings this one reused
    metadata: dict[str, Any] | None = None  # the caller's own object, echoed back by dialects that have one
    # Canonical field name -> the caller's name for it, so errors name the field the client actually sent.
    wire_names: dict[str, str] = field(default_factory=dict)

    def param(self, name: str) -> str:
        return self.wire_names.get(name, name)

    def media_of(self, kind: str) -> list[MediaRef]:
        return [m for m in self.media if m.kind == kind]
