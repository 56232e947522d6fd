"""`POST /v1/quote`: what a create request of any dialect would cost, before it is sent (docs/pricing.md).

The request is parsed by its dialect's own create parser and checked as a create would check it, but nothing is
fetched and nothing is stored: the media are not downloaded, so a reference video's length counts only where the
quote body states it (`reference_video_seconds`), and an `adaptive` ratio over an image is sized as the prompt says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from seedgate.api.deps import Caller, Service
from seedgate.core.catalog import Catalog
from seedgate.core.errors import ApiError, invalid, missing
from seedgate.core.plan import CheckedSpec, TaskPlan
from seedgate.core.pricing import estimate
from seedgate.core.spec import TaskSpec
from seedgate.core.validation import Soft, check_resolved_media, settle_geometry, validate
from seedgate.dialects import aigeneration, ark, jimmyai, maxapi, moonapix, openai_videos, openrouter, threehei
from seedgate.dialects.bodies import Body
from seedgate.dialects.common import json_object
from seedgate.store.store import ApiKey
from seedgate.tasks.service import TaskService

Parser = Callable[[Any, Catalog], tuple[TaskSpec, Soft]]


# Each dialect's create parser and the body it documents (dialects/bodies.py). OpenAI's JSON fields only: the
# `characters` a request names are not looked up, so they are not priced (docs/pricing.md).
DIALECTS: dict[str, tuple[Parser, Body]] = {
    ark.NAME: (lambda body, _: ark.parse_create(body), ark.CREATE_BODY),
    threehei.NAME: (lambda body, _: ark.parse_create(body), ark.CREATE_BODY),
    aigeneration.NAME: (lambda body, _: aigeneration.parse_create(body), ark.CREATE_BODY),
    openai_videos.NAME: (openai_videos.parse_openai, openai_videos.CREATE_BODY),
    openrouter.NAME: (openrouter.parse_create, openrouter.CREATE_BODY),
    maxapi.NAME: (lambda body, _: maxapi.parse_create(body), maxapi.SUBMIT_BODY),
    jimmyai.NAME: (lambda body, _: jimmyai.parse_create(body), jimmyai.CREATE_BODY),
    moonapix.NAME: (lambda body, _: moonapix.parse_create(body), moonapix.CREATE_BODY),
}


def _schemas(bodies: list[Body]) -> list[dict[str, Any]]:
    """Each body's schema once (Ark's body serves three dialects)."""
    return [dict(body.schema()) for i, body in enumerate(bodies) if body not in bodies[:i]]


QUOTE_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["request"],
                "properties": {
                    "dialect": {
                        "type": "string",
                        "enum": list(DIALECTS),
                        "default": ark.NAME,
                        "description": "Which dialect's create body `request` is",
                    },
                    "request": {
                        "anyOf": _schemas([body for _, body in DIALECTS.values()]),
                        "description": "The create body, exactly as it would be sent to that dialect's create route",
                    },
                    "reference_video_seconds": {
                        "type": "array",
                        "items": {"type": "number", "minimum": 0},
                        "description": "The length of each reference video, in the request's order (Seedance 2.x "
                        "bills them); without it they are not counted",
                    },
                },
            }
        }
    },
}


def _within_request(error: ApiError) -> ApiError:
    """An error about the create body names its field inside the quote body (`request.content`)."""
    param = f"request.{error.param}" if error.param else "request"
    return ApiError(error.status, error.code, error.message, param)


def _video_seconds(raw: Any, checked: CheckedSpec) -> CheckedSpec:
    if raw is None:
        return checked
    videos = checked.media_of("video")
    if (
        not isinstance(raw, list)
        or len(raw) != len(videos)
        or any(isinstance(s, bool) or not isinstance(s, int | float) or not 0 <= s < 1e6 for s in raw)
    ):
        raise invalid(
            "reference_video_seconds",
            f"reference_video_seconds must list one length in seconds (>= 0) for each of the request's "
            f"{len(videos)} reference videos, in order",
        )
    lengths = iter(float(s) for s in raw)
    media = tuple(replace(m, seconds=next(lengths)) if m.kind == "video" else m for m in checked.media)
    return replace(checked, media=media)


async def _plan(body: dict[str, Any], key: ApiKey, service: TaskService) -> tuple[TaskPlan, list[tuple[str, str]]]:
    """The plan a create of this request would store, and notes on what a quote could not know."""
    name = body.get("dialect") or ark.NAME
    if not isinstance(name, str) or name not in DIALECTS:
        raise invalid("dialect", f"dialect must be one of {', '.join(DIALECTS)}")
    request = body.get("request")
    if request is None:
        raise missing("request")
    if not isinstance(request, dict):
        raise invalid("request", "request must be a JSON object: the create body of the dialect")
    parse = DIALECTS[name][0]
    try:
        spec, soft = parse(request, service.catalog)
        if spec.draft_task_id:
            # A final video takes its settings from the caller's draft task, as create does.
            spec = await service._expand_draft(spec, key.id)
        checked = validate(spec, service.catalog, soft)
    except ApiError as error:
        raise _within_request(error) from None
    checked = _video_seconds(body.get("reference_video_seconds"), checked)
    try:
        check_resolved_media(checked, service.catalog)
    except ApiError as error:
        raise _within_request(error) from None
    notes = []
    if checked.ratio == "adaptive" and any(m.kind in ("image", "video") for m in checked.media):
        notes.append(("note", "adaptive ratio: media are not fetched for a quote, so the size follows the prompt"))
    return settle_geometry(checked, service.catalog), notes


router = APIRouter(tags=["pricing"])


@router.post(
    "/v1/quote",
    summary="What a create request would cost, with the breakdown (any dialect's create body)",
    openapi_extra={"requestBody": QUOTE_BODY},
)
async def quote(request: Request, key: Caller, service: Service) -> JSONResponse:
    plan, notes = await _plan(await json_object(request), key, service)
    price = service.catalog.models[plan.model_id].price
    answer: dict[str, Any] = {
        "object": "quote",
        "model": plan.model_name,
        "plan": {
            "mode": plan.mode,
            "resolution": plan.resolution,
            "ratio": plan.ratio,
            "width": plan.width,
            "height": plan.height,
            "frames": plan.frame_count,
            "duration": plan.duration,
            "service_tier": plan.service_tier,
        },
    }
    if price is None:
        reason = f"the model {plan.model_id} has no price in this server's catalog"
        lines = [("price", reason), *notes]
        return JSONResponse({**answer, "quote": None, "reason": reason, "breakdown": _lines(lines)})
    result = estimate(plan, price)
    return JSONResponse({**answer, "quote": result.to_json(), "breakdown": _lines([*result.breakdown, *notes])})


def _lines(lines: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"label": label, "value": value} for label, value in lines]
