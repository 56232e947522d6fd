"""Test media made on the spot: images with Pillow, videos and audio with PyAV."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image


def image_bytes(width: int, height: int, color: tuple[int, int, int] = (200, 80, 40), fmt: str = "PNG") -> bytes:
    x = np.linspace(0, 255, width, dtype=np.uint8)
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[..., 0] = color[0]
    pixels[..., 1] = x[None, :]
    pixels[..., 2] = color[2]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def video_bytes(
    path: Path, width: int = 640, height: int = 640, seconds: float = 3, fps: int = 24, with_audio: bool = False
) -> bytes:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(int(seconds * fps)):
            frame = np.full((height, width, 3), (i * 5) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes()


def wav_bytes(path: Path, seconds: float = 3, rate: int = 48000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    with av.open(str(path), "w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes()


@dataclass
class VideoFacts:
    codec: str
    width: int
    height: int
    fps: float
    frames: int
    duration: float
    pix_fmt: str
    audio_channels: int | None


def inspect_video(data: bytes) -> VideoFacts:
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        frames = sum(1 for _ in container.decode(video=0))
        duration = float(container.duration / av.time_base) if container.duration else 0.0
        return VideoFacts(
            codec=video.codec_context.name,
            width=video.codec_context.width,
            height=video.codec_context.height,
            fps=float(video.average_rate),
            frames=frames,
            duration=duration,
            pix_fmt=video.codec_context.pix_fmt,
            audio_channels=audio.codec_context.channels if audio else None,
        )
