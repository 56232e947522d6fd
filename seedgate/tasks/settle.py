"""A task's next status, written together with the webhooks that status causes and, for a final status, the
settle or refund of what its create reserved (one transaction)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.metrics import count_settled
from seedgate.store.store import Store, Webhook

from .billing import delivered

WebhooksFor = Callable[[Task], Awaitable[list[Webhook]]]


async def settle(
    store: Store,
    webhooks_for: WebhooksFor,
    task: Task,
    target: Status,
    *,
    now: float | None = None,
    lease_owner: str | None = None,
    **fields: Any,
) -> bool:
    """Move `task` to `target` with `fields` (result, error_code/error_message, progress ...); False when another
    actor got there first. The webhooks are rendered from the task as it will be, so they carry the new state."""
    now = time.time() if now is None else now
    paid = delivered(replace(task, result=fields.get("result", task.result))) if target is Status.SUCCEEDED else None
    if paid is not None and paid.currency is not None and fields.get("result") is not None:
        # What it cost, in the result every answer renders from (usage.cost, the task's own `cost`).
        fields["result"] = {**fields["result"], "cost": {"amount": paid.amount, "currency": paid.currency}}
    after = replace(
        task,
        status=target,
        updated_at=now,
        finished_at=now if target.terminal else None,
        result=fields.get("result", task.result),
        error={"code": fields["error_code"], "message": fields["error_message"]}
        if "error_code" in fields
        else task.error,
    )
    # Handing a task back to the queue is not a change a client hears about.
    webhooks = await webhooks_for(after) if target is not Status.QUEUED else []
    won = await store.transition(
        task, target, webhooks=webhooks, lease_owner=lease_owner, delivered=paid, now=now, **fields
    )
    if won and paid is not None:
        count_settled(task.model, paid)
    return won
