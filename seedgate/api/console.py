"""The web console: static files at `/console`, plus the few JSON routes it needs that no dialect offers.

Everything else the console does goes through the public APIs (Ark create/delete, `/v1/assets`, `/v1/models`),
so it exercises the same paths clients do. Every route here authenticates with the caller's API key.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import av
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from seedgate.api.deps import Caller, Service, authenticate, base_url, task_service
from seedgate.api.files import stored_response
from seedgate.core.errors import ApiError, invalid, not_found
from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.dialects.ark import render_task as ark_render
from seedgate.dialects.common import json_object
from seedgate.dialects.costs import task_cost
from seedgate.media.thumbnails import make_thumbnail
from seedgate.store.reports import UsageQuery
from seedgate.store.store import ApiKey
from seedgate.tasks.service import TaskService

from .snippets import snippets
from .usage import last_days, owner_for

PREFIX = "/console"
_STATIC = resources.files("seedgate.console").joinpath("static")
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_THUMB_NAME = "console-thumb.jpg"  # beside the task's result files, so deleting the task deletes it
_THUMB_WIDTH = 192
_USAGE_MAX_DAYS = 92
_POLL_S = 1.0  # how often the event stream looks at the store
_WINDOW = 100  # the newest tasks the event stream watches (the console lists fewer)
_KEEPALIVE_S = 15.0


def summary(task: Task, thumb_url: str | None = None) -> dict[str, Any]:
    """A task as a list row: enough for the table and its live updates (started_at lets the page show an ETA)."""
    spec = task.spec
    return {
        "id": task.id,
        "status": task.status.value,
        "progress": round(task.progress, 3),
        "model": spec.model_name,
        "mode": spec.mode,
        "prompt": spec.prompt[:200],
        "resolution": spec.resolution,
        "ratio": spec.ratio,
        "duration": spec.duration,
        "dialect": task.dialect,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "started_at": task.started_at,
        "error": task.error,
        "thumb_url": thumb_url,
    }


def timings(task: Task, links_expire_at: float | None = None) -> dict[str, float | None]:
    """`expires_at` is the run deadline (a task still queued or running then expires); `links_expire_at` is when
    the signed result links stop working, which is what a user downloading the video needs to know."""
    queued = (task.started_at - task.created_at) if task.started_at else None
    running = (task.finished_at - task.started_at) if task.finished_at and task.started_at else None
    return {
        "created_at": task.created_at,
        "started_at": task.started_at,
        "finished_at": task.finished_at,
        "expires_at": task.expires_at,
        "links_expire_at": links_expire_at,
        "queued_s": queued,
        "running_s": running,
    }


def _links_expiry(service: TaskService, task: Task) -> float | None:
    if task.status is not Status.SUCCEEDED or not task.result:
        return None
    return float(int((task.finished_at or task.updated_at) + service.result_ttl_s(task.dialect)))


def _thumb_url(service: TaskService, task: Task, base: str) -> str | None:
    """A signed link to the task's thumbnail (an <img> cannot send the key); it expires with the result links."""
    expires = _links_expiry(service, task)
    if expires is None or not (task.result or {}).get("video"):
        return None
    return service.signer.sign(base, f"{PREFIX}/thumbs/{task.id}", int(expires))


def runnable_models(catalog: Any) -> list[dict[str, Any]]:
    """The catalog models this node can run now (the preview engine, configured local pipelines, models an
    upstream channel serves), each with the defaults the server applies, so the form starts from them."""
    out = []
    for profile in catalog.models.values():
        info = profile.summary()
        if not info["modes"]:  # a local-engine model without a configured pipeline
            continue
        info["defaults"] = {
            "generate_audio": bool(profile.audio),
            "resolution": profile.default_resolution,
            "ratio": dict(profile.default_ratio),
            "duration": profile.duration.default,
            "return_last_frame": False,
        }
        out.append(info)
    return out


def _spec_view(task: Task) -> dict[str, Any]:
    data = task.spec.to_json()
    data.pop("wire_names", None)
    for ref in data.get("media", []):
        if isinstance(ref.get("url"), str) and ref["url"].startswith("data:") and len(ref["url"]) > 200:
            ref["url"] = ref["url"][:60] + "..."
    return data


def _not_reusable(url: str) -> bool:
    return url.startswith("blob:") or (url.startswith("data:") and len(url) > 4096)


def _rerun(task: Task) -> dict[str, Any]:
    """The request as the create form needs it to start again from this task: the settled values, and each media
    item's URL in full unless it is a large inline data: URL or an uploaded file kept as a blob (the user attaches
    that file again)."""
    spec = task.spec
    media = [{"kind": m.kind, "role": m.role, "url": "" if _not_reusable(m.url) else m.url} for m in spec.media]
    return {
        "model": spec.model_name,
        "mode": spec.mode,
        "prompt": spec.prompt,
        "resolution": spec.resolution,
        "ratio": spec.ratio,
        "duration": spec.duration,
        "seed": spec.seed,
        "generate_audio": spec.generate_audio,
        "draft": spec.draft,
        "return_last_frame": spec.return_last_frame,
        "media": media,
    }


async def _admin(key: Caller) -> ApiKey:
    if not key.admin:
        raise ApiError(403, "AccessDenied", "this needs an admin API key")
    return key


Admin = Annotated[ApiKey, Depends(_admin)]


def _key_view(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "admin": key.admin,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }


def _static(name: str) -> Response:
    path = _STATIC.joinpath(name)
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    if "/" in name or name.startswith(".") or suffix not in _TYPES or not path.is_file():
        raise ApiError(404, "NotFound", f"no console file {name}")
    # no-cache: a new server version must not run with an old script cached by the browser.
    return FileResponse(str(path), media_type=_TYPES[suffix], headers={"Cache-Control": "no-cache"})


def _server_exiting() -> bool:
    """Whether uvicorn was asked to stop. It waits for open responses before the app hears of it (up to
    `timeout_graceful_shutdown`), so an open console tab would hold a shutdown that long unless streams end on
    their own. uvicorn's SIGTERM handler is a bound method of its Server, which carries `should_exit`."""
    owner = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    return bool(getattr(owner, "should_exit", False))


async def _events(request: Request, key: ApiKey) -> AsyncIterator[str]:
    """Server-Sent Events: `task` for each task that changed, `gone` for one deleted (or aged out of the window)."""
    service = task_service(request)
    base = base_url(request)
    seen: dict[str, tuple[str, float, float]] = {}
    first = True
    quiet_since = time.monotonic()
    while not await request.is_disconnected() and not _server_exiting():
        _, tasks = await service.list(key, limit=_WINDOW)
        now_seen = {t.id: (t.status.value, t.progress, t.updated_at) for t in tasks}
        changed = [t for t in tasks if seen.get(t.id) != now_seen[t.id]]
        gone = [task_id for task_id in seen if task_id not in now_seen]
        seen = now_seen
        if not first:
            for task in reversed(changed):  # oldest first, so a new task lands on top of the list
                yield f"event: task\ndata: {json.dumps(summary(task, _thumb_url(service, task, base)))}\n\n"
            for task_id in gone:
                yield f"event: gone\ndata: {json.dumps({'id': task_id})}\n\n"
        if first:
            first = False
            yield "event: ready\ndata: {}\n\n"  # the headers and this reach the browser at once
        if changed or gone:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > _KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"  # proxies close idle streams
        await asyncio.sleep(_POLL_S)


router = APIRouter(tags=["console"], include_in_schema=False)


@router.get(PREFIX)
@router.get(PREFIX + "/")
async def index() -> Response:
    return _static("index.html")


@router.get(PREFIX + "/static/{name}")
async def static(name: str) -> Response:
    return _static(name)


@router.get(PREFIX + "/api/me")
async def me(key: Caller) -> JSONResponse:
    return JSONResponse(_key_view(key))


@router.get("/favicon.ico")
async def favicon() -> Response:
    return _static("favicon.svg")  # browsers that ask for /favicon.ico get the same mark


@router.get(PREFIX + "/api/models")
async def models(key: Caller, service: Service) -> JSONResponse:
    return JSONResponse({"items": runnable_models(service.catalog)})


@router.get(PREFIX + "/api/tasks")
async def list_tasks(
    request: Request, status: str = "", model: str = "", q: str = "", limit: int = 50, offset: int = 0
) -> JSONResponse:
    # Not `Caller`: FastAPI refuses a non-integer limit or offset before the route runs, and so before the key.
    key = await authenticate(request)
    service = task_service(request)
    if status and status not in {s.value for s in Status}:
        raise invalid("status", f"{status!r} is not a task status")
    if not 1 <= limit <= 200 or offset < 0:
        raise invalid("limit", "limit must be in [1, 200] and offset >= 0")
    if len(q) > 200:
        raise invalid("q", "q (the search text) must be at most 200 characters")
    filters: dict[str, Any] = {"statuses": [status] if status else [], "endpoint": model or None}
    if q.strip():
        filters["ids"] = await service.search(key, q.strip())
        if not filters["ids"]:
            return JSONResponse({"total": 0, "offset": offset, "limit": limit, "items": []})
    total, tasks = await service.list(key, offset=offset, limit=limit, **filters)
    base = base_url(request)
    return JSONResponse(
        {
            "total": total,
            "offset": offset,
            "limit": limit,
            "items": [summary(t, _thumb_url(service, t, base)) for t in tasks],
        }
    )


@router.get(PREFIX + "/thumbs/{task_id}")
async def thumbnail(task_id: str, service: Service, expires: int = 0, signature: str = "") -> Response:
    if not service.signer.verify(f"{PREFIX}/thumbs/{task_id}", expires, signature):
        raise ApiError(403, "AccessDenied", "the link is invalid or has expired")
    task = await service.linked_task(task_id)
    if task is not None and await service.keys.is_revoked(task.owner):
        raise ApiError(403, "AccessDenied", "the link is no longer valid: its key was revoked")
    try:  # made once, on first view, off the event loop
        stored = await service.still(task, _THUMB_NAME, _make_thumbnail) if task else None
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise ApiError(404, "ResourceNotFound", f"no thumbnail: {type(exc).__name__}") from exc
    if stored is None:
        raise ApiError(404, "ResourceNotFound", "the video no longer exists")
    return stored_response(service.storage, stored, "image/jpeg", {"Cache-Control": "private, max-age=3600"})


def _make_thumbnail(video: Path, folder: Path) -> None:
    make_thumbnail(video, folder / _THUMB_NAME, _THUMB_WIDTH)


@router.get(PREFIX + "/api/usage")
async def usage(request: Request, days: int = 30, tz: int = 0, key_id: str = "") -> JSONResponse:
    # Not `Caller`: FastAPI refuses a non-integer days or tz before the route runs, and so before the key.
    key = await authenticate(request)
    if not 1 <= days <= _USAGE_MAX_DAYS:
        raise invalid("days", f"days must be in [1, {_USAGE_MAX_DAYS}]")
    if not -900 <= tz <= 900:
        raise invalid("tz", "tz must be a UTC offset in minutes in [-900, 900]")
    offset = -tz  # the browser's getTimezoneOffset() counts minutes west of UTC
    since, until = last_days(days, offset, time.time())
    query = UsageQuery(since, until, owner_for(key, key_id), ("day", "model"), offset)
    return JSONResponse({"days": days, **await task_service(request).usage(query)})


@router.get(PREFIX + "/api/events")
async def events(request: Request, key: Caller) -> StreamingResponse:
    # The console reads this with fetch() so the key travels in the Authorization header, never in a URL
    # (URLs end up in access logs; EventSource cannot set headers).
    return StreamingResponse(
        _events(request, key),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(PREFIX + "/api/tasks/{task_id}")
async def task_detail(task_id: str, request: Request, key: Caller, service: Service) -> JSONResponse:
    task = await service.get(key, task_id)
    base = base_url(request)
    links = service.links(task, base)
    result = task.result or {}
    body = {
        **summary(task, _thumb_url(service, task, base)),
        "spec": _spec_view(task),
        "links": links,
        "timings": timings(task, _links_expiry(service, task)),
        "rerun": _rerun(task),
        "usage": result.get("usage"),
        "cost": task_cost(task),  # estimated: true until it finishes
        "engine": result.get("engine"),
        "notice": result.get("notice"),
        "result": {k: v for k, v in result.items() if k not in ("usage", "cost", "video", "last_frame")},
        "webhooks": await service.webhook_history(task),
        "snippets": snippets(task.spec, base),
        "ark": ark_render(task, links),
    }
    return JSONResponse(body)


@router.get(PREFIX + "/api/groups")
async def list_groups(key: Caller, service: Service) -> JSONResponse:
    _, groups = await service.assets.list_groups(key.id, limit=200)
    return JSONResponse({"items": [{"id": g.id, "name": g.name, "created_at": g.created_at} for g in groups]})


@router.post(PREFIX + "/api/groups")
async def new_group(request: Request, key: Caller, service: Service) -> JSONResponse:
    body = await json_object(request)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise invalid("name", "name must be a non-empty string of at most 64 characters")
    group = await service.assets.create_group(key.id, name.strip())
    return JSONResponse({"id": group.id, "name": group.name, "created_at": group.created_at})


@router.get(PREFIX + "/api/keys")
async def list_keys(_: Admin, service: Service) -> JSONResponse:
    keys = await service.list_keys()
    return JSONResponse({"items": [_key_view(k) for k in keys]})


@router.post(PREFIX + "/api/keys")
async def new_key(request: Request, _: Admin, service: Service) -> JSONResponse:
    body = await json_object(request)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise invalid("name", "name must be a non-empty string of at most 100 characters")
    key, secret = await service.create_key(name.strip(), admin=bool(body.get("admin")))
    # The only time the secret is shown: the store keeps a hash.
    return JSONResponse({**_key_view(key), "secret": secret})


@router.delete(PREFIX + "/api/keys/{key_id}")
async def revoke_key(key_id: str, me: Admin, service: Service) -> JSONResponse:
    if key_id == me.id:
        raise invalid("key_id", "a key cannot revoke itself from the console")
    if not await service.revoke_key(key_id):
        raise not_found("key", key_id, "key_id")
    return JSONResponse({"id": key_id, "revoked": True})


@router.get(PREFIX + "/api/channels")
async def channels(_: Admin, service: Service) -> JSONResponse:
    relay = service.relay
    items = (
        []
        if relay is None
        else [
            {
                "name": c.name,
                "kind": c.kind,
                "base_url": c.base_url,
                "models": c.models,
                "priority": c.priority,
                "weight": c.weight,
                "concurrency": c.concurrency,
                "key_env": c.key_env,
            }
            for c in relay.channels.channels
        ]
    )
    return JSONResponse({"items": items})
