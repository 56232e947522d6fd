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
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from seedgate.core.errors import ApiError, invalid, not_found
from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.dialects.ark import render_task as ark_render
from seedgate.dialects.common import json_object
from seedgate.store.store import ApiKey

from .keys import create_key
from .snippets import snippets

PREFIX = "/console"
_STATIC = resources.files("seedgate.console").joinpath("static")
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_POLL_S = 1.0  # how often the event stream looks at the store
_WINDOW = 100  # the newest tasks the event stream watches (the console lists fewer)
_KEEPALIVE_S = 15.0


def summary(task: Task) -> dict[str, Any]:
    """A task as a list row: enough for the table and its live updates."""
    spec = task.spec
    return {
        "id": task.id, "status": task.status.value, "progress": round(task.progress, 3),
        "model": spec.model_name or task.model, "mode": spec.mode, "prompt": spec.prompt[:200],
        "resolution": spec.resolution, "ratio": spec.ratio, "duration": spec.duration, "dialect": task.dialect,
        "created_at": task.created_at, "updated_at": task.updated_at, "error": task.error,
    }


def timings(task: Task) -> dict[str, float | None]:
    queued = (task.started_at - task.created_at) if task.started_at else None
    running = (task.finished_at - task.started_at) if task.finished_at and task.started_at else None
    return {"created_at": task.created_at, "started_at": task.started_at, "finished_at": task.finished_at,
            "expires_at": task.expires_at, "queued_s": queued, "running_s": running}


def _spec_view(task: Task) -> dict[str, Any]:
    data = task.spec.to_json()
    data.pop("wire_names", None)
    for ref in data.get("media", []):
        if isinstance(ref.get("url"), str) and ref["url"].startswith("data:") and len(ref["url"]) > 200:
            ref["url"] = ref["url"][:60] + "..."
    return data


async def _admin(request: Request) -> ApiKey:
    key: ApiKey = await request.app.state.service.authenticate(request)
    if not key.admin:
        raise ApiError(403, "AccessDenied", "this needs an admin API key")
    return key


def _key_view(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "admin": key.admin, "created_at": key.created_at,
            "revoked_at": key.revoked_at}


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
    service = request.app.state.service
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
                yield f"event: task\ndata: {json.dumps(summary(task))}\n\n"
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


def router() -> APIRouter:
    api = APIRouter(tags=["console"], include_in_schema=False)

    @api.get(PREFIX)
    @api.get(PREFIX + "/")
    async def index() -> Response:
        return _static("index.html")

    @api.get(PREFIX + "/static/{name}")
    async def static(name: str) -> Response:
        return _static(name)

    @api.get(PREFIX + "/api/me")
    async def me(request: Request) -> JSONResponse:
        key = await request.app.state.service.authenticate(request)
        return JSONResponse(_key_view(key))

    @api.get(PREFIX + "/api/tasks")
    async def list_tasks(request: Request, status: str = "", model: str = "", limit: int = 50,
                         offset: int = 0) -> JSONResponse:
        service = request.app.state.service
        key = await service.authenticate(request)
        if status and status not in {s.value for s in Status}:
            raise invalid("status", f"{status!r} is not a task status")
        if not 1 <= limit <= 200 or offset < 0:
            raise invalid("limit", "limit must be in [1, 200] and offset >= 0")
        total, tasks = await service.list(key, statuses=[status] if status else [], endpoint=model or None,
                                          offset=offset, limit=limit)
        return JSONResponse({"total": total, "items": [summary(t) for t in tasks]})

    @api.get(PREFIX + "/api/events")
    async def events(request: Request) -> StreamingResponse:
        # The console reads this with fetch() so the key travels in the Authorization header, never in a URL
        # (URLs end up in access logs; EventSource cannot set headers).
        key = await request.app.state.service.authenticate(request)
        return StreamingResponse(_events(request, key), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @api.get(PREFIX + "/api/tasks/{task_id}")
    async def task_detail(task_id: str, request: Request) -> JSONResponse:
        service = request.app.state.service
        key = await service.authenticate(request)
        task = await service.get(key, task_id)
        base = service.base_url(request)
        links = service.links(task, base)
        result = task.result or {}
        body = {
            **summary(task), "spec": _spec_view(task), "links": links, "timings": timings(task),
            "usage": result.get("usage"), "engine": result.get("engine"), "notice": result.get("notice"),
            "result": {k: v for k, v in result.items() if k not in ("usage", "video", "last_frame")},
            "webhooks": await service.store.webhook_history(task.id), "snippets": snippets(task.spec, base),
            "ark": ark_render(task, links),
        }
        return JSONResponse(body)

    @api.get(PREFIX + "/api/groups")
    async def list_groups(request: Request) -> JSONResponse:
        service = request.app.state.service
        key = await service.authenticate(request)
        _, groups = await service.assets.store.list_groups(key.id, limit=200)
        return JSONResponse({"items": [{"id": g.id, "name": g.name, "created_at": g.created_at} for g in groups]})

    @api.post(PREFIX + "/api/groups")
    async def new_group(request: Request) -> JSONResponse:
        service = request.app.state.service
        key = await service.authenticate(request)
        body = await json_object(request)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 64:
            raise invalid("name", "name must be a non-empty string of at most 64 characters")
        group = await service.assets.create_group(key.id, name.strip())
        return JSONResponse({"id": group.id, "name": group.name, "created_at": group.created_at})

    @api.get(PREFIX + "/api/keys")
    async def list_keys(request: Request) -> JSONResponse:
        await _admin(request)
        keys = await request.app.state.service.store.list_keys()
        return JSONResponse({"items": [_key_view(k) for k in keys]})

    @api.post(PREFIX + "/api/keys")
    async def new_key(request: Request) -> JSONResponse:
        await _admin(request)
        body = await json_object(request)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise invalid("name", "name must be a non-empty string of at most 100 characters")
        key, secret = await create_key(request.app.state.service.store, name.strip(), admin=bool(body.get("admin")))
        # The only time the secret is shown: the store keeps a hash.
        return JSONResponse({**_key_view(key), "secret": secret})

    @api.delete(PREFIX + "/api/keys/{key_id}")
    async def revoke_key(key_id: str, request: Request) -> JSONResponse:
        me = await _admin(request)
        if key_id == me.id:
            raise invalid("key_id", "a key cannot revoke itself from the console")
        if not await request.app.state.service.store.revoke_key(key_id):
            raise not_found("key", key_id, "key_id")
        return JSONResponse({"id": key_id, "revoked": True})

    @api.get(PREFIX + "/api/channels")
    async def channels(request: Request) -> JSONResponse:
        await _admin(request)
        relay = request.app.state.service.relay
        items = [] if relay is None else [
            {"name": c.name, "kind": c.kind, "base_url": c.base_url, "models": c.models, "priority": c.priority,
             "weight": c.weight, "concurrency": c.concurrency, "key_env": c.key_env}
            for c in relay.channels.channels
        ]
        return JSONResponse({"items": items})

    return api
