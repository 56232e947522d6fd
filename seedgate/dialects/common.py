"""What every dialect's routes do the same way: read the body, authenticate, create or read a task."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import Request

from seedgate.core.errors import ApiError, invalid, missing
from seedgate.core.spec import TaskSpec
from seedgate.core.task import Task
from seedgate.core.validation import Soft

Parser = Callable[[Any], tuple[TaskSpec, Soft]]

# The core's (Ark's) error codes in the OpenAI style that OpenAI clients and new-api style gateways read.
_OPENAI_CODES = {"MissingParameter": "missing_required_parameter", "InvalidParameter": "invalid_value",
                 "InvalidEndpointOrModel.NotFound": "model_not_found", "ResourceNotFound": "not_found",
                 "AuthenticationError": "invalid_api_key", "InternalServiceError": "server_error",
                 "NotFound": "not_found", "MethodNotAllowed": "method_not_allowed"}
_OPENAI_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}


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


async def json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        raise invalid("body", "the request body is not valid JSON") from None


async def json_object(request: Request) -> dict[str, Any]:
    """The request body, which must be a JSON object."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise invalid("body", "the request body must be a JSON object")
    return body


async def create_task(request: Request, parse: Parser, dialect: str) -> Task:
    service = request.app.state.service
    key = await service.authenticate(request)
    spec, soft = parse(await json_body(request))
    return await service.create(spec, soft, owner=key.id, dialect=dialect)


async def read_task(request: Request, task_id: str) -> tuple[Task, dict[str, str]]:
    """The caller's task and its signed result links (404 for unknown or foreign IDs)."""
    service = request.app.state.service
    key = await service.authenticate(request)
    task = await service.get(key, task_id)
    return task, service.links(task, service.base_url(request))
