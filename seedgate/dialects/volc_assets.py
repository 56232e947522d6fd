"""Volcengine-style asset actions (3hei and the official platform): `POST /api/v1/open/{Action}` with PascalCase
bodies, answered in the `{ResponseMetadata, Result}` envelope (vendors.md §4.3)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from seedgate.api.deps import authenticate, base_url, task_service
from seedgate.assets.library import MAX_NAME_CHARS, AssetLibrary, check_kind, check_source_url
from seedgate.core.asset import Asset, AssetGroup, AssetStatus
from seedgate.core.errors import ApiError, invalid, missing
from seedgate.store.store import ApiKey

from .common import json_object, message_naming_param, request_id

PREFIX = "/api/v1/open"
# Volcengine's asset vocabulary; jimmyai's audit API (resold from a Volcengine-style upstream) uses the same words.
STATUS_WORDS = {AssetStatus.PROCESSING: "Processing", AssetStatus.ACTIVE: "Active", AssetStatus.FAILED: "Failed"}
KIND_WORDS = {"image": "Image", "video": "Video", "audio": "Audio"}
_PAGE_SIZE_MAX = 100
_PAGE_NUMBER_MAX = 100_000
_TEXT_MAX = {"Name": MAX_NAME_CHARS, "GroupType": 32, "Id": 64, "GroupId": 64, "AssetType": 16}

Handler = Callable[[AssetLibrary, ApiKey, dict[str, Any], str], Awaitable[dict[str, Any]]]


def _metadata(action: str, request_id: str) -> dict[str, Any]:
    return {"RequestId": request_id, "Action": action, "Version": "2024-01-01", "Service": "ark"}


def render_error(error: ApiError, request_id: str, action: str = "") -> JSONResponse:
    meta = _metadata(action, request_id)
    meta["Error"] = {"Code": error.code, "Message": message_naming_param(error)}
    return JSONResponse({"ResponseMetadata": meta}, status_code=error.status)


def _time(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


def render_asset(asset: Asset, url: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Id": asset.id,
        "Name": asset.name,
        "GroupId": asset.group_id,
        "Status": STATUS_WORDS[asset.status],
        "AssetType": KIND_WORDS.get(asset.kind or ""),
        "URL": url,
        "CreateTime": _time(asset.created_at),
        "UpdateTime": _time(asset.updated_at),
    }
    if asset.error:
        item["Error"] = {"Code": asset.error["code"], "Message": asset.error["message"]}
    return item


def _render_group(group: AssetGroup) -> dict[str, Any]:
    return {
        "Id": group.id,
        "Name": group.name,
        "Description": group.description,
        "GroupType": group.group_type,
        "CreateTime": _time(group.created_at),
        "UpdateTime": _time(group.updated_at),
    }


def _text(body: dict[str, Any], name: str, *, required: bool = False, default: str = "") -> str:
    value = body.get(name)
    if value is None:
        if required:
            raise missing(name)
        return default
    if not isinstance(value, str) or (required and not value.strip()):
        raise invalid(name, f"{name} must be a non-empty string")
    limit = _TEXT_MAX.get(name, 10_000)
    if len(value) > limit:
        raise invalid(name, f"{name} has {len(value)} characters; at most {limit}")
    return value.strip()


def _page(body: dict[str, Any]) -> tuple[int, int]:
    number, size = body.get("PageNumber", 1), body.get("PageSize", 20)
    if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= _PAGE_NUMBER_MAX:
        raise invalid("PageNumber", f"PageNumber must be an integer in [1, {_PAGE_NUMBER_MAX}]")
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= _PAGE_SIZE_MAX:
        raise invalid("PageSize", f"PageSize must be an integer in [1, {_PAGE_SIZE_MAX}]")
    return number, size


def _filter(body: dict[str, Any]) -> dict[str, Any]:
    value = body.get("Filter") or {}
    if not isinstance(value, dict):
        raise invalid("Filter", "Filter must be an object")
    name = value.get("Name")
    if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME_CHARS):
        raise invalid("Filter.Name", f"Filter.Name must be a string of at most {MAX_NAME_CHARS} characters")
    return value


def _strings(value: Any, param: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(param, f"{param} must be a list of strings")
    return value


# -- actions ------------------------------------------------------------------------------------------------------


async def _create_group(lib: AssetLibrary, key: ApiKey, body: dict[str, Any], _: str) -> dict[str, Any]:
    group = await lib.create_group(
        key.id, _text(body, "Name", required=True), _text(body, "Description"), _text(body, "GroupType", default="AIGC")
    )
    return {"Id": group.id}


async def _get_group(lib: AssetLibrary, key: ApiKey, body: dict[str, Any], _: str) -> dict[str, Any]:
    return _render_group(await lib.get_group(key.id, _text(body, "Id", required=True)))


async def _list_groups(lib: AssetLibrary, key: ApiKey, body: dict[str, Any], _: str) -> dict[str, Any]:
    number, size = _page(body)
    where = _filter(body)
    total, groups = await lib.list_groups(
        key.id,
        ids=_strings(where.get("GroupIds"), "Filter.GroupIds"),
        name=where.get("Name") or None,
        offset=(number - 1) * size,
        limit=size,
    )
    return {"Items": [_render_group(g) for g in groups], "TotalCount": total, "PageNumber": number, "PageSize": size}


async def _update_group(lib: AssetLibrary, key: ApiKey, body: dict[str, Any], _: str) -> dict[str, Any]:
    values = {
        field: _text(body, name)
        for name, field in (("Name", "name"), ("Description", "description"))
        if body.get(name) is not None
    }
    return _render_group(await lib.update_group(key.id, _text(body, "Id", required=True), **values))


async def _delete_group(lib: AssetLibrary, key: ApiKey, body: dict[str, Any], _: str) -> dict[str, Any]:
    await lib.delete_group(key.id, _text(body, "Id", required=True))
    return {}


async def _create_asset(lib: AssetLibrary, key: ApiKey, body: dict[str, Any], _: str) -> dict[str, Any]:
    if body.get("URL") is None:
        raise missing("URL")
    kind = check_kind(_text(body, "AssetType") or None, "AssetType")
    asset = await lib.create_from_url(
        key.id,
        check_source_url(body["URL"], "URL"),
        kind=kind,
        name=_text(body, "Name"),
        group_id=_text(body, "GroupId") or None,
    )
    return {"Id": asset.id}


async def _get_asset(lib: AssetLibrary, key: ApiKey, body: dict[str, Any], base: str) -> dict[str, Any]:
    asset = await lib.get(key.id, _text(body, "Id", required=True))
    return render_asset(asset, lib.link(asset, base))


async def _list_assets(lib: AssetLibrary, key: ApiKey, body: dict[str, Any], base: str) -> dict[str, Any]:
    number, size = _page(body)
    where = _filter(body)
    statuses = {v.lower(): s for s, v in STATUS_WORDS.items()}
    wanted = _strings(where.get("Statuses"), "Filter.Statuses")
    if unknown := [s for s in wanted if s.lower() not in statuses]:
        raise invalid("Filter.Statuses", f"{unknown[0]!r} is not Processing, Active or Failed")
    kinds = [check_kind(k, "Filter.AssetTypes") or "" for k in _strings(where.get("AssetTypes"), "Filter.AssetTypes")]
    total, found = await lib.list_assets(
        key.id,
        group_ids=_strings(where.get("GroupIds"), "Filter.GroupIds"),
        statuses=[statuses[s.lower()] for s in wanted],
        kinds=kinds,
        name=where.get("Name") or None,
        offset=(number - 1) * size,
        limit=size,
    )
    return {
        "Items": [render_asset(a, lib.link(a, base)) for a in found],
        "TotalCount": total,
        "PageNumber": number,
        "PageSize": size,
    }


async def _update_asset(lib: AssetLibrary, key: ApiKey, body: dict[str, Any], base: str) -> dict[str, Any]:
    values = {
        field: _text(body, name)
        for name, field in (("Name", "name"), ("GroupId", "group_id"))
        if body.get(name) is not None
    }
    asset = await lib.update(key.id, _text(body, "Id", required=True), **values)
    return render_asset(asset, lib.link(asset, base))


async def _delete_asset(lib: AssetLibrary, key: ApiKey, body: dict[str, Any], _: str) -> dict[str, Any]:
    await lib.delete(key.id, _text(body, "Id", required=True))
    return {}


ACTIONS: dict[str, Handler] = {
    "CreateAssetGroup": _create_group,
    "GetAssetGroup": _get_group,
    "ListAssetGroups": _list_groups,
    "UpdateAssetGroup": _update_group,
    "DeleteAssetGroup": _delete_group,
    "CreateAsset": _create_asset,
    "GetAsset": _get_asset,
    "ListAssets": _list_assets,
    "UpdateAsset": _update_asset,
    "DeleteAsset": _delete_asset,
}


router = APIRouter(tags=["assets (Volcengine actions)"])


@router.post(PREFIX + "/{action}", summary="Asset and asset-group actions: " + ", ".join(ACTIONS))
async def act(action: str, request: Request) -> JSONResponse:
    rid = request_id(request)  # the X-Request-Id of the answer too
    try:
        handler = ACTIONS.get(action)
        if handler is None:
            raise ApiError(
                404,
                "InvalidActionOrVersion",
                f"the action {action!r} does not exist; known actions: {', '.join(ACTIONS)}",
            )
        key = await authenticate(request)  # inside: a refusal answers in this action's envelope
        body = await json_object(request)
        result = await handler(task_service(request).assets, key, body, base_url(request))
    except ApiError as error:
        return render_error(error, rid, action)
    return JSONResponse({"ResponseMetadata": _metadata(action, rid), "Result": result})
