"""3hei (vendors.md §4): Ark bodies posted to OpenAI's `POST /v1/videos`, answered and called back as Ark tasks.

3hei has no route of its own: openai_videos.py serves the shared route and tells its bodies apart (`body_dialect`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from seedgate.core.errors import ApiError
from seedgate.core.task import Task

from . import ark
from .base import DEFAULT_RESULT_TTL_S, NoEvents

NAME = "3hei"
PREFIX = "/v1/videos"  # shared with OpenAI, whose envelope the registry gives errors outside 3hei's own create


class ThreeHei(NoEvents):
    """Ark's task objects, callbacks and errors, for tasks created through the shared OpenAI route."""

    name = NAME
    prefixes = (PREFIX,)
    result_ttl_s = DEFAULT_RESULT_TTL_S

    def render_task(self, task: Task, links: dict[str, str]) -> dict[str, Any]:
        return ark.render_task(task, links)

    def callback_url(self, task: Task) -> str | None:
        return ark.callback_url(task)

    def render_error(self, error: ApiError, request_id: str) -> JSONResponse:
        return ark.render_error(error, request_id)

    def router(self) -> APIRouter:
        return APIRouter()  # its only route is openai_videos.py's `POST /v1/videos`


DIALECT = ThreeHei()
