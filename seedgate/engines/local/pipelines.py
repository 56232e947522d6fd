"""One configured pipeline, loaded once and kept warm, and how each family turns a RenderJob into a diffusers call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import av
import numpy as np
import torch
from PIL import Image, ImageOps

from seedgate.engines.base import RenderFailed, RenderJob

from .cfg import BatchedCFG
from .config import PipelineConfig
from .frames import cover, native_frame_count, native_size

log = logging.getLogger("seedgate.engines.diffusers")

OnStepEnd = Callable[[Any, int, Any, dict[str, Any]], dict[str, Any]]
Audio = tuple[np.ndarray, int]  # samples, sample rate
# One method per family, `_<family name>`: (job, common call arguments, width, height) -> frames and any audio.
FamilyCall = Callable[[RenderJob, dict[str, Any], int, int], tuple[np.ndarray, Audio | None]]

# Families whose diffusers loop calls the transformer once per guidance half (what BatchedCFG merges).
_SPLIT_CFG_FAMILIES = ("wan-t2v", "wan-i2v", "wan-flf2v", "wan-ti2v", "wan-vace")
_WAN_TEXT_LEN = 512  # the pipelines' __call__ default (encode_prompt's own default is shorter)
_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _denoisers(pipe: Any) -> list[Any]:
    """The transformer(s) that run every step: where attention backends, caches and compilation apply."""
    return [m for m in (getattr(pipe, "transformer", None), getattr(pipe, "transformer_2", None)) if m is not None]


def _apply_memory_options(pipe: Any, config: PipelineConfig, device: torch.device) -> None:
    if config.offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif config.offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    elif config.offload == "group":
        # Group offload streams transformer blocks to the GPU as they run; the small parts stay resident.
        for name, module in pipe.components.items():
            if not isinstance(module, torch.nn.Module):
                continue
            # diffusers' models have it; a transformers text encoder does not. Looked up, not called through the
            # Module type, whose __getattr__ says every unknown attribute is a Tensor or a Module.
            enable_group_offload = getattr(module, "enable_group_offload", None)
            if enable_group_offload is not None:
                enable_group_offload(
                    onload_device=device,
                    offload_device=torch.device("cpu"),
                    offload_type="leaf_level",
                    use_stream=device.type == "cuda",
                )
            else:
                log.debug("group offload: %s stays on %s", name, device)
                module.to(device)
    else:
        pipe.to(device)
    if config.vae_tiling and hasattr(pipe.vae, "enable_tiling"):
        pipe.vae.enable_tiling()


def _apply_speed_options(pipe: Any, config: PipelineConfig) -> None:
    for transformer in _denoisers(pipe):
        if config.attention:
            transformer.set_attention_backend(config.attention)
        if config.cache:
            transformer.enable_cache(_cache_config(config.cache))
        if config.compile:
            if config.compile_mode == "regional" and hasattr(transformer, "compile_repeated_blocks"):
                # Compiling one block and reusing it for all compiles in seconds instead of minutes.
                transformer.compile_repeated_blocks(fullgraph=True)
            else:
                transformer.compile(mode=None if config.compile_mode == "default" else config.compile_mode)


def _cache_config(raw: dict[str, Any]) -> Any:
    import diffusers

    options = {k: v for k, v in raw.items() if k != "kind"}
    kinds = {
        "first_block": "FirstBlockCacheConfig",
        "taylorseer": "TaylorSeerCacheConfig",
        "faster": "FasterCacheConfig",
        "pyramid": "PyramidAttentionBroadcastConfig",
        "mag": "MagCacheConfig",
    }
    kind = raw.get("kind", "first_block")
    if kind not in kinds:
        raise ValueError(f"unknown cache kind {kind!r}; known: {', '.join(kinds)}")
    return getattr(diffusers, kinds[kind])(**options)


def _image(path: Any, width: int, height: int) -> Image.Image:
    with Image.open(path) as img:
        return cover(ImageOps.exif_transpose(img).convert("RGB"), width, height)


def _video_frames(path: Any, width: int, height: int, fps: int, limit: int) -> list[Image.Image]:
    """The source clip's last `limit` frames at the model's rate and size (what an extension continues from)."""
    frames: list[Image.Image] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or fps)
        step = max(1.0, rate / fps)
        next_pick = 0.0
        for index, frame in enumerate(container.decode(stream)):
            if index + 1e-6 >= next_pick:
                # av 18 ships VideoFrame.to_image without annotations; it returns a PIL RGB image.
                frames.append(cover(frame.to_image(), width, height))  # type: ignore[no-untyped-call]
                next_pick += step
    if not frames:
        raise RenderFailed("the reference video has no frames", code="InvalidParameter")
    return frames[-limit:]


class LoadedPipeline:
    """A pipeline on its device with the operator's memory and speed options applied."""

    def __init__(self, config: PipelineConfig, pipe: Any = None) -> None:
        """Load the weights from `config.path`; the benchmark passes a `pipe` it built in memory instead."""
        import diffusers

        self.config = config
        self.family = config.spec
        self.device = pick_device(config.device)
        dtype = _DTYPES[config.dtype]
        if pipe is None:
            cls = getattr(diffusers, self.family.pipeline)
            # local_files_only: a missing file must fail here, never turn into a download.
            pipe = cls.from_pretrained(str(config.path), dtype=dtype, local_files_only=True)
        else:
            pipe.to(dtype=dtype)
        if config.flow_shift is not None:
            pipe.scheduler = pipe.scheduler.__class__.from_config(pipe.scheduler.config, flow_shift=config.flow_shift)
        _apply_memory_options(pipe, config, self.device)
        _apply_speed_options(pipe, config)
        self.cfg_batchers: list[BatchedCFG] = []
        if config.batched_cfg and self.family.name in _SPLIT_CFG_FAMILIES:
            self.cfg_batchers = [BatchedCFG(t) for t in _denoisers(pipe)]
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe
        self._variants: dict[str, Any] = {}

    def variant(self, class_name: str, **config: Any) -> Any:
        """The same weights under another pipeline class (e.g. TI2V's image-to-video), sharing every module."""
        if class_name == type(self.pipe).__name__ and not config:
            return self.pipe
        if class_name not in self._variants:
            import diffusers

            variant = getattr(diffusers, class_name).from_pipe(self.pipe, **config)
            variant.set_progress_bar_config(disable=True)
            self._variants[class_name] = variant
        return self._variants[class_name]

    # -- calls ---------------------------------------------------------------------------------------------------

    def generate(self, job: RenderJob, on_step_end: OnStepEnd) -> tuple[np.ndarray, Audio | None]:
        """Run the diffusers call for the job's mode; returns float frames (N, H, W, 3) in [0, 1] and any audio."""
        config, family = self.config, self.family
        width, height = native_size(job.width, job.height, config.max_area, family.multiple)
        frames = native_frame_count(job.frames, job.fps, config.fps, family.frame_step)
        prompt = job.prompt
        if job.camera_fixed and config.camera_fixed_hint:
            prompt = f"{prompt.rstrip().rstrip('.')}. {config.camera_fixed_hint}"
        common: dict[str, Any] = dict(
            prompt=prompt,
            negative_prompt=config.negative,
            height=height,
            width=width,
            num_frames=frames,
            num_inference_steps=config.num_steps,
            guidance_scale=config.guidance_scale,
            generator=torch.Generator(device="cpu").manual_seed(job.seed),
            output_type="np",
            callback_on_step_end=on_step_end,
        )
        if config.guidance_2 is not None:
            common["guidance_scale_2"] = config.guidance_2
        call: FamilyCall = getattr(self, "_" + family.name.replace("-", "_"))
        if not self.cfg_batchers or config.guidance_scale <= 1.0:
            return call(job, common, width, height)
        # Encoded here so that the batcher can tell the negative call by the identity of its embeddings.
        dtype = _denoisers(self.pipe)[0].dtype
        positive, negative = self.pipe.encode_prompt(
            prompt=common.pop("prompt"),
            negative_prompt=common.pop("negative_prompt"),
            do_classifier_free_guidance=True,
            device=self.pipe._execution_device,
            max_sequence_length=_WAN_TEXT_LEN,
        )
        common.update(prompt_embeds=positive.to(dtype), negative_prompt_embeds=negative.to(dtype))
        for batcher in self.cfg_batchers:
            batcher.reset(common["negative_prompt_embeds"])
        try:
            return call(job, common, width, height)
        finally:
            for batcher in self.cfg_batchers:
                batcher.reset(None)

    @staticmethod
    def _frames(output: Any) -> np.ndarray:
        frames = output.frames
        batched = isinstance(frames, (list, tuple)) or frames.ndim == 5
        return np.asarray(frames[0] if batched else frames, dtype=np.float32)

    def _input_image(self, job: RenderJob, role: str, width: int, height: int) -> Image.Image:
        items = job.inputs_with_role(role)
        if not items:
            raise RenderFailed(f"mode {job.mode!r} needs a {role} image", code="InvalidParameter")
        return _image(items[0].path, width, height)

    def _wan_t2v(self, job: RenderJob, common: dict[str, Any], width: int, height: int) -> tuple[np.ndarray, None]:
        return self._frames(self.pipe(**common)), None

    def _wan_i2v(self, job: RenderJob, common: dict[str, Any], width: int, height: int) -> tuple[np.ndarray, None]:
        image = self._input_image(job, "first_frame", width, height)
        if job.mode == "first_last_frame":
            common["last_image"] = self._input_image(job, "last_frame", width, height)
        return self._frames(self.pipe(image=image, **common)), None

    _wan_flf2v = _wan_i2v

    def _wan_ti2v(self, job: RenderJob, common: dict[str, Any], width: int, height: int) -> tuple[np.ndarray, None]:
        if job.mode == "text":
            return self._frames(self.pipe(**common)), None
        pipe = self.variant("WanImageToVideoPipeline")
        image = self._input_image(job, "first_frame", width, height)
        return self._frames(pipe(image=image, **common)), None

    def _wan_vace(self, job: RenderJob, common: dict[str, Any], width: int, height: int) -> tuple[np.ndarray, None]:
        if job.mode == "reference":
            # VACE conditions on the references as identities, not as frames: no mask or control video.
            common["reference_images"] = [
                _image(i.path, width, height) for i in job.inputs_with_role("reference_image")
            ]
        return self._frames(self.pipe(**common)), None

    def _ltx_condition(
        self, job: RenderJob, common: dict[str, Any], width: int, height: int
    ) -> tuple[np.ndarray, None]:
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

        frames = common["num_frames"]
        conditions = []
        if job.mode in ("first_frame", "first_last_frame"):
            conditions.append(
                LTXVideoCondition(image=self._input_image(job, "first_frame", width, height), frame_index=0)
            )
        if job.mode == "first_last_frame":
            conditions.append(
                LTXVideoCondition(image=self._input_image(job, "last_frame", width, height), frame_index=frames - 1)
            )
        if job.mode == "reference":
            source = self._source_video(job, width, height, limit=max(9, (frames - 1) // 2))
            conditions.append(LTXVideoCondition(video=source, frame_index=0))
        if conditions:
            common["conditions"] = conditions
        return self._frames(self.pipe(**common)), None

    def _source_video(self, job: RenderJob, width: int, height: int, limit: int) -> list[Image.Image]:
        items = job.inputs_with_role("reference_video")
        if not items:
            raise RenderFailed("video extension needs a reference video", code="InvalidParameter")
        frames = _video_frames(items[0].path, width, height, self.config.fps, limit)
        # Latent grids need step*k+1 source frames; drop the oldest ones to fit.
        step = self.family.frame_step
        keep = max(1, (len(frames) - 1) // step * step + 1)
        return frames[-keep:]

    def _skyreels_df(self, job: RenderJob, common: dict[str, Any], width: int, height: int) -> tuple[np.ndarray, None]:
        frames = common["num_frames"]
        # Diffusion forcing renders in windows; a window at most the clip keeps short clips to one pass.
        # Longer clips continue window after window, each re-reading the last 17 frames (SkyReels' recommendation).
        common.update(
            base_num_frames=min(frames, 97),
            overlap_history=17 if frames > 97 else None,
            addnoise_condition=20,
            ar_step=0,
        )
        if job.mode != "reference":
            return self._frames(self.pipe(**common)), None
        pipe = self.variant("SkyReelsV2DiffusionForcingVideoToVideoPipeline")
        source = self._source_video(job, width, height, limit=max(5, (frames - 1) // 2))
        # The pipeline returns the source followed by its continuation; the clip keeps the newest `frames`.
        overlap = len(source)
        common.update(overlap_history=overlap, base_num_frames=min(frames, 97) if frames > overlap else overlap + 4)
        video = self._frames(pipe(video=source, **common))
        return video[-frames:], None

    def _ltx2_audio(
        self, job: RenderJob, common: dict[str, Any], width: int, height: int
    ) -> tuple[np.ndarray, Audio | None]:
        common["frame_rate"] = float(self.config.fps)
        pipe = self.pipe
        if job.mode == "first_frame":
            pipe = self.variant("LTX2ImageToVideoPipeline")
            common["image"] = self._input_image(job, "first_frame", width, height)
        output = pipe(**common)
        audio = output.audio[0] if output.audio is not None else None
        rate = int(self.pipe.vocoder.config.output_sampling_rate)
        samples = audio.float().cpu().numpy() if isinstance(audio, torch.Tensor) else audio
        return self._frames(output), (np.asarray(samples), rate) if samples is not None else None
