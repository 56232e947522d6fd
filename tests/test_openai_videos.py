"""OpenAI `/v1/videos` through the real `openai` SDK, and 3hei's Ark bodies on the same route."""

from __future__ import annotations

import base64
import io
import shutil
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from openai import OpenAI
from PIL import Image

from .conftest import API_KEY, MediaServer, Server, wait_status
from .media import image_bytes, inspect_video, video_bytes

# Every `client.videos` method is marked deprecated (Sora's shutdown); the wire format still matters.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MODEL = "doubao-seedance-2-0-260128"
STATUSES = {"queued", "in_progress", "completed", "failed"}
VIDEO_KEYS = {
    "id",
    "object",
    "model",
    "status",
    "progress",
    "created_at",
    "completed_at",
    "expires_at",
    "prompt",
    "remixed_from_video_id",
    "seconds",
    "size",
    "error",
}


@pytest.fixture(scope="module")
def client(server: Server) -> OpenAI:
    return OpenAI(base_url=f"{server.url}/v1", api_key=API_KEY, max_retries=0)


def get_video(server: Server, video_id: str) -> dict[str, Any]:
    with server.client() as http:
        response = http.get(f"/v1/videos/{video_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == VIDEO_KEYS and body["status"] in STATUSES, body
    assert response.headers["openai-poll-after-ms"] == "1000"
    return body


def finished(server: Server, video_id: str) -> dict[str, Any]:
    return wait_status(lambda i: get_video(server, i), video_id, ("completed", "failed"))


@pytest.fixture(scope="module")
def done(client: OpenAI) -> Any:
    """One completed 4 s 1280x720 video, shared by the read-only tests."""
    video = client.videos.create_and_poll(
        prompt="a red kite over the sea", model=MODEL, seconds="4", size="1280x720", poll_interval_ms=200
    )
    assert video.status == "completed", video
    return video


def test_create_answers_a_queued_video(client: OpenAI, server: Server) -> None:
    video = client.videos.create(prompt="a lighthouse at dusk", model=MODEL, seconds="4", size="1280x720")
    assert video.object == "video" and video.status in ("queued", "in_progress")
    assert video.model == MODEL and video.seconds == "4" and video.size == "1280x720"
    assert video.prompt == "a lighthouse at dusk" and video.remixed_from_video_id is None and video.error is None
    assert video.completed_at is None and video.expires_at is None and 0 <= video.progress <= 100
    assert finished(server, video.id)["status"] == "completed"


def test_create_and_poll_retrieve_and_download(client: OpenAI, done: Any, tmp_path: Any) -> None:
    assert done.progress == 100 and done.completed_at and done.expires_at == done.completed_at + 86400
    again = client.videos.retrieve(done.id)
    assert again.id == done.id and again.status == "completed" and again.size == "1280x720"
    facts = inspect_video(client.videos.download_content(done.id).read())
    assert facts.codec == "h264" and (facts.width, facts.height) == (1280, 720)
    assert facts.fps == 24 and facts.frames == 97
    explicit = client.videos.download_content(done.id, variant="video").read()
    assert inspect_video(explicit).frames == 97

    thumb = Image.open(io.BytesIO(client.videos.download_content(done.id, variant="thumbnail").read()))
    assert thumb.format == "WEBP" and thumb.size == (1280, 720)
    thumb.load()
    sheet = Image.open(io.BytesIO(client.videos.download_content(done.id, variant="spritesheet").read()))
    assert sheet.format == "JPEG" and sheet.width == 4 * 320 and sheet.height == 4 * 180
    sheet.load()
    # Cached: a second download serves the same bytes.
    assert (
        client.videos.download_content(done.id, variant="spritesheet").read()
        == client.videos.download_content(done.id, variant="spritesheet").read()
    )


def test_remix_reuses_the_settings(client: OpenAI, server: Server, done: Any) -> None:
    remix = client.videos.remix(done.id, prompt="the same kite, at night")
    assert remix.remixed_from_video_id == done.id and remix.id != done.id
    assert remix.prompt == "the same kite, at night" and remix.size == "1280x720" and remix.seconds == "4"
    final = client.videos.poll(remix.id, poll_interval_ms=200)
    assert final.status == "completed" and final.remixed_from_video_id == done.id


def test_list_paginates_with_after_and_order(client: OpenAI, server: Server) -> None:
    ids = [client.videos.create(prompt=f"page {i}", model=MODEL, seconds="4", size="864x496").id for i in range(3)]
    first = client.videos.list(limit=2)
    assert len(first.data) == 2 and first.has_more
    assert first.data[0].created_at >= first.data[1].created_at
    seen = [v.id for v in client.videos.list(limit=2)]  # the SDK follows `after=last_id` while has_more
    assert len(seen) == len(set(seen)) and set(ids) <= set(seen)
    newest_first = [v.id for v in client.videos.list(limit=100).data]
    oldest_first = [v.id for v in client.videos.list(limit=100, order="asc").data]
    assert oldest_first == newest_first[::-1]
    after = client.videos.list(limit=1, after=ids[2])
    assert after.data[0].id == ids[1]
    with server.client() as http:
        page = http.get("/v1/videos", params={"limit": 1, "order": "asc"}).json()
    assert page["object"] == "list" and page["first_id"] == page["last_id"] == page["data"][0]["id"]
    for video_id in ids:
        finished(server, video_id)


def test_input_reference_as_file_and_as_url(
    client: OpenAI, server: Server, media_server: MediaServer, tmp_path: Any
) -> None:
    png = tmp_path / "ref.png"
    png.write_bytes(image_bytes(720, 1280))
    with png.open("rb") as handle:
        uploaded = client.videos.create(prompt="it starts moving", model=MODEL, seconds="4", input_reference=handle)
    url = media_server.add("openai-ref.jpg", image_bytes(1280, 720, fmt="JPEG"))
    linked = client.videos.create(
        prompt="it starts moving", model=MODEL, seconds="4", extra_body={"input_reference": {"image_url": url}}
    )
    # A data: URL in the bracket field, larger than Starlette's default 1 MB per multipart field.
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 255, (900, 900, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    assert len(data_url) > 2 * 1024 * 1024
    inline = client.videos.create(
        prompt="it starts moving", model=MODEL, seconds="4", extra_body={"input_reference": {"image_url": data_url}}
    )
    # No size: the ratio follows the image (adaptive), at the model's default 720p.
    assert finished(server, uploaded.id)["size"] == "720x1280"
    assert finished(server, linked.id)["size"] == "1280x720"
    assert finished(server, inline.id)["size"] == "960x960"


def test_upload_limits_and_bad_bodies(server: Server) -> None:
    with server.client() as http:
        huge = http.post(
            "/v1/videos",
            data={"prompt": "x"},
            files={"input_reference": ("big.png", b"\0" * (30 * 1024 * 1024 + 1), "image/png")},
        )
        not_image = http.post(
            "/v1/videos", data={"prompt": "x"}, files={"input_reference": ("a.png", b"not an image", "image/png")}
        )
        not_json = http.post("/v1/videos", content=b"{nope", headers={"content-type": "application/json"})
        broken = http.post("/v1/videos", content=b"--x\r\nnope", headers={"content-type": "multipart/form-data"})
        file_id = http.post("/v1/videos", json={"prompt": "x", "input_reference": {"file_id": "file-1"}})
    assert huge.status_code == 400 and huge.json()["error"]["param"] == "input_reference"
    assert not_image.status_code == 400 and not_image.json()["error"]["param"] == "input_reference"
    assert not_json.status_code == 400 and not_json.json()["error"]["param"] == "body"
    assert broken.status_code == 400 and broken.json()["error"]["param"] == "body"
    assert file_id.status_code == 400 and file_id.json()["error"]["param"] == "input_reference.file_id"


def test_json_bodies(server: Server, media_server: MediaServer) -> None:
    url = media_server.add("openai-json.png", image_bytes(960, 960))
    with server.client() as http:
        plain = http.post("/v1/videos", json={"prompt": "json", "seconds": 4, "size": "960x960"})
        as_string = http.post("/v1/videos", json={"prompt": "json", "input_reference": url, "seconds": "5"})
        as_object = http.post("/v1/videos", json={"prompt": "json", "input_reference": {"image_url": url}})
    for response in (plain, as_string, as_object):
        assert response.status_code == 200, response.text
        assert response.headers["openai-poll-after-ms"] == "1000"
    body = plain.json()
    assert body["model"] == MODEL and body["seconds"] == "4" and body["size"] == "960x960"  # the default model
    assert set(body) == VIDEO_KEYS and body["completed_at"] is None and body["error"] is None
    assert as_string.json()["seconds"] == "5"
    for response in (plain, as_string, as_object):
        assert finished(server, response.json()["id"])["status"] == "completed"


def test_unlisted_size_maps_to_the_nearest(server: Server) -> None:
    # 1792x1024 (a Sora size) is ~7:4: nearest ratio 16:9, and 1080's short side is closest to 1024.
    with server.client() as http:
        body = http.post("/v1/videos", json={"prompt": "wide", "size": "1792x1024", "seconds": "4"}).json()
    assert body["size"] == "1920x1080"
    with server.client() as http:
        http.delete(f"/v1/videos/{body['id']}")


@pytest.mark.parametrize(
    ("fields", "status", "param"),
    [
        ({"seconds": "99"}, 400, "seconds"),
        ({"seconds": "four"}, 400, "seconds"),
        ({"size": "big"}, 400, "size"),
        ({"size": "1280x720", "model": "sora-2"}, 404, "model"),
        ({"model": "nope"}, 404, "model"),
    ],
)
def test_errors_use_the_openai_envelope(client: OpenAI, fields: dict[str, str], status: int, param: str) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.videos.create(prompt="x", **fields)
    assert caught.value.status_code == status
    error = caught.value.body
    assert isinstance(error, dict) and error["param"] == param and error["type"] == "invalid_request_error"
    assert error["message"] and error["code"]


def test_missing_prompt_and_unknown_video(server: Server, client: OpenAI) -> None:
    with server.client() as http:
        response = http.post("/v1/videos", json={"model": MODEL})
    assert response.status_code == 400 and response.json()["error"]["param"] == "prompt"
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve("cgt-20260101000000-nothere")
    with server.client(key="sk-wrong") as http:
        denied = http.get("/v1/videos")
    assert denied.status_code == 401 and set(denied.json()["error"]) == {"message", "type", "param", "code"}


def test_delete_cancel_and_conflict(client: OpenAI, server: Server) -> None:
    # Keep both worker slots busy so the next job stays queued long enough to cancel.
    busy = [client.videos.create(prompt="busy", model=MODEL, seconds="8", size="1920x1080").id for _ in range(2)]
    queued = client.videos.create(prompt="wait", model=MODEL, seconds="4", size="864x496")
    answer = client.videos.delete(queued.id)
    assert answer.id == queued.id and answer.deleted and answer.object == "video.deleted"
    cancelled = get_video(server, queued.id)
    assert cancelled["status"] == "failed" and cancelled["error"]["code"] == "cancelled"  # never `cancelled`
    running = wait_status(lambda i: get_video(server, i), busy[0], ("in_progress", "completed"))
    assert running["status"] == "in_progress"  # an 8 s 1080p render takes seconds
    with pytest.raises(openai.ConflictError) as caught:
        client.videos.delete(busy[0])
    assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    # A cancelled (failed) video and a completed one are deleted for good.
    assert client.videos.delete(queued.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(queued.id)
    for video_id in busy:
        assert finished(server, video_id)["status"] == "completed"
        assert client.videos.delete(video_id).deleted
    with pytest.raises(openai.NotFoundError) as missing:
        client.videos.download_content(busy[0])
    assert missing.value.body["param"] == "id"  # type: ignore[index]


def test_content_of_an_unfinished_video_is_404(client: OpenAI, server: Server) -> None:
    video = client.videos.create(prompt="soon", model=MODEL, seconds="4", size="864x496")
    with server.client() as http:
        response = http.get(f"/v1/videos/{video.id}/content")
        bad = http.get(f"/v1/videos/{video.id}/content", params={"variant": "poster"})
    if get_video(server, video.id)["status"] != "completed":
        assert response.status_code in (200, 404)
    if response.status_code == 404:
        assert response.json()["error"]["param"] == "video_id"
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "variant"
    finished(server, video.id)


def test_threehei_ark_body(server: Server, media_server: MediaServer) -> None:
    url = media_server.add("threehei.png", image_bytes(1280, 720))
    body = {
        "model": MODEL,
        "content": [
            {"type": "text", "text": "a cat walks"},
            {"type": "image_url", "image_url": {"url": url}, "role": "first_frame"},
        ],
        "resolution": "480p",
        "ratio": "16:9",
        "duration": 4,
    }
    with server.client() as http:
        created = http.post("/v1/videos", json=body)
        assert created.status_code == 200, created.text
        assert set(created.json()) == {"id"}
        task_id = created.json()["id"]

        def fetch(i: str) -> dict[str, Any]:
            return http.get(f"/v1/videos/{i}").json()

        task = wait_status(fetch, task_id)
        assert task["status"] == "succeeded" and task["content"]["video_url"] and task["resolution"] == "480p"
        assert task["duration"] == 4 and "object" not in task  # Ark's task object, not OpenAI's Video
        ark_view = http.get(f"/api/v3/contents/generations/tasks/{task_id}").json()
        assert ark_view["id"] == task_id and ark_view["status"] == "succeeded"
        # Errors for an Ark-shaped body come in Ark's envelope.
        bad = http.post("/v1/videos", json={**body, "duration": 99})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidParameter"
        assert bad.json()["error"]["param"] == "duration" and bad.json()["error"]["type"] == "BadRequest"
        video_bytes = httpx.get(task["content"]["video_url"]).content
    assert inspect_video(video_bytes).height == 496


# -- edits, extensions, characters (openai_edits.py) -------------------------------------------------------------

MODEL_25 = "doubao-seedance-2-5-260628"


def downloaded(client: OpenAI, video_id: str) -> Any:
    return inspect_video(client.videos.download_content(video_id).read())


@pytest.fixture(scope="module")
def character_mp4(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A square 3 s clip: a reference video whose ratio (1:1) differs from everything else these tests make."""
    return tmp_path_factory.mktemp("character") / "kite.mp4"


def test_edit_a_completed_video_by_id(client: OpenAI, done: Any) -> None:
    # The Python SDK takes `video` as a file only; `{"id": ...}` goes through extra_body as the bracket key video[id].
    edited = client.videos.edit(prompt="make the kite green", video=openai.omit, extra_body={"video": {"id": done.id}})
    assert edited.object == "video" and edited.id != done.id and edited.status in ("queued", "in_progress")
    assert edited.model == MODEL and edited.prompt == "make the kite green"
    final = client.videos.poll(edited.id, poll_interval_ms=200)
    # An edit keeps the source's length, ratio and resolution.
    assert final.status == "completed" and final.seconds == "4" and final.size == "1280x720"
    facts = downloaded(client, edited.id)
    assert (facts.width, facts.height, facts.frames, facts.codec) == (1280, 720, 97, "h264")


def test_extend_stitches_the_added_seconds(client: OpenAI, done: Any) -> None:
    extended = client.videos.extend(
        prompt="the kite flies on", seconds="4", video=openai.omit, extra_body={"video": {"id": done.id}}
    )
    assert extended.seconds == "8"  # OpenAI: "for extensions, this is the stitched total duration"
    final = client.videos.poll(extended.id, poll_interval_ms=200)
    assert final.status == "completed" and final.size == "1280x720"
    facts = downloaded(client, extended.id)
    assert facts.frames == 8 * 24 + 1 and (facts.width, facts.height) == (1280, 720)


def test_edit_an_uploaded_video_with_seedance_2_5(client: OpenAI, server: Server, tmp_path: Any) -> None:
    source = tmp_path / "source.mp4"
    video_bytes(source, width=864, height=496, seconds=5)  # 2.5 edits take sources of 4 to 30 s
    with source.open("rb") as handle:
        edited = client.videos.edit(prompt="turn day into night", video=handle, extra_body={"model": MODEL_25})
    assert edited.model == MODEL_25
    final = client.videos.poll(edited.id, poll_interval_ms=200)
    assert final.status == "completed", final.error
    facts = downloaded(client, edited.id)
    # 2.5's nearest resolution to a 496-line source is 480p; the ratio follows the source (16:9).
    assert (facts.width, facts.height) == (854, 480) and final.size == "854x480"
    with source.open("rb") as handle:
        extended = client.videos.extend(
            prompt="and then dawn", seconds="4", video=handle, extra_body={"model": MODEL_25}
        )
    assert extended.seconds == "9"
    assert client.videos.poll(extended.id, poll_interval_ms=200).status == "completed"
    assert downloaded(client, extended.id).frames == 9 * 24 + 1


def test_characters_are_assets_used_as_reference_videos(
    client: OpenAI, server: Server, character_mp4: Any, media_server: MediaServer
) -> None:
    video_bytes(character_mp4, width=720, height=720, seconds=3)
    with character_mp4.open("rb") as handle:
        character = client.videos.create_character(name="Kite", video=handle)
    assert character.id and character.name == "Kite" and character.created_at > 0
    again = client.videos.get_character(character.id)
    assert (again.id, again.name, again.created_at) == (character.id, "Kite", character.created_at)
    # The character is an asset of the library, usable as asset:// everywhere.
    with server.client() as http:
        asset = http.get(f"/v1/assets/{character.id}")
    assert asset.status_code == 200, asset.text

    # Text alone would pick 16:9; a 1:1 reference video makes an adaptive ratio follow it, which shows it was used.
    plain = client.videos.create_and_poll(prompt="a kite in the wind", model=MODEL, seconds="4", poll_interval_ms=200)
    by_id = client.videos.create(
        prompt="a kite in the wind", model=MODEL, seconds="4", extra_body={"characters": [character.id]}
    )
    by_object = client.videos.create(
        prompt="a kite in the wind", model=MODEL, seconds="4", extra_body={"characters": [{"id": character.id}]}
    )
    by_name = client.videos.create(prompt="@Kite dances in the wind", model=MODEL, seconds="4")
    # Beside a character, input_reference is a reference image (not a first frame: Ark does not mix them).
    portrait = media_server.add("portrait.png", image_bytes(720, 1280))
    with_image = client.videos.create(
        prompt="@Kite meets a friend", model=MODEL, seconds="4", extra_body={"input_reference": {"image_url": portrait}}
    )
    assert plain.size == "1280x720"
    for video in (by_id, by_object, by_name, with_image):
        final = client.videos.poll(video.id, poll_interval_ms=200)
        assert final.status == "completed" and final.size == "960x960", final
    assert downloaded(client, by_name.id).width == 960
    # A model without reference videos refuses them, naming the field that brought them.
    with pytest.raises(openai.BadRequestError) as caught:
        client.videos.create(
            prompt="a kite",
            model="doubao-seedance-1-0-pro-250528",
            seconds="5",
            extra_body={"characters": [character.id]},
        )
    assert caught.value.body["param"] == "characters"  # type: ignore[index]


def test_edit_extend_and_character_errors(client: OpenAI, server: Server, done: Any, tmp_path: Any) -> None:
    gone = client.videos.create_and_poll(
        prompt="soon gone", model=MODEL, seconds="4", size="864x496", poll_interval_ms=200
    )
    shutil.rmtree(server.data_dir / "results" / gone.id)  # its content is no longer stored
    cases = [
        ("/v1/videos/edits", {"prompt": "x"}, None, 400, "video"),
        ("/v1/videos/edits", {"video[id]": done.id}, None, 400, "prompt"),
        ("/v1/videos/edits", {"prompt": "x", "video[id]": "cgt-20260101000000-nothere"}, None, 404, "video.id"),
        ("/v1/videos/edits", {"prompt": "x", "video[id]": gone.id}, None, 400, "video.id"),
        ("/v1/videos/edits", {"prompt": "x", "video[id]": done.id, "model": "nope"}, None, 404, "model"),
        ("/v1/videos/edits", {"prompt": "x"}, ("a.mp4", b"not a video", "video/mp4"), 400, "video"),
        ("/v1/videos/extensions", {"prompt": "x", "video[id]": done.id}, None, 400, "seconds"),
        ("/v1/videos/extensions", {"prompt": "x", "video[id]": done.id, "seconds": "12"}, None, 400, "seconds"),
        ("/v1/videos/extensions", {"prompt": "x", "video[id]": done.id, "seconds": "two"}, None, 400, "seconds"),
        ("/v1/videos/characters", {"name": "x"}, None, 400, "video"),
        ("/v1/videos/characters", {}, ("a.mp4", b"\0" * 64, "video/mp4"), 400, "name"),
        ("/v1/videos/characters", {"name": "x"}, ("a.mp4", b"not a video", "video/mp4"), 400, "video"),
        ("/v1/videos", {"prompt": "x", "characters[]": "asset-20260101000000-nothere"}, None, 400, "characters[0]"),
    ]
    with server.client() as http:
        for path, data, upload, status, param in cases:
            files = {"video": upload} if upload else {"unused": ("u.txt", b"", "text/plain")}
            response = http.post(path, data=data, files=files)
            assert response.status_code == status, (path, data, response.text)
            error = response.json()["error"]
            assert error["param"] == param and error["type"] == "invalid_request_error" and error["message"], error
        json_edit = http.post("/v1/videos/edits", json={"prompt": "x", "video": {"name": done.id}})
        assert json_edit.status_code == 400 and json_edit.json()["error"]["param"] == "video"
    with pytest.raises(openai.NotFoundError):
        client.videos.get_character("asset-20260101000000-nothere")


def test_remix_and_create_take_multipart_bracket_keys(server: Server, media_server: MediaServer, done: Any) -> None:
    url = media_server.add("bracket.png", image_bytes(1280, 720))
    with server.client() as http:
        created = http.post(
            "/v1/videos",
            data={"prompt": "brackets", "input_reference[image_url]": url, "seconds": "4"},
            files={"x": ("x.txt", b"", "text/plain")},
        )
        remix = http.post(
            f"/v1/videos/{done.id}/remix", data={"prompt": "as a form"}, files={"x": ("x.txt", b"", "text/plain")}
        )
    assert created.status_code == 200, created.text
    assert remix.status_code == 200 and remix.json()["remixed_from_video_id"] == done.id, remix.text
    assert finished(server, created.json()["id"])["size"] == "1280x720"
    finished(server, remix.json()["id"])


# -- pure pieces: bracket keys and the edit/extend lengths ----------------------------------------------------------


def test_bracket_keys_become_the_json_shape() -> None:
    from seedgate.dialects.openai_forms import key_path, put

    fields: dict[str, Any] = {}
    for key, value in [
        ("prompt", "p"),
        ("input_reference[image_url]", "u"),
        ("video[id]", "v"),
        ("characters[]", "a"),
        ("characters[]", "b"),
        ("refs[][id]", "1"),
        ("refs[][id]", "2"),
        ("refs[][name]", "two"),
        ("a[b][c]", "deep"),
        ("bad[", "x"),
        ("[x]", "y"),
        ("a[b]c", "z"),
    ]:
        put(fields, key_path(key), value)
    assert fields == {
        "prompt": "p",
        "input_reference": {"image_url": "u"},
        "video": {"id": "v"},
        "characters": ["a", "b"],
        "refs": [{"id": "1"}, {"id": "2", "name": "two"}],
        "a": {"b": {"c": "deep"}},
        "bad[": "x",
        "[x]": "y",
        "a[b]c": "z",
    }


def test_any_mix_of_form_keys_parses() -> None:
    """Keys that contradict each other (a plain value, then an object, then an array under one name; the empty
    name) never break the parser: the later shape replaces the earlier one. The campaign found the empty name."""
    import itertools

    from seedgate.dialects.openai_forms import key_path, put

    keys = ["", "[]", "a", "a[]", "a[b]", "a[][b]", "a[b][]", "a[][]", "a[b][c]"]
    for first, second, third in itertools.product(keys, repeat=3):
        fields: dict[str, Any] = {}
        for key in (first, second, third):
            put(fields, key_path(key), "v")
        assert isinstance(fields, dict)


def test_edit_and_extend_lengths_follow_the_catalog() -> None:
    from seedgate.core.catalog import load_catalog
    from seedgate.core.errors import ApiError
    from seedgate.dialects.openai_edits import edit_duration, extend_duration

    catalog = load_catalog()
    v20, v25 = catalog.find(MODEL), catalog.find(MODEL_25)
    assert v20 is not None and v25 is not None
    assert edit_duration(v20, 6.04) == 6 and edit_duration(v20, 2.5) == 4 and edit_duration(v20, 40) == 15
    assert edit_duration(v25, 6.04) == -1  # a model with task types: Ark's edit rule, duration -1
    assert extend_duration(v20, 4.04, 4) == 8 and extend_duration(v25, 20, 10) == 30
    for profile, seconds, added in ((v20, 4, 12), (v25, 25, 8), (v20, 4, 0)):
        with pytest.raises(ApiError) as caught:
            extend_duration(profile, seconds, added)
        assert caught.value.param == "seconds"
