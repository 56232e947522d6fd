"""The webhook sender's rules, fast: a real SQLite store in a temporary directory and in-memory receivers.

The receivers sit behind an `httpx.MockTransport`, so each test decides what a receiver answers (and when) and sees
every attempt in the order the sender made it. The sender itself runs its real loop (`WebhookSender.run`); the
retry clock is moved by rewriting a delivery's due time in the store, as another node's clock would. The
end-to-end behaviour (real processes, both databases) stays in tests/test_webhook_delivery.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from seedgate.core.status import Status
from seedgate.media.fetch import AddressRefused
from seedgate.store.schema import webhook_deliveries
from seedgate.store.store import SUPERSEDE_AFTER_ATTEMPTS, Store, Webhook
from seedgate.worker.webhooks import RETRY_SCHEDULE_S, WebhookSender, sign

from .waiting import wait_until_async

SECRET = "whsec_" + "A" * 44


@dataclass
class Hit:
    host: str
    task_id: str
    status: str
    headers: dict[str, str]


@dataclass
class Receivers:
    """Every request any receiver got, in arrival order; `answer` decides each one's fate (a status, or raise)."""

    hits: list[Hit] = field(default_factory=list)
    answer: Callable[[Hit], Awaitable[int]] | None = None

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        hit = Hit(request.url.host, body["id"], body["status"], {k.lower(): v for k, v in request.headers.items()})
        self.hits.append(hit)
        status = 200 if self.answer is None else await self.answer(hit)
        return httpx.Response(status, json={})

    def seen(self, host: str | None = None) -> list[tuple[str, str]]:
        return [(h.task_id, h.status) for h in self.hits if host is None or h.host == host]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'hooks.db'}")
    await store.migrate()
    yield store
    await store.close()


@pytest.fixture
def receivers() -> Receivers:
    return Receivers()


@pytest.fixture
async def sender(store: Store, receivers: Receivers) -> AsyncIterator[WebhookSender]:
    """A running sender (per receiver: 2 attempts at a time) over the in-memory receivers; stopped after the test."""
    client = httpx.AsyncClient(transport=httpx.MockTransport(receivers.handle))
    sender = WebhookSender(store, SECRET, client, interval_s=0.02, per_receiver=2, attempt_timeout_s=5)
    stopping = asyncio.Event()
    loop = asyncio.create_task(sender.run(stopping))
    yield sender
    stopping.set()
    await loop
    await client.aclose()


async def queue(store: Store, task_id: str, url: str, *statuses: Status) -> None:
    """Record the task's status changes with their deliveries, as the status changes themselves do."""
    for status in statuses:
        await store.add_webhooks(task_id, [Webhook(url, {"id": task_id, "status": status.value})], status=status)


async def history(store: Store, task_id: str) -> list[dict[str, Any]]:
    return await store.webhook_history(task_id)


async def settled(store: Store, task_id: str, count: int, what: str) -> list[dict[str, Any]]:
    return await wait_until_async(
        lambda: history(store, task_id),
        what,
        until=lambda rows: len(rows) == count and all(r["status"] != "pending" for r in rows),
    )


def attempt_failed(index: int, attempt: int) -> Callable[[list[dict[str, Any]]], bool]:
    """The task's `index`-th delivery has made its `attempt`-th attempt, and that attempt's outcome is recorded."""
    return lambda rows: rows[index]["attempts"] == attempt and rows[index]["last_error"] is not None


async def make_due(store: Store, task_id: str, sender: WebhookSender) -> None:
    """The retry clock moved on: the task's pending deliveries are due now."""
    async with store.engine.begin() as conn:
        await conn.execute(
            webhook_deliveries.update()
            .where(webhook_deliveries.c.task_id == task_id, webhook_deliveries.c.status == "pending")
            .values(next_attempt_at=0)
        )
    sender.wake.set()


# -- ordering --------------------------------------------------------------------------------------------------------


async def test_one_task_s_callbacks_go_out_one_at_a_time_in_status_order(
    store: Store, receivers: Receivers, sender: WebhookSender
) -> None:
    gate = asyncio.Event()

    async def answer(hit: Hit) -> int:
        if hit.task_id == "cgt-a" and hit.status == "queued":
            await gate.wait()  # task a's first callback is slow to be answered
        return 200

    receivers.answer = answer
    # Task a's whole life is recorded while its first callback is still unanswered.
    await queue(store, "cgt-a", "http://hooks.example/cb", Status.QUEUED, Status.RUNNING, Status.SUCCEEDED)
    await queue(store, "cgt-b", "http://hooks.example/cb", Status.QUEUED, Status.RUNNING)
    # Task b's callbacks pass task a's held one on the same receiver; task a's later ones wait behind it.
    await settled(store, "cgt-b", 2, "task b's callbacks")
    assert sorted(receivers.seen()) == [("cgt-a", "queued"), ("cgt-b", "queued"), ("cgt-b", "running")]
    assert [s for t, s in receivers.seen() if t == "cgt-b"] == ["queued", "running"]
    gate.set()
    rows = await settled(store, "cgt-a", 3, "task a's callbacks")
    assert [r["status"] for r in rows] == ["delivered"] * 3
    assert [s for t, s in receivers.seen() if t == "cgt-a"] == ["queued", "running", "succeeded"]


async def test_each_attempt_is_signed_with_its_id_and_event_sequence(
    store: Store, receivers: Receivers, sender: WebhookSender
) -> None:
    await queue(store, "cgt-s", "http://hooks.example/cb", Status.QUEUED, Status.RUNNING)
    rows = await settled(store, "cgt-s", 2, "both callbacks")
    for row, hit in zip(rows, receivers.hits, strict=True):
        assert hit.headers["webhook-id"] == row["id"]
        body = json.dumps(row["payload"], ensure_ascii=False).encode()
        expected = sign(SECRET, row["id"], int(hit.headers["webhook-timestamp"]), body)
        assert hit.headers["webhook-signature"] == expected
    assert [h.headers["x-seedgate-event-seq"] for h in receivers.hits] == ["0", "1"]


# -- isolation -------------------------------------------------------------------------------------------------------


async def test_a_hanging_receiver_holds_only_its_own_slots(
    store: Store, receivers: Receivers, sender: WebhookSender
) -> None:
    release = asyncio.Event()

    async def answer(hit: Hit) -> int:
        if hit.host == "hangs.example":
            await release.wait()
        return 200

    receivers.answer = answer
    for i in range(5):
        await queue(store, f"cgt-hang-{i}", "http://hangs.example/cb", Status.QUEUED)
    for i in range(5):
        await queue(store, f"cgt-ok-{i}", "http://ok.example/cb", Status.QUEUED, Status.SUCCEEDED)
    for i in range(5):
        await settled(store, f"cgt-ok-{i}", 2, f"the healthy receiver's callbacks for task {i}")
    # While the healthy receiver got all ten, the hanging one held exactly its two slots (per_receiver=2).
    assert len(receivers.seen("ok.example")) == 10
    assert len(receivers.seen("hangs.example")) == 2
    release.set()
    for i in range(5):
        await settled(store, f"cgt-hang-{i}", 1, f"the hanging receiver's callback for task {i} after release")
    assert len(receivers.seen("hangs.example")) == 5


# -- retries and refusals ---------------------------------------------------------------------------------------------


async def test_failed_attempts_back_off_on_the_schedule_then_give_up(
    store: Store, receivers: Receivers, sender: WebhookSender
) -> None:
    async def answer(hit: Hit) -> int:
        return 503

    receivers.answer = answer
    before = time.time()
    await queue(store, "cgt-r", "http://down.example/cb", Status.QUEUED)
    for attempt, base in enumerate(RETRY_SCHEDULE_S[:3], start=1):
        if attempt > 1:
            before = time.time()
            await make_due(store, "cgt-r", sender)
        [row] = await wait_until_async(
            lambda: history(store, "cgt-r"),
            f"attempt {attempt} to fail",
            until=attempt_failed(0, attempt),
        )
        after = time.time()
        # Pending again, due after the schedule's wait for this attempt (stretched by up to 10 %), never sooner.
        assert row["status"] == "pending" and row["last_error"] == "HTTP 503"
        assert before + base <= row["next_attempt_at"] <= after + base * 1.1
        await clear_error(store, "cgt-r")
    # The last attempt of the schedule fails too: the delivery is given up, not retried.
    await set_attempts(store, "cgt-r", len(RETRY_SCHEDULE_S))
    await make_due(store, "cgt-r", sender)
    [row] = await settled(store, "cgt-r", 1, "the last attempt")
    assert row["status"] == "dead" and row["attempts"] == len(RETRY_SCHEDULE_S) + 1


async def test_a_refused_address_is_settled_after_one_attempt(
    store: Store, receivers: Receivers, sender: WebhookSender
) -> None:
    async def answer(hit: Hit) -> int:
        if hit.host == "internal.example":
            raise AddressRefused("address 10.0.0.1 is not allowed (private)")
        raise httpx.ConnectError("connection refused")

    receivers.answer = answer
    await queue(store, "cgt-refused", "http://internal.example/cb", Status.QUEUED)
    await queue(store, "cgt-down", "http://down.example/cb", Status.QUEUED)
    [refused] = await settled(store, "cgt-refused", 1, "the refused delivery")
    assert refused["status"] == "refused" and refused["attempts"] == 1 and "not allowed" in refused["last_error"]
    # A connection that fails is a different matter: retried later.
    [down] = await wait_until_async(
        lambda: history(store, "cgt-down"),
        "the failed connection",
        until=lambda rows: rows[0]["last_error"] is not None,
    )
    assert down["status"] == "pending" and down["attempts"] == 1
    assert down["last_error"] == "ConnectError: connection refused"
    # Even when everything is due again, the refused delivery is never attempted twice.
    await make_due(store, "cgt-down", sender)
    await wait_until_async(
        lambda: history(store, "cgt-down"), "a second attempt", until=lambda r: r[0]["attempts"] == 2
    )
    assert receivers.seen("internal.example") == [("cgt-refused", "queued")]


async def test_a_callback_that_keeps_failing_is_superseded_by_the_next_status(
    store: Store, receivers: Receivers, sender: WebhookSender
) -> None:
    async def answer(hit: Hit) -> int:
        return 500 if hit.status == "running" else 200

    receivers.answer = answer
    await queue(store, "cgt-x", "http://picky.example/cb", Status.QUEUED, Status.RUNNING, Status.SUCCEEDED)
    for attempt in range(1, SUPERSEDE_AFTER_ATTEMPTS + 1):
        if attempt > 1:
            await make_due(store, "cgt-x", sender)
        await wait_until_async(
            lambda: history(store, "cgt-x"),
            f"running's attempt {attempt}",
            until=attempt_failed(1, attempt),
        )
        if attempt < SUPERSEDE_AFTER_ATTEMPTS:
            await clear_error(store, "cgt-x")
    rows = await settled(store, "cgt-x", 3, "the final callback")
    assert [r["status"] for r in rows] == ["delivered", "superseded", "delivered"]
    assert receivers.seen() == [("cgt-x", "queued")] + [("cgt-x", "running")] * 3 + [("cgt-x", "succeeded")]


async def test_an_attempt_without_an_answer_times_out_and_is_retried(store: Store, receivers: Receivers) -> None:
    never = asyncio.Event()

    async def answer(hit: Hit) -> int:
        await never.wait()
        return 200

    receivers.answer = answer
    client = httpx.AsyncClient(transport=httpx.MockTransport(receivers.handle))
    sender = WebhookSender(store, SECRET, client, interval_s=0.02, attempt_timeout_s=0.2)
    stopping = asyncio.Event()
    loop = asyncio.create_task(sender.run(stopping))
    try:
        await queue(store, "cgt-t", "http://silent.example/cb", Status.QUEUED)
        [row] = await wait_until_async(
            lambda: history(store, "cgt-t"), "the attempt to time out", until=lambda r: r[0]["last_error"] is not None
        )
    finally:
        stopping.set()
        await loop
        await client.aclose()
    assert row["status"] == "pending" and row["attempts"] == 1 and row["last_error"] == "no answer within 0.2 s"


async def clear_error(store: Store, task_id: str) -> None:
    """Forget the last error, so the next wait sees the next attempt's own outcome."""
    async with store.engine.begin() as conn:
        await conn.execute(
            webhook_deliveries.update().where(webhook_deliveries.c.task_id == task_id).values(last_error=None)
        )


async def set_attempts(store: Store, task_id: str, attempts: int) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(
            webhook_deliveries.update()
            .where(webhook_deliveries.c.task_id == task_id, webhook_deliveries.c.status == "pending")
            .values(attempts=attempts, last_error=None)
        )


# -- leases ----------------------------------------------------------------------------------------------------------


async def test_a_late_outcome_does_not_undo_another_node_s_attempt(store: Store) -> None:
    """A node whose lease ran out mid-attempt reports late: its failure must not reschedule the attempt another node
    leased since, and a final outcome is never overwritten."""
    await queue(store, "t-late", "http://a.example/hook", Status.SUCCEEDED)
    (first,) = await store.due_webhooks(time.time())
    assert await store.lease_webhook(first, time.time() - 1)  # node A's lease, already run out
    (again,) = await store.due_webhooks(time.time())
    assert await store.lease_webhook(again, time.time() + 60)  # node B leases it for the next attempt

    # Node A's failure arrives late: nothing changes, and it hears the row is still pending under B's lease.
    assert await store.fail_webhook(first, time.time() + 5, "HTTP 500", supersede=False) == "pending"
    (row,) = await history(store, "t-late")
    assert row["attempts"] == 2 and row["last_error"] is None

    # B's delivery is a fact; a failure from either attempt afterwards leaves it delivered.
    await store.settle_webhook(again.id, "delivered", time.time(), None)
    assert await store.fail_webhook(again, None, "HTTP 500", supersede=False) == "delivered"
    await store.settle_webhook(first.id, "refused", time.time(), "late")
    (row,) = await history(store, "t-late")
    assert row["status"] == "delivered" and row["last_error"] is None
