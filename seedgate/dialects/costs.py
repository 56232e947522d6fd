"""What a task cost, as seedgate's own answers show it (the Ark task's `cost`, the console's detail, the client's
`Task.cost`): the delivered cost its settle recorded in the result, the estimate its create took while it is not
finished, and zero for a priced task that ended without a video (nothing is charged for what was not delivered)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from seedgate.core.limits import MICRO
from seedgate.core.status import Status
from seedgate.core.task import Task


def money(amount: int, currency: str) -> dict[str, Any]:
    """Micro-units as the JSON every seedgate answer uses: the decimal amount and the exact integer beside it."""
    return {
        "currency": currency,
        "amount": float((Decimal(amount) / MICRO).quantize(Decimal("0.000001"))),
        "amount_micros": amount,
    }


def task_cost(task: Task) -> dict[str, Any] | None:
    """None when the task's model has no price (or the task predates prices)."""
    recorded = (task.result or {}).get("cost")
    if task.status is Status.SUCCEEDED and isinstance(recorded, dict) and recorded.get("currency"):
        return money(int(recorded["amount"]), str(recorded["currency"]))
    billing = task.billing
    if billing is None or billing.estimate.currency is None or task.status is Status.SUCCEEDED:
        return None
    if task.status.terminal:
        return money(0, billing.estimate.currency)
    return {**money(billing.estimate.amount, billing.estimate.currency), "estimated": True}
