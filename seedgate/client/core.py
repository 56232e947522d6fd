"""The client's logic without I/O, shared by `Client` and `AsyncClient`.

Each operation is a generator that yields what it needs done (an HTTP call, a pause, a progress report, a file
download) and receives the result; the sync and async clients only differ in how they carry those steps out.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .errors import AssetFailed, AuthenticationFailed, SeedgateError, TaskFailed, WaitTimeout
from .models import Asset, Task

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_MODEL = "doubao-seedance-1-0-pro-250528"  # takes text, first frame and first + last frame
TASKS = "/api/v3/contents/generations/tasks"
ASSETS = "/v1/assets"
_PASS_THROUGH = ("http://", "https://", "data:", "asset://", "Asset://")
ASSET_POLL_S = 0.5

MediaInput = str | os.PathLike[str]


@dataclass
class Call:
    method: str
    path: str
    params: Any = None
    json: Any = None
    data: dict[str, str] | None = None
    file: Path | None = None  # sent as the multipart part `file`


@dataclass
class Sleep:
    seconds: float


@dataclass
class Notify:
    task: Task


@dataclass
class Download:
    url: str
    path: Path


Step = Call | Sleep | Notify | Download
T = TypeVar("T")
# A flow yields steps, is sent each step's result (a Call's is the parsed JSON body, hence Any) and returns a T.
Flow = Generator[Step, Any, T]


def settings(base_url: str | None, api_key: str | None) -> tuple[str, str | None]:
    url = base_url or os.environ.get("SEEDGATE_URL") or DEFAULT_URL
    return url.rstrip("/"), api_key if api_key is not None else os.environ.get("SEEDGATE_API_KEY")


def headers(api_key: str | None) -> dict[str, str]:
    from seedgate import __version__

    out = {"User-Agent": f"seedgate-client/{__version__}"}
    if api_key:
        out["Authorization"] = f"Bearer {api_key}"
    return out


def parse_response(status: int, content: bytes) -> Any:
    """The JSON body of a 2xx answer; any other answer raises `SeedgateError` parsed from the error envelope."""
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = None
    if 200 <= status < 300:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or error.get("type") or f"HTTP{status}")
        message = str(error.get("message") or "")
        param = error.get("param")
    else:
        code, param = f"HTTP{status}", None
        message = content[:200].decode(errors="replace") if content else f"HTTP {status}"
    # Ark appends "Request id: ..." to each message; the request id is of no use to a caller reading it.
    message = message.split(". Request id:")[0]
    cls = AuthenticationFailed if status in (401, 403) else SeedgateError
    raise cls(status, code, message, param if isinstance(param, str) else None, body)


def is_local(value: MediaInput) -> bool:
    if isinstance(value, os.PathLike):
        return True
    return not value.startswith(_PASS_THROUGH) and not value.startswith("asset-")


def media_ref(value: MediaInput) -> str:
    """A URL or `asset://` reference as sent; a bare asset ID as `asset://ID`."""
    text = os.fspath(value)
    return f"asset://{text}" if text.startswith("asset-") else text


def local_path(value: MediaInput, param: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise SeedgateError(0, "InvalidFile", f"{param}: {path} is not a readable file (nor a URL or asset ID)", param)
    return path


# -- assets -------------------------------------------------------------------------------------------------------


def upload_asset(source: MediaInput, name: str | None = None, kind: str | None = None) -> Flow[Asset]:
    fields = {k: v for k, v in (("name", name), ("kind", kind)) if v}
    if is_local(source):
        path = local_path(source, "file")
        body = yield Call("POST", ASSETS, data=fields, file=path)
    else:
        body = yield Call("POST", ASSETS, json={"url": os.fspath(source), **fields})
    return Asset.from_json(body)


def get_asset(asset_id: str) -> Flow[Asset]:
    return Asset.from_json((yield Call("GET", f"{ASSETS}/{asset_id}")))


def list_assets(
    limit: int = 20, offset: int = 0, status: str | None = None, kind: str | None = None
) -> Flow[list[Asset]]:
    params = {"limit": limit, "offset": offset, **{k: v for k, v in (("status", status), ("kind", kind)) if v}}
    body = yield Call("GET", ASSETS, params=params)
    return [Asset.from_json(item) for item in body.get("data", [])]


def delete_asset(asset_id: str) -> Flow[None]:
    yield Call("DELETE", f"{ASSETS}/{asset_id}")


def wait_asset(asset: Asset, timeout: float | None = 300) -> Flow[Asset]:
    """Until the audit is done: a task referencing a still-processing asset would wait for it only so long."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while asset.status == "processing":
        if deadline is not None and time.monotonic() > deadline:
            raise SeedgateError(0, "WaitTimeout", f"asset {asset.id} is still processing after {timeout:g} s")
        yield Sleep(ASSET_POLL_S)
        asset = yield from get_asset(asset.id)
    if asset.status != "ready":
        error = asset.error or {}
        code = error.get("code") or error.get("Code") or "AssetFailed"
        message = error.get("message") or error.get("Message") or "the asset failed its audit"
        raise AssetFailed(400, code, f"asset {asset.id} ({asset.name or 'unnamed'}): {message}", None, asset.raw)
    return asset


def ensure_ref(value: MediaInput, param: str) -> Flow[str]:
    """A local file is uploaded and audited first; anything else is referenced as it is."""
    if not is_local(value):
        return media_ref(value)
    path = local_path(value, param)
    asset = yield from upload_asset(path, name=path.name)
    asset = yield from wait_asset(asset)
    return asset.ref


# -- tasks --------------------------------------------------------------------------------------------------------


def create(
    prompt: str | None,
    *,
    model: str,
    image: MediaInput | None = None,
    last_image: MediaInput | None = None,
    reference_images: Sequence[MediaInput] = (),
    reference_videos: Sequence[MediaInput] = (),
    reference_audios: Sequence[MediaInput] = (),
    draft_task_id: str | None = None,
    options: Mapping[str, Any],
) -> Flow[Task]:
    # Check every local path before uploading any, so a typo costs no upload.
    slots: list[tuple[str, str, str | None, MediaInput]] = []  # (content type, param, role, value)
    if image is not None:
        slots.append(("image_url", "image", "first_frame", image))
    if last_image is not None:
        slots.append(("image_url", "last_image", "last_frame", last_image))
    slots += [("image_url", f"reference_images[{i}]", "reference_image", v) for i, v in enumerate(reference_images)]
    slots += [("video_url", f"reference_videos[{i}]", "reference_video", v) for i, v in enumerate(reference_videos)]
    slots += [("audio_url", f"reference_audios[{i}]", "reference_audio", v) for i, v in enumerate(reference_audios)]
    for _, param, _, value in slots:
        if is_local(value):
            local_path(value, param)

    content: list[dict[str, Any]] = []
    if prompt:
        content.append({"type": "text", "text": prompt})
    for kind, param, role, value in slots:
        url = yield from ensure_ref(value, param)
        content.append({"type": kind, kind: {"url": url}, "role": role})
    if draft_task_id:
        content.append({"type": "draft_task", "draft_task": {"id": draft_task_id}})
    body = {"model": model, "content": content, **{k: v for k, v in options.items() if v is not None}}
    created = yield Call("POST", TASKS, json=body)
    return (yield from get(created["id"]))


def get(task_id: str) -> Flow[Task]:
    return Task.from_ark((yield Call("GET", f"{TASKS}/{task_id}")))


def list_tasks(
    *,
    page_num: int = 1,
    page_size: int = 20,
    status: str | None = None,
    model: str | None = None,
    task_ids: Sequence[str] = (),
) -> Flow[list[Task]]:
    params: list[tuple[str, str | int]] = [("page_num", page_num), ("page_size", page_size)]
    if status:
        params.append(("filter.status", status))
    if model:
        params.append(("filter.model", model))
    params += [("filter.task_ids", t) for t in task_ids]
    body = yield Call("GET", TASKS, params=params)
    return [Task.from_ark(item) for item in body.get("items", [])]


def delete(task_id: str) -> Flow[None]:
    yield Call("DELETE", f"{TASKS}/{task_id}")


def wait(task_id: str, *, timeout: float | None, poll_interval: float, notify: bool) -> Flow[Task]:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        task = yield from get(task_id)
        if task.status == "running" and task.progress is None:
            # Ark's task object has no progress; the OpenAI view of the same task does, for any task of this key.
            try:
                video = yield Call("GET", f"/v1/videos/{task_id}")
                if isinstance(video.get("progress"), int):
                    task.progress = video["progress"]
                if task.queue_position is None and isinstance(video.get("queue_position"), int):
                    task.queue_position = video["queue_position"]
            except SeedgateError as exc:
                if isinstance(exc, AuthenticationFailed) or exc.status == 0:
                    raise
        elif task.status == "queued":
            task.progress = 0 if task.progress is None else task.progress
            try:
                place = yield Call("GET", f"/v1/tasks/{task_id}/queue")
                if isinstance(place.get("queue_position"), int):
                    task.queue_position = place["queue_position"]
            except SeedgateError as exc:  # an older server without the route: no position, nothing else lost
                if isinstance(exc, AuthenticationFailed) or exc.status == 0:
                    raise
        if notify:
            yield Notify(task)
        if task.done:
            if task.succeeded:
                return task
            raise TaskFailed(task)
        if deadline is not None and time.monotonic() >= deadline:
            raise WaitTimeout(task_id, timeout or 0, task)
        yield Sleep(poll_interval)


def download(task: Task | str, path: str | os.PathLike[str], last_frame: bool = False) -> Flow[Path]:
    if isinstance(task, str) or not task.succeeded:
        task = yield from get(task if isinstance(task, str) else task.id)
    if not task.succeeded:
        raise SeedgateError(0, "TaskNotFinished", f"task {task.id} is {task.status}; only a succeeded task has a video")
    url = task.last_frame_url if last_frame else task.video_url
    if not url:
        what = "last frame (create the task with return_last_frame=True)" if last_frame else "video URL"
        raise SeedgateError(0, "NoResult", f"task {task.id} has no {what}")
    target = Path(path)
    yield Download(url, target)
    return target


def models() -> Flow[list[dict[str, Any]]]:
    body = yield Call("GET", "/v1/models")
    data: list[dict[str, Any]] = body.get("data", [])  # the server's JSON model objects
    return data


def usage(
    days: int | None,
    since: str | float | None,
    until: str | float | None,
    group_by: Sequence[str],
    key_id: str | None,
    tz_offset_min: int | None,
) -> Flow[dict[str, Any]]:
    params = {
        "days": days,
        "since": since,
        "until": until,
        "group_by": ",".join(group_by) or None,
        "key_id": key_id,
        "tz_offset_min": tz_offset_min,
    }
    body: dict[str, Any] = yield Call("GET", "/v1/usage", params={k: v for k, v in params.items() if v is not None})
    return body


def run_sync(flow: Flow[T], do: Callable[[Step], Any]) -> T:
    """Drive a flow with `do(step) -> result`; errors of a step are thrown into the flow so it may handle them."""
    result: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = flow.throw(error) if error is not None else flow.send(result)
        except StopIteration as stop:
            value: T = stop.value  # StopIteration carries the flow's return value untyped; Flow[T] says it is a T
            return value
        result, error = None, None
        try:
            result = do(step)
        except SeedgateError as exc:
            error = exc


def part_path(path: Path) -> Path:
    """Where a download is written before it is complete, so `path` never holds half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.part")
