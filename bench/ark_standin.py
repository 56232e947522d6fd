"""A protocol-faithful stand-in for the Volcengine Ark video task API, with scripted timing.

The real Ark cannot be reached from here, so benchmarks and tests of seedgate's upstream channels run against this.
It follows /work/shared/reference/ark_api.md (sections 1, 4 and 6): the same paths and bodies, the status words,
the `{"error": {code, message, param, type}}` envelope, repeated `filter.task_ids` keys, page_num / page_size up to
500, Bearer-key auth, the per-second query limits (retrieve 20/s, list 1/s, delete 20/s answered with 429), and
callbacks on every status change.

    POST   /api/v3/contents/generations/tasks          -> {"id": "cgt-YYYYmmddHHMMSS-xxxxx"}
    GET    /api/v3/contents/generations/tasks/{id}     -> task object
    GET    /api/v3/contents/generations/tasks?...      -> {"total": n, "items": [task, ...]}
    DELETE /api/v3/contents/generations/tasks/{id}     -> {} (queued: cancelled; finished: deleted; else 409)
    GET    /files/{id}.mp4 | /files/{id}.png           -> the result video / last frame (no auth, like TOS URLs)

Timing: a task is `queued` for `queue_seconds` (longer when `concurrency` workers are all busy), `running` for a
random time within `run_seconds`, then `succeeded`, or `failed` for `fail_ratio` of tasks. Statuses are computed
from timestamps on each read; one background task fires the callbacks when transitions fall due. With
`delivered_seconds`, a succeeded task reports that length (its `duration` and `usage`) whatever it asked for: an
upstream that delivered less than requested, which the gateway must bill by what was reported.

Where ark_api.md leaves the wire undocumented, this stand-in picks (and seedgate's own Ark dialect agrees):
404 `ResourceNotFound` for an unknown task, 409 `InvalidAction.TaskRunning` / `InvalidAction.TaskCancelled` for
DELETE of a running / cancelled task, 429 `RateLimitExceeded` for the query limits, no callback for `cancelled`.

Request-line size: uvicorn with httptools accepts a request target of up to 65,535 bytes (measured: 65,536 gets
400), about 1,600 task IDs in one list call; 500 IDs are ~25 KB. httpx refuses URLs over 65,536 characters itself.

In a test:
    standin = ArkStandin(run_seconds=(1, 2)); base = standin.start()   # http://127.0.0.1:PORT/api/v3
    ...; standin.stop()
By hand:
    python bench/ark_standin.py --port 9000 --run 5 20 --fail-ratio 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import io
import json
import random
import socket
import string
import struct
import threading
import time
import zlib
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PREFIX = "/api/v3/contents/generations/tasks"
STATUSES = ("queued", "running", "cancelled", "succeeded", "failed", "expired")
_FINAL = ("succeeded", "failed", "expired")
_CALLBACK_STATUSES = ("queued", "running", "succeeded", "failed", "expired")  # ark_api.md 4.4: not cancelled
_ERROR_TYPES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    429: "TooManyRequests",
}
_CONTENT_TYPES = ("text", "image_url", "video_url", "audio_url", "draft_task")
_RESOLUTIONS = ("480p", "720p", "1080p", "4k")
_RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive")
# Output pixels of the 1.5 pro / 2.0 series (ark_api.md 5), for usage.completion_tokens = W * H * frames / 1024.
_PIXELS = {
    "480p": {
        "16:9": (864, 496),
        "4:3": (752, 560),
        "1:1": (640, 640),
        "3:4": (560, 752),
        "9:16": (496, 864),
        "21:9": (992, 432),
    },
    "720p": {
        "16:9": (1280, 720),
        "4:3": (1112, 834),
        "1:1": (960, 960),
        "3:4": (834, 1112),
        "9:16": (720, 1280),
        "21:9": (1470, 630),
    },
    "1080p": {
        "16:9": (1920, 1080),
        "4:3": (1664, 1248),
        "1:1": (1440, 1440),
        "3:4": (1248, 1664),
        "9:16": (1080, 1920),
        "21:9": (2206, 946),
    },
    "4k": {
        "16:9": (3840, 2160),
        "4:3": (3326, 2494),
        "1:1": (2880, 2880),
        "3:4": (2494, 3326),
        "9:16": (2160, 3840),
        "21:9": (4398, 1886),
    },
}
SEVEN_DAYS = 7 * 86400


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, param: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param


@dataclass
class _Task:
    id: str
    body: dict[str, Any]  # the create body, None values dropped
    created: float
    transitions: list[tuple[float, str]]  # (wall-clock time, status), ascending; cut short by a cancel
    seed: int
    resolution: str
    ratio: str
    duration: int | None
    frames: int | None
    fail: bool
    callbacks_due: list[int] = field(default_factory=list)

    def state(self, now: float) -> tuple[str, float]:
        """(status, time it was entered) at wall-clock `now`."""
        current = self.transitions[0]
        for step in self.transitions:
            if step[0] > now:
                break
            current = step
        return current[1], current[0]

    def final_at(self) -> tuple[str, float] | None:
        t, status = self.transitions[-1]
        return (status, t) if status in ("succeeded", "failed") else None


def make_mp4(width: int = 64, height: int = 64, frames: int = 24, fps: int = 24) -> bytes:
    """A small real H.264 MP4 (moving gradient) made with PyAV."""
    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        try:
            stream = out.add_stream("libx264", rate=fps)
        except Exception:  # a PyAV build without x264 still yields a playable MP4
            stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        ys, xs = np.mgrid[0:height, 0:width]
        for i in range(frames):
            rgb = np.stack([(xs * 4 + i * 8) % 256, (ys * 4) % 256, np.full_like(xs, (i * 10) % 256)], axis=-1)
            frame = av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def make_png(width: int = 64, height: int = 64) -> bytes:
    """A small real RGB PNG, written by hand so no imaging library is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in ((x * 4) % 256, (y * 4) % 256, 128)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


class ArkStandin:
    """The stand-in server; counters and records are readable from any thread while it runs."""

    def __init__(
        self,
        run_seconds: tuple[float, float] = (1.0, 3.0),
        queue_seconds: float = 0.0,
        fail_ratio: float = 0.0,
        seed: int = 0,
        get_qps: float | None = 20,
        list_qps: float | None = 1,
        delete_qps: float | None = 20,
        create_rpm: int | None = None,
        concurrency: int | None = None,
        video_path: str | Path | None = None,
        callbacks: bool = True,
        api_key: str | None = None,
        model_name: str | None = None,
        delivered_seconds: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.run_seconds = run_seconds
        self.queue_seconds = queue_seconds
        self.fail_ratio = fail_ratio
        self.callbacks_enabled = callbacks
        self.api_key = api_key  # None: any Bearer key is accepted
        self.model_name = model_name  # the `model` reported in tasks; None echoes the request's model
        self.delivered_seconds = delivered_seconds  # the length a succeeded task reports; None: what it asked
        self.host, self.port = host, port
        self.concurrency = concurrency
        self._rng = random.Random(seed)
        self._limits: dict[str, tuple[float, float]] = {}  # kind -> (max calls, window seconds)
        for kind, per_second in (("get", get_qps), ("list", list_qps), ("delete", delete_qps)):
            if per_second:
                self._limits[kind] = (per_second, 1.0)
        if create_rpm:
            self._limits["create"] = (create_rpm, 60.0)
        self._windows: dict[str, deque[float]] = {kind: deque() for kind in self._limits}
        self._workers: list[float] = [0.0] * concurrency if concurrency else []  # heap of times a worker frees
        self._video = Path(video_path).read_bytes() if video_path else None
        self._png: bytes | None = None
        self._lock = threading.Lock()
        self._tasks: dict[str, _Task] = {}
        self._issued: set[str] = set()  # every ID ever created, for /files after a delete (URLs outlive records)
        self._due: list[tuple[float, int, str, int]] = []  # heap of (time, seq, task id, transition index)
        self._seq = 0
        self._wake: asyncio.Event | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        # Public counters.
        self.calls: Counter[str] = Counter()  # create/get/list/delete/download, every request incl. refused ones
        self.limited = 0  # 429s for the query limits (and create_rpm)
        self.limited_by: Counter[str] = Counter()
        self.callbacks_sent: list[tuple[str, str, int | str, float]] = []  # (task id, status, HTTP status or error, t)
        self.app = Starlette(
            routes=[
                Route(PREFIX, self._create, methods=["POST"]),
                Route(PREFIX, self._list, methods=["GET"]),
                Route(PREFIX + "/{task_id}", self._get, methods=["GET"]),
                Route(PREFIX + "/{task_id}", self._delete, methods=["DELETE"]),
                Route("/files/{name}", self._file, methods=["GET", "HEAD"]),
            ],
            lifespan=self._lifespan,
        )

    # ---- life cycle ----

    def start(self) -> str:
        """Serve with uvicorn (httptools, so ~25 KB list URLs pass) in a background thread; returns base_url."""
        if self._video is None:
            self._video = make_mp4()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            http="httptools",
            loop="asyncio",
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="ark-standin", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Ark stand-in did not start")
            time.sleep(0.01)
        return self.base_url

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
        self._server = self._thread = None

    def __enter__(self) -> ArkStandin:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/api/v3"

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> Any:
        self._wake = asyncio.Event()
        self._http = httpx.AsyncClient(
            timeout=5.0, trust_env=False, limits=httpx.Limits(max_connections=200, max_keepalive_connections=50)
        )
        scheduler = asyncio.create_task(self._scheduler())
        try:
            yield
        finally:
            scheduler.cancel()
            for task in list(self._pending):
                task.cancel()
            await asyncio.gather(scheduler, *self._pending, return_exceptions=True)
            await self._http.aclose()

    # ---- observations ----

    @property
    def completed_at(self) -> dict[str, float]:
        """task id -> the exact wall-clock time (time.time()) it became succeeded or failed, for tasks that have."""
        now = time.time()
        with self._lock:
            finals = ((tid, task.final_at()) for tid, task in self._tasks.items())
            return {tid: f[1] for tid, f in finals if f is not None and f[1] <= now}

    def status_of(self, task_id: str) -> str | None:
        """The task's status now, None when unknown or deleted."""
        with self._lock:
            task = self._tasks.get(task_id)
            return task.state(time.time())[0] if task else None

    @property
    def task_ids(self) -> list[str]:
        with self._lock:
            return list(self._tasks)

    # ---- helpers ----

    def _error(self, err: ApiError) -> JSONResponse:
        request_id = self._request_id()
        body = {
            "error": {
                "code": err.code,
                "message": f"{err.message} Request id: {request_id}",
                "param": err.param,
                "type": _ERROR_TYPES.get(err.status, "InternalServerError"),
            }
        }
        return JSONResponse(body, status_code=err.status, headers={"X-Request-Id": request_id})

    def _ok(self, body: Any) -> JSONResponse:
        return JSONResponse(body, headers={"X-Request-Id": self._request_id()})

    def _request_id(self) -> str:
        return time.strftime("%Y%m%d%H%M%S") + "".join(random.choices(string.hexdigits.lower(), k=20))

    def _admit(self, request: Request, kind: str) -> None:
        """Count the call, check the Bearer key, then the rate limit of its kind (sliding window)."""
        self.calls[kind] += 1
        auth = request.headers.get("authorization", "")
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "bearer" or not key.strip() or (self.api_key is not None and key.strip() != self.api_key):
            raise ApiError(401, "AuthenticationError", "The API key in the request is missing or invalid.")
        limit = self._limits.get(kind)
        if limit is None:
            return
        now = time.monotonic()
        window = self._windows[kind]
        with self._lock:
            while window and window[0] <= now - limit[1]:
                window.popleft()
            if len(window) >= limit[0]:
                self.limited += 1
                self.limited_by[kind] += 1
                if kind == "create":
                    raise ApiError(
                        429,
                        "RateLimitExceeded.EndpointRPMExceeded",
                        f"The request has exceeded the RPM limit of {limit[0]:g} on this endpoint.",
                    )
                raise ApiError(
                    429,
                    "RateLimitExceeded",
                    f"The request has exceeded the {kind} query limit of {limit[0]:g} per second.",
                )
            window.append(now)

    def _new_id(self, now: float) -> str:
        stamp = time.strftime("%Y%m%d%H%M%S", time.localtime(now))
        while True:
            task_id = f"cgt-{stamp}-" + "".join(self._rng.choices(string.ascii_lowercase + string.digits, k=5))
            if task_id not in self._issued:
                return task_id

    def _object(self, task: _Task, now: float) -> dict[str, Any]:
        """The task as Ark's retrieve answers it at wall-clock `now` (also the callback body)."""
        status, since = task.state(now)
        body = task.body
        obj: dict[str, Any] = {
            "id": task.id,
            "model": self.model_name or body["model"],
            "status": status,
            "created_at": int(task.created),
            "updated_at": int(since),
            "seed": task.seed,
            "resolution": task.resolution,
            "ratio": task.ratio,
        }
        if task.frames is not None:
            obj["frames"] = task.frames
        else:
            obj["duration"] = task.duration
        obj["framespersecond"] = 24
        for key in ("generate_audio", "draft", "priority", "safety_identifier"):
            if key in body:
                obj[key] = body[key]
        obj["service_tier"] = body.get("service_tier", "default")
        obj["execution_expires_after"] = body.get("execution_expires_after", 172800)
        if status == "succeeded":
            content = {"video_url": f"{self.root_url}/files/{task.id}.mp4"}
            if body.get("return_last_frame"):
                content["last_frame_url"] = f"{self.root_url}/files/{task.id}.png"
            obj["content"] = content
            width, height = _PIXELS.get(task.resolution, _PIXELS["720p"]).get(task.ratio, (1280, 720))
            frames = task.frames if task.frames is not None else 24 * (task.duration or 5) + 1
            if self.delivered_seconds is not None:
                obj.pop("frames", None)
                obj["duration"] = self.delivered_seconds
                frames = 24 * self.delivered_seconds + 1
            tokens = width * height * frames // 1024
            obj["usage"] = {"completion_tokens": tokens, "total_tokens": tokens}
        elif status == "failed":
            obj["error"] = {
                "code": "OutputVideoSensitiveContentDetected",
                "message": "The request failed because the output video may contain sensitive information.",
            }
        return obj

    # ---- validation ----

    @staticmethod
    def _validate(body: object) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "InvalidParameter", "The request body must be a JSON object.", "body")
        body = {k: v for k, v in body.items() if v is not None}  # the SDK sends every unset option as null
        model = body.get("model")
        if model is None:
            raise ApiError(
                400, "MissingParameter", "The request failed because it is missing the `model` parameter.", "model"
            )
        if not isinstance(model, str) or not model.strip():
            raise ApiError(400, "InvalidParameter", "The parameter `model` is not valid.", "model")
        content = body.get("content")
        if content is None:
            raise ApiError(
                400, "MissingParameter", "The request failed because it is missing the `content` parameter.", "content"
            )
        if not isinstance(content, list) or not content:
            raise ApiError(400, "InvalidParameter", "The parameter `content` must be a non-empty array.", "content")
        for i, item in enumerate(content):
            if not isinstance(item, dict) or item.get("type") not in _CONTENT_TYPES:
                raise ApiError(
                    400, "InvalidParameter", f"The parameter `content[{i}].type` is not valid.", f"content[{i}].type"
                )

        def check(name: str, ok: bool) -> None:
            if name in body and not ok:
                raise ApiError(
                    400, "InvalidParameter", f"The parameter `{name}` specified in the request is not valid.", name
                )

        def is_int(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        check("resolution", body.get("resolution") in _RESOLUTIONS)
        check("ratio", body.get("ratio") in _RATIOS)
        check("duration", is_int(body.get("duration")) and (body["duration"] == -1 or 2 <= body["duration"] <= 30))
        check("frames", is_int(body.get("frames")) and 29 <= body["frames"] <= 289 and (body["frames"] - 25) % 4 == 0)
        check("seed", is_int(body.get("seed")) and -1 <= body["seed"] <= 2**32 - 1)
        check("service_tier", body.get("service_tier") in ("default", "flex"))
        check(
            "execution_expires_after",
            is_int(body.get("execution_expires_after")) and 3600 <= body["execution_expires_after"] <= 259200,
        )
        check("priority", is_int(body.get("priority")) and 0 <= body["priority"] <= 9)
        check(
            "callback_url",
            isinstance(body.get("callback_url"), str) and body["callback_url"].startswith(("http://", "https://")),
        )
        check(
            "safety_identifier",
            isinstance(body.get("safety_identifier"), str)
            and len(body["safety_identifier"]) <= 64
            and body["safety_identifier"].isascii(),
        )
        for flag in ("return_last_frame", "generate_audio", "draft", "camera_fixed", "watermark"):
            check(flag, isinstance(body.get(flag), bool))
        return body

    # ---- routes ----

    async def _create(self, request: Request) -> Response:
        try:
            self._admit(request, "create")
            try:
                raw = json.loads(await request.body())
            except ValueError:
                raise ApiError(400, "InvalidParameter", "The request body is not valid JSON.", "body") from None
            body = self._validate(raw)
        except ApiError as err:
            return self._error(err)
        now = time.time()
        with self._lock:
            task_id = self._new_id(now)
            self._issued.add(task_id)
            ready = now + self.queue_seconds
            run = self._rng.uniform(*self.run_seconds)
            if self._workers:
                # FIFO over `concurrency` workers: a task starts once queued long enough and a worker is free.
                start = max(ready, heapq.heappop(self._workers))
                heapq.heappush(self._workers, start + run)
            else:
                start = ready
            done = start + run
            fail = self._rng.random() < self.fail_ratio
            seed = body.get("seed", -1)
            if seed == -1:
                seed = self._rng.randrange(2**31)
            expires = now + body.get("execution_expires_after", 172800)
            steps = [(now, "queued")]
            if start < expires:
                steps.append((start, "running"))
            steps.append((done, "failed" if fail else "succeeded") if done <= expires else (expires, "expired"))
            ratio = body.get("ratio", "16:9")
            duration = body.get("duration", 5)
            task = _Task(
                id=task_id,
                body=body,
                created=now,
                transitions=steps,
                seed=seed,
                resolution=body.get("resolution", "720p"),
                ratio="16:9" if ratio == "adaptive" else ratio,
                duration=None if "frames" in body else (5 if duration == -1 else duration),
                frames=body.get("frames"),
                fail=fail,
            )
            self._tasks[task_id] = task
            if self.callbacks_enabled and "callback_url" in body:
                for index, (t, _status) in enumerate(steps):
                    self._seq += 1
                    heapq.heappush(self._due, (t, self._seq, task_id, index))
        if self._wake is not None and self.callbacks_enabled and "callback_url" in body:
            self._wake.set()
        return self._ok({"id": task_id})

    async def _get(self, request: Request) -> Response:
        try:
            self._admit(request, "get")
            task_id = request.path_params["task_id"]
            with self._lock:
                task = self._tasks.get(task_id)
                if task is None:
                    raise ApiError(404, "ResourceNotFound", f"The specified task {task_id} is not found.", "id")
                return self._ok(self._object(task, time.time()))
        except ApiError as err:
            return self._error(err)

    async def _list(self, request: Request) -> Response:
        try:
            self._admit(request, "list")
            query = request.query_params

            def page_param(name: str, default: int) -> int:
                raw = query.get(name)
                if raw is None or raw == "":
                    return default
                if not raw.isdigit() or not 1 <= int(raw) <= 500:
                    raise ApiError(400, "InvalidParameter", f"The parameter `{name}` must be in [1, 500].", name)
                return int(raw)

            page_num, page_size = page_param("page_num", 1), page_param("page_size", 20)
            status = query.get("filter.status")
            if status and status not in ("queued", "running", "cancelled", "succeeded", "failed"):
                raise ApiError(400, "InvalidParameter", "The parameter `filter.status` is not valid.", "filter.status")
            ids = set(query.getlist("filter.task_ids"))
            model = query.get("filter.model")
            # Documented default `default`: flex tasks show only when asked for (ark_api.md 1).
            tier = query.get("filter.service_tier") or "default"
            now = time.time()
            with self._lock:
                tasks = [
                    t
                    for t in self._tasks.values()
                    if (not ids or t.id in ids)
                    and (not model or t.body["model"] == model)
                    and t.body.get("service_tier", "default") == tier
                    and t.created >= now - SEVEN_DAYS
                    and (not status or t.state(now)[0] == status)
                ]
                tasks.sort(key=lambda t: t.created, reverse=True)  # newest first
                start = (page_num - 1) * page_size
                items = [self._object(t, now) for t in tasks[start : start + page_size]]
            return self._ok({"total": len(tasks), "items": items})
        except ApiError as err:
            return self._error(err)

    async def _delete(self, request: Request) -> Response:
        try:
            self._admit(request, "delete")
            task_id = request.path_params["task_id"]
            now = time.time()
            with self._lock:
                task = self._tasks.get(task_id)
                if task is None:
                    raise ApiError(404, "ResourceNotFound", f"The specified task {task_id} is not found.", "id")
                status, _ = task.state(now)
                if status == "queued":
                    task.transitions = [step for step in task.transitions if step[0] <= now] + [(now, "cancelled")]
                elif status in ("running", "cancelled"):
                    raise ApiError(
                        409,
                        f"InvalidAction.Task{status.capitalize()}",
                        f"The task {task_id} is {status} and cannot be cancelled or deleted.",
                        "id",
                    )
                else:
                    del self._tasks[task_id]
            return self._ok({})  # the SDK parses a JSON body; 200 {} is what it accepts (ark_api.md 1)
        except ApiError as err:
            return self._error(err)

    async def _file(self, request: Request) -> Response:
        self.calls["download"] += 1
        name: str = request.path_params["name"]
        task_id, _, ext = name.rpartition(".")
        if task_id not in self._issued or ext not in ("mp4", "png"):
            return Response(b"NoSuchKey", status_code=404, media_type="text/plain")
        if ext == "png":
            if self._png is None:
                self._png = make_png()
            data, media = self._png, "image/png"
        else:
            data, media = self._video or b"", "video/mp4"
        return Response(
            b"" if request.method == "HEAD" else data, media_type=media, headers={"Content-Length": str(len(data))}
        )

    # ---- callbacks ----

    async def _scheduler(self) -> None:
        """Wake at the next due transition and fire its callback; new creates wake it early."""
        assert self._wake is not None
        while True:
            with self._lock:
                now = time.time()
                fire: list[tuple[str, str, dict[str, Any]]] = []
                while self._due and self._due[0][0] <= now:
                    t, _, task_id, index = heapq.heappop(self._due)
                    task = self._tasks.get(task_id)
                    # A cancel cuts the transitions short; a deleted task calls back no more.
                    if task is None or index >= len(task.transitions) or task.transitions[index][0] != t:
                        continue
                    status = task.transitions[index][1]
                    if status in _CALLBACK_STATUSES:
                        fire.append((task.body["callback_url"], status, self._object(task, t)))
                delay = self._due[0][0] - now if self._due else None
            for url, status, obj in fire:
                job = asyncio.create_task(self._post_callback(url, status, obj))
                self._pending.add(job)
                job.add_done_callback(self._pending.discard)
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _post_callback(self, url: str, status: str, obj: dict[str, Any]) -> None:
        # Ark calls back three times for a final status not acknowledged within 5 s (ark_api.md 4.4).
        attempts = 3 if status in _FINAL else 1
        assert self._http is not None
        for _ in range(attempts):
            try:
                resp = await self._http.post(url, json=obj)
                outcome: int | str = resp.status_code
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            with self._lock:
                self.callbacks_sent.append((obj["id"], status, outcome, time.time()))
            if isinstance(outcome, int) and 200 <= outcome < 300:
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument(
        "--run",
        type=float,
        nargs=2,
        default=(5.0, 20.0),
        metavar=("MIN", "MAX"),
        help="seconds a task stays running (uniform)",
    )
    parser.add_argument("--queue", type=float, default=0.0, help="seconds a task stays queued")
    parser.add_argument("--concurrency", type=int, default=None, help="tasks running at once (default: no cap)")
    parser.add_argument("--fail-ratio", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--get-qps", type=float, default=20)
    parser.add_argument("--list-qps", type=float, default=1)
    parser.add_argument("--create-rpm", type=int, default=None)
    parser.add_argument("--api-key", default=None, help="the only key accepted (default: any Bearer key)")
    parser.add_argument("--video", default=None, help="MP4 to serve as every result (default: a generated one)")
    args = parser.parse_args()
    standin = ArkStandin(
        run_seconds=tuple(args.run),
        queue_seconds=args.queue,
        fail_ratio=args.fail_ratio,
        seed=args.seed,
        get_qps=args.get_qps,
        list_qps=args.list_qps,
        create_rpm=args.create_rpm,
        concurrency=args.concurrency,
        video_path=args.video,
        api_key=args.api_key,
        host=args.host,
        port=args.port,
    )
    print(f"Ark stand-in on {standin.start()}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":
    main()
