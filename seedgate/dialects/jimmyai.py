"""jimmyai (seed 001, vendors.md §2): `{code: "20000", msg, data}` envelopes over

- `POST /api/open-api/v1/seedance/videos`, which sells every product line by `model` (Manxue `sd2_mx_*`, SP,
  Mini, MD, Fast I2V, STD, GZ, 933: catalog entries with their own rules), and `POST .../seedance25/videos`;
- the Manxue asset audit (`.../seedance/assets/audit`, `.../assets/status`): its models take media only as
  `asset://{assetId}`. The audit bodies are not in jimmyai's published docs; they follow GlobalAiOpc's audit API,
  which jimmyai resells (vendors.md §2.4, §6.3), and accept both camelCase and snake_case keys;
- the SP asset library and its real-person whitelist (`.../seedance/sp/...`, answered with an int `0` code), whose
  assets form the SP models' own pool (assets/pools.py);
- `POST .../files/upload`: a multipart file in, a URL for any media field out;
- `GET .../key/balance` and `.../user/balance`: what the key may still spend, from its money budget's books.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from seedgate.api.deps import Caller, Service, authenticate, base_url, task_service
from seedgate.assets.library import MAX_UPLOAD_BYTES, AssetLibrary, check_name, check_source_url
from seedgate.assets.pools import POOL_KEY
from seedgate.core.asset import Asset, AssetStatus
from seedgate.core.errors import ApiError, invalid, missing, not_found
from seedgate.core.limits import Budget
from seedgate.core.spec import MediaRef, TaskSpec
from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.core.validation import Soft
from seedgate.store.store import ApiKey
from seedgate.tasks.budgets import amount_json
from seedgate.tasks.service import TaskService

from .base import CodecDialect
from .bodies import BOOL, INT, STR, Body, Field, array, describe, enum
from .common import create_task, json_body, json_object, message_naming_param, read_task, require_model
from .volc_assets import KIND_WORDS, STATUS_WORDS

NAME = "jimmyai"
PREFIX = "/api/open-api/v1"
RESULT_TTL_S = 3 * 86400  # "video_url is valid for 3 days" (vendors.md §2): how long result links live

OK = "20000"
_CODES = {401: "20001", 403: "20001"}  # other 4xx: 20002 (bad request); 5xx: -1 (retry with backoff)
_STATUS = {
    Status.QUEUED: "queued",
    Status.RUNNING: "processing",
    Status.SUCCEEDED: "completed",
    Status.FAILED: "failed",
    Status.EXPIRED: "failed",
    Status.CANCELLED: "cancelled",
}
_ORIENTATION = {"landscape": "16:9", "portrait": "9:16"}
_AUDIT_LISTS = (
    ("imageUrls", "image_urls", "image"),
    ("videoUrls", "video_urls", "video"),
    ("audioUrls", "audio_urls", "audio"),
)
_AUDIT_MAX_ITEMS = 50

_ASSET_URL = {"type": "string", "description": "asset://{assetId} (an audited asset) or a URL, as the line takes"}


def _create_body(duration: str, duration_required: bool) -> Body:
    return describe(
        Field("model", STR, "The product line and model, e.g. sd2_mx_fast", required=True),
        Field("prompt", STR, required=True),
        Field("duration", INT, duration, required=duration_required),
        Field("images", array(_ASSET_URL), "Reference images (or reference_images: one of the two)"),
        Field("reference_images", array(_ASSET_URL), "Reference images, as the 933 line and seedance25 name them"),
        Field("first_image", _ASSET_URL, "The first frame"),
        Field("last_image", _ASSET_URL, "The last frame"),
        Field("reference_videos", array(_ASSET_URL)),
        Field("reference_audios", array(_ASSET_URL)),
        Field("ratio", STR, "e.g. 16:9 or adaptive; wins over orientation"),
        Field("orientation", enum(*_ORIENTATION), "landscape (16:9) or portrait (9:16), read when ratio is absent"),
        Field("resolution", STR),
        Field("seed", INT),
        Field("generate_audio", BOOL),
        Field("watermark", BOOL),
        Field("omni_reference_task_type", enum("auto", "reference", "edit", "extend")),
        Field("reference_mode", STR, "933 line; accepted and ignored (the media decide the mode)", ignored=True),
        Field("face_processing", STR, "933 line; accepted and ignored", ignored=True),
    )


CREATE_BODY = _create_body("Seconds", duration_required=True)
CREATE_25_BODY = _create_body("Seconds; left out, Seedance 2.5 chooses (-1)", duration_required=False)


def _ok(data: Any) -> JSONResponse:
    return JSONResponse({"code": OK, "msg": "ok", "data": data})


def render_error(error: ApiError, request_id: str) -> JSONResponse:
    code = _CODES.get(error.status, "-1" if error.status >= 500 else "20002")
    return JSONResponse(
        {"code": code, "msg": message_naming_param(error), "data": None, "request_id": request_id},
        status_code=error.status,
    )


# -- create -------------------------------------------------------------------------------------------------------


def _url(value: Any, param: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(param, f"{param} must be an asset://{{assetId}} string")
    return value.strip()


def _urls(body: dict[str, Any], field: str) -> list[str]:
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(field, f"{field} must be an array of asset://{{assetId}} strings")
    return [_url(v, f"{field}[{i}]") for i, v in enumerate(value)]


def _reference_images(body: dict[str, Any]) -> tuple[str, list[str]]:
    """`images`, or `reference_images` as the 933 line and the seedance25 route name them (one of the two)."""
    if body.get("images") is not None and body.get("reference_images") is not None:
        raise invalid("reference_images", "send reference images in images or in reference_images, not both")
    field = "reference_images" if body.get("reference_images") is not None else "images"
    return field, _urls(body, field)


def _spec(body: dict[str, Any], model: str) -> TaskSpec:
    """The fields every jimmyai create route shares, as a spec (required fields checked by the caller)."""
    images_field, images = _reference_images(body)
    media = [MediaRef("image", u, "reference_image", f"{images_field}[{i}]") for i, u in enumerate(images)]
    for field, role in (("first_image", "first_frame"), ("last_image", "last_frame")):
        if body.get(field) is not None:
            media.append(MediaRef("image", _url(body[field], field), role, field))
    for field, kind in (("reference_videos", "video"), ("reference_audios", "audio")):
        media += [MediaRef(kind, u, f"reference_{kind}", f"{field}[{i}]") for i, u in enumerate(_urls(body, field))]
    ratio = body.get("ratio")
    if isinstance(ratio, str):
        ratio = ratio.strip().lower() if ratio.strip().lower() == "adaptive" else ratio.strip()
    if ratio is None and body.get("orientation") is not None:
        orientation = body["orientation"]
        if orientation not in _ORIENTATION:
            raise invalid("orientation", f"{orientation!r} is not landscape or portrait")
        ratio = _ORIENTATION[orientation]
    present = [
        f
        for f in (images_field, "first_image", "last_image", "reference_videos", "reference_audios")
        if body.get(f) is not None
    ]
    wire = {
        "ratio": "orientation" if body.get("ratio") is None else "ratio",
        # Errors about the media together (frames mixed with references) name the fields that were sent.
        "media": ", ".join(present) or images_field,
        "media.image": ", ".join(f for f in present if f in (images_field, "first_image", "last_image"))
        or images_field,
        "media.video": "reference_videos",
        "media.audio": "reference_audios",
    }
    return TaskSpec(
        model=model,
        prompt=body["prompt"],
        media=media,
        duration=body.get("duration"),
        ratio=ratio,
        resolution=body.get("resolution"),
        seed=body.get("seed"),
        generate_audio=body.get("generate_audio"),
        watermark=body.get("watermark"),
        omni_reference_task_type=body.get("omni_reference_task_type"),
        wire_names=wire,
    )


def parse_create(body: Any) -> tuple[TaskSpec, Soft]:
    """`POST .../seedance/videos`: every product line (model) the route sells. `reference_mode` and
    `face_processing` (933 line) are accepted and ignored: the media decide the mode, and no engine here
    processes faces differently."""
    model = require_model(body)
    if body.get("prompt") is None:
        raise missing("prompt")
    if body.get("duration") is None:
        raise missing("duration")
    return _spec(body, model), ()


def parse_create_25(body: Any) -> tuple[TaskSpec, Soft]:
    """`POST .../seedance25/videos`: Seedance 2.5 with `reference_images` / `reference_videos` /
    `reference_audios`; `duration` may be left out (2.5 then chooses, -1)."""
    model = require_model(body)
    if body.get("prompt") is None:
        raise missing("prompt")
    return _spec(body, model), ()


# -- answers ------------------------------------------------------------------------------------------------------


def render_task(task: Task, links: dict[str, str]) -> dict[str, Any]:
    status = _STATUS[task.status]
    progress = {"completed": 100, "processing": max(1, min(99, round(task.progress * 100)))}.get(status, 0)
    error = task.error["message"] if task.error else ("the task was cancelled" if status == "cancelled" else None)
    finished = task.finished_at if task.status.terminal else None
    return {
        "task_id": task.id,
        "status": status,
        "progress": progress,
        "model": task.endpoint,
        "created_at": int(task.created_at),
        "completed_at": int(finished) if finished else None,
        "result": {"video_url": links["video_url"], "image_url": links.get("last_frame_url")}
        if "video_url" in links
        else None,
        "error_message": error,
    }


def callback_url(task: Task) -> str | None:
    return None  # jimmyai documents no webhook; its clients poll


def _created(task: Task) -> JSONResponse:
    return _ok(
        {"task_id": task.id, "status": _STATUS[task.status], "model": task.endpoint, "created_at": int(task.created_at)}
    )


# -- asset audits -------------------------------------------------------------------------------------------------


def _audit_lists(body: Any) -> list[tuple[str, str, str]]:
    """(kind, url, param) for every URL submitted, camelCase or snake_case lists."""
    if not isinstance(body, dict):
        raise invalid("body", "the request body must be a JSON object")
    items = []
    for camel, snake, kind in _AUDIT_LISTS:
        field = camel if body.get(camel) is not None else snake
        value = body.get(field) or []
        if not isinstance(value, list):
            raise invalid(field, f"{field} must be an array of URLs")
        items += [(kind, url, f"{field}[{i}]") for i, url in enumerate(value)]
    if not items:
        raise missing("imageUrls")
    if len(items) > _AUDIT_MAX_ITEMS:
        raise invalid("imageUrls", f"at most {_AUDIT_MAX_ITEMS} URLs per audit request")
    return items


def _asset_item(asset: Asset) -> dict[str, Any]:
    return {
        "assetId": asset.id,
        "assetType": KIND_WORDS.get(asset.kind or ""),
        "originalUrl": asset.source_url,
        "status": STATUS_WORDS[asset.status],
        "assetUrl": f"asset://{asset.id}",
    }


async def _audit(request: Request, key: ApiKey, service: TaskService) -> JSONResponse:
    lib: AssetLibrary = service.assets
    accepted, failed = [], []
    for kind, url, param in _audit_lists(await json_body(request)):
        try:
            asset = await lib.create_from_url(
                key.id, check_source_url(url, param), kind=kind, metadata={POOL_KEY: MX_POOL}
            )
        except ApiError as error:  # one bad URL does not sink the others
            failed.append({"assetType": KIND_WORDS[kind], "originalUrl": url, "errorMessage": error.message})
            continue
        accepted.append({**_asset_item(asset), "status": "submitted"})
    return _ok({"items": accepted, "failedItems": failed})


def _status_ids(request: Request, body: Any) -> list[str]:
    ids: list[str] = []
    for name in ("assetIds", "asset_ids", "assetId", "asset_id"):
        for value in request.query_params.getlist(name):
            ids += [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(body, dict):
        for name in ("assetIds", "asset_ids"):
            listed = body.get(name)
            if isinstance(listed, list):
                ids += [v for v in listed if isinstance(v, str)]
    if not ids:
        raise missing("assetIds")
    if len(ids) > _AUDIT_MAX_ITEMS:
        raise invalid("assetIds", f"at most {_AUDIT_MAX_ITEMS} asset IDs per request")
    return list(dict.fromkeys(ids))


async def _status(request: Request, key: ApiKey, service: TaskService, body: Any = None) -> JSONResponse:
    ids = _status_ids(request, body)
    found = await service.assets.by_ids(key.id, ids, limit=len(ids))
    by_id = {asset.id: asset for asset in found}
    items, failed = [], []
    for asset_id in ids:
        asset = by_id.get(asset_id)
        if asset is None:
            failed.append({"assetId": asset_id, "errorMessage": f"the asset {asset_id} was not found"})
            continue
        items.append(_asset_item(asset))
        if asset.status is AssetStatus.FAILED and asset.error:
            failed.append({"assetId": asset_id, "errorMessage": asset.error["message"]})
    return _ok({"items": items, "failedItems": failed})


# -- the SP asset library (documented, answers with an int 0 code) ------------------------------------------------


SP_POOL = "jimmyai-sp"  # the SP models' asset pool (catalog `asset_pool`): SP library and real-person assets
MX_POOL = "jimmyai-mx"  # assets from the Manxue audit
_SP_TYPES = ("image", "video", "audio", "text")


def _sp_item(asset: Asset, lib: AssetLibrary, base_url: str) -> dict[str, Any]:
    return {
        "asset_id": asset.id,
        "official_id": asset.id,
        "status": STATUS_WORDS[asset.status],
        "type": asset.metadata.get("type") or asset.kind,
        "name": asset.name,
        "image_url": lib.link(asset, base_url),
        "created_at": int(asset.created_at),
        "error_message": asset.error["message"] if asset.error else None,
    }


async def _text_asset(lib: AssetLibrary, owner: str, url: str, name: str) -> Asset:
    """An SP `text` asset: a record of the caller's text reference (its URL), Active at once. It holds no media,
    so there is nothing to fetch or audit, and a video task cannot use it as an image, video or audio."""
    return await lib.add_record(owner, url, name, {POOL_KEY: SP_POOL, "type": "text"})


async def _sp_upload(request: Request, key: ApiKey, service: TaskService) -> JSONResponse:
    body = await json_object(request)
    kind = body.get("type")
    if kind not in _SP_TYPES:
        raise invalid("type", f"{kind!r} is not image, video, audio or text")
    if body.get("url") is None:
        raise missing("url")
    url, name = check_source_url(body["url"], "url"), check_name(body.get("name"), "name")
    if kind == "text":
        asset = await _text_asset(service.assets, key.id, url, name)
    else:
        asset = await service.assets.create_from_url(
            key.id, url, kind=kind, name=name, metadata={POOL_KEY: SP_POOL, "type": kind}
        )
    return JSONResponse({"code": 0, "msg": "ok", "data": {"asset_id": asset.id}})


# -- the SP real-person whitelist: a person's photo, audited, then usable as asset://{asset_id} ----------------------


def _person(asset: Asset) -> dict[str, Any]:
    active = asset.status is AssetStatus.ACTIVE
    return {
        "asset_id": asset.id,
        "official_id": asset.id,
        "status": STATUS_WORDS[asset.status],
        "asset_ref": f"asset://{asset.id}" if active else None,
        "name": asset.name,
        "url": asset.source_url,
        "created_at": int(asset.created_at),
        "error_message": asset.error["message"] if asset.error else None,
    }


async def _realperson_submit(request: Request, key: ApiKey, service: TaskService) -> JSONResponse:
    body = await json_object(request)
    if body.get("url") is None:
        raise missing("url")
    asset = await service.assets.create_from_url(
        key.id,
        check_source_url(body["url"], "url"),
        kind="image",
        name=check_name(body.get("name"), "name"),
        metadata={POOL_KEY: SP_POOL, "type": "image", "realperson": True},
    )
    return JSONResponse({"code": 0, "msg": "ok", "data": _person(asset)})


async def _realperson_status(request: Request, key: ApiKey, service: TaskService, many: bool) -> JSONResponse:
    body = await json_object(request)
    field = "asset_ids" if many else "asset_id"
    wanted = body.get(field)
    if wanted is None:
        raise missing(field)
    if not many:
        if not isinstance(wanted, str) or not wanted.strip():
            raise invalid(field, "asset_id must be an asset ID string")
        asset = await service.assets.get(key.id, wanted.strip(), field)
        if not asset.metadata.get("realperson"):
            raise not_found("real-person asset", asset.id, field)
        return JSONResponse({"code": 0, "msg": "ok", "data": _person(asset)})
    if not isinstance(wanted, list) or not all(isinstance(i, str) for i in wanted):
        raise invalid(field, "asset_ids must be a list of asset IDs")
    if len(wanted) > _AUDIT_MAX_ITEMS:
        raise invalid(field, f"at most {_AUDIT_MAX_ITEMS} asset IDs per request")
    found = await service.assets.by_ids(key.id, wanted, limit=_AUDIT_MAX_ITEMS)
    by_id = {a.id: a for a in found if a.metadata.get("realperson")}
    return JSONResponse(
        {"code": 0, "msg": "ok", "data": {"items": [_person(by_id[i]) for i in dict.fromkeys(wanted) if i in by_id]}}
    )


# -- files/upload: a local file in, a URL any media field can take out ---------------------------------------------


async def _files_upload(request: Request, key: ApiKey, service: TaskService) -> JSONResponse:
    """Multipart `file` -> `data{url, filename, size, mime_type}`. The bytes are kept as an asset of the caller's
    (so they live as long as assets do); `url` is a signed link to them, valid until then."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise invalid("file", "send the file as multipart/form-data in the field `file`")
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise ApiError(411, "MissingParameter", "a multipart upload needs a Content-Length header", "file")
    if int(length) > MAX_UPLOAD_BYTES + 1024 * 1024:
        raise ApiError(413, "InvalidParameter", f"the upload exceeds {MAX_UPLOAD_BYTES} bytes", "file")
    try:
        form = await request.form()
    except HTTPException as exc:
        raise invalid("file", f"the multipart body cannot be read: {exc.detail}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise missing("file")
        filename = check_name(upload.filename, "file")
        mime = upload.content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        asset = await service.assets.create_from_upload(
            key.id, upload, name=filename, metadata={"purpose": "files/upload"}
        )
    finally:
        await form.close()
    digest = asset.blob or ""
    url = service.signer.sign(base_url(request), f"/files/blobs/{digest}", int(asset.expires_at))
    blob = await service.blob_file(digest)
    size = blob.size if blob else 0
    return _ok({"url": url, "filename": filename, "size": size, "mime_type": mime})


async def _sp_detail(request: Request, key: ApiKey, service: TaskService, many: bool) -> JSONResponse:
    body = await json_body(request)
    field = "asset_ids" if many else "asset_id"
    wanted = body.get(field) if isinstance(body, dict) else None
    if wanted is None:
        raise missing(field)
    ids = wanted if many else [wanted]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise invalid(field, f"{field} must be {'a list of asset IDs' if many else 'an asset ID'}")
    base = base_url(request)
    if not many:
        data = _sp_item(await service.assets.get(key.id, ids[0], field), service.assets, base)
    else:
        found = await service.assets.by_ids(key.id, ids[:_AUDIT_MAX_ITEMS], limit=_AUDIT_MAX_ITEMS)
        data = {"items": [_sp_item(a, service.assets, base) for a in found]}
    return JSONResponse({"code": 0, "msg": "ok", "data": data})


router = APIRouter(tags=["jimmyai"])


@router.post(PREFIX + "/seedance/sp/assets/upload", summary="SP library: add an asset from a URL")
async def sp_upload(request: Request, key: Caller, service: Service) -> JSONResponse:
    return await _sp_upload(request, key, service)


@router.post(PREFIX + "/seedance/sp/assets/detail", summary="SP library: one asset ({asset_id})")
async def sp_detail(request: Request, key: Caller, service: Service) -> JSONResponse:
    return await _sp_detail(request, key, service, many=False)


@router.post(PREFIX + "/seedance/sp/assets/status", summary="SP library: several assets ({asset_ids})")
async def sp_status(request: Request, key: Caller, service: Service) -> JSONResponse:
    return await _sp_detail(request, key, service, many=True)


@router.post(PREFIX + "/seedance/sp/realperson/submit", summary="SP real-person whitelist: submit {name, url}")
async def realperson_submit(request: Request, key: Caller, service: Service) -> JSONResponse:
    return await _realperson_submit(request, key, service)


@router.post(PREFIX + "/seedance/sp/realperson/status", summary="SP real-person whitelist: one ({asset_id})")
async def realperson_status(request: Request, key: Caller, service: Service) -> JSONResponse:
    return await _realperson_status(request, key, service, many=False)


@router.post(PREFIX + "/seedance/sp/realperson/batch-status", summary="SP real-person whitelist: several")
async def realperson_batch(request: Request, key: Caller, service: Service) -> JSONResponse:
    return await _realperson_status(request, key, service, many=True)


@router.post(PREFIX + "/files/upload", summary="Upload a file (multipart `file`); answers its URL")
async def files_upload(request: Request, key: Caller, service: Service) -> JSONResponse:
    return await _files_upload(request, key, service)


@router.post(PREFIX + "/seedance/videos", summary="Create a Seedance video task (every product line)")
async def create(request: Request, key: Caller) -> JSONResponse:
    return _created(await create_task(request, key, parse_create, NAME))


@router.post(PREFIX + "/seedance25/videos", summary="Create a Seedance 2.5 video task")
async def create_25(request: Request, key: Caller) -> JSONResponse:
    return _created(await create_task(request, key, parse_create_25, NAME))


@router.get(PREFIX + "/videos/{task_id}", summary="Query a video task")
async def query(task_id: str, request: Request, key: Caller) -> JSONResponse:
    return _ok(render_task(*await read_task(request, key, task_id)))


@router.post(PREFIX + "/seedance/assets/audit", summary="Submit image, video and audio URLs for audit")
async def audit(request: Request, key: Caller, service: Service) -> JSONResponse:
    return await _audit(request, key, service)


@router.get(PREFIX + "/seedance/assets/status", summary="Audit status of assets (assetIds=a,b,...)")
async def status(request: Request, key: Caller, service: Service) -> JSONResponse:
    return await _status(request, key, service)


@router.post(PREFIX + "/seedance/assets/status", summary="Audit status of assets ({assetIds: [...]})")
async def status_post(request: Request) -> JSONResponse:
    body = await json_body(request)  # read before the key is checked: a malformed body answers 400 whoever asks
    return await _status(request, await authenticate(request), task_service(request), body)


# -- balances -----------------------------------------------------------------------------------------------------


def _money_budget(budgets: list[Budget]) -> Budget | None:
    """The money budget that bounds the key: of those with a limit, the one with the least left (a key linked to its
    own and its project's must pass both); else one that only counts; None when no budget counts money."""
    money = [b for b in budgets if b.unit != "tokens"]
    capped = [b for b in money if b.limit is not None]
    if capped:
        return min(capped, key=lambda b: b.remaining() or 0)
    return money[0] if money else None


def balance_of(key: ApiKey, budgets: list[Budget]) -> dict[str, Any]:
    """A key's quota from its money budget: total (the limit per period), used (reserved and settled this period,
    every key of the budget together) and remaining, in the budget's currency; unlimited without a capped one."""
    budget = _money_budget(budgets)
    limit = budget.limit if budget is not None else None
    return {
        "key_id": key.id,
        "name": key.name,
        "currency": budget.unit if budget is not None else None,
        "unlimited_quota": limit is None,
        "total_quota": amount_json(budget.unit, limit) if budget is not None else None,
        "used_quota": amount_json(budget.unit, budget.used) if budget is not None else None,
        "remaining_quota": amount_json(budget.unit, budget.remaining()) if budget is not None else None,
        "period": budget.period if budget is not None else None,
        "budget": budget.name if budget is not None else None,
    }


@router.get(PREFIX + "/key/balance", summary="This key's quota: total, used and remaining (from its money budget)")
async def key_balance(key: Caller, service: Service) -> JSONResponse:
    return _ok(balance_of(key, await service.budgets_of(key)))


@router.get(PREFIX + "/user/balance", summary="What the caller may still spend (seedgate's users are its keys)")
async def user_balance(key: Caller, service: Service) -> JSONResponse:
    quota = balance_of(key, await service.budgets_of(key))
    return _ok(
        {
            "balance": quota["remaining_quota"],
            "used": quota["used_quota"],
            "currency": quota["currency"],
            "unlimited": quota["unlimited_quota"],
        }
    )


# jimmyai: `{code: "20000", msg, data}` envelopes; its clients poll (no callbacks); links live 3 days.
DIALECT = CodecDialect(
    name=NAME,
    prefixes=(PREFIX,),
    render_task=render_task,
    callback_url=callback_url,
    render_error=render_error,
    routes=router,
    result_ttl_s=RESULT_TTL_S,
)
