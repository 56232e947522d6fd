"""Request-body schemas in the OpenAPI document for the routes that read their bodies themselves.

Most routes parse `await request.body()` in their dialect's own way (lenient where the vendor is, with errors in the
vendor's envelope), so FastAPI cannot infer a body. These schemas only describe what each route reads, for clients,
generators and fuzzers (tests/test_campaign.py); they change nothing about what a route accepts. Open schemas
(`additionalProperties` allowed) because every vendor tolerates extra fields.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

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


_TASK_OPTIONS = {
    "duration": _INT,
    "ratio": _STR,
    "resolution": _STR,
    "seed": _INT,
    "generate_audio": _BOOL,
    "watermark": _BOOL,
}
_OPENAI_CREATE = _obj(
    ("prompt",),
    model=_STR,
    prompt=_STR,
    seconds=_STR,
    size=_STR,
    input_reference={"anyOf": [_URL, _obj(image_url=_URL)]},
)
_MOONAPIX_CREATE = _obj(
    ("model", "prompt"),
    model=_STR,
    prompt=_STR,
    callback_url=_STR,
    web_search=_BOOL,
    image_url=_URL,
    input_reference_role=_STR,
    metadata={"type": "object"},
    references={"type": "array", "items": {"type": "object"}},
    **_TASK_OPTIONS,
)
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

# (method, path) -> requestBody; `None` for a schema filled in from another operation below.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/v1/task/submit"): _json(
        _obj(("model",), model=_STR, callBackUrl=_STR, input=_obj(prompt=_STR, image_urls=_STRS, **_TASK_OPTIONS))
    ),
    ("post", "/api/open-api/v1/seedance/videos"): _json(
        _obj(("prompt",), model=_STR, prompt=_STR, orientation=_STR, type=_STR, **_TASK_OPTIONS)
    ),
    ("post", "/api/open-api/v1/seedance/sp/assets/upload"): _json(_obj(("url",), url=_URL, name=_STR, type=_STR)),
    ("post", "/api/open-api/v1/seedance/sp/assets/detail"): _json(_obj(("asset_id",), asset_id=_STR)),
    ("post", "/api/open-api/v1/seedance/sp/assets/status"): _json(_obj(("asset_ids",), asset_ids=_STRS)),
    ("post", "/api/open-api/v1/seedance/assets/audit"): _json(_obj(imageUrls=_STRS, videoUrls=_STRS, audioUrls=_STRS)),
    ("post", "/api/open-api/v1/seedance/assets/status"): _json(_obj(assetIds=_STRS)),
    ("post", "/v1/video/generations"): _json(_MOONAPIX_CREATE),
    ("post", "/v1/videos"): {
        "required": True,
        "content": {
            "application/json": {"schema": {"anyOf": [_OPENAI_CREATE, _MOONAPIX_CREATE]}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "model": _STR,
                        "prompt": _STR,
                        "seconds": _STR,
                        "size": _STR,
                        "input_reference": {"type": "string", "format": "binary"},
                    },
                }
            },
        },
    },
    ("post", "/v1/videos/{video_id}/remix"): _json(_obj(("prompt",), prompt=_STR)),
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
        # The Ark dialects' shared create body (declared by their routes) is also what 3hei posts to /v1/videos.
        ark = document.get("paths", {}).get("/api/v3/contents/generations/tasks", {}).get("post", {})
        videos = document.get("paths", {}).get("/v1/videos", {}).get("post", {})
        if "requestBody" in ark and "requestBody" in videos:
            ark_schema = ark["requestBody"]["content"]["application/json"]["schema"]
            videos["requestBody"]["content"]["application/json"]["schema"]["anyOf"].append(ark_schema)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
