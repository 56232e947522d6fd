"""MoonApiX (seed 002): `POST /v1/video/generations`, and MoonApiX bodies on the shared `POST /v1/videos`.

A create body may carry its media in many interchangeable fields: `references[]` (the recommended one),
`images[]`/`videos[]`/`audios[]`, Ark-like `content[]`, and legacy singles or lists (`image_url`,
`first_frame_url`, `reference_video_urls`, ...). All of them become MediaRefs; mirrors of one item sent in several
fields (a new-api fork sends `images[]`, `image_url` and `first_frame_url` for the same picture) count once.
`metadata` is the caller's object, echoed back; model parameters inside it apply when the top level lacks them.

Answers are bare objects with MoonApiX's status words; a finished video's URL sits in `url`, `video_url`,
`output.url` and `metadata.url`. The query page, the error envelope and the webhook body are not documented
(vendors.md §3.2, §7): seedgate answers `{"error": {code, message, param, type}, "success": false}` and POSTs the
query JSON to `callback_url` on terminal states.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from seedgate.api.deps import Caller, authenticate, task_service
from seedgate.core.errors import ApiError, invalid
from seedgate.core.spec import MediaRef, TaskSpec
from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.core.validation import Soft

from .base import CodecDialect
from .bodies import BOOL, INT, OBJECT, STR, URL, Field, any_of, array, describe, enum, obj
from .common import (
    idempotency_key,
    json_body,
    message_naming_param,
    openai_error_fields,
    read_task,
    request_id,
    require_model,
)

NAME = "moonapix"
PREFIX = "/v1/video/generations"
PREFIXES = (PREFIX,)

# `submitted` is MoonApiX's initial accepted state (unlike maxapi's SUBMITTED); it has no word for expiry.
_STATUS = {
    Status.QUEUED: "submitted",
    Status.RUNNING: "running",
    Status.SUCCEEDED: "succeeded",
    Status.FAILED: "failed",
    Status.EXPIRED: "failed",
    Status.CANCELLED: "cancelled",
}

# MoonApiX role -> (the media kind it fits, the canonical role). Music and voice are audio references, style and
# character sheets image references: the canonical model has no finer roles.
_ROLES = {
    "first_frame": ("image", "first_frame"),
    "last_frame": ("image", "last_frame"),
    "reference_image": ("image", "reference_image"),
    "style_reference": ("image", "reference_image"),
    "character_reference": ("image", "reference_image"),
    "reference_video": ("video", "reference_video"),
    "reference_audio": ("audio", "reference_audio"),
    "background_music": ("audio", "reference_audio"),
    "voice_reference": ("audio", "reference_audio"),
}
_MEDIA_TYPES = {"image": "image", "video": "video", "audio": "audio", "music": "audio"}
_CONTENT_TYPES = {"image_url": "image", "video_url": "video", "audio_url": "audio"}
_LISTS = (("images", "image"), ("videos", "video"), ("audios", "audio"))
# Legacy fields holding a URL, a list of URLs or {"url"}: (field, kind, role). A None role is settled from the rest
# of the request (`_settle`); `image`/`image_url` take `input_reference_role` when given.
_LEGACY = (
    ("image", "image", None),
    ("image_url", "image", None),
    ("first_frame_url", "image", "first_frame"),
    ("last_frame_url", "image", "last_frame"),
    ("reference_image_url", "image", "reference_image"),
    ("reference_image_urls", "image", "reference_image"),
    ("video", "video", "reference_video"),
    ("video_url", "video", "reference_video"),
    ("reference_video_url", "video", "reference_video"),
    ("reference_video_urls", "video", "reference_video"),
    ("audio", "audio", "reference_audio"),
    ("audio_url", "audio", "reference_audio"),
    ("reference_audio_url", "audio", "reference_audio"),
    ("reference_audio_urls", "audio", "reference_audio"),
)
_ASSET_FIELDS = ("asset_url", "asset_ref", "asset_id", "asset-id")
# Model parameters the seed allows inside `metadata` ("也可放入 content、duration、seconds、resolution 等").
_FROM_METADATA = frozenset(
    {
        "content",
        "duration",
        "seconds",
        "resolution",
        "ratio",
        "aspect_ratio",
        "video_config",
        "generate_audio",
        "watermark",
        "seed",
    }
)
# The caller's metadata is stored with the task and read on every poll; keep it to a sane size.
METADATA_MAX_BYTES = 16 * 1024
_WHOLE = re.compile(r"-?\d+")

# Fields no other dialect on `POST /v1/videos` has: one of them makes a body MoonApiX's (see openai_videos).
ONLY_FIELDS = frozenset(
    {
        "references",
        "images",
        "videos",
        "audios",
        "aspect_ratio",
        "video_config",
        "metadata",
        "input_reference_role",
        "input_type",
        "generation_type",
    }
    | {field for field, _, _ in _LEGACY}
)
# Options MoonApiX shares with Ark: without `content` the body is not Ark's, and OpenAI has none of them.
OPTION_FIELDS = frozenset({"duration", "ratio", "resolution", "callback_url", "generate_audio", "watermark", "seed"})

_LOCATORS = (
    Field("url", URL),
    Field("asset_url", STR, "Asset://asset_xxx, read when url is absent"),
    Field("asset_ref", STR, "Asset://asset_xxx or a bare asset ID"),
    Field("asset_id", STR, "A bare asset ID"),
    Field("asset-id", STR, "A bare asset ID"),
)
_ROLE = Field("role", enum(*_ROLES), "Music and voice are audio references, style and character sheets images")
_ALIAS = Field("alias", STR, "The name a prompt mentions the item by (@alias)")
_TYPED_ITEM = any_of(URL, obj(*_LOCATORS, _ROLE, _ALIAS))
_LEGACY_ITEM = any_of(URL, obj(*_LOCATORS))
_CONTENT_ITEM = obj(
    Field("type", enum("text", *_CONTENT_TYPES), required=True),
    Field("text", STR),
    *(Field(part, any_of(URL, obj(*_LOCATORS))) for part in _CONTENT_TYPES),
    *_LOCATORS[1:],
    _ROLE,
    _ALIAS,
)
_WHOLE_SECONDS = any_of(INT, STR)
# The create body, on POST /v1/video/generations and the shared POST /v1/videos.
CREATE_BODY = describe(
    Field("model", STR, required=True),
    Field("prompt", STR, "Kept verbatim, @alias mentions included"),
    Field(
        "references",
        array(obj(Field("media_type", enum(*_MEDIA_TYPES)), _ROLE, *_LOCATORS, _ALIAS)),
        "The recommended way to send media; media_type or role is required",
    ),
    *(Field(field, array(_TYPED_ITEM)) for field, _ in _LISTS),
    Field("content", array(_CONTENT_ITEM), "Ark-like parts; text parts add to the prompt"),
    Field("input_reference_role", enum(*_ROLES), "The role of image / image_url"),
    *(Field(field, any_of(_LEGACY_ITEM, array(_LEGACY_ITEM)), "Legacy single or list") for field, _, _ in _LEGACY),
    Field("video_config", obj(Field("aspect_ratio", STR), Field("resolution_name", STR))),
    Field("duration", _WHOLE_SECONDS, "Whole seconds"),
    Field("seconds", _WHOLE_SECONDS, "Whole seconds (a string in OpenAI-like clients); must agree with duration"),
    Field("ratio", STR),
    Field("aspect_ratio", STR, "Must agree with ratio"),
    Field("resolution", STR),
    Field("generate_audio", BOOL),
    Field("watermark", BOOL),
    Field("seed", INT),
    Field("web_search", BOOL),
    Field("callback_url", STR, "Called with the query document once the task is finished"),
    Field(
        "metadata",
        OBJECT,
        f"Echoed back (at most {METADATA_MAX_BYTES // 1024} KiB); model parameters in it "
        f"({', '.join(sorted(_FROM_METADATA))}) apply when the top level lacks them",
    ),
    Field("mode", STR, "Accepted and ignored: the media decide the mode", ignored=True),
    Field("input_type", STR, "Accepted and ignored", ignored=True),
    Field("generation_type", STR, "Accepted and ignored", ignored=True),
)


# -- errors -------------------------------------------------------------------------------------------------------


def render_error(error: ApiError, request_id: str) -> JSONResponse:
    """A guessed envelope (MoonApiX's error page was not found): OpenAI-style inside, `success: false` beside it."""
    fields = openai_error_fields(error)
    body = {
        "error": {
            "code": fields["code"],
            "message": message_naming_param(error),
            "param": error.param,
            "type": fields["type"],
        },
        "success": False,
        "request_id": request_id,
    }
    return JSONResponse(body, status_code=error.status, headers={"X-Request-Id": request_id})


# -- create: body -> TaskSpec -------------------------------------------------------------------------------------


@dataclass
class _Item:
    ref: MediaRef
    field: str  # the top-level field it came from, named by errors about the media as a whole


def _array(value: Any, param: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(param, f"{param} must be an array")
    return value


def _media_url(value: Any, param: str) -> str:
    """A media URL as sent, except that asset references (`Asset://asset_xxx`, any case) become `asset://<id>`."""
    if not isinstance(value, str) or not value.strip():
        raise invalid(param, "must be a non-empty URL string")
    url: str = value.strip()
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() == "asset":
        if not rest.strip("/"):
            raise invalid(param, f"{url!r} names no asset; expected Asset://asset_xxx")
        return f"asset://{rest}"
    return url


def _asset_ref(value: Any, param: str) -> str:
    """`asset_id` / `asset_ref` / `asset_url`: a bare asset ID or a whole reference, as `asset://<id>`."""
    if isinstance(value, str) and value.strip() and "://" not in value:
        return f"asset://{value.strip()}"
    return _media_url(value, param)


def _object_url(item: dict[str, Any], where: str) -> tuple[str, str] | None:
    """The URL of a media object and the param naming it: `url`, else one of the asset fields."""
    if item.get("url") is not None:
        return _media_url(item["url"], f"{where}.url"), f"{where}.url"
    for key in _ASSET_FIELDS:
        if item.get(key) is not None:
            return _asset_ref(item[key], f"{where}.{key}"), f"{where}.{key}"
    return None


def _role(raw: Any, kind: str | None, param: str) -> tuple[str | None, str | None]:
    """(kind, canonical role) of a MoonApiX role; a role also tells the kind when `media_type` is absent."""
    if raw is None:
        return kind, None
    name = raw.strip().lower() if isinstance(raw, str) else None
    if name not in _ROLES:
        raise invalid(param, f"unknown role {raw!r}; use one of {', '.join(_ROLES)}")
    fits, role = _ROLES[name]
    if kind is not None and kind != fits:
        raise invalid(param, f"role {raw!r} is for {fits} media, not {kind}")
    return fits, role


def _alias(item: dict[str, Any], where: str) -> str | None:
    alias = item.get("alias")
    if alias is None:
        return None
    if not isinstance(alias, str) or not alias.strip().lstrip("@"):
        raise invalid(f"{where}.alias", "alias must be a non-empty string")
    return alias.strip().lstrip("@")


def _references(value: Any, items: list[_Item]) -> None:
    for index, item in enumerate(_array(value, "references")):
        where = f"references[{index}]"
        if not isinstance(item, dict):
            raise invalid(where, 'each reference must be an object {"media_type", "role", "url"}')
        kind = None
        media_type = item.get("media_type")
        if media_type is not None:
            kind = _MEDIA_TYPES.get(media_type.strip().lower()) if isinstance(media_type, str) else None
            if kind is None:
                raise invalid(
                    f"{where}.media_type", f"unknown media_type {media_type!r}; use image, video, audio or music"
                )
        kind, role = _role(item.get("role"), kind, f"{where}.role")
        if kind is None:
            raise invalid(f"{where}.media_type", "media_type is required: image, video, audio or music")
        found = _object_url(item, where)
        if found is None:
            raise invalid(f"{where}.url", "url (or asset_id) is required")
        url, param = found
        # A reference without a role is a reference of its kind, as content[] items are.
        ref = MediaRef(kind, url, role or f"reference_{kind}", param, alias=_alias(item, where))
        items.append(_Item(ref, "references"))


def _typed_lists(body: dict[str, Any], items: list[_Item]) -> None:
    for field, kind in _LISTS:
        for index, item in enumerate(_array(body.get(field), field)):
            where = f"{field}[{index}]"
            if isinstance(item, str):
                items.append(_Item(MediaRef(kind, _media_url(item, where), None, where), field))
                continue
            if not isinstance(item, dict):
                raise invalid(where, 'each item must be a URL or an object {"url", "role"}')
            found = _object_url(item, where)
            if found is None:
                raise invalid(f"{where}.url", "url (or asset_id) is required")
            _, role = _role(item.get("role"), kind, f"{where}.role")
            items.append(_Item(MediaRef(kind, found[0], role, found[1], alias=_alias(item, where)), field))


def _content(value: Any, field: str, items: list[_Item]) -> list[str]:
    """Media items of `content[]` (roles default by kind, as the seed documents) and its text items."""
    texts = []
    for index, item in enumerate(_array(value, field)):
        where = f"{field}[{index}]"
        if not isinstance(item, dict):
            raise invalid(where, "each content item must be an object")
        kind_name = item.get("type")
        if kind_name == "text":
            text = item.get("text")
            if not isinstance(text, str):
                raise invalid(f"{where}.text", "text must be a string")
            texts.append(text)
            continue
        if kind_name not in _CONTENT_TYPES:
            raise invalid(
                f"{where}.type", f"unknown content type {kind_name!r}; expected text, image_url, video_url or audio_url"
            )
        kind = _CONTENT_TYPES[kind_name]
        holder = item.get(kind_name)
        if isinstance(holder, str):
            found: tuple[str, str] | None = (_media_url(holder, f"{where}.{kind_name}"), f"{where}.{kind_name}")
        else:
            found = _object_url(holder, f"{where}.{kind_name}") if isinstance(holder, dict) else None
            found = found or _object_url({k: item.get(k) for k in _ASSET_FIELDS}, where)
        if found is None:
            raise invalid(f"{where}.{kind_name}.url", f"{kind_name}.url (or asset_id) is required")
        _, role = _role(item.get("role"), kind, f"{where}.role")
        ref = MediaRef(kind, found[0], role or f"reference_{kind}", found[1], alias=_alias(item, where))
        items.append(_Item(ref, field.split("[")[0]))
    return texts


def _legacy(body: dict[str, Any], image_role: str | None, items: list[_Item]) -> None:
    for field, kind, role in _LEGACY:
        value = body.get(field)
        if value is None:
            continue
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            where = f"{field}[{index}]" if isinstance(value, list) else field
            found = _object_url(item, where) if isinstance(item, dict) else (_media_url(item, where), where)
            if found is None:
                raise invalid(f"{where}.url", "url is required")
            item_role = image_role if kind == "image" and role is None else role
            items.append(_Item(MediaRef(kind, found[0], item_role, found[1]), field))


def _settle(items: list[_Item]) -> list[_Item]:
    """Drop mirrored copies of one item, then give roleless media the role the rest of the request implies.

    A mirror is a copy in another field: the n-th (kind, URL, role) item of one field matches the n-th such item
    of another. Identical entries within one field are distinct items and keep their positions (11 identical
    images in `references[]` are 11 references, counted against the model's limits).
    """
    kept: list[tuple[_Item, int]] = []  # with the item's occurrence number within its own field
    seen: dict[tuple[str, Any, Any, Any], int] = {}
    for item in items:
        ref = item.ref
        key = (ref.kind, ref.url, ref.role)
        nth = seen[(item.field, *key)] = seen.get((item.field, *key), 0) + 1
        same = next(
            (
                k
                for k, n in kept
                if n == nth
                and k.field != item.field
                and (k.ref.kind, k.ref.url, k.ref.role) == key
                and (k.ref.alias is None or ref.alias is None or k.ref.alias == ref.alias)
            ),
            None,
        )
        if same is None:
            kept.append((item, nth))
        elif same.ref.alias is None:
            same.ref.alias = ref.alias
    # A roleless copy of an item that has a role in another field is a mirror too (images[] beside first_frame_url).
    roled: dict[tuple[str, str], set[str]] = {}
    for k, _ in kept:
        if k.ref.role:
            roled.setdefault((k.ref.kind, k.ref.url), set()).add(k.field)
    settled = [k for k, _ in kept if k.ref.role or not roled.get((k.ref.kind, k.ref.url), set()) - {k.field}]
    refs = [k.ref for k in settled]
    for ref in refs:
        if ref.role is None and ref.kind != "image":
            ref.role = f"reference_{ref.kind}"
    roleless = [r for r in refs if r.role is None]
    if roleless:
        referencing = any(r.role and r.role.startswith("reference_") for r in refs)
        # One image alone (or beside a last frame) is the first frame, as legacy image_url always was; several,
        # or any beside reference media, are reference images.
        first = not referencing and len(roleless) == 1 and not any(r.role == "first_frame" for r in refs)
        for ref in roleless:
            ref.role = "first_frame" if first else "reference_image"
    return settled


def _option(body: dict[str, Any], metadata: dict[str, Any], name: str) -> tuple[Any, str]:
    """A model parameter and the param naming it: the top level wins over `metadata` (JSON null is absent)."""
    if body.get(name) is not None:
        return body[name], name
    if name in _FROM_METADATA and metadata.get(name) is not None:
        return metadata[name], f"metadata.{name}"
    return None, name


def _whole_seconds(value: Any, param: str) -> int:
    if isinstance(value, bool):
        raise invalid(param, f"{value!r} is not a whole number of seconds")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        return int(value.strip())  # `seconds` is a string in the OpenAI-like models
    raise invalid(param, f"{value!r} is not a whole number of seconds")


def _agreed(choices: list[tuple[Any, str]], parse: Callable[[Any, str], Any]) -> tuple[Any, str | None]:
    """The one value several synonymous fields give (e.g. ratio and aspect_ratio); disagreeing copies are errors."""
    chosen: tuple[Any, str] | None = None
    for raw, param in choices:
        if raw is None:
            continue
        value = parse(raw, param)
        if chosen is None:
            chosen = (value, param)
        elif value != chosen[0]:
            raise invalid(param, f"{value!r} disagrees with {chosen[1]} {chosen[0]!r}; send one of them")
    return chosen if chosen else (None, None)


def _word(what: str) -> Callable[[Any, str], str]:
    def parse(raw: Any, param: str) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise invalid(param, f"{param} must be a {what} string")
        return raw.strip().lower()  # `720P` and `1:1` alike

    return parse


def parse_create(body: Any) -> tuple[TaskSpec, Soft]:
    """MoonApiX create body -> canonical spec. The prompt is kept verbatim (`@alias` mentions included)."""
    model = require_model(body)
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise invalid("metadata", "metadata must be an object")
        if len(json.dumps(metadata, ensure_ascii=False).encode()) > METADATA_MAX_BYTES:
            raise invalid("metadata", f"metadata must be at most {METADATA_MAX_BYTES // 1024} KiB of JSON")
    meta = metadata or {}
    prompt = body.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise invalid("prompt", "prompt must be a string")

    items: list[_Item] = []
    _references(body.get("references"), items)
    _typed_lists(body, items)
    content, content_param = _option(body, meta, "content")
    texts = _content(content, content_param, items)
    _, image_role = _role(body.get("input_reference_role"), "image", "input_reference_role")
    _legacy(body, image_role, items)
    items = _settle(items)
    # content[] text items add to the top-level prompt (a client mirroring the prompt there does not repeat it).
    texts = [t for t in texts if t.strip() and t != prompt]
    prompt = "\n".join(([prompt] if prompt else []) + texts)

    video_config, config_param = _option(body, meta, "video_config")
    if video_config is not None and not isinstance(video_config, dict):
        raise invalid(config_param, "video_config must be an object")
    config = video_config or {}
    duration, duration_param = _agreed(
        [_option(body, meta, "duration"), _option(body, meta, "seconds")], _whole_seconds
    )
    ratio, ratio_param = _agreed(
        [
            _option(body, meta, "ratio"),
            _option(body, meta, "aspect_ratio"),
            (config.get("aspect_ratio"), f"{config_param}.aspect_ratio"),
        ],
        _word("ratio"),
    )
    resolution, resolution_param = _agreed(
        [_option(body, meta, "resolution"), (config.get("resolution_name"), f"{config_param}.resolution_name")],
        _word("resolution"),
    )
    wire = {
        "prompt": "prompt",
        "callback_url": "callback_url",
        "tools": "web_search",
        "duration": duration_param or "duration",
        "ratio": ratio_param or "ratio",
        "resolution": resolution_param or "resolution",
        "media": ", ".join(dict.fromkeys(i.field for i in items)) or "references",
    }
    for kind in ("image", "video", "audio"):
        if fields := ", ".join(dict.fromkeys(i.field for i in items if i.ref.kind == kind)):
            wire[f"media.{kind}"] = fields  # so a per-model count error names the fields that carried the kind
    options: dict[str, Any] = {}
    for name in ("generate_audio", "watermark", "seed"):
        value, param = _option(body, meta, name)
        if value is not None:
            options[name], wire[name] = value, param
    web_search = body.get("web_search")
    if web_search is not None and not isinstance(web_search, bool):
        raise invalid("web_search", "web_search must be a boolean")
    if web_search:
        options["tools"] = [{"type": "web_search"}]
    # `mode`, `input_type` and `generation_type` are accepted and ignored: the media decide the mode, and
    # input_type "reference" loads nothing by itself (the seed says so).
    spec = TaskSpec(
        model=model,
        prompt=prompt,
        media=[i.ref for i in items],
        duration=duration,
        ratio=ratio,
        resolution=resolution,
        callback_url=body.get("callback_url") or None,
        metadata=metadata,
        wire_names=wire,
        **options,
    )
    return spec, ()


# -- answers ------------------------------------------------------------------------------------------------------


def render_created(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "task_id": task.id,
        "object": "task",
        "status": "submitted",
        "model": task.spec.model_name,
        "created_at": int(task.created_at),
    }


def _link_expiry(url: str | None) -> int | None:
    if not url:
        return None
    expires = parse_qs(urlsplit(url).query).get("expires")
    return int(expires[0]) if expires and expires[0].isdigit() else None


def render_task(task: Task, links: dict[str, str]) -> dict[str, Any]:
    """The query answer (and the webhook body). URLs only on success: clients read them after checking status."""
    spec = task.spec
    url = links.get("video_url")
    metadata = dict(spec.metadata or {})
    output = None
    if url:
        metadata["url"] = url
        output = {"url": url, "video_url": url}
        if "last_frame_url" in links:
            output["last_frame_url"] = links["last_frame_url"]
    error = None
    if task.error:
        error = {"code": task.error["code"], "message": task.error["message"]}
    elif task.status is Status.CANCELLED:
        error = {"code": "cancelled", "message": "the task was cancelled"}
    progress = {Status.QUEUED: 0, Status.SUCCEEDED: 100}.get(task.status, round(task.progress * 100))
    return {
        "id": task.id,
        "task_id": task.id,
        "object": "video",
        "model": spec.model_name,
        "status": _STATUS[task.status],
        "progress": progress,
        "created_at": int(task.created_at),
        "completed_at": int(task.finished_at) if task.finished_at and task.status.terminal else None,
        "expires_at": _link_expiry(url),
        "prompt": spec.prompt,
        "seconds": str(spec.duration) if spec.duration is not None else None,
        "duration": spec.duration,
        "size": f"{spec.width}x{spec.height}" if spec.width and spec.height else None,
        "resolution": spec.resolution,
        "ratio": spec.ratio,
        "url": url,
        "video_url": url,
        "output": output,
        "metadata": metadata,
        "error": error,
        # How seedgate read the request's media (mirrors merged, roles settled), in the recommended shape.
        "references": [{"media_type": m.kind, "role": m.role, "url": m.url, "alias": m.alias} for m in spec.media],
    }


def callback_url(task: Task) -> str | None:
    # Undocumented; seedgate calls back on terminal states only, with the query JSON (vendors.md §3.4).
    return task.spec.callback_url if task.status.terminal else None


# -- routes -------------------------------------------------------------------------------------------------------


async def create(request: Request, body: Any) -> JSONResponse:
    """Create from a parsed body; errors answer in MoonApiX's envelope whichever route the body came by."""
    service = task_service(request)
    try:
        key = await authenticate(request)
        spec, soft = parse_create(body)
        task = await service.create(spec, soft, key=key, dialect=NAME, idempotency_key=idempotency_key(request))
    except ApiError as error:
        return render_error(error, request_id(request))
    return JSONResponse(render_created(task))


router = APIRouter(tags=["MoonApiX"])


@router.post(PREFIX, summary="Create a video task (MoonApiX body; also accepted on POST /v1/videos)")
async def create_task(request: Request) -> JSONResponse:
    try:
        await authenticate(request)  # before the body is read; refusals in MoonApiX's envelope, as below
    except ApiError as error:
        return render_error(error, request_id(request))
    return await create(request, await json_body(request))


@router.get(PREFIX + "/{task_id}", summary="Query a video task (any of the caller's tasks, in MoonApiX's shape)")
async def query(task_id: str, request: Request, key: Caller) -> JSONResponse:
    return JSONResponse(render_task(*await read_task(request, key, task_id)))


# MoonApiX: bare task objects with its status words, called back (the query JSON) on terminal states.
DIALECT = CodecDialect(
    name=NAME,
    prefixes=PREFIXES,
    render_task=render_task,
    callback_url=callback_url,
    render_error=render_error,
    routes=router,
)
