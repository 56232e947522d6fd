"""maxapi (seed 000): `POST /api/v1/task/submit` with `{model, callBackUrl, input}`, `{code, msg, data}` envelopes."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from seedgate.api.deps import Caller, Service
from seedgate.core.errors import ApiError, conflict, invalid, missing
from seedgate.core.spec import MediaRef, TaskSpec
from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.core.validation import Soft

from .base import CodecDialect
from .bodies import BOOL, INT, STR, URL, Field, array, describe
from .common import create_task, read_task, require_model

NAME = "maxapi"
PREFIX = "/api/v1/task"

_STATUS = {
    Status.QUEUED: "PENDING",
    Status.RUNNING: "PROCESSING",
    Status.SUCCEEDED: "SUCCESS",
    Status.FAILED: "FAILURE",
    Status.EXPIRED: "TIMEOUT",
    Status.CANCELLED: "CANCELLED",
}
# maxapi's actionable failure reasons; anything else is null ("transient, retrying may help").
_FAILURE_REASONS = {"InvalidParameter": "INVALID_PARAMETERS"}
_VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v")
_AUDIO_SUFFIXES = (".mp3", ".wav")
# "1-12 material URLs" (vendors.md §1.2, quoted under INVALID_PARAMETERS): a limit of the vendor, on every model.
MAX_MEDIA_URLS = 12
# "File URLs are valid for 7 days" (vendors.md §1.1): how long result links live (SEEDGATE_RESULT_TTL_MAXAPI).
RESULT_TTL_S = 7 * 86400
# The submit body; the options inside `input` are read by name from this table (as the spec's fields of that name).
INPUT = describe(
    Field("prompt", STR, "The prompt; `@1 @2 ...` address multi-reference media in order"),
    Field("mediaUrls", array(URL), f"1 to {MAX_MEDIA_URLS} media URLs; images, videos and audio told apart by type"),
    Field("imageUrls", array(URL), "The older name of mediaUrls, read when mediaUrls is absent"),
    Field("ratio", STR),
    Field("resolution", STR),
    Field("duration", INT, "Seconds"),
    Field("seed", INT),
    Field("watermark", BOOL),
    Field("generate_audio", BOOL),
)
SUBMIT_BODY = describe(
    Field("model", STR, required=True),
    Field("callBackUrl", STR, "Called with the query document once the task is finished"),
    Field("input", INPUT.schema(), required=True),
)
_INPUT_FIELDS = {name: name for name in INPUT.names() if name not in ("prompt", "mediaUrls", "imageUrls")}


def render_error(error: ApiError, request_id: str) -> JSONResponse:
    message = f"{error.param}: {error.message}" if error.param else error.message
    return JSONResponse({"code": error.status, "msg": message, "request_id": request_id}, status_code=error.status)


def _kind_of(url: str) -> str:
    """maxapi mixes media in one list and tells them apart by file type."""
    if url.startswith("data:"):
        path = url[5:16].lower()
    else:
        try:
            path = urlsplit(url).path.lower()
        except ValueError:
            path = ""  # malformed: the fetcher will refuse it with a message naming the item
    if path.endswith(_VIDEO_SUFFIXES) or path.startswith("video/"):
        return "video"
    if path.endswith(_AUDIO_SUFFIXES) or path.startswith("audio/"):
        return "audio"
    return "image"


def parse_create(body: Any) -> tuple[TaskSpec, Soft]:
    model = require_model(body)
    data = body.get("input")
    if data is None:
        raise missing("input")
    if not isinstance(data, dict):
        raise invalid("input", "input must be an object")
    key = "mediaUrls" if data.get("mediaUrls") is not None else "imageUrls"
    urls = data.get(key) or []
    if not isinstance(urls, list) or not all(isinstance(u, str) and u for u in urls):
        raise invalid(f"input.{key}", f"{key} must be an array of URLs")
    if len(urls) > MAX_MEDIA_URLS:
        raise invalid(f"input.{key}", f"{key} takes 1 to {MAX_MEDIA_URLS} URLs, got {len(urls)}")
    media = [MediaRef(_kind_of(u), u, None, f"input.{key}[{i}]") for i, u in enumerate(urls)]
    images = [m for m in media if m.kind == "image"]
    if len(images) == 2 and len(media) == 2:
        images[0].role, images[1].role = "first_frame", "last_frame"
    elif len(images) >= 3 or len(media) > len(images):
        # Three or more images, or any video/audio: multi-reference, addressed as @1 @2 ... in the prompt.
        for ref in media:
            ref.role = f"reference_{ref.kind}"
    prompt = data.get("prompt", "")
    callback = body.get("callBackUrl")
    options = {name: data[field] for field, name in _INPUT_FIELDS.items() if data.get(field) is not None}
    wire = {name: f"input.{field}" for field, name in _INPUT_FIELDS.items()}
    spec = TaskSpec(
        model=model,
        prompt=prompt,
        media=media,
        callback_url=callback or None,
        wire_names={**wire, "prompt": "input.prompt", "callback_url": "callBackUrl", "media": key},
        **options,
    )
    return spec, ()


def _iso(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + f".{int(stamp % 1 * 1e6):06d}Z"


def _data(task: Task, links: dict[str, str]) -> dict[str, Any]:
    spec = task.spec
    echoed: dict[str, Any] = {"model": task.endpoint, "prompt": spec.prompt}
    if spec.media:
        echoed[spec.wire_names.get("media", "imageUrls")] = [m.url for m in spec.media]
    echoed.update({"ratio": spec.ratio, "resolution": spec.resolution, "duration": spec.duration})
    reason = _FAILURE_REASONS.get(task.error["code"]) if task.error else None
    data: dict[str, Any] = {
        "taskId": task.id,
        "status": _STATUS[task.status],
        "input": echoed,
        "result": {"type": "video", "urls": [links["video_url"]]} if "video_url" in links else None,
        "failure_reason": reason,
        "created_at": _iso(task.created_at),
        "updated_at": _iso(task.updated_at),
    }
    if task.error:
        data["failReason"] = task.error["message"]
    if task.status is Status.RUNNING:
        data["progress"] = round(task.progress * 100)
    return data


def render_task(task: Task, links: dict[str, str]) -> dict[str, Any]:
    """The query answer, envelope included: maxapi's webhook body is the same document."""
    return {"code": 0, "msg": "ok", "data": _data(task, links)}


def callback_url(task: Task) -> str | None:
    # maxapi calls back on terminal states only.
    return task.spec.callback_url if task.status.terminal else None


router = APIRouter(tags=["maxapi"])


@router.post(PREFIX + "/submit", summary="Submit a task")
async def submit(request: Request, key: Caller) -> JSONResponse:
    task = await create_task(request, key, parse_create, NAME)
    return JSONResponse({"code": 0, "msg": "ok", "data": {"taskId": task.id}})


@router.get(PREFIX + "/{task_id}", summary="Query a task")
async def query(task_id: str, request: Request, key: Caller) -> JSONResponse:
    return JSONResponse(render_task(*await read_task(request, key, task_id)))


@router.post(PREFIX + "/{task_id}/cancel", summary="Cancel a pending task")
async def cancel(task_id: str, key: Caller, service: Service) -> JSONResponse:
    task = await service.get(key, task_id)
    if task.status is not Status.QUEUED or not await service.cancel(task):
        raise conflict(f"the task {task_id} is {_STATUS[task.status]} and can no longer be cancelled")
    return JSONResponse({"code": 0, "msg": "ok"})


# maxapi: `{code, msg, data}` documents, called back on terminal states only; links live 7 days.
DIALECT = CodecDialect(
    name=NAME,
    prefixes=(PREFIX,),
    render_task=render_task,
    callback_url=callback_url,
    render_error=render_error,
    routes=router,
    result_ttl_s=RESULT_TTL_S,
)
