"""The soundtrack: the caller's reference audio looped or trimmed to the clip, or a soft seeded chord progression."""

from __future__ import annotations

import math

import av
import numpy as np

from seedgate.engines.base import MediaInput, RenderFailed, RenderJob
from seedgate.media.encode import AUDIO_RATE

from .inputs import media_error
from .seeds import seeded_rng


def soundtrack(job: RenderJob) -> np.ndarray:
    """Mono float32 at AUDIO_RATE, exactly as long as the video."""
    samples = int(round(job.frames * AUDIO_RATE / job.fps))
    refs = job.inputs_with_role("reference_audio")
    if refs:
        return _load_audio(refs[0], samples)
    return _synth_audio(job.seed, job.prompt, samples)


def _load_audio(item: MediaInput, samples: int) -> np.ndarray:
    """Decode to 48 kHz mono float32, then loop or trim to exactly `samples`."""
    chunks: list[np.ndarray] = []
    try:
        with av.open(str(item.path)) as container:
            if not container.streams.audio:
                raise ValueError("no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
            have = 0
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
                    have += chunks[-1].size
                if have >= samples:
                    break
            else:
                for out in resampler.resample(None):
                    chunks.append(out.to_ndarray().reshape(-1))
    except Exception as exc:
        raise media_error(item, "audio", exc) from exc
    pcm = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if pcm.size < AUDIO_RATE // 50:
        raise RenderFailed(f"{item.role} audio has no decodable samples ({item.path.name})", "InvalidParameter")
    if pcm.size < samples:
        # Short fades at the loop seam avoid a click every repetition.
        fade = min(pcm.size // 4, AUDIO_RATE // 100)
        if fade:
            ramp = np.linspace(0, 1, fade, dtype=np.float32)
            pcm = pcm.copy()
            pcm[:fade] *= ramp
            pcm[-fade:] *= ramp[::-1]
        pcm = np.tile(pcm, samples // pcm.size + 1)
    pcm = pcm[:samples].copy()
    fade = min(samples // 4, AUDIO_RATE // 20)
    if fade:
        pcm[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    return np.clip(pcm, -1.0, 1.0)


def _synth_audio(seed: int, prompt: str, samples: int) -> np.ndarray:
    """A soft, seed-dependent chord progression; quiet enough to be unobtrusive."""
    rng = seeded_rng("audio", seed, prompt)
    # float32 halves the cost; its phase error over a 15 s clip is far below audibility.
    t = np.arange(samples, dtype=np.float32) / np.float32(AUDIO_RATE)
    root = 110.0 * 2 ** (int(rng.integers(0, 12)) / 12)  # A2..G#3
    minor = bool(rng.random() < 0.5)
    progression = [0, 7, 9, 5] if not minor else [0, 8, 3, 10]
    offset = int(rng.integers(0, 4))
    chord_len = 2.0
    out = np.zeros(samples, dtype=np.float32)
    n_chords = int(math.ceil(samples / AUDIO_RATE / chord_len)) + 1
    for k in range(n_chords):
        step = progression[(k + offset) % len(progression)]
        third = 3 if minor else 4
        # Each chord fades in/out over half a second so the changes are smooth.
        mid = k * chord_len + chord_len / 2
        half = chord_len / 2 + 0.5
        lo = max(0, int((mid - half) * AUDIO_RATE))
        hi = min(samples, int((mid + half) * AUDIO_RATE) + 1)
        phases = rng.uniform(0, 2 * np.pi, 4)
        if lo >= hi:
            continue
        seg = t[lo:hi]
        env = np.clip(1.0 - np.abs(seg - mid) / half, 0, 1)
        for (semis, gain), phase in zip(((0, 0.5), (third, 0.35), (7, 0.35), (12, 0.2)), phases, strict=True):
            f = root * 2 ** ((step + semis) / 12) * 2
            out[lo:hi] += np.float32(gain) * env * np.sin(np.float32(2 * np.pi * f) * seg + np.float32(phase))
    tremolo = 0.85 + 0.15 * np.sin(2 * np.pi * float(rng.uniform(0.2, 0.6)) * t)
    out *= tremolo
    attack = np.clip(t / 0.25, 0, 1)
    release = np.clip((samples / AUDIO_RATE - t) / 0.4, 0, 1)
    out *= attack * release
    peak = float(np.max(np.abs(out))) or 1.0
    return (out * (0.25 / peak)).astype(np.float32)
