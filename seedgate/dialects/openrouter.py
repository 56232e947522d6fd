"""OpenRouter's video API (`/api/v1/videos`, launched March 2026; reference/updates-2026-12.md §2.4).

Submit, poll, download: `POST /api/v1/videos` answers **202** `{id, polling_url, status: "pending"}`;
`GET /api/v1/videos/{id}` gives the job with `urls` (signed storage links), `unsigned_urls` (the authenticated
content route), `usage.cost` and `error`; `GET /api/v1/videos/{id}/content?index=0` streams the MP4;
`GET /api/v1/videos/models` lists what each catalog model accepts. Six statuses: pending, in_progress, completed,
failed, cancelled, expired.

Media come as `frame_images[]` (`frame_type` first_frame / last_frame) and `input_references[]` (reference
images; seedgate also takes Ark's `video_url` and `audio_url` parts there). When both are given, frame_images
win and the references are ignored, as OpenRouter documents. Seedance options OpenRouter has no field for ride in
`provider.options.<slug>.parameters` (its passthrough mechanism) under the slug seedgate, bytedance, byteplus or
volcengine; the models route lists the allowed names, and other providers' options are ignored.

Callbacks: with `callback_url`, a finished job (completed, failed, cancelled, expired) POSTs the event
`{type: "video.generation.<status>", created_at, data: {...}}`, signed the way OpenRouter signs
(`X-OpenRouter-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>,<raw body>">`, worker/webhooks.py).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from seedgate.api.deps import Caller, Service, authenticate, base_url, task_service
from seedgate.api.files import stored_response
from seedgate.core.catalog import Catalog, ModelProfile
from seedgate.core.errors import ApiError, invalid, missing, not_found, shown
from seedgate.core.spec import MediaRef, TaskSpec
from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.core.validation import Soft
from seedgate.store.store import ApiKey

from . import ark
from .base import CodecDialect
from .bodies import BOOL, INT, STR, URL, Field, any_of, array, describe, enum, obj
from .common import SMALL_INT, idempotency_key, json_body, message_naming_param, read_task, require_model
from .costs import task_cost

NAME = "openrouter"
PREFIX = "/api/v1/videos"

STATUS = {
    Status.QUEUED: "pending",
    Status.RUNNING: "in_progress",
    Status.SUCCEEDED: "completed",
    Status.FAILED: "failed",
    Status.CANCELLED: "cancelled",
    Status.EXPIRED: "expired",
}
FRAME_TYPES = ("first_frame", "last_frame")
_REFERENCE_PARTS = {"image_url": "image", "video_url": "video", "audio_url": "audio"}
# OpenRouter spells the large sizes 1K/2K/4K; the catalog spells them in lower case. Accepted in any case.
_RESOLUTION_WORDS = {"1k": "1K", "2k": "2K", "4k": "4K"}
# `provider.options` is keyed by provider slug; options for these slugs are seedgate's, those for any other provider
# (e.g. google-vertex) are for a provider this server is not, and are ignored as OpenRouter would when routing here.
PROVIDER_SLUGS = ("seedgate", "bytedance", "byteplus", "volcengine")
# Seedance options an OpenRouter body can pass through `provider.options.<slug>.parameters`; each is offered by
# the models route only where the model's profile has it (None: every model).
PASSTHROUGH: dict[str, str | None] = {
    "watermark": None,
    "return_last_frame": None,
    "execution_expires_after": None,
    "safety_identifier": None,
    "camera_fixed": "camera_fixed",
    "service_tier": "flex",
    "priority": "priority",
    "output_format": "output_formats",
}
_VIDEO_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime"}

_URL_PART = any_of(URL, obj(Field("url", URL, required=True)))
_ARK_FIELDS = {f.name: f for f in ark.CREATE_BODY.fields}
# The options a provider slug passes through: Ark's fields of those names (the models route offers them per model).
_PARAMETERS = obj(*(_ARK_FIELDS[name] for name in PASSTHROUGH))
CREATE_BODY = describe(
    Field("model", STR, required=True),
    Field("prompt", STR, required=True),
    Field(
        "frame_images",
        array(
            obj(
                Field("type", enum("image_url")),
                Field("frame_type", enum(*FRAME_TYPES), required=True),
                Field("image_url", _URL_PART, required=True),
            )
        ),
        "First and last frames; when given, input_references are ignored",
    ),
    Field(
        "input_references",
        array(
            obj(
                Field("type", enum(*_REFERENCE_PARTS), "image_url when left out"),
                *(Field(part, _URL_PART) for part in _REFERENCE_PARTS),
            )
        ),
        "Reference images (seedgate also takes video_url and audio_url parts)",
    ),
    Field("duration", INT, "Seconds"),
    Field("resolution", STR, "e.g. 720p, 1080p, 4K (any case)"),
    Field("aspect_ratio", STR, "e.g. 16:9"),
    Field("seed", INT),
    Field("generate_audio", BOOL),
    Field("callback_url", STR, "An absolute http(s) URL; a finished job POSTs its event there"),
    Field(
        "provider",
        obj(Field("options", obj(*(Field(slug, obj(Field("parameters", _PARAMETERS))) for slug in PROVIDER_SLUGS)))),
        "Seedance options OpenRouter has no field for, under provider.options.<slug>.parameters",
    ),
)
_DATED_ID = re.compile(r"-(\d{2})(\d{2})(\d{2})$")


def render_error(error: ApiError, request_id: str) -> JSONResponse:
    """OpenRouter's envelope: `{"error": {"code": <HTTP status>, "message", "metadata"}}`, status == code. A spent
    budget is OpenRouter's 402 (insufficient credits)."""
    status = 402 if error.code == "SetLimitExceeded" else error.status
    metadata: dict[str, Any] = {"error_code": error.code, "request_id": request_id}
    if error.param:
        metadata["param"] = error.param
    body = {"error": {"code": status, "message": message_naming_param(error), "metadata": metadata}}
    return JSONResponse(body, status_code=status, headers={"X-Request-Id": request_id})


# -- create: body -> TaskSpec -------------------------------------------------------------------------------------


def _url_of(part: Any, where: str, kind_field: str) -> str:
    holder = part.get(kind_field) if isinstance(part, dict) else None
    url = holder.get("url") if isinstance(holder, dict) else holder
    if not isinstance(url, str) or not url.strip():
        raise invalid(f"{where}.{kind_field}.url", f"{kind_field}.url must be a non-empty URL string")
    return url.strip()


def _list_of(body: dict[str, Any], field: str) -> list[Any]:
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(field, f"{field} must be an array")
    return value


def _frame_images(body: dict[str, Any]) -> list[MediaRef]:
    media: list[MediaRef] = []
    for index, part in enumerate(_list_of(body, "frame_images")):
        where = f"frame_images[{index}]"
        if not isinstance(part, dict):
            raise invalid(where, "each frame image must be an object")
        if part.get("type") not in (None, "image_url"):
            raise invalid(f"{where}.type", f"{part.get('type')!r} is not image_url")
        frame_type = part.get("frame_type")
        if frame_type is None:
            raise missing(f"{where}.frame_type")
        if frame_type not in FRAME_TYPES:
            raise invalid(f"{where}.frame_type", f"{frame_type!r} is not first_frame or last_frame")
        if any(m.role == frame_type for m in media):
            raise invalid(f"{where}.frame_type", f"more than one {frame_type} image")
        url = _url_of(part, where, "image_url")
        media.append(MediaRef("image", url, frame_type, f"{where}.image_url.url"))
    return media


def _input_references(body: dict[str, Any]) -> list[MediaRef]:
    media: list[MediaRef] = []
    for index, part in enumerate(_list_of(body, "input_references")):
        where = f"input_references[{index}]"
        if not isinstance(part, dict):
            raise invalid(where, "each input reference must be an object")
        kind_field = part.get("type") or "image_url"
        kind = _REFERENCE_PARTS.get(kind_field) if isinstance(kind_field, str) else None
        if kind is None:
            raise invalid(f"{where}.type", f"{kind_field!r} is not image_url, video_url or audio_url")
        url = _url_of(part, where, kind_field)
        media.append(MediaRef(kind, url, f"reference_{kind}", f"{where}.{kind_field}.url"))
    return media


def _passthrough(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Seedance options from `provider.options.<slug>.parameters`, with their wire names for error messages."""
    provider = body.get("provider")
    if provider is None:
        return {}, {}
    if not isinstance(provider, dict):
        raise invalid("provider", "provider must be an object")
    options = provider.get("options")
    if options is None:
        return {}, {}
    if not isinstance(options, dict):
        raise invalid("provider.options", "provider.options must be an object keyed by provider slug")
    values: dict[str, Any] = {}
    wire: dict[str, str] = {}
    for slug, entry in options.items():
        if slug not in PROVIDER_SLUGS:
            continue
        where = f"provider.options.{slug}"
        if not isinstance(entry, dict):
            raise invalid(where, f"{where} must be an object")
        parameters = entry.get("parameters")
        if parameters is None:
            continue
        if not isinstance(parameters, dict):
            raise invalid(f"{where}.parameters", "parameters must be an object")
        for name, value in parameters.items():
            if name not in PASSTHROUGH:
                # A value the model would silently drop is worse than a clear refusal (the models route lists them).
                raise invalid(
                    f"{where}.parameters.{name}",
                    f"{name!r} cannot be passed through; allowed: {', '.join(PASSTHROUGH)}",
                )
            if value is not None:
                values[name] = value
                wire[name] = f"{where}.parameters.{name}"
    return values, wire


def _resolution(value: Any, profile: ModelProfile | None) -> Any:
    """The catalog's spelling of an OpenRouter resolution ("4K" -> "4k"); anything else is left to validation."""
    if isinstance(value, str) and profile is not None:
        for name in profile.resolutions:
            if name.lower() == value.strip().lower():
                return name
    return value


def parse_create(body: Any, catalog: Catalog | None = None) -> tuple[TaskSpec, Soft]:
    model = require_model(body)
    prompt = body.get("prompt")
    if prompt is None:
        raise missing("prompt")
    if not isinstance(prompt, str):
        raise invalid("prompt", "prompt must be a string")
    frames = _frame_images(body)
    references = _input_references(body)
    media = frames or references  # frame_images take precedence over input_references (OpenRouter's rule)
    profile = catalog.find(model) if catalog is not None else None
    options, wire = _passthrough(body)
    for field in ("duration", "seed", "generate_audio", "callback_url"):
        if body.get(field) is not None:
            options[field] = body[field]
    if body.get("resolution") is not None:
        options["resolution"] = _resolution(body["resolution"], profile)
    if body.get("aspect_ratio") is not None:
        options["ratio"] = body["aspect_ratio"]
    callback = options.get("callback_url")
    if callback is not None and (not isinstance(callback, str) or not callback.startswith(("http://", "https://"))):
        raise invalid("callback_url", "callback_url must be an absolute http(s) URL")
    spec = TaskSpec(
        model=model,
        prompt=prompt,
        media=media,
        wire_names={"ratio": "aspect_ratio", "media": "frame_images" if frames else "input_references", **wire},
        **options,
    )
    return spec, ()


# -- answers ------------------------------------------------------------------------------------------------------


def _base_of(links: dict[str, str]) -> str:
    """The server's base URL, taken from a signed link (callbacks are rendered without a request)."""
    for link in links.values():
        parts = urlsplit(link)
        return f"{parts.scheme}://{parts.netloc}"
    return ""


def cost_of(task: Task) -> float | None:
    """What the job cost, in the currency of the model's price (OpenRouter counts USD credits; seedgate reports the
    catalog's amount unconverted: docs/compatibility.md): the delivered cost, 0 for a job that ended without a video,
    null for a model without a price, which OpenRouter's SDKs accept (`cost: OptionalNullable[float]`)."""
    cost = task_cost(task)
    return None if cost is None or cost.get("estimated") else float(cost["amount"])


def _error_text(task: Task) -> str | None:
    if task.error:
        return task.error["message"]
    if task.status is Status.CANCELLED:
        return "the video job was cancelled"
    return None


def render_task(task: Task, links: dict[str, str], base: str | None = None) -> dict[str, Any]:
    """The job object `GET /api/v1/videos/{id}` answers (VideoGenerationResponse)."""
    base = _base_of(links) if base is None else base
    status = STATUS[task.status]
    body: dict[str, Any] = {
        "id": task.id,
        "polling_url": f"{base}{PREFIX}/{task.id}",
        "status": status,
        "model": task.spec.model_name,
        "created_at": int(task.created_at),
        # OpenRouter's generation record exists once the job was processed; here it is the task itself.
        "generation_id": task.id if task.status is not Status.QUEUED else None,
        "urls": [links["video_url"]] if "video_url" in links else [],
        "unsigned_urls": [f"{base}{PREFIX}/{task.id}/content?index=0"] if "video_url" in links else [],
        "usage": {"cost": cost_of(task), "is_byok": False} if task.status.terminal else None,
        "error": _error_text(task),
    }
    if task.status is Status.SUCCEEDED and task.result and task.result.get("notice"):
        body["engine_notice"] = task.result["notice"]
    return body


def _iso(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + f".{int(stamp % 1 * 1000):03d}Z"


def render_callback(task: Task, links: dict[str, str]) -> dict[str, Any]:
    """The webhook event a finished job POSTs to its callback_url."""
    job = render_task(task, links)
    data = {
        key: job[key] for key in ("id", "status", "generation_id", "model", "urls", "unsigned_urls", "usage", "error")
    }
    return {"type": f"video.generation.{job['status']}", "created_at": _iso(task.updated_at), "data": data}


def callback_url(task: Task) -> str | None:
    # OpenRouter notifies once, when the job is finished.
    return task.spec.callback_url if task.status.terminal else None


# -- the models route ---------------------------------------------------------------------------------------------


def _created(model_id: str) -> int:
    """Seedance IDs end in their release date (-yymmdd); a model without one reports 0."""
    found = _DATED_ID.search(model_id)
    if not found:
        return 0
    year, month, day = (int(part) for part in found.groups())
    try:
        return int(datetime(2000 + year, month, day, tzinfo=UTC).timestamp())
    except ValueError:
        return 0


def _passthrough_for(profile: ModelProfile) -> list[str]:
    def offered(flag: str | None) -> bool:
        if flag is None:
            return True
        value = getattr(profile, flag)
        return len(value) > 1 if isinstance(value, tuple) else bool(value)

    return [name for name, flag in PASSTHROUGH.items() if offered(flag)]


def render_model(profile: ModelProfile) -> dict[str, Any]:
    """One catalog model as OpenRouter's VideoModel: what a client may send, from the same data validation uses."""
    modes = profile.served_modes if profile.served_modes is not None else profile.modes
    frames = [t for t, mode in (("first_frame", "first_frame"), ("last_frame", "first_last_frame")) if mode in modes]
    durations = profile.duration.values or tuple(range(max(profile.duration.min, 1), profile.duration.max + 1))
    return {
        "id": profile.id,
        "canonical_slug": profile.id,
        "name": profile.name,
        "description": f"{profile.name}; modes: {', '.join(modes)}; engine: {profile.engine}",
        "created": _created(profile.id),
        "aliases": list(profile.aliases),
        "supported_resolutions": [_RESOLUTION_WORDS.get(r, r) for r in profile.resolutions],
        "supported_aspect_ratios": [r for r in profile.ratios if r != "adaptive"],
        "supported_sizes": None,
        "supported_durations": list(durations),
        "supported_frame_images": frames,
        "supports_input_references": "reference" in modes,
        "generate_audio": profile.audio,
        "seed": True,
        "allowed_passthrough_parameters": _passthrough_for(profile),
    }


# -- routes -------------------------------------------------------------------------------------------------------


def _index(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    if not SMALL_INT.fullmatch(raw):
        raise invalid("index", f"{shown(raw)!r} is not a non-negative integer")
    return int(raw)


async def _content(request: Request, key: ApiKey, job_id: str, index: int) -> Response:
    service = task_service(request)
    task = await service.get(key, job_id)
    if task.status is not Status.SUCCEEDED or not task.result:
        raise ApiError(
            404,
            "ResourceNotFound",
            f"the video job {job_id} is {STATUS[task.status]}; its content is available once it is completed",
            "jobId",
        )
    if index != 0:
        raise not_found("output", f"{index} of video job {job_id} (it has one, index 0)", "index")
    video = await service.video_file(task)
    if video is None:
        raise not_found("content of video job", job_id, "jobId")
    media_type = _VIDEO_TYPES.get(PurePath(video.name).suffix, "application/octet-stream")
    return stored_response(service.storage, video, media_type)


router = APIRouter(tags=["OpenRouter videos"])


@router.post(PREFIX, summary="Submit a video generation request (202 with a polling URL)", status_code=202)
async def create(request: Request, key: Caller, service: Service) -> JSONResponse:
    spec, soft = parse_create(await json_body(request), service.catalog)
    task = await service.create(spec, soft, key=key, dialect=NAME, idempotency_key=idempotency_key(request))
    base = base_url(request)
    return JSONResponse(
        {"id": task.id, "polling_url": f"{base}{PREFIX}/{task.id}", "status": "pending"}, status_code=202
    )


# Before `/{job_id}`, which would otherwise take "models" for a job ID.
@router.get(PREFIX + "/models", summary="List the video models and what each accepts")
async def models(service: Service) -> JSONResponse:
    catalog = service.catalog
    return JSONResponse({"data": [render_model(p) for p in catalog.models.values()]})


@router.get(PREFIX + "/{job_id}", summary="Poll a video job (any of the key's tasks, in OpenRouter's shape)")
async def poll(job_id: str, request: Request, key: Caller) -> JSONResponse:
    task, links = await read_task(request, key, job_id)
    return JSONResponse(render_task(task, links, base_url(request)))


@router.get(PREFIX + "/{job_id}/content", summary="Download a completed job's video (index 0)")
async def content(job_id: str, request: Request) -> Response:
    # The index is checked before the key (a bad index answers 400 whoever asks), so no `Caller` here.
    index = _index(request.query_params.get("index"))
    return await _content(request, await authenticate(request), job_id, index)


# OpenRouter: job objects to polls; a finished job POSTs a `video.generation.<status>` event to its callback.
DIALECT = CodecDialect(
    name=NAME,
    prefixes=(PREFIX,),
    render_task=render_callback,
    callback_url=callback_url,
    render_error=render_error,
    routes=router,
)
