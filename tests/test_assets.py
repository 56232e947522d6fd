"""The asset library through real HTTP: every asset API, real audits of generated files, hostile inputs, SSRF,
asset:// references in every dialect, key isolation."""

from __future__ import annotations

import io
import wave
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from openai import OpenAI

from .conftest import API_KEY, Database, MediaServer, Server, start_server, wait_status
from .media import image_bytes, inspect_video, video_bytes, wav_bytes
from .test_ark_api import _create_key
from .waiting import wait_until

HAS_MP3 = "libmp3lame" in av.codecs_available
ARK_TASKS = "/api/v3/contents/generations/tasks"
TERMINAL = ("Active", "Failed")


def volc(client: httpx.Client, action: str, expect: int = 200, **body: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/open/{action}", json=body)
    assert response.status_code == expect, response.text
    answer = response.json()
    meta = answer["ResponseMetadata"]
    assert meta["Action"] == action and meta["RequestId"]
    if expect == 200:
        assert "Error" not in meta
        return answer["Result"]
    return meta["Error"]


def settled(client: httpx.Client, asset_id: str, timeout: float = 60) -> dict[str, Any]:
    def done(asset: dict[str, Any]) -> bool:
        assert asset["Status"] in (*TERMINAL, "Processing"), asset
        return asset["Status"] in TERMINAL

    return wait_until(
        lambda: volc(client, "GetAsset", Id=asset_id),
        f"asset {asset_id} to settle",
        until=done,
        timeout=timeout,
        interval=0.2,
    )


def new_asset(client: httpx.Client, url: str, kind: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"URL": url, **extra}
    if kind:
        body["AssetType"] = kind
    return settled(client, volc(client, "CreateAsset", **body)["Id"])


def _mp4(tmp: Path, name: str, **kwargs: Any) -> bytes:
    return video_bytes(tmp / name, **kwargs)


def _mov(tmp: Path, fps: int) -> bytes:
    path = tmp / f"clip{fps}.mov"
    with av.open(str(path), "w", format="mov") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 800, 600, "yuv420p"
        for i in range(fps * 3):
            frame = av.VideoFrame.from_ndarray(np.full((600, 800, 3), i % 255, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes()


def _silent_hour_wav() -> bytes:
    """A genuine hour of 4 kHz 8-bit silence: 14.4 MB, under the 15 MB cap, so the duration check must catch it."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(4000)
        out.writeframes(b"\x80" * 4000 * 3600)
    return buffer.getvalue()


def _pixel_flood_png() -> bytes:
    """A valid, tiny PNG whose header claims 50000 x 50000 pixels (2.5 gigapixels if decoded)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def media(media_server: MediaServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("asset-media")
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("a.txt", "hello")
    whole = _mp4(tmp, "whole.mp4", width=640, height=640, seconds=3)
    files = {
        "photo.png": image_bytes(1024, 768),
        "photo.jpg": image_bytes(900, 1200, fmt="JPEG"),
        "tiny.png": image_bytes(100, 100),
        "flood.png": _pixel_flood_png(),
        "archive.png": zipped.getvalue(),
        "clip24.mp4": whole,
        "clip30.mp4": _mp4(tmp, "c30.mp4", fps=30, seconds=3),
        "clip60.mp4": _mp4(tmp, "c60.mp4", fps=60, seconds=2.5),
        "clip25.mov": _mov(tmp, 25),
        "slow10.mp4": _mp4(tmp, "s10.mp4", fps=10, seconds=3),
        "short.mp4": _mp4(tmp, "short.mp4", seconds=1),
        "long8a.mp4": _mp4(tmp, "l8a.mp4", seconds=8),
        "long8b.mp4": _mp4(tmp, "l8b.mp4", seconds=8),
        "truncated.mp4": whole[: len(whole) // 2],
        "voice.wav": wav_bytes(tmp / "v.wav", seconds=3),
        "hour.wav": _silent_hour_wav(),
    }
    if HAS_MP3:
        path = tmp / "voice.mp3"
        with av.open(str(path), "w", format="mp3") as container:
            stream = container.add_stream("libmp3lame", rate=44100)
            stream.layout = "mono"
            samples = (np.sin(np.arange(44100 * 3) / 10) * 8000).astype(np.int16)[None, :]
            frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
            frame.sample_rate = 44100
            for packet in stream.encode(frame):
                container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        files["voice.mp3"] = path.read_bytes()
    return {name: media_server.add(f"assets-{name}", data) for name, data in files.items()}


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


# -- the Volcengine actions ---------------------------------------------------------------------------------------


def test_volcengine_groups_and_assets(client: httpx.Client, media: dict[str, str]) -> None:
    group = volc(client, "CreateAssetGroup", Name="产品素材", Description="launch", GroupType="AIGC")["Id"]
    assert group.startswith("group-")
    assert volc(client, "GetAssetGroup", Id=group)["Name"] == "产品素材"
    renamed = volc(client, "UpdateAssetGroup", Id=group, Name="products")
    assert renamed["Name"] == "products" and renamed["Description"] == "launch"
    listed = volc(client, "ListAssetGroups", Filter={"GroupIds": [group]}, PageNumber=1, PageSize=10)
    assert [g["Id"] for g in listed["Items"]] == [group] and listed["TotalCount"] == 1

    first = volc(client, "CreateAsset", GroupId=group, Name="photo", AssetType="Image", URL=media["photo.png"])["Id"]
    assert first.startswith("asset-")
    asset = settled(client, first)
    assert asset["Status"] == "Active" and asset["AssetType"] == "Image" and asset["GroupId"] == group
    assert asset["CreateTime"].endswith("Z") and "Error" not in asset
    download = httpx.get(asset["URL"])
    assert download.status_code == 200 and download.content == httpx.get(media["photo.png"]).content
    assert download.headers["content-type"] == "image/png"
    assert httpx.get(asset["URL"].replace("signature=", "signature=0")).status_code == 403

    bad = volc(client, "CreateAsset", GroupId=group, Name="zip", AssetType="Image", URL=media["archive.png"])["Id"]
    assert settled(client, bad)["Status"] == "Failed"
    page = volc(client, "ListAssets", Filter={"GroupIds": [group], "Statuses": ["Active"]}, PageSize=10)
    assert [a["Id"] for a in page["Items"]] == [first] and page["TotalCount"] == 1
    every = volc(client, "ListAssets", Filter={"GroupIds": [group]}, PageNumber=1, PageSize=1)
    assert every["TotalCount"] == 2 and len(every["Items"]) == 1

    assert volc(client, "UpdateAsset", Id=first, Name="hero")["Name"] == "hero"
    volc(client, "DeleteAsset", Id=bad)
    assert volc(client, "GetAsset", expect=404, Id=bad)["Code"] == "ResourceNotFound"
    volc(client, "DeleteAssetGroup", Id=group)
    assert volc(client, "GetAsset", expect=404, Id=first)["Code"] == "ResourceNotFound"


def test_volcengine_errors(client: httpx.Client) -> None:
    assert volc(client, "CreateAsset", expect=400, AssetType="Image")["Code"] == "MissingParameter"
    error = volc(client, "CreateAsset", expect=400, AssetType="Picture", URL="https://example.com/a.png")
    assert error["Code"] == "InvalidParameter" and "AssetType" in error["Message"]
    assert "URL" in volc(client, "CreateAsset", expect=400, URL="file:///etc/passwd")["Message"]
    assert (
        volc(client, "CreateAsset", expect=404, GroupId="group-nope", URL="https://example.com/a.png")["Code"]
        == "ResourceNotFound"
    )
    assert volc(client, "ListAssets", expect=400, PageSize=1000)["Message"].startswith("PageSize")
    assert volc(client, "Explode", expect=404)["Code"] == "InvalidActionOrVersion"
    assert "Filter.Name" in volc(client, "ListAssets", expect=400, Filter={"Name": 123})["Message"]
    assert "PageNumber" in volc(client, "ListAssets", expect=400, PageNumber=10**18)["Message"]
    assert "at most 200" in volc(client, "CreateAssetGroup", expect=400, Name="x" * 201)["Message"]
    # A NUL in any JSON string is refused as malformed (PostgreSQL cannot store it), naming the field.
    assert volc(client, "GetAsset", expect=400, Id="asset-\u0000")["Message"].startswith("Id")
    assert "upload local files" in volc(client, "CreateAsset", expect=400, URL="data:image/png;base64,AAAA")["Message"]
    response = client.post("/api/v1/open/GetAsset", content=b"{oops")
    assert response.status_code == 400 and response.json()["ResponseMetadata"]["Error"]["Code"] == "InvalidParameter"
    response = httpx.post(f"{client.base_url}/api/v1/open/ListAssets", json={})
    assert response.status_code == 401
    assert response.json()["ResponseMetadata"]["Error"]["Code"] == "AuthenticationError"


# -- real audits --------------------------------------------------------------------------------------------------


ACCEPTED = [
    ("photo.jpg", "Image", {"format": "jpeg", "width": 900, "height": 1200}),
    ("clip24.mp4", "Video", {"format": "mp4", "fps": 24.0, "width": 640}),
    ("clip30.mp4", "Video", {"format": "mp4", "fps": 30.0}),
    ("clip60.mp4", "Video", {"format": "mp4", "fps": 60.0}),
    ("clip25.mov", "Video", {"format": "mov", "fps": 25.0, "height": 600}),
    ("voice.wav", "Audio", {"format": "wav", "seconds": 3.0}),
]
REJECTED = [
    ("tiny.png", "Image", "100x100"),
    ("flood.png", "Image", "50000"),
    ("archive.png", "Image", "ZIP archive"),
    ("truncated.mp4", "Video", "video"),
    ("slow10.mp4", "Video", "frame rate"),
    ("short.mp4", "Video", "between 2 and 15 s"),
    ("hour.wav", "Audio", "3600 s long"),
    ("photo.png", "Video", "declared video but the file is image"),
]


@pytest.mark.parametrize(("name", "kind", "facts"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_audit_accepts(
    client: httpx.Client, media: dict[str, str], name: str, kind: str, facts: dict[str, Any]
) -> None:
    asset = new_asset(client, media[name], kind)
    assert asset["Status"] == "Active", asset
    info = client.get(f"/v1/assets/{asset['Id']}").json()["info"]
    assert {k: info[k] for k in facts} == facts


@pytest.mark.skipif(not HAS_MP3, reason="PyAV built without libmp3lame, cannot make an MP3 to test with")
def test_audit_accepts_mp3(client: httpx.Client, media: dict[str, str]) -> None:
    asset = new_asset(client, media["voice.mp3"])  # no declared type: sniffed from the bytes
    assert asset["Status"] == "Active" and asset["AssetType"] == "Audio"


@pytest.mark.parametrize(("name", "kind", "reason"), REJECTED, ids=[r[0] + "-" + r[1] for r in REJECTED])
def test_audit_rejects(client: httpx.Client, media: dict[str, str], name: str, kind: str, reason: str) -> None:
    asset = new_asset(client, media[name], kind)
    assert asset["Status"] == "Failed" and asset["URL"] is None
    assert asset["Error"]["Code"] == "InvalidParameter.InvalidMedia"
    assert reason in asset["Error"]["Message"], asset["Error"]


def test_download_failures(client: httpx.Client, media_server: MediaServer) -> None:
    asset = new_asset(client, f"{media_server.url}/missing.png", "Image")
    assert asset["Status"] == "Failed" and asset["Error"]["Code"] == "InvalidParameter.DownloadFailed"
    assert "404" in asset["Error"]["Message"]


# -- seedgate's own and MoonApiX's upload routes ------------------------------------------------------------------


def _wait_ready(client: httpx.Client, asset_id: str) -> dict[str, Any]:
    return wait_until(
        lambda: client.get(f"/v1/assets/{asset_id}").json(),
        f"asset {asset_id}'s audit",
        until=lambda asset: asset["status"] != "processing",
        interval=0.2,
    )


def test_multipart_upload_and_moonapix_upload(client: httpx.Client, media: dict[str, str], tmp_path: Path) -> None:
    data = httpx.get(media["voice.wav"]).content
    response = client.post(
        "/v1/assets",
        files={"file": ("voice.wav", data, "audio/wav")},
        data={"name": "narration", "metadata": '{"take": 2}'},
    )
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["status"] == "processing" and created["asset_url"] == f"asset://{created['id']}"
    asset = _wait_ready(client, created["id"])
    assert asset["status"] == "ready" and asset["kind"] == "audio" and asset["name"] == "narration"
    assert asset["metadata"] == {"take": 2} and httpx.get(asset["url"]).content == data

    moon = client.post(
        "/v1/assets/uploads",
        json={"url": media["photo.png"], "purpose": "reference_image", "metadata": {"name": "hero shot"}},
    ).json()
    asset = _wait_ready(client, moon["asset_id"])
    assert (asset["status"], asset["kind"], asset["name"], asset["purpose"]) == (
        "ready",
        "image",
        "hero shot",
        "reference_image",
    )
    listed = client.get("/v1/assets", params={"kind": "image", "status": "ready"}).json()
    assert moon["asset_id"] in [a["id"] for a in listed["data"]]

    empty = client.post("/v1/assets", files={"file": ("e.png", b"", "image/png")})
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "file"
    assert client.post("/v1/assets", json={"purpose": "x"}).json()["error"]["param"] == "url"
    assert client.post("/v1/assets", json={"url": "gopher://127.0.0.1/"}).status_code == 400
    assert client.get("/v1/assets/%00").status_code == 404
    assert client.get("/v1/assets", params={"offset": 10**20}).status_code == 400
    assert client.delete(f"/v1/assets/{created['id']}").json()["deleted"] is True
    assert client.get(f"/v1/assets/{created['id']}").status_code == 404


# -- asset:// in every dialect ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ready(client: httpx.Client, media: dict[str, str]) -> dict[str, str]:
    names = {
        "image": ("photo.png", "Image"),
        "image2": ("photo.jpg", "Image"),
        "video": ("clip24.mp4", "Video"),
        "audio": ("voice.wav", "Audio"),
        "video8a": ("long8a.mp4", "Video"),
        "video8b": ("long8b.mp4", "Video"),
        "failed": ("archive.png", "Image"),
    }
    return {key: new_asset(client, media[name], kind)["Id"] for key, (name, kind) in names.items()}


def _ark_task(
    server: Server, client: httpx.Client, content: list[dict[str, Any]], model: str = "seedance-2.0", **extra: Any
) -> dict[str, Any]:
    response = client.post(
        ARK_TASKS, json={"model": model, "content": content, "duration": 4, "resolution": "480p", **extra}
    )
    assert response.status_code == 200, response.text
    return wait_status(lambda i: client.get(f"{ARK_TASKS}/{i}").json(), response.json()["id"])


def test_references_in_ark_content(server: Server, client: httpx.Client, ready: dict[str, str]) -> None:
    task = _ark_task(
        server,
        client,
        [
            {"type": "text", "text": "the cast of [图1] dances to the music"},
            {"type": "image_url", "image_url": {"url": f"asset://{ready['image']}"}, "role": "reference_image"},
            {"type": "video_url", "video_url": {"url": f"Asset://{ready['video']}"}, "role": "reference_video"},
            {"type": "audio_url", "audio_url": {"url": f"asset://{ready['audio']}"}, "role": "reference_audio"},
        ],
    )
    assert task["status"] == "succeeded", task
    facts = inspect_video(httpx.get(task["content"]["video_url"]).content)
    assert (facts.width, facts.height) == (640, 640)  # adaptive: the reference video's 1:1, at 480p

    first_last = _ark_task(
        server,
        client,
        [
            {"type": "text", "text": "morph"},
            {"type": "image_url", "image_url": {"url": f"asset://{ready['image']}"}, "role": "first_frame"},
            {"type": "image_url", "image_url": {"url": f"asset://{ready['image2']}"}, "role": "last_frame"},
        ],
    )
    assert first_last["status"] == "succeeded"


def test_references_in_other_dialects(server: Server, client: httpx.Client, ready: dict[str, str]) -> None:
    maxapi = client.post(
        "/api/v1/task/submit",
        json={
            "model": "seedance-2.0",
            "input": {
                "prompt": "@1 waves",
                "imageUrls": [f"asset://{ready['image']}"],
                "duration": 4,
                "resolution": "480p",
            },
        },
    )
    assert maxapi.json()["code"] == 0, maxapi.text
    task_id = maxapi.json()["data"]["taskId"]
    done = wait_status(lambda i: client.get(f"/api/v1/task/{i}").json()["data"], task_id, ("SUCCESS", "FAILURE"))
    assert done["status"] == "SUCCESS"

    openai = OpenAI(base_url=f"{server.url}/v1", api_key=API_KEY, max_retries=0)
    video = openai.videos.create_and_poll(
        model="seedance-2.0",
        prompt="zoom in",
        seconds="4",
        size="864x496",
        extra_body={"input_reference": {"image_url": f"asset://{ready['image']}"}},
    )
    assert video.status == "completed", video

    aigen = client.post(
        "/api/AIGeneration/video/seedance/createTask",
        json={
            "model": "seedance-2.0",
            "content": [
                {"type": "text", "text": "x"},
                {"type": "image_url", "image_url": {"url": f"asset://{ready['image']}"}, "role": "first_frame"},
            ],
        },
    )
    assert aigen.json()["success"] is True, aigen.text


@pytest.mark.parametrize(
    ("which", "role", "kind", "message"),
    [
        ("missing", "reference_image", "image", "The specified asset asset-20260101000000-nope is not found"),
        ("failed", "reference_image", "image", "failed its audit: file is a ZIP archive"),
        ("audio", "reference_image", "image", "is an audio, not an image"),
        ("video", "reference_audio", "audio", "is a video, not an audio"),
    ],
)
def test_bad_references_are_clear_errors(
    client: httpx.Client, ready: dict[str, str], which: str, role: str, kind: str, message: str
) -> None:
    asset_id = ready.get(which, "asset-20260101000000-nope")
    field = f"{kind}_url"
    content = [
        {"type": "text", "text": "x"},
        {"type": "image_url", "image_url": {"url": f"asset://{ready['image2']}"}, "role": "reference_image"},
        {"type": field, field: {"url": f"asset://{asset_id}"}, "role": role},
    ]
    before = len(client.get(ARK_TASKS, params={"page_size": 100}).json()["items"])
    response = client.post(ARK_TASKS, json={"model": "seedance-2.0", "content": content})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == f"content[2].{field}.url" and message in error["message"]
    assert len(client.get(ARK_TASKS, params={"page_size": 100}).json()["items"]) == before


def test_cross_item_rules_on_resolved_media(client: httpx.Client, ready: dict[str, str]) -> None:
    content = [{"type": "text", "text": "x"}] + [
        {"type": "video_url", "video_url": {"url": f"asset://{ready[k]}"}, "role": "reference_video"}
        for k in ("video8a", "video8b")
    ]
    response = client.post(ARK_TASKS, json={"model": "seedance-2.0", "content": content})
    assert response.status_code == 400 and "reference videos total 16.0 s" in response.json()["error"]["message"]
    alone = client.post(
        ARK_TASKS,
        json={
            "model": "seedance-2.0",
            "content": [
                {"type": "text", "text": "x"},
                {"type": "audio_url", "audio_url": {"url": f"asset://{ready['audio']}"}, "role": "reference_audio"},
            ],
        },
    )
    assert alone.status_code == 400 and "alongside audio" in alone.json()["error"]["message"]


def test_upload_then_reference_at_once_waits_for_the_audit(client: httpx.Client, media: dict[str, str]) -> None:
    data = httpx.get(media["photo.jpg"]).content
    asset = client.post("/v1/assets", files={"file": ("p.jpg", data, "image/jpeg")}).json()
    assert asset["status"] == "processing"
    response = client.post(
        ARK_TASKS,
        json={
            "model": "seedance-2.0",
            "content": [{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": asset["asset_url"]}}],
        },
    )
    assert response.status_code == 200, response.text


# -- ownership ----------------------------------------------------------------------------------------------------


def test_assets_belong_to_their_key(server: Server, client: httpx.Client, ready: dict[str, str]) -> None:
    other_key = _create_key(server)
    with server.client(other_key) as other:
        assert volc(other, "GetAsset", expect=404, Id=ready["image"])["Code"] == "ResourceNotFound"
        assert ready["image"] not in [a["Id"] for a in volc(other, "ListAssets", PageSize=100)["Items"]]
        assert volc(other, "DeleteAsset", expect=404, Id=ready["image"])["Code"] == "ResourceNotFound"
        assert other.get(f"/v1/assets/{ready['image']}").status_code == 404
        status = other.get("/api/open-api/v1/seedance/assets/status", params={"assetIds": ready["image"]}).json()
        assert status["data"]["items"] == [] and status["data"]["failedItems"][0]["assetId"] == ready["image"]
        response = other.post(
            ARK_TASKS,
            json={
                "model": "seedance-2.0",
                "content": [
                    {"type": "text", "text": "x"},
                    {"type": "image_url", "image_url": {"url": f"asset://{ready['image']}"}},
                ],
            },
        )
        assert response.status_code == 400 and "is not found" in response.json()["error"]["message"]
    assert volc(client, "GetAsset", Id=ready["image"])["Status"] == "Active"  # still the owner's


# -- SSRF through the asset API (a server without SEEDGATE_ALLOW_PRIVATE_URLS) ------------------------------------


@pytest.fixture(scope="module")
def strict_server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(
        database, tmp_path_factory.mktemp("strict") / "data", "--workers", "0", SEEDGATE_ALLOW_PRIVATE_URLS="0"
    )
    yield srv
    srv.stop()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/assets-photo.png",
        "http://[::1]:{port}/assets-photo.png",
        "http://0x7f000001:{port}/assets-photo.png",
        "http://2130706433:{port}/assets-photo.png",
        "http://0177.0.0.1:{port}/assets-photo.png",
        "http://[::ffff:127.0.0.1]:{port}/assets-photo.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:{port}/assets-photo.png",
    ],
)
def test_ssrf_targets_fail_the_audit(strict_server: Server, media_server: MediaServer, url: str) -> None:
    port = media_server.url.rsplit(":", 1)[1]
    with strict_server.client() as client:
        asset = new_asset(client, url.format(port=port), "Image")
    assert asset["Status"] == "Failed" and asset["Error"]["Code"] == "InvalidParameter.DownloadFailed", asset
    refusals = ("loopback", "metadata", "not allowed", "invalid URL")
    assert any(word in asset["Error"]["Message"] for word in refusals), asset


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://127.0.0.1/x.png"])
def test_other_schemes_refused_at_once(strict_server: Server, url: str) -> None:
    with strict_server.client() as client:
        error = volc(client, "CreateAsset", expect=400, AssetType="Image", URL=url)
    assert error["Code"] == "InvalidParameter" and "http(s)" in error["Message"]
