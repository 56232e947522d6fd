"""The request fields of every OpenAI route, read alike from JSON or from multipart/form-data.

openai-node sends create, edit, extend and characters always as multipart (since 2026-03), and encodes nested values
with bracket keys (its `internal/uploads.ts:addFormValue`): an object as `key[sub]` (`input_reference[image_url]`,
`video[id]`), an array as repeated `key[]` (`characters[]`), an array of objects as `key[][sub]`. openai-python
sends `extra_body` objects the same way. `fields` turns them back into the JSON shape, so each route parses one
shape whatever the client sent. Uploaded files stay `UploadFile`s (spooled to disk by Starlette) until the route
reads them; the form is closed when the route is done.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from seedgate.core.errors import invalid, missing

from .common import check_json_value, loads_json

# A data: URL of a 30 MB image is ~40 MB of base64 in one multipart text field (Starlette's default cap is 1 MB).
MAX_FIELD_BYTES = (30 * 1024 * 1024) * 4 // 3 + 1024 * 1024
_MAX_DEPTH = 8  # bracket levels; nothing the SDKs send goes deeper than three


def is_form(content_type: str) -> bool:
    content_type = content_type.lower()
    return content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded"))


def key_path(key: str) -> list[str]:
    """`a[b][]` -> ["a", "b", ""]; a key that is not well-formed bracket syntax stays one plain name."""
    name, bracket, rest = key.partition("[")
    if not bracket or not name or not rest:
        return [key]
    path = [name]
    while rest:
        inner, close, rest = rest.partition("]")
        if not close or "[" in inner or (rest and not rest.startswith("[")):
            return [key]
        path.append(inner)
        rest = rest[1:]
    return path if len(path) <= _MAX_DEPTH else [key]


def put(fields: dict[str, Any], path: list[str], value: Any) -> None:
    """Store one form value at its bracket path. `[]` appends; `[][sub]` fills the last object of the array until
    it already has `sub`, then starts the next one (so `a[][id]=1&a[][id]=2` is two objects)."""
    if len(path) == 1:  # a plain name, the empty one included
        fields[path[0]] = value
        return
    node: Any = fields
    for step, after in zip(path, path[1:], strict=False):
        kind: type = list if after == "" else dict
        child: Any
        if step == "":  # node is a list
            last = node[-1] if node else None
            if kind is dict and isinstance(last, dict) and after not in last:
                child = last
            else:
                child = kind()
                node.append(child)
        else:
            child = node.get(step)
            if not isinstance(child, kind):
                child = kind()
                node[step] = child
        node = child
    if path[-1] == "":
        node.append(value)
    else:
        node[path[-1]] = value


@contextlib.asynccontextmanager
async def fields(request: Request) -> AsyncIterator[dict[str, Any]]:
    """The body as a JSON-shaped object; errors name `body` in the caller's (OpenAI's) envelope."""
    if not is_form(request.headers.get("content-type", "")):
        raw = await request.body()
        body = loads_json(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise invalid("body", "the request body must be a JSON object or multipart/form-data")
        yield body
        return
    try:
        form = await request.form(max_part_size=MAX_FIELD_BYTES)
    except HTTPException as exc:  # Starlette's answer to a malformed body; give it OpenAI's envelope instead
        raise invalid("body", f"the multipart body cannot be read: {exc.detail}") from None
    try:
        result: dict[str, Any] = {}
        for key, value in form.multi_items():
            if not isinstance(value, UploadFile):
                check_json_value(value, key[:64])  # the text fields pass the checks a JSON body's strings do
            put(result, key_path(key), value)
        yield result
    finally:
        await form.close()


async def read_upload(upload: UploadFile, limit: int, param: str) -> bytes:
    """An uploaded file's bytes, refused past `limit` (read at most one byte more)."""
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise invalid(param, f"the uploaded file exceeds {limit // (1024 * 1024)} MB")
    if not data:
        raise invalid(param, "the uploaded file is empty")
    return data


def string_field(values: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    """A text field (JSON string or form value), stripped; None when absent."""
    value = values.get(name)
    if value is None:
        if required:
            raise missing(name)
        return None
    if not isinstance(value, str):
        raise invalid(name, f"{name} must be a string")
    if not value.strip():
        if required:
            raise invalid(name, f"{name} must be a non-empty string")
        return None
    return value.strip()
