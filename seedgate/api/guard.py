"""The outermost line of defence, as plain ASGI middleware: bounded request bodies, NUL-free paths, and a proper
500 for anything unexpected.

Body limits are enforced while the body is read: a declared `Content-Length` over the limit is refused before a
byte is read, and a chunked body is counted as it arrives and refused as soon as it passes the limit. Nothing is
buffered here; the routes read the body as before.

A 500 answered here keeps the connection alive. Starlette's ServerErrorMiddleware sends the error handler's answer
and then re-raises the exception, and uvicorn closes the connection of any request whose app raised after its
response started, so the next request on that keep-alive connection was reset. Here the exception is logged and
answered, and goes no further.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seedgate.assets.library import MAX_UPLOAD_BYTES
from seedgate.core.errors import ApiError, internal, not_found
from seedgate.dialects.common import REQUEST_ID_STATE, new_request_id
from seedgate.dialects.registry import render_error_for_path
from seedgate.media.probe import trim_heap

log = logging.getLogger("seedgate.api")

MIB = 1024 * 1024
# Ark's documented ceiling for a whole create request (ark_api.md: "request body <= 64 MB"), base64 media included.
DEFAULT_MAX_BODY_BYTES = 64 * MIB
# Asset uploads carry the file itself: the largest media kind (a 200 MB reference video) plus the form around it.
DEFAULT_MAX_UPLOAD_BYTES = MAX_UPLOAD_BYTES + MIB
# Routes that take a file in multipart: asset uploads, jimmyai's files/upload, OpenAI edits, extensions and
# characters (a source video of up to 200 MB).
UPLOAD_PATHS = (
    "/v1/assets",
    "/v1/assets/uploads",
    "/api/open-api/v1/files/upload",
    "/v1/videos/edits",
    "/v1/videos/extensions",
    "/v1/videos/characters",
)
# The API docs pages load everything from this server (the packaged Swagger UI and ReDoc): the browser is told so,
# and then never asks another host for anything (ReDoc's bundle names a logo on a CDN, for one).
DOCS_PAGES = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
DOCS_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline' blob:; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)
# After a request with a body this large, glibc is asked to return the freed heap (it keeps it otherwise).
_TRIM_AFTER_BYTES = 8 * MIB


@dataclass(frozen=True)
class BodyLimits:
    body: int = DEFAULT_MAX_BODY_BYTES  # every request body (JSON or multipart)
    upload: int = DEFAULT_MAX_UPLOAD_BYTES  # multipart asset uploads

    @classmethod
    def from_env(cls) -> BodyLimits:
        def size(name: str, default: int) -> int:
            raw = os.environ.get(name, "").strip()
            return int(raw) if raw else default

        return cls(
            size("SEEDGATE_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
            size("SEEDGATE_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES),
        )

    def for_request(self, scope: Scope) -> int:
        if scope["path"].rstrip("/") in UPLOAD_PATHS and _header(scope, b"content-type").startswith(
            b"multipart/form-data"
        ):
            return max(self.upload, self.body)
        return self.body


class BodyTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, "RequestEntityTooLarge", f"the request body exceeds the limit of {limit} bytes", "body")


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).lower()
    return b""


class Guard:
    def __init__(self, app: ASGIApp, limits: BodyLimits | None = None) -> None:
        self.app = app
        self.limits = limits or BodyLimits.from_env()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if "\x00" in path:
            # No ID holds a NUL; PostgreSQL refuses it in text with an error rather than a miss.
            await self._answer(scope, send, not_found("resource", "with a NUL byte in its path"))
            return
        limit = self.limits.for_request(scope)
        length = _header(scope, b"content-length")
        numeric = length.isdigit() and len(length) <= 18  # int() of a 5,000-digit header would raise
        if length and (not numeric or int(length) > limit):
            error = (
                BodyTooLarge(limit)
                if length.isdigit()
                else ApiError(400, "InvalidParameter", "the Content-Length header is not a number", "Content-Length")
            )
            await self._answer(scope, send, error, close=True)
            return
        seen = 0
        # Whether a body was announced and is not fully read yet (a refusal answered before reading it).
        unread = bool(length.strip(b"0")) or b"chunked" in _header(scope, b"transfer-encoding")

        async def counted() -> Message:
            nonlocal seen, unread
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)  # the route's read fails; the ApiError handler answers 413
                unread = unread and message.get("more_body", False)
            return message

        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                extra = []
                if unread:
                    # Answered without reading the body (a 401 before a large upload): close rather than leave
                    # the client's unread bytes in the way of a next request.
                    extra.append((b"connection", b"close"))
                if path in DOCS_PAGES:
                    extra.append((b"content-security-policy", DOCS_CSP))
                if extra:
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, counted, tracked)
            if seen > _TRIM_AFTER_BYTES:
                trim_heap()  # the body and what was parsed from it are freed: give the memory back to the system
        except Exception as exc:
            if started:
                raise  # half an answer is out; only closing the connection tells the client
            if isinstance(exc, ApiError):  # raised where no handler runs (e.g. while streaming a body in)
                await self._answer(scope, send, exc, close=isinstance(exc, BodyTooLarge))
                return
            log.exception("unexpected error on %s %s", scope.get("method"), path, exc_info=exc)
            await self._answer(scope, send, internal())

    @staticmethod
    async def _answer(scope: Scope, send: Send, error: ApiError, close: bool = False) -> None:
        # The ID RequestIdMiddleware (outside this one) puts on the answer's X-Request-Id, so the body quotes it too.
        rid = scope.get("state", {}).get(REQUEST_ID_STATE) or new_request_id()
        response = render_error_for_path(scope["path"])(error, rid)
        if close:
            # The unread rest of the body would otherwise be parsed as the next request.
            response.headers["connection"] = "close"
        await response(scope, _unused_receive, send)


async def _unused_receive() -> Message:
    return {"type": "http.disconnect"}
