"""The local engine's plain-Python parts (no torch): operator file, weight checks, catalog narrowing, frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seedgate.core.catalog import load_catalog
from seedgate.core.errors import ApiError
from seedgate.core.spec import MediaRef, TaskSpec
from seedgate.core.validation import validate
from seedgate.engines.local.config import LocalModelsError, parse_local_models
from seedgate.engines.local.frames import native_frame_count, native_size, resample
from seedgate.engines.local.serving import narrow_catalog
from seedgate.engines.local.weights import missing_parts

PIPELINE = """
[[pipeline]]
name = "t2v"
family = "wan-t2v"
path = "weights/t2v"
serves = { "wan2.1-14b" = ["text"] }
"""


def test_defaults_relative_paths_and_family_defaults(tmp_path: Path) -> None:
    local = parse_local_models('[defaults]\nsteps = 8\ndtype = "float16"\n' + PIPELINE, tmp_path)
    pipeline = local.pipelines[0]
    assert pipeline.path == tmp_path / "weights" / "t2v"
    assert (pipeline.num_steps, pipeline.dtype, pipeline.fps, pipeline.guidance_scale) == (8, "float16", 16, 5.0)
    assert local.find("wan2.1-14b", "text") is pipeline
    assert local.find("wan2.1-14b", "first_frame") is None
    assert local.modes_for("wan2.1-14b") == ("text",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (PIPELINE.replace("wan-t2v", "sora"), "unknown pipeline family 'sora'"),
        (PIPELINE.replace('["text"]', '["first_last_frame"]'), "family wan-t2v cannot render ['first_last_frame']"),
        (PIPELINE + 'offload = "gpu"\n', "offload must be one of"),
        (PIPELINE + "turbo = true\n", "unknown settings ['turbo']"),
        (PIPELINE.replace('path = "weights/t2v"\n', ""), "lacks 'path'"),
        (PIPELINE + PIPELINE, "pipeline names must be unique"),
        ("[[pipeline", "cannot parse"),
    ],
)
def test_mistakes_in_the_file_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(LocalModelsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_local_models(text, tmp_path)


def _weights_dir(root: Path) -> Path:
    (root / "transformer").mkdir(parents=True)
    (root / "transformer" / "config.json").write_text("{}")
    (root / "transformer" / "diffusion_pytorch_model.safetensors").write_bytes(b"x")
    (root / "scheduler").mkdir()
    (root / "scheduler" / "scheduler_config.json").write_text("{}")
    (root / "tokenizer").mkdir()
    (root / "tokenizer" / "tokenizer_config.json").write_text("{}")
    (root / "vae").mkdir()
    (root / "vae" / "config.json").write_text("{}")
    (root / "vae" / "diffusion_pytorch_model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"a": "part-1.safetensors", "b": "part-2.safetensors"}})
    )
    (root / "vae" / "part-1.safetensors").write_bytes(b"x")
    (root / "model_index.json").write_text(
        json.dumps(
            {
                "_class_name": "WanPipeline",
                "transformer": ["diffusers", "WanTransformer3DModel"],
                "transformer_2": [None, None],
                "scheduler": ["diffusers", "UniPCMultistepScheduler"],
                "tokenizer": ["transformers", "T5TokenizerFast"],
                "vae": ["diffusers", "AutoencoderKLWan"],
                "text_encoder": ["transformers", "UMT5EncoderModel"],
            }
        )
    )
    return root


def test_missing_parts_of_a_weights_directory_are_named(tmp_path: Path) -> None:
    assert missing_parts(tmp_path / "nowhere") == [f"the directory {tmp_path / 'nowhere'} itself"]
    assert missing_parts(tmp_path) == ["model_index.json"]
    root = _weights_dir(tmp_path / "wan")
    assert missing_parts(root) == ["vae/part-2.safetensors", "text_encoder/"]
    (root / "vae" / "part-2.safetensors").write_bytes(b"x")
    (root / "text_encoder").mkdir()
    (root / "text_encoder" / "config.json").write_text("{}")
    assert missing_parts(root) == ["text_encoder/ weights (*.safetensors)"]
    (root / "text_encoder" / "model.safetensors").write_bytes(b"x")
    assert missing_parts(root) == []


def _spec(model: str, *media: MediaRef) -> TaskSpec:
    return TaskSpec(model=model, prompt="a fox", media=list(media))


def test_the_catalog_is_narrowed_to_configured_modes(tmp_path: Path) -> None:
    catalog = narrow_catalog(load_catalog(), parse_local_models(PIPELINE, tmp_path))
    assert validate(_spec("wan2.1-14b"), catalog).engine == "diffusers"
    first = MediaRef(kind="image", url="https://example.com/a.png")
    with pytest.raises(ApiError) as caught:
        validate(_spec("wan2.1-14b", first), catalog)
    assert caught.value.param == "content"
    assert "no local pipeline configured for first frame generation" in caught.value.message
    assert "configured modes: text" in caught.value.message
    with pytest.raises(ApiError) as caught:
        validate(_spec("ltx-2"), catalog)
    assert caught.value.param == "model"
    # Preview models are untouched.
    assert catalog.find("doubao-seedance-1-0-pro-250528").served_modes is None


def test_without_a_local_models_file_local_models_are_refused() -> None:
    catalog = narrow_catalog(load_catalog(), None)
    assert catalog.find("wan2.1-t2v-1.3b").summary()["modes"] == []
    with pytest.raises(ApiError, match="configured modes: none"):
        validate(_spec("wan2.1-t2v-1.3b"), catalog)


def test_the_file_must_name_local_catalog_models(tmp_path: Path) -> None:
    for model, message in (("nope", "not a catalog model id"), ("doubao-seedance-2-0-260128", "not 'diffusers'")):
        local = parse_local_models(PIPELINE.replace("wan2.1-14b", model), tmp_path)
        with pytest.raises(LocalModelsError, match=message):
            narrow_catalog(load_catalog(), local)


def test_native_geometry_and_frame_grid() -> None:
    assert native_size(864, 496, 832 * 480, 16) == (832, 464)
    assert native_size(1280, 720, 832 * 480, 16) == (832, 464)  # 720p on a 480p model: rendered small, upscaled
    assert native_size(496, 864, 10**9, 32) == (480, 864)  # never upscaled, snapped to the multiple
    assert native_frame_count(121, 24, 16, 4) == 81  # 5 s: Wan 2.1's 81 frames at 16 fps
    assert native_frame_count(121, 24, 24, 8) == 121  # LTX at 24 fps
    assert native_frame_count(49, 24, 16, 4) == 33


def test_resampling_keeps_the_ends_and_blends_between() -> None:
    video = np.stack([np.full((2, 2, 3), v, np.float32) for v in (0.0, 1.0)])
    out = resample(video, 5)
    assert [float(f[0, 0, 0]) for f in out] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [float(f[0, 0, 0]) for f in resample(video, 5, "nearest")] == [0.0, 0.0, 0.0, 1.0, 1.0]
