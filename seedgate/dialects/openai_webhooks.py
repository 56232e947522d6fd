"""OpenAI's webhook endpoints (`/v1/webhook_endpoints`): a key subscribes URLs to `video.completed` and
`video.failed`; each endpoint has its own `whsec_` secret, and deliveries carry Standard Webhooks signatures.

`POST /v1/webhook_endpoints/{id}/test` (the SDKs' `webhooks.test`) sends one signed sample event at once and
answers `{object: "webhook_endpoint.test", event_type, status_code, success: true, webhook_endpoint_id}` with the
status the endpoint answered; an endpoint that cannot be reached is a 400 naming `url`."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from seedgate import __version__
from seedgate.api.deps import Caller, Service
from seedgate.core.errors import invalid, missing
from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.media.fetch import FetchError, FetchPolicy, guarded_client
from seedgate.store.store import Endpoint
from seedgate.worker.webhooks import ATTEMPT_TIMEOUT_S, sign_each

from .common import SMALL_INT, json_object

PREFIX = "/v1/webhook_endpoints"
EVENT_TYPES = ("video.completed", "video.failed")


def event_type(task: Task) -> str | None:
    """The OpenAI event a task in this state raises, if any."""
    if task.status is Status.SUCCEEDED:
        return "video.completed"
    if task.status.terminal:
        return "video.failed"
    return None


def render_event(task: Task, event: str) -> dict[str, Any]:
    # Receivers read data.id and fetch the video (the SDK has no typed video event).
    return {
        "id": f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "created_at": int(time.time()),
        "type": event,
        "data": {"id": task.id},
    }


def sample_event(event: str) -> dict[str, Any]:
    """What `/test` sends: the shape of a real event, about a video that does not exist."""
    return {
        "id": f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "created_at": int(time.time()),
        "type": event,
        "data": {"id": f"video_test_{secrets.token_hex(8)}"},
    }


async def send_test(endpoint: Endpoint, event: str, *, allow_private: bool) -> int:
    """POST a signed sample event to the endpoint now; returns the HTTP status it answered.

    Through the same address guard as every delivery: the answer's status would otherwise let a key holder probe
    internal addresses."""
    body = json.dumps(sample_event(event)).encode()
    message_id = f"msg_{secrets.token_hex(12)}"
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"seedgate/{__version__}",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_each(endpoint.signing_secrets(time.time()), message_id, timestamp, body),
    }
    policy = FetchPolicy(allow_private=allow_private, max_concurrency=1)

    async def post() -> int:
        # Streamed and closed unread, as every delivery: only the status counts, the answer's body is never loaded.
        async with (
            guarded_client(policy, timeout_s=ATTEMPT_TIMEOUT_S) as client,
            client.stream("POST", endpoint.url, content=body, headers=headers) as response,
        ):
            return response.status_code

    try:
        return await asyncio.wait_for(post(), ATTEMPT_TIMEOUT_S)
    except FetchError as exc:
        raise invalid("url", f"the test event was not sent to {endpoint.url}: {exc.message}"[:500]) from None
    except TimeoutError:
        raise invalid(
            "url", f"the test event got no answer from {endpoint.url} within {ATTEMPT_TIMEOUT_S:g} s"
        ) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise invalid(
            "url", f"the test event could not be delivered to {endpoint.url}: {type(exc).__name__}: {exc}"[:500]
        ) from None


def _render(endpoint: Endpoint, with_secret: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "name": endpoint.name,
        "url": endpoint.url,
        "event_types": endpoint.event_types,
        "created_at": int(endpoint.created_at),
        "updated_at": int(endpoint.updated_at),
        "signing_secret_hint": endpoint.secret[:10] + "…",
    }
    if with_secret:
        body["signing_secret"] = endpoint.secret
    return body


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 2048 or not value.startswith(("http://", "https://")):
        return False
    try:
        return bool(httpx.URL(value).host)
    except (httpx.InvalidURL, ValueError):
        return False


def _check(body: dict[str, Any], partial: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in ("name", "url", "event_types"):
        if body.get(field) is None:
            if not partial:
                raise missing(field)
            continue
        values[field] = body[field]
    if "url" in values and not _is_http_url(values["url"]):
        raise invalid("url", "url must be an absolute http(s) URL")
    if "name" in values and not isinstance(values["name"], str):
        raise invalid("name", "name must be a string")
    if "event_types" in values:
        kinds = values["event_types"]
        if not isinstance(kinds, list) or not kinds or any(k not in EVENT_TYPES for k in kinds):
            raise invalid("event_types", f"event_types must be a non-empty list of {', '.join(EVENT_TYPES)}")
    return values


router = APIRouter(tags=["OpenAI webhook endpoints"])


@router.post(PREFIX, summary="Subscribe a URL to video.completed / video.failed")
async def create(request: Request, key: Caller, service: Service) -> JSONResponse:
    values = _check(await json_object(request), partial=False)
    endpoint = await service.endpoints.create(key.id, **values)
    return JSONResponse(_render(endpoint, with_secret=True))


@router.get(PREFIX, summary="List webhook endpoints (cursor pagination: after, limit)")
async def list_endpoints(request: Request, key: Caller, service: Service) -> JSONResponse:
    raw_limit = request.query_params.get("limit") or "20"
    if not SMALL_INT.fullmatch(raw_limit) or not 1 <= int(raw_limit) <= 100:
        raise invalid("limit", "limit must be an integer in [1, 100]")
    endpoints = await service.endpoints.list(key.id)
    after = request.query_params.get("after")
    if after:
        ids = [e.id for e in endpoints]
        endpoints = endpoints[ids.index(after) + 1 :] if after in ids else []
    page = endpoints[: int(raw_limit)]
    data = [_render(e) for e in page]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": len(endpoints) > len(page),
        }
    )


@router.get(PREFIX + "/{endpoint_id}", summary="Retrieve a webhook endpoint")
async def retrieve(endpoint_id: str, key: Caller, service: Service) -> JSONResponse:
    return JSONResponse(_render(await service.endpoints.get(key.id, endpoint_id)))


@router.post(PREFIX + "/{endpoint_id}", summary="Update a webhook endpoint")
async def update(endpoint_id: str, request: Request, key: Caller, service: Service) -> JSONResponse:
    await service.endpoints.get(key.id, endpoint_id)  # 404 before the body is looked at
    values = _check(await json_object(request), partial=True)
    return JSONResponse(_render(await service.endpoints.update(key.id, endpoint_id, values)))


@router.post(PREFIX + "/{endpoint_id}/rotate_secret", summary="Replace the signing secret")
async def rotate_secret(endpoint_id: str, request: Request, key: Caller, service: Service) -> JSONResponse:
    old = await service.endpoints.get(key.id, endpoint_id)
    option = "keep_old_secret_active_for_24_hours"
    keep = (await json_object(request) if await request.body() else {}).get(option)
    if keep is not None and not isinstance(keep, bool):
        raise invalid(option, f"{option} must be a boolean")
    endpoint = await service.endpoints.rotate_secret(old, keep_old=bool(keep))
    return JSONResponse(_render(endpoint, with_secret=True))


@router.post(PREFIX + "/{endpoint_id}/test", summary="Send a signed sample event to the endpoint now")
async def test(endpoint_id: str, request: Request, key: Caller, service: Service) -> JSONResponse:
    endpoint = await service.endpoints.get(key.id, endpoint_id)
    event = (await json_object(request)).get("event_type")
    if event is None:
        raise missing("event_type")
    if event not in EVENT_TYPES:
        raise invalid("event_type", f"{event!r} is not an event this server sends; use one of {', '.join(EVENT_TYPES)}")
    status = await send_test(endpoint, event, allow_private=service.settings.allow_private_urls)
    return JSONResponse(
        {
            "object": "webhook_endpoint.test",
            "event_type": event,
            "status_code": status,
            "success": True,
            "webhook_endpoint_id": endpoint.id,
        }
    )


@router.delete(PREFIX + "/{endpoint_id}", summary="Delete a webhook endpoint")
async def delete(endpoint_id: str, key: Caller, service: Service) -> JSONResponse:
    await service.endpoints.get(key.id, endpoint_id)
    await service.endpoints.delete(key.id, endpoint_id)
    return JSONResponse({"id": endpoint_id, "object": "webhook_endpoint.deleted", "deleted": True})
