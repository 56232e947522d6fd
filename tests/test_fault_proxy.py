"""Fast self-tests of the two upstream test tools: bench/ark_standin.py driven by the official Ark SDK, and each
fault action of tests/fault_proxy.py in front of it, observed with plain httpx. No seedgate server is involved."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fault_proxy import FaultProxy

from .waiting import wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from ark_standin import ArkStandin  # noqa: E402

ark = pytest.importorskip("volcenginesdkarkruntime")
ark_errors = pytest.importorskip("volcenginesdkarkruntime._exceptions")  # the package root does not export them
AUTH = {"Authorization": "Bearer k"}
TASKS = "/api/v3/contents/generations/tasks"
BODY = {"model": "doubao-seedance-1-0-pro-250528", "content": [{"type": "text", "text": "a cat"}]}


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_standin_lifecycle_with_the_ark_sdk(receiver: tuple[str, list[dict[str, Any]]]) -> None:
    hook, received = receiver
    with ArkStandin(run_seconds=(0.4, 0.4), queue_seconds=0.3, get_qps=None, list_qps=None) as standin:
        client = ark.Ark(base_url=standin.base_url, api_key="k", max_retries=0)
        tasks = client.content_generation.tasks
        sent_at = time.time()
        created = tasks.create(
            model=BODY["model"],
            content=BODY["content"],
            return_last_frame=True,
            safety_identifier="user-1",
            callback_url=hook,
            resolution="720p",
            ratio="16:9",
        )
        assert created.id.startswith("cgt-") and len(created.id) == len("cgt-20250331175019-68d9t")
        task = tasks.get(task_id=created.id)
        assert task.status == "queued" and task.safety_identifier == "user-1" and task.framespersecond == 24

        def status() -> str:
            return str(tasks.get(task_id=created.id).status)

        wait_until(status, f"{created.id} to run", until=lambda s: s == "running", interval=0.02)
        wait_until(status, f"{created.id} to succeed", until=lambda s: s == "succeeded", interval=0.02)
        task = tasks.get(task_id=created.id)
        assert task.usage.completion_tokens == 1280 * 720 * 121 // 1024 == task.usage.total_tokens
        assert sent_at <= standin.completed_at[created.id] <= time.time()
        video = httpx.get(task.content.video_url)
        assert video.headers["content-type"] == "video/mp4" and video.content[4:8] == b"ftyp"
        assert httpx.get(task.content.last_frame_url).content.startswith(b"\x89PNG")

        listed = tasks.list(page_size=500, task_ids=[created.id, "cgt-20250101000000-zzzzz"])
        assert listed.total == 1 and listed.items[0].id == created.id
        assert tasks.list(status="queued").total == 0

        # Queued: cancelled (and then 409); finished: deleted (then 404); unknown: 404.
        queued = tasks.create(model=BODY["model"], content=BODY["content"]).id
        tasks.delete(queued)
        assert tasks.get(task_id=queued).status == "cancelled"
        with pytest.raises(ark_errors.ArkConflictError):
            tasks.delete(queued)
        tasks.delete(created.id)
        with pytest.raises(ark_errors.ArkNotFoundError) as not_found:
            tasks.get(task_id=created.id)
        assert not_found.value.code == "ResourceNotFound"
        assert httpx.get(f"{standin.base_url}/contents/generations/tasks/x").status_code == 401

        wait_until(
            lambda: [b["status"] for b in received],
            "the three callbacks",
            until=lambda s: s == ["queued", "running", "succeeded"],
            interval=0.02,
        )
        assert received[-1]["content"]["video_url"] == task.content.video_url
        assert standin.calls["create"] == 2 and standin.calls["download"] == 2


def test_standin_failures_validation_and_query_limits() -> None:
    with (
        ArkStandin(run_seconds=(0.1, 0.1), fail_ratio=1.0, get_qps=5, list_qps=1) as standin,
        httpx.Client(base_url=standin.root_url, headers=AUTH) as http,
    ):
        bad = http.post(TASKS, json={"content": BODY["content"]})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "MissingParameter"
        bad = http.post(TASKS, json={**BODY, "resolution": "999p"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "resolution"
        task_id = http.post(TASKS, json=BODY).json()["id"]
        time.sleep(0.2)
        answers = [http.get(f"{TASKS}/{task_id}") for _ in range(8)]
        assert [a.status_code for a in answers].count(200) == 5
        assert answers[-1].status_code == 429 and answers[-1].json()["error"]["code"].startswith("RateLimitExceeded")
        assert answers[0].json()["status"] == "failed"
        assert answers[0].json()["error"]["code"] == "OutputVideoSensitiveContentDetected"
        assert http.get(TASKS, params={"page_size": 500}).status_code == 200
        assert http.get(TASKS).status_code == 429
        assert standin.limited == 4 and standin.limited_by == {"get": 3, "list": 1}


@pytest.fixture(scope="module")
def standin() -> Iterator[ArkStandin]:
    # Tasks stay running for the whole module, so "the task exists" is all these tests look at.
    with ArkStandin(run_seconds=(60, 60), get_qps=None, list_qps=None) as server:
        yield server


@pytest.fixture
def proxy(standin: ArkStandin) -> Iterator[FaultProxy]:
    with FaultProxy(standin.root_url) as fault_proxy:
        yield fault_proxy


def test_proxy_relays_with_keep_alive_chunked_bodies_and_videos(standin: ArkStandin, proxy: FaultProxy) -> None:
    with httpx.Client(base_url=proxy.url, headers=AUTH) as http:
        task_id = http.post(TASKS, json=BODY).json()["id"]
        chunked = http.post(
            TASKS,
            content=iter([json.dumps(BODY).encode()]),  # an iterator: chunked encoding
            headers={"Content-Type": "application/json"},
        )
        assert chunked.status_code == 200 and chunked.json()["id"] != task_id
        assert http.get(f"{TASKS}/{task_id}").json()["status"] == "running"
        ids = [task_id] + [f"cgt-20250101000000-{i:05d}" for i in range(499)]  # a ~25 KB request line
        listed = http.get(TASKS, params=[("page_size", 500)] + [("filter.task_ids", i) for i in ids])
        assert listed.status_code == 200 and listed.json()["total"] == 1
        video = http.get(f"/files/{task_id}.mp4")
        assert video.content == httpx.get(f"{standin.root_url}/files/{task_id}.mp4").content
    assert proxy.count("POST", TASKS + "$") == 2 and proxy.count("GET", r"/tasks$", outcome=200) == 1
    assert [r.outcome for r in proxy.requests] == [200] * 5


def test_proxy_status_fault_is_not_forwarded(standin: ArkStandin, proxy: FaultProxy) -> None:
    before = standin.calls["create"]
    proxy.add_fault("POST", TASKS + "$", "status", status=429)
    proxy.add_fault("POST", TASKS + "$", "status", times=2, status=503)
    with httpx.Client(base_url=proxy.url, headers=AUTH) as http:
        limited = http.post(TASKS, json=BODY)
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "RateLimitExceeded.EndpointRPMExceeded"
        assert [http.post(TASKS, json=BODY).status_code for _ in range(2)] == [503, 503]
        assert standin.calls["create"] == before
        assert http.post(TASKS, json=BODY).status_code == 200  # the rules are used up
    assert standin.calls["create"] == before + 1 and proxy.count_forwarded("POST") == 1


def test_proxy_refuse_and_drop_after_forward(standin: ArkStandin, proxy: FaultProxy) -> None:
    before = standin.calls["create"]
    proxy.add_fault("POST", TASKS + "$", "refuse")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.post(proxy.url + TASKS, json=BODY, headers=AUTH)
    assert standin.calls["create"] == before
    known = set(standin.task_ids)
    proxy.add_fault("POST", TASKS + "$", "drop_after_forward")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.post(proxy.url + TASKS, json=BODY, headers=AUTH)
    assert standin.calls["create"] == before + 1 and len(set(standin.task_ids) - known) == 1
    assert [r.outcome for r in proxy.requests] == ["refuse", "drop_after_forward"]


def test_proxy_hang_delay_and_status_after_forward(standin: ArkStandin, proxy: FaultProxy) -> None:
    known = set(standin.task_ids)
    proxy.add_fault("POST", TASKS + "$", "hang_after_forward")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(proxy.url + TASKS, json=BODY, headers=AUTH, timeout=httpx.Timeout(5, read=0.5))
    assert len(set(standin.task_ids) - known) == 1

    # A delay far beyond the client's read timeout: the answer is held back (an ordering fact, not a measurement).
    proxy.add_fault("GET", r"/tasks$", "delay", seconds=30)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(proxy.url + TASKS, headers=AUTH, timeout=httpx.Timeout(5, read=0.5))
    proxy.clear_faults()
    assert httpx.get(proxy.url + TASKS, headers=AUTH).status_code == 200

    proxy.add_fault("POST", TASKS + "$", "status_after_forward", status=504)
    answer = httpx.post(proxy.url + TASKS, json=BODY, headers=AUTH)
    assert answer.status_code == 504 and answer.json()["error"]["code"] == "InternalServiceError"
    assert len(set(standin.task_ids) - known) == 2


def test_proxy_pause_resume_and_rate_limit(standin: ArkStandin, proxy: FaultProxy) -> None:
    port = proxy.port
    with httpx.Client(base_url=proxy.url, headers=AUTH) as http:
        task_id = http.post(TASKS, json=BODY).json()["id"]
        proxy.pause()
        with pytest.raises(httpx.ConnectError):
            http.get(f"{TASKS}/{task_id}")
        proxy.resume()
        assert proxy.port == port and http.get(f"{TASKS}/{task_id}").status_code == 200

        proxy.limit("GET", r"/tasks/[^/]+$", per_second=3)
        before = standin.calls["get"]
        codes = [http.get(f"{TASKS}/{task_id}").status_code for _ in range(6)]
        assert codes == [200, 200, 200, 429, 429, 429]
        assert proxy.count_limited() == 3 and standin.calls["get"] == before + 3
        time.sleep(1.05)  # the sliding window empties
        assert http.get(f"{TASKS}/{task_id}").status_code == 200
