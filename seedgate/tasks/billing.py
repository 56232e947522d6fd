"""What a task costs: the estimate its create reserves against the key's budgets, and the charge it settles at
once it delivered."""

from __future__ import annotations

from seedgate.core.limits import Billing, Charge
from seedgate.core.plan import TaskPlan
from seedgate.core.task import Task
from seedgate.core.usage import completion_tokens


def estimate(plan: TaskPlan) -> Billing:
    """The charge a create reserves: the tokens the plan will bill."""
    return Billing(Charge(0, None, completion_tokens(plan)))


def delivered(task: Task) -> Charge | None:
    """What a succeeded task settles at: the tokens its result reports (the upstream's own number, or what the
    engine measured); None for a task that reserved nothing."""
    if task.billing is None:
        return None
    estimate = task.billing.estimate
    usage = (task.result or {}).get("usage") or {}
    tokens = int(usage.get("completion_tokens", estimate.tokens))
    amount = estimate.amount * tokens // estimate.tokens if estimate.tokens else estimate.amount
    return Charge(amount, estimate.currency, tokens)
