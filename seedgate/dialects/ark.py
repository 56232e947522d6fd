"""The official Volcengine Ark / BytePlus ModelArk task API: `/api/v3/contents/generations/tasks`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from seedgate.api.deps import Caller, Service, base_url
from seedgate.core.errors import ApiError, invalid, missing
from seedgate.core.plan import TaskPlan
from seedgate.core.prompt_commands import split_commands
from seedgate.core.spec import MediaRef, TaskSpec
from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.core.validation import Soft

from . import ark_schema as schema
from .base import CodecDialect
from .bodies import BOOL, INT, OBJECT, STR, URL, Field, array, describe, enum, int_range, obj
from .common import create_task, read_task, require_model
from .costs import task_cost

NAME = "ark"
PREFIX = "/api/v3/contents/generations/tasks"

_ERROR_TYPES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "RequestEntityTooLarge",
    422: "BadRequest",
    429: "TooManyRequests",
}
_MEDIA_TYPES = {"image_url": "image", "video_url": "video", "audio_url": "audio"}
_MEDIA_URL = obj(Field("url", URL, "http(s) URL or data:<mime>;base64,... (images and audio)", required=True))
CONTENT_ITEM = obj(
    Field("type", enum("text", *_MEDIA_TYPES, "draft_task"), required=True),
    Field("text", STR, "The prompt (type text); may end with legacy commands such as `--rs 720p --dur 5`"),
    Field("image_url", _MEDIA_URL),
    Field("video_url", _MEDIA_URL),
    Field("audio_url", _MEDIA_URL),
    Field("draft_task", obj(Field("id", STR, "The ID of the draft task to render for real", required=True))),
    Field("role", enum("first_frame", "last_frame", "reference_image", "reference_video", "reference_audio")),
)
# The create body (also 3hei's and the AIGeneration platform's): its options are read by name from this table.
CREATE_BODY = describe(
    Field("model", STR, "Model ID (Volcengine or BytePlus) or an endpoint alias (ep-...)", required=True),
    Field("content", array(CONTENT_ITEM), "The prompt and the media, in order", required=True),
    Field("resolution", enum("480p", "720p", "1080p", "4k")),
    Field("ratio", enum("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive")),
    Field("duration", INT, "Seconds; -1 lets the model choose (1.5 pro, 2.x)"),
    Field("frames", INT, "25+4n in [29, 289]; 1.0 models only"),
    Field("seed", int_range(-1, 2**32 - 1)),
    Field("camera_fixed", BOOL),
    Field("watermark", BOOL),
    Field("generate_audio", BOOL),
    Field("draft", BOOL),
    Field("return_last_frame", BOOL),
    Field("service_tier", enum("default", "flex")),
    Field("priority", int_range(0, 9)),
    Field("execution_expires_after", int_range(3600, 259200)),
    Field("callback_url", STR, "Where the task POSTs its task object on each status change"),
    Field("safety_identifier", {"type": "string", "maxLength": 64}),
    Field("tools", array(OBJECT)),
    Field("output_format", enum("mp4", "mov")),
    Field("omni_reference_task_type", enum("auto", "reference", "edit", "extend")),
)
_OPTIONS = tuple(name for name in CREATE_BODY.names() if name not in ("model", "content"))


# What create_body copies from the spec as it is; the length (duration or frames) follows the client's choice, and
# callback_url / safety_identifier belong to whoever sends the body.
_COPIED = tuple(n for n in _OPTIONS if n not in ("duration", "frames", "callback_url", "safety_identifier"))


def create_body(spec: TaskPlan, model: str, media_urls: Sequence[str]) -> dict[str, Any]:
    """The Ark create body that asks for `spec` (the inverse of parse_create), naming `model` and giving each media
    item the URL the receiver should read it from."""
    content: list[dict[str, Any]] = [{"type": "text", "text": spec.prompt}] if spec.prompt else []
    for ref, url in zip(spec.media, media_urls, strict=True):
        item_type = f"{ref.kind}_url"
        item: dict[str, Any] = {"type": item_type, item_type: {"url": url}}
        if ref.role:
            item["role"] = ref.role
        content.append(item)
    body: dict[str, Any] = {"model": model, "content": content}
    body.update((name, getattr(spec, name)) for name in _COPIED if getattr(spec, name) is not None)
    if spec.frames_requested:
        body["frames"] = spec.frame_count
    elif spec.duration is not None:
        body["duration"] = spec.duration
    return body


def render_error(error: ApiError, request_id: str) -> JSONResponse:
    message = error.message
    if error.code == "InvalidParameter" and error.param:
        message = f"The parameter `{error.param}` specified in the request is not valid: {message}"
    body = {
        "error": {
            "code": error.code,
            "message": f"{message}. Request id: {request_id}",
            "param": error.param or "",
            "type": _ERROR_TYPES.get(error.status, "InternalServerError"),
        }
    }
    return JSONResponse(body, status_code=error.status, headers={"X-Request-Id": request_id})


def parse_create(body: Any) -> tuple[TaskSpec, Soft]:
    """Ark create body -> canonical spec, plus the lenient options found as `--commands` in the prompt."""
    model = require_model(body)
    content = body.get("content")
    if content is None:
        raise missing("content")
    if not isinstance(content, list) or not content:
        raise invalid("content", "content must be a non-empty array")

    texts: list[str] = []
    media: list[MediaRef] = []
    draft_task_id = None
    for index, item in enumerate(content):
        where = f"content[{index}]"
        if not isinstance(item, dict):
            raise invalid(where, "each content item must be an object")
        kind = item.get("type")
        if kind == "text":
            text = item.get("text")
            if not isinstance(text, str):
                raise invalid(f"{where}.text", "text must be a string")
            texts.append(text)
        elif kind in _MEDIA_TYPES:
            holder = item.get(kind)
            url = holder.get("url") if isinstance(holder, dict) else None
            if not isinstance(url, str) or not url:
                raise invalid(f"{where}.{kind}.url", f"{kind}.url must be a non-empty string")
            role = item.get("role")
            if role is not None and not isinstance(role, str):
                raise invalid(f"{where}.role", "role must be a string")
            media.append(MediaRef(kind=_MEDIA_TYPES[kind], url=url, role=role, param=f"{where}.{kind}.url"))
        elif kind == "draft_task":
            holder = item.get("draft_task")
            draft_id = holder.get("id") if isinstance(holder, dict) else None
            if not isinstance(draft_id, str) or not draft_id:
                raise invalid(f"{where}.draft_task.id", "draft_task.id must be a task ID")
            if draft_task_id is not None:
                raise invalid(where, "only one draft_task item is allowed")
            draft_task_id = draft_id
        else:
            raise invalid(
                f"{where}.type",
                f"unknown content type {kind!r}; expected text, image_url, video_url, audio_url or draft_task",
            )

    prompt, soft = split_commands("\n".join(texts))
    options = {name: body.get(name) for name in _OPTIONS if body.get(name) is not None}
    spec = TaskSpec(model=model, prompt=prompt, media=media, draft_task_id=draft_task_id, **options)
    return spec, soft


def render_task(task: Task, links: dict[str, str]) -> dict[str, Any]:
    spec = task.spec
    body: dict[str, Any] = {
        "id": task.id,
        "model": spec.model_name,
        "status": task.status.value,
        "created_at": int(task.created_at),
        "updated_at": int(task.updated_at),
        "service_tier": spec.service_tier,
        "execution_expires_after": spec.execution_expires_after,
        "seed": spec.seed,
        "resolution": spec.resolution,
        "ratio": spec.ratio,
        "framespersecond": spec.fps,
        "draft": spec.draft,
        "priority": spec.priority,
    }
    if spec.frames_requested:
        body["frames"] = spec.frame_count
    else:
        # An upstream may choose the length (duration -1): its answer, kept in the result, is the real one.
        body["duration"] = (task.result or {}).get("duration", spec.duration)
    if spec.generate_audio is not None:
        body["generate_audio"] = spec.generate_audio
    if spec.draft_task_id:
        body["draft_task_id"] = spec.draft_task_id
    if spec.safety_identifier:
        body["safety_identifier"] = spec.safety_identifier
    if spec.tools:
        body["tools"] = spec.tools
    if spec.output_format and spec.output_format != "mp4":
        body["output_format"] = spec.output_format
    if task.status is Status.SUCCEEDED and task.result:
        body["content"] = {key: links[key] for key in ("video_url", "last_frame_url") if key in links}
        body["usage"] = task.result.get("usage", {})
        body["engine"] = task.result.get("engine")
        if task.result.get("notice"):
            body["engine_notice"] = task.result["notice"]
    if task.error:
        body["error"] = {"code": task.error["code"], "message": task.error["message"]}
    cost = task_cost(task)
    if cost is not None:  # seedgate's own field beside `usage`, which stays Ark's; the SDK's models allow extras
        body["cost"] = cost
    return body


def callback_url(task: Task) -> str | None:
    return task.spec.callback_url


def _int_param(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"{raw!r} is not an integer") from None
    if not low <= value <= high:
        raise invalid(name, f"{value} is out of range [{low}, {high}]")
    return value


router = APIRouter(tags=["Ark (Volcengine / BytePlus)"])


@router.post(
    PREFIX,
    summary="Create a video generation task",
    response_model=schema.TaskId,
    responses=schema.ERRORS,
)
async def create(request: Request, key: Caller) -> JSONResponse:
    task = await create_task(request, key, parse_create, NAME)
    return JSONResponse({"id": task.id})


@router.get(PREFIX, summary="List video generation tasks", response_model=schema.TaskList, responses=schema.ERRORS)
async def list_tasks(request: Request, key: Caller, service: Service) -> JSONResponse:
    query = request.query_params
    page_num = _int_param(query.get("page_num"), "page_num", 1, 1, 500)
    page_size = _int_param(query.get("page_size"), "page_size", 20, 1, 500)
    status = query.get("filter.status")
    if status and status not in {s.value for s in Status}:
        raise invalid("filter.status", f"{status!r} is not a task status")
    tier = query.get("filter.service_tier")
    if tier and tier not in ("default", "flex"):
        raise invalid("filter.service_tier", f"{tier!r} is not default or flex")
    total, tasks = await service.list(
        key,
        statuses=[status] if status else [],
        ids=query.getlist("filter.task_ids"),
        endpoint=query.get("filter.model") or None,
        service_tier=tier or None,
        offset=(page_num - 1) * page_size,
        limit=page_size,
    )
    base = base_url(request)
    return JSONResponse({"total": total, "items": [render_task(t, service.links(t, base)) for t in tasks]})


@router.get(
    PREFIX + "/{task_id}",
    summary="Retrieve a video generation task",
    response_model=schema.TaskObject,
    responses=schema.ERRORS,
)
async def get_task(task_id: str, request: Request, key: Caller) -> JSONResponse:
    return JSONResponse(render_task(*await read_task(request, key, task_id)))


@router.delete(PREFIX + "/{task_id}", summary="Cancel a queued task or delete a finished one", responses=schema.ERRORS)
async def delete_task(task_id: str, key: Caller, service: Service) -> Response:
    await service.cancel_or_delete(key, task_id)
    # The Ark SDK parses the DELETE answer as JSON: an empty JSON body would crash it.
    return JSONResponse({})


# Ark's dialect: task objects, the callback URL of each task, Ark's error envelope.
DIALECT = CodecDialect(
    name=NAME,
    prefixes=(PREFIX,),
    render_task=render_task,
    callback_url=callback_url,
    render_error=render_error,
    routes=router,
)
