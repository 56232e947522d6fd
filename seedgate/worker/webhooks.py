"""Durable webhooks: rows written with the status change, sent with retries, signed the Standard Webhooks way.

Delivery rules (docs/operations.md, "Webhook delivery"):
- One task's deliveries to one URL go out one at a time, in status order (queued, running, final): the store only
  offers the first one still pending, and a later one waits until it is delivered, superseded or given up.
- Receivers are isolated: each attempt runs in its own asyncio task, at most PER_RECEIVER_LIMIT at a time per
  receiver (scheme://host:port) and CONCURRENCY in all per node, and the dispatcher never waits for an attempt. A
  receiver that hangs holds only its own slots; the others' deliveries keep flowing.
- Failed attempts are retried on RETRY_SCHEDULE_S (about 26 hours); an address the SSRF guard refuses is not.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import random
import time
from collections import Counter

import httpx

from seedgate import __version__
from seedgate.media.fetch import AddressRefused
from seedgate.metrics import WEBHOOKS
from seedgate.store.store import SUPERSEDE_AFTER_ATTEMPTS, Delivery, Store

log = logging.getLogger("seedgate.webhooks")

# Wait before each retry, after the 1st, 2nd, ... failed attempt: 12 attempts over about 26 hours, so a receiver that
# is down for a day still gets its callbacks (Ark retries, OpenAI for 72 h, fal for 2 h). Each wait is stretched by
# up to 10 % so that the retries of many deliveries that failed together do not arrive together.
RETRY_SCHEDULE_S = (5.0, 30.0, 120.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 36000.0)
# One attempt, from connecting to the response's status line. A slow receiver gets this long; the body of its
# answer is never read (only the status code matters, and a huge answer must not cost memory).
ATTEMPT_TIMEOUT_S = 30.0
# A node that dies while sending leaves its lease behind; other nodes retry the delivery once the lease ends.
LEASE_S = ATTEMPT_TIMEOUT_S + 5.0
CONCURRENCY = 64  # attempts in flight on one node, all receivers together
PER_RECEIVER_LIMIT = 4  # attempts in flight to one receiver from one node


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`webhook-signature` value per the Standard Webhooks spec (HMAC-SHA256 over id.timestamp.body)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_each(secrets: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One signature per space-separated secret, space-separated (the spec's list form), so a receiver holding
    either the new or the previous secret of a rotation verifies the delivery."""
    return " ".join(sign(secret, message_id, timestamp, body) for secret in secrets.split())


def sign_openrouter(secret: str, timestamp: int, body: bytes) -> str:
    """`X-OpenRouter-Signature` value: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>,<raw body>">`, keyed by the secret
    string itself (OpenRouter's receivers verify this way; sent beside the Standard Webhooks headers)."""
    digest = hmac.new(secret.encode(), f"{timestamp},".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def retry_delay(failed_attempts: int) -> float | None:
    """Seconds to wait after the n-th failed attempt (1-based); None when the delivery is given up."""
    if failed_attempts > len(RETRY_SCHEDULE_S):
        return None
    return RETRY_SCHEDULE_S[failed_attempts - 1] * random.uniform(1.0, 1.1)


def is_refusal(exc: BaseException) -> bool:
    """The outbound guard refused the address (internal, metadata service ...): asking again will not change that.
    A name that does not resolve is not a refusal (DNS may answer later)."""
    return isinstance(exc, AddressRefused)


class WebhookSender:
    def __init__(
        self,
        store: Store,
        secret: str,
        client: httpx.AsyncClient,
        *,
        interval_s: float = 0.5,
        concurrency: int = CONCURRENCY,
        per_receiver: int = PER_RECEIVER_LIMIT,
        attempt_timeout_s: float = ATTEMPT_TIMEOUT_S,
    ) -> None:
        self.store = store
        self.secret = secret
        self.client = client
        self.interval_s = interval_s
        self.concurrency = concurrency
        self.per_receiver = per_receiver
        self.attempt_timeout_s = attempt_timeout_s
        self.wake = asyncio.Event()  # an attempt ended: its task's next delivery or a receiver slot may be free
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._busy: Counter[str] = Counter()  # receiver -> attempts in flight

    async def run(self, stopping: asyncio.Event) -> None:
        try:
            while not stopping.is_set():
                try:
                    again = await self._dispatch(time.time())
                except Exception:
                    log.exception("webhook pass failed")
                    again = False
                if again:
                    continue
                self.wake.clear()
                waiters = [asyncio.ensure_future(stopping.wait()), asyncio.ensure_future(self.wake.wait())]
                await asyncio.wait(waiters, timeout=self.interval_s, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
        finally:
            await self._stop()

    async def _dispatch(self, now: float) -> bool:
        """Start attempts for what is due, as far as there is room; never waits for an attempt to finish.
        True when it should look again at once (it skipped deliveries of a receiver that just became full)."""
        free = self.concurrency - len(self._in_flight)
        if free <= 0:
            return False
        full = sorted(receiver for receiver, busy in self._busy.items() if busy >= self.per_receiver)
        due = await self.store.due_webhooks(now, limit=free + len(self._in_flight), skip_receivers=full)
        skipped = False
        for delivery in due:
            if delivery.id in self._in_flight:
                continue  # started in an earlier pass; its lease is being written
            if len(self._in_flight) >= self.concurrency:
                break
            if self._busy[delivery.receiver] >= self.per_receiver:
                skipped = True
                continue
            self._busy[delivery.receiver] += 1
            self._in_flight[delivery.id] = asyncio.create_task(self._attempt(delivery))
        return skipped and len(self._in_flight) < self.concurrency

    async def _attempt(self, delivery: Delivery) -> None:
        try:
            if await self.store.lease_webhook(delivery, time.time() + LEASE_S):
                await self._send(delivery)
        except Exception:
            log.exception("webhook %s: attempt failed unexpectedly", delivery.id)
        finally:
            self._busy[delivery.receiver] -= 1
            if self._busy[delivery.receiver] <= 0:
                del self._busy[delivery.receiver]
            self._in_flight.pop(delivery.id, None)
            self.wake.set()

    async def _send(self, delivery: Delivery) -> None:
        attempt = delivery.attempts + 1
        body = delivery.payload.encode()
        timestamp = int(time.time())
        signing = delivery.secret or self.secret
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"seedgate/{__version__}",
            "webhook-id": delivery.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign_each(signing, delivery.id, timestamp, body),
            "X-OpenRouter-Signature": sign_openrouter(signing.split()[0], timestamp, body),
            "X-OpenRouter-Idempotency-Key": delivery.id,
            # When the status changed, to the microsecond, and its place in the task's life (0 queued, 1 running,
            # 2 final): payload timestamps are whole seconds in some dialects.
            "X-Seedgate-Event-Time": f"{delivery.created_at:.6f}",
            "X-Seedgate-Event-Seq": str(delivery.seq),
        }
        try:
            status = await asyncio.wait_for(self._post(delivery.url, body, headers), self.attempt_timeout_s)
        except Exception as exc:
            if is_refusal(exc):
                await self.store.settle_webhook(delivery.id, "refused", time.time(), str(exc)[:500])
                WEBHOOKS.labels("refused").inc()
                log.warning("webhook %s for task %s not sent: %s", delivery.id, delivery.task_id, exc)
                return
            if isinstance(exc, TimeoutError):
                error = f"no answer within {self.attempt_timeout_s:g} s"
            else:
                error = f"{type(exc).__name__}: {exc}"[:500]
        else:
            if 200 <= status < 300:
                await self.store.settle_webhook(delivery.id, "delivered", time.time(), None)
                WEBHOOKS.labels("delivered").inc()
                return
            error = f"HTTP {status}"
        WEBHOOKS.labels("failed").inc()
        delay = retry_delay(attempt)
        outcome = await self.store.fail_webhook(
            delivery,
            None if delay is None else time.time() + delay,
            error,
            supersede=attempt >= SUPERSEDE_AFTER_ATTEMPTS,
        )
        if outcome == "dead":
            log.warning(
                "webhook %s for task %s dropped after %d attempts: %s", delivery.id, delivery.task_id, attempt, error
            )
        elif outcome == "superseded":
            log.info(
                "webhook %s for task %s superseded by a later status after %d attempts: %s",
                delivery.id,
                delivery.task_id,
                attempt,
                error,
            )

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        # Streamed and closed unread: the receiver's answer body is never loaded.
        async with self.client.stream(
            "POST", url, content=body, headers=headers, timeout=self.attempt_timeout_s
        ) as response:
            return response.status_code

    async def _stop(self) -> None:
        """Give attempts in flight a moment, then hand the rest back so another node (or the next start) sends them
        without waiting for their lease to run out."""
        pending = list(self._in_flight.values())
        if pending:
            await asyncio.wait(pending, timeout=2.0)
        unfinished = [delivery_id for delivery_id, task in self._in_flight.items() if not task.done()]
        for task in self._in_flight.values():
            task.cancel()
        if unfinished:
            with contextlib.suppress(Exception):
                await self.store.release_webhooks(unfinished)
