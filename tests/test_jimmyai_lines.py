"""jimmyai beyond Manxue (vendors.md §2.2-2.6): its other product lines, `seedance25/videos`, the SP library's
`text` uploads, the real-person whitelist and `files/upload`, through a real server; each bad request answers in
jimmyai's envelope and creates no task.

The vendor's bodies are written inline (the docs' field names and shapes), so this suite needs no seed pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import MediaServer, Server, wait_status
from .media import image_bytes, inspect_video, video_bytes, wav_bytes
from .waiting import wait_until

BASE = "/api/open-api/v1"
TASKS = "/api/v3/contents/generations/tasks"  # the Ark list route, to count the key's tasks


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture(scope="module")
def urls(media_server: MediaServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("jimmy-lines")
    return {
        "image": media_server.add("lines-a.png", image_bytes(1280, 720)),
        "image2": media_server.add("lines-b.jpg", image_bytes(720, 1280, color=(10, 120, 220), fmt="JPEG")),
        "video": media_server.add("lines-move.mp4", video_bytes(tmp / "m.mp4", 960, 540, seconds=2)),
        "audio": media_server.add("lines-voice.wav", wav_bytes(tmp / "v.wav", seconds=2)),
    }


def task_count(client: httpx.Client) -> int:
    response = client.get(TASKS, params={"page_size": 1})
    assert response.status_code == 200, response.text
    return response.json()["total"]


def created(client: httpx.Client, path: str, body: dict[str, Any]) -> str:
    response = client.post(f"{BASE}{path}", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["code"] == "20000" and answer["msg"] == "ok"
    data = answer["data"]
    assert data["status"] == "queued" and data["model"] == body["model"] and isinstance(data["created_at"], int)
    return data["task_id"]


def finished(client: httpx.Client, task_id: str) -> dict[str, Any]:
    def query(i: str) -> dict[str, Any]:
        answer = client.get(f"{BASE}/videos/{i}").json()
        assert answer["code"] == "20000", answer
        return answer["data"]

    data = wait_status(query, task_id, ("completed", "failed", "cancelled"))
    assert data["status"] == "completed", data
    return data


def refused(client: httpx.Client, path: str, body: Any, status: int, field: str) -> dict[str, Any]:
    """The request fails in jimmyai's envelope, names the field, and leaves no task behind."""
    before = task_count(client)
    response = client.post(f"{BASE}{path}", json=body)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["code"] == ("20002" if status < 500 else "-1") and answer["data"] is None, answer
    assert field in answer["msg"], answer
    assert task_count(client) == before
    return answer


def wait_active(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    def data() -> dict[str, Any]:
        answer = client.post(f"{BASE}{path}", json=body).json()
        assert answer["code"] == 0, answer
        result: dict[str, Any] = answer["data"]
        return result

    return wait_until(data, f"{path} to leave Processing", until=lambda d: d["status"] != "Processing", interval=0.2)


# -- product lines ---------------------------------------------------------------------------------------------


def test_product_lines_accept_their_documented_bodies(client: httpx.Client, urls: dict[str, str]) -> None:
    """One create per line, in the create page's fields; each is queued under the name the client sent."""
    bodies = [
        {
            "model": "seedance2.0-sp",
            "prompt": "产品旋转展示",
            "duration": 5,
            "ratio": "16:9",
            "images": [urls["image"]],
        },
        {"model": "seedance2.0-fast-sp", "prompt": "x", "duration": 4, "first_image": urls["image"]},
        {"model": "seedance2.0-of-sp", "prompt": "x", "duration": 4, "orientation": "portrait"},
        {"model": "seedance2.0-of-fast-sp", "prompt": "x", "duration": 4, "resolution": "480p"},
        {
            "model": "seedance2.0-mini",
            "prompt": "x",
            "duration": 4,
            "resolution": "480p",
            "images": [urls["image"]],
            "reference_audios": [urls["audio"]],
        },
        {"model": "seedance2.0-mini-video", "prompt": "x", "duration": 4, "reference_videos": [urls["video"]]},
        {
            "model": "seedance2.0-mini-sp",
            "prompt": "x",
            "duration": 4,
            "first_image": urls["image"],
            "last_image": urls["image2"],
        },
        {"model": "seedance2.0-fast-md", "prompt": "x", "duration": 4, "images": [urls["image"]] * 4},
        {"model": "seedance2.0-fast-i2v", "prompt": "x", "duration": 4, "first_image": urls["image"]},
        {"model": "seedance2.0-std", "prompt": "x", "duration": 4, "ratio": "1:1"},
        {"model": "seedance2.0-gz-720p", "prompt": "x", "duration": 4},
        {"model": "sd2_mx_fast_1080p", "prompt": "x", "duration": 4},
        {"model": "sd2_mx_fast_2k", "prompt": "x", "duration": 4},
        {"model": "sd2_mx_fast_4k", "prompt": "x", "duration": 4},
        {"model": "sd2_mx_video_720p", "prompt": "x", "duration": 4},
        {"model": "sd2_mx_video_4k", "prompt": "x", "duration": 4},
    ]
    for body in bodies:
        task_id = created(client, "/seedance/videos", body)
        # Accepted is what this test checks; cancelling keeps the queue free for the tests that render (a worker
        # may have taken the task already: 409, and it runs to its end).
        assert client.delete(f"{TASKS}/{task_id}").status_code in (200, 409)


def test_md_runs_at_720p_from_direct_urls(client: httpx.Client, urls: dict[str, str]) -> None:
    task_id = created(
        client,
        "/seedance/videos",
        {
            "model": "seedance2.0-md",
            "prompt": "镜头缓慢推进",
            "duration": 4,
            "ratio": "16:9",
            "first_image": urls["image"],
        },
    )
    data = finished(client, task_id)
    assert data["progress"] == 100 and data["model"] == "seedance2.0-md"
    facts = inspect_video(httpx.get(data["result"]["video_url"]).content)
    assert (facts.width, facts.height) == (1280, 720)


def test_933_takes_reference_images(client: httpx.Client, urls: dict[str, str]) -> None:
    task_id = created(
        client,
        "/seedance/videos",
        {
            "model": "sd2-933-720p",
            "prompt": "x",
            "duration": 4,
            "ratio": "9:16",
            "reference_images": [urls["image"]],
            "reference_mode": "subject",
            "generate_audio": False,
            "face_processing": True,
        },
    )
    facts = inspect_video(httpx.get(finished(client, task_id)["result"]["video_url"]).content)
    assert (facts.width, facts.height) == (720, 1280) and facts.audio_channels is None


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (
            {"model": "seedance2.0-md", "prompt": "x", "duration": 4, "images": ["asset://asset-20260101000000-any"]},
            400,
            "images[0]",
        ),
        (
            {"model": "seedance2.0-md", "prompt": "x", "duration": 4, "images": ["https://example.com/a.png"] * 5},
            400,
            "images",
        ),
        (
            {
                "model": "seedance2.0-md",
                "prompt": "x",
                "duration": 4,
                "images": ["https://example.com/a.png"],
                "reference_audios": ["https://example.com/a.wav"],
            },
            400,
            "reference_audios",
        ),
        ({"model": "seedance2.0-md", "prompt": "x", "duration": 4, "resolution": "1080p"}, 400, "resolution"),
        ({"model": "seedance2.0-fast-i2v", "prompt": "x", "duration": 4}, 400, "images"),
        (
            {
                "model": "seedance2.0-mini",
                "prompt": "x",
                "duration": 4,
                "reference_audios": ["https://example.com/a.wav"],
            },
            400,
            "reference_audios",
        ),
        (
            {
                "model": "seedance2.0-std",
                "prompt": "x",
                "duration": 4,
                "images": ["https://example.com/a.png"],
                "first_image": "https://example.com/b.png",
            },
            400,
            "first_image",
        ),
        (
            {
                "model": "sd2-933-720p",
                "prompt": "x",
                "duration": 4,
                "images": ["https://example.com/a.png"],
                "reference_images": ["https://example.com/a.png"],
            },
            400,
            "reference_images",
        ),
        ({"model": "seedance2.0-gz-720p", "prompt": "x", "duration": 4, "resolution": "480p"}, 400, "resolution"),
        (
            {"model": "sd2_mx_fast_2k", "prompt": "x", "duration": 4, "first_image": "https://example.com/a.png"},
            400,
            "first_image",
        ),
        ({"model": "seedance2.0-sp", "prompt": "x", "duration": 16}, 400, "duration"),
        ({"model": "seedance2.0-nope", "prompt": "x", "duration": 4}, 404, "model"),
    ],
)
def test_line_rules_refuse_in_jimmyai_envelope(
    client: httpx.Client, body: dict[str, Any], status: int, field: str
) -> None:
    refused(client, "/seedance/videos", body, status, field)


# -- seedance25/videos -------------------------------------------------------------------------------------------


def test_seedance25_route(client: httpx.Client, urls: dict[str, str]) -> None:
    """2.5's route: reference_images / reference_videos / reference_audios; the model picks the length (-1)."""
    task_id = created(
        client,
        "/seedance25/videos",
        {
            "model": "doubao-seedance-2-5-260628",
            "prompt": "参考图中的人物在海边散步",
            "ratio": "16:9",
            "resolution": "480p",
            "reference_images": [urls["image"]],
            "reference_videos": [urls["video"]],
            "reference_audios": [urls["audio"]],
        },
    )
    data = finished(client, task_id)
    facts = inspect_video(httpx.get(data["result"]["video_url"]).content)
    assert (facts.width, facts.height) == (854, 480) and facts.audio_channels


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"model": "doubao-seedance-2-5-260628"}, 400, "prompt"),
        ({"prompt": "x"}, 400, "model"),
        (
            {"model": "doubao-seedance-2-5-260628", "prompt": "x", "reference_images": "https://example.com/a.png"},
            400,
            "reference_images",
        ),
        ({"model": "doubao-seedance-2-5-260628", "prompt": "x", "duration": 31}, 400, "duration"),
        ({"model": "seedance-9", "prompt": "x"}, 404, "model"),
    ],
)
def test_seedance25_refusals(client: httpx.Client, body: dict[str, Any], status: int, field: str) -> None:
    refused(client, "/seedance25/videos", body, status, field)


# -- the SP library: pools and text ------------------------------------------------------------------------------


def test_sp_models_take_sp_assets_not_manxue_ones(client: httpx.Client, urls: dict[str, str]) -> None:
    sp = client.post(
        f"{BASE}/seedance/sp/assets/upload", json={"name": "hero", "type": "image", "url": urls["image"]}
    ).json()
    assert sp["code"] == 0
    sp_id = sp["data"]["asset_id"]
    assert wait_active(client, "/seedance/sp/assets/detail", {"asset_id": sp_id})["status"] == "Active"
    audit = client.post(f"{BASE}/seedance/assets/audit", json={"imageUrls": [urls["image2"]]}).json()["data"]
    mx_id = audit["items"][0]["assetId"]
    task_id = created(
        client,
        "/seedance/videos",
        {"model": "seedance2.0-sp", "prompt": "x", "duration": 4, "resolution": "480p", "images": [f"asset://{sp_id}"]},
    )
    assert finished(client, task_id)["result"]["video_url"]
    answer = refused(
        client,
        "/seedance/videos",
        {"model": "seedance2.0-fast-sp", "prompt": "x", "duration": 4, "images": [f"asset://{mx_id}"]},
        400,
        "images[0]",
    )
    assert mx_id in answer["msg"]


def test_sp_text_upload(client: httpx.Client, media_server: MediaServer) -> None:
    url = media_server.add("lines-story.txt", "一位穿红色外套的女孩".encode())
    answer = client.post(f"{BASE}/seedance/sp/assets/upload", json={"name": "story", "type": "text", "url": url})
    assert answer.status_code == 200 and answer.json()["code"] == 0 and answer.json()["msg"] == "ok"
    asset_id = answer.json()["data"]["asset_id"]
    detail = client.post(f"{BASE}/seedance/sp/assets/detail", json={"asset_id": asset_id}).json()
    assert detail["code"] == 0
    assert detail["data"] | {"created_at": 0} == {
        "asset_id": asset_id,
        "official_id": asset_id,
        "status": "Active",
        "type": "text",
        "name": "story",
        "image_url": None,
        "created_at": 0,
        "error_message": None,
    }
    items = client.post(f"{BASE}/seedance/sp/assets/status", json={"asset_ids": [asset_id]}).json()["data"]["items"]
    assert [(i["asset_id"], i["type"]) for i in items] == [(asset_id, "text")]
    refused(
        client,
        "/seedance/videos",
        {"model": "seedance2.0-sp", "prompt": "x", "duration": 4, "images": [f"asset://{asset_id}"]},
        400,
        "text asset",
    )
    bad = client.post(f"{BASE}/seedance/sp/assets/upload", json={"type": "model3d", "url": url})
    assert bad.status_code == 400 and bad.json()["code"] == "20002" and "type" in bad.json()["msg"]
    bad = client.post(f"{BASE}/seedance/sp/assets/upload", json={"type": "text"})
    assert bad.status_code == 400 and bad.json()["code"] == "20002" and "url" in bad.json()["msg"]


# -- the real-person whitelist -----------------------------------------------------------------------------------


def test_realperson_whitelist(client: httpx.Client, urls: dict[str, str]) -> None:
    answer = client.post(f"{BASE}/seedance/sp/realperson/submit", json={"name": "主播小王", "url": urls["image"]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["code"] == 0 and body["msg"] == "ok"
    data = body["data"]
    assert data["status"] == "Processing" and data["asset_ref"] is None and data["name"] == "主播小王"
    assert data["url"] == urls["image"] and data["official_id"] == data["asset_id"]
    assert isinstance(data["created_at"], int)
    asset_id = data["asset_id"]
    active = wait_active(client, "/seedance/sp/realperson/status", {"asset_id": asset_id})
    assert active["status"] == "Active" and active["asset_ref"] == f"asset://{asset_id}"
    batch = client.post(
        f"{BASE}/seedance/sp/realperson/batch-status", json={"asset_ids": [asset_id, "asset-20260101000000-none"]}
    ).json()
    assert batch["code"] == 0 and [i["asset_id"] for i in batch["data"]["items"]] == [asset_id]
    assert batch["data"]["items"][0]["asset_ref"] == f"asset://{asset_id}"
    task_id = created(
        client,
        "/seedance/videos",
        {
            "model": "seedance2.0-sp",
            "prompt": "x",
            "duration": 4,
            "resolution": "480p",
            "first_image": active["asset_ref"],
        },
    )
    assert finished(client, task_id)["result"]["video_url"]


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/seedance/sp/realperson/submit", {"name": "x"}, 400, "url"),
        ("/seedance/sp/realperson/submit", {"url": "file:///etc/passwd"}, 400, "url"),
        ("/seedance/sp/realperson/status", {}, 400, "asset_id"),
        ("/seedance/sp/realperson/status", {"asset_id": "asset-20260101000000-none"}, 404, "asset_id"),
        ("/seedance/sp/realperson/batch-status", {"asset_ids": "a"}, 400, "asset_ids"),
        ("/seedance/sp/realperson/batch-status", [], 400, "body"),
    ],
)
def test_realperson_refusals(client: httpx.Client, path: str, body: Any, status: int, field: str) -> None:
    response = client.post(f"{BASE}{path}", json=body)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["code"] == "20002" and answer["data"] is None and field in answer["msg"]


# -- files/upload ------------------------------------------------------------------------------------------------


def test_files_upload_then_use_the_url(client: httpx.Client) -> None:
    png = image_bytes(960, 960, color=(30, 160, 90))
    response = client.post(f"{BASE}/files/upload", files={"file": ("product.png", png, "image/png")})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["code"] == "20000" and answer["msg"] == "ok"
    data = answer["data"]
    assert (data["filename"], data["size"], data["mime_type"]) == ("product.png", len(png), "image/png")
    assert httpx.get(data["url"]).content == png
    task_id = created(
        client,
        "/seedance/videos",
        {"model": "seedance2.0-md", "prompt": "x", "duration": 4, "ratio": "adaptive", "first_image": data["url"]},
    )
    facts = inspect_video(httpx.get(finished(client, task_id)["result"]["video_url"]).content)
    assert (facts.width, facts.height) == (960, 960)


def test_files_upload_refusals(server: Server, client: httpx.Client) -> None:
    for response in (
        client.post(f"{BASE}/files/upload", json={"file": "x"}),
        client.post(f"{BASE}/files/upload", files={"other": ("a.png", b"x", "image/png")}),
    ):
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "20002" and "file" in response.json()["msg"]
    anonymous = httpx.post(f"{server.url}{BASE}/files/upload", files={"file": ("a.png", b"x", "image/png")})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "20001"
