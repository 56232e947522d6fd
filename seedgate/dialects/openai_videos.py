"""OpenAI `/v1/videos` (the Sora 2 wire format), and 3hei's Ark bodies posted to the same route.

Every operation of the current SDKs (openai-python 3.57+, openai-node 6/7): create, retrieve, list, delete,
content, remix, edits, extensions and characters (the last three in openai_edits.py). The SDKs send create, edit,
extend and characters as multipart/form-data (even without a file); other clients send JSON. Both are accepted on
every route, bracket keys included (`input_reference[image_url]`, `video[id]`, `characters[]`: openai_forms.py);
`input_reference` may be an uploaded file, a string URL, or `{"image_url": ...}`.

3hei (vendors.md §4) also posts to `POST /v1/videos`, but with an Ark body (`content[]`), and so does MoonApiX
(seed 002) with its own body. `body_dialect` tells the three apart; a task answers `GET /v1/videos/{id}` in its own
dialect's shape: 3hei's as Ark task objects, MoonApiX's as MoonApiX objects, OpenAI's as `Video` objects.

OpenAI sends no per-request callbacks: events go to the endpoints a key registered with `/v1/webhook_endpoints`
(openai_webhooks.py).
"""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import PurePath
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from seedgate.api.deps import Caller, Service, authenticate, base_url, task_service
from seedgate.api.files import stored_response
from seedgate.core.catalog import Catalog
from seedgate.core.errors import ApiError, invalid, missing, model_not_found, not_found, shown
from seedgate.core.geometry import nearest_ratio
from seedgate.core.plan import TaskPlan
from seedgate.core.spec import MediaRef, TaskSpec
from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.core.validation import Soft
from seedgate.media.thumbnails import SPRITESHEET as _SPRITESHEET
from seedgate.media.thumbnails import THUMBNAIL as _THUMBNAIL
from seedgate.media.thumbnails import render_stills
from seedgate.store.store import ApiKey
from seedgate.tasks.service import TaskService

from . import ark, moonapix, openai_edits, openai_forms, openai_webhooks, threehei
from .base import DEFAULT_RESULT_TTL_S, Dialect
from .bodies import INT, STR, URL, Field, any_of, describe, obj
from .common import SMALL_INT, idempotency_key, loads_json, openai_error_fields, request_id

NAME = "openai"
PREFIX = "/v1/videos"

# The SDK sends no model unless given, and OpenAI's own default (sora-2) means nothing here; Seedance 2.0 is the
# closest in spirit (text and image input, audio, 4-15 s) and is the model seedgate documents first.
DEFAULT_MODEL = "doubao-seedance-2-0-260128"
POLL_AFTER_MS = "1000"
# OpenAI's observed lifecycle: assets expire 24 h after completion (gateways.md §A.4); seedgate's signed links
# carry the real expiry, which is used when present.
ASSETS_TTL_S = 86400
MAX_UPLOAD_BYTES = 30 * 1024 * 1024  # the image limit the media resolver applies anyway
# An unauthenticated JSON body up to this size is still read, to refuse it in the envelope its dialect expects.
_PEEK_BYTES = 64 * 1024

# The SDK polls while the status is queued/in_progress and returns on anything else, so only the four words exist.
_STATUS = {
    Status.QUEUED: "queued",
    Status.RUNNING: "in_progress",
    Status.SUCCEEDED: "completed",
    Status.FAILED: "failed",
    Status.EXPIRED: "failed",
    Status.CANCELLED: "failed",
}
_VIDEO_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime"}
_LIST_LIMIT_MAX = 100

_IMAGE_URL = any_of(URL, obj(Field("url", URL, required=True)))
# OpenAI's create fields (JSON, or multipart with `input_reference` as an uploaded image).
CREATE_BODY = describe(
    Field("model", STR, f"{DEFAULT_MODEL} when left out"),
    Field("prompt", STR, required=True),
    Field("seconds", any_of(STR, INT), 'Whole seconds, e.g. "4"'),
    Field("size", STR, "WIDTHxHEIGHT, e.g. 1280x720: the model's size nearest to it"),
    Field(
        "input_reference",
        any_of(
            URL,
            obj(
                Field("image_url", _IMAGE_URL),
                Field("file_id", STR, "Not supported (refused): upload the image or pass image_url"),
            ),
        ),
        "The first frame (a reference image beside characters): an uploaded image, a URL or {image_url}",
    ),
    openai_edits.CHARACTERS,
)
REMIX_BODY = describe(Field("prompt", STR, "The new prompt; the rest is the source video's", required=True))


def render_error(error: ApiError, request_id: str) -> JSONResponse:
    body = {"error": openai_error_fields(error)}
    return JSONResponse(body, status_code=error.status, headers={"x-request-id": request_id})


# -- create: which dialect a body speaks --------------------------------------------------------------------------


def body_dialect(content_type: str, body: Any, catalog: Catalog | None = None) -> str:
    """Which dialect a create body on this shared route speaks; the first rule that applies decides.

    1. Not a JSON object (multipart, form, broken JSON): OpenAI.
    2. A field only MoonApiX has (`references`, `images`, `image_url`, `aspect_ratio`, `metadata`, ...), or a
       `content` array beside a top-level `prompt` (Ark has no `prompt`): MoonApiX.
    3. A `content` array: 3hei (an Ark body), unless the model is a MoonApiX line (its text can sit in content).
    4. OpenAI's own `size` or `input_reference`: OpenAI.
    5. A model of a MoonApiX line (catalog `dialect`), or an option OpenAI lacks (`duration`, `ratio`,
       `resolution`, `callback_url`, `seed`, ...): MoonApiX.
    6. Otherwise (`model`, `prompt`, `seconds`): OpenAI.
    """
    if "json" not in content_type or not isinstance(body, dict):
        return NAME
    present = {name for name, value in body.items() if value is not None}  # JSON null means absent
    if present & moonapix.ONLY_FIELDS or ("content" in present and "prompt" in present):
        return moonapix.NAME
    model = body.get("model")
    profile = catalog.find(model.strip()) if catalog is not None and isinstance(model, str) else None
    vendor_model = profile is not None and profile.dialect == moonapix.NAME
    if isinstance(body.get("content"), list):
        return moonapix.NAME if vendor_model else threehei.NAME
    if present & {"size", "input_reference"}:
        return NAME
    if vendor_model or present & moonapix.OPTION_FIELDS:
        return moonapix.NAME
    return NAME


# -- create: OpenAI body -> TaskSpec ------------------------------------------------------------------------------


def _seconds(raw: Any) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise invalid("seconds", 'seconds must be a whole number of seconds, e.g. "4"')
    if isinstance(raw, int):
        return raw
    # ASCII digits only, and few of them: str.isdigit() also accepts "²", and int() refuses over 4,300 digits.
    if isinstance(raw, str) and SMALL_INT.fullmatch(raw.strip()):
        return int(raw.strip())
    shown = raw if not isinstance(raw, str) or len(raw) <= 40 else raw[:40] + "..."
    raise invalid("seconds", f'{shown!r} is not a whole number of seconds, e.g. "4"')


def size_to_geometry(catalog: Catalog, model: str, size: str) -> tuple[str, str]:
    """`WxH` -> (resolution, ratio) of the model.

    The rule: the model's exact size when one of its (resolution, ratio) entries has it; otherwise the supported
    ratio nearest W:H (log scale), at the resolution whose short side is closest to min(W, H).
    """
    profile = catalog.find(model)
    if profile is None:
        raise model_not_found(model, catalog.aliases)
    width_s, sep, height_s = size.lower().partition("x")
    if not sep or not SMALL_INT.fullmatch(width_s.strip()) or not SMALL_INT.fullmatch(height_s.strip()):
        raise invalid("size", f'{shown(size)!r} is not a size; expected WIDTHxHEIGHT, e.g. "1280x720"')
    width, height = int(width_s), int(height_s)
    if width <= 0 or height <= 0:
        raise invalid("size", f"{size!r} must have a positive width and height")
    table = catalog.geometry[profile.family]
    ratios = tuple(r for r in profile.ratios if r != "adaptive")
    for resolution in profile.resolutions:
        for ratio in ratios:
            if table[resolution].get(ratio) == (width, height):
                return resolution, ratio
    ratio = nearest_ratio(width, height, ratios)
    short = min(width, height)
    resolution = min(profile.resolutions, key=lambda r: abs(min(table[r][ratio]) - short))
    return resolution, ratio


def _image_reference(value: Any, param: str) -> str:
    """The URL an `input_reference` stands for: a string URL, `{"image_url": ...}` or an uploaded image."""
    if isinstance(value, tuple):  # (content type, bytes) of an uploaded file
        mime, data = value
        if len(data) > MAX_UPLOAD_BYTES:
            raise invalid(param, f"the uploaded image exceeds {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
        if not data:
            raise invalid(param, "the uploaded image is empty")
        # The resolver sniffs the real type from the bytes; the declared one only has to be well-formed.
        mime = mime if mime and "/" in mime and ";" not in mime and "," not in mime else "application/octet-stream"
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    if isinstance(value, dict):
        if value.get("file_id") is not None and value.get("image_url") is None:
            raise invalid(
                f"{param}.file_id",
                "file references are not supported; upload the image or pass input_reference.image_url",
            )
        value = value.get("image_url")
        param = f"{param}.image_url"
        if isinstance(value, dict):  # {"image_url": {"url": ...}} as in chat messages
            value = value.get("url")
    if not isinstance(value, str) or not value.strip():
        raise invalid(param, 'input_reference must be an image file, an image URL or {"image_url": URL}')
    return value.strip()


def parse_openai(fields: dict[str, Any], catalog: Catalog) -> tuple[TaskSpec, Soft]:
    """OpenAI create fields -> canonical spec. `input_reference` becomes the first frame."""
    prompt = fields.get("prompt")
    if prompt is None:
        raise missing("prompt")
    if not isinstance(prompt, str):
        raise invalid("prompt", "prompt must be a string")
    model = fields.get("model")
    if model is not None and not isinstance(model, str):
        raise invalid("model", "model must be a string")
    model = (model or "").strip() or DEFAULT_MODEL
    resolution = ratio = None
    size = fields.get("size")
    if size is not None and size != "":
        if not isinstance(size, str):
            raise invalid("size", 'size must be a string such as "1280x720"')
        resolution, ratio = size_to_geometry(catalog, model, size)
    media = []
    reference = fields.get("input_reference")
    if reference is not None:
        url = _image_reference(reference, "input_reference")
        media.append(MediaRef("image", url, "first_frame", "input_reference"))
    spec = TaskSpec(
        model=model,
        prompt=prompt,
        media=media,
        duration=_seconds(fields.get("seconds")),
        resolution=resolution,
        ratio=ratio,
        wire_names={"duration": "seconds", "resolution": "size", "ratio": "size"},
    )
    return spec, ()


async def _read_uploads(values: dict[str, Any]) -> dict[str, Any]:
    """An uploaded `input_reference` as (content type, bytes), the shape `parse_openai` takes."""
    upload = values.get("input_reference")
    if isinstance(upload, UploadFile):
        data = await openai_forms.read_upload(upload, MAX_UPLOAD_BYTES, "input_reference")
        values = {**values, "input_reference": (upload.content_type or "", data)}
    return values


async def _with_characters(service: TaskService, owner: str, values: dict[str, Any], spec: TaskSpec) -> TaskSpec:
    """Add the characters the request names or mentions as reference media; beside them an `input_reference`
    is a reference image (Ark does not mix first frames with references)."""
    refs = await openai_edits.character_refs(service, owner, values, spec.prompt)
    if not refs:
        return spec
    media = [replace(m, role="reference_image") if m.role == "first_frame" else m for m in spec.media]
    # Errors about the media together (too many reference videos, ...) name the field that brought them.
    wire_names = {**spec.wire_names, "media": "characters", "media.video": "characters", "media.image": "characters"}
    return replace(spec, media=[*media, *refs], wire_names=wire_names)


# -- answers ------------------------------------------------------------------------------------------------------


def _seconds_of(spec: TaskPlan) -> str | None:
    if spec.frame_count:
        return str(round((spec.frame_count - 1) / spec.fps))
    return str(spec.duration) if spec.duration is not None else None


def _expires_at(task: Task, links: dict[str, str]) -> int | None:
    if task.status is not Status.SUCCEEDED:
        return None
    if "video_url" in links:
        expires = parse_qs(urlsplit(links["video_url"]).query).get("expires")
        if expires and expires[0].isdigit():
            return int(expires[0])
    return int((task.finished_at or task.updated_at) + ASSETS_TTL_S)


def render_task(task: Task, links: dict[str, str]) -> dict[str, Any]:
    """The `Video` object; every key is present (null when unknown), as openai-node's types expect."""
    spec = task.spec
    status = _STATUS[task.status]
    error = None
    if task.error:
        error = {"code": task.error["code"], "message": task.error["message"]}
    elif task.status is Status.CANCELLED:
        error = {"code": "cancelled", "message": "the video job was cancelled"}
    progress = {"queued": 0, "completed": 100}.get(status, round(task.progress * 100))
    return {
        "id": task.id,
        "object": "video",
        "model": spec.model_name,
        "status": status,
        "progress": progress,
        "created_at": int(task.created_at),
        "completed_at": int(task.finished_at) if task.finished_at and task.status.terminal else None,
        "expires_at": _expires_at(task, links),
        "prompt": spec.prompt,
        "remixed_from_video_id": spec.remix_of,
        "seconds": _seconds_of(spec),
        "size": f"{spec.width}x{spec.height}" if spec.width and spec.height else None,
        "error": error,
    }


def callback_url(task: Task) -> str | None:
    return None  # OpenAI sends events to the key's registered endpoints instead (openai_webhooks.py)


# The other dialects whose bodies the shared create route takes: their tasks answer GETs here in their own shape.
_SHARING_ROUTE: dict[str, Dialect] = {d.name: d for d in (threehei.DIALECT, moonapix.DIALECT)}


def _render_any(task: Task, links: dict[str, str]) -> dict[str, Any]:
    """A GET answers in the task's own dialect: 3hei tasks as Ark task objects, MoonApiX tasks as MoonApiX's
    objects, all others (created on other routes too) as `Video`."""
    sharing = _SHARING_ROUTE.get(task.dialect)
    return sharing.render_task(task, links) if sharing is not None else render_task(task, links)


def _polled(body: dict[str, Any], status: int = 200) -> JSONResponse:
    # The SDK's poll helper sleeps for this header between retrievals.
    return JSONResponse(body, status_code=status, headers={"openai-poll-after-ms": POLL_AFTER_MS})


# -- content variants ---------------------------------------------------------------------------------------------


async def _content(service: TaskService, task: Task, variant: str) -> Response:
    if task.status is not Status.SUCCEEDED or not task.result:
        raise ApiError(
            404,
            "ResourceNotFound",
            f"the video {task.id} is {_STATUS[task.status]}; its content is available once it is completed",
            "video_id",
        )
    if variant == "video":
        stored = await service.video_file(task)
        media_type = _VIDEO_TYPES.get(PurePath(stored.name).suffix if stored else "", "application/octet-stream")
    else:
        stored = await service.still(task, _THUMBNAIL if variant == "thumbnail" else _SPRITESHEET, render_stills)
        media_type = "image/webp" if variant == "thumbnail" else "image/jpeg"
    if stored is None:
        raise not_found("content of video", task.id, "video_id")
    return stored_response(service.storage, stored, media_type)


# -- routes -------------------------------------------------------------------------------------------------------


def _int_query(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    if not SMALL_INT.fullmatch(raw) or not low <= int(raw) <= high:
        raise invalid(name, f"{name} must be an integer in [{low}, {high}]")
    return int(raw)


async def _create(request: Request) -> JSONResponse:
    service = task_service(request)
    content_type = request.headers.get("content-type", "").lower()
    if openai_forms.is_form(content_type):
        key = await authenticate(request)
        async with openai_forms.fields(request) as values:
            values = await _read_uploads(values)
            spec, soft = parse_openai(values, service.catalog)
            spec = await _with_characters(service, key.id, values, spec)
        task = await service.create(spec, soft, key=key, dialect=NAME, idempotency_key=idempotency_key(request))
        return _polled(render_task(task, {}))
    # The key is checked before the body is read, so a stranger's body costs nothing. Which envelope a refusal
    # answers in depends on the body, though, so a small body is still read to pick it; a large one gets OpenAI's.
    try:
        await authenticate(request)
    except ApiError:
        length = request.headers.get("content-length", "")
        if not (SMALL_INT.fullmatch(length) and int(length) <= _PEEK_BYTES):
            raise
    raw = await request.body()
    try:
        body = loads_json(raw) if raw.strip() else None
    except ApiError:
        body = ...  # not JSON: answered below, in OpenAI's envelope
    dialect = body_dialect(content_type or "application/json", body, service.catalog)
    if dialect == moonapix.NAME:
        return await moonapix.create(request, body)  # errors in MoonApiX's envelope
    if dialect == threehei.NAME:
        try:
            key = await authenticate(request)
            spec, soft = ark.parse_create(body)
            task = await service.create(
                spec, soft, key=key, dialect=threehei.NAME, idempotency_key=idempotency_key(request)
            )
        except ApiError as error:
            return ark.render_error(error, request_id(request))  # 3hei clients expect Ark's envelope
        return JSONResponse({"id": task.id})
    key = await authenticate(request)
    if not isinstance(body, dict):
        raise invalid("body", "the request body must be a JSON object or multipart/form-data")
    spec, soft = parse_openai(body, service.catalog)
    spec = await _with_characters(service, key.id, body, spec)
    task = await service.create(spec, soft, key=key, dialect=NAME, idempotency_key=idempotency_key(request))
    return _polled(render_task(task, {}))


async def _derived(request: Request, key: ApiKey, service: TaskService, task_type: str) -> JSONResponse:
    """An edit or an extension of a video (openai_edits.py says how they map onto Seedance)."""
    async with openai_forms.fields(request) as values:
        added = _seconds(values.get("seconds")) if task_type == openai_edits.EXTEND else None
        spec = await openai_edits.derived_spec(service, key.id, values, task_type, added, DEFAULT_MODEL)
    task = await service.create(spec, (), key=key, dialect=NAME, idempotency_key=idempotency_key(request))
    return _polled(render_task(task, {}))


async def _remix(request: Request, key: ApiKey, service: TaskService, video_id: str) -> JSONResponse:
    async with openai_forms.fields(request) as body:  # JSON, or multipart from openai-node's maybe-multipart
        prompt = body.get("prompt")
    if prompt is None:
        raise missing("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid("prompt", "prompt must be a non-empty string")
    task = await service.remix(
        key,
        video_id,
        prompt,
        dialect=NAME,
        status_word=_STATUS.__getitem__,
        wire_names={"duration": "seconds", "resolution": "size", "ratio": "size"},
        idempotency_key=idempotency_key(request),
    )
    return _polled(render_task(task, {}))


async def _delete(key: ApiKey, service: TaskService, video_id: str) -> JSONResponse:
    task = await service.delete_or_cancel_video(key, video_id)
    if task.dialect == threehei.NAME:
        return JSONResponse({})  # Ark's DELETE answer
    return JSONResponse({"id": video_id, "deleted": True, "object": "video.deleted"})


router = APIRouter(tags=["OpenAI videos / 3hei / MoonApiX"])


@router.post(PREFIX, summary="Create a video (OpenAI multipart or JSON body; 3hei Ark body; MoonApiX body)")
async def create(request: Request) -> JSONResponse:
    return await _create(request)


@router.post(PREFIX + "/edits", summary="Edit a video (Seedance reference-video editing)")
async def edit(request: Request, key: Caller, service: Service) -> JSONResponse:
    return await _derived(request, key, service, openai_edits.EDIT)


@router.post(PREFIX + "/extensions", summary="Extend a video (Seedance reference-video extension)")
async def extend(request: Request, key: Caller, service: Service) -> JSONResponse:
    return await _derived(request, key, service, openai_edits.EXTEND)


@router.post(PREFIX + "/characters", summary="Create a character from a video (an asset in the library)")
async def create_character(request: Request, key: Caller, service: Service) -> JSONResponse:
    async with openai_forms.fields(request) as values:
        asset = await openai_edits.create_character(service, key.id, values)
    return JSONResponse(openai_edits.render_character(asset))


# Before `/{video_id}/content`, which `/characters/content` would otherwise match.
@router.get(PREFIX + "/characters/{character_id}", summary="Retrieve a character")
async def get_character(character_id: str, key: Caller, service: Service) -> JSONResponse:
    asset = await openai_edits.get_character(service, key.id, character_id)
    return JSONResponse(openai_edits.render_character(asset))


@router.get(PREFIX, summary="List videos (cursor pagination)")
async def list_videos(request: Request, key: Caller, service: Service) -> JSONResponse:
    query = request.query_params
    limit = _int_query(query.get("limit"), "limit", 20, 1, _LIST_LIMIT_MAX)
    order = query.get("order") or "desc"
    if order not in ("asc", "desc"):
        raise invalid("order", f"{order!r} is not asc or desc")
    # One extra row says whether another page follows.
    _, tasks = await service.list(
        key, limit=limit + 1, newest_first=order == "desc", after_id=query.get("after") or None
    )
    page, more = tasks[:limit], len(tasks) > limit
    base = base_url(request)
    return JSONResponse(
        {
            "object": "list",
            "data": [render_task(t, service.links(t, base)) for t in page],
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
            "has_more": more,
        }
    )


@router.get(PREFIX + "/{video_id}", summary="Retrieve a video (3hei and MoonApiX tasks answer in their own shape)")
async def retrieve(video_id: str, request: Request, key: Caller, service: Service) -> JSONResponse:
    task = await service.get(key, video_id)
    return _polled(_render_any(task, service.links(task, base_url(request))))


@router.delete(PREFIX + "/{video_id}", summary="Delete a video, or cancel a queued one")
async def delete(video_id: str, key: Caller, service: Service) -> JSONResponse:
    return await _delete(key, service, video_id)


@router.get(PREFIX + "/{video_id}/content", summary="Download the video, its thumbnail or its spritesheet")
async def content(video_id: str, request: Request, variant: str = "video") -> Response:
    if variant not in ("video", "thumbnail", "spritesheet"):
        raise invalid("variant", f"{variant!r} is not video, thumbnail or spritesheet")
    # The variant is checked before the key (a bad one answers 400 whoever asks), so no `Caller` here.
    key = await authenticate(request)
    service = task_service(request)
    return await _content(service, await service.get(key, video_id), variant)


@router.post(PREFIX + "/{video_id}/remix", summary="Remix a completed video with a new prompt")
async def remix(video_id: str, request: Request, key: Caller, service: Service) -> JSONResponse:
    return await _remix(request, key, service, video_id)


router.include_router(openai_webhooks.router)


class OpenAIVideos:
    """OpenAI's `Video` objects; no per-task callbacks, events to the endpoints each key subscribed."""

    name = NAME
    prefixes = (PREFIX, openai_webhooks.PREFIX)
    result_ttl_s = DEFAULT_RESULT_TTL_S

    def render_task(self, task: Task, links: dict[str, str]) -> dict[str, Any]:
        return render_task(task, links)

    def callback_url(self, task: Task) -> str | None:
        return callback_url(task)

    def render_error(self, error: ApiError, request_id: str) -> JSONResponse:
        return render_error(error, request_id)

    def event_type(self, task: Task) -> str | None:
        return openai_webhooks.event_type(task)

    def render_event(self, task: Task, event: str) -> dict[str, Any]:
        return openai_webhooks.render_event(task, event)

    def router(self) -> APIRouter:
        return router


DIALECT = OpenAIVideos()
