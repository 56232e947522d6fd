"""OpenAI webhook endpoints through the real `openai` SDK: subscribe, receive signed video events, verify them."""

from __future__ import annotations

import secrets
import time
from typing import Any

import openai
import pytest
from openai import NotFoundError, OpenAI

from .conftest import API_KEY, Server, WebhookReceiver
from .waiting import wait_until

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def client(server: Server) -> OpenAI:
    return OpenAI(base_url=f"{server.url}/v1", api_key=API_KEY, max_retries=0)


def events_for(webhooks: WebhookReceiver, video_id: str, timeout: float = 60) -> list[Any]:
    def calls() -> list[Any]:
        with webhooks.lock:
            return [c for c in webhooks.calls if c.body.get("data", {}).get("id") == video_id]

    return wait_until(calls, f"a webhook event for {video_id}", timeout=timeout)


def test_endpoint_lifecycle_and_signed_video_events(client: OpenAI, webhooks: WebhookReceiver) -> None:
    endpoint = client.webhooks.create(
        name="ci", url=webhooks.url + "/openai", event_types=["video.completed", "video.failed"]
    )
    assert endpoint.signing_secret.startswith("whsec_") and endpoint.object == "webhook_endpoint"
    assert client.webhooks.retrieve(endpoint.id).url == webhooks.url + "/openai"
    assert [e.id for e in client.webhooks.list()] == [endpoint.id]

    video = client.videos.create_and_poll(
        prompt="a kite", model="doubao-seedance-2-0-260128", seconds="4", size="864x496"
    )
    assert video.status == "completed"
    [event] = events_for(webhooks, video.id)
    assert event.path == "/openai" and event.body["type"] == "video.completed" and event.body["object"] == "event"
    # The SDK's own verifier accepts the signature made with this endpoint's secret, and no other.
    client.webhooks.verify_signature(event.raw, event.headers, secret=endpoint.signing_secret)
    unwrapped = client.webhooks.unwrap(event.raw, event.headers, secret=endpoint.signing_secret)
    assert unwrapped.data.id == video.id
    rotated = client.webhooks.rotate_secret(endpoint.id)
    assert rotated.signing_secret != endpoint.signing_secret
    with pytest.raises(Exception):  # noqa: B017 - the SDK raises its InvalidWebhookSignatureError
        client.webhooks.verify_signature(event.raw, event.headers, secret=rotated.signing_secret)

    client.webhooks.delete(endpoint.id)
    with pytest.raises(NotFoundError):
        client.webhooks.retrieve(endpoint.id)


def test_bad_endpoint_requests(server: Server) -> None:
    with server.client() as http:
        missing = http.post("/v1/webhook_endpoints", json={"name": "x", "event_types": ["video.completed"]})
        wrong = http.post(
            "/v1/webhook_endpoints",
            json={"name": "x", "url": "http://127.0.0.1:9/x", "event_types": ["batch.completed"]},
        )
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "url"
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "event_types"


def test_test_route_sends_a_signed_sample(client: OpenAI, webhooks: WebhookReceiver) -> None:
    path = f"/probe-{secrets.token_hex(4)}"  # the receiver is shared by the sqlite and postgres runs
    endpoint = client.webhooks.create(name="probe", url=webhooks.url + path, event_types=["video.failed"])
    result = client.webhooks.test(endpoint.id, event_type="video.completed")
    assert result.object == "webhook_endpoint.test" and result.success is True
    assert result.status_code == 200 and result.event_type == "video.completed"
    assert result.webhook_endpoint_id == endpoint.id
    with webhooks.lock:
        [sample] = [c for c in webhooks.calls if c.path == path]
    event = client.webhooks.unwrap(sample.raw, sample.headers, secret=endpoint.signing_secret)
    assert event.type == "video.completed" and event.data.id.startswith("video_test_")

    webhooks.fail_next.append(503)  # the endpoint's answer is reported, not turned into an error
    assert client.webhooks.test(endpoint.id, event_type="video.failed").status_code == 503

    with pytest.raises(openai.BadRequestError) as caught:
        client.webhooks.test(endpoint.id, event_type="batch.completed")
    assert caught.value.body["param"] == "event_type"  # type: ignore[index]
    unreachable = client.webhooks.create(name="gone", url="http://127.0.0.1:9/nothing", event_types=["video.failed"])
    with pytest.raises(openai.BadRequestError) as caught:
        client.webhooks.test(unreachable.id, event_type="video.failed")
    assert caught.value.body["param"] == "url"  # type: ignore[index]
    with pytest.raises(NotFoundError):
        client.webhooks.test("we_nothere", event_type="video.failed")

    # The list pages with limit and after, as the SDK's cursor page expects.
    first = client.webhooks.list(limit=1)
    assert len(first.data) == 1 and first.has_more
    assert [e.id for e in client.webhooks.list(limit=1)] == [endpoint.id, unreachable.id]
    for made in (endpoint, unreachable):
        client.webhooks.delete(made.id)


def test_rotation_can_keep_the_old_secret_for_a_day(client: OpenAI, webhooks: WebhookReceiver) -> None:
    path = f"/rotate-{secrets.token_hex(4)}"
    first = client.webhooks.create(name="rotating", url=webhooks.url + path, event_types=["video.completed"])

    def sample() -> Any:
        client.webhooks.test(first.id, event_type="video.completed")
        with webhooks.lock:
            return [c for c in webhooks.calls if c.path == path][-1]

    # Kept: deliveries carry a signature for each secret, so receivers still on the old one verify them.
    second = client.webhooks.rotate_secret(first.id, keep_old_secret_active_for_24_hours=True)
    event = sample()
    for secret in (first.signing_secret, second.signing_secret):
        client.webhooks.verify_signature(event.raw, event.headers, secret=secret)
    # Video events signed by the sender carry both as well.
    video = client.videos.create_and_poll(
        prompt="a kite", model="doubao-seedance-2-0-260128", seconds="4", size="864x496"
    )
    [delivered] = events_for(webhooks, video.id)
    for secret in (first.signing_secret, second.signing_secret):
        client.webhooks.verify_signature(delivered.raw, delivered.headers, secret=secret)

    # Not kept (the default): the previous secret stops at once.
    third = client.webhooks.rotate_secret(first.id)
    event = sample()
    client.webhooks.verify_signature(event.raw, event.headers, secret=third.signing_secret)
    for stale in (first.signing_secret, second.signing_secret):
        with pytest.raises(Exception):  # noqa: B017 - the SDK raises its InvalidWebhookSignatureError
            client.webhooks.verify_signature(event.raw, event.headers, secret=stale)

    with pytest.raises(openai.BadRequestError) as caught:
        client.webhooks.rotate_secret(first.id, extra_body={"keep_old_secret_active_for_24_hours": 1})
    assert caught.value.body["param"] == "keep_old_secret_active_for_24_hours"  # type: ignore[index]
    client.webhooks.delete(first.id)


async def test_the_test_route_goes_through_the_address_guard(webhooks: WebhookReceiver) -> None:
    from seedgate.core.errors import ApiError
    from seedgate.dialects.openai_webhooks import send_test
    from seedgate.store.store import Endpoint

    now = time.time()
    endpoint = Endpoint(
        "we_guard", "key", "guard", webhooks.url + "/guard", ["video.completed"], "whsec_" + "A" * 43 + "=", now, now
    )
    with pytest.raises(ApiError) as caught:
        await send_test(endpoint, "video.completed", allow_private=False)
    assert caught.value.param == "url" and "not allowed" in caught.value.message
    with webhooks.lock:
        assert not [c for c in webhooks.calls if c.path == "/guard"]
    assert await send_test(endpoint, "video.completed", allow_private=True) == 200
