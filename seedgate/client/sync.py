"""`Client`: the blocking client, on httpx.Client."""

from __future__ import annotations

import builtins
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from . import core
from .core import Call, Download, MediaInput, Notify, Sleep, Step
from .errors import ConnectionFailed
from .models import Asset, Task

T = TypeVar("T")

ProgressCallback = Callable[[Task], object]


class Client:
    """A seedgate server's task and asset API. URL and key default to `SEEDGATE_URL` and `SEEDGATE_API_KEY`."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *, timeout: float = 60.0) -> None:
        self.base_url, self.api_key = core.settings(base_url, api_key)
        self._auth = core.headers(self.api_key)
        # The key goes only to API calls, never to result links (signed URLs, possibly on another host).
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, headers={"User-Agent": self._auth["User-Agent"]}
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- tasks ------------------------------------------------------------------------------------------------------

    def create(
        self,
        prompt: str | None = None,
        *,
        model: str = core.DEFAULT_MODEL,
        image: MediaInput | None = None,
        last_image: MediaInput | None = None,
        reference_images: Sequence[MediaInput] = (),
        reference_videos: Sequence[MediaInput] = (),
        reference_audios: Sequence[MediaInput] = (),
        resolution: str | None = None,
        ratio: str | None = None,
        duration: int | None = None,
        seed: int | None = None,
        generate_audio: bool | None = None,
        draft: bool | None = None,
        return_last_frame: bool | None = None,
        callback_url: str | None = None,
        draft_task_id: str | None = None,
        **extra: Any,
    ) -> Task:
        """Create a task. Media may be URLs, `asset://` references, asset IDs or local files (uploaded first)."""
        options = dict(
            resolution=resolution,
            ratio=ratio,
            duration=duration,
            seed=seed,
            generate_audio=generate_audio,
            draft=draft,
            return_last_frame=return_last_frame,
            callback_url=callback_url,
            **extra,
        )
        return self._run(
            core.create(
                prompt,
                model=model,
                image=image,
                last_image=last_image,
                reference_images=reference_images,
                reference_videos=reference_videos,
                reference_audios=reference_audios,
                draft_task_id=draft_task_id,
                options=options,
            )
        )

    def get(self, task_id: str) -> Task:
        return self._run(core.get(task_id))

    def list(
        self,
        *,
        page_num: int = 1,
        page_size: int = 20,
        status: str | None = None,
        model: str | None = None,
        task_ids: Sequence[str] = (),
    ) -> list[Task]:
        return self._run(
            core.list_tasks(page_num=page_num, page_size=page_size, status=status, model=model, task_ids=task_ids)
        )

    def wait(
        self,
        task_id: str,
        *,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
        poll_interval: float = 1.0,
    ) -> Task:
        """Poll until the task finishes; returns it when succeeded, raises `TaskFailed` otherwise."""
        return self._run(
            core.wait(task_id, timeout=timeout, poll_interval=poll_interval, notify=on_progress is not None),
            on_progress,
        )

    def download(self, task: Task | str, path: str | os.PathLike[str], *, last_frame: bool = False) -> Path:
        """Save the task's video (or last frame PNG) to `path`."""
        return self._run(core.download(task, path, last_frame))

    def cancel(self, task_id: str) -> None:
        """Cancel a queued task; a finished task is deleted (the server answers 409 for a running one)."""
        self._run(core.delete(task_id))

    delete = cancel

    # -- assets and models ------------------------------------------------------------------------------------------

    def upload_asset(
        self, source: MediaInput, name: str | None = None, *, kind: str | None = None, wait: bool = True
    ) -> Asset:
        """Create an asset from a local file or URL; by default waits until its audit says ready."""

        def flow() -> core.Flow[Asset]:
            asset = yield from core.upload_asset(source, name, kind)
            return (yield from core.wait_asset(asset)) if wait else asset

        return self._run(flow())

    def get_asset(self, asset_id: str) -> Asset:
        return self._run(core.get_asset(asset_id))

    def list_assets(
        self, *, limit: int = 20, offset: int = 0, status: str | None = None, kind: str | None = None
    ) -> builtins.list[Asset]:
        return self._run(core.list_assets(limit, offset, status, kind))

    def delete_asset(self, asset_id: str) -> None:
        self._run(core.delete_asset(asset_id))

    def models(self) -> builtins.list[dict[str, Any]]:
        return self._run(core.models())

    def usage(
        self,
        *,
        days: int | None = None,
        since: str | float | None = None,
        until: str | float | None = None,
        group_by: Sequence[str] = ("day", "model"),
        key_id: str | None = None,
        tz_offset_min: int | None = None,
    ) -> dict[str, Any]:
        """What keys made and spent (`GET /v1/usage`): tasks by status, video seconds, tokens and cost per currency,
        grouped by any of day, model, key; the last `days` days (today included) or since/until (unix seconds or
        ISO 8601). An admin key may ask for another key's usage (`key_id`) or everyone's (`key_id="all"`)."""
        return self._run(core.usage(days, since, until, group_by, key_id, tz_offset_min))

    # -- driver -----------------------------------------------------------------------------------------------------

    def _run(self, flow: core.Flow[T], on_progress: ProgressCallback | None = None) -> T:
        return core.run_sync(flow, lambda step: self._do(step, on_progress))

    def _do(self, step: Step, on_progress: ProgressCallback | None) -> Any:
        if isinstance(step, Call):
            return self._call(step)
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
        elif isinstance(step, Notify) and on_progress is not None:
            on_progress(step.task)
        elif isinstance(step, Download):
            self._download(step)
        return None

    def _call(self, call: Call) -> Any:
        try:
            if call.file is not None:
                with call.file.open("rb") as handle:
                    response = self._http.request(
                        call.method,
                        call.path,
                        data=call.data,
                        files={"file": (call.file.name, handle)},
                        headers=self._auth,
                    )
            else:
                response = self._http.request(
                    call.method, call.path, params=call.params, json=call.json, headers=self._auth
                )
        except httpx.HTTPError as exc:
            raise ConnectionFailed(f"cannot reach {self.base_url}: {exc or type(exc).__name__}") from None
        return core.parse_response(response.status_code, response.content)

    def _download(self, step: Download) -> None:
        part = core.part_path(step.path)
        try:
            with self._http.stream("GET", step.url) as response:
                if response.status_code != 200:
                    response.read()
                    core.parse_response(response.status_code, response.content)
                with part.open("wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        out.write(chunk)
            part.replace(step.path)
        except httpx.HTTPError as exc:
            raise ConnectionFailed(f"download of {step.url} failed: {exc or type(exc).__name__}") from None
        finally:
            part.unlink(missing_ok=True)
