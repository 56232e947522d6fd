"""Writes model output as the MP4 the API promises: exact catalog size, 24 fps, optional AAC audio.

Uses the encoder settings and watermark every engine shares (seedgate.media.encode, .watermark), so every engine's
files look alike to clients.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from seedgate.engines.base import RenderCancelled, RenderJob
from seedgate.media.encode import AUDIO_RATE, audio_frame, frame_views, open_h264_output, planes_to_frame, rgb_to_planes
from seedgate.media.watermark import watermark_overlay

from .frames import cover, resample, to_uint8

_AUDIO_CHUNK = 1024  # the AAC frame size


def audio_track(samples: np.ndarray, rate: int, seconds: float) -> np.ndarray:
    """Mono float32 at the engine's output rate, cut or padded to the clip's length."""
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim > 1:
        # (channels, samples) from LTX-2's vocoder; the smaller axis is the channels.
        data = data.mean(axis=int(np.argmin(data.shape)))
    target = int(round(seconds * AUDIO_RATE))
    if rate != AUDIO_RATE and data.size > 1:
        positions = np.linspace(0, data.size - 1, max(1, int(round(data.size * AUDIO_RATE / rate))))
        data = np.interp(positions, np.arange(data.size), data).astype(np.float32)
    out = np.zeros(target, dtype=np.float32)
    out[: min(target, data.size)] = data[:target]
    return np.clip(out, -1.0, 1.0)


def write_clip(
    job: RenderJob,
    video: np.ndarray,
    *,
    interpolation: str,
    audio: np.ndarray | None,
    progress: Callable[[float], None],
    should_stop: Callable[[], bool],
) -> tuple[Path, Path | None]:
    """Encode (N, H, W, 3) float frames in [0, 1] to `job.output_dir`/video.mp4; returns (video, last frame)."""
    frames = resample(video, job.frames, interpolation)
    out_dir = Path(job.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    video_path, part_path = out_dir / "video.mp4", out_dir / "video.mp4.part"
    last_path = out_dir / "last_frame.png" if job.return_last_frame else None
    mark = watermark_overlay(job.width, job.height) if job.watermark else None
    container, vstream, astream = open_h264_output(part_path, job.width, job.height, job.fps, audio=audio is not None)
    try:
        for index in range(job.frames):
            if index % 8 == 0 and should_stop():
                raise RenderCancelled(job.task_id)
            image = cover(Image.fromarray(to_uint8(frames[index])), job.width, job.height)
            if last_path is not None and index == job.frames - 1:
                # Before the watermark: the last frame is meant to seed the next clip.
                image.save(last_path, format="PNG", compress_level=1)
            frame = planes_to_frame(rgb_to_planes(image))
            if mark is not None:
                overlay, x, y = mark
                overlay.blend(frame_views(frame), x, y)
            frame.pts, frame.time_base = index, Fraction(1, job.fps)
            container.mux(vstream.encode(frame))
            progress(index / job.frames)
        container.mux(vstream.encode(None))
        if astream is not None and audio is not None:
            for start in range(0, audio.size, _AUDIO_CHUNK):
                container.mux(astream.encode(audio_frame(audio[start : start + _AUDIO_CHUNK], start)))
            container.mux(astream.encode(None))
    except BaseException:
        with contextlib.suppress(Exception):
            container.close()
        part_path.unlink(missing_ok=True)
        if last_path is not None:
            last_path.unlink(missing_ok=True)
        raise
    container.close()
    part_path.replace(video_path)
    return video_path, last_path
