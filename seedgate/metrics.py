"""Prometheus metrics. Task counts are read from the store at scrape time, so every node reports the same truth."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from seedgate.core.limits import Charge, LimitExceeded

TASKS = Gauge("seedgate_tasks", "Tasks in the store by status", ["status"])
QUEUE_DEPTH = Gauge("seedgate_queue_depth", "Tasks waiting to be claimed")
ENGINE_SECONDS = Histogram(
    "seedgate_engine_seconds",
    "Wall time of engine renders",
    ["engine", "outcome"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
)
TASKS_CREATED = Counter("seedgate_tasks_created_total", "Tasks accepted", ["dialect", "model"])
WEBHOOKS = Counter("seedgate_webhook_attempts_total", "Webhook delivery attempts", ["outcome"])
# Counted by the node that settles or refuses, so Prometheus sums them over the fleet (a task settles once: the
# final transition has one winner).
SPEND = Counter(
    "seedgate_spend_micros_total",
    "What succeeded tasks cost (settled), in micro-units of the currency",
    ["model", "currency"],
)
TOKENS = Counter("seedgate_tokens_total", "Tokens of succeeded tasks (settled)", ["model"])
REFUSALS = Counter("seedgate_limit_refusals_total", "Creates refused by a budget or limit", ["reason"])


def count_settled(model: str, paid: Charge) -> None:
    """A succeeded task's delivered charge: its cost (priced models) and its tokens."""
    if paid.currency is not None:
        SPEND.labels(model, paid.currency).inc(paid.amount)
    TOKENS.labels(model).inc(paid.tokens)


def count_refusal(refused: LimitExceeded) -> None:
    REFUSALS.labels(refused.reason.value).inc()
