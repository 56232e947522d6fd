"""The engine: validate the job, build its scene and soundtrack, and encode while a helper thread draws the frames.

Frames are produced on a helper thread while the main thread encodes (swscale, numpy and libx264 all release the
GIL), which hides most of the drawing cost behind the encoder.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

import av
import numpy as np

from seedgate.engines.base import ProgressFn, RenderCancelled, RenderFailed, RenderJob, RenderResult, StopFn
from seedgate.media.encode import AUDIO_RATE, audio_frame, frame_views, open_h264_output, to_image
from seedgate.media.overlay import Overlay
from seedgate.media.watermark import label_overlay, watermark_overlay

from .audio import soundtrack
from .scenes import Scene, build_scene

# Frames between should_stop()/progress() calls: cheap enough to poll, rare enough not to matter.
_POLL_EVERY = 4


@lru_cache(maxsize=8)
def preview_label_overlay(width: int, height: int) -> tuple[Overlay, int, int]:
    """The small "seedgate preview" mark in the top-left corner of every preview video, whatever the mode, so a
    downloaded MP4 says it is a stand-in (read-only, so cached per size)."""
    size = max(10, min(width, height) // 36)
    margin = max(4, min(width, height) // 40)
    return label_overlay("seedgate preview", size, 0.8), margin, margin


class PreviewEngine:
    """Deterministic placeholder renderer; see the package docstring."""

    name = "preview"
    notice = "preview engine: a deterministic stand-in video, not a generative model"

    def render(self, job: RenderJob, progress: ProgressFn, should_stop: StopFn) -> RenderResult:
        self._validate(job)
        if should_stop():
            raise RenderCancelled(job.task_id)
        scene = build_scene(job)
        audio = soundtrack(job) if job.generate_audio else None
        if should_stop():
            raise RenderCancelled(job.task_id)

        out_dir = Path(job.output_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        video_path = out_dir / "video.mp4"
        # faststart rewrites the file at close; a .part name keeps half-written files out of sight.
        part_path = out_dir / "video.mp4.part"
        last_path = out_dir / "last_frame.png" if job.return_last_frame else None
        watermark = watermark_overlay(job.width, job.height) if job.watermark else None

        try:
            self._encode(job, scene, audio, watermark, part_path, last_path, progress, should_stop)
        except BaseException as exc:
            part_path.unlink(missing_ok=True)
            if last_path is not None:
                last_path.unlink(missing_ok=True)
            if isinstance(exc, av.error.FFmpegError):
                raise RenderFailed(f"preview encoding failed: {exc}") from exc
            raise
        part_path.replace(video_path)
        progress(1.0)
        return RenderResult(
            video_path=video_path,
            last_frame_path=last_path,
            frames=job.frames,
            has_audio=audio is not None,
        )

    @staticmethod
    def _validate(job: RenderJob) -> None:
        if job.width < 2 or job.height < 2 or job.width % 2 or job.height % 2:
            raise RenderFailed(
                f"preview engine needs an even width and height, got {job.width}x{job.height}",
                code="InvalidParameter",
            )
        if job.frames < 1 or job.fps < 1:
            raise RenderFailed(f"invalid frames={job.frames} fps={job.fps}", code="InvalidParameter")
        if job.mode not in ("text", "first_frame", "first_last_frame", "reference"):
            raise RenderFailed(f"unknown mode {job.mode!r}", code="InvalidParameter")

    def _encode(
        self,
        job: RenderJob,
        scene: Scene,
        audio: np.ndarray | None,
        watermark: tuple[Overlay, int, int] | None,
        part_path: Path,
        last_path: Path | None,
        progress: ProgressFn,
        should_stop: StopFn,
    ) -> None:
        container, vstream, astream = open_h264_output(
            part_path, job.width, job.height, job.fps, audio=audio is not None
        )
        time_base = Fraction(1, job.fps)
        audio_pos = 0
        audio_chunk = 1024  # the AAC frame size; feeding whole frames avoids re-buffering
        stop = threading.Event()
        frames_q: queue.Queue[Any] = queue.Queue(maxsize=6)
        producer = threading.Thread(
            target=self._produce,
            args=(job, scene, watermark, last_path, frames_q, stop),
            name=f"preview-frames-{job.task_id}",
            daemon=True,
        )
        producer.start()
        try:
            for index in range(job.frames):
                item = frames_q.get()
                if isinstance(item, BaseException):
                    raise item
                frame = item
                frame.pts = index
                frame.time_base = time_base
                for packet in vstream.encode(frame):
                    container.mux(packet)
                if astream is not None and audio is not None:
                    target = min(audio.size, int((index + 1) * AUDIO_RATE / job.fps))
                    while audio_pos < target:
                        chunk = audio[audio_pos : audio_pos + audio_chunk]
                        for packet in astream.encode(audio_frame(chunk, audio_pos)):
                            container.mux(packet)
                        audio_pos += chunk.size
                if (index + 1) % _POLL_EVERY == 0 and index + 1 < job.frames:
                    if should_stop():
                        raise RenderCancelled(job.task_id)
                    progress(0.99 * (index + 1) / job.frames)
            for packet in vstream.encode(None):
                container.mux(packet)
            if astream is not None:
                for packet in astream.encode(None):
                    container.mux(packet)
        except BaseException:
            stop.set()
            with contextlib.suppress(queue.Empty):
                while True:
                    frames_q.get_nowait()
            producer.join()
            with contextlib.suppress(Exception):
                container.close()
            raise
        producer.join()
        container.close()

    @staticmethod
    def _produce(
        job: RenderJob,
        scene: Scene,
        watermark: tuple[Overlay, int, int] | None,
        last_path: Path | None,
        frames_q: queue.Queue[Any],
        stop: threading.Event,
    ) -> None:
        def put(item: Any) -> bool:
            while not stop.is_set():
                try:
                    frames_q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for frame in _scene_frames(job, scene, watermark, last_path):
                if stop.is_set() or not put(frame):
                    return
        except BaseException as exc:  # handed to the encoding thread, which re-raises it
            put(exc)


def _scene_frames(
    job: RenderJob, scene: Scene, watermark: tuple[Overlay, int, int] | None, last_path: Path | None
) -> Iterator[av.VideoFrame]:
    denom = max(1, job.frames - 1)
    label, label_x, label_y = preview_label_overlay(job.width, job.height)
    for index in range(job.frames):
        frame = scene.render(index / denom)
        if last_path is not None and index == job.frames - 1:
            # Saved before the label and the watermark: the last frame is meant to seed the next clip.
            to_image(frame).save(last_path, format="PNG", compress_level=1)
        label.blend(frame_views(frame), label_x, label_y)
        if watermark is not None:
            overlay, x, y = watermark
            overlay.blend(frame_views(frame), x, y)
        yield frame


def iter_scene_frames(job: RenderJob) -> Iterator[av.VideoFrame]:
    """Yield the frames the engine would encode for `job` (label and watermark included), without encoding.

    Used by the benchmark to build the raw-encode ceiling from identical pixels.
    """
    watermark = watermark_overlay(job.width, job.height) if job.watermark else None
    yield from _scene_frames(job, build_scene(job), watermark, None)
