"""The ceiling for bench/api_bench.py: seedgate's two task routes with nothing behind them.

Same framework stack as seedgate (FastAPI on uvicorn, one process, the loop and HTTP implementations uvicorn
picks by default, access log off) so that seedgate / bare isolates what seedgate itself adds: auth, validation
against the catalog, the database write or read, logging.

    POST /api/v3/contents/generations/tasks        parse + validate a small Pydantic v2 model, answer a fresh id
    GET  /api/v3/contents/generations/tasks/{id}   answer a task-sized JSON object (same fields as seedgate's)

Run:  python bench/bare_app.py --port 8001
"""

from __future__ import annotations

import argparse
import secrets
import time
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

PREFIX = "/api/v3/contents/generations/tasks"


class ContentItem(BaseModel):
    type: str
    text: str | None = None


class CreateBody(BaseModel):
    # Only what every create carries; unknown options (resolution, duration, ...) are accepted and ignored.
    model: str
    content: list[ContentItem]


app = FastAPI(title="seedgate bench ceiling")


@app.post(PREFIX)
async def create_task(body: CreateBody) -> JSONResponse:
    # Returning a JSONResponse skips FastAPI's response-model pass, as seedgate's routes do.
    return JSONResponse({"id": f"cgt-{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(4)}"})


@app.get(PREFIX + "/{task_id}")
async def get_task(task_id: str) -> JSONResponse:
    now = int(time.time())
    # The fields and value types of a queued seedgate task, so the response is the same size (~310 bytes).
    body: dict[str, Any] = {
        "id": task_id,
        "model": "doubao-seedance-1-0-pro-250528",
        "status": "queued",
        "created_at": now,
        "updated_at": now,
        "service_tier": "default",
        "execution_expires_after": 172800,
        "seed": 259739992,
        "resolution": "720p",
        "ratio": "16:9",
        "framespersecond": 24,
        "draft": False,
        "priority": 0,
        "duration": 5,
    }
    return JSONResponse(body)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the bare ceiling app for bench/api_bench.py.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    # The same uvicorn.run call as `seedgate serve` (default loop/http = uvloop/httptools when installed),
    # minus the access log, which seedgate also silences (uvicorn.access at WARNING).
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
