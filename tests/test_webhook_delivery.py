"""Webhook delivery: one task's callbacks in status order, receivers isolated from each other, retries that never
overtake a later callback, refused addresses not retried; and key revocation reaching every node and its links.

Receivers here record events (arrival, a connection the sender abandoned); no assertion is about durations.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from seedgate.media.fetch import FetchError, FetchPolicy, guarded_client
from seedgate.store.store import Store, Webhook
from seedgate.worker.webhooks import RETRY_SCHEDULE_S, WebhookSender, is_refusal, retry_delay

from .conftest import API_KEY, Database, Server, downgrade_to, execute_sql, server_env, start_server, wait_status
from .waiting import wait_until, wait_until_async

PRO = "doubao-seedance-1-0-pro-250528"
TASKS = "/api/v3/contents/generations/tasks"
FINAL = ("succeeded", "failed", "expired", "cancelled")


# -- a receiver that records what arrives, in arrival order -----------------------------------------------------


@dataclass
class Arrival:
    path: str
    task_id: str
    status: str
    webhook_id: str
    event_time: float
    seq: int


@dataclass
class Receiver:
    """POSTs to /ok answer 200 at once (after a random few ms, to shuffle concurrent senders); /hang waits until
    `release` is set, noting when the sender gave up on the connection; /refuse-queued answers 500 to `queued`."""

    arrivals: list[Arrival] = field(default_factory=list)
    hanging: int = 0
    abandoned: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    httpd: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                body = json.loads(raw or b"{}")
                arrival = Arrival(
                    self.path,
                    body.get("id", ""),
                    body.get("status", ""),
                    self.headers.get("webhook-id", ""),
                    float(self.headers.get("X-Seedgate-Event-Time", "0")),
                    int(self.headers.get("X-Seedgate-Event-Seq", "-1")),
                )
                with receiver.lock:
                    receiver.arrivals.append(arrival)
                code = 200
                if self.path.startswith("/hang"):
                    code = receiver._hang(self.connection)
                elif self.path.startswith("/refuse-queued") and arrival.status == "queued":
                    code = 500
                else:
                    time.sleep(random.uniform(0, 0.03))
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def _hang(self, conn: socket.socket) -> int:
        with self.lock:
            self.hanging += 1
        try:
            while not self.release.wait(0.05):
                readable, _, _ = select.select([conn], [], [], 0)
                if readable and conn.recv(1, socket.MSG_PEEK) == b"":
                    with self.lock:
                        self.abandoned += 1  # the sender closed the connection: it gave up on this attempt
                    return 200
            return 200
        finally:
            with self.lock:
                self.hanging -= 1

    def statuses(self, task_id: str, prefix: str = "/") -> list[str]:
        with self.lock:
            return [a.status for a in self.arrivals if a.task_id == task_id and a.path.startswith(prefix)]

    def for_task(self, task_id: str) -> list[Arrival]:
        with self.lock:
            return [a for a in self.arrivals if a.task_id == task_id]

    def stop(self) -> None:
        self.release.set()
        if self.httpd is not None:
            self.httpd.shutdown()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver().start()
    yield rec
    rec.stop()


@pytest.fixture(scope="module")
def node(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(database, tmp_path_factory.mktemp("hooks") / "data", "--workers", "2")
    yield srv
    srv.stop()


def create(server: Server, callback_url: str, prompt: str = "hook", key: str = API_KEY) -> str:
    with server.client(key) as http:
        response = http.post(
            TASKS,
            json={
                "model": PRO,
                "content": [{"type": "text", "text": prompt}],
                "resolution": "480p",
                "duration": 2,
                "callback_url": callback_url,
            },
        )
    assert response.status_code == 200, response.text
    return response.json()["id"]


def history(server: Server, task_id: str) -> list[dict[str, Any]]:
    with server.client() as http:
        response = http.get(f"/console/api/tasks/{task_id}")
    assert response.status_code == 200, response.text
    return response.json()["webhooks"]


# -- pure rules -------------------------------------------------------------------------------------------------


def test_retry_schedule_spans_more_than_a_day_then_gives_up() -> None:
    assert list(RETRY_SCHEDULE_S) == sorted(RETRY_SCHEDULE_S)  # backing off, never speeding up
    for attempt, base in enumerate(RETRY_SCHEDULE_S, start=1):
        wait = retry_delay(attempt)
        assert wait is not None and base <= wait <= base * 1.1  # stretched by up to 10 %, never shortened
    assert sum(RETRY_SCHEDULE_S) >= 24 * 3600  # the shortest total (no stretch) still covers a day
    assert retry_delay(len(RETRY_SCHEDULE_S) + 1) is None


def test_guard_refusal_is_told_apart_from_a_name_that_does_not_resolve() -> None:
    async def attempt(url: str) -> BaseException:
        async with guarded_client(FetchPolicy(allow_private=False)) as client:
            with pytest.raises(Exception) as caught:
                await client.post(url, content=b"{}")
            return caught.value

    refused = asyncio.run(attempt("http://127.0.0.1:9/cb"))
    assert isinstance(refused, FetchError) and is_refusal(refused)
    # A name that resolves to an internal address is refused too, though its message says "resolves".
    named = asyncio.run(attempt("http://localhost:9/cb"))
    assert isinstance(named, FetchError) and is_refusal(named)
    unresolved = asyncio.run(attempt("http://no-such-host.invalid/cb"))
    assert not is_refusal(unresolved)


def test_a_refused_address_is_not_retried(tmp_path: Path) -> None:
    """The SSRF guard's refusal settles the delivery as `refused` after one attempt (no back-off schedule)."""

    async def scenario() -> list[dict[str, Any]]:
        store = Store(f"sqlite+aiosqlite:///{tmp_path / 'hooks.db'}")
        await store.migrate()
        client = guarded_client(FetchPolicy(allow_private=False))
        try:
            await store.add_webhooks("cgt-refused", [Webhook("http://127.0.0.1:9/cb", {"id": "cgt-refused"})])
            sender = WebhookSender(store, "whsec_" + "A" * 44, client, interval_s=0.05)
            stopping = asyncio.Event()
            loop = asyncio.create_task(sender.run(stopping))
            await wait_until_async(
                lambda: store.webhook_history("cgt-refused"),
                "the refused delivery to settle",
                until=lambda history: history[0]["status"] != "pending",
            )
            stopping.set()
            await loop
            return await store.webhook_history("cgt-refused")
        finally:
            await client.aclose()
            await store.close()

    [delivery] = asyncio.run(scenario())
    assert delivery["status"] == "refused" and delivery["attempts"] == 1
    assert "not allowed" in delivery["last_error"]


# -- ordering ---------------------------------------------------------------------------------------------------


def test_each_tasks_callbacks_arrive_one_at_a_time_in_status_order(node: Server, receiver: Receiver) -> None:
    ids = [create(node, f"{receiver.url}/ok/{n}", prompt=f"order {n}") for n in range(12)]
    for task_id in ids:
        wait_until(
            lambda t=task_id: "succeeded" in receiver.statuses(t), f"the final callback of {task_id}", timeout=120
        )
    for task_id in ids:
        arrivals = receiver.for_task(task_id)
        assert [a.status for a in arrivals] == ["queued", "running", "succeeded"], (task_id, arrivals)
        assert [a.seq for a in arrivals] == [0, 1, 2]
        times = [a.event_time for a in arrivals]
        assert times == sorted(times) and times[0] > 0
        assert len({a.webhook_id for a in arrivals}) == 3


def test_a_failed_callback_is_retried_before_the_later_ones_are_sent(node: Server, receiver: Receiver) -> None:
    """The receiver refuses every `queued` callback: it is retried in order (holding `running` back), then
    superseded by the later status, which arrives once, after it; nothing arrives out of order."""
    task_id = create(node, f"{receiver.url}/refuse-queued/x")
    wait_until(lambda: "succeeded" in receiver.statuses(task_id), "the final callback", timeout=180)
    statuses = receiver.statuses(task_id)
    assert statuses == ["queued", "queued", "queued", "running", "succeeded"], statuses
    by_status = {h["payload"]["status"]: h for h in history(node, task_id)}
    assert by_status["queued"]["status"] == "superseded" and by_status["queued"]["attempts"] == 3
    assert by_status["running"]["status"] == "delivered" and by_status["succeeded"]["status"] == "delivered"


# -- isolation --------------------------------------------------------------------------------------------------


def test_a_hanging_receiver_does_not_delay_anyone_else(node: Server, receiver: Receiver) -> None:
    healthy = Receiver().start()
    try:
        slow_ids = [create(node, f"{receiver.url}/hang/{n}", prompt=f"slow {n}") for n in range(8)]
        wait_until(lambda: receiver.hanging >= 1, "the first attempt to the hanging receiver", timeout=120)
        task_id = create(node, f"{healthy.url}/ok/h", prompt="healthy")
        wait_until(
            lambda: "succeeded" in healthy.statuses(task_id), "the healthy receiver's final callback", timeout=120
        )
        # Everything reached the healthy receiver while the hanging one still held its attempts open, and the
        # sender had not given up on any of them (it was not waiting for them to time out).
        assert healthy.statuses(task_id) == ["queued", "running", "succeeded"]
        assert receiver.hanging >= 1 and receiver.abandoned == 0
        # Per receiver, attempts are bounded: the hanging receiver holds a few slots, not one per delivery.
        assert receiver.hanging <= 4
    finally:
        receiver.release.set()
        healthy.stop()
    for slow in slow_ids:
        wait_until(lambda t=slow: "succeeded" in receiver.statuses(t), f"the final callback of {slow}", timeout=120)
        assert receiver.statuses(slow) == ["queued", "running", "succeeded"]


# -- key revocation ---------------------------------------------------------------------------------------------


def _new_key(server: Server, name: str) -> tuple[str, str]:
    with server.client() as http:
        response = http.post("/console/api/keys", json={"name": name})
    assert response.status_code == 200, response.text
    return response.json()["id"], response.json()["secret"]


def test_revocation_reaches_every_node_and_ends_the_keys_links(node: Server, database: Database) -> None:
    """Two nodes on one database and data directory, each with the key freshly authenticated (cached where a cache
    is used). A revoke from the command line (a third process) takes effect on both at the next request, and the
    signed result links of the key's tasks stop working though they have not expired."""
    data = node.data_dir
    first = node
    second = start_server(database, data, "--workers", "0")
    try:
        key_id, secret = _new_key(first, "to revoke")
        task_id = create(first, "http://127.0.0.1:9/none", key=secret)
        with first.client(secret) as http:
            done = wait_status(lambda t: http.get(f"{TASKS}/{t}").json(), task_id)
        assert done["status"] == "succeeded"
        link = done["content"]["video_url"]
        assert httpx.get(link).status_code == 200
        for node in (first, second):
            with node.client(secret) as http:
                assert http.get(f"{TASKS}/{task_id}").status_code == 200

        revoke = subprocess.run(
            [sys.executable, "-m", "seedgate.cli", "keys", "revoke", key_id],
            env=server_env(database, data),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert revoke.returncode == 0, revoke.stdout + revoke.stderr

        for node in (first, second):
            with node.client(secret) as http:
                response = http.get(f"{TASKS}/{task_id}")
            assert response.status_code == 401, (node.url, response.text)
        refused = httpx.get(link)
        assert refused.status_code == 403 and "revoked" in refused.text
        # Other keys and their links are untouched.
        with first.client() as http:
            assert http.get(f"{TASKS}?page_size=1").status_code == 200
    finally:
        second.stop()


def test_key_cache_is_bounded_and_never_serves_a_read_that_raced_a_revocation(tmp_path: Path) -> None:
    """The cache logic alone, on a real store: a revocation heard while a read is in flight is not overwritten by
    that read's stale answer, and random keys cannot grow the cache past its bound."""
    from seedgate.tasks.keys import KeyCache, create_key, hash_secret

    async def scenario() -> None:
        store = Store(f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}")
        await store.migrate()
        try:
            key, secret = await create_key(store, "k")
            cache = KeyCache(store)
            cache._following = True  # as if LISTENing (PostgreSQL); SQLite nodes never cache
            cache.MAX_ENTRIES = 50
            real_read = store.key_by_hash

            async def slow_read(digest: str) -> Any:
                found = await real_read(digest)
                cache._revoked(key.id)  # a revocation arrives while this read is in flight
                return found

            store.key_by_hash = slow_read  # type: ignore[method-assign]
            assert (await cache.by_secret_hash(hash_secret(secret))).revoked_at is None  # type: ignore[union-attr]
            store.key_by_hash = real_read  # type: ignore[method-assign]
            await store.revoke_key(key.id)
            assert (await cache.by_secret_hash(hash_secret(secret))).revoked_at is not None  # type: ignore[union-attr]
            for _ in range(200):
                await cache.by_secret_hash(hash_secret(secrets.token_hex(8)))
            assert len(cache._cache) <= 50
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_node_that_stops_hearing_revocations_stops_caching_keys(node: Server) -> None:
    """If a node's LISTEN connection dies (PostgreSQL), it reads keys on every request from then on; on SQLite keys
    are never cached. Either way a revocation written straight into the database (no NOTIFY) counts at once."""
    key_id, secret = _new_key(node, "listener lost")
    with node.client(secret) as http:
        assert http.get(f"{TASKS}?page_size=1").status_code == 200  # cached where a cache is used
    if node.database.url:
        import asyncpg

        async def cut_listener() -> int:
            conn = await asyncpg.connect(node.database.url)
            try:
                return len(
                    await conn.fetch(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                    )
                )
            finally:
                await conn.close()

        assert asyncio.run(cut_listener()) >= 1
        wait_until(
            lambda: "keys are read on every request" in node.log(), "the node noticing its lost LISTEN", timeout=120
        )
    execute_sql(node, f"UPDATE api_keys SET revoked_at = 1 WHERE id = '{key_id}'")
    with node.client(secret) as http:
        assert http.get(f"{TASKS}?page_size=1").status_code == 401


def test_upgrading_gives_pending_deliveries_their_receiver(tmp_path: Path) -> None:
    """Migration 0006 on a database of revision 0005: pending deliveries get the receiver they are limited by."""

    async def scenario() -> list[Any]:
        store = Store(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
        await store.migrate()
        try:
            await downgrade_to(store, "0005")
            async with store.engine.begin() as conn:
                await conn.exec_driver_sql(
                    "INSERT INTO webhook_deliveries (id, task_id, url, payload, status, attempts, next_attempt_at,"
                    " created_at) VALUES ('msg_old', 'cgt-old', 'HTTPS://Hooks.Example.com/cb?x=1', '{}',"
                    " 'pending', 1, 0, 0)"
                )
            await store.migrate()
            return await store.due_webhooks(time.time())
        finally:
            await store.close()

    [delivery] = asyncio.run(scenario())
    assert (delivery.id, delivery.receiver, delivery.seq) == ("msg_old", "https://hooks.example.com:443", 0)


def test_a_status_recorded_late_never_follows_a_newer_one(tmp_path: Path) -> None:
    """A `running` delivery written after the task's final one (the task expired while a worker was starting it)
    is dropped: a receiver never hears a task go back. Other URLs are not affected."""
    from seedgate.core.status import Status

    async def scenario() -> list[dict[str, Any]]:
        store = Store(f"sqlite+aiosqlite:///{tmp_path / 'late.db'}")
        await store.migrate()
        try:
            final = Webhook("http://127.0.0.1:9/a", {"status": "expired"})
            await store.add_webhooks("cgt-late", [final], status=Status.EXPIRED)
            await store.add_webhooks(
                "cgt-late",
                [
                    Webhook("http://127.0.0.1:9/a", {"status": "running"}),
                    Webhook("http://127.0.0.1:9/b", {"status": "running"}),
                ],
                status=Status.RUNNING,
            )
            return await store.webhook_history("cgt-late")
        finally:
            await store.close()

    rows = asyncio.run(scenario())
    assert sorted((r["url"][-1], r["payload"]["status"]) for r in rows) == [("a", "expired"), ("b", "running")]
