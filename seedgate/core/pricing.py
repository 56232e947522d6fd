"""What a task costs: the estimate a request reserves and the charge its delivery settles, from its price.

Money is an integer count of micro-units (1e-6 of the currency), never a float: prices are read as exact decimals
and every product is an exact fraction until one final rounding (half up) to a micro-unit. Ark's token count is
core/usage.py's; this module only prices it.

Two kinds of rule (core/price.py, docs/pricing.md):
- tokens: Ark's billing, a price per 1M completion tokens, optionally another when the task has a reference video
  (Seedance 2.0: 46 CNY without video input, 28 with), times a flex factor on the flex tier, with an optional
  minimum of tokens per task. Draft tokens already carry their conversion factor (usage.py); the price is the same.
- seconds: a price per output second by resolution, for local engines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

from .limits import MICRO
from .plan import TaskPlan
from .price import Price, SecondsRule, TokensRule
from .usage import DRAFT_AUDIO_FACTOR, completion_tokens

__all__ = ["Delivered", "Price", "Quote", "SecondsRule", "TokensRule", "charge", "estimate"]


Breakdown = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Quote:
    currency: str
    amount: int  # micro-units of the currency
    tokens: int | None  # billed tokens, for token prices
    seconds: float  # output seconds
    breakdown: Breakdown  # (label, value) lines a human reads, in the order they apply

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.amount) / MICRO

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "amount": float(self.decimal.quantize(Decimal("0.000001"))),
            "amount_micros": self.amount,
            "tokens": self.tokens,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class Delivered:
    """What a finished task actually delivered. Unset fields fall back to the plan's, so `Delivered()` is the
    estimate."""

    completion_tokens: int | None = None  # reported by an upstream: it is what the operator pays, so it wins
    frames: int | None = None
    width: int | None = None
    height: int | None = None
    fps: int | None = None


def estimate(plan: TaskPlan, price: Price) -> Quote:
    """What a checked request will cost."""
    return _quote(plan, price, None)


def charge(plan: TaskPlan, price: Price, delivered: Delivered) -> Quote:
    """What a finished task costs: the upstream's reported tokens when there are some, else the measured output,
    never more than the estimate (a 1080p request delivered at 720p costs 720p; 10 s delivered as 5 s, 5 s)."""
    rule = price.rule
    if isinstance(rule, TokensRule) and delivered.completion_tokens is not None:
        tokens = delivered.completion_tokens
        lines: Breakdown = (("tokens", f"{tokens} tokens reported by the upstream"),)
        return _token_quote(plan, price.currency, rule, tokens, lines, _seconds(plan.frame_count, plan.fps))
    fps = delivered.fps or plan.fps
    frames = plan.frame_count if delivered.frames is None else delivered.frames
    measured = replace(
        plan,
        width=plan.width if delivered.width is None else delivered.width,
        height=plan.height if delivered.height is None else delivered.height,
        frame_count=_frames_at(frames, fps, plan.fps),
    )
    return _quote(measured, price, _quote(plan, price, None), delivered=True, seconds=_seconds(frames, fps))


def _quote(
    plan: TaskPlan, price: Price, cap: Quote | None, *, delivered: bool = False, seconds: Fraction | None = None
) -> Quote:
    out_seconds = _seconds(plan.frame_count, plan.fps) if seconds is None else seconds
    what = "delivered " if delivered else ""
    rule = price.rule
    if isinstance(rule, SecondsRule):
        label, rate = rule.rate_for(plan.width, plan.height)
        amount = _micros(out_seconds * Fraction(rate) * MICRO)
        lines: Breakdown = (
            ("output", f"{what}{plan.width}x{plan.height}, {_fmt(out_seconds)} s"),
            ("price", f"x {rate} {price.currency} / s at {label}"),
        )
        if cap is not None and amount > cap.amount:
            amount, lines = cap.amount, (*lines, ("cap", "not more than the estimate"))
        return Quote(price.currency, amount, None, float(out_seconds), _total(lines, amount, price.currency))

    tokens = completion_tokens(plan)
    videos = plan.media_of("video")
    shown = f"{what}{plan.width}x{plan.height}, {plan.frame_count} frames"
    if videos:
        stated = sum(m.seconds or 0 for m in videos)
        unstated = sum(1 for m in videos if m.seconds is None)
        shown += f" + {stated:g} s of reference video"
        if unstated:
            shown += f" ({unstated} reference video{'s' if unstated > 1 else ''} of unknown length not counted)"
    lines = (("tokens", f"{shown} -> {tokens} tokens"),)
    if plan.draft and plan.generate_audio:
        lines = (*lines, ("draft", f"with audio: tokens x {DRAFT_AUDIO_FACTOR} (included above)"))
    if rule.min_tokens is not None and tokens < rule.min_tokens:
        tokens = rule.min_tokens
        lines = (*lines, ("minimum", f"raised to {tokens} tokens, the model's minimum per task"))
    if cap is not None and cap.tokens is not None and tokens > cap.tokens:
        tokens = cap.tokens
        lines = (*lines, ("cap", f"{tokens} tokens: not more than the estimate"))
    return _token_quote(plan, price.currency, rule, tokens, lines, out_seconds)


def _token_quote(
    plan: TaskPlan, currency: str, rule: TokensRule, tokens: int, lines: Breakdown, seconds: Fraction
) -> Quote:
    with_video = bool(plan.media_of("video"))
    rate = rule.rate(with_video)
    note = " (with video input)" if with_video and rule.per_million_with_video is not None else ""
    lines = (*lines, ("price", f"x {rate} {currency} / 1M tokens{note}"))
    # The price is per 1M tokens, so it is also the price of one token in micro-units.
    exact = tokens * Fraction(rate)
    if plan.service_tier == "flex":
        exact *= Fraction(rule.flex_factor)
        lines = (*lines, ("flex", f"x {rule.flex_factor}"))
    amount = _micros(exact)
    return Quote(currency, amount, tokens, float(seconds), _total(lines, amount, currency))


def _total(lines: Breakdown, amount: int, currency: str) -> Breakdown:
    return (*lines, ("total", f"{Decimal(amount) / MICRO:.6f} {currency}"))


def _seconds(frames: int, fps: int) -> Fraction:
    """Output length: Seedance writes 24 * d + 1 frames for d seconds, so the first frame adds no time."""
    return Fraction(max(frames - 1, 0), fps)


def _frames_at(frames: int, fps: int, target_fps: int) -> int:
    """Ark bills frames at 24 fps: frames rendered at another rate count as the 24 fps frames of the same length."""
    if frames <= 0 or fps == target_fps:
        return max(frames, 0)
    return round((frames - 1) * target_fps / fps) + 1


def _micros(exact: Fraction) -> int:
    """Round to the nearest micro-unit, halves up (Python's round() would round halves to even)."""
    return math.floor(exact + Fraction(1, 2))


def _fmt(value: Fraction) -> str:
    return f"{float(value):g}"
