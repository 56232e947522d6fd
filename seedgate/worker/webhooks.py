"""Durable webhooks: rows written with the status change, sent with retries, signed the Standard Webhooks way."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import time

import httpx

from seedgate import __version__
from seedgate.metrics import WEBHOOKS
from seedgate.store.store import Delivery, Store

log = logging.getLogger("seedgate.webhooks")

# Ark retries a callback three times; after the first try we wait this long before each retry.
BACKOFF_S = (5.0, 30.0, 120.0)
ATTEMPT_TIMEOUT_S = 5.0
IN_FLIGHT_LEASE_S = 60.0


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`webhook-signature` value per the Standard Webhooks spec (HMAC-SHA256 over id.timestamp.body)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_openrouter(secret: str, timestamp: int, body: bytes) -> str:
    """`X-OpenRouter-Signature` value: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>,<raw body>">`, keyed by the secret
    string itself (OpenRouter's receivers verify this way; sent beside the Standard Webhooks headers)."""
    digest = hmac.new(secret.encode(), f"{timestamp},".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class WebhookSender:
    def __init__(self, store: Store, secret: str, client: httpx.AsyncClient, *, interval_s: float = 0.5,
                 concurrency: int = 16) -> None:
        self.store = store
        self.secret = secret
        self.client = client
        self.interval_s = interval_s
        self._limit = asyncio.Semaphore(concurrency)

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                due = await self.store.due_webhooks(time.time())
                await asyncio.gather(*(self._attempt(d) for d in due))
            except Exception:
                log.exception("webhook pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.interval_s)

    async def _attempt(self, delivery: Delivery) -> None:
        if not await self.store.lease_webhook(delivery, time.time() + IN_FLIGHT_LEASE_S):
            return  # another node is sending it
        attempt = delivery.attempts + 1
        body = delivery.payload.encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"seedgate/{__version__}",
            "webhook-id": delivery.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(delivery.secret or self.secret, delivery.id, timestamp, body),
            "X-OpenRouter-Signature": sign_openrouter(delivery.secret or self.secret, timestamp, body),
            "X-OpenRouter-Idempotency-Key": delivery.id,
        }
        error = None
        async with self._limit:
            try:
                response = await self.client.post(delivery.url, content=body, headers=headers,
                                                  timeout=ATTEMPT_TIMEOUT_S)
                if 200 <= response.status_code < 300:
                    await self.store.settle_webhook(delivery.id, "delivered", time.time(), None)
                    WEBHOOKS.labels("delivered").inc()
                    return
                error = f"HTTP {response.status_code}"
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
        WEBHOOKS.labels("failed").inc()
        if attempt > len(BACKOFF_S):
            log.warning("webhook %s for task %s dropped after %d attempts: %s", delivery.id, delivery.task_id,
                        attempt, error)
            await self.store.settle_webhook(delivery.id, "dead", time.time(), error)
        else:
            await self.store.settle_webhook(delivery.id, "pending", time.time() + BACKOFF_S[attempt - 1], error)
