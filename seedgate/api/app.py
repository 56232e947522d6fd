"""The ASGI app: dialect routers, shared routes (files, models, health, metrics) and error envelopes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException
from starlette.routing import Match

from seedgate import __version__
from seedgate.config import Settings
from seedgate.core.errors import ApiError, internal, invalid
from seedgate.dialects.common import request_id
from seedgate.dialects.registry import ASSET_ROUTERS, DIALECTS, render_error_for_path
from seedgate.runtime import start_runtime

from . import budgets, console, ops, quote, usage
from .guard import Guard
from .openapi_bodies import describe_request_bodies
from .request_ids import RequestIdMiddleware

log = logging.getLogger("seedgate.api")

DESCRIPTION = """
A self-hosted, Seedance-compatible video generation server.

The `preview` engine is **not a generative model**: it draws a deterministic stand-in video of the exact size,
frame rate and duration Seedance would produce, so pipelines can be built and tested locally for free.
"""


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route takes on this path (Starlette's Allow names only the first route that matched).
    Asked of the routes themselves, one method at a time, so nested routers count too; runs only on a 405."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


def _http_error(request: Request, exc: HTTPException) -> ApiError:
    """A framework answer (no route, wrong method, unreadable body) as the API's own error."""
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = "Error"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else ""
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        return ApiError(404, "NotFound", detail or f"no route for {where}")
    if exc.status_code == 405:
        return ApiError(
            405,
            "MethodNotAllowed",
            f"{request.method} is not allowed on {request.url.path}; allowed: {_allowed_methods(request)}",
        )
    if exc.status_code == 400:
        return invalid("body", detail or "the request cannot be read")
    return ApiError(exc.status_code, phrase.title().replace(" ", "").replace("-", ""), detail or phrase)


def create_app(settings: Settings | None = None, *, run_workers: bool = True) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(settings)
        app.state.runtime = runtime  # read through api/deps.py
        await runtime.start_background(settings.workers if run_workers else 0)
        try:
            yield
        finally:
            await runtime.close()

    # FastAPIOffline: /docs and /redoc load Swagger UI and ReDoc from the package, not a CDN, so they work offline.
    app = FastAPIOffline(title="seedgate", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    # Added first, so it sits inside RequestIdMiddleware: its own answers (413, 500, NUL paths) get the ID too.
    app.add_middleware(Guard)  # body limits, and 500s that keep the connection (guard.py)
    app.add_middleware(RequestIdMiddleware)

    def answer(request: Request, error: ApiError) -> Response:
        rid = request_id(request)
        response = render_error_for_path(request.url.path)(error, rid)
        # Set here too: answers from the outermost error handler do not pass through RequestIdMiddleware.
        response.headers.setdefault("X-Request-Id", rid)
        return response

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return answer(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "body"
        return answer(request, invalid(where, first.get("msg", "invalid request")))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return answer(request, internal())

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        # No route (404), wrong method (405), a body the framework could not parse: never Starlette's own body.
        response = answer(request, _http_error(request, exc))
        for name, value in (exc.headers or {}).items():
            response.headers.setdefault(name, value)
        if exc.status_code == 405:
            response.headers["Allow"] = _allowed_methods(request)
        return response

    for dialect in DIALECTS.values():
        app.include_router(dialect.router())
    for asset_router in ASSET_ROUTERS:
        app.include_router(asset_router)
    app.include_router(ops.router)
    app.include_router(ops.metrics_router, include_in_schema=not ops.metrics_off())
    app.include_router(console.router)
    app.include_router(quote.router)
    app.include_router(budgets.router)
    app.include_router(usage.router)
    describe_request_bodies(app)
    return app
