"""Batched classifier-free guidance for Wan-style pipelines, without forking their denoising loops.

diffusers' Wan pipelines call the transformer twice per step: once with the prompt, then with the negative prompt.
This wrapper turns the first call into one forward over a batch of both and hands the second call the stashed
unconditional half. It recognises the negative call by identity of the embeddings tensor, which is why the engine
encodes the prompts itself and passes the embeddings in the transformer's dtype (`.to()` then returns the same
object). LTX pipelines already batch their guidance and do not need it.
"""

from __future__ import annotations

from typing import Any

import torch

# Keyword inputs of the Wan transformers that carry one entry per sample (VACE's per-layer scales do not).
_PER_SAMPLE = frozenset({"encoder_hidden_states_image", "control_hidden_states"})


class BatchedCFG:
    """Replaces `module.forward`; inert until `negative` is set for a call."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.inner = module.forward
        self.negative: torch.Tensor | None = None
        self._stash: torch.Tensor | None = None
        module.forward = self  # torch declares `forward` a Callable attribute, so any callable may replace it

    def reset(self, negative: torch.Tensor | None) -> None:
        self.negative, self._stash = negative, None

    def __call__(
        self,
        hidden_states: torch.Tensor,
        timestep: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        negative = self.negative
        if negative is None or args:
            return self.inner(hidden_states, timestep, encoder_hidden_states, *args, **kwargs)
        if encoder_hidden_states is negative and self._stash is not None:
            uncond, self._stash = self._stash, None
            return (uncond,)
        batch = hidden_states.shape[0]
        if encoder_hidden_states is negative or encoder_hidden_states.shape != negative.shape:
            return self.inner(hidden_states, timestep, encoder_hidden_states, *args, **kwargs)

        def doubled(value: Any) -> Any:
            # Every per-sample input (latents, timesteps, image embeddings, VACE controls) goes in twice. FLF2V's
            # image embeddings hold two rows per sample (first, last): appending the block keeps the pairs intact.
            if isinstance(value, torch.Tensor) and value.ndim and value.shape[0] % batch == 0:
                return torch.cat([value, value])
            return value

        both = {k: doubled(v) if k in _PER_SAMPLE else v for k, v in kwargs.items()}
        both["return_dict"] = False
        out = self.inner(
            doubled(hidden_states), doubled(timestep), torch.cat([encoder_hidden_states, negative]), **both
        )[0]
        cond, self._stash = out.chunk(2)
        return (cond,)
