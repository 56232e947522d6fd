"""The `diffusers` engine: loads each configured pipeline once, keeps it warm, renders one task per device at a time.

With pipelines.py and cfg.py, the only modules of the package that import torch and diffusers (the `gpu` extra);
the registry imports it only when a process runs this engine.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np
import torch

from seedgate.engines.base import ProgressFn, RenderCancelled, RenderFailed, RenderJob, RenderResult, StopFn

from .config import LocalModels, LocalModelsError
from .pipelines import LoadedPipeline
from .weights import missing_parts
from .writer import audio_track, write_clip

log = logging.getLogger("seedgate.engines.diffusers")

# Share of the progress bar spent denoising; decoding and encoding the MP4 take the rest.
_DENOISE_SHARE = 0.9


class DiffusersEngine:
    """Open-weights video models through diffusers pipelines (see docs/local-models.md)."""

    name = "diffusers"
    notice = ""

    def __init__(self, local: LocalModels) -> None:
        problems = [
            f"pipeline {p.name!r} ({p.path}): missing {', '.join(missing)}"
            for p in local.pipelines
            if (missing := missing_parts(p.path))
        ]
        if problems:
            raise LocalModelsError(
                "incomplete local model weights (nothing is downloaded at run time):\n  " + "\n  ".join(problems)
            )
        self.local = local
        self.pipelines: dict[str, LoadedPipeline] = {}
        for config in local.pipelines:
            started = time.monotonic()
            self.pipelines[config.name] = LoadedPipeline(config)
            log.info(
                "loaded pipeline %s (%s) from %s on %s in %.1f s",
                config.name,
                config.family,
                config.path,
                self.pipelines[config.name].device,
                time.monotonic() - started,
            )
        # One render per device at a time: two tasks sharing a GPU would only fight over its memory.
        self._locks: dict[str, threading.Lock] = {}
        for loaded in self.pipelines.values():
            self._locks.setdefault(str(loaded.device), threading.Lock())

    def render(self, job: RenderJob, progress: ProgressFn, should_stop: StopFn) -> RenderResult:
        config = self.local.find(job.model, job.mode)
        if config is None:
            raise RenderFailed(
                f"no local pipeline serves {job.model} in {job.mode.replace('_', ' ')} mode", code="InvalidParameter"
            )
        loaded = self.pipelines[config.name]
        lock = self._locks[str(loaded.device)]
        while not lock.acquire(timeout=0.5):
            if should_stop():
                raise RenderCancelled(job.task_id)
        try:
            video, audio = self._generate(loaded, job, progress, should_stop)
        finally:
            lock.release()
        clip_audio = None
        if audio is not None and job.generate_audio:
            samples, rate = audio
            clip_audio = audio_track(samples, rate, job.frames / job.fps)

        def encode_progress(fraction: float) -> None:
            progress(_DENOISE_SHARE + (1 - _DENOISE_SHARE) * fraction)

        try:
            video_path, last_path = write_clip(
                job,
                video,
                interpolation=config.interpolation,
                audio=clip_audio,
                progress=encode_progress,
                should_stop=should_stop,
            )
        except MemoryError as exc:
            raise _out_of_memory_failure(exc, job, config.name) from exc
        progress(1.0)
        return RenderResult(
            video_path=video_path, last_frame_path=last_path, frames=job.frames, has_audio=clip_audio is not None
        )

    def _generate(
        self, loaded: LoadedPipeline, job: RenderJob, progress: ProgressFn, should_stop: StopFn
    ) -> tuple[np.ndarray, tuple[np.ndarray, int] | None]:
        steps_done = [0]
        total = loaded.config.num_steps

        def on_step_end(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            # Raising here is the only way to stop a diffusers call between steps; the worker requeues or drops it.
            if should_stop():
                raise RenderCancelled(job.task_id)
            steps_done[0] += 1
            progress(_DENOISE_SHARE * min(1.0, steps_done[0] / total))
            return kwargs

        if should_stop():
            raise RenderCancelled(job.task_id)
        try:
            return loaded.generate(job, on_step_end)
        except (RenderCancelled, RenderFailed):
            raise
        except (MemoryError, RuntimeError) as exc:
            if not _out_of_memory(exc):
                raise
            raise _out_of_memory_failure(exc, job, loaded.config.name) from exc
        except (ValueError, TypeError) as exc:
            # diffusers checks its inputs with ValueError/TypeError: that is a task problem, not a crash.
            raise RenderFailed(f"{loaded.config.name} cannot render this task: {exc}", code="InvalidParameter") from exc


def _out_of_memory(exc: BaseException) -> bool:
    # torch's CPU allocator reports a failed allocation as a plain RuntimeError.
    return isinstance(exc, (MemoryError, torch.OutOfMemoryError)) or "can't allocate memory" in str(exc)


def _out_of_memory_failure(exc: BaseException, job: RenderJob, pipeline: str) -> RenderFailed:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    where = "GPU memory" if isinstance(exc, torch.OutOfMemoryError) else "memory"
    return RenderFailed(
        f"out of {where} rendering {job.width}x{job.height}, {job.frames} frames on {pipeline}; "
        "try a shorter or smaller clip, or set offload/vae_tiling for this pipeline",
        code="InternalServiceError",
    )
