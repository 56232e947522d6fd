"""3hei (vendors.md §4): Ark bodies posted to OpenAI's `POST /v1/videos`, answered and called back as Ark tasks.

3hei has no route of its own: openai_videos.py serves the shared route and tells its bodies apart (`body_dialect`).
"""

from __future__ import annotations

from fastapi import APIRouter

from . import ark
from .base import CodecDialect

NAME = "3hei"
PREFIX = "/v1/videos"  # shared with OpenAI, whose envelope the registry gives errors outside 3hei's own create


# Ark's task objects, callbacks and errors, for tasks created through the shared OpenAI route; its only route is
# openai_videos.py's `POST /v1/videos`, so it brings no router of its own.
DIALECT = CodecDialect(
    name=NAME,
    prefixes=(PREFIX,),
    render_task=ark.render_task,
    callback_url=ark.callback_url,
    render_error=ark.render_error,
    routes=APIRouter(),
)
