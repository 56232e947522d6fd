"""Answering with a stored file wherever it lives: sendfile from the local data directory, or the object streamed
from object storage through this node, range requests included (players seek, download managers resume)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

from seedgate.media.objects import ObjectStore
from seedgate.media.storage import Storage, StoredFile

Unsatisfiable = tuple[None, None]
_RANGE = re.compile(r"bytes=([0-9]{0,18})-([0-9]{0,18})", re.IGNORECASE)  # longer numbers: malformed


def parse_range(header: str, size: int) -> tuple[int, int] | Unsatisfiable | None:
    """One `bytes=` range as (start, end exclusive); (None, None) when it lies past the end; None when the header
    is malformed or asks for several ranges: then the whole file is the answer (RFC 9110 allows ignoring Range)."""
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if not first:  # the last N bytes
        count = int(last)
        return (size - min(count, size), size) if count and size else (None, None)
    start = int(first)
    if start >= size:
        return (None, None)
    end = min(int(last) + 1, size) if last else size
    return (start, end) if end > start else None


class ObjectResponse(Response):
    """An object from the store, streamed in chunks (never whole in memory), honouring one Range and HEAD."""

    def __init__(
        self, objects: ObjectStore, stored: StoredFile, media_type: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(media_type=media_type, headers={"accept-ranges": "bytes", **(headers or {})})
        self.objects = objects
        self.stored = stored

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        size = self.stored.size
        start, end, status = 0, size, 200
        if (header := Headers(scope=scope).get("range")) is not None:
            wanted = parse_range(header, size)
            if wanted == (None, None):
                await self._empty(send, 416, {"content-range": f"bytes */{size}"})
                return
            if wanted is not None:
                start, end = wanted[0] or 0, wanted[1] or 0
                status = 206
                self.headers["content-range"] = f"bytes {start}-{end - 1}/{size}"
        self.headers["content-length"] = str(end - start)
        if scope["method"] == "HEAD" or end == start:
            await send({"type": "http.response.start", "status": status, "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": b""})
            return
        chunks = self.objects.read(self.stored.key, start, end)
        try:
            first = await anext(chunks)
        except FileNotFoundError:  # deleted between the lookup and now (expiry, a DELETE on another node)
            body = json.dumps({"error": {"code": "ResourceNotFound", "message": "the file no longer exists"}})
            await self._empty(send, 404, {"content-type": "application/json"}, body.encode())
            return
        await send({"type": "http.response.start", "status": status, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": first, "more_body": True})
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    async def _empty(send: Send, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        raw = [(k.encode(), v.encode()) for k, v in {**headers, "content-length": str(len(body))}.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


def stored_response(
    storage: Storage, stored: StoredFile, media_type: str, headers: Mapping[str, str] | None = None
) -> Response:
    if stored.path is not None:
        return FileResponse(stored.path, media_type=media_type, headers=headers)
    return ObjectResponse(storage.objects, stored, media_type, headers)
