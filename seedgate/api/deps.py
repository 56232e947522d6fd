"""Typed access to what a route needs from the running node, and the caller's API key as a FastAPI dependency.

Routes take `key: Caller` (and, where they need them, `service: Service`) instead of reading `request.app.state`.
A route that must do something observable before it checks the key (answer in an envelope the body picks, refuse a
query parameter first) calls `authenticate(request)` itself at that point instead."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from seedgate.store.store import ApiKey
from seedgate.tasks.service import TaskService

if TYPE_CHECKING:  # runtime.py imports the dialect registry, whose routes import this module
    from seedgate.runtime import Runtime


def runtime(request: Request) -> Runtime:
    node: Runtime = request.app.state.runtime
    return node


def task_service(request: Request) -> TaskService:
    return runtime(request).service


def base_url(request: Request) -> str:
    """Where this answer's links point (the operator's public URL, else the URL the request came in on)."""
    return task_service(request).base_url(str(request.base_url))


async def authenticate(request: Request) -> ApiKey:
    """The caller's key from the Authorization header (401 otherwise); kept in `request.state.key` for whatever
    reads the request later (logging, metrics)."""
    key = await task_service(request).authenticate(request.headers.get("authorization", ""))
    request.state.key = key
    return key


Caller = Annotated[ApiKey, Depends(authenticate)]
Service = Annotated[TaskService, Depends(task_service)]
