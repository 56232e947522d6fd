"""The AIGeneration platform dialect (seed 004): every example replayed verbatim against a real server."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import MediaServer, Server, wait_status
from .media import image_bytes, inspect_video
from .seeds import replace_urls, requests_in, seed_file

PREFIX = "/api/AIGeneration/video/seedance"
STATUSES = {"queued", "running", "succeeded", "failed", "expired"}


def status_of(server: Server, task_id: str) -> dict[str, Any]:
    with server.client() as client:
        response = client.get(f"{PREFIX}/taskStatus/{task_id}")
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["success"] is True and envelope["data"]["status"] in STATUSES
    return envelope["data"]


def test_seed_examples_replayed_verbatim(server: Server, media_server: MediaServer) -> None:
    examples = requests_in(seed_file("004"))
    creates = [r for r in examples if r.method == "POST"]
    assert len(creates) == 5 and any(r.method == "GET" for r in examples)
    urls = {
        "https://example.com/cat_sleeping.jpg": media_server.add("cat_sleeping.jpg", image_bytes(1280, 720)),
        "https://example.com/cat_standing.jpg": media_server.add("cat_standing.jpg", image_bytes(1280, 720, (9, 9, 9))),
    }
    done: list[dict[str, Any]] = []
    draft_id = None
    with server.client() as client:
        for request in creates:
            body = replace_urls(request.body, urls)
            if draft_id:
                body = replace_urls(body, {"draft_task_id_from_step_4": draft_id})
            response = client.post(request.path, json=body)
            assert response.status_code == 200, response.text
            created = response.json()
            assert created["success"] is True and created["data"]["status"] == "queued"
            task = wait_status(lambda i: status_of(server, i), created["data"]["id"], timeout=120)
            assert task["status"] == "succeeded", task
            assert task["created_at"].endswith("Z") and task["completed_at"] and task["error_message"] is None
            done.append(task)
            if body.get("draft"):
                draft_id = task["id"]
    assert draft_id is not None
    first = inspect_video(httpx.get(done[0]["result_url"]).content)
    assert (first.width, first.height, first.fps, first.frames, first.audio_channels) == (1280, 720, 24, 121, 1)
    assert done[1]["last_frame_url"] and httpx.get(done[1]["last_frame_url"]).content[:4] == b"\x89PNG"
    final = inspect_video(httpx.get(done[4]["result_url"]).content)
    assert (final.width, final.height) == (1920, 1080)


def test_errors_use_the_platform_envelope(server: Server) -> None:
    with server.client() as client:
        bad = client.post(
            f"{PREFIX}/createTask",
            json={
                "model": "doubao-seedance-1-5-pro-251215",
                "content": [{"type": "text", "text": "x"}],
                "duration": 99,
            },
        )
        missing = client.get(f"{PREFIX}/taskStatus/cgt-nope")
    assert bad.status_code == 400
    assert bad.json()["success"] is False and "duration" in bad.json()["message"]
    assert missing.status_code == 404 and missing.json()["success"] is False
    unauthenticated = httpx.get(f"{server.url}{PREFIX}/taskStatus/x")
    assert unauthenticated.status_code == 401 and unauthenticated.json()["success"] is False


def test_ark_tasks_read_in_the_platform_shape(server: Server) -> None:
    with server.client() as client:
        created = client.post(
            "/api/v3/contents/generations/tasks",
            json={
                "model": "doubao-seedance-1-0-pro-250528",
                "content": [{"type": "text", "text": "x"}],
                "resolution": "480p",
                "duration": 2,
            },
        ).json()
    task = wait_status(lambda i: status_of(server, i), created["id"])
    assert task["status"] == "succeeded" and task["result_url"].startswith(server.url)
