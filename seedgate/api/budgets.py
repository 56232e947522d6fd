"""`/v1/budgets`: operators define budgets and limits, link keys to them and read their books (an admin key).

A budget is shared by every key linked to it; a key linked to several must pass all (its own and its project's).
docs/budgets.md has the rules; tasks/budgets.py the field checks.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from seedgate.api.deps import Caller, Service
from seedgate.core.errors import ApiError, missing
from seedgate.dialects.common import json_object
from seedgate.store.store import ApiKey
from seedgate.tasks.budgets import budget_json, entry_json

router = APIRouter(tags=["budgets"])
PREFIX = "/v1/budgets"

_FIELDS = {
    "name": {"type": "string", "description": "Unique name (a project, a team, a user)"},
    "unit": {"type": "string", "description": '"tokens", or a currency code ("CNY", "USD") the models are priced in'},
    "limit": {"type": ["number", "string", "null"], "description": "Per period, in the unit; null: no cap"},
    "period": {"type": ["string", "null"], "enum": ["day", "week", "month", None], "description": "UTC resets"},
    "models": {"type": ["array", "null"], "items": {"type": "string"}, "description": "Allowed model IDs"},
    "expires_at": {"type": ["number", "null"], "description": "Unix time after which creates are refused"},
    "rpm": {"type": ["integer", "null"], "description": "Creates per minute"},
    "max_queued": {"type": ["integer", "null"], "description": "Tasks queued at once (Ark: 120)"},
    "max_running": {"type": ["integer", "null"], "description": "Tasks running at once (recorded; see docs)"},
}
_BODY = {"required": True, "content": {"application/json": {"schema": {"type": "object", "properties": _FIELDS}}}}
_LINK_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"type": "object", "properties": {"key_id": {"type": "string"}}}}},
}


async def _admin(key: Caller) -> ApiKey:
    if not key.admin:
        raise ApiError(403, "AccessDenied", "budgets need an admin API key")
    return key


Admin = Annotated[ApiKey, Depends(_admin)]


@router.get(PREFIX, summary="List budgets")
async def list_budgets(_key: Admin, service: Service) -> JSONResponse:
    budgets = await service.budgets.all()
    return JSONResponse({"object": "list", "data": [budget_json(b) for b in budgets]})


@router.post(PREFIX, summary="Create a budget", openapi_extra={"requestBody": _BODY})
async def create_budget(request: Request, _key: Admin, service: Service) -> JSONResponse:
    budget = await service.budgets.create(await json_object(request))
    return JSONResponse(budget_json(budget, []), status_code=201)


@router.get(PREFIX + "/{budget_id}", summary="A budget, with its keys and what is left this period")
async def get_budget(budget_id: str, _key: Admin, service: Service) -> JSONResponse:
    budget = await service.budgets.find(budget_id)
    return JSONResponse(budget_json(budget, await service.budgets.keys(budget)))


@router.patch(PREFIX + "/{budget_id}", summary="Change a budget's limits", openapi_extra={"requestBody": _BODY})
async def update_budget(budget_id: str, request: Request, _key: Admin, service: Service) -> JSONResponse:
    budget = await service.budgets.update(budget_id, await json_object(request))
    return JSONResponse(budget_json(budget, await service.budgets.keys(budget)))


@router.delete(PREFIX + "/{budget_id}", summary="Delete a budget (its ledger entries stay)")
async def delete_budget(budget_id: str, _key: Admin, service: Service) -> Response:
    await service.budgets.delete(budget_id)
    return JSONResponse({"id": budget_id, "object": "budget.deleted", "deleted": True})


@router.post(
    PREFIX + "/{budget_id}/keys", summary="Link an API key to the budget", openapi_extra={"requestBody": _LINK_BODY}
)
async def link_key(budget_id: str, request: Request, _key: Admin, service: Service) -> JSONResponse:
    body: dict[str, Any] = await json_object(request)
    key_id = body.get("key_id")
    if not isinstance(key_id, str) or not key_id:
        raise missing("key_id")
    budget = await service.budgets.link(budget_id, key_id)
    return JSONResponse(budget_json(budget, await service.budgets.keys(budget)))


@router.delete(PREFIX + "/{budget_id}/keys/{key_id}", summary="Unlink an API key from the budget")
async def unlink_key(budget_id: str, key_id: str, _key: Admin, service: Service) -> JSONResponse:
    await service.budgets.unlink(budget_id, key_id)
    budget = await service.budgets.find(budget_id)
    return JSONResponse(budget_json(budget, await service.budgets.keys(budget)))


@router.get(PREFIX + "/{budget_id}/ledger", summary="The budget's ledger entries (reserve, settle, refund)")
async def budget_ledger(budget_id: str, _key: Admin, service: Service, since: float = 0.0) -> JSONResponse:
    budget = await service.budgets.find(budget_id)
    entries = await service.budgets.ledger(budget, since)
    return JSONResponse({"object": "list", "data": [entry_json(budget.unit, e) for e in entries]})
