"""`AsyncClient`: the same operations as `Client`, awaitable, on httpx.AsyncClient."""

from __future__ import annotations

import asyncio
import builtins
import inspect
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from . import core
from .core import Call, Download, MediaInput, Notify, Sleep, Step
from .errors import ConnectionFailed, SeedgateError
from .models import Asset, Task

T = TypeVar("T")

# A plain function or a coroutine function; either is called with each polled Task.
ProgressCallback = Callable[[Task], object]


class AsyncClient:
    """A seedgate server's task and asset API. URL and key default to `SEEDGATE_URL` and `SEEDGATE_API_KEY`."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *, timeout: float = 60.0) -> None:
        self.base_url, self.api_key = core.settings(base_url, api_key)
        self._auth = core.headers(self.api_key)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, headers={"User-Agent": self._auth["User-Agent"]}
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- tasks ------------------------------------------------------------------------------------------------------

    async def create(
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
        return await self._run(
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

    async def get(self, task_id: str) -> Task:
        return await self._run(core.get(task_id))

    async def list(
        self,
        *,
        page_num: int = 1,
        page_size: int = 20,
        status: str | None = None,
        model: str | None = None,
        task_ids: Sequence[str] = (),
    ) -> list[Task]:
        return await self._run(
            core.list_tasks(page_num=page_num, page_size=page_size, status=status, model=model, task_ids=task_ids)
        )

    async def wait(
        self,
        task_id: str,
        *,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
        poll_interval: float = 1.0,
    ) -> Task:
        """Poll until the task finishes; returns it when succeeded, raises `TaskFailed` otherwise."""
        return await self._run(
            core.wait(task_id, timeout=timeout, poll_interval=poll_interval, notify=on_progress is not None),
            on_progress,
        )

    async def download(self, task: Task | str, path: str | os.PathLike[str], *, last_frame: bool = False) -> Path:
        """Save the task's video (or last frame PNG) to `path`."""
        return await self._run(core.download(task, path, last_frame))

    async def cancel(self, task_id: str) -> None:
        """Cancel a queued task; a finished task is deleted (the server answers 409 for a running one)."""
        await self._run(core.delete(task_id))

    delete = cancel

    # -- assets and models ------------------------------------------------------------------------------------------

    async def upload_asset(
        self, source: MediaInput, name: str | None = None, *, kind: str | None = None, wait: bool = True
    ) -> Asset:
        """Create an asset from a local file or URL; by default waits until its audit says ready."""

        def flow() -> core.Flow[Asset]:
            asset = yield from core.upload_asset(source, name, kind)
            return (yield from core.wait_asset(asset)) if wait else asset

        return await self._run(flow())

    async def get_asset(self, asset_id: str) -> Asset:
        return await self._run(core.get_asset(asset_id))

    async def list_assets(
        self, *, limit: int = 20, offset: int = 0, status: str | None = None, kind: str | None = None
    ) -> builtins.list[Asset]:
        return await self._run(core.list_assets(limit, offset, status, kind))

    async def delete_asset(self, asset_id: str) -> None:
        await self._run(core.delete_asset(asset_id))

    async def models(self) -> builtins.list[dict[str, Any]]:
        return await self._run(core.models())

    async def usage(
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
        return await self._run(core.usage(days, since, until, group_by, key_id, tz_offset_min))

    # -- driver -----------------------------------------------------------------------------------------------------

    async def _run(self, flow: core.Flow[T], on_progress: ProgressCallback | None = None) -> T:
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
                result = await self._do(step, on_progress)
            except SeedgateError as exc:
                error = exc

    async def _do(self, step: Step, on_progress: ProgressCallback | None) -> Any:
        if isinstance(step, Call):
            return await self._call(step)
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
        elif isinstance(step, Notify) and on_progress is not None:
            outcome = on_progress(step.task)
            if inspect.isawaitable(outcome):
                await outcome
        elif isinstance(step, Download):
            await self._download(step)
        return None

    async def _call(self, call: Call) -> Any:
        try:
            if call.file is not None:
                # httpx streams a sync file object in an async request; reading a local file does not block long.
                with call.file.open("rb") as handle:
                    response = await self._http.request(
                        call.method,
                        call.path,
                        data=call.data,
                        files={"file": (call.file.name, handle)},
                        headers=self._auth,
                    )
            else:
                response = await self._http.request(
                    call.method, call.path, params=call.params, json=call.json, headers=self._auth
                )
        except httpx.HTTPError as exc:
            raise ConnectionFailed(f"cannot reach {self.base_url}: {exc or type(exc).__name__}") from None
        return core.parse_response(response.status_code, response.content)

    async def _download(self, step: Download) -> None:
        part = core.part_path(step.path)
        try:
            async with self._http.stream("GET", step.url) as response:
                if response.status_code != 200:
                    await response.aread()
                    core.parse_response(response.status_code, response.content)
                with part.open("wb") as out:
                    async for chunk in response.aiter_bytes(1 << 20):
                        out.write(chunk)
            part.replace(step.path)
        except httpx.HTTPError as exc:
            raise ConnectionFailed(f"download of {step.url} failed: {exc or type(exc).__name__}") from None
        finally:
            part.unlink(missing_ok=True)
