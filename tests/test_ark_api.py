"""The Ark task API through the official `volcengine-ark-runtime` SDK against a real server (SQLite, PostgreSQL)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from volcenginesdkarkruntime._exceptions import ArkBadRequestError, ArkNotFoundError

from .conftest import API_KEY, MediaServer, Server, WebhookReceiver, wait_status
from .media import image_bytes, inspect_video, video_bytes, wav_bytes
from .waiting import wait_until

PRO = "doubao-seedance-1-0-pro-250528"
LITE_I2V = "doubao-seedance-1-0-lite-i2v-250428"
PRO_15 = "seedance-1-5-pro-251215"  # the BytePlus ID
V2 = "doubao-seedance-2-0-260128"


def poll(ark: Any, task_id: str, **kw: Any) -> Any:
    return wait_status(lambda i: ark.content_generation.tasks.get(task_id=i), task_id, **kw)


def download(url: str) -> bytes:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    return response.content


def test_text_to_video_end_to_end(ark: Any) -> None:
    created = ark.content_generation.tasks.create(
        model=PRO,
        content=[{"type": "text", "text": "一只猫在打哈欠 a cat yawns"}],
        resolution="480p",
        duration=2,
        seed=42,
        safety_identifier="user-123",
    )
    assert created.id.startswith("cgt-")
    task = poll(ark, created.id)
    assert task.status == "succeeded", task
    assert task.model == PRO
    assert (task.resolution, task.ratio, task.duration, task.framespersecond, task.seed) == ("480p", "16:9", 2, 24, 42)
    assert task.safety_identifier == "user-123"
    assert task.usage.completion_tokens == 864 * 480 * 49 // 1024 == task.usage.total_tokens
    facts = inspect_video(download(task.content.video_url))
    assert (facts.codec, facts.pix_fmt, facts.width, facts.height) == ("h264", "yuv420p", 864, 480)
    assert facts.fps == 24 and facts.frames == 49
    assert abs(facts.duration - 49 / 24) < 0.1
    assert facts.audio_channels is None  # Seedance 1.0 is silent
    assert task.content.last_frame_url is None
    raw = httpx.get(
        f"{ark._base_url}".rstrip("/") + f"/contents/generations/tasks/{task.id}",
        headers={"Authorization": f"Bearer {API_KEY}"},
    ).json()
    assert raw["engine"] == "preview" and "not a generative model" in raw["engine_notice"]


def test_sdk_null_options_mean_defaults_and_random_seed(ark: Any) -> None:
    # The SDK sends every unset option as JSON null; they must all take the model's defaults.
    created = ark.content_generation.tasks.create(
        model="seedance-1-0-lite-t2v-250428", content=[{"type": "text", "text": "waves"}], duration=2
    )
    task = poll(ark, created.id)
    assert task.status == "succeeded"
    assert task.model == "seedance-1-0-lite-t2v-250428"  # a BytePlus ID is echoed as sent
    assert task.resolution == "720p" and task.ratio == "16:9" and task.service_tier == "default"
    assert task.execution_expires_after == 172800 and task.seed >= 0


def test_legacy_prompt_commands_are_lenient(ark: Any) -> None:
    text = "a red kite --rs 480p --rt 9:16 --dur 3 --fps 24 --seed 11 --cf true --wm maybe --rs 8k"
    created = ark.content_generation.tasks.create(model=PRO, content=[{"type": "text", "text": text}])
    task = ark.content_generation.tasks.get(task_id=created.id)
    # The later bogus `--rs 8k` and `--wm maybe` are ignored; the valid ones apply.
    assert (task.resolution, task.ratio, task.duration, task.seed) == ("480p", "9:16", 3, 11)
    assert poll(ark, created.id).status == "succeeded"


def test_frames_instead_of_duration(ark: Any) -> None:
    created = ark.content_generation.tasks.create(
        model=PRO, content=[{"type": "text", "text": "rain"}], frames=29, resolution="480p", ratio="1:1"
    )
    task = poll(ark, created.id)
    assert task.frames == 29 and task.duration is None
    facts = inspect_video(download(task.content.video_url))
    assert (facts.width, facts.height, facts.frames) == (640, 640, 29)


def test_first_frame_adaptive_ratio_and_last_frame(ark: Any, media_server: MediaServer) -> None:
    url = media_server.add("portrait.png", image_bytes(720, 1280))
    created = ark.content_generation.tasks.create(
        model=PRO,
        content=[{"type": "text", "text": "she turns"}, {"type": "image_url", "image_url": {"url": url}}],
        resolution="480p",
        duration=2,
        return_last_frame=True,
        watermark=True,
    )
    task = poll(ark, created.id)
    assert task.status == "succeeded" and task.ratio == "9:16"
    facts = inspect_video(download(task.content.video_url))
    assert (facts.width, facts.height) == (480, 864)
    last = download(task.content.last_frame_url)
    assert last[:8] == b"\x89PNG\r\n\x1a\n"


def test_first_and_last_frame_with_data_url(ark: Any, media_server: MediaServer) -> None:
    first = media_server.add("first.jpg", image_bytes(1280, 720, (250, 0, 0), "JPEG"))
    last = "data:image/png;base64," + base64.b64encode(image_bytes(1280, 720, (0, 0, 250))).decode()
    created = ark.content_generation.tasks.create(
        model=PRO,
        content=[
            {"type": "text", "text": "from red to blue"},
            {"type": "image_url", "image_url": {"url": first}, "role": "first_frame"},
            {"type": "image_url", "image_url": {"url": last}, "role": "last_frame"},
        ],
        resolution="480p",
        duration=2,
    )
    task = poll(ark, created.id)
    assert task.status == "succeeded" and task.ratio == "16:9"


def test_reference_images_on_lite(ark: Any, media_server: MediaServer) -> None:
    urls = [media_server.add(f"ref{i}.png", image_bytes(800, 600, (i * 60, 100, 100))) for i in range(3)]
    content = [{"type": "text", "text": "[图1] meets [图2] in [图3]"}] + [
        {"type": "image_url", "image_url": {"url": u}, "role": "reference_image"} for u in urls
    ]
    task = poll(
        ark, ark.content_generation.tasks.create(model=LITE_I2V, content=content, resolution="480p", duration=2).id
    )
    assert task.status == "succeeded" and task.ratio == "16:9"


def test_seedance_2_multimodal_reference_with_audio(ark: Any, media_server: MediaServer, tmp_path: Any) -> None:
    clip = media_server.add("clip.mp4", video_bytes(tmp_path / "clip.mp4", 640, 640, seconds=3))
    voice = media_server.add("voice.wav", wav_bytes(tmp_path / "voice.wav", seconds=3))
    img = media_server.add("ref.png", image_bytes(600, 600))
    created = ark.content_generation.tasks.create(
        model=V2,
        content=[
            {"type": "text", "text": "the dancer from video 1 in the room of image 1, with audio 1"},
            {"type": "image_url", "image_url": {"url": img}, "role": "reference_image"},
            {"type": "video_url", "video_url": {"url": clip}, "role": "reference_video"},
            {"type": "audio_url", "audio_url": {"url": voice}, "role": "reference_audio"},
        ],
        resolution="480p",
        duration=4,
    )
    task = poll(ark, created.id)
    assert task.status == "succeeded", task
    assert task.ratio == "1:1" and task.generate_audio is True  # adaptive follows the video first
    # Reference video seconds are billed on top of the output (Seedance 2.0).
    assert task.usage.completion_tokens == 640 * 640 * (97 + 72) // 1024
    facts = inspect_video(download(task.content.video_url))
    assert (facts.width, facts.height, facts.frames, facts.audio_channels) == (640, 640, 97, 1)


def test_mov_output_on_2_5(ark: Any) -> None:
    task = poll(
        ark,
        ark.content_generation.tasks.create(
            model="doubao-seedance-2-5-260628",
            content=[{"type": "text", "text": "a mov"}],
            output_format="mov",
            resolution="480p",
            duration=4,
            generate_audio=False,
        ).id,
    )
    assert task.status == "succeeded" and task.output_format == "mov"
    response = httpx.get(task.content.video_url)
    assert response.headers["content-type"] == "video/quicktime"
    facts = inspect_video(response.content)
    assert (facts.width, facts.height, facts.frames, facts.audio_channels) == (854, 480, 97, None)


def test_draft_then_final(ark: Any, media_server: MediaServer) -> None:
    url = media_server.add("draft-first.png", image_bytes(1024, 1024))
    draft = poll(
        ark,
        ark.content_generation.tasks.create(
            model=PRO_15,
            content=[{"type": "text", "text": "a lighthouse"}, {"type": "image_url", "image_url": {"url": url}}],
            draft=True,
            seed=7,
            duration=4,
        ).id,
    )
    assert draft.status == "succeeded" and draft.draft is True and draft.resolution == "480p"
    final = poll(
        ark,
        ark.content_generation.tasks.create(
            model=PRO_15,
            content=[{"type": "draft_task", "draft_task": {"id": draft.id}}],
            resolution="720p",
            return_last_frame=True,
        ).id,
    )
    assert final.status == "succeeded" and final.draft is False and final.draft_task_id == draft.id
    assert (final.seed, final.duration, final.ratio, final.resolution) == (7, 4, draft.ratio, "720p")
    facts = inspect_video(download(final.content.video_url))
    assert (facts.width, facts.height, facts.audio_channels) == (960, 960, 1)


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"resolution": "4k"}, "resolution"),
        ({"ratio": "adaptive"}, "ratio"),  # 1.0 text-to-video has no adaptive
        ({"ratio": "2:1"}, "ratio"),
        ({"duration": 13}, "duration"),
        ({"duration": -1}, "duration"),  # 1.0 does not let the model choose
        ({"frames": 30}, "frames"),
        ({"seed": -2}, "seed"),
        ({"camera_fixed": "yes"}, "camera_fixed"),
        ({"watermark": 1}, "watermark"),
        ({"service_tier": "cheap"}, "service_tier"),
        ({"priority": 3}, "priority"),  # 1.0 has no priority
        ({"execution_expires_after": 60}, "execution_expires_after"),
        ({"callback_url": "ftp://example.com/x"}, "callback_url"),
        ({"callback_url": "http://[abc"}, "callback_url"),
        ({"safety_identifier": "é" * 3}, "safety_identifier"),
        ({"draft": True}, "draft"),  # 1.0 has no draft
        ({"tools": [{"type": "web_search"}]}, "tools"),
        ({"output_format": "mov"}, "output_format"),
        ({"return_last_frame": "true"}, "return_last_frame"),
    ],
)
def test_bad_fields_are_400_with_param_and_create_nothing(
    ark: Any, server: Server, options: dict[str, Any], param: str
) -> None:
    before = ark.content_generation.tasks.list(page_size=1).total
    with pytest.raises(ArkBadRequestError) as caught:
        ark.content_generation.tasks.create(model=PRO, content=[{"type": "text", "text": "x"}], **options)
    assert caught.value.status_code == 400
    assert caught.value.code == "InvalidParameter" and caught.value.param == param
    assert param in caught.value.message
    assert ark.content_generation.tasks.list(page_size=1).total == before


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ({"content": [{"type": "text", "text": "x"}]}, 400, "MissingParameter", "model"),
        ({"model": PRO}, 400, "MissingParameter", "content"),
        (
            {"model": "no-such-model", "content": [{"type": "text", "text": "x"}]},
            404,
            "InvalidEndpointOrModel.NotFound",
            "model",
        ),
        ({"model": PRO, "content": [{"type": "text", "text": "   "}]}, 400, "MissingParameter", "prompt"),
        ({"model": PRO, "content": [{"type": "sound", "text": "x"}]}, 400, "InvalidParameter", "content[0].type"),
        (
            {"model": PRO, "content": [{"type": "image_url", "image_url": {}}]},
            400,
            "InvalidParameter",
            "content[0].image_url.url",
        ),
        (
            {
                "model": "doubao-seedance-1-0-pro-fast-251015",
                "content": [
                    {"type": "image_url", "image_url": {"url": "http://127.0.0.1:1/a.png"}, "role": "first_frame"},
                    {"type": "image_url", "image_url": {"url": "http://127.0.0.1:1/b.png"}, "role": "last_frame"},
                ],
            },
            400,
            "InvalidParameter",
            "content",
        ),
        (
            {
                "model": PRO,
                "content": [
                    {"type": "image_url", "image_url": {"url": "http://127.0.0.1:1/a.png"}, "role": "first_frame"},
                    {"type": "image_url", "image_url": {"url": "http://127.0.0.1:1/b.png"}, "role": "reference_image"},
                ],
            },
            400,
            "InvalidParameter",
            "content",
        ),
        (
            {"model": PRO, "content": [{"type": "image_url", "image_url": {"url": "asset://asset-1"}}]},
            400,
            "InvalidParameter",
            "content[0].image_url.url",
        ),
        (
            {
                "model": V2,
                "content": [
                    {"type": "text", "text": "x"},
                    {"type": "audio_url", "audio_url": {"url": "http://127.0.0.1:1/a.wav"}, "role": "reference_audio"},
                ],
            },
            400,
            "InvalidParameter",
            "content",
        ),
        (
            {"model": V2, "content": [{"type": "text", "text": "x"}], "camera_fixed": None, "priority": 10},
            400,
            "InvalidParameter",
            "priority",
        ),
        (
            {"model": PRO_15, "content": [{"type": "text", "text": "x"}], "draft": True, "resolution": "720p"},
            400,
            "InvalidParameter",
            "resolution",
        ),
        (
            {"model": PRO_15, "content": [{"type": "draft_task", "draft_task": {"id": "cgt-nope"}}]},
            400,
            "InvalidParameter",
            "draft_task",
        ),
        (
            {"model": PRO_15, "content": [{"type": "draft_task", "draft_task": {"id": "cgt-nope"}}], "draft": True},
            400,
            "InvalidParameter",
            "draft",
        ),
    ],
)
def test_bad_bodies_answer_in_ark_envelope(
    server: Server, body: dict[str, Any], status: int, code: str, param: str
) -> None:
    with server.client() as client:
        response = client.post("/api/v3/contents/generations/tasks", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["param"] == param
    assert "Request id:" in error["message"] and error["type"]


def test_bad_image_is_rejected_naming_the_item(server: Server, media_server: MediaServer) -> None:
    tiny = media_server.add("tiny.png", image_bytes(100, 100))
    fake = media_server.add("fake.png", b"<html>not an image</html>")
    for url in (tiny, fake, f"{media_server.url}/missing.png"):
        body = {
            "model": PRO,
            "content": [{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": url}}],
        }
        with server.client() as client:
            response = client.post("/api/v3/contents/generations/tasks", json=body)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "InvalidParameter" and error["param"] == "content[1].image_url.url"


def test_invalid_json_and_auth(server: Server) -> None:
    with server.client() as client:
        response = client.post("/api/v3/contents/generations/tasks", content=b"{not json")
        assert response.status_code == 400 and response.json()["error"]["param"] == "body"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        response = httpx.get(f"{server.url}/api/v3/contents/generations/tasks", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "AuthenticationError"


def test_keys_do_not_see_each_other(ark: Any, server: Server) -> None:
    from volcenginesdkarkruntime import Ark

    created = ark.content_generation.tasks.create(model=PRO, content=[{"type": "text", "text": "mine"}])
    other_key = _create_key(server)
    other = Ark(base_url=server.ark_base, api_key=other_key, max_retries=0)
    with pytest.raises(ArkNotFoundError):
        other.content_generation.tasks.get(task_id=created.id)
    with pytest.raises(ArkNotFoundError):
        other.content_generation.tasks.delete(task_id=created.id)
    assert created.id not in [t.id for t in other.content_generation.tasks.list(page_size=100).items]


def _create_key(server: Server) -> str:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "seedgate.cli", "keys", "create", "--name", "other"],
        env=server.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def test_list_filters_and_paging(ark: Any, server: Server) -> None:
    ids = [
        ark.content_generation.tasks.create(
            model=PRO, content=[{"type": "text", "text": f"list {i}"}], resolution="480p", duration=2
        ).id
        for i in range(3)
    ]
    flex = ark.content_generation.tasks.create(
        model=PRO, content=[{"type": "text", "text": "flex"}], service_tier="flex", resolution="480p", duration=2
    ).id
    for task_id in [*ids, flex]:
        poll(ark, task_id)
    page = ark.content_generation.tasks.list(task_ids=ids, page_size=2, page_num=1)
    assert page.total == 3 and len(page.items) == 2
    page2 = ark.content_generation.tasks.list(task_ids=ids, page_size=2, page_num=2)
    assert len(page2.items) == 1
    assert {t.id for t in page.items + page2.items} == set(ids)
    flexed = ark.content_generation.tasks.list(service_tier="flex", task_ids=[*ids, flex])
    assert [t.id for t in flexed.items] == [flex] and flexed.items[0].service_tier == "flex"
    done = ark.content_generation.tasks.list(status="succeeded", task_ids=ids)
    assert done.total == 3
    assert ark.content_generation.tasks.list(status="failed", task_ids=ids).total == 0
    by_model = ark.content_generation.tasks.list(model=PRO, task_ids=ids)
    assert by_model.total == 3
    with server.client() as client:
        for bad in ({"page_size": 0}, {"page_num": 501}, {"page_num": "x"}, {"filter.status": "done"}):
            response = client.get("/api/v3/contents/generations/tasks", params=bad)
            assert response.status_code == 400 and response.json()["error"]["param"] == next(iter(bad))


def test_delete_table(ark: Any, server: Server) -> None:
    # Finished: the record is deleted and the answer is an empty JSON object the SDK can parse.
    done = poll(
        ark,
        ark.content_generation.tasks.create(
            model=PRO, content=[{"type": "text", "text": "d"}], resolution="480p", duration=2
        ).id,
    )
    ark.content_generation.tasks.delete(task_id=done.id)
    with pytest.raises(ArkNotFoundError):
        ark.content_generation.tasks.get(task_id=done.id)
    with server.client() as client:
        response = client.delete(f"/api/v3/contents/generations/tasks/{done.id}")
        assert response.status_code == 404


def test_callbacks_on_every_status_change(ark: Any, webhooks: WebhookReceiver) -> None:
    webhooks.fail_next = [500]  # the first delivery fails and must be retried
    created = ark.content_generation.tasks.create(
        model=PRO,
        content=[{"type": "text", "text": "hook"}],
        resolution="480p",
        duration=2,
        callback_url=webhooks.url + "/cb",
    )
    webhooks.wait_for(created.id, "succeeded", timeout=90)
    # Deliveries run concurrently, so the one that got the 500 may be any of them; its retry follows a back-off.
    webhooks.wait_for(created.id, "running", timeout=30)
    calls = webhooks.wait_for(created.id, "queued", timeout=30)
    assert sorted(c.body["status"] for c in calls) == ["queued", "running", "succeeded"]
    final = next(c for c in calls if c.body["status"] == "succeeded")
    assert final.path == "/cb"
    assert final.body["content"]["video_url"] and final.body["usage"]["completion_tokens"] > 0
    assert final.headers.get("webhook-id") and final.headers.get("webhook-signature", "").startswith("v1,")


def test_range_requests_and_signed_links(ark: Any) -> None:
    task = poll(
        ark,
        ark.content_generation.tasks.create(
            model=PRO, content=[{"type": "text", "text": "seek"}], resolution="480p", duration=2
        ).id,
    )
    url = task.content.video_url
    partial = httpx.get(url, headers={"Range": "bytes=0-99"})
    assert partial.status_code == 206 and len(partial.content) == 100
    assert partial.headers["content-type"] == "video/mp4"
    tampered = url.replace("signature=", "signature=0")
    assert httpx.get(tampered).status_code == 403
    expired = url.split("?")[0] + "?expires=1&signature=" + url.split("signature=")[1]
    assert httpx.get(expired).status_code == 403


def test_operations_endpoints(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.url}/readyz").status_code == 200
    metrics = httpx.get(f"{server.url}/metrics").text
    assert "seedgate_tasks{" in metrics and "seedgate_queue_depth" in metrics
    assert 'seedgate_engine_seconds_count{engine="preview",outcome="succeeded"}' in metrics
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert "/api/v3/contents/generations/tasks" in spec["paths"]
    models = httpx.get(f"{server.url}/v1/models").json()["data"]
    assert {m["id"] for m in models} >= {PRO, V2, "doubao-seedance-2-5-260628"}


def test_queued_task_is_cancelled_not_deleted(server: Server, ark: Any) -> None:
    # Fill both worker slots with long renders so the next task stays queued long enough to cancel.
    long = [
        ark.content_generation.tasks.create(
            model=PRO, content=[{"type": "text", "text": "long"}], resolution="1080p", duration=12
        ).id
        for _ in range(2)
    ]
    queued = ark.content_generation.tasks.create(
        model=PRO, content=[{"type": "text", "text": "wait"}], resolution="480p", duration=2
    ).id
    assert ark.content_generation.tasks.get(task_id=queued).status == "queued"
    ark.content_generation.tasks.delete(task_id=queued)
    assert ark.content_generation.tasks.get(task_id=queued).status == "cancelled"
    with server.client() as client:
        again = client.delete(f"/api/v3/contents/generations/tasks/{queued}")
        assert again.status_code == 409
        wait_until(
            lambda: ark.content_generation.tasks.get(task_id=long[0]).status,
            f"{long[0]} to start running",
            until=lambda status: status == "running",
        )
        running = client.delete(f"/api/v3/contents/generations/tasks/{long[0]}")
        assert running.status_code == 409, running.text
    for task_id in long:
        assert poll(ark, task_id).status == "succeeded"


def test_random_malformed_bodies_never_cause_a_500(server: Server) -> None:
    import json
    import random

    rng = random.Random(1234)
    values: list[Any] = [
        None,
        True,
        False,
        0,
        -1,
        5,
        2**40,
        3.5,
        "",
        "x",
        "720p",
        "adaptive",
        [],
        {},
        [1],
        {"a": 1},
        "http://127.0.0.1:1/x.png",
        "data:image/png;base64,!!!",
        "asset://a",
        "é" * 70,
    ]
    fields = [
        "model",
        "content",
        "resolution",
        "ratio",
        "duration",
        "frames",
        "seed",
        "camera_fixed",
        "watermark",
        "generate_audio",
        "draft",
        "return_last_frame",
        "service_tier",
        "priority",
        "execution_expires_after",
        "callback_url",
        "safety_identifier",
        "tools",
        "output_format",
        "omni_reference_task_type",
    ]
    items: list[Any] = [
        {"type": "text", "text": "ok"},
        {"type": "image_url", "image_url": {"url": rng.choice(values)}},
        {"type": "video_url", "video_url": rng.choice(values), "role": rng.choice(values)},
        {"type": "draft_task", "draft_task": {"id": rng.choice(values)}},
        {"type": rng.choice(values)},
        "text",
        None,
    ]
    statuses = set()
    with server.client() as client:
        for _ in range(150):
            body: dict[str, Any] = {
                "model": rng.choice([PRO, V2, PRO_15, rng.choice(values)]),
                "content": [rng.choice(items) for _ in range(rng.randint(0, 3))],
            }
            for name in rng.sample(fields, rng.randint(0, 5)):
                body[name] = rng.choice(values)
            raw = json.dumps(body) if rng.random() > 0.05 else json.dumps(body)[:-3]
            response = client.post("/api/v3/contents/generations/tasks", content=raw)
            statuses.add(response.status_code)
            assert response.status_code in (200, 400, 404), (body, response.text)
            if response.status_code != 200:
                assert response.json()["error"]["code"]
    assert 400 in statuses
