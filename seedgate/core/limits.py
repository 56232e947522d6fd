"""Budgets and limits on what keys may spend and send: the rules, as pure functions over a budget's state.

A budget is shared by every key linked to it (a project, a team, a user) and a key may be linked to several (its
own and its project's): a create must pass every one. The store applies these rules inside the transaction that
stores the task, with the budget rows locked, so many API nodes never let a budget go over (store/budgets.py).

Money is counted in integer micro-units (1e-6 of the currency), tokens in tokens: no floats in the books.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

MICRO = 1_000_000  # micro-units per unit of currency
RATE_WINDOW_S = 60.0
PERIODS = ("day", "week", "month")
_AMOUNT = re.compile(r"(-?)([0-9]{1,12})(?:\.([0-9]{1,6}))?")


class Refused(StrEnum):
    """Why a create was refused; each names the limit in the caller's answer."""

    BUDGET = "budget"
    RATE = "rpm"
    QUEUED = "queued"
    MODEL = "model"
    EXPIRED = "expired"
    CURRENCY = "currency"


class LimitExceeded(Exception):
    def __init__(self, reason: Refused, budget: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.budget = budget
        self.message = message
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Charge:
    """What one task costs (an estimate at create, the delivered cost at the end): money in the price's currency
    (None: the model has no price) and tokens."""

    amount: int  # micro-units of `currency`
    currency: str | None
    tokens: int

    def in_unit(self, unit: str) -> int | None:
        """The charge in a budget's unit ("tokens" or a currency code); None when it cannot be counted in it."""
        if unit == "tokens":
            return self.tokens
        return self.amount if self.currency == unit else None

    def to_json(self) -> dict[str, Any]:
        return {"amount": self.amount, "currency": self.currency, "tokens": self.tokens}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Charge:
        return cls(int(data["amount"]), data.get("currency"), int(data.get("tokens", 0)))


@dataclass(frozen=True)
class Billing:
    """What a task's create reserved and against which budgets, and the price it was quoted at: its settle or
    refund needs nothing else (a catalog price changed later does not change what an accepted task costs)."""

    estimate: Charge
    budgets: tuple[str, ...] = ()
    price: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"estimate": self.estimate.to_json(), "budgets": list(self.budgets), "price": self.price}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Billing:
        return cls(Charge.from_json(data["estimate"]), tuple(data.get("budgets") or ()), data.get("price"))


@dataclass(frozen=True)
class Budget:
    id: str
    name: str
    unit: str  # "tokens" or a currency code ("CNY", "USD")
    limit: int | None = None  # per period, in micro-units or tokens; None: no cap (the budget only counts)
    period: str | None = None  # "day" | "week" | "month" (UTC); None: the limit never resets
    period_start: float = 0.0
    used: int = 0  # reserved and settled in the current period
    models: tuple[str, ...] | None = None  # allowed model IDs; None: any
    expires_at: float | None = None
    rpm: int | None = None  # creates per minute
    window_start: float = 0.0
    window_count: int = 0
    max_queued: int | None = None  # tasks queued at once (Ark: 120 per account, then 429 QuotaExceeded)
    max_running: int | None = None  # tasks running at once (beyond it they wait in the queue, as on Ark)
    created_at: float = 0.0

    def current(self, now: float) -> Budget:
        """The budget as of `now`: a new period starts from zero, a new rate window from zero."""
        budget = self
        if budget.period is not None and now >= period_end(budget.period, budget.period_start):
            budget = replace(budget, period_start=period_start(budget.period, now), used=0)
        if now - budget.window_start >= RATE_WINDOW_S:
            budget = replace(budget, window_start=now, window_count=0)
        return budget

    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)


def admit(budget: Budget, model: str, charge: Charge, queued: int, now: float) -> Budget:
    """The budget after admitting one more task of `model` costing `charge`, with `queued` of its tasks already
    waiting; raises LimitExceeded naming the first limit it would break. `budget` must be current(now)."""
    name = budget.name
    if budget.expires_at is not None and now >= budget.expires_at:
        raise LimitExceeded(Refused.EXPIRED, name, f"the budget {name!r} expired")
    if budget.models is not None and model not in budget.models:
        raise LimitExceeded(Refused.MODEL, name, f"the budget {name!r} does not allow the model {model}")
    if budget.rpm is not None and budget.window_count >= budget.rpm:
        wait = max(1.0, budget.window_start + RATE_WINDOW_S - now)
        raise LimitExceeded(Refused.RATE, name, f"the budget {name!r} allows {budget.rpm} creates a minute", wait)
    if budget.max_queued is not None and queued >= budget.max_queued:
        raise LimitExceeded(
            Refused.QUEUED, name, f"the budget {name!r} allows {budget.max_queued} queued tasks; {queued} are queued"
        )
    cost = charge.in_unit(budget.unit)
    if cost is None:
        raise LimitExceeded(
            Refused.CURRENCY, name, f"the model {model} has no price in {budget.unit}, the unit of budget {name!r}"
        )
    if budget.limit is not None and budget.used + cost > budget.limit:
        raise LimitExceeded(
            Refused.BUDGET,
            name,
            f"the budget {name!r} has {describe(budget.unit, budget.remaining() or 0)} left of "
            f"{describe(budget.unit, budget.limit)}{' this ' + budget.period if budget.period else ''}; "
            f"this task costs {describe(budget.unit, cost)}",
        )
    return replace(budget, used=budget.used + cost, window_count=budget.window_count + 1)


def admit_all(
    budgets: dict[str, Budget], wanted: Sequence[str], model: str, charge: Charge, queued: dict[str, int], now: float
) -> dict[str, Budget]:
    """Admit one task against every budget in `wanted`: all pass and the new states are returned, or none changes."""
    return {bid: admit(budgets[bid], model, charge, queued.get(bid, 0), now) for bid in wanted}


def describe(unit: str, amount: int) -> str:
    if unit == "tokens":
        return f"{amount:,} tokens"
    return f"{amount / MICRO:,.2f} {unit}"


def parse_money(text: str) -> int:
    """A decimal amount ("12.5") in micro-units, exactly (no float rounding); ValueError when it is not one."""
    match = _AMOUNT.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not an amount with at most 6 decimal places")
    sign, whole, fraction = match.groups()
    return (-1 if sign else 1) * (int(whole) * MICRO + int((fraction or "").ljust(6, "0")))


def period_start(period: str, now: float) -> float:
    """The start (UTC) of the day, ISO week or month holding `now`."""
    t = time.gmtime(now)
    midnight = calendar.timegm((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0))
    if period == "day":
        return float(midnight)
    if period == "week":
        return float(midnight - t.tm_wday * 86400)
    if period == "month":
        return float(calendar.timegm((t.tm_year, t.tm_mon, 1, 0, 0, 0)))
    raise ValueError(f"unknown budget period {period!r}; use one of {', '.join(PERIODS)}")


def period_end(period: str, start: float) -> float:
    if period == "day":
        return start + 86400
    if period == "week":
        return start + 7 * 86400
    t = time.gmtime(start)
    year, month = (t.tm_year + 1, 1) if t.tm_mon == 12 else (t.tm_year, t.tm_mon + 1)
    return float(calendar.timegm((year, month, 1, 0, 0, 0)))
