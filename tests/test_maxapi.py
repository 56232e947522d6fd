"""The maxapi dialect (seed 000): every submit example replayed verbatim, queries, cancel, webhook, errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import MediaServer, Server, WebhookReceiver, wait_status
from .media import image_bytes, inspect_video, video_bytes
from .seeds import json_objects, replace_urls, seed_file

STATUSES = {"PENDING", "PROCESSING", "SUBMITTED", "SUCCESS", "FAILURE", "TIMEOUT", "CANCELLED"}


def query(server: Server, task_id: str) -> dict[str, Any]:
    with server.client() as client:
        response = client.get(f"/api/v1/task/{task_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == 0 and body["msg"] == "ok" and body["data"]["status"] in STATUSES
    return body["data"]


def finished(server: Server, task_id: str) -> dict[str, Any]:
    return wait_status(lambda i: query(server, i), task_id, ("SUCCESS", "FAILURE", "TIMEOUT", "CANCELLED"))


def local_urls(media_server: MediaServer) -> dict[str, str]:
    files = {"photo.jpg": (1024, 768, "JPEG"), "dog.webp": (800, 800, "WEBP"), "3D-Cartoon.jpg": (900, 1200, "JPEG")}
    served = {name: media_server.add(name, image_bytes(w, h, fmt=fmt)) for name, (w, h, fmt) in files.items()}
    return {
        "https://example.com/photo.jpg": served["photo.jpg"],
        "https://assets.movart.ai/landingpage/dog.webp": served["dog.webp"],
        "https://assets.movart.ai/3D-Cartoon.jpg": served["3D-Cartoon.jpg"],
    }


def test_seed_examples_replayed_verbatim(server: Server, media_server: MediaServer) -> None:
    bodies = [o for o in json_objects(seed_file("000")) if isinstance(o, dict) and "input" in o and "model" in o]
    assert len(bodies) >= 4
    urls = local_urls(media_server)
    with server.client() as client:
        for body in bodies:
            response = client.post("/api/v1/task/submit", json=replace_urls(body, urls))
            assert response.status_code == 200, response.text
            answer = response.json()
            assert answer["code"] == 0 and answer["msg"] == "ok"
            data = finished(server, answer["data"]["taskId"])
            assert data["status"] == "SUCCESS", data
            assert data["input"]["model"] == body["model"] and data["input"]["prompt"] == body["input"]["prompt"]
            assert data["result"]["type"] == "video" and len(data["result"]["urls"]) == 1
            assert data["failure_reason"] is None and data["created_at"].endswith("Z")
            facts = inspect_video(httpx.get(data["result"]["urls"][0]).content)
            assert facts.codec == "h264" and facts.fps == 24 and facts.frames == 121


def test_mixed_media_by_file_type(server: Server, media_server: MediaServer, tmp_path: Any) -> None:
    clip = media_server.add("move.mp4", video_bytes(tmp_path / "move.mp4", 640, 640, seconds=3))
    img = media_server.add("cast.png", image_bytes(640, 640))
    with server.client() as client:
        answer = client.post(
            "/api/v1/task/submit",
            json={
                "model": "seedance-2.0",
                "input": {"prompt": "@1 dances like @2", "mediaUrls": [img, clip], "duration": 4, "resolution": "480p"},
            },
        ).json()
    data = finished(server, answer["data"]["taskId"])
    assert data["status"] == "SUCCESS" and data["input"]["mediaUrls"] == [img, clip]


def test_cancel_and_terminal_webhook(server: Server, webhooks: WebhookReceiver) -> None:
    with server.client() as client:
        # Keep the worker slots busy so the next submit stays PENDING long enough to cancel.
        busy = [
            client.post(
                "/api/v1/task/submit",
                json={"model": "seedance-1.5-pro", "input": {"prompt": "long", "duration": 10, "resolution": "1080p"}},
            ).json()["data"]["taskId"]
            for _ in range(2)
        ]
        pending = client.post(
            "/api/v1/task/submit",
            json={
                "model": "seedance-1.5-pro",
                "callBackUrl": webhooks.url + "/maxapi",
                "input": {"prompt": "wait", "duration": 5},
            },
        ).json()
        task_id = pending["data"]["taskId"]
        assert client.post(f"/api/v1/task/{task_id}/cancel").json() == {"code": 0, "msg": "ok"}
        assert query(server, task_id)["status"] == "CANCELLED"
        again = client.post(f"/api/v1/task/{task_id}/cancel")
        assert again.status_code == 409 and again.json()["code"] == 409
    for job in busy:
        assert finished(server, job)["status"] == "SUCCESS"
    calls = [c for c in webhooks.calls if c.body.get("data", {}).get("taskId") == task_id]
    assert [c.body["data"]["status"] for c in calls] == ["CANCELLED"]  # terminal states only, query-shaped
    assert calls[0].body["code"] == 0 and calls[0].path == "/maxapi"


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"input": {"prompt": "x"}}, 400, "model"),
        ({"model": "seedance-2.0"}, 400, "input"),
        ({"model": "nope", "input": {"prompt": "x"}}, 404, "nope"),
        ({"model": "seedance-2.0", "input": {"prompt": "x", "duration": 99}}, 400, "input.duration"),
        ({"model": "seedance-2.0", "input": {"prompt": "x", "imageUrls": "one"}}, 400, "input.imageUrls"),
        (
            {"model": "seedance-2.0", "input": {"prompt": "x", "imageUrls": ["http://127.0.0.1:1/a.png"]}},
            400,
            "input.imageUrls[0]",
        ),
        # maxapi's own limits: seedance-1.5-pro takes 5 or 10 s, every model 1-12 media URLs.
        ({"model": "seedance-1.5-pro", "input": {"prompt": "x", "duration": 6}}, 400, "input.duration"),
        ({"model": "seedance-1.5-pro", "input": {"prompt": "x", "duration": 12}}, 400, "input.duration"),
        ({"model": "seedance-1.5-pro", "input": {"prompt": "x", "duration": -1}}, 400, "input.duration"),
        (
            {
                "model": "seedance-2.0",
                "input": {"prompt": "x", "mediaUrls": [f"http://127.0.0.1:1/{i}.png" for i in range(13)]},
            },
            400,
            "input.mediaUrls",
        ),
        (
            {
                "model": "seedance-2.0-fast",
                "input": {"prompt": "x", "imageUrls": [f"http://127.0.0.1:1/{i}.png" for i in range(13)]},
            },
            400,
            "input.imageUrls",
        ),
    ],
)
def test_errors_use_the_maxapi_envelope(server: Server, body: dict[str, Any], status: int, needle: str) -> None:
    with server.client() as client:
        before = client.get("/api/v3/contents/generations/tasks", params={"page_size": 1}).json()["total"]
        response = client.post("/api/v1/task/submit", json=body)
        after = client.get("/api/v3/contents/generations/tasks", params={"page_size": 1}).json()["total"]
    assert response.status_code == status, response.text
    assert response.json()["code"] == status and needle in response.json()["msg"]
    assert after == before  # refused before any task exists


def test_seedance_1_5_pro_runs_5_and_10_seconds(server: Server, media_server: MediaServer) -> None:
    urls = [media_server.add(f"mx15-{i}.png", image_bytes(640, 640)) for i in range(2)]
    with server.client() as client:
        ids = [
            client.post(
                "/api/v1/task/submit",
                json={
                    "model": "seedance-1.5-pro",
                    "input": {"prompt": "变身", "imageUrls": urls[:count], "duration": seconds, "resolution": "480p"},
                },
            ).json()["data"]["taskId"]
            for count, seconds in ((1, 5), (2, 10))
        ]
    for task_id, seconds in zip(ids, (5, 10), strict=True):
        data = finished(server, task_id)
        assert data["status"] == "SUCCESS" and data["input"]["duration"] == seconds
        facts = inspect_video(httpx.get(data["result"]["urls"][0]).content)
        assert facts.frames == 24 * seconds + 1


def test_twelve_media_urls_are_accepted(server: Server, media_server: MediaServer, tmp_path: Any) -> None:
    images = [media_server.add(f"mx12-{i}.png", image_bytes(640, 640)) for i in range(9)]
    clips = [
        media_server.add(f"mx12-{i}.mp4", video_bytes(tmp_path / f"c{i}.mp4", 640, 640, seconds=2)) for i in range(3)
    ]
    with server.client() as client:
        answer = client.post(
            "/api/v1/task/submit",
            json={
                "model": "seedance-2.0-fast",
                "input": {"prompt": "@1 to @12", "mediaUrls": images + clips, "duration": 4, "resolution": "480p"},
            },
        ).json()
    assert answer["code"] == 0, answer
    data = finished(server, answer["data"]["taskId"])
    assert data["status"] == "SUCCESS" and len(data["input"]["mediaUrls"]) == 12
