"""What every dialect's routes do the same way: read the body, authenticate, create or read a task."""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import Request

from seedgate.api.deps import base_url, task_service
from seedgate.core.errors import ApiError, invalid, missing
from seedgate.core.spec import TaskSpec
from seedgate.core.task import Task
from seedgate.core.validation import Soft
from seedgate.store.store import ApiKey
from seedgate.tasks.service import IDEMPOTENCY_HEADER

Parser = Callable[[Any], tuple[TaskSpec, Soft]]

# The core's (Ark's) error codes in the OpenAI style that OpenAI clients and new-api style gateways read.
_OPENAI_CODES = {
    "MissingParameter": "missing_required_parameter",
    "InvalidParameter": "invalid_value",
    "InvalidEndpointOrModel.NotFound": "model_not_found",
    "ResourceNotFound": "not_found",
    "AuthenticationError": "invalid_api_key",
    "InternalServiceError": "server_error",
    "NotFound": "not_found",
    "MethodNotAllowed": "method_not_allowed",
    # Budgets and limits (core/limits.py): OpenAI's own codes for a spent quota and a rate limit.
    "SetLimitExceeded": "insufficient_quota",
    "APIAccountRpmRateLimitExceeded": "rate_limit_exceeded",
    "QuotaExceeded": "rate_limit_exceeded",
}
_OPENAI_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}


# Numbers from text (query strings, form fields): ASCII digits only (str.isdigit() also accepts "²", which int()
# refuses) and few of them (int() refuses more than 4,300 digits).
SMALL_INT = re.compile(r"[0-9]{1,9}")
REQUEST_ID_STATE = "request_id"  # where api/request_ids.py keeps the ID in the request state


def new_request_id() -> str:
    return secrets.token_hex(16)


def request_id(request: Request) -> str:
    """This request's ID: the `X-Request-Id` its answer carries, and the ID an error body quotes."""
    rid = getattr(request.state, REQUEST_ID_STATE, None)
    if not isinstance(rid, str):
        rid = new_request_id()
        setattr(request.state, REQUEST_ID_STATE, rid)
    return rid


def openai_error_fields(error: ApiError) -> dict[str, Any]:
    """`{message, type, param, code}`, the inside of an OpenAI-style `{"error": ...}` envelope."""
    code = _OPENAI_CODES.get(error.code, error.code)
    kind = _OPENAI_TYPES.get(error.status, "server_error" if error.status >= 500 else "invalid_request_error")
    return {"message": error.message, "type": kind, "param": error.param, "code": code}


def message_naming_param(error: ApiError) -> str:
    """The message, led by the field it is about unless it already names it (many clients show only the message)."""
    if error.param and error.param not in error.message:
        return f"{error.param}: {error.message}"
    return error.message


def require_model(body: Any, field: str = "model") -> str:
    """The body must be an object with a non-empty model name; returns it stripped."""
    if not isinstance(body, dict):
        raise invalid("body", "the request body must be a JSON object")
    model = body.get(field)
    if model is None:
        raise missing(field)
    if not isinstance(model, str) or not model.strip():
        raise invalid(field, f"{field} must be a non-empty string")
    return model.strip()


# Deeper than any body a dialect defines (Ark's content items are 4 levels down); bounded so that nothing that walks
# a body (parsing, validation, storage, rendering) can run out of stack.
MAX_JSON_DEPTH = 32
MAX_JSON_CONTAINERS = 100_000
_SURROGATE = re.compile("[\ud800-\udfff]")


def _where(path: list[str | int]) -> str:
    return ".".join(str(p) for p in path) or "body"


def _check_scalar(item: Any, path: list[str | int], key: str | int) -> None:
    if isinstance(item, str):
        if not item.isascii() and _SURROGATE.search(item):
            raise invalid(_where([*path, key]), "the string holds a lone UTF-16 surrogate, which is not valid Unicode")
        if "\x00" in item:  # no field means anything with one, and PostgreSQL cannot store it in text
            raise invalid(_where([*path, key]), "the string holds a NUL character")
    elif isinstance(item, float) and not math.isfinite(item):
        raise invalid(
            _where([*path, key]),
            "numbers must be finite (NaN, Infinity and out-of-range numbers such as 1e999 are not JSON)",
        )


def check_json_value(value: Any, param: str = "body") -> None:
    """Refuse what a parsed JSON value may hold but nothing downstream can handle: nesting deeper than
    MAX_JSON_DEPTH, strings with lone surrogates (they cannot be encoded as UTF-8, so neither stored nor answered)
    or NUL characters, and non-finite floats. Iterative, so a hostile value cannot exhaust the stack here either;
    only containers are stacked, so a long array of scalars costs no memory beyond itself."""
    root: list[str | int] = [] if param == "body" else [param]
    if not isinstance(value, dict | list):
        _check_scalar(value, root[:-1], root[-1] if root else "")
        return
    stack: list[tuple[Any, list[str | int]]] = [(value, root)]
    while stack:
        container, path = stack.pop()
        if len(path) >= MAX_JSON_DEPTH:
            raise invalid(_where(path[:MAX_JSON_DEPTH]), f"JSON is nested deeper than {MAX_JSON_DEPTH} levels")
        pairs = container.items() if isinstance(container, dict) else enumerate(container)
        for key, item in pairs:
            if isinstance(key, str) and not key.isascii() and _SURROGATE.search(key):
                raise invalid(_where(path), "a key holds a lone UTF-16 surrogate, which is not valid Unicode")
            if isinstance(item, dict | list):
                if item:
                    stack.append((item, [*path, key[:64] if isinstance(key, str) else key]))
                elif len(path) + 1 >= MAX_JSON_DEPTH:
                    raise invalid(_where(path), f"JSON is nested deeper than {MAX_JSON_DEPTH} levels")
            else:
                _check_scalar(item, path, key)


def loads_json(raw: str | bytes, param: str = "body") -> Any:
    """Strict JSON: what `json.loads` accepts, minus NaN/Infinity, out-of-range numbers, lone surrogates, NUL,
    deep nesting and very many arrays/objects; every refusal is a 400 naming `param` (or the field inside it)."""
    # Parsed, every array or object costs some 60-200 bytes: a 64 MB body of `[[],[],...]` would take over 1 GB.
    # Brackets are counted before parsing (those inside strings too: an upper bound, and no real body comes close).
    brackets = (b"[", b"{") if isinstance(raw, bytes) else ("[", "{")
    if raw.count(brackets[0]) + raw.count(brackets[1]) > MAX_JSON_CONTAINERS:  # type: ignore[arg-type]
        raise invalid(param, f"JSON holds more than {MAX_JSON_CONTAINERS} arrays and objects")
    try:
        # NaN, Infinity and 1e999 parse as floats here; check_json_value refuses them naming the field they are in.
        value = json.loads(raw)
    except RecursionError:
        raise invalid(param, f"JSON is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # also UnicodeDecodeError and the int digit limit
        detail = str(exc)[:200]
        raise invalid(
            param, f"{'the request body' if param == 'body' else param} is not valid JSON: {detail}"
        ) from None
    check_json_value(value, param)
    return value


async def json_body(request: Request) -> Any:
    return loads_json(await request.body())


async def json_object(request: Request) -> dict[str, Any]:
    """The request body, which must be a JSON object."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise invalid("body", "the request body must be a JSON object")
    return body


async def create_task(request: Request, key: ApiKey, parse: Parser, dialect: str) -> Task:
    """Parse the body (after the caller's key was checked) and create the task in `dialect`."""
    spec, soft = parse(await json_body(request))
    return await task_service(request).create(
        spec, soft, key=key, dialect=dialect, idempotency_key=idempotency_key(request)
    )


def idempotency_key(request: Request) -> str | None:
    """The create's Idempotency-Key header, if it sent one (any create route of any dialect takes it)."""
    value = request.headers.get(IDEMPOTENCY_HEADER)
    if value is None:
        return None
    if not 0 < len(value) <= 255 or not value.isascii() or not value.isprintable():
        raise invalid(IDEMPOTENCY_HEADER, "the idempotency key must be 1 to 255 printable ASCII characters")
    return value


async def read_task(request: Request, key: ApiKey, task_id: str) -> tuple[Task, dict[str, str]]:
    """The caller's task and its signed result links (404 for unknown or foreign IDs)."""
    service = task_service(request)
    task = await service.get(key, task_id)
    return task, service.links(task, base_url(request))
