"""jimmyai (seed 001): `POST /api/open-api/v1/seedance/videos`, `{code: "20000", msg, data}` envelopes, and the
asset-audit endpoints its Manxue models (`sd2_mx_*`) require: every media item there is `asset://{assetId}`.

The audit bodies are not in jimmyai's published docs; they follow GlobalAiOpc's audit API, which jimmyai resells
(vendors.md §2.4, §6.3), and accept both camelCase and snake_case keys.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from seedgate.assets.library import AssetLibrary, check_name, check_source_url
from seedgate.core.asset import Asset, AssetStatus
from seedgate.core.errors import ApiError, invalid, missing
from seedgate.core.spec import MediaRef, TaskSpec
from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.core.validation import Soft

from .common import create_task, json_body, json_object, message_naming_param, read_task, require_model
from .volc_assets import KIND_WORDS, STATUS_WORDS

NAME = "jimmyai"
PREFIX = "/api/open-api/v1"
RESULT_TTL_S = 3 * 86400  # "video_url is valid for 3 days" (vendors.md §2): how long result links live

OK = "20000"
_CODES = {401: "20001", 403: "20001"}  # other 4xx: 20002 (bad request); 5xx: -1 (retry with backoff)
_STATUS = {
    Status.QUEUED: "queued", Status.RUNNING: "processing", Status.SUCCEEDED: "completed",
    Status.FAILED: "failed", Status.EXPIRED: "failed", Status.CANCELLED: "cancelled",
}
_ORIENTATION = {"landscape": "16:9", "portrait": "9:16"}
_AUDIT_LISTS = (("imageUrls", "image_urls", "image"), ("videoUrls", "video_urls", "video"),
                ("audioUrls", "audio_urls", "audio"))
_AUDIT_MAX_ITEMS = 50


def _ok(data: Any) -> JSONResponse:
    return JSONResponse({"code": OK, "msg": "ok", "data": data})


def render_error(error: ApiError, request_id: str) -> JSONResponse:
    code = _CODES.get(error.status, "-1" if error.status >= 500 else "20002")
    return JSONResponse({"code": code, "msg": message_naming_param(error), "data": None, "request_id": request_id},
                        status_code=error.status)


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


def parse_create(body: Any) -> tuple[TaskSpec, Soft]:
    model = require_model(body)
    if body.get("prompt") is None:
        raise missing("prompt")
    if body.get("duration") is None:
        raise missing("duration")
    media = [MediaRef("image", u, "reference_image", f"images[{i}]") for i, u in enumerate(_urls(body, "images"))]
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
    spec = TaskSpec(model=model, prompt=body["prompt"], media=media, duration=body["duration"], ratio=ratio,
                    resolution=body.get("resolution"), seed=body.get("seed"),
                    generate_audio=body.get("generate_audio"), watermark=body.get("watermark"),
                    wire_names={"ratio": "orientation" if body.get("ratio") is None else "ratio"})
    return spec, ()


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
        if "video_url" in links else None,
        "error_message": error,
    }


def callback_url(task: Task) -> str | None:
    return None  # jimmyai documents no webhook; its clients poll


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
    return {"assetId": asset.id, "assetType": KIND_WORDS.get(asset.kind or ""), "originalUrl": asset.source_url,
            "status": STATUS_WORDS[asset.status], "assetUrl": f"asset://{asset.id}"}


async def _audit(request: Request) -> JSONResponse:
    service = request.app.state.service
    key = await service.authenticate(request)
    lib: AssetLibrary = service.assets
    accepted, failed = [], []
    for kind, url, param in _audit_lists(await json_body(request)):
        try:
            asset = await lib.create_from_url(key.id, check_source_url(url, param), kind=kind)
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
            value = body.get(name)
            if isinstance(value, list):
                ids += [v for v in value if isinstance(v, str)]
    if not ids:
        raise missing("assetIds")
    if len(ids) > _AUDIT_MAX_ITEMS:
        raise invalid("assetIds", f"at most {_AUDIT_MAX_ITEMS} asset IDs per request")
    return list(dict.fromkeys(ids))


async def _status(request: Request, body: Any = None) -> JSONResponse:
    service = request.app.state.service
    key = await service.authenticate(request)
    ids = _status_ids(request, body)
    _, found = await service.assets.store.list(key.id, ids=ids, limit=len(ids))
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


def _sp_item(asset: Asset, lib: AssetLibrary, base_url: str) -> dict[str, Any]:
    return {"asset_id": asset.id, "official_id": asset.id, "status": STATUS_WORDS[asset.status],
            "name": asset.name, "image_url": lib.link(asset, base_url), "created_at": int(asset.created_at),
            "error_message": asset.error["message"] if asset.error else None}


async def _sp_upload(request: Request) -> JSONResponse:
    service = request.app.state.service
    key = await service.authenticate(request)
    body = await json_object(request)
    kind = body.get("type")
    if kind not in ("image", "video", "audio"):
        raise invalid("type", f"{kind!r} is not image, video or audio")
    if body.get("url") is None:
        raise missing("url")
    asset = await service.assets.create_from_url(key.id, check_source_url(body["url"], "url"), kind=kind,
                                                 name=check_name(body.get("name"), "name"))
    return JSONResponse({"code": 0, "msg": "ok", "data": {"asset_id": asset.id}})


async def _sp_detail(request: Request, many: bool) -> JSONResponse:
    service = request.app.state.service
    key = await service.authenticate(request)
    body = await json_body(request)
    field = "asset_ids" if many else "asset_id"
    wanted = body.get(field) if isinstance(body, dict) else None
    if wanted is None:
        raise missing(field)
    ids = wanted if many else [wanted]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise invalid(field, f"{field} must be {'a list of asset IDs' if many else 'an asset ID'}")
    base = service.base_url(request)
    if not many:
        data = _sp_item(await service.assets.get(key.id, ids[0], field), service.assets, base)
    else:
        found = []
        if ids:  # an empty list asks for nothing (the store reads no ID filter as "all of them")
            _, found = await service.assets.store.list(key.id, ids=ids[:_AUDIT_MAX_ITEMS], limit=_AUDIT_MAX_ITEMS)
        data = {"items": [_sp_item(a, service.assets, base) for a in found]}
    return JSONResponse({"code": 0, "msg": "ok", "data": data})


def router() -> APIRouter:
    api = APIRouter(tags=["jimmyai"])

    @api.post(PREFIX + "/seedance/sp/assets/upload", summary="SP library: add an asset from a URL")
    async def sp_upload(request: Request) -> JSONResponse:
        return await _sp_upload(request)

    @api.post(PREFIX + "/seedance/sp/assets/detail", summary="SP library: one asset ({asset_id})")
    async def sp_detail(request: Request) -> JSONResponse:
        return await _sp_detail(request, many=False)

    @api.post(PREFIX + "/seedance/sp/assets/status", summary="SP library: several assets ({asset_ids})")
    async def sp_status(request: Request) -> JSONResponse:
        return await _sp_detail(request, many=True)

    @api.post(PREFIX + "/seedance/videos", summary="Create a Seedance video task")
    async def create(request: Request) -> JSONResponse:
        task = await create_task(request, parse_create, NAME)
        return _ok({"task_id": task.id, "status": _STATUS[task.status], "model": task.endpoint,
                    "created_at": int(task.created_at)})

    @api.get(PREFIX + "/videos/{task_id}", summary="Query a video task")
    async def query(task_id: str, request: Request) -> JSONResponse:
        return _ok(render_task(*await read_task(request, task_id)))

    @api.post(PREFIX + "/seedance/assets/audit", summary="Submit image, video and audio URLs for audit")
    async def audit(request: Request) -> JSONResponse:
        return await _audit(request)

    @api.get(PREFIX + "/seedance/assets/status", summary="Audit status of assets (assetIds=a,b,...)")
    async def status(request: Request) -> JSONResponse:
        return await _status(request)

    @api.post(PREFIX + "/seedance/assets/status", summary="Audit status of assets ({assetIds: [...]})")
    async def status_post(request: Request) -> JSONResponse:
        return await _status(request, await json_body(request))

    return api
