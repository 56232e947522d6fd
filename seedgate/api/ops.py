"""Routes every node serves whatever the dialect: result files, the model catalog, health and metrics."""

from __future__ import annotations

import hmac
import os
from pathlib import PurePath

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from seedgate.api.deps import Caller, Service
from seedgate.api.files import stored_response
from seedgate.core.errors import ApiError
from seedgate.core.status import Status
from seedgate.media.probe import HEAD_BYTES, mime_of_head
from seedgate.metrics import QUEUE_DEPTH, TASKS
from seedgate.upstream.relay import callback_path

_MEDIA_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".png": "image/png", ".jpg": "image/jpeg"}
_ASSET_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "gif": "image/gif",
    "heif": "image/heif",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
}


_PRIVATE_CACHE = {"Cache-Control": "private, max-age=3600"}


def _revoked_link() -> ApiError:
    # Links are signed for a while (24 h by default); revoking the key that owns the task or asset ends them now.
    return ApiError(403, "AccessDenied", "the link is revoked: the API key it was issued to was revoked")


router = APIRouter()


@router.head("/files/assets/{asset_id}", include_in_schema=False)  # players and download managers ask first
@router.get("/files/assets/{asset_id}", tags=["files"], summary="Download an asset (signed, expiring link)")
async def asset_file(asset_id: str, service: Service, expires: int = 0, signature: str = "") -> Response:
    if not service.signer.verify(f"/files/assets/{asset_id}", expires, signature):
        raise ApiError(403, "AccessDenied", "the link is invalid or has expired")
    asset = await service.assets.lookup(asset_id)
    if asset is not None and await service.keys.is_revoked(asset.owner):
        raise _revoked_link()
    stored = await service.blob_file(asset.blob) if asset and asset.blob else None
    if asset is None or stored is None:
        raise ApiError(404, "ResourceNotFound", "the asset no longer exists")
    media_type = _ASSET_TYPES.get(str(asset.info.get("format")), "application/octet-stream")
    return stored_response(service.storage, stored, media_type, _PRIVATE_CACHE)


@router.head("/files/blobs/{digest}", include_in_schema=False)  # players and download managers ask first
@router.get("/files/blobs/{digest}", tags=["files"], summary="Download a task input (signed link for upstreams)")
async def blob_file(digest: str, service: Service, expires: int = 0, signature: str = "") -> Response:
    if not service.signer.verify(f"/files/blobs/{digest}", expires, signature):
        raise ApiError(403, "AccessDenied", "the link is invalid or has expired")
    stored = await service.blob_file(digest)
    if stored is None:
        raise ApiError(404, "ResourceNotFound", "the file no longer exists")
    media_type = mime_of_head(await service.storage.head_bytes(stored, HEAD_BYTES))
    return stored_response(service.storage, stored, media_type, _PRIVATE_CACHE)


@router.post(
    "/upstream/callback/{task_id}",
    tags=["upstream"],
    summary="Where upstream channels report task changes (signed link seedgate gave them)",
)
async def upstream_callback(task_id: str, service: Service, expires: int = 0, signature: str = "") -> Response:
    relay = service.relay
    if relay is None or not relay.signer.verify(callback_path(task_id), expires, signature):
        raise ApiError(403, "AccessDenied", "the callback link is invalid or has expired")
    # The body is not trusted for the outcome: the task is read back from the upstream at once.
    await relay.on_callback(task_id)
    return JSONResponse({})


@router.head("/files/{task_id}/{name}", include_in_schema=False)  # players and download managers ask first
@router.get("/files/{task_id}/{name}", tags=["files"], summary="Download a result (signed, expiring link)")
async def result_file(task_id: str, name: str, service: Service, expires: int = 0, signature: str = "") -> Response:
    if not service.signer.verify(f"/files/{task_id}/{name}", expires, signature):
        raise ApiError(403, "AccessDenied", "the link is invalid or has expired")
    task = await service.linked_task(task_id)
    if task is not None and await service.keys.is_revoked(task.owner):
        raise _revoked_link()
    stored = await service.result_file(task_id, name)
    if stored is None:
        raise ApiError(404, "ResourceNotFound", "the file no longer exists")
    media_type = _MEDIA_TYPES.get(PurePath(name).suffix, "application/octet-stream")
    return stored_response(service.storage, stored, media_type, _PRIVATE_CACHE)


@router.get(
    "/v1/tasks/{task_id}/queue",
    tags=["tasks"],
    summary="Where a queued task stands in the queue (any dialect's task ID)",
)
async def queue_position(task_id: str, key: Caller, service: Service) -> JSONResponse:
    task = await service.get(key, task_id)
    # Read on demand, not in every task answer: a count per read would slow the hot GET path.
    position = await service.queue_position(task)
    return JSONResponse({"id": task.id, "status": task.status.value, "queue_position": position})


@router.get("/v1/models", tags=["catalog"], summary="Models this server knows, with what each can do")
async def models(service: Service) -> JSONResponse:
    catalog = service.catalog
    data = [{"object": "model", "owned_by": "seedgate", **m.summary()} for m in catalog.models.values()]
    return JSONResponse({"object": "list", "data": data})


@router.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["operations"], summary="Readiness: the database answers")
async def readyz(service: Service) -> JSONResponse:
    try:
        await service.check_database()
    except Exception as exc:
        return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ready"})


# Server-wide counts are the operator's business: SEEDGATE_METRICS=off removes the route, and
# SEEDGATE_METRICS_TOKEN puts it behind `Authorization: Bearer <token>` (docs/operations.md). Read when asked, not
# at import, so the app (create_app) and each request see the environment of the process serving them.
metrics_router = APIRouter()


def _metrics_mode() -> str:
    return os.environ.get("SEEDGATE_METRICS", "on").strip().lower()


def metrics_off() -> bool:
    """Whether /metrics is hidden from the OpenAPI document (only the exact word `off`, as before)."""
    return _metrics_mode() == "off"


@metrics_router.get("/metrics", tags=["operations"], summary="Prometheus metrics")
async def metrics(request: Request, service: Service) -> Response:
    metrics_token = os.environ.get("SEEDGATE_METRICS_TOKEN", "").strip()
    if _metrics_mode() in ("off", "0", "false", "no"):
        raise ApiError(404, "NotFound", "no route for GET /metrics")
    if metrics_token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), metrics_token.encode()):
            raise ApiError(401, "AuthenticationError", "/metrics needs `Authorization: Bearer <metrics token>`")
    counts = await service.status_counts()
    for status in Status:
        TASKS.labels(status.value).set(counts.get(status.value, 0))
    QUEUE_DEPTH.set(counts.get(Status.QUEUED.value, 0))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
