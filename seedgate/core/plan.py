"""The validated plan of a task: what validation makes of a `TaskSpec`, frozen, with every guaranteed field set.

Two stages, because the output size of an `adaptive` image task depends on the media, which are fetched only after
the request passed its checks: `validate` returns a `CheckedSpec` (model resolved, mode decided, defaults applied),
media resolution returns a new one with the blobs filled in, and `settle_geometry` turns it into the `TaskPlan` a
`Task` holds. Like vLLM's `SamplingParams`, nothing downstream changes a plan or re-applies a default.

`MediaRef` itself stays a plain dataclass because the dialect parsers refine the references of a request in place
(mirrored fields, implied roles); a plan holds its own copies in a tuple, and every later step replaces them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from .geometry import FPS, frames_for_duration
from .spec import MediaRef


@dataclass(frozen=True, kw_only=True)
class CheckedSpec:
    """A request that passed validation; only its output size (and an `adaptive` ratio) may still be open."""

    # What the client asked for, checked, with the model's defaults applied.
    model: str  # the name as the client sent it
    prompt: str
    media: tuple[MediaRef, ...]  # each with its role; blob, size and seconds once resolved
    draft_task_id: str | None = None
    resolution: str
    ratio: str  # `adaptive` until settle_geometry, for image modes
    duration: int
    frames: int | None = None  # the client's own frame count, when it asked by frames
    seed: int
    camera_fixed: bool
    watermark: bool
    generate_audio: bool | None  # None: the model makes no audio, and answers leave the field out
    draft: bool
    return_last_frame: bool
    service_tier: str
    priority: int
    execution_expires_after: int
    callback_url: str | None = None
    safety_identifier: str | None = None
    tools: list[dict[str, Any]] | None = None
    output_format: str
    omni_reference_task_type: str | None = None
    remix_of: str | None = None
    metadata: dict[str, Any] | None = None
    wire_names: dict[str, str] = field(default_factory=dict)
    # What validation decided.
    mode: str
    model_id: str
    model_name: str  # what answers report as `model`: the ID the client used, or the canonical one
    engine: str
    fps: int = FPS
    frame_count: int
    frames_requested: bool = False  # the client asked by frames, so answers carry `frames`, not `duration`

    def param(self, name: str) -> str:
        return self.wire_names.get(name, name)

    def media_of(self, kind: str) -> list[MediaRef]:
        return [m for m in self.media if m.kind == kind]


@dataclass(frozen=True, kw_only=True)
class TaskPlan(CheckedSpec):
    """What a task will render: the checked request with its ratio and output size settled. Stored as JSON."""

    width: int
    height: int

    def to_json(self) -> dict[str, Any]:
        # dataclasses.asdict deep-copies every value and was a third of a create's CPU time.
        data = {name: getattr(self, name) for name in _PLAN_FIELDS}
        data["media"] = [dict(vars(m)) for m in self.media]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskPlan:
        """Read a stored plan, including rows written before a field existed or by the old mutable `TaskSpec`."""
        values = dict(_ROW_DEFAULTS, wire_names={})  # a fresh dict: no two plans share a mutable default
        for name in _PLAN_FIELDS:
            value = data.get(name)
            if value is not None:
                values[name] = value
        values["media"] = tuple(MediaRef(**m) for m in data.get("media") or ())
        # Derived fallbacks, for rows older than the fields (every row validation wrote has them).
        if data.get("model_id") is None:
            values["model_id"] = values["model"]
        if data.get("model_name") is None:
            values["model_name"] = values["model_id"]
        if data.get("frame_count") is None and values["duration"] > 0:
            values["frame_count"] = frames_for_duration(values["duration"])
        # Every field is set above, so __init__'s checks add nothing; a frozen dataclass's __init__ sets each field
        # through object.__setattr__ and would double the cost of every task read (a request hot path).
        plan = object.__new__(cls)
        plan.__dict__.update(values)
        return plan


# What a stored row means where it lacks a field: None for the optional ones, and for those validation always sets,
# the defaults readers applied before the plan made them required. Every row validation ever wrote has the required
# ones (the old TaskSpec had them all from the first release); these only keep a hand-made or partial row readable.
_ROW_DEFAULTS: dict[str, Any] = {
    "model": "",
    "prompt": "",
    "media": (),
    "draft_task_id": None,
    "resolution": "",
    "ratio": "",
    "duration": 0,
    "frames": None,
    "seed": 0,
    "camera_fixed": False,
    "watermark": False,
    "generate_audio": None,
    "draft": False,
    "return_last_frame": False,
    "service_tier": "default",
    "priority": 0,
    "execution_expires_after": 0,
    "callback_url": None,
    "safety_identifier": None,
    "tools": None,
    "output_format": "mp4",
    "omni_reference_task_type": None,
    "remix_of": None,
    "metadata": None,
    "wire_names": {},
    "mode": "text",
    "model_id": "",
    "model_name": "",
    "engine": "preview",
    "fps": FPS,
    "frame_count": 0,
    "frames_requested": False,
    "width": 0,
    "height": 0,
}

_PLAN_FIELDS = tuple(f.name for f in fields(TaskPlan))
