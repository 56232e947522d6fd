"""The dialects a task can belong to; answers and webhooks are rendered in the task's own dialect."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.responses import JSONResponse

from seedgate.core.errors import ApiError

from . import aigeneration, ark, assets_api, jimmyai, maxapi, moonapix, openai_videos, openrouter, threehei, volc_assets
from .base import Dialect

DIALECTS: dict[str, Dialect] = {
    dialect.name: dialect
    for dialect in (
        ark.DIALECT,
        aigeneration.DIALECT,
        maxapi.DIALECT,
        jimmyai.DIALECT,
        moonapix.DIALECT,
        openai_videos.DIALECT,
        threehei.DIALECT,
        openrouter.DIALECT,
    )
}
DEFAULT = DIALECTS[ark.NAME]


# Routers that serve assets rather than tasks; the Volcengine actions answer errors in their own envelope.
ASSET_ROUTERS = (volc_assets.router, assets_api.router)


RenderError = Callable[[ApiError, str], JSONResponse]

# Who owns a path prefix beyond the routes a dialect declares, so that an unknown route, a wrong method or a
# malformed request under it is answered in that dialect's envelope. The longest matching prefix wins; paths no
# dialect owns (seedgate's own /files, /healthz, /v1/assets, /v1/tasks, /v1/models, /v1/quote ...) answer in Ark's.
_OWNED_PREFIXES: dict[str, RenderError] = {
    "/api/v3": ark.render_error,  # Ark / BytePlus ModelArk
    "/api/AIGeneration": aigeneration.render_error,
    "/api/open-api": jimmyai.render_error,
    "/api/v1": openrouter.render_error,  # OpenRouter's namespace, less the resellers' routes below
    volc_assets.PREFIX: volc_assets.render_error,  # /api/v1/open: Volcengine asset actions
    "/v1": openai_videos.render_error,  # OpenAI's namespace, less seedgate's and MoonApiX's below
    openai_videos.PREFIX: openai_videos.render_error,  # shared with 3hei, whose route errors render themselves
    "/v1/video": moonapix.render_error,  # MoonApiX (OpenAI's is /v1/videos)
    assets_api.PREFIX: DEFAULT.render_error,
    "/v1/tasks": DEFAULT.render_error,
    "/v1/models": DEFAULT.render_error,
    "/v1/quote": DEFAULT.render_error,
    "/v1/budgets": DEFAULT.render_error,
    "/v1/usage": DEFAULT.render_error,
}


def _envelopes() -> list[tuple[str, RenderError]]:
    table = dict(_OWNED_PREFIXES)
    for dialect in DIALECTS.values():
        for prefix in dialect.prefixes:
            table.setdefault(prefix, dialect.render_error)
    return sorted(table.items(), key=lambda item: len(item[0]), reverse=True)


ENVELOPES = _envelopes()


def _under(path: str, prefix: str) -> bool:
    """Whole path segments only: /v1/video owns /v1/video/x but not /v1/videos."""
    return path == prefix or path.startswith(prefix + "/")


def render_error_for_path(path: str) -> RenderError:
    """The envelope an answer on this path is rendered in when no route rendered it itself."""
    return next((render for prefix, render in ENVELOPES if _under(path, prefix)), DEFAULT.render_error)
