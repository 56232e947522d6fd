"""seedgate's own asset routes, which are also MoonApiX's (`POST /v1/assets/uploads`, `GET /v1/assets/{id}`,
vendors.md §3.3): create from a URL (JSON) or from a file (multipart), read, list, delete.

MoonApiX documents neither the asset status words nor the answer's shape; seedgate answers a flat object with
`asset_id` and says `ready` for a usable asset, the word MoonApiX's create page uses ("ready 的 Asset").
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from seedgate.api.deps import Caller, Service, authenticate, base_url, task_service
from seedgate.assets.library import MAX_UPLOAD_BYTES, AssetLibrary, check_kind, check_name, check_source_url
from seedgate.assets.pools import pool_metadata
from seedgate.core.asset import Asset, AssetStatus
from seedgate.core.errors import ApiError, invalid, missing, model_not_found
from seedgate.store.store import ApiKey
from seedgate.tasks.service import TaskService

from .common import check_json_value, json_body, loads_json

PREFIX = "/v1/assets"
STATUS = {AssetStatus.PROCESSING: "processing", AssetStatus.ACTIVE: "ready", AssetStatus.FAILED: "failed"}
_LIMIT_MAX = 100
_OFFSET_MAX = 10_000_000
# Starlette spools a multipart body to disk before we see it: refuse oversized ones before it starts.
_MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 1024 * 1024


def render_asset(asset: Asset, lib: AssetLibrary, base_url: str) -> dict[str, Any]:
    return {
        "id": asset.id,
        "asset_id": asset.id,
        "object": "asset",
        "status": STATUS[asset.status],
        "kind": asset.kind,
        "name": asset.name,
        "group_id": asset.group_id,
        "asset_url": f"asset://{asset.id}",
        "url": lib.link(asset, base_url),
        "purpose": asset.metadata.get("purpose"),
        "model": asset.metadata.get("model"),  # the model line the asset was made for, if any
        "metadata": asset.metadata.get("metadata"),
        "info": asset.info,
        "error": asset.error,
        "created_at": int(asset.created_at),
        "updated_at": int(asset.updated_at),
        "expires_at": int(asset.expires_at),
    }


def _optional_text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid(name, f"{name} must be a string")
    return value.strip()


def _extras(fields: dict[str, Any]) -> dict[str, Any]:
    """What the caller attached and gets back: MoonApiX's `purpose` and `metadata`."""
    meta = fields.get("metadata")
    if isinstance(meta, str) and meta.strip():  # a multipart field carries it as JSON text
        meta = loads_json(meta, "metadata")  # strict: NaN/Infinity would be stored, then break every listing
    if meta is not None and not isinstance(meta, dict):
        raise invalid("metadata", "metadata must be an object")
    return {"purpose": _optional_text(fields, "purpose"), "metadata": meta}


def _line_pool(request: Request, fields: dict[str, Any], extras: dict[str, Any]) -> dict[str, Any]:
    """An upload made for a model line (`model`, or `metadata.model`) joins that line's asset pool (assets/pools.py)."""
    model = _optional_text(fields, "model") or (extras.get("metadata") or {}).get("model")
    if model is None:
        return extras
    catalog = task_service(request).catalog
    if not isinstance(model, str) or catalog.find(model) is None:
        raise model_not_found(str(model))
    return {**extras, **pool_metadata(catalog, model)}


async def _create(request: Request, key: ApiKey, service: TaskService) -> JSONResponse:
    lib: AssetLibrary = service.assets
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        length = request.headers.get("content-length", "")
        if not length.isdigit():
            raise ApiError(411, "MissingParameter", "a multipart upload needs a Content-Length header")
        if int(length) > _MAX_BODY_BYTES:
            raise ApiError(413, "InvalidParameter", f"the upload exceeds {MAX_UPLOAD_BYTES} bytes", "file")
        try:
            form = await request.form()
        except HTTPException as exc:
            raise invalid("body", f"the multipart body cannot be read: {exc.detail}") from None
        try:
            fields = {k: v for k, v in form.items() if not isinstance(v, UploadFile)}
            check_json_value(fields)  # the text fields get the JSON bodies' checks (a NUL breaks PostgreSQL)
            upload = form.get("file")
            extras = _line_pool(request, fields, _extras(fields))
            if not isinstance(upload, UploadFile):
                if fields.get("url"):
                    return await _from_url(request, lib, key.id, fields, extras)
                raise missing("file")
            asset = await lib.create_from_upload(
                key.id,
                upload,
                kind=check_kind(_optional_text(fields, "kind"), "kind"),
                name=check_name(fields.get("name"), "name"),
                group_id=_optional_text(fields, "group_id"),
                metadata=extras,
            )
        finally:
            await form.close()
        return JSONResponse(render_asset(asset, lib, base_url(request)))
    body = await json_body(request)
    if not isinstance(body, dict):
        raise invalid("body", "the request body must be a JSON object, or multipart/form-data with a file")
    return await _from_url(request, lib, key.id, body, _line_pool(request, body, _extras(body)))


async def _from_url(
    request: Request, lib: AssetLibrary, owner: str, fields: dict[str, Any], extras: dict[str, Any]
) -> JSONResponse:
    if fields.get("url") is None:
        raise missing("url")
    meta = extras.get("metadata") or {}
    asset = await lib.create_from_url(
        owner,
        check_source_url(fields["url"], "url"),
        kind=check_kind(_optional_text(fields, "kind"), "kind"),
        name=check_name(fields.get("name"), "name") or check_name(meta.get("name"), "metadata.name"),
        group_id=_optional_text(fields, "group_id"),
        metadata=extras,
    )
    return JSONResponse(render_asset(asset, lib, base_url(request)))


router = APIRouter(tags=["assets"])


@router.post(PREFIX, summary="Create an asset from a URL (JSON) or an uploaded file (multipart `file`)")
async def create(request: Request, key: Caller, service: Service) -> JSONResponse:
    return await _create(request, key, service)


@router.post(PREFIX + "/uploads", summary="Create an asset (MoonApiX's route; same as POST /v1/assets)")
async def upload(request: Request, key: Caller, service: Service) -> JSONResponse:
    return await _create(request, key, service)


@router.get(PREFIX, summary="List your assets, newest first")
async def list_assets(
    request: Request,
    limit: int = 20,
    offset: int = 0,
    status: str | None = None,
    kind: str | None = None,
    group_id: str | None = None,
) -> JSONResponse:
    # Not `Caller`: FastAPI refuses a non-integer limit or offset before the route runs, and so before the key.
    key = await authenticate(request)
    service = task_service(request)
    if not 1 <= limit <= _LIMIT_MAX:
        raise invalid("limit", f"limit must be in [1, {_LIMIT_MAX}]")
    if not 0 <= offset <= _OFFSET_MAX:
        raise invalid("offset", f"offset must be in [0, {_OFFSET_MAX}]")
    statuses = [s for s, word in STATUS.items() if word == status]
    if status and not statuses:
        raise invalid("status", f"{status!r} is not processing, ready or failed")
    total, found = await service.assets.list_assets(
        key.id,
        statuses=statuses,
        kinds=[check_kind(kind, "kind") or ""] if kind else [],
        group_ids=[group_id] if group_id else [],
        offset=offset,
        limit=limit,
    )
    base = base_url(request)
    return JSONResponse(
        {"object": "list", "data": [render_asset(a, service.assets, base) for a in found], "total": total}
    )


@router.get(PREFIX + "/{asset_id}", summary="Retrieve an asset and its audit status")
async def retrieve(asset_id: str, request: Request, key: Caller, service: Service) -> JSONResponse:
    asset = await service.assets.get(key.id, asset_id, "asset_id")
    return JSONResponse(render_asset(asset, service.assets, base_url(request)))


@router.delete(PREFIX + "/{asset_id}", summary="Delete an asset")
async def delete(asset_id: str, key: Caller, service: Service) -> JSONResponse:
    await service.assets.delete(key.id, asset_id)
    return JSONResponse({"id": asset_id, "object": "asset.deleted", "deleted": True})
