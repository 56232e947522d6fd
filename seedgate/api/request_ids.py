"""One ID per request, sent back as `X-Request-Id` on every answer: JSON, errors, files and streams alike."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seedgate.dialects.common import REQUEST_ID_STATE, new_request_id


class RequestIdMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware), so streamed and file answers pass through untouched.

    The ID is put in the request state before any route runs, so an error body that quotes a request ID quotes
    this one; an answer that already carries `X-Request-Id` keeps its own.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_request_id()
        scope.setdefault("state", {})[REQUEST_ID_STATE] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "x-request-id" not in headers:
                    headers.append("X-Request-Id", rid)
            await send(message)

        await self.app(scope, receive, send_with_id)
