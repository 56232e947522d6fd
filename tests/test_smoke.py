"""The fast lane's real-process smoke: one seedgate server on SQLite, driven through the official SDKs.

The full lane (`make test-all`) covers every route on SQLite and PostgreSQL; this file only proves, in seconds, that a
real process starts, takes a task through the Ark and OpenAI SDKs, renders it, serves the file and calls back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI
from volcenginesdkarkruntime import Ark

from .conftest import API_KEY, Database, Server, WebhookReceiver, start_server, wait_status
from .media import inspect_video

# Every `client.videos` method is marked deprecated (Sora's shutdown); the wire format still matters.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PRO = "doubao-seedance-1-0-pro-250528"


@pytest.fixture(scope="module")
def smoke_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(Database("sqlite", None), tmp_path_factory.mktemp("smoke") / "data", "--workers", "1")
    yield srv
    srv.stop()


def test_ark_sdk_create_poll_download_and_callbacks(smoke_server: Server, webhooks: WebhookReceiver) -> None:
    ark: Any = Ark(base_url=smoke_server.ark_base, api_key=API_KEY, max_retries=0)
    created = ark.content_generation.tasks.create(
        model=PRO,
        content=[{"type": "text", "text": "a paper boat on a pond"}],
        resolution="480p",
        duration=2,
        callback_url=webhooks.url + "/smoke",
    )
    task = wait_status(lambda i: ark.content_generation.tasks.get(task_id=i), created.id)
    assert task.status == "succeeded", task
    video = httpx.get(task.content.video_url, timeout=30)
    assert video.status_code == 200
    facts = inspect_video(video.content)
    assert (facts.codec, facts.width, facts.height, facts.frames) == ("h264", 864, 480, 49)
    webhooks.wait_for(created.id, "succeeded")
    assert webhooks.statuses(created.id) == ["queued", "running", "succeeded"]


def test_openai_sdk_create_poll_download(smoke_server: Server, tmp_path: Path) -> None:
    client = OpenAI(base_url=f"{smoke_server.url}/v1", api_key=API_KEY, max_retries=0)
    video = client.videos.create(prompt="a lighthouse at dusk", model="doubao-seedance-2-0-260128", seconds="4")
    done = wait_status(lambda i: client.videos.retrieve(i), video.id, ("completed", "failed"))
    assert done.status == "completed", done
    facts = inspect_video(client.videos.download_content(done.id).read())
    assert facts.codec == "h264" and facts.frames > 0


def test_refusals_need_no_worker(smoke_server: Server) -> None:
    assert httpx.get(f"{smoke_server.url}/api/v3/contents/generations/tasks").status_code == 401
    with smoke_server.client() as http:
        answer = http.post("/api/v3/contents/generations/tasks", json={"model": PRO, "content": []})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"].startswith("InvalidParameter"), answer.text
