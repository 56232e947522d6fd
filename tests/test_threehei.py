"""3hei (seed 003): its examples replayed verbatim on `POST /v1/videos`, and the undated official model names it
sends (`doubao-seedance-2-0`, `doubao-seedance-2-0-fast`, ...) resolving to the newest dated IDs in every dialect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from volcenginesdkarkruntime._exceptions import ArkNotFoundError

from .conftest import MediaServer, Server, wait_status
from .media import image_bytes, inspect_video, video_bytes, wav_bytes
from .seeds import json_objects, replace_urls, seed_file
from .waiting import wait_until

ARK_TASKS = "/api/v3/contents/generations/tasks"
PLACEHOLDER_ASSET = "asset://asset-xxxx"


def seed_bodies() -> list[dict[str, Any]]:
    return [o for o in json_objects(seed_file("003")) if isinstance(o, dict) and "model" in o and "content" in o]


def mp3_bytes(path: Path, seconds: float = 3) -> bytes:
    """A real MP3 where the encoder exists (the seed's URL ends in .mp3), else a WAV (judged by content)."""
    if "libmp3lame" not in av.codecs_available:
        return wav_bytes(path, seconds=seconds)
    with av.open(str(path), "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=44100)
        stream.layout = "mono"
        samples = (np.sin(np.arange(int(44100 * seconds)) / 10) * 8000).astype(np.int16)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 44100
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    return path.read_bytes()


@pytest.fixture(scope="module")
def urls(media_server: MediaServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("3hei")
    return {
        "https://example.com/first.jpg": media_server.add("3hei-first.jpg", image_bytes(1024, 768, fmt="JPEG")),
        "https://example.com/start.jpg": media_server.add("3hei-start.jpg", image_bytes(800, 800, fmt="JPEG")),
        "https://example.com/end.jpg": media_server.add("3hei-end.jpg", image_bytes(800, 800, (40, 80, 200), "JPEG")),
        "https://example.com/voice.mp3": media_server.add("3hei-voice.mp3", mp3_bytes(folder / "voice.mp3")),
    }


@pytest.fixture(scope="module")
def asset_id(server: Server, media_server: MediaServer) -> str:
    """A real asset for the seed's `asset://asset-xxxx` placeholder, created with the Volcengine asset actions."""
    url = media_server.add("3hei-singer.png", image_bytes(720, 1280))
    with server.client() as client:
        created = client.post("/api/v1/open/CreateAsset", json={"URL": url, "AssetType": "Image"}).json()
        asset = created["Result"]["Id"]
        status = wait_until(
            lambda: client.post("/api/v1/open/GetAsset", json={"Id": asset}).json()["Result"]["Status"],
            f"asset {asset}'s audit",
            until=lambda s: s != "Processing",
            interval=0.2,
        )
    assert status == "Active"
    return asset


def ark_task(server: Server, task_id: str) -> dict[str, Any]:
    with server.client() as client:
        response = client.get(f"/v1/videos/{task_id}")  # 3hei's query route answers the Ark task object
    assert response.status_code == 200, response.text
    return response.json()


def task_count(server: Server) -> int:
    with server.client() as client:
        return client.get(ARK_TASKS, params={"page_size": 1}).json()["total"]


def test_seed_examples_replayed_verbatim(server: Server, urls: dict[str, str], asset_id: str) -> None:
    bodies = seed_bodies()
    answer_keys = {frozenset(o) for o in json_objects(seed_file("003")) if "content" not in o}
    assert answer_keys == {frozenset({"id"})}  # the page's answer example: only the task ID
    # The page's four mode examples, then the curl example (a text item without its text).
    assert [b["model"] for b in bodies] == ["doubao-seedance-2-0-fast"] + ["doubao-seedance-2-0"] * 4
    created = []
    with server.client() as client:
        for body in bodies[:4]:
            sent = replace_urls(body, urls)
            if PLACEHOLDER_ASSET in str(sent):
                # The placeholder names no asset: a clear 400 naming the item; with a real asset ID it runs.
                before = task_count(server)
                refused = client.post("/v1/videos", json=sent)
                assert refused.status_code == 400, refused.text
                error = refused.json()["error"]
                assert error["param"] == "content[1].image_url.url" and "asset-xxxx" in error["message"]
                assert task_count(server) == before
                sent = replace_urls(sent, {PLACEHOLDER_ASSET: f"asset://{asset_id}"})
            response = client.post("/v1/videos", json=sent)
            assert response.status_code == 200, response.text
            assert frozenset(response.json()) in answer_keys and response.json()["id"].startswith("cgt-")
            created.append((body, response.json()["id"]))
        # The curl example sends a text item without `text`: the model resolves, the empty prompt is refused.
        before = task_count(server)
        curl = client.post("/v1/videos", json=bodies[4])
        assert curl.status_code == 400, curl.text
        assert curl.json()["error"]["code"] != "InvalidEndpointOrModel.NotFound"
        assert curl.json()["error"]["param"].startswith("content")
        assert task_count(server) == before

    expected = [
        ("doubao-seedance-2-0-fast", "text", (1280, 720)),  # 720p 16:9 as the example asks
        ("doubao-seedance-2-0", "first_frame", None),
        ("doubao-seedance-2-0", "first_last_frame", (960, 960)),  # adaptive: the square first frame
        ("doubao-seedance-2-0", "reference", None),
    ]
    for (body, task_id), (model, _, size) in zip(created, expected, strict=True):
        task = wait_status(lambda i: ark_task(server, i), task_id)
        assert task["status"] == "succeeded", task
        assert task["model"] == model  # the name the client sent comes back
        facts = inspect_video(httpx.get(task["content"]["video_url"]).content)
        assert facts.codec == "h264" and facts.fps == 24
        if size:
            assert (facts.width, facts.height) == size
        if body.get("duration"):
            assert task["duration"] == body["duration"]
    reference = wait_status(lambda i: ark_task(server, i), created[3][1])
    assert inspect_video(httpx.get(reference["content"]["video_url"]).content).audio_channels == 1


def test_seed_bodies_through_the_ark_sdk(ark: Any, urls: dict[str, str], asset_id: str) -> None:
    """The same bodies are Ark bodies: the official SDK sends them to `/api/v3` unchanged (URLs made local)."""
    created = []
    for body in seed_bodies()[:4]:
        sent = replace_urls(body, {**urls, PLACEHOLDER_ASSET: f"asset://{asset_id}"})
        created.append((body["model"], ark.content_generation.tasks.create(**sent).id))
    for model, task_id in created:
        task = wait_status(lambda i: ark.content_generation.tasks.get(task_id=i), task_id)
        assert task.status == "succeeded" and task.model == model, task


@pytest.mark.parametrize(
    ("name", "dated"),
    [
        ("doubao-seedance-2-0", "doubao-seedance-2-0-260128"),
        ("doubao-seedance-2-0-fast", "doubao-seedance-2-0-fast-260128"),
        ("doubao-seedance-2-0-mini", "doubao-seedance-2-0-mini-260615"),
        ("doubao-seedance-2-5", "doubao-seedance-2-5-260628"),
        ("doubao-seedance-1-5-pro", "doubao-seedance-1-5-pro-251215"),
        ("doubao-seedance-1-0-pro", "doubao-seedance-1-0-pro-250528"),
        ("dreamina-seedance-2-0", "doubao-seedance-2-0-260128"),
        ("dreamina-seedance-2-0-fast", "doubao-seedance-2-0-fast-260128"),
        ("seedance-1-5-pro", "doubao-seedance-1-5-pro-251215"),
    ],
)
def test_undated_names_are_catalog_aliases(server: Server, name: str, dated: str) -> None:
    with server.client() as client:
        models = {m["id"]: m for m in client.get("/v1/models").json()["data"]}
    assert name in models[dated]["aliases"]


def test_undated_names_work_in_every_dialect(
    server: Server, ark: Any, media_server: MediaServer, tmp_path: Path
) -> None:
    image = media_server.add("3hei-any.png", image_bytes(640, 640))
    clip = media_server.add("3hei-clip.mp4", video_bytes(tmp_path / "clip.mp4", 640, 640, seconds=3))
    with server.client() as client:
        ids = {
            "ark (SDK)": ark.content_generation.tasks.create(
                model="dreamina-seedance-2-0-fast", content=[{"type": "text", "text": "a fox"}], duration=4
            ).id,
            "aigeneration": client.post(
                "/api/AIGeneration/video/seedance/createTask",
                json={
                    "model": "doubao-seedance-1-5-pro",
                    "content": [{"type": "text", "text": "a fox"}],
                    "duration": 4,
                },
            ).json()["data"]["id"],
            "maxapi": client.post(
                "/api/v1/task/submit",
                json={
                    "model": "doubao-seedance-2-0-fast",
                    "input": {"prompt": "@1 runs like @2", "mediaUrls": [image, clip], "duration": 4},
                },
            ).json()["data"]["taskId"],
            "moonapix": client.post(
                "/v1/video/generations",
                json={"model": "doubao-seedance-2-0", "prompt": "a fox", "duration": 4, "resolution": "480p"},
            ).json()["id"],
            "jimmyai": client.post(
                "/api/open-api/v1/seedance/videos",
                json={"model": "doubao-seedance-2-0-fast", "prompt": "a fox", "duration": 4},
            ).json()["data"]["task_id"],
        }
    for dialect, task_id in ids.items():
        task = ark.content_generation.tasks.get(task_id=task_id)
        finished = wait_status(lambda i: ark.content_generation.tasks.get(task_id=i), task_id)
        assert finished.status == "succeeded", (dialect, finished)
        assert task.model.startswith(("doubao-seedance", "dreamina-seedance")), (dialect, task.model)


def test_unknown_undated_name_is_still_404(ark: Any) -> None:
    with pytest.raises(ArkNotFoundError) as caught:
        ark.content_generation.tasks.create(model="doubao-seedance-9-9", content=[{"type": "text", "text": "x"}])
    assert caught.value.code == "InvalidEndpointOrModel.NotFound"
