"""What each pipeline family can do, as data: modes, frame grid, spatial multiple, native rate and defaults.

Kept free of torch so the API node can refuse a mode at create time without loading any model.
"""

from __future__ import annotations

from dataclasses import dataclass

# Wan's published default negative prompt (Wan-Video/Wan2.1:wan/configs/shared_config.py), in English.
WAN_NEGATIVE = (
    "bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, images, "
    "static, overall gray, worst quality, low quality, JPEG compression residue, ugly, incomplete, "
    "extra fingers, poorly drawn hands, poorly drawn faces, deformed, disfigured, misshapen limbs, "
    "fused fingers, still picture, messy background, three legs, many people in the background, "
    "walking backwards"
)
# LTX-Video's recommended negative prompt (Lightricks/LTX-Video README).
LTX_NEGATIVE = "worst quality, inconsistent motion, blurry, jittery, distorted"


@dataclass(frozen=True)
class Family:
    name: str
    pipeline: str  # the diffusers class the weights directory is loaded as
    modes: tuple[str, ...]  # seedgate modes this family can render
    frame_step: int  # native frame counts are frame_step * k + 1
    multiple: int  # width and height must be multiples of this (VAE stride x patch size)
    native_fps: int
    steps: int
    guidance: float
    negative_prompt: str
    audio: bool = False
    # seedgate "reference" means reference images for VACE and a source video to extend for the others.
    reference_kind: str | None = None  # image | video


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("wan-t2v", "WanPipeline", ("text",), 4, 16, 16, 50, 5.0, WAN_NEGATIVE),
        Family("wan-i2v", "WanImageToVideoPipeline", ("first_frame",), 4, 16, 16, 40, 5.0, WAN_NEGATIVE),
        Family("wan-flf2v", "WanImageToVideoPipeline", ("first_last_frame",), 4, 16, 16, 40, 5.0, WAN_NEGATIVE),
        # TI2V-5B: one checkpoint for text and first frame, 24 fps, VAE stride 16 x patch 2.
        Family("wan-ti2v", "WanPipeline", ("text", "first_frame"), 4, 32, 24, 50, 5.0, WAN_NEGATIVE),
        Family(
            "wan-vace",
            "WanVACEPipeline",
            ("text", "reference"),
            4,
            16,
            16,
            50,
            5.0,
            WAN_NEGATIVE,
            reference_kind="image",
        ),
        Family(
            "ltx-condition",
            "LTXConditionPipeline",
            ("text", "first_frame", "first_last_frame", "reference"),
            8,
            32,
            24,
            40,
            3.0,
            LTX_NEGATIVE,
            reference_kind="video",
        ),
        Family("ltx2-audio", "LTX2Pipeline", ("text", "first_frame"), 8, 32, 24, 40, 4.0, LTX_NEGATIVE, audio=True),
        Family(
            "skyreels-df",
            "SkyReelsV2DiffusionForcingPipeline",
            ("text", "reference"),
            4,
            16,
            24,
            30,
            6.0,
            WAN_NEGATIVE,
            reference_kind="video",
        ),
    )
}


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown pipeline family {name!r}; known: {', '.join(FAMILIES)}") from None
