"""Request-body schemas in the OpenAPI document for the routes that read their bodies themselves.

Most routes parse `await request.body()` in their dialect's own way (lenient where the vendor is, with errors in the
vendor's envelope), so FastAPI cannot infer a body. Every route that creates a task takes its schema from its
dialect's one description of the body (dialects/bodies.py tables, which tests/test_dialect_contract.py holds to what
the parsers read); the asset and webhook-endpoint routes are described here. The schemas are for clients,
generators and fuzzers (tests/test_campaign.py); they change nothing about what a route accepts. Open schemas
(`additionalProperties` allowed) because every vendor tolerates extra fields.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from seedgate.dialects import aigeneration, ark, jimmyai, maxapi, moonapix, openai_edits, openai_videos, openrouter
from seedgate.dialects.bodies import Body

_STR = {"type": "string"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_URL = {"type": "string", "description": "http(s) URL, data: URL (base64), or asset://ID"}
_STRS = {"type": "array", "items": _STR}


def _obj(required: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _json_or_form(*bodies: Body, files: tuple[str, ...] = ()) -> dict[str, Any]:
    """A route of OpenAI's that takes JSON (any of `bodies`) or multipart/form-data (the first body's fields as
    form values, `files` as uploads). The SDKs send most of them as multipart, even without a file."""
    schemas = [b.schema() for b in bodies]
    first = bodies[0]
    form: dict[str, Any] = {
        f.name: {"type": "string", "format": "binary"}
        if f.name in files
        else {"type": "array", "items": _STR}
        if f.name == "characters"  # `characters[]`, repeated
        else _STR
        for f in first.fields
    }
    form_schema: dict[str, Any] = {"type": "object", "properties": form}
    if required := [f.name for f in first.fields if f.required]:
        form_schema["required"] = required
    return {
        "required": True,
        "content": {
            "application/json": {"schema": schemas[0] if len(schemas) == 1 else {"anyOf": schemas}},
            "multipart/form-data": {"schema": form_schema},
        },
    }


_VIDEOS = openai_videos.PREFIX
# (method, path) -> requestBody of every route that creates a task, from its dialect's description of the body.
CREATE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", ark.PREFIX): ark.CREATE_BODY.request_body(),
    ("post", aigeneration.PREFIX + "/createTask"): ark.CREATE_BODY.request_body(),
    ("post", maxapi.PREFIX + "/submit"): maxapi.SUBMIT_BODY.request_body(),
    ("post", jimmyai.PREFIX + "/seedance/videos"): jimmyai.CREATE_BODY.request_body(),
    ("post", jimmyai.PREFIX + "/seedance25/videos"): jimmyai.CREATE_25_BODY.request_body(),
    ("post", moonapix.PREFIX): moonapix.CREATE_BODY.request_body(),
    ("post", openrouter.PREFIX): openrouter.CREATE_BODY.request_body(),
    # The shared route: OpenAI's fields, a MoonApiX body, or 3hei's Ark body (openai_videos.body_dialect).
    ("post", _VIDEOS): _json_or_form(
        openai_videos.CREATE_BODY, moonapix.CREATE_BODY, ark.CREATE_BODY, files=("input_reference",)
    ),
    ("post", _VIDEOS + "/edits"): _json_or_form(openai_edits.EDIT_BODY, files=("video",)),
    ("post", _VIDEOS + "/extensions"): _json_or_form(openai_edits.EXTEND_BODY, files=("video",)),
    ("post", _VIDEOS + "/{video_id}/remix"): _json_or_form(openai_videos.REMIX_BODY),
}
_ASSET_FROM_URL = _obj(
    ("url",),
    url=_URL,
    kind={"type": "string", "enum": ["image", "video", "audio"]},
    name=_STR,
    group_id=_STR,
    purpose=_STR,
    metadata={"type": "object"},
)
_ASSET_UPLOAD = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary"},
        "kind": _ASSET_FROM_URL["properties"]["kind"],
        "name": _STR,
        "group_id": _STR,
        "purpose": _STR,
        "metadata": {"type": "string", "description": "a JSON object, as text"},
    },
}
_ENDPOINT = _obj(url=_STR, event_types=_STRS, description=_STR, disabled=_BOOL)

# (method, path) -> requestBody of the other routes that read a body.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    **CREATE_BODIES,
    ("post", "/api/open-api/v1/seedance/sp/assets/upload"): _json(_obj(("url",), url=_URL, name=_STR, type=_STR)),
    ("post", "/api/open-api/v1/seedance/sp/assets/detail"): _json(_obj(("asset_id",), asset_id=_STR)),
    ("post", "/api/open-api/v1/seedance/sp/assets/status"): _json(_obj(("asset_ids",), asset_ids=_STRS)),
    ("post", "/api/open-api/v1/seedance/assets/audit"): _json(_obj(imageUrls=_STRS, videoUrls=_STRS, audioUrls=_STRS)),
    ("post", "/api/open-api/v1/seedance/assets/status"): _json(_obj(assetIds=_STRS)),
    ("post", _VIDEOS + "/characters"): _json_or_form(openai_edits.CHARACTER_BODY, files=("video",)),
    ("post", "/v1/webhook_endpoints"): _json({**_ENDPOINT, "required": ["url"]}),
    ("post", "/v1/webhook_endpoints/{endpoint_id}"): _json(_ENDPOINT),
    ("post", "/api/v1/open/{action}"): _json(
        _obj(
            Id=_STR,
            Name=_STR,
            Description=_STR,
            GroupId=_STR,
            GroupType=_STR,
            URL=_URL,
            AssetType=_STR,
            PageNumber=_INT,
            PageSize=_INT,
            Filter={"type": "object"},
        )
    ),
    ("post", "/v1/assets"): {
        "required": True,
        "content": {"application/json": {"schema": _ASSET_FROM_URL}, "multipart/form-data": {"schema": _ASSET_UPLOAD}},
    },
    ("post", "/v1/assets/uploads"): {
        "required": True,
        "content": {"application/json": {"schema": _ASSET_FROM_URL}, "multipart/form-data": {"schema": _ASSET_UPLOAD}},
    },
}


def describe_request_bodies(app: FastAPI) -> None:
    """Wrap `app.openapi` so the generated document carries BODIES (where a route declares none itself)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        for (method, path), body in BODIES.items():
            operation = document.get("paths", {}).get(path, {}).get(method)
            if operation is not None and "requestBody" not in operation:
                operation["requestBody"] = body
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
