"""The one protocol every wire dialect implements: how its tasks answer, call back and fail, and which routes it owns.

A dialect module holds its codec as plain functions (parse_*, render_*, callback_url) and one class implementing
`Dialect` over them; registry.py collects the instances. Routes parse and render with the module's functions
directly; the task service (tasks/service.py) is handed the instances by runtime.py and renders webhooks and picks
result-link lifetimes through them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from seedgate.core.errors import ApiError
from seedgate.core.task import Task

# Ark's 24 h, which OpenAI also kept: how long result links live unless the vendor promises otherwise.
DEFAULT_RESULT_TTL_S = 86400


@runtime_checkable
class Dialect(Protocol):
    # Read-only, so that a class attribute satisfies them.
    @property
    def name(self) -> str:
        """The name stored with each of its tasks (`Task.dialect`)."""
        ...

    @property
    def prefixes(self) -> tuple[str, ...]:
        """Requests under these path prefixes get this dialect's error envelope (registry.render_error_for_path)."""
        ...

    @property
    def result_ttl_s(self) -> int:
        """How long result links live, as the vendor promises; operators override it per dialect."""
        ...

    def render_task(self, task: Task, links: dict[str, str]) -> dict[str, Any]:
        """The document the task's callback POSTs: the task object for most dialects, an event for OpenRouter's."""
        ...

    def callback_url(self, task: Task) -> str | None:
        """Where a task in its current state calls back, if anywhere (some dialects only on terminal states)."""
        ...

    def render_error(self, error: ApiError, request_id: str) -> JSONResponse:
        """An error answer in the dialect's own envelope."""
        ...

    def event_type(self, task: Task) -> str | None:
        """The event a task in its current state raises for the endpoints its owner subscribed (OpenAI style);
        None when it raises none, which is always so for dialects that use per-task callback URLs."""
        ...

    def render_event(self, task: Task, event: str) -> dict[str, Any]:
        """The payload of `event` (only asked for an event `event_type` returned)."""
        ...

    def router(self) -> APIRouter:
        """The routes the dialect owns."""
        ...


@dataclass(frozen=True)
class CodecDialect:
    """A dialect made of its module's codec functions, named one by one: its clients pass a callback URL per task,
    or poll, so it raises no subscribed events. Dialects with events implement `Dialect` themselves
    (openai_videos.py)."""

    name: str
    prefixes: tuple[str, ...]
    render_task: Callable[[Task, dict[str, str]], dict[str, Any]]
    callback_url: Callable[[Task], str | None]
    render_error: Callable[[ApiError, str], JSONResponse]
    routes: APIRouter
    result_ttl_s: int = DEFAULT_RESULT_TTL_S

    def router(self) -> APIRouter:
        return self.routes

    def event_type(self, task: Task) -> str | None:
        return None

    def render_event(self, task: Task, event: str) -> dict[str, Any]:
        raise LookupError(f"the {task.dialect} dialect raises no events, not even {event!r}")
