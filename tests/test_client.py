"""The Python client (`seedgate.Client`, `seedgate.AsyncClient`) against real seedgate processes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from seedgate import AsyncClient, Client, SeedgateError, TaskFailed, verify_webhook
from seedgate.client import Task, WebhookVerificationError

from .conftest import API_KEY, Database, Server, WebhookReceiver, start_server
from .media import image_bytes, inspect_video

PRO = "doubao-seedance-1-0-pro-250528"


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[Client]:
    with Client(server.url, API_KEY) as c:
        yield c


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An API-only node (no workers): its tasks stay queued, so cancelling one is deterministic."""
    srv = start_server(Database("sqlite", None), tmp_path_factory.mktemp("idle") / "data", "--workers", "0")
    yield srv
    srv.stop()


def test_text_task_wait_with_progress_and_download(client: Client, tmp_path: Path) -> None:
    task = client.create("a cat yawns", resolution="480p", duration=2, return_last_frame=True)
    assert task.id.startswith("cgt-") and task.model == PRO
    seen: list[Task] = []
    done = client.wait(task.id, on_progress=seen.append, poll_interval=0.2)
    assert done.succeeded and done.progress == 100 and done.usage and done.usage["completion_tokens"] > 0
    assert seen and seen[-1].status == "succeeded"
    assert all(t.progress is not None and 0 <= t.progress <= 100 for t in seen)
    assert [t.progress for t in seen] == sorted(t.progress for t in seen)  # never goes backwards
    video = client.download(done, tmp_path / "out" / "cat.mp4")
    facts = inspect_video(video.read_bytes())
    assert (facts.codec, facts.width, facts.height, facts.frames) == ("h264", 864, 480, 49)
    frame = client.download(done.id, tmp_path / "last.png", last_frame=True)
    assert frame.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.rglob("*.part"))
    assert done.id in {t.id for t in client.list(task_ids=[done.id])}


def test_first_and_last_frame_from_local_files(client: Client, tmp_path: Path) -> None:
    first, last = tmp_path / "first.jpg", tmp_path / "last.png"
    first.write_bytes(image_bytes(1280, 720, (250, 0, 0), "JPEG"))
    last.write_bytes(image_bytes(1280, 720, (0, 0, 250)))
    task = client.wait(
        client.create("red to blue", image=first, last_image=str(last), resolution="480p", duration=2).id
    )
    assert task.succeeded and task.raw["ratio"] == "16:9"
    # The files went up as assets, owned by this key and audited.
    names = {a.name: a for a in client.list_assets(limit=100)}
    assert names["first.jpg"].status == "ready" and names["last.png"].kind == "image"


def test_asset_helpers(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "ref.png"
    path.write_bytes(image_bytes(800, 600))
    asset = client.upload_asset(path, name="hero")
    assert asset.status == "ready" and asset.ref == f"asset://{asset.id}" and asset.name == "hero"
    assert client.get_asset(asset.id).id == asset.id
    # An asset ID works as a media reference as it is.
    assert client.wait(client.create("hero walks", image=asset.id, resolution="480p", duration=2).id).succeeded
    client.delete_asset(asset.id)
    with pytest.raises(SeedgateError) as info:
        client.get_asset(asset.id)
    assert info.value.status == 404
    # An image too small fails its audit: the reason is in the error.
    small = tmp_path / "small.png"
    small.write_bytes(image_bytes(100, 100))
    with pytest.raises(SeedgateError, match="300"):
        client.upload_asset(small)


def test_errors_carry_code_and_param(client: Client, tmp_path: Path) -> None:
    with pytest.raises(SeedgateError) as info:
        client.create("x", model="no-such-model")
    assert info.value.status == 404 and info.value.code == "InvalidEndpointOrModel.NotFound"
    with pytest.raises(SeedgateError) as info:
        client.create("x", duration=13)
    assert info.value.status == 400 and info.value.param == "duration" and "Request id" not in info.value.message
    with pytest.raises(SeedgateError) as info:
        client.create("x", image=tmp_path / "missing.png")
    assert info.value.status == 0 and info.value.param == "image"
    with pytest.raises(SeedgateError) as info:
        client.get("cgt-nothing")
    assert info.value.status == 404


def test_cancel_a_queued_task(idle_server: Server) -> None:
    with Client(idle_server.url, API_KEY) as c:
        task = c.create("never rendered", resolution="480p", duration=2)
        assert task.status == "queued"
        c.cancel(task.id)
        with pytest.raises(TaskFailed) as info:
            c.wait(task.id)
        assert info.value.task.status == "cancelled"


def test_wait_timeout_leaves_the_task(idle_server: Server) -> None:
    from seedgate.client import WaitTimeout

    with Client(idle_server.url, API_KEY) as c:
        task = c.create("still queued", resolution="480p", duration=2)
        with pytest.raises(WaitTimeout):
            c.wait(task.id, timeout=0.3, poll_interval=0.1)
        assert c.get(task.id).status == "queued"


def test_wait_reports_the_queue_position(idle_server: Server) -> None:
    from seedgate.client import WaitTimeout

    with Client(idle_server.url, API_KEY) as c:
        ahead = c.create("first in line", resolution="480p", duration=2)
        mine = c.create("second in line", resolution="480p", duration=2)
        places: list[int | None] = []
        with pytest.raises(WaitTimeout):
            c.wait(mine.id, timeout=0.3, poll_interval=0.1, on_progress=lambda t: places.append(t.queue_position))
        assert places and places[0] is not None and places[0] >= 2
        c.cancel(ahead.id)
        with idle_server.client() as http:
            after = http.get(f"/v1/tasks/{mine.id}/queue").json()
        assert after["status"] == "queued" and after["queue_position"] == places[0] - 1
        c.cancel(mine.id)
        with idle_server.client() as http:
            assert http.get(f"/v1/tasks/{mine.id}/queue").json()["queue_position"] is None


def test_async_client(server: Server, tmp_path: Path) -> None:
    async def scenario() -> None:
        seen: list[str] = []

        async def record(task: Task) -> None:
            seen.append(task.status)

        async with AsyncClient(server.url, API_KEY) as c:
            first = tmp_path / "first.png"
            first.write_bytes(image_bytes(720, 1280))
            task = await c.create("async", image=first, resolution="480p", duration=2)
            done = await c.wait(task.id, on_progress=record, poll_interval=0.2)
            assert done.succeeded and seen[-1] == "succeeded" and done.raw["ratio"] == "9:16"
            video = await c.download(done.id, tmp_path / "a.mp4")
            assert inspect_video(video.read_bytes()).height == 864
            assert any(m["id"] == PRO for m in await c.models())
            with pytest.raises(SeedgateError) as info:
                await c.create("x", model="no-such-model")
            assert info.value.code == "InvalidEndpointOrModel.NotFound"

    asyncio.run(scenario())


def _server_webhook_secret(server: Server) -> str:
    """The secret the server signs task callbacks with, read the way a node does (shared in the database)."""
    import base64

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


def test_webhook_verification(client: Client, server: Server, webhooks: WebhookReceiver) -> None:
    task = client.create("hooked", resolution="480p", duration=2, callback_url=webhooks.url + "/client")
    hook = next(h for h in webhooks.wait_for(task.id, "succeeded") if h.body["status"] == "succeeded")
    secret = _server_webhook_secret(server)
    body = verify_webhook(hook.raw, hook.headers, secret)
    assert body["id"] == task.id and body["status"] == "succeeded"
    tampered = json.dumps({**body, "status": "failed"}).encode()
    with pytest.raises(WebhookVerificationError):
        verify_webhook(tampered, hook.headers, secret)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(hook.raw, hook.headers, "whsec_" + "A" * 44)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(hook.raw, hook.headers, secret, tolerance_s=-1)  # a replay outside the window
    with pytest.raises(WebhookVerificationError):
        verify_webhook(hook.raw, {k: v for k, v in hook.headers.items() if k.lower() != "webhook-id"}, secret)
