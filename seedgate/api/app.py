"""The ASGI app: dialect routers, shared routes (files, models, health, metrics) and error envelopes."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from seedgate import __version__
from seedgate.config import Settings
from seedgate.core.errors import ApiError, invalid
from seedgate.dialects.registry import ASSET_ROUTERS, DIALECTS, render_error_for_path
from seedgate.runtime import start_runtime

from . import console, ops
from .guard import Guard
from .openapi_bodies import describe_request_bodies
from .service import error_for_unexpected

DESCRIPTION = """
A self-hosted, Seedance-compatible video generation server.

The `preview` engine is **not a generative model**: it draws a deterministic stand-in video of the exact size,
frame rate and duration Seedance would produce, so pipelines can be built and tested locally for free.
"""


def _request_id() -> str:
    return secrets.token_hex(16)


def create_app(settings: Settings | None = None, *, run_workers: bool = True) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(settings)
        app.state.runtime = runtime
        app.state.service = runtime.service
        await runtime.start_background(settings.workers if run_workers else 0)
        try:
            yield
        finally:
            await runtime.close()

    app = FastAPI(title="seedgate", version=__version__, description=DESCRIPTION, lifespan=lifespan)

    def answer(request: Request, error: ApiError) -> Response:
        return render_error_for_path(request.url.path)(error, _request_id())

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
        return answer(request, error_for_unexpected(exc))

    @app.exception_handler(404)
    async def no_route(request: Request, exc: Exception) -> Response:
        return answer(request, ApiError(404, "NotFound", f"no route for {request.method} {request.url.path}"))

    for dialect in DIALECTS.values():
        app.include_router(dialect.router())
    for asset_router in ASSET_ROUTERS:
        app.include_router(asset_router())
    app.include_router(ops.router())
    app.include_router(console.router())
    app.add_middleware(Guard)  # body limits, and 500s that keep the connection (guard.py)
    describe_request_bodies(app)
    return app
