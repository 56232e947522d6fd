"""What a task costs: the estimate its create reserves against the key's budgets (at the catalog's price, kept
with the task), and the charge it settles at once it delivered (core/pricing.py's rules)."""

from __future__ import annotations

from seedgate.core.catalog import Catalog
from seedgate.core.limits import Billing, Charge
from seedgate.core.plan import TaskPlan
from seedgate.core.price import parse_price
from seedgate.core.pricing import Delivered, Quote, charge, estimate
from seedgate.core.task import Task
from seedgate.core.usage import completion_tokens


def _charge(quote: Quote, tokens: int) -> Charge:
    return Charge(quote.amount, quote.currency, quote.tokens if quote.tokens is not None else tokens)


def billing_for(plan: TaskPlan, catalog: Catalog) -> Billing:
    """What a create reserves: the plan's estimate at the model's price (tokens only for an unpriced model, which
    a money budget then refuses), and the price itself, so that the settle uses the price the task was accepted at."""
    price = catalog.models[plan.model_id].price
    tokens = completion_tokens(plan)
    if price is None:
        return Billing(Charge(0, None, tokens))
    return Billing(_charge(estimate(plan, price), tokens), price=price.summary())


def delivered(task: Task) -> Charge | None:
    """What a succeeded task settles at, from what it delivered: the upstream's reported tokens when it reported
    them, else the frames the engine rendered; None for a task that reserved nothing."""
    if task.billing is None:
        return None
    result = task.result or {}
    usage = result.get("usage") or {}
    upstream = str(result.get("engine", "")).startswith("upstream:")
    facts = Delivered(
        completion_tokens=int(usage["completion_tokens"]) if upstream and "completion_tokens" in usage else None,
        frames=int(result["frames"]) if result.get("frames") else None,
    )
    price = parse_price(task.billing.price) if task.billing.price is not None else None
    if price is None:  # counted in tokens only
        reported = facts.completion_tokens
        return Charge(0, None, reported if reported is not None else task.billing.estimate.tokens)
    return _charge(charge(task.spec, price, facts), task.billing.estimate.tokens)
