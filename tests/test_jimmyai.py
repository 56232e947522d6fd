"""The jimmyai dialect (seed 001): asset audit, then create with asset:// references, query, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import MediaServer, Server, wait_status
from .media import image_bytes, inspect_video, video_bytes, wav_bytes
from .seeds import json_objects, seed_file
from .waiting import wait_until

BASE = "/api/open-api/v1"
STATUSES = {"queued", "processing", "completed", "failed", "cancelled"}


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def query(client: httpx.Client, task_id: str) -> dict[str, Any]:
    response = client.get(f"{BASE}/videos/{task_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == "20000" and body["msg"] == "ok" and body["data"]["status"] in STATUSES
    return body["data"]


def finished(client: httpx.Client, task_id: str) -> dict[str, Any]:
    return wait_status(lambda i: query(client, i), task_id, ("completed", "failed", "cancelled"))


@pytest.fixture(scope="module")
def assets(client: httpx.Client, media_server: MediaServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Audit one of each kind through jimmyai's own endpoint; asset:// links for each, once Active."""
    tmp = tmp_path_factory.mktemp("jimmy")
    urls = {
        "first": media_server.add("jimmy-first.png", image_bytes(1280, 720)),
        "last": media_server.add("jimmy-last.jpg", image_bytes(1280, 720, color=(20, 90, 200), fmt="JPEG")),
        "video": media_server.add("jimmy-move.mp4", video_bytes(tmp / "m.mp4", 720, 1280, seconds=3)),
        "audio": media_server.add("jimmy-voice.wav", wav_bytes(tmp / "v.wav", seconds=3)),
    }
    response = client.post(
        f"{BASE}/seedance/assets/audit",
        json={"imageUrls": [urls["first"], urls["last"]], "video_urls": [urls["video"]], "audioUrls": [urls["audio"]]},
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["failedItems"] == [] and [i["assetType"] for i in data["items"]] == ["Image", "Image", "Video", "Audio"]
    assert all(i["status"] == "submitted" and i["assetUrl"] == f"asset://{i['assetId']}" for i in data["items"])
    ids = [i["assetId"] for i in data["items"]]

    def active(status: dict[str, Any]) -> bool:
        assert all(i["status"] in ("Processing", "Active") for i in status["items"]), status
        return all(i["status"] == "Active" for i in status["items"])

    wait_until(
        lambda: client.get(f"{BASE}/seedance/assets/status", params={"assetIds": ",".join(ids)}).json()["data"],
        "the assets' audits",
        until=active,
        interval=0.2,
    )
    return {name: f"asset://{asset_id}" for name, asset_id in zip(urls, ids, strict=True)}


def test_seed_schema_example_verbatim_is_a_clear_error(client: httpx.Client) -> None:
    example = next(o for o in json_objects(seed_file("001")) if "prompt" in o)
    response = client.post(f"{BASE}/seedance/videos", json=example)
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "20002" and "<string>" in body["msg"] and body["data"] is None


def test_seed_fields_for_each_mode(client: httpx.Client, assets: dict[str, str]) -> None:
    """The seed's field list, filled in with real values, one request per mode it describes."""
    answer_shape = next(o for o in json_objects(seed_file("001")) if o.get("code") == "20000")
    bodies = [
        ({"model": "sd2_mx_720p", "prompt": "一只猫在打哈欠", "duration": 5, "ratio": "16:9"}, (1280, 720)),
        ({"model": "sd2_mx_720p", "prompt": "sunrise", "duration": 4, "orientation": "portrait"}, (720, 1280)),
        (
            {
                "model": "sd2_mx_1080p",
                "prompt": "morph",
                "duration": 4,
                "first_image": assets["first"],
                "last_image": assets["last"],
                "ratio": "Adaptive",
            },
            (1920, 1080),
        ),
        (
            {
                "model": "sd2_mx_720p",
                "prompt": "the cast dances to the song",
                "duration": 4,
                "images": [assets["first"], assets["last"]],
                "reference_videos": [assets["video"]],
                "reference_audios": [assets["audio"]],
            },
            (720, 1280),
        ),
    ]
    for body, size in bodies:
        response = client.post(f"{BASE}/seedance/videos", json=body)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer.keys() == answer_shape.keys() and answer["code"] == "20000"
        assert answer["data"].keys() == answer_shape["data"].keys()
        assert isinstance(answer["data"]["created_at"], int) and answer["data"]["model"] == body["model"]
        data = finished(client, answer["data"]["task_id"])
        assert data["status"] == "completed" and data["progress"] == 100 and data["error_message"] is None, data
        assert isinstance(data["completed_at"], int)
        facts = inspect_video(httpx.get(data["result"]["video_url"]).content)
        assert (facts.width, facts.height) == size and facts.frames == 24 * body["duration"] + 1


def test_2k_model(client: httpx.Client) -> None:
    answer = client.post(
        f"{BASE}/seedance/videos", json={"model": "sd2_mx_2k", "prompt": "city", "duration": 4, "ratio": "1:1"}
    ).json()
    data = finished(client, answer["data"]["task_id"])
    facts = inspect_video(httpx.get(data["result"]["video_url"]).content)
    assert (facts.width, facts.height) == (1920, 1920)


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (
            {"model": "sd2_mx_720p", "prompt": "x", "duration": 5, "first_image": "https://example.com/a.png"},
            400,
            "20002",
            "first_image",
        ),
        (
            {"model": "sd2_mx_720p", "prompt": "x", "duration": 5, "images": ["asset://asset-20260101000000-none"]},
            400,
            "20002",
            "images[0]",
        ),
        ({"model": "sd2_mx_720p", "prompt": "x"}, 400, "20002", "duration"),
        ({"model": "sd2_mx_720p", "duration": 5}, 400, "20002", "prompt"),
        ({"model": "sd2_mx_720p", "prompt": "x", "duration": 30}, 400, "20002", "duration"),
        (
            {"model": "sd2_mx_720p", "prompt": "x", "duration": 5, "orientation": "sideways"},
            400,
            "20002",
            "orientation",
        ),
        ({"model": "sd2_mx_720p", "prompt": "x", "duration": 5, "resolution": "1080p"}, 400, "20002", "resolution"),
        ({"model": "sd2_mx_9k", "prompt": "x", "duration": 5}, 404, "20002", "model"),
    ],
)
def test_errors_in_jimmyai_envelope(
    client: httpx.Client, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    response = client.post(f"{BASE}/seedance/videos", json=body)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["code"] == code and answer["data"] is None and field in answer["msg"]


def test_frames_and_references_cannot_mix(client: httpx.Client, assets: dict[str, str]) -> None:
    response = client.post(
        f"{BASE}/seedance/videos",
        json={
            "model": "sd2_mx_720p",
            "prompt": "x",
            "duration": 5,
            "first_image": assets["first"],
            "images": [assets["last"]],
        },
    )
    assert response.status_code == 400 and response.json()["code"] == "20002"


def test_auth_and_unknown_task(server: Server, client: httpx.Client) -> None:
    response = httpx.post(f"{server.url}{BASE}/seedance/videos", json={"model": "sd2_mx_720p"})
    assert response.status_code == 401 and response.json()["code"] == "20001"
    response = client.get(f"{BASE}/videos/cgt-20260101000000-nothere")
    assert response.status_code == 404 and response.json()["code"] == "20002"


def test_audit_errors(client: httpx.Client, media_server: MediaServer) -> None:
    response = client.post(f"{BASE}/seedance/assets/audit", json={})
    assert response.status_code == 400 and response.json()["code"] == "20002"
    bad = media_server.add("jimmy-not-audio.wav", image_bytes(640, 640))
    data = client.post(f"{BASE}/seedance/assets/audit", json={"audio_urls": [bad, "file:///etc/passwd"]}).json()
    assert [f["originalUrl"] for f in data["data"]["failedItems"]] == ["file:///etc/passwd"]
    asset_id = data["data"]["items"][0]["assetId"]
    status = wait_until(
        lambda: client.post(f"{BASE}/seedance/assets/status", json={"assetIds": [asset_id]}).json()["data"],
        f"asset {asset_id}'s audit",
        until=lambda s: s["items"][0]["status"] != "Processing",
        interval=0.2,
    )
    assert status["items"][0]["status"] == "Failed"
    assert status["failedItems"][0]["assetId"] == asset_id and "image" in status["failedItems"][0]["errorMessage"]
    assert client.get(f"{BASE}/seedance/assets/status").json()["code"] == "20002"


def test_sp_asset_library(client: httpx.Client, media_server: MediaServer) -> None:
    url = media_server.add("jimmy-sp.png", image_bytes(800, 800))
    answer = client.post(
        f"{BASE}/seedance/sp/assets/upload", json={"name": "reference-1", "type": "image", "url": url}
    ).json()
    assert answer["code"] == 0 and answer["msg"] == "ok"
    asset_id = answer["data"]["asset_id"]
    detail = wait_until(
        lambda: client.post(f"{BASE}/seedance/sp/assets/detail", json={"asset_id": asset_id}).json()["data"],
        f"asset {asset_id}'s audit",
        until=lambda d: d["status"] != "Processing",
        interval=0.2,
    )
    assert detail["status"] == "Active" and detail["name"] == "reference-1"
    assert httpx.get(detail["image_url"]).content == httpx.get(url).content
    items = client.post(f"{BASE}/seedance/sp/assets/status", json={"asset_ids": [asset_id]}).json()["data"]["items"]
    assert [i["asset_id"] for i in items] == [asset_id]
    bad = client.post(f"{BASE}/seedance/sp/assets/upload", json={"type": "model3d", "url": url})
    assert bad.status_code == 400 and bad.json()["code"] == "20002" and "type" in bad.json()["msg"]
