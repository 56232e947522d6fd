"""Preview engine: a model-free CPU stand-in that writes real, deterministic H.264 MP4s.

It does not generate anything: it draws a plausible placeholder (a gradient scene with the prompt, or
the caller's images animated with a Ken Burns camera) so that app developers can exercise their whole
pipeline, including audio, watermark and last-frame handling, without a GPU.

One concept per module: engine.py (validation, the encode loop and its frame thread), scenes.py (one scene per
mode), camera.py (eased moves over a plate), backdrop.py and sprites.py (what the text scene draws), text.py (the
prompt caption and its fonts), inputs.py (the caller's images and videos), audio.py (the soundtrack), seeds.py and
geometry.py (seeded randomness, even sizes). The MP4 itself is written by seedgate.media.encode, shared with the
local engine.

Speed notes (the engine is benchmarked against a raw libx264 encode of the same frames):
- everything is composed directly in planar yuv420p, so no per-frame RGB->YUV conversion is needed;
  stills are converted once with swscale, overlays are pre-multiplied once and blended in uint16;
- camera motion crops an integer window out of a pre-fitted plate and lets swscale resample it (the
  text scene only pans, so its window is a plain copy);
- frames are produced on a helper thread while the main thread encodes, which hides most of the drawing cost
  behind the encoder.
"""

from __future__ import annotations

from .engine import PreviewEngine, iter_scene_frames

__all__ = ["PreviewEngine", "iter_scene_frames"]
