"""The MoonApiX dialect (seed 002): every create example replayed verbatim on both create routes and polled through
both query routes, legacy media fields, content[] roles, aliases, per-model rules, webhooks, dialect detection on
the shared `POST /v1/videos`, and errors in MoonApiX's envelope."""

from __future__ import annotations

import io
from typing import Any

import av
import httpx
import numpy as np
import pytest

from seedgate.core.catalog import load_catalog
from seedgate.core.errors import ApiError
from seedgate.core.validation import validate
from seedgate.dialects import moonapix
from seedgate.dialects.openai_videos import body_dialect

from .conftest import MediaServer, Server, WebhookReceiver, wait_status
from .media import image_bytes, inspect_video, video_bytes, wav_bytes
from .seeds import json_objects, replace_urls, seed_file
from .waiting import wait_until

CATALOG = load_catalog()
STATUSES = {"pending", "submitted", "running", "succeeded", "failed", "cancelled"}
CREATED_KEYS = {"id", "task_id", "object", "status", "model", "created_at"}
QUERY_KEYS = {
    "id",
    "task_id",
    "object",
    "model",
    "status",
    "progress",
    "created_at",
    "completed_at",
    "expires_at",
    "prompt",
    "seconds",
    "duration",
    "size",
    "resolution",
    "ratio",
    "url",
    "video_url",
    "output",
    "metadata",
    "error",
    "references",
}
ROUTES = ("/v1/videos", "/v1/video/generations")
RED, BLUE = (230, 0, 20), (20, 0, 230)
NOWHERE = "http://127.0.0.1:1"  # never fetched: these requests fail validation first


# -- helpers ------------------------------------------------------------------------------------------------------


def query(server: Server, task_id: str, route: str = "/v1/video/generations") -> dict[str, Any]:
    with server.client() as client:
        response = client.get(f"{route}/{task_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == QUERY_KEYS and body["status"] in STATUSES, body
    assert body["id"] == body["task_id"] == task_id and body["object"] == "video"
    return body


def finished(server: Server, task_id: str, route: str = "/v1/video/generations") -> dict[str, Any]:
    return wait_status(lambda i: query(server, i, route), task_id, ("succeeded", "failed", "cancelled"))


def create(server: Server, body: dict[str, Any], route: str = "/v1/videos") -> dict[str, Any]:
    with server.client() as client:
        response = client.post(route, json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == CREATED_KEYS and answer["object"] == "task" and answer["status"] == "submitted", answer
    assert answer["id"] == answer["task_id"] and answer["model"] == body["model"]
    return answer


def refused(server: Server, body: Any, route: str = "/v1/videos", key: str | None = None) -> tuple[int, dict]:
    """Post a bad body; check MoonApiX's error envelope and return (HTTP status, the error object)."""
    with server.client(*(key,) if key else ()) as client:
        response = client.post(route, json=body)
    assert 400 <= response.status_code < 500, response.text  # never a 500
    answer = response.json()
    assert answer["success"] is False and set(answer["error"]) == {"code", "message", "param", "type"}, answer
    assert answer["error"]["message"] and answer["request_id"] == response.headers["x-request-id"]
    return response.status_code, answer["error"]


def succeeded(server: Server, task_id: str) -> tuple[dict[str, Any], bytes]:
    task = finished(server, task_id)
    assert task["status"] == "succeeded", task
    assert task["url"] == task["video_url"] == task["output"]["url"] == task["metadata"]["url"]
    assert task["progress"] == 100 and task["completed_at"] and task["error"] is None
    return task, httpx.get(task["url"]).content


def end_colours(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Mean RGB of the first and the last frame."""
    first = last = None
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(video=0):
            if first is None:
                first = frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)
            last = frame
    assert first is not None and last is not None
    return first, last.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)


def reddish(rgb: np.ndarray) -> bool:
    return rgb[0] > rgb[2] + 100


def bluish(rgb: np.ndarray) -> bool:
    return rgb[2] > rgb[0] + 100


def seed_bodies() -> list[dict[str, Any]]:
    return [o for o in json_objects(seed_file("002")) if isinstance(o, dict) and "model" in o and "prompt" in o]


def asset_path(value: Any, where: str = "") -> str | None:
    """Where the first `Asset://` reference sits in a body, written as seedgate names params."""
    if isinstance(value, str):
        return where if value.startswith("Asset://") else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = asset_path(item, f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}".lstrip("."))
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def urls(media_server: MediaServer) -> dict[str, str]:
    return {
        "https://example.com/product.png": media_server.add("mx-product.png", image_bytes(1024, 1024)),
        "https://example.com/hero.jpg": media_server.add("mx-hero.jpg", image_bytes(800, 1000, fmt="JPEG")),
    }


@pytest.fixture(scope="module")
def colours(media_server: MediaServer) -> tuple[str, str]:
    return (
        media_server.add("mx-red.png", image_bytes(640, 480, RED)),
        media_server.add("mx-blue.png", image_bytes(640, 480, BLUE)),
    )


@pytest.fixture(scope="module")
def clip_and_sound(media_server: MediaServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("mx-media")
    clip = media_server.add("mx-clip.mp4", video_bytes(folder / "clip.mp4", 640, 640, seconds=3))
    sound = media_server.add("mx-sound.wav", wav_bytes(folder / "sound.wav", seconds=3))
    return clip, sound


# -- the seed's examples ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_assets(server: Server, urls: dict[str, str], clip_and_sound: tuple[str, str]) -> dict[str, str]:
    """Real assets for the seed's `Asset://asset_xxx` placeholders, uploaded through MoonApiX's asset route."""
    ids = {}
    with server.client() as client:
        for name, url in (("image", urls["https://example.com/product.png"]), ("audio", clip_and_sound[1])):
            asset = client.post("/v1/assets/uploads", json={"url": url, "purpose": "reference"}).json()
            ids[name] = asset["asset_id"]
        for asset_id in ids.values():
            asset = wait_until(
                lambda a=asset_id: client.get(f"/v1/assets/{a}").json(),
                f"asset {asset_id}'s audit",
                until=lambda a: a["status"] != "processing",
                interval=0.2,
            )
            assert asset["status"] == "ready"
    return {
        "Asset://asset_image_xxx": f"Asset://{ids['image']}",
        "Asset://asset_audio_xxx": f"Asset://{ids['audio']}",
        "Asset://asset_xxx": f"Asset://{ids['image']}",
    }


@pytest.mark.parametrize("route", ROUTES)
def test_seed_examples_replayed_verbatim(
    server: Server, urls: dict[str, str], webhooks: WebhookReceiver, seed_assets: dict[str, str], route: str
) -> None:
    bodies = seed_bodies()
    assert len(bodies) == 9
    hook = f"{webhooks.url}/moonapix/webhook"
    mapping = {**urls, "https://example.com/moonapix/webhook": hook}
    created = []
    for body in bodies:
        sent = replace_urls(body, mapping)
        where = asset_path(body)
        if where is not None:
            # The placeholder ID names no asset: a clear 400 naming the field; with a real asset ID it runs.
            status, error = refused(server, sent, route)
            assert status == 400 and error["param"] == where and "is not found" in error["message"], (body, error)
            sent = replace_urls(sent, seed_assets)
        created.append((body, create(server, sent, route)["id"]))
    assert len(created) == 9
    for body, task_id in created:
        task, data = succeeded(server, task_id)
        again = query(server, task_id, "/v1/videos")  # the shared route answers MoonApiX tasks in MoonApiX's shape
        assert again["status"] == "succeeded" and again["url"] and again["id"] == task_id
        assert task["model"] == body["model"] and task["prompt"] == body["prompt"]  # `@alias` kept verbatim
        profile = CATALOG.find(body["model"])
        resolution = (body.get("resolution") or profile.default_resolution).lower()
        ratio = body.get("ratio") or body["aspect_ratio"]
        ratio = "1:1" if ratio == "adaptive" else ratio  # the seed's adaptive examples use the square product image
        width, height = CATALOG.size(profile.family, resolution, ratio)
        facts = inspect_video(data)
        assert (facts.width, facts.height) == (width, height) and task["size"] == f"{width}x{height}"
        assert facts.codec == "h264" and facts.fps == 24 and facts.frames == 24 * body["duration"] + 1
        assert facts.audio_channels == 1 and task["seconds"] == str(body["duration"])
        for ref in body.get("references", []):
            assert {
                "media_type": ref["media_type"],
                "role": ref["role"],
                "url": urls[ref["url"]],
                "alias": ref["alias"],
            } in task["references"]
        if body.get("callback_url"):
            calls = webhooks.wait_for(task_id, "succeeded")
            assert [c.body["status"] for c in calls] == ["succeeded"]  # terminal states only
            assert calls[0].path == "/moonapix/webhook" and set(calls[0].body) == QUERY_KEYS
            assert calls[0].body["url"] and calls[0].body["output"]["url"] == calls[0].body["url"]


# -- media fields -------------------------------------------------------------------------------------------------


def roles(task: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(r["media_type"], r["role"], r["url"]) for r in task["references"]]


@pytest.mark.parametrize(
    "fields",
    [
        lambda red, blue: {"first_frame_url": red, "last_frame_url": blue},
        lambda red, blue: {"image_url": blue, "input_reference_role": "last_frame", "first_frame_url": red},
        lambda red, blue: {"image": red, "last_frame_url": {"url": blue}},  # a lone image is the first frame
        lambda red, blue: {"images": [{"url": red, "role": "first_frame"}, {"url": blue, "role": "last_frame"}]},
        lambda red, blue: {
            "references": [
                {"media_type": "image", "role": "last_frame", "url": blue},
                {"media_type": "image", "role": "first_frame", "url": red},
            ]
        },
        # A new-api fork mirrors every item into several fields; each image still counts once.
        lambda red, blue: {
            "images": [{"url": red, "role": "first_frame"}, {"url": blue, "role": "last_frame"}],
            "image": red,
            "image_url": red,
            "first_frame_url": red,
            "last_frame_url": blue,
        },
        lambda red, blue: {
            "metadata": {
                "content": [
                    {"type": "image_url", "image_url": {"url": red}, "role": "first_frame"},
                    {"type": "image_url", "image_url": {"url": blue}, "role": "last_frame"},
                ]
            }
        },
    ],
)
def test_first_and_last_frame_fields(server: Server, colours: tuple[str, str], fields: Any) -> None:
    red, blue = colours
    body = {
        "model": "seedance-2.0-kz-fast",
        "prompt": "red to blue",
        "duration": 4,
        "resolution": "480p",
        "ratio": "16:9",
        **fields(red, blue),
    }
    task_id = create(server, body)["id"]
    task, data = succeeded(server, task_id)
    assert sorted(roles(task)) == [("image", "first_frame", red), ("image", "last_frame", blue)]
    first, last = end_colours(data)
    assert reddish(first) and bluish(last), (first, last)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"image_url": "R"}, [("image", "first_frame", "R")]),
        ({"image_url": {"url": "R"}}, [("image", "first_frame", "R")]),
        ({"image": "R", "input_reference_role": "reference_image"}, [("image", "reference_image", "R")]),
        ({"images": ["R"]}, [("image", "first_frame", "R")]),
        ({"images": ["R", "B"]}, [("image", "reference_image", "R"), ("image", "reference_image", "B")]),
        ({"reference_image_url": "R"}, [("image", "reference_image", "R")]),
        ({"reference_image_urls": ["R", "B"]}, [("image", "reference_image", "R"), ("image", "reference_image", "B")]),
        ({"image_url": ["R", "B"]}, [("image", "reference_image", "R"), ("image", "reference_image", "B")]),
        ({"video": "V"}, [("video", "reference_video", "V")]),
        ({"video_url": "V", "image_url": "R"}, [("image", "reference_image", "R"), ("video", "reference_video", "V")]),
        ({"reference_video_url": "V"}, [("video", "reference_video", "V")]),
        (
            {"reference_video_urls": ["V"], "videos": [{"url": "V", "role": "reference_video"}]},
            [("video", "reference_video", "V")],
        ),
        ({"audio": "A", "images": ["R"]}, [("image", "reference_image", "R"), ("audio", "reference_audio", "A")]),
        (
            {"audio_url": "A", "reference_image_url": "R"},
            [("image", "reference_image", "R"), ("audio", "reference_audio", "A")],
        ),
        (
            {"reference_audio_url": "A", "videos": ["V"]},
            [("video", "reference_video", "V"), ("audio", "reference_audio", "A")],
        ),
        (
            {"reference_audio_urls": ["A"], "audios": [{"url": "A"}], "video_url": "V"},
            [("video", "reference_video", "V"), ("audio", "reference_audio", "A")],
        ),
    ],
)
def test_legacy_fields(
    server: Server,
    colours: tuple[str, str],
    clip_and_sound: tuple[str, str],
    fields: dict[str, Any],
    expected: list[tuple[str, str, str]],
) -> None:
    names = {"R": colours[0], "B": colours[1], "V": clip_and_sound[0], "A": clip_and_sound[1]}
    body = replace_urls(
        {"model": "seedance-2.0-kz-fast", "prompt": "legacy", "seconds": "4", "resolution": "480p", **fields},
        {f'"{k}"': f'"{v}"' for k, v in names.items()},
    )
    task_id = create(server, body)["id"]
    task, data = succeeded(server, task_id)
    assert sorted(roles(task)) == sorted((kind, role, names[url]) for kind, role, url in expected)
    assert task["duration"] == 4 and inspect_video(data).frames == 97


def test_content_roles_default_by_media_type(
    server: Server, colours: tuple[str, str], clip_and_sound: tuple[str, str]
) -> None:
    red, _ = colours
    clip, sound = clip_and_sound
    body = {
        "model": "seedance-2.0-kz",
        "prompt": "all references",
        "duration": 4,
        "resolution": "480p",
        "ratio": "16:9",
        "content": [
            {"type": "image_url", "image_url": {"url": red}},
            {"type": "video_url", "video_url": {"url": clip}},
            {"type": "audio_url", "audio_url": {"url": sound}},
            {"type": "text", "text": "a second line of prompt"},
        ],
    }
    task, data = succeeded(server, create(server, body)["id"])
    assert roles(task) == [
        ("image", "reference_image", red),
        ("video", "reference_video", clip),
        ("audio", "reference_audio", sound),
    ]
    assert task["prompt"] == "all references\na second line of prompt"
    facts = inspect_video(data)
    assert (facts.width, facts.height) == (864, 496) and facts.audio_channels == 1


def test_references_with_alias_and_extra_roles(
    server: Server, colours: tuple[str, str], clip_and_sound: tuple[str, str]
) -> None:
    red, blue = colours
    _, sound = clip_and_sound
    prompt = "@hero walks past @poster while @theme plays"
    body = {
        "model": "seedance-2.0-ld-17",
        "prompt": prompt,
        "duration": 4,
        "resolution": "480p",
        "aspect_ratio": "16:9",
        "references": [
            {"media_type": "image", "role": "character_reference", "url": red, "alias": "hero"},
            {"media_type": "image", "role": "style_reference", "url": blue, "alias": "@poster"},
            {"media_type": "music", "role": "background_music", "url": sound, "alias": "theme"},
        ],
    }
    task, _ = succeeded(server, create(server, body)["id"])
    assert task["prompt"] == prompt
    assert task["references"] == [
        {"media_type": "image", "role": "reference_image", "url": red, "alias": "hero"},
        {"media_type": "image", "role": "reference_image", "url": blue, "alias": "poster"},
        {"media_type": "audio", "role": "reference_audio", "url": sound, "alias": "theme"},
    ]


def test_options_synonyms_and_metadata(server: Server) -> None:
    metadata = {"user": "u-1", "duration": 4, "resolution": "480P", "trace": {"a": [1, 2]}}
    body = {
        "model": "seedance-2.0-kz-fast",
        "prompt": "a quiet harbour",
        "metadata": metadata,
        "video_config": {"aspect_ratio": "9:16", "resolution_name": "480p"},
        "aspect_ratio": "9:16",
        "generate_audio": False,
        "watermark": True,
        "seed": 7,
        "mode": "fast",
        "web_search": False,
        "input_type": "reference",
        "generation_type": "video",
    }
    task, data = succeeded(server, create(server, body, "/v1/video/generations")["id"])
    assert task["metadata"] == {**metadata, "url": task["url"]}  # echoed, plus the result URL
    assert (task["resolution"], task["ratio"], task["duration"], task["size"]) == ("480p", "9:16", 4, "496x864")
    facts = inspect_video(data)
    assert (facts.width, facts.height, facts.frames, facts.audio_channels) == (496, 864, 97, None)


# -- per-model rules ----------------------------------------------------------------------------------------------


def images(count: int) -> list[str]:
    return [f"{NOWHERE}/{i}.png" for i in range(count)]


@pytest.mark.parametrize(
    ("body", "param", "needle"),
    [
        (
            {"model": "seedance-2.0-cl", "images": images(1), "videos": [f"{NOWHERE}/v.mp4"]},
            "videos",
            "does not accept reference videos",
        ),
        (
            {"model": "seedance-2.0-cl-fast", "images": images(1), "audios": [f"{NOWHERE}/a.wav"]},
            "audios",
            "does not accept reference audios",
        ),
        ({"model": "seedance-2.0-cl", "images": images(11)}, "images", "0 to 10"),
        (
            {"model": "seedance-2.0-cl-mini", "reference_video_urls": [f"{NOWHERE}/1.mp4", f"{NOWHERE}/2.mp4"]},
            "reference_video_urls",
            "0 to 1 reference videos",
        ),
        ({"model": "seedance-2.0-cl-mini", "resolution": "1080p"}, "resolution", "480p, 720p"),
        ({"model": "seedance-2.0-cl-mini", "duration": 16}, "duration", "[4, 15]"),
        (
            {
                "model": "seedance-2.0-ld-17",
                "references": [{"media_type": "audio", "role": "reference_audio", "url": f"{NOWHERE}/a.wav"}],
            },
            "references",
            "alongside audio",
        ),
        ({"model": "seedance-2.0-dj-fast", "duration": 7}, "duration", "5, 10, 15"),
        ({"model": "seedance-2.0-dj-fast", "metadata": {"seconds": "12"}}, "metadata.seconds", "5, 10, 15"),
        (
            {
                "model": "seedance-2.0-dj-fast",
                "references": [{"media_type": "video", "role": "reference_video", "url": f"{NOWHERE}/v.mp4"}],
            },
            "references",
            "does not accept reference videos",
        ),
        ({"model": "seedance-2.0-dj-fast", "reference_image_urls": images(11)}, "reference_image_urls", "0 to 10"),
        ({"model": "seedance-2.0-qm-720p", "resolution": "480p"}, "resolution", "720p"),
        (
            {"model": "seedance-2.0-wc-720p", "video_config": {"resolution_name": "1080p"}},
            "video_config.resolution_name",
            "720p",
        ),
        ({"model": "seedance-2.0-wc-720p", "prompt": "x" * 1001}, "prompt", "at most 1000"),
        (
            {"model": "seedance-2.0-me", "images": images(1), "video_url": f"{NOWHERE}/v.mp4"},
            "video_url",
            "does not accept reference videos",
        ),
        (
            {
                "model": "seedance-2.0-me",
                "first_frame_url": f"{NOWHERE}/a.png",
                "reference_image_url": f"{NOWHERE}/b.png",
            },
            "first_frame_url, reference_image_url",
            "cannot be mixed",
        ),
        (
            {"model": "seedance-2.0-kz", "images": [{"url": u, "role": "reference_image"} for u in images(10)]},
            "images",
            "0 to 9",
        ),
    ],
)
def test_per_model_rules(server: Server, body: dict[str, Any], param: str, needle: str) -> None:
    body = {"prompt": "rules", **body}
    for route in ROUTES:
        status, error = refused(server, body, route)
        assert status == 400 and error["param"] == param and needle in error["message"], error
        assert error["code"] == "invalid_value" and error["type"] == "invalid_request_error"


def test_per_model_rules_that_pass(server: Server, colours: tuple[str, str], clip_and_sound: tuple[str, str]) -> None:
    red, blue = colours
    clip, _ = clip_and_sound
    fifteen = create(
        server,
        {
            "model": "seedance-2.0-dj-fast",
            "prompt": "long",
            "duration": 15,
            "resolution": "480p",
            "ratio": "16:9",
            "references": [{"media_type": "image", "url": red}],
        },
    )
    mini = create(
        server,
        {
            "model": "seedance-2.0-cl-mini",
            "prompt": "one clip",
            "seconds": "4",
            "resolution": "480p",
            "images": [red, blue],
            "video_url": clip,
        },
    )
    facts = inspect_video(succeeded(server, fifteen["id"])[1])
    assert facts.frames == 361 and (facts.width, facts.height) == (864, 496)
    assert len(succeeded(server, mini["id"])[0]["references"]) == 3


# -- webhooks, cancel ---------------------------------------------------------------------------------------------


def test_cancelled_task_calls_back_once(server: Server, webhooks: WebhookReceiver) -> None:
    with server.client() as client:
        # Keep both worker slots busy so the next task stays queued long enough to cancel.
        busy = [
            create(server, {"model": "seedance-2.0-kz", "prompt": "busy", "duration": 12, "resolution": "1080p"})["id"]
            for _ in range(2)
        ]
        waiting = create(
            server,
            {
                "model": "seedance-2.0-kz",
                "prompt": "wait",
                "duration": 4,
                "callback_url": f"{webhooks.url}/mx-cancel",
                "metadata": {"job": 9},
            },
        )["id"]
        assert client.delete(f"/v1/videos/{waiting}").status_code == 200
    task = query(server, waiting)
    assert task["status"] == "cancelled" and task["error"]["code"] == "cancelled" and task["url"] is None
    calls = webhooks.wait_for(waiting, "cancelled")
    assert [c.body["status"] for c in calls] == ["cancelled"] and calls[0].path == "/mx-cancel"
    assert calls[0].body["metadata"] == {"job": 9} and calls[0].body["output"] is None
    for task_id in busy:
        assert finished(server, task_id)["status"] == "succeeded"


# -- the shared route ---------------------------------------------------------------------------------------------


def test_shared_route_answers_each_dialect_in_its_shape(server: Server, colours: tuple[str, str]) -> None:
    red, _ = colours
    openai_body = {"model": "doubao-seedance-2-0-260128", "prompt": "openai", "seconds": "4", "size": "864x496"}
    threehei_body = {
        "model": "doubao-seedance-2-0-260128",
        "duration": 4,
        "resolution": "480p",
        "content": [{"type": "text", "text": "3hei"}],
    }
    moon_bodies = [
        {"model": "seedance-2.0-kz-fast", "prompt": "model alone"},  # a MoonApiX model line
        {"model": "doubao-seedance-2-0-260128", "prompt": "duration", "duration": 4, "resolution": "480p"},
        {
            "model": "doubao-seedance-2-0-260128",
            "prompt": "content beside prompt",
            "resolution": "480p",
            "content": [{"type": "image_url", "image_url": {"url": red}}],
        },
        {"model": "seedance-2.0-kz-fast", "resolution": "480p", "content": [{"type": "text", "text": "in content"}]},
    ]
    with server.client() as client:
        openai = client.post("/v1/videos", json=openai_body)
        threehei = client.post("/v1/videos", json=threehei_body)
        also_openai = client.post("/v1/videos", json={**openai_body, "model": "seedance-2.0-kz-fast"})
    assert openai.status_code == threehei.status_code == also_openai.status_code == 200
    assert openai.json()["object"] == "video" and openai.json()["status"] in ("queued", "in_progress")
    assert also_openai.json()["object"] == "video" and also_openai.json()["size"] == "864x496"  # `size` is OpenAI's
    assert set(threehei.json()) == {"id"}
    moon = [create(server, body) for body in moon_bodies]
    assert query(server, moon[3]["id"])["prompt"] == "in content"
    with server.client() as client:
        for answer in moon:
            assert finished(server, answer["id"], "/v1/videos")["status"] == "succeeded"
        done = wait_status(lambda i: client.get(f"/v1/videos/{i}").json(), openai.json()["id"], ("completed",))
        assert done["object"] == "video" and "task_id" not in done
        ark_task = wait_status(lambda i: client.get(f"/v1/videos/{i}").json(), threehei.json()["id"])
        assert ark_task["status"] == "succeeded" and ark_task["content"]["video_url"] and "object" not in ark_task
        wait_status(lambda i: client.get(f"/v1/videos/{i}").json(), also_openai.json()["id"], ("completed",))
    # On MoonApiX's own query route any task of the caller answers in MoonApiX's shape.
    for task_id in (openai.json()["id"], threehei.json()["id"]):
        task = query(server, task_id)
        assert task["status"] == "succeeded" and task["url"]


# -- errors -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"prompt": "x", "duration": 5}, 400, "model"),
        ({"model": "nope", "prompt": "x", "duration": 5}, 404, "model"),
        ({"model": "seedance-2.0-kz", "duration": 5}, 400, "prompt"),
        ({"model": "seedance-2.0-kz", "prompt": 5, "duration": 5}, 400, "prompt"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "references": {"url": "a"}}, 400, "references"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "references": ["a"]}, 400, "references[0]"),
        (
            {"model": "seedance-2.0-kz", "prompt": "x", "references": [{"media_type": "gif", "url": "a"}]},
            400,
            "references[0].media_type",
        ),
        ({"model": "seedance-2.0-kz", "prompt": "x", "references": [{"url": "a"}]}, 400, "references[0].media_type"),
        (
            {
                "model": "seedance-2.0-kz",
                "prompt": "x",
                "references": [{"media_type": "image", "role": "hero", "url": "a"}],
            },
            400,
            "references[0].role",
        ),
        (
            {
                "model": "seedance-2.0-kz",
                "prompt": "x",
                "references": [{"media_type": "video", "role": "first_frame", "url": "a"}],
            },
            400,
            "references[0].role",
        ),
        (
            {"model": "seedance-2.0-kz", "prompt": "x", "references": [{"media_type": "image"}]},
            400,
            "references[0].url",
        ),
        (
            {
                "model": "seedance-2.0-kz",
                "prompt": "x",
                "references": [{"media_type": "image", "url": "a", "alias": 3}],
            },
            400,
            "references[0].alias",
        ),
        ({"model": "seedance-2.0-kz", "prompt": "x", "images": [3]}, 400, "images[0]"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "images": [{"url": ""}]}, 400, "images[0].url"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "images": ["Asset://"]}, 400, "images[0]"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "content": [{"type": "sound"}]}, 400, "content[0].type"),
        (
            {"model": "seedance-2.0-kz", "prompt": "x", "content": [{"type": "image_url", "image_url": {}}]},
            400,
            "content[0].image_url.url",
        ),
        ({"model": "seedance-2.0-kz", "prompt": "x", "content": [{"type": "text", "text": 1}]}, 400, "content[0].text"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "duration": "five"}, 400, "duration"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "duration": True}, 400, "duration"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "duration": 5, "seconds": "6"}, 400, "seconds"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "duration": 99}, 400, "duration"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "seconds": "3"}, 400, "seconds"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "ratio": "16:9", "aspect_ratio": "9:16"}, 400, "aspect_ratio"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "ratio": 5}, 400, "ratio"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "aspect_ratio": "2:1"}, 400, "aspect_ratio"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "resolution": "8k"}, 400, "resolution"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "video_config": "720p"}, 400, "video_config"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "metadata": "tag"}, 400, "metadata"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "metadata": {"blob": "x" * 20000}}, 400, "metadata"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "metadata": {"duration": 99}}, 400, "metadata.duration"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "generate_audio": "yes"}, 400, "generate_audio"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "watermark": "no"}, 400, "watermark"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "seed": "abc"}, 400, "seed"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "callback_url": "ftp://hook"}, 400, "callback_url"),
        ({"model": "seedance-2.0-kz", "prompt": "x", "web_search": "yes"}, 400, "web_search"),
        (
            {
                "model": "seedance-2.0-kz",
                "prompt": "x",
                "image_url": "http://127.0.0.1:1/a.png",
                "input_reference_role": "reference_video",
            },
            400,
            "input_reference_role",
        ),
        (
            {"model": "seedance-2.0-kz", "prompt": "x", "first_frame_url": "http://127.0.0.1:1/a.png"},
            400,
            "first_frame_url",
        ),
    ],
)
def test_errors_use_the_moonapix_envelope(server: Server, body: dict[str, Any], status: int, param: str) -> None:
    for route in ROUTES:
        got, error = refused(server, body, route)
        assert (got, error["param"]) == (status, param), (route, error)
        assert param in error["message"]


def test_bodies_auth_and_unknown_tasks(server: Server) -> None:
    status, error = refused(server, {"model": "seedance-2.0-kz", "prompt": "x", "duration": 5}, key="sk-wrong")
    assert status == 401 and error["code"] == "invalid_api_key" and error["type"] == "authentication_error"
    status, _ = refused(server, {"model": "seedance-2.0-kz", "prompt": "x"}, "/v1/video/generations", "sk-wrong")
    assert status == 401
    status, error = refused(server, ["not", "an", "object"], "/v1/video/generations")
    assert status == 400 and error["param"] == "body"
    with server.client() as client:
        broken = client.post("/v1/video/generations", content=b"{nope", headers={"content-type": "application/json"})
        unknown = client.get("/v1/video/generations/cgt-20260101000000-nothere")
    assert broken.status_code == 400 and broken.json()["error"]["param"] == "body"
    assert broken.json()["success"] is False
    assert unknown.status_code == 404 and unknown.json()["success"] is False
    assert unknown.json()["error"]["code"] == "not_found"


# -- pure parsing (no server) -------------------------------------------------------------------------------------


def test_body_dialect_rules() -> None:
    def dialect(body: dict[str, Any]) -> str:
        return body_dialect("application/json", body, CATALOG)

    v2 = "doubao-seedance-2-0-260128"
    assert dialect({"model": v2, "prompt": "x", "seconds": "4", "size": "1280x720"}) == "openai"
    assert dialect({"model": v2, "prompt": "x"}) == "openai"
    assert dialect({"model": v2, "content": [{"type": "text", "text": "x"}], "duration": 5}) == "3hei"
    assert dialect({"model": v2, "prompt": "x", "duration": 5}) == "moonapix"
    assert dialect({"model": v2, "prompt": "x", "content": []}) == "moonapix"
    assert dialect({"model": v2, "prompt": "x", "images": ["u"], "size": "1280x720"}) == "moonapix"
    assert dialect({"model": "seedance-2.0-kz", "prompt": "x"}) == "moonapix"
    assert dialect({"model": "seedance-2.0-kz", "content": [{"type": "text", "text": "x"}]}) == "moonapix"
    assert dialect({"model": "seedance-2.0-kz", "prompt": "x", "size": "1280x720"}) == "openai"
    assert dialect({"model": v2, "prompt": "x", "metadata": None}) == "openai"  # null is absent
    assert body_dialect("multipart/form-data", {"images": []}, CATALOG) == "openai"


def test_mirrors_are_merged_and_assets_normalised() -> None:
    spec, soft = moonapix.parse_create(
        {
            "model": "seedance-2.0-kz",
            "prompt": "@hero",
            "references": [{"media_type": "image", "role": "reference_image", "asset_id": "asset_1", "alias": "hero"}],
            "images": [{"url": "Asset://asset_1", "role": "reference_image"}, "asset://asset_1"],
            "reference_image_url": "ASSET://asset_1",
            "content": [{"type": "video_url", "asset-id": "asset_2"}, {"type": "audio_url", "asset_url": "Asset://a3"}],
        }
    )
    assert soft == ()
    assert [(m.kind, m.url, m.role, m.param, m.alias) for m in spec.media] == [
        ("image", "asset://asset_1", "reference_image", "references[0].asset_id", "hero"),
        ("video", "asset://asset_2", "reference_video", "content[0].asset-id", None),
        ("audio", "asset://a3", "reference_audio", "content[1].asset_url", None),
    ]
    assert spec.prompt == "@hero"
    out = validate(spec, CATALOG)
    assert out.mode == "reference" and out.model_name == "seedance-2.0-kz"


def test_metadata_parameters_yield_to_the_top_level() -> None:
    spec, _ = moonapix.parse_create(
        {
            "model": "seedance-2.0-kz",
            "prompt": "x",
            "duration": 6,
            "metadata": {"duration": 9, "resolution": "1080P", "seconds": "6"},
        }
    )
    assert (spec.duration, spec.resolution) == (6, "1080p")
    assert spec.wire_names["duration"] == "duration" and spec.wire_names["resolution"] == "metadata.resolution"
    with pytest.raises(ApiError) as caught:
        moonapix.parse_create({"model": "seedance-2.0-kz", "prompt": "x", "metadata": {"seconds": "4"}, "duration": 5})
    assert caught.value.param == "metadata.seconds"


def test_seed_pages_are_the_ones_replayed() -> None:
    # The seed file is the contract; a changed page should be noticed, not silently replayed.
    bodies = seed_bodies()
    assert [b["model"] for b in bodies] == [
        "seedance-2.0-ld-17",
        "seedance-2.0-kz-fast",
        "seedance-2.0-kz",
        "seedance-2.0-kz-fast",
        "seedance-2.0-kz-fast",
        "seedance-2.0-cl-fast",
        "seedance-2.0-kz-fast",
        "seedance-2.0-ld-17",
        "seedance-2.0-dj-fast",
    ]
    assert sum(asset_path(b) is not None for b in bodies) == 4
