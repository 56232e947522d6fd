"""The one protocol every engine implements: a render job in, files on disk out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

MediaKind = Literal["image", "video", "audio"]

# Progress in [0, 1]; called from the engine's thread, must be cheap and thread-safe.
ProgressFn = Callable[[float], None]
# True once the task was cancelled or its lease lost; engines poll it between frames or steps.
StopFn = Callable[[], bool]


class RenderCancelled(Exception):
    """Raised by an engine when StopFn turned true mid-render."""


class RenderFailed(Exception):
    """A render that cannot succeed (bad media, model error). `code` is an Ark-style error code."""

    def __init__(self, message: str, code: str = "InternalServiceError") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class MediaInput:
    """One input already fetched, audited and stored locally."""

    kind: MediaKind
    role: str  # first_frame | last_frame | reference_image | reference_video | reference_audio
    path: Path


@dataclass(frozen=True)
class RenderJob:
    task_id: str
    model: str
    mode: str  # text | first_frame | first_last_frame | reference
    prompt: str
    width: int
    height: int
    fps: int
    frames: int  # exact number of video frames to write
    seed: int
    camera_fixed: bool = False
    watermark: bool = False
    generate_audio: bool = False
    return_last_frame: bool = False
    inputs: tuple[MediaInput, ...] = ()
    output_dir: Path = field(default=Path("."))

    def inputs_with_role(self, role: str) -> list[MediaInput]:
        return [item for item in self.inputs if item.role == role]


@dataclass(frozen=True)
class RenderResult:
    video_path: Path
    last_frame_path: Path | None
    frames: int
    has_audio: bool


class Engine(Protocol):
    name: str
    # Said in every answer and log line about a task this engine rendered, e.g. that it is not a generative model.
    notice: str

    def render(self, job: RenderJob, progress: ProgressFn, should_stop: StopFn) -> RenderResult:
        """Render synchronously (workers call it in a thread). Raise RenderCancelled or RenderFailed."""
        ...
