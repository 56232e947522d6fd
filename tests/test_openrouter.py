"""OpenRouter's video API (reference/updates-2026-12.md §2.4) through plain httpx, as OpenRouter's own examples call
it (no SDK speaks this shape): submit (202), poll, download, the models route, the six statuses, frame images and
input references, signed callbacks, and bad requests answered in OpenRouter's envelope with no task created."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from seedgate.core.catalog import load_catalog
from seedgate.core.plan import TaskPlan
from seedgate.core.pricing import Delivered, charge
from seedgate.core.spec import TaskSpec
from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.core.validation import settle_geometry, validate
from seedgate.dialects import openrouter

from .conftest import API_KEY, Database, MediaServer, Server, WebhookReceiver, execute_sql, start_server, wait_status
from .media import image_bytes, inspect_video
from .waiting import wait_until

AUTH = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
STATUSES = {"pending", "in_progress", "completed", "failed", "cancelled", "expired"}
CATALOG = load_catalog()
V2 = "doubao-seedance-2-0-260128"
JOB_KEYS = {"id", "polling_url", "status", "generation_id", "urls", "unsigned_urls", "usage", "error"}


def submit(server: Server, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/api/v1/videos", headers=AUTH, json=body, timeout=30)
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "pending" and job["polling_url"] == f"{server.url}/api/v1/videos/{job['id']}"
    return job


def poll(url: str) -> dict[str, Any]:
    response = httpx.get(url, headers=AUTH, timeout=30)
    assert response.status_code == 200, response.text
    job = response.json()
    assert set(job) >= JOB_KEYS and job["status"] in STATUSES
    return job


def finished(server: Server, job: dict[str, Any]) -> dict[str, Any]:
    # Clients poll the polling_url they were given until a terminal status.
    return wait_status(lambda _: poll(job["polling_url"]), job["id"], ("completed", "failed", "cancelled", "expired"))


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == status and error["metadata"]["request_id"] == response.headers["x-request-id"]
    return error


def server_webhook_secret(server: Server) -> str:
    """The secret the server signs callbacks with, read the way a node does (shared in the database)."""
    from seedgate.config import normalize_database_url
    from seedgate.store.store import Store

    url = server.database.url
    db_url = normalize_database_url(url) if url else f"sqlite+aiosqlite:///{(server.data_dir / 'seedgate.db')}"

    async def read() -> str:
        store = Store(db_url)
        try:
            return await store.shared_secret("webhook_secret")
        finally:
            await store.close()

    return "whsec_" + base64.b64encode(asyncio.run(read()).encode()[:32]).decode()


def verify_openrouter_signature(raw: bytes, header: str, secret: str, tolerance_s: int = 300) -> bool:
    """A receiver as OpenRouter's webhook guide writes one: `t=<unix>,v1=<hex HMAC-SHA256("<t>,<raw body>")>`."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{stamp},".encode() + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


def hooks_for(webhooks: WebhookReceiver, job_id: str) -> list[Any]:
    with webhooks.lock:
        return [c for c in webhooks.calls if isinstance(c.body.get("data"), dict) and c.body["data"]["id"] == job_id]


def wait_hook(webhooks: WebhookReceiver, job_id: str, event: str, timeout: float = 60) -> Any:
    found = wait_until(
        lambda: hooks_for(webhooks, job_id),
        f"a {event} callback for {job_id}",
        until=lambda hooks: any(c.body["type"] == event for c in hooks),
        timeout=timeout,
    )
    return next(c for c in found if c.body["type"] == event)


def task_count(server: Server) -> int:
    response = httpx.get(
        f"{server.url}/api/v3/contents/generations/tasks", headers=AUTH, params={"page_size": 1}, timeout=30
    )
    return response.json()["total"]


# -- the whole flow, on SQLite and PostgreSQL ---------------------------------------------------------------------


def test_submit_poll_download(server: Server, webhooks: WebhookReceiver) -> None:
    # Every request field the reference lists, in its order (provider options for another provider are ignored).
    body = {
        "model": "bytedance/seedance-2.0",
        "prompt": "A golden retriever on a beach",
        "duration": 4,
        "resolution": "480p",
        "aspect_ratio": "16:9",
        "generate_audio": True,
        "seed": 42,
        "frame_images": [],
        "input_references": [],
        "provider": {"options": {"google-vertex": {"parameters": {"negativePrompt": "blurry"}}}},
        "callback_url": webhooks.url + "/openrouter",
    }
    job = submit(server, body)
    done = finished(server, job)
    assert done["status"] == "completed", done
    assert done["id"] == job["id"] and done["generation_id"] and done["error"] is None
    # The catalog's price of what was delivered, in the price's currency (CNY for the shipped Seedance prices).
    price = CATALOG.models[V2].price
    assert price is not None
    spec = TaskSpec(model=V2, prompt="-", duration=4, resolution="480p", ratio="16:9", generate_audio=True)
    frames = server.client().get(f"/console/api/tasks/{job['id']}").json()["result"]["frames"]
    cost = float(charge(settle_geometry(validate(spec, CATALOG), CATALOG), price, Delivered(frames=frames)).decimal)
    assert cost > 0 and done["usage"] == {"cost": cost, "is_byok": False}
    assert done["unsigned_urls"] == [f"{server.url}/api/v1/videos/{job['id']}/content?index=0"]
    assert len(done["urls"]) == 1 and "signature=" in done["urls"][0]

    # The authenticated content route and the signed storage link serve the same MP4.
    content = httpx.get(done["unsigned_urls"][0], headers=AUTH, timeout=30)
    assert content.status_code == 200 and content.headers["content-type"] == "video/mp4"
    assert content.headers["x-request-id"]
    assert httpx.get(done["urls"][0], timeout=30).content == content.content
    facts = inspect_video(content.content)
    assert (facts.codec, facts.width, facts.height, facts.fps, facts.frames) == ("h264", 864, 496, 24, 97)
    assert facts.audio_channels  # generate_audio: true

    # The callback: one event for the finished job, signed as OpenRouter signs.
    hook = wait_hook(webhooks, job["id"], "video.generation.completed")
    secret = server_webhook_secret(server)
    assert verify_openrouter_signature(hook.raw, hook.headers["X-OpenRouter-Signature"], secret)
    assert not verify_openrouter_signature(
        hook.raw.replace(b"completed", b"failed__"), hook.headers["X-OpenRouter-Signature"], secret
    )
    assert not verify_openrouter_signature(hook.raw, hook.headers["X-OpenRouter-Signature"], secret + "x")
    assert hook.headers["X-OpenRouter-Idempotency-Key"] == hook.headers["webhook-id"]
    event = json.loads(hook.raw)
    assert event["created_at"].endswith("Z")
    assert event["data"]["status"] == "completed" and event["data"]["unsigned_urls"] == done["unsigned_urls"]
    assert event["data"]["usage"] == {"cost": cost, "is_byok": False}
    assert [c.body["type"] for c in hooks_for(webhooks, job["id"])] == ["video.generation.completed"]


def test_frame_images_and_input_references(server: Server, media_server: MediaServer) -> None:
    first = media_server.add("or-first.png", image_bytes(1280, 720))
    last = media_server.add("or-last.png", image_bytes(1280, 720, color=(20, 200, 90)))
    ref = media_server.add("or-ref.png", image_bytes(640, 640))
    # frame_images and input_references together: frame_images take precedence (OpenRouter's rule).
    both = submit(
        server,
        {
            "model": "doubao-seedance-1-5-pro-251215",
            "prompt": "a door opens",
            "duration": 4,
            "resolution": "480p",
            "frame_images": [
                {"type": "image_url", "image_url": {"url": first}, "frame_type": "first_frame"},
                {"type": "image_url", "image_url": {"url": last}, "frame_type": "last_frame"},
            ],
            "input_references": [{"type": "image_url", "image_url": {"url": ref}}],
        },
    )
    references = submit(
        server,
        {
            "model": "doubao-seedance-2-0-260128",
            "prompt": "the cat from the picture dances",
            "duration": 4,
            "resolution": "480p",
            "aspect_ratio": "1:1",
            "input_references": [{"type": "image_url", "image_url": {"url": ref}}],
        },
    )
    for job, size in ((both, (864, 496)), (references, (640, 640))):
        done = finished(server, job)
        assert done["status"] == "completed", done
        facts = inspect_video(httpx.get(done["unsigned_urls"][0], headers=AUTH, timeout=30).content)
        assert (facts.width, facts.height) == size
    ark = httpx.get(f"{server.url}/api/v3/contents/generations/tasks/{both['id']}", headers=AUTH, timeout=30).json()
    assert ark["ratio"] == "16:9"  # adaptive to the 1280x720 first frame: the frames were used, not the reference


def test_models_route_lists_the_catalog(server: Server) -> None:
    response = httpx.get(f"{server.url}/api/v1/videos/models", timeout=30)
    assert response.status_code == 200
    models = {m["id"]: m for m in response.json()["data"]}
    catalog = httpx.get(f"{server.url}/v1/models", timeout=30).json()["data"]
    assert set(models) == {m["id"] for m in catalog}
    v2 = models["doubao-seedance-2-0-260128"]
    assert v2["supported_durations"] == list(range(4, 16)) and v2["supported_resolutions"][-1] == "4K"
    assert v2["supported_frame_images"] == ["first_frame", "last_frame"] and v2["generate_audio"] is True
    assert v2["supported_aspect_ratios"] == ["16:9", "4:3", "1:1", "3:4", "9:16", "21:9"]
    assert "priority" in v2["allowed_passthrough_parameters"] and v2["created"] > 0
    t2v = models["doubao-seedance-1-0-lite-t2v-250428"]
    assert t2v["supported_frame_images"] == [] and t2v["generate_audio"] is False
    # A client picks values only from the returned sets, and they are accepted.
    lite = models["doubao-seedance-1-0-pro-fast-251015"]
    job = submit(
        server,
        {
            "model": lite["id"],
            "prompt": "picked from the sets",
            "duration": lite["supported_durations"][0],
            "resolution": lite["supported_resolutions"][0],
            "aspect_ratio": lite["supported_aspect_ratios"][-1],
        },
    )
    assert finished(server, job)["status"] == "completed"


def test_bad_requests_name_the_field_and_create_nothing(server: Server, media_server: MediaServer) -> None:
    image = media_server.add("or-bad.png", image_bytes(640, 640))
    frame = {"type": "image_url", "image_url": {"url": image}, "frame_type": "first_frame"}
    base = {"model": "doubao-seedance-2-0-260128", "prompt": "x", "duration": 4, "resolution": "480p"}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"model": base["model"]}, 400, "prompt"),
        ({**base, "model": "google/veo-3.1"}, 404, "model"),
        ({**base, "duration": 3}, 400, "duration"),
        ({**base, "duration": "4"}, 400, "duration"),
        ({**base, "aspect_ratio": "9:21"}, 400, "aspect_ratio"),
        ({**base, "resolution": "8K"}, 400, "resolution"),
        ({**base, "frame_images": [{**frame, "frame_type": "middle"}]}, 400, "frame_images[0].frame_type"),
        (
            {**base, "frame_images": [{k: v for k, v in frame.items() if k != "frame_type"}]},
            400,
            "frame_images[0].frame_type",
        ),
        ({**base, "frame_images": [frame, frame]}, 400, "frame_images[1].frame_type"),
        ({**base, "frame_images": [{**frame, "image_url": {}}]}, 400, "frame_images[0].image_url.url"),
        ({**base, "frame_images": "x"}, 400, "frame_images"),
        ({**base, "input_references": [{"type": "text", "text": "x"}]}, 400, "input_references[0].type"),
        (
            {**base, "provider": {"options": {"bytedance": {"parameters": {"negativePrompt": "x"}}}}},
            400,
            "provider.options.bytedance.parameters.negativePrompt",
        ),
        (
            {**base, "provider": {"options": {"seedgate": {"parameters": {"priority": 12}}}}},
            400,
            "provider.options.seedgate.parameters.priority",
        ),
        ({**base, "callback_url": "ftp://example.com/hook"}, 400, "callback_url"),
    ]
    before = task_count(server)
    for body, status, field in cases:
        error = error_of(httpx.post(f"{server.url}/api/v1/videos", headers=AUTH, json=body, timeout=30), status)
        assert error["metadata"]["param"] == field, (body, error)
        assert error["message"].startswith(field) or field in error["message"], error
    error_of(httpx.post(f"{server.url}/api/v1/videos", headers=AUTH, content=b"[1, 2", timeout=30), 400)
    error_of(httpx.post(f"{server.url}/api/v1/videos", headers=AUTH, json=["x"], timeout=30), 400)
    error_of(httpx.post(f"{server.url}/api/v1/videos", json=base, timeout=30), 401)
    assert task_count(server) == before
    error_of(httpx.get(f"{server.url}/api/v1/videos/cgt-20260101000000-nothere", headers=AUTH, timeout=30), 404)


# -- pending, cancelled and expired: an API-only node, where jobs stay queued -------------------------------------


@pytest.fixture(scope="module")
def api_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(Database("sqlite", None), tmp_path_factory.mktemp("openrouter-api") / "data", "--workers", "0")
    yield srv
    srv.stop()


def test_cancelled_and_expired_jobs(api_node: Server, webhooks: WebhookReceiver) -> None:
    body = {
        "model": "doubao-seedance-2-0-260128",
        "prompt": "never rendered",
        "duration": 4,
        "resolution": "4K",
        "callback_url": webhooks.url + "/openrouter-ends",
    }
    cancelled, expired = submit(api_node, body), submit(api_node, body)
    pending = poll(cancelled["polling_url"])
    assert pending["status"] == "pending" and pending["generation_id"] is None and pending["usage"] is None
    assert pending["urls"] == [] and pending["unsigned_urls"] == []
    ark = httpx.get(f"{api_node.url}/api/v3/contents/generations/tasks/{cancelled['id']}", headers=AUTH).json()
    assert ark["resolution"] == "4k"  # OpenRouter's "4K" is the catalog's 4k
    error_of(httpx.get(f"{api_node.url}/api/v1/videos/{cancelled['id']}/content", headers=AUTH, timeout=30), 404)

    # The job is cancelled through another dialect (OpenRouter documents no cancel route); its status is cancelled.
    assert (
        httpx.delete(f"{api_node.url}/api/v3/contents/generations/tasks/{cancelled['id']}", headers=AUTH).status_code
        == 200
    )
    job = poll(cancelled["polling_url"])
    # Nothing delivered, nothing charged.
    assert job["status"] == "cancelled" and job["error"] and job["usage"] == {"cost": 0.0, "is_byok": False}
    assert wait_hook(webhooks, cancelled["id"], "video.generation.cancelled").body["data"]["status"] == "cancelled"

    execute_sql(api_node, f"UPDATE tasks SET expires_at = 0 WHERE id = '{expired['id']}'")
    job = wait_status(lambda _: poll(expired["polling_url"]), expired["id"], ("expired",), timeout=30)
    assert "execution_expires_after" in job["error"]
    assert wait_hook(webhooks, expired["id"], "video.generation.expired").body["data"]["status"] == "expired"


# -- the status vocabulary, as pure logic -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "word"),
    [
        (Status.QUEUED, "pending"),
        (Status.RUNNING, "in_progress"),
        (Status.SUCCEEDED, "completed"),
        (Status.FAILED, "failed"),
        (Status.CANCELLED, "cancelled"),
        (Status.EXPIRED, "expired"),
    ],
)
def test_six_statuses(status: Status, word: str) -> None:
    spec = TaskPlan.from_json({"model": "m", "callback_url": "https://app.example/hook"})
    task = Task(
        "cgt-1",
        "owner",
        openrouter.NAME,
        "m",
        spec,
        status=status,
        created_at=1.0,
        updated_at=2.5,
        error={"code": "InternalServiceError", "message": "boom"} if status is Status.FAILED else None,
    )
    links = {"video_url": "https://gw.example/files/cgt-1/video.mp4?x=1"} if status is Status.SUCCEEDED else {}
    job = openrouter.render_task(task, links, "https://gw.example")
    assert job["status"] == word and job["polling_url"] == "https://gw.example/api/v1/videos/cgt-1"
    assert (job["usage"] is not None) == status.terminal
    assert (job["error"] is not None) == (status in (Status.FAILED, Status.CANCELLED))
    event = openrouter.render_callback(task, links)
    assert event["type"] == f"video.generation.{word}" and event["data"]["status"] == word
    assert event["created_at"] == "1970-01-01T00:00:02.500Z"
    # OpenRouter calls back once, when the job is finished.
    assert openrouter.callback_url(task) == ("https://app.example/hook" if status.terminal else None)


def test_content_index_must_be_plain_digits(server: Server) -> None:
    """`²` passes str.isdigit() and breaks int(); neither it nor a 5,000-digit index is a 500."""
    with server.client() as http:
        for index in ("%C2%B2", "9" * 5000, "-1"):
            answer = http.get(f"/api/v1/videos/cgt-nothere/content?index={index}")
            assert answer.status_code == 400, answer.text
            assert "index" in answer.text
