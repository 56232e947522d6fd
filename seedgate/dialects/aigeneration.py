"""The `/api/AIGeneration/video/seedance/*` platform (seed 004): Ark bodies in, `{success, data}` envelopes out."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from seedgate.api.deps import Caller
from seedgate.core.errors import ApiError
from seedgate.core.spec import TaskSpec
from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.core.validation import Soft

from . import ark
from .base import CodecDialect
from .common import create_task, read_task

NAME = "aigeneration"
PREFIX = "/api/AIGeneration/video/seedance"
# The platform's documented vocabulary has no `cancelled`; a task cancelled through another dialect reads as failed.
_STATUS = {Status.CANCELLED: "failed"}


def render_error(error: ApiError, request_id: str) -> JSONResponse:
    message = f"{error.param}: {error.message}" if error.param else error.message
    body = {
        "success": False,
        "code": error.code,
        "message": message,
        "param": error.param or "",
        "request_id": request_id,
    }
    return JSONResponse(body, status_code=error.status)


def parse_create(body: Any) -> tuple[TaskSpec, Soft]:
    spec, soft = ark.parse_create(body)
    # The platform's own draft example sends service_tier "flex", which Ark refuses for drafts; its clients expect
    # the draft to run, so a flex draft runs on the default tier.
    if spec.draft and spec.service_tier == "flex":
        spec.service_tier = None
    return spec, soft


def _iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + f".{int(stamp % 1 * 1e6):06d}Z"


def render_task(task: Task, links: dict[str, str]) -> dict[str, Any]:
    error = (
        task.error["message"] if task.error else ("the task was cancelled" if task.status is Status.CANCELLED else None)
    )
    return {
        "id": task.id,
        "status": _STATUS.get(task.status, task.status.value),
        "model": task.spec.model_name,
        "result_url": links.get("video_url"),
        "last_frame_url": links.get("last_frame_url"),
        "error_message": error,
        "created_at": _iso(task.created_at),
        "started_at": _iso(task.started_at),
        "completed_at": _iso(task.finished_at),
        "progress": round(task.progress * 100) if task.status is Status.RUNNING else None,
    }


def callback_url(task: Task) -> str | None:
    return task.spec.callback_url


router = APIRouter(tags=["AIGeneration platform"])


@router.post(PREFIX + "/createTask", summary="Create a Seedance task (Ark body)")
async def create(request: Request, key: Caller) -> JSONResponse:
    task = await create_task(request, key, parse_create, NAME)
    return JSONResponse({"success": True, "data": render_task(task, {})})


@router.get(PREFIX + "/taskStatus/{task_id}", summary="Query a Seedance task")
async def task_status(task_id: str, request: Request, key: Caller) -> JSONResponse:
    return JSONResponse({"success": True, "data": render_task(*await read_task(request, key, task_id))})


# The AIGeneration platform: Ark bodies in, `{success, data}` task documents out and in callbacks.
DIALECT = CodecDialect(
    name=NAME,
    prefixes=(PREFIX,),
    render_task=render_task,
    callback_url=callback_url,
    render_error=render_error,
    routes=router,
)
