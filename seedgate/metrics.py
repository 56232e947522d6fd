"""Prometheus metrics. Task counts are read from the store at scrape time, so every node reports the same truth."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
