"""The dialects a task can belong to; answers and webhooks are rendered in the task's own dialect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from seedgate.core.errors import ApiError
from seedgate.core.task import Task

from . import aigeneration, ark, assets_api, jimmyai, maxapi, moonapix, openai_videos, volc_assets

DEFAULT_RESULT_TTL_S = 86400  # Ark's 24 h, which OpenAI also kept


@dataclass(frozen=True)
class Dialect:
    name: str
    prefixes: tuple[str, ...]  # requests under them get this dialect's error envelope
    render_task: Callable[[Task, dict[str, str]], dict[str, Any]]
    callback_url: Callable[[Task], str | None]
    render_error: Callable[[ApiError, str], JSONResponse]
    router: Callable[[], APIRouter]
    # Dialects whose clients subscribe endpoints to events (OpenAI) rather than pass a URL per task.
    event_type: Callable[[Task], str | None] | None = None
    render_event: Callable[[Task, str], dict[str, Any]] | None = None
    # How long result links live, as the vendor promises (a module's RESULT_TTL_S; operators override it).
    result_ttl_s: int = DEFAULT_RESULT_TTL_S


def _dialect(module: Any) -> Dialect:
    return Dialect(module.NAME, getattr(module, "PREFIXES", (module.PREFIX,)), module.render_task,
                   module.callback_url, module.render_error, module.router, getattr(module, "event_type", None),
                   getattr(module, "render_event", None), getattr(module, "RESULT_TTL_S", DEFAULT_RESULT_TTL_S))


DIALECTS: dict[str, Dialect] = {
    module.NAME: _dialect(module)
    for module in (ark, aigeneration, maxapi, jimmyai, moonapix, openai_videos, openai_videos.THREEHEI)
}
DEFAULT = DIALECTS[ark.NAME]


def dialect_of(task: Task) -> Dialect:
    return DIALECTS.get(task.dialect, DEFAULT)


# Routers that serve assets rather than tasks; the Volcengine actions answer errors in their own envelope.
ASSET_ROUTERS = (volc_assets.router, assets_api.router)


def dialect_for_path(path: str) -> Dialect:
    """Whose envelope an error on this path is answered in; shared routes use Ark's."""
    return next((d for d in DIALECTS.values() if path.startswith(d.prefixes)), DEFAULT)


def render_error_for_path(path: str) -> Callable[[ApiError, str], JSONResponse]:
    if path.startswith(volc_assets.PREFIX):
        return volc_assets.render_error
    return dialect_for_path(path).render_error
