"""Tiny random-weight pipelines of every local family, saved to disk for the diffusers engine to load.

Configs follow diffusers' own pipeline tests (shared/reference/engines.md section 2), with the Hub-fetched text
encoder configs and tokenizers replaced by inline ones, so this runs offline. Needs torch, diffusers, transformers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


def _t5() -> tuple[Any, Any]:
    from transformers import ByT5Tokenizer, T5Config, T5EncoderModel

    torch.manual_seed(0)
    encoder = T5EncoderModel(
        T5Config(
            vocab_size=384,
            d_model=32,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            dropout_rate=0.0,
        )
    ).eval()
    return encoder, ByT5Tokenizer()


def _wan_vae(z_dim: int = 16) -> Any:
    from diffusers import AutoencoderKLWan

    torch.manual_seed(0)
    return AutoencoderKLWan(
        base_dim=3, z_dim=z_dim, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )


def _wan_dit(cls_name: str = "WanTransformer3DModel", **overrides: Any) -> Any:
    import diffusers

    torch.manual_seed(0)
    config: dict[str, Any] = dict(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,
        out_channels=16,
        text_dim=32,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    )
    config.update(overrides)
    return getattr(diffusers, cls_name)(**config)


def _flow_scheduler(shift: float = 7.0) -> Any:
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler(shift=shift)


def _clip() -> tuple[Any, Any]:
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=4,
            projection_dim=4,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=4,
            intermediate_size=16,
            patch_size=1,
        )
    )
    return encoder, CLIPImageProcessor(crop_size=4, size=4)


def wan_t2v() -> Any:
    from diffusers import WanPipeline

    encoder, tokenizer = _t5()
    return WanPipeline(
        transformer=_wan_dit(), vae=_wan_vae(), scheduler=_flow_scheduler(), text_encoder=encoder, tokenizer=tokenizer
    )


def wan_moe() -> Any:
    """Wan 2.2 A14B's layout: a high-noise and a low-noise expert, switched at the boundary."""
    from diffusers import WanPipeline

    encoder, tokenizer = _t5()
    return WanPipeline(
        transformer=_wan_dit(),
        transformer_2=_wan_dit(),
        boundary_ratio=0.875,
        vae=_wan_vae(),
        scheduler=_flow_scheduler(),
        text_encoder=encoder,
        tokenizer=tokenizer,
    )


def wan_i2v(flf2v: bool = False) -> Any:
    from diffusers import WanImageToVideoPipeline

    encoder, tokenizer = _t5()
    image_encoder, processor = _clip()
    extra = {"pos_embed_seq_len": 2 * (4 * 4 + 1)} if flf2v else {}
    return WanImageToVideoPipeline(
        transformer=_wan_dit(in_channels=36, image_dim=4, **extra),
        vae=_wan_vae(),
        scheduler=_flow_scheduler(),
        text_encoder=encoder,
        tokenizer=tokenizer,
        image_encoder=image_encoder,
        image_processor=processor,
    )


def wan_flf2v() -> Any:
    return wan_i2v(flf2v=True)


def wan_vace() -> Any:
    from diffusers import WanVACEPipeline

    encoder, tokenizer = _t5()
    dit = _wan_dit("WanVACETransformer3DModel", num_layers=3, vace_layers=[0, 2], vace_in_channels=96)
    return WanVACEPipeline(
        transformer=dit, vae=_wan_vae(), scheduler=_flow_scheduler(), text_encoder=encoder, tokenizer=tokenizer
    )


def skyreels_df() -> Any:
    from diffusers import SkyReelsV2DiffusionForcingPipeline, UniPCMultistepScheduler

    encoder, tokenizer = _t5()
    return SkyReelsV2DiffusionForcingPipeline(
        transformer=_wan_dit("SkyReelsV2Transformer3DModel"),
        vae=_wan_vae(),
        scheduler=UniPCMultistepScheduler(flow_shift=8.0, use_flow_sigmas=True, prediction_type="flow_prediction"),
        text_encoder=encoder,
        tokenizer=tokenizer,
    )


def ltx_condition() -> Any:
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXConditionPipeline,
        LTXVideoTransformer3DModel,
    )

    encoder, tokenizer = _t5()
    torch.manual_seed(0)
    dit = LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=32,
        num_layers=1,
        caption_channels=32,
    )
    torch.manual_seed(0)
    vae = AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False,) * 5,
        upsample_residual=(False,) * 4,
        upsample_factor=(1,) * 4,
        timestep_conditioning=False,
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    vae.use_framewise_encoding = vae.use_framewise_decoding = False
    return LTXConditionPipeline(
        transformer=dit, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(), text_encoder=encoder, tokenizer=tokenizer
    )


BUILDERS = {
    "wan-t2v": wan_t2v,
    "wan-moe": wan_moe,
    "wan-i2v": wan_i2v,
    "wan-flf2v": wan_flf2v,
    "wan-vace": wan_vace,
    "skyreels-df": skyreels_df,
    "ltx-condition": ltx_condition,
}


def save(family: str, path: Path) -> Path:
    """Build the family's tiny pipeline and `save_pretrained` it, the layout the engine loads from."""
    BUILDERS[family]().save_pretrained(str(path))
    return path


def _gemma() -> tuple[Any, Any]:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        Gemma3Config,
        Gemma3ForConditionalGeneration,
        Gemma3TextConfig,
        PreTrainedTokenizerFast,
        SiglipVisionConfig,
    )

    torch.manual_seed(0)
    encoder = Gemma3ForConditionalGeneration(
        Gemma3Config(
            text_config=Gemma3TextConfig(
                vocab_size=64,
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                num_key_value_heads=1,
                head_dim=8,
                sliding_window=16,
            ),
            vision_config=SiglipVisionConfig(
                hidden_size=16,
                intermediate_size=32,
                num_hidden_layers=1,
                num_attention_heads=2,
                image_size=28,
                patch_size=14,
            ),
            mm_tokens_per_image=4,
        )
    ).eval()
    # A word-level vocabulary built in memory: Gemma's real tokenizer would come from the Hub.
    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3}
    words = ("a", "the", "robot", "dancing", "cat", "sea", "red", "kite", "city", "night", "x")
    vocab.update({w: i + 4 for i, w in enumerate(words)})
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        eos_token="<eos>",
        bos_token="<bos>",
        unk_token="<unk>",
        padding_side="left",
    )
    return encoder, tokenizer


def ltx2_audio() -> Any:
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2Pipeline,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    encoder, tokenizer = _gemma()
    hidden = encoder.config.text_config.hidden_size
    torch.manual_seed(0)
    dit = LTX2VideoTransformer3DModel(
        in_channels=4,
        out_channels=4,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=2,
        attention_head_dim=8,
        cross_attention_dim=16,
        audio_in_channels=4,
        audio_out_channels=4,
        audio_num_attention_heads=2,
        audio_attention_head_dim=4,
        audio_cross_attention_dim=8,
        num_layers=2,
        qk_norm="rms_norm_across_heads",
        caption_channels=hidden,
        rope_double_precision=False,
        rope_type="split",
    )
    torch.manual_seed(0)
    connectors = LTX2TextConnectors(
        caption_channels=hidden,
        text_proj_in_factor=encoder.config.text_config.num_hidden_layers + 1,
        video_connector_num_attention_heads=4,
        video_connector_attention_head_dim=8,
        video_connector_num_layers=1,
        video_connector_num_learnable_registers=None,
        audio_connector_num_attention_heads=4,
        audio_connector_attention_head_dim=8,
        audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None,
        connector_rope_base_seq_len=32,
        rope_theta=10000.0,
        rope_double_precision=False,
        causal_temporal_positioning=False,
        rope_type="split",
    )
    torch.manual_seed(0)
    vae = AutoencoderKLLTX2Video(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(8,),
        decoder_block_out_channels=(8,),
        layers_per_block=(1,),
        decoder_layers_per_block=(1, 1),
        spatio_temporal_scaling=(True,),
        decoder_spatio_temporal_scaling=(True,),
        decoder_inject_noise=(False, False),
        downsample_type=("spatial",),
        upsample_residual=(False,),
        upsample_factor=(1,),
        timestep_conditioning=False,
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    vae.use_framewise_encoding = vae.use_framewise_decoding = False
    torch.manual_seed(0)
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=4,
        output_channels=2,
        ch_mult=(1,),
        num_res_blocks=1,
        attn_resolutions=None,
        in_channels=2,
        resolution=32,
        latent_channels=2,
        norm_type="pixel",
        causality_axis="height",
        dropout=0.0,
        mid_block_add_attention=False,
        sample_rate=16000,
        mel_hop_length=160,
        is_causal=True,
        mel_bins=8,
    )
    torch.manual_seed(0)
    vocoder = LTX2Vocoder(
        in_channels=2 * 8,
        hidden_channels=32,
        out_channels=2,
        upsample_kernel_sizes=[4, 4],
        upsample_factors=[2, 2],
        resnet_kernel_sizes=[3],
        resnet_dilations=[[1, 3, 5]],
        leaky_relu_negative_slope=0.1,
        output_sampling_rate=16000,
    )
    return LTX2Pipeline(
        transformer=dit,
        vae=vae,
        audio_vae=audio_vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=encoder,
        tokenizer=tokenizer,
        connectors=connectors,
        vocoder=vocoder,
    )


def wan_ti2v() -> Any:
    from diffusers import AutoencoderKLWan, WanPipeline

    encoder, tokenizer = _t5()
    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3,
        z_dim=48,
        in_channels=12,
        out_channels=12,
        is_residual=True,
        patch_size=2,
        latents_mean=[0.0] * 48,
        latents_std=[1.0] * 48,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        scale_factor_spatial=16,
        scale_factor_temporal=4,
        temperal_downsample=[False, True, True],
    )
    return WanPipeline(
        transformer=_wan_dit(in_channels=48, out_channels=48),
        vae=vae,
        scheduler=_flow_scheduler(),
        text_encoder=encoder,
        tokenizer=tokenizer,
        expand_timesteps=True,
    )


BUILDERS.update({"ltx2-audio": ltx2_audio, "wan-ti2v": wan_ti2v})
