"""Prices as catalog data: a model's price rule (per 1M tokens, or per second by resolution), parsed and checked.

core/pricing.py turns a plan and a price into a quote; docs/pricing.md has the rules and the catalog syntax.
Amounts are exact decimals as written in the catalog (never floats).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

DEFAULT_FLEX_FACTOR = Decimal("0.5")  # Ark's flex tier costs half of online (ark_api.md section 5)
_CURRENCY = re.compile(r"[A-Z]{3}")
_RESOLUTION = re.compile(r"(\d+)([pk])")
_TOKEN_KEYS = {"per_million_tokens", "per_million_tokens_with_video", "flex_factor", "min_tokens"}
_SECONDS_KEYS = {"per_second"}


class PriceError(ValueError):
    """A price in catalog data is wrong; the message names the field (`price.<field>`)."""


@dataclass(frozen=True)
class TokensRule:
    """Ark's billing: a price per 1M completion tokens."""

    per_million: Decimal
    per_million_with_video: Decimal | None = None  # when the task has a reference video; None: the same price
    flex_factor: Decimal = DEFAULT_FLEX_FACTOR
    min_tokens: int | None = None  # a task is billed at least this many tokens; None: no minimum known

    def rate(self, with_video: bool) -> Decimal:
        if with_video and self.per_million_with_video is not None:
            return self.per_million_with_video
        return self.per_million


@dataclass(frozen=True)
class SecondsRule:
    """A price per output second, by resolution label ("480p", "720p", "4k")."""

    per_second: tuple[tuple[str, Decimal], ...]

    def rate_for(self, width: int, height: int) -> tuple[str, Decimal]:
        """The priced resolution nearest in pixel area (on a log scale) to a width x height."""
        area = math.log(max(width * height, 1))
        return min(self.per_second, key=lambda item: abs(math.log(nominal_area(item[0])) - area))


@dataclass(frozen=True)
class Price:
    currency: str
    rule: TokensRule | SecondsRule

    def summary(self) -> dict[str, Any]:
        """The price as data (`GET /v1/models`, a billing snapshot): decimals as strings, so no digit is lost;
        parse_price reads it back as the same price."""
        out: dict[str, Any] = {"currency": self.currency}
        rule = self.rule
        if isinstance(rule, TokensRule):
            out["per_million_tokens"] = str(rule.per_million)
            if rule.per_million_with_video is not None:
                out["per_million_tokens_with_video"] = str(rule.per_million_with_video)
            out["flex_factor"] = str(rule.flex_factor)
            if rule.min_tokens is not None:
                out["min_tokens"] = rule.min_tokens
        else:
            out["per_second"] = {label: str(rate) for label, rate in rule.per_second}
        return out


def nominal_area(label: str) -> int:
    """Pixels of a resolution label at 16:9: "720p" is 1280 x 720, "2k" 2560 x 1440, "4k" 3840 x 2160."""
    match = _RESOLUTION.fullmatch(label)
    if match is None:
        raise PriceError(f"{label!r} is not a resolution such as 480p, 720p, 1080p or 4k")
    size = int(match[1])
    height = size * 720 if match[2] == "k" else size
    return height * height * 16 // 9


# -- parsing ------------------------------------------------------------------------------------------------------


def parse_price(raw: object) -> Price | None:
    """A `price` table from catalog data; `false` means no price. Raises PriceError naming the field."""
    if raw is False:
        return None
    if not isinstance(raw, Mapping):
        raise PriceError("price must be a table (or false for no price)")
    currency = raw.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise PriceError('price.currency must be an ISO 4217 code such as "CNY" or "USD"')
    keys = set(raw) - {"currency"}
    if keys & _TOKEN_KEYS and keys & _SECONDS_KEYS:
        raise PriceError("price takes per_million_tokens or per_second, not both")
    unknown = keys - _TOKEN_KEYS - _SECONDS_KEYS
    if unknown:
        allowed = ", ".join(sorted(_TOKEN_KEYS | _SECONDS_KEYS | {"currency"}))
        raise PriceError(f"price has unknown fields {sorted(unknown)}; it takes {allowed}")
    if "per_second" in raw:
        return Price(currency, _seconds_rule(raw["per_second"]))
    if "per_million_tokens" not in raw:
        raise PriceError("price needs per_million_tokens (Ark's token billing) or per_second (by resolution)")
    with_video = raw.get("per_million_tokens_with_video")
    min_tokens = raw.get("min_tokens")
    if min_tokens is not None and (type(min_tokens) is not int or min_tokens < 0):
        raise PriceError("price.min_tokens must be a whole number >= 0")
    rule = TokensRule(
        per_million=_amount(raw["per_million_tokens"], "per_million_tokens"),
        per_million_with_video=None if with_video is None else _amount(with_video, "per_million_tokens_with_video"),
        flex_factor=_amount(raw.get("flex_factor", DEFAULT_FLEX_FACTOR), "flex_factor"),
        min_tokens=min_tokens,
    )
    return Price(currency, rule)


def _seconds_rule(raw: object) -> SecondsRule:
    if not isinstance(raw, Mapping) or not raw:
        raise PriceError('price.per_second must be a table of resolution -> price, e.g. { "480p" = 0.01 }')
    rates = []
    for label, value in raw.items():
        try:
            nominal_area(label)
        except PriceError as exc:
            raise PriceError(f"price.per_second: {exc}") from None
        rates.append((label, _amount(value, f"per_second.{label}")))
    return SecondsRule(tuple(rates))


def _amount(value: object, name: str) -> Decimal:
    """An exact decimal from a TOML number or a string ("4.2"): a float's shortest repr is the decimal written."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise PriceError(f"price.{name} must be a number >= 0")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise PriceError(f"price.{name} must be a number >= 0, got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise PriceError(f"price.{name} must be a number >= 0, got {value!r}")
    return amount


def check_covers(price: Price, resolutions: tuple[str, ...]) -> None:
    """A seconds price names every resolution the model renders (else the nearest priced one would apply)."""
    if isinstance(price.rule, SecondsRule):
        priced = {label for label, _ in price.rule.per_second}
        missing = [r for r in resolutions if r not in priced]
        if missing:
            raise PriceError(f"price.per_second lacks {', '.join(missing)}")
