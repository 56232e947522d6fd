"""Times the local diffusers engine against stock diffusers on the same pipeline, in the same process.

Each family is built at full size from its published config with RANDOM weights (no downloads: the configs are
inline below), so the timings are real for fixed-step pipelines while the pictures are noise. For each family and
resolution it renders one 5 s clip (the engine's frame count for 24 fps output) as a ladder of variants, each adding
one option to the previous, all with the same steps, size and frames:

  stock       the pipeline in bf16 on the GPU, diffusers' default attention (SDPA), no compile: the diffusers
              docs' recipe. Separate conditional and unconditional passes per step (diffusers' Wan/LTX default).
  attention   + the fastest attention backend available here (FA3 > FA2 > cuDNN SDPA), via set_attention_backend
  batched CFG + one transformer call per step for both guidance halves (Wan families; seedgate.engines.local.cfg)
  compile     + torch.compile of the repeated transformer blocks (regional compile; first call excluded, reported)

It reports seconds per clip, speed-up over stock, peak GPU memory and the DiT compute floor at 800 TFLOP/s
(shared/reference/engines.md section 5), as JSON (--out) and a markdown table on stdout.

    python bench/gpu_engine.py                                   # every family, 480p and 720p, default steps
    python bench/gpu_engine.py --families wan-t2v-1.3b --steps 10 --resolutions 480p
    python bench/gpu_engine.py --tiny                            # CPU smoke with tiny configs
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seedgate.engines.base import RenderJob  # noqa: E402
from seedgate.engines.local.config import PipelineConfig  # noqa: E402
from seedgate.engines.local.frames import native_frame_count, native_size  # noqa: E402
from seedgate.engines.local.pipelines import LoadedPipeline  # noqa: E402

PEAK_TFLOPS = 800.0  # measured dense bf16 GEMM rate on an H100 (engines.md section 5)
TEXT_LEN = 512  # Wan pads the prompt to 512 tokens; LTX to 128
# Output sizes (Seedance 2.0 catalog, 16:9) and the engine's native render areas per resolution.
RESOLUTIONS = {"480p": ((864, 496), 832 * 480), "720p": ((1280, 720), 1280 * 720)}


@dataclass(frozen=True)
class BenchFamily:
    name: str
    family: str  # seedgate pipeline family
    build: Callable[[bool], Any]  # tiny -> pipeline with random weights
    # For the compute floor: hidden size, FFN size, layers, VAE spatial x patch, VAE temporal stride, text tokens.
    dim: int
    ffn: int
    layers: int
    spatial: int
    temporal: int
    text_len: int = TEXT_LEN
    cfg: bool = True


@contextlib.contextmanager
def building(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """Create modules directly on the device in the target dtype: a 14B random init on the CPU takes minutes."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            yield
    finally:
        torch.set_default_dtype(old)


def _t5(tiny: bool) -> tuple[Any, Any]:
    from transformers import ByT5Tokenizer, T5Config, UMT5EncoderModel

    # Byte-level tokenizer: needs no vocabulary file, and its ids fit any T5 vocabulary.
    if tiny:
        config = T5Config(
            vocab_size=384, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4, relative_attention_num_buckets=8
        )
    else:  # UMT5-XXL, Wan's text encoder
        config = T5Config(
            vocab_size=256384,
            d_model=4096,
            d_kv=64,
            d_ff=10240,
            num_layers=24,
            num_heads=64,
            relative_attention_num_buckets=32,
            feed_forward_proj="gated-gelu",
        )
    return UMT5EncoderModel(config).eval(), ByT5Tokenizer()


def _wan_dit(tiny: bool, cls: str = "WanTransformer3DModel", **full: Any) -> Any:
    import diffusers

    if tiny:
        keep = {k: v for k, v in full.items() if k in ("in_channels", "out_channels", "vace_in_channels")}
        extra = {"vace_layers": [0, 1]} if "vace_layers" in full else {}
        return getattr(diffusers, cls)(
            num_attention_heads=2,
            attention_head_dim=12,
            text_dim=32,
            ffn_dim=32,
            num_layers=2,
            rope_max_seq_len=32,
            **keep,
            **extra,
        )
    return getattr(diffusers, cls)(**full)


def _wan_vae(tiny: bool, wan22: bool = False) -> Any:
    from diffusers import AutoencoderKLWan

    if wan22:
        z = {
            "z_dim": 48,
            "in_channels": 12,
            "out_channels": 12,
            "is_residual": True,
            "patch_size": 2,
            "scale_factor_spatial": 16,
            "latents_mean": [0.0] * 48,
            "latents_std": [1.0] * 48,
        }
        size = (
            {"base_dim": 3, "dim_mult": [1, 1, 1, 1], "num_res_blocks": 1}
            if tiny
            else {"base_dim": 160, "decoder_base_dim": 256}
        )
        return AutoencoderKLWan(**z, **size)
    return AutoencoderKLWan(base_dim=3, dim_mult=[1, 1, 1, 1], num_res_blocks=1) if tiny else AutoencoderKLWan()


def _flow(shift: float) -> Any:
    from diffusers import UniPCMultistepScheduler

    return UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=shift)


def wan_t2v_13b(tiny: bool) -> Any:
    from diffusers import WanPipeline

    encoder, tokenizer = _t5(tiny)
    dit = _wan_dit(tiny, num_attention_heads=12, ffn_dim=8960, num_layers=30)
    return WanPipeline(
        transformer=dit, vae=_wan_vae(tiny), scheduler=_flow(3.0), text_encoder=encoder, tokenizer=tokenizer
    )


def wan_t2v_14b(tiny: bool) -> Any:
    from diffusers import WanPipeline

    encoder, tokenizer = _t5(tiny)
    return WanPipeline(
        transformer=_wan_dit(tiny), vae=_wan_vae(tiny), scheduler=_flow(5.0), text_encoder=encoder, tokenizer=tokenizer
    )


def wan_ti2v_5b(tiny: bool) -> Any:
    from diffusers import WanPipeline

    encoder, tokenizer = _t5(tiny)
    dit = _wan_dit(tiny, num_attention_heads=24, ffn_dim=14336, num_layers=30, in_channels=48, out_channels=48)
    return WanPipeline(
        transformer=dit,
        vae=_wan_vae(tiny, wan22=True),
        scheduler=_flow(5.0),
        text_encoder=encoder,
        tokenizer=tokenizer,
        expand_timesteps=True,
    )


def wan_vace_13b(tiny: bool) -> Any:
    from diffusers import WanVACEPipeline

    encoder, tokenizer = _t5(tiny)
    dit = _wan_dit(
        tiny,
        "WanVACETransformer3DModel",
        num_attention_heads=12,
        ffn_dim=8960,
        num_layers=30,
        vace_layers=[0, 5, 10, 15, 20, 25],
        vace_in_channels=96,
    )
    return WanVACEPipeline(
        transformer=dit, vae=_wan_vae(tiny), scheduler=_flow(3.0), text_encoder=encoder, tokenizer=tokenizer
    )


def skyreels_df_13b(tiny: bool) -> Any:
    from diffusers import SkyReelsV2DiffusionForcingPipeline

    encoder, tokenizer = _t5(tiny)
    dit = _wan_dit(tiny, "SkyReelsV2Transformer3DModel", num_attention_heads=12, ffn_dim=8960, num_layers=30)
    return SkyReelsV2DiffusionForcingPipeline(
        transformer=dit, vae=_wan_vae(tiny), scheduler=_flow(8.0), text_encoder=encoder, tokenizer=tokenizer
    )


def ltx_video_2b(tiny: bool) -> Any:
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXConditionPipeline,
        LTXVideoTransformer3DModel,
    )
    from transformers import ByT5Tokenizer, T5Config, T5EncoderModel

    if tiny:
        encoder = T5EncoderModel(
            T5Config(
                vocab_size=384, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4, relative_attention_num_buckets=8
            )
        ).eval()
        dit = LTXVideoTransformer3DModel(
            in_channels=8,
            out_channels=8,
            num_attention_heads=4,
            attention_head_dim=8,
            cross_attention_dim=32,
            num_layers=1,
            caption_channels=32,
        )
        vae = AutoencoderKLLTXVideo(
            latent_channels=8,
            block_out_channels=(8, 8, 8, 8),
            decoder_block_out_channels=(8, 8, 8, 8),
            layers_per_block=(1, 1, 1, 1, 1),
            decoder_layers_per_block=(1, 1, 1, 1, 1),
            patch_size=1,
            spatio_temporal_scaling=(True, True, False, False),
            decoder_spatio_temporal_scaling=(True, True, False, False),
        )
    else:  # LTX-Video 0.9 2B with its T5-XXL text encoder
        encoder = T5EncoderModel(
            T5Config(
                vocab_size=32128,
                d_model=4096,
                d_kv=64,
                d_ff=10240,
                num_layers=24,
                num_heads=64,
                feed_forward_proj="gated-gelu",
            )
        ).eval()
        dit = LTXVideoTransformer3DModel()
        vae = AutoencoderKLLTXVideo()
    vae.use_framewise_encoding = vae.use_framewise_decoding = False
    return LTXConditionPipeline(
        transformer=dit,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=encoder,
        tokenizer=ByT5Tokenizer(),
    )


FAMILIES = {
    f.name: f
    for f in (
        BenchFamily("wan-t2v-1.3b", "wan-t2v", wan_t2v_13b, 1536, 8960, 30, 16, 4),
        BenchFamily("wan-t2v-14b", "wan-t2v", wan_t2v_14b, 5120, 13824, 40, 16, 4),
        BenchFamily("wan-ti2v-5b", "wan-ti2v", wan_ti2v_5b, 3072, 14336, 30, 32, 4),
        BenchFamily("wan-vace-1.3b", "wan-vace", wan_vace_13b, 1536, 8960, 30, 16, 4),
        BenchFamily("skyreels-df-1.3b", "skyreels-df", skyreels_df_13b, 1536, 8960, 30, 16, 4),
        BenchFamily("ltx-video-2b", "ltx-condition", ltx_video_2b, 2048, 8192, 28, 32, 8, text_len=128),
    )
}


def forward_tflop(fam: BenchFamily, width: int, height: int, frames: int) -> float:
    """One DiT forward, by the per-layer formula of engines.md section 5 (norms, RoPE and embeddings ignored)."""
    tokens = ((frames - 1) // fam.temporal + 1) * (height // fam.spatial) * (width // fam.spatial)
    n, d, f, text = tokens, fam.dim, fam.ffn, fam.text_len
    per_layer = 8 * n * d * d + 4 * n * n * d + 4 * n * d * d + 4 * text * d * d + 4 * n * text * d + 4 * n * d * f
    return fam.layers * per_layer / 1e12


def best_attention() -> str:
    """The fastest attention backend that needs no download (the *_hub kernels fetch from the Hub)."""
    if not torch.cuda.is_available():
        return ""
    for module, backend in (("flash_attn_interface", "_flash_3"), ("flash_attn", "flash")):
        with contextlib.suppress(ImportError):
            __import__(module)
            return backend
    return "_native_cudnn"


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _no_callback(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    return kwargs


def time_call(call: Callable[[], Any]) -> tuple[float, float]:
    """Seconds and peak GPU memory (GiB) of one call."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    _sync()
    started = time.perf_counter()
    call()
    _sync()
    seconds = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else 0.0
    return seconds, peak


def run_family(
    fam: BenchFamily,
    resolutions: list[str],
    steps: int | None,
    seconds: int,
    tiny: bool,
    device: torch.device,
    dtype_name: str,
) -> list[dict[str, Any]]:
    dtype = {"bfloat16": torch.bfloat16, "float32": torch.float32}[dtype_name]
    started = time.perf_counter()
    with building(device, dtype):
        torch.manual_seed(0)
        pipe = fam.build(tiny)
    pipe.to(device=device, dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    print(f"# built {fam.name} with random weights in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    base = PipelineConfig(
        name=fam.name, family=fam.family, path=Path("."), serves={}, device=str(device), dtype=dtype_name, steps=steps
    )
    steps_used = base.num_steps
    rows: list[dict[str, Any]] = []
    variants = [("stock", base)]
    attention = best_attention()
    if attention:
        variants.append((f"attention ({attention})", replace(base, attention=attention)))
    if fam.family.startswith("wan-"):  # LTX and SkyReels loops already batch (or cannot batch) their guidance
        variants.append(("batched CFG", replace(variants[-1][1], batched_cfg=True)))
    if device.type == "cuda":  # inductor on the CPU would time the C++ compiler, not the engine
        variants.append(("compile", replace(variants[-1][1], compile=True, compile_mode="regional")))
    stock_seconds: dict[str, float] = {}
    for label, config in variants:
        # Options are applied on top of the previous variant's (compiling cannot be undone), hence the ladder.
        loaded = LoadedPipeline(config, pipe=pipe)
        for res in resolutions:
            (out_w, out_h), area = RESOLUTIONS[res]
            loaded.config = replace(config, max_area=32 * 32 if tiny else area)
            frames_out = 24 * seconds + 1
            width, height = native_size(out_w, out_h, loaded.config.max_area, base.spec.multiple)
            frames = native_frame_count(frames_out, 24, base.fps, base.spec.frame_step)
            job = RenderJob(
                task_id="bench",
                model=fam.name,
                mode="text",
                prompt="a red kite over a stormy sea",
                width=out_w,
                height=out_h,
                fps=24,
                frames=frames_out,
                seed=0,
            )
            passes = 2 if fam.cfg and base.guidance_scale > 1 else 1
            floor = forward_tflop(fam, width, height, frames) * steps_used * passes / PEAK_TFLOPS
            warmup = None
            if config.compile:
                warmup, _ = time_call(partial(loaded.generate, job, _no_callback))
            secs, peak = time_call(partial(loaded.generate, job, _no_callback))
            stock = stock_seconds.setdefault(res, secs)
            rows.append(
                {
                    "family": fam.name,
                    "resolution": res,
                    "variant": label,
                    "native": f"{width}x{height}",
                    "frames": frames,
                    "steps": steps_used,
                    "seconds": round(secs, 2),
                    "speedup": round(stock / secs, 2),
                    "peak_gib": round(peak, 1),
                    "first_call_s": round(warmup, 1) if warmup else None,
                    "floor_s": round(floor, 2),
                    "floor_fraction": round(floor / secs, 3),
                }
            )
            print(f"# {rows[-1]}", file=sys.stderr)
    del pipe
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    head = (
        "| family | res | variant | native | frames | steps | s/clip | speed-up | peak GiB | first call s "
        "| floor s | floor / actual |"
    )
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        lines.append(
            f"| {r['family']} | {r['resolution']} | {r['variant']} | {r['native']} | {r['frames']} "
            f"| {r['steps']} | {r['seconds']} | {r['speedup']}x | {r['peak_gib']} | {r['first_call_s'] or ''} "
            f"| {r['floor_s']} | {r['floor_fraction']:.0%} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", default=",".join(FAMILIES), help=f"comma list of {', '.join(FAMILIES)}")
    parser.add_argument("--resolutions", default="480p,720p")
    parser.add_argument("--steps", type=int, default=None, help="denoising steps (default: the family's default)")
    parser.add_argument("--frames", type=int, default=5, help="clip length in seconds at 24 fps output")
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    parser.add_argument("--tiny", action="store_true", help="tiny configs on CPU in float32 (a smoke test)")
    args = parser.parse_args()
    device = torch.device("cpu" if args.tiny or not torch.cuda.is_available() else "cuda")
    dtype = "float32" if device.type == "cpu" else "bfloat16"
    if not args.tiny and device.type == "cpu":
        parser.error("full-size families need a CUDA GPU; use --tiny for a CPU smoke run")
    rows: list[dict[str, Any]] = []
    for name in args.families.split(","):
        rows += run_family(
            FAMILIES[name.strip()], args.resolutions.split(","), args.steps, args.frames, args.tiny, device, dtype
        )
    report = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "tiny": args.tiny,
        "rows": rows,
    }
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report))
    print(markdown(rows))


if __name__ == "__main__":
    main()
