"""`POST /v1/quote` on a real server: what a create body of any dialect would cost, with its breakdown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from . import test_console
from .conftest import API_KEY, Database, Server, start_server

V2 = "doubao-seedance-2-0-260128"
browser = test_console.browser  # headless Chromium, as the console's suite drives it
LOCAL_MODELS = """
[[pipeline]]
name = "t2v"
family = "wan-t2v"
path = "weights/t2v"
serves = { "wan2.1-t2v-1.3b" = ["text"] }
price = { currency = "USD", per_second = { "480p" = 0.01, "720p" = 0.03 } }
"""
OPERATOR_CATALOG = '[prices."doubao-seedance-1-0-pro-fast-251015"]\ncurrency = "USD"\nper_million_tokens = 0.6\n'


def start(database: Database, root: Path) -> Server:
    (root / "local.toml").write_text(LOCAL_MODELS)
    (root / "catalog.toml").write_text(OPERATOR_CATALOG)
    return start_server(
        database,
        root / "data",
        "--workers",
        "0",
        SEEDGATE_LOCAL_MODELS=str(root / "local.toml"),
        SEEDGATE_ENGINES="preview",
        SEEDGATE_CATALOG=str(root / "catalog.toml"),
    )


@pytest.fixture(scope="module")
def server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start(database, tmp_path_factory.mktemp("quote"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # SQLite only, and after the database-parametrized tests: once Playwright runs, asyncio.run() (which the
    # PostgreSQL fixture uses) cannot run in this thread.
    srv = start(Database("sqlite", None), tmp_path_factory.mktemp("quote-ui"))
    yield srv
    srv.stop()


def quote(server: Server, body: Any, key: str | None = API_KEY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{server.url}/v1/quote", json=body, headers=headers, timeout=30)


def ok(server: Server, body: Any) -> dict[str, Any]:
    response = quote(server, body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_an_ark_body_is_quoted_with_ark_tokens_and_the_breakdown(server: Server) -> None:
    request = {
        "model": V2,
        "content": [{"type": "text", "text": "a fox in the snow"}],
        "resolution": "720p",
        "ratio": "16:9",
        "duration": 5,
    }
    for body in ({"request": request}, {"dialect": "ark", "request": request}):
        answer = ok(server, body)
        assert answer["model"] == V2 and answer["object"] == "quote"
        assert answer["plan"] == {
            "mode": "text",
            "resolution": "720p",
            "ratio": "16:9",
            "width": 1280,
            "height": 720,
            "frames": 121,
            "duration": 5,
            "service_tier": "default",
        }
        assert answer["quote"] == {
            "currency": "CNY",
            "amount": 5.0094,
            "amount_micros": 5_009_400,
            "tokens": 108900,
            "seconds": 5.0,
        }
        assert answer["breakdown"] == [
            {"label": "tokens", "value": "1280x720, 121 frames -> 108900 tokens"},
            {"label": "price", "value": "x 46 CNY / 1M tokens"},
            {"label": "total", "value": "5.009400 CNY"},
        ]
    # Nothing was created.
    listed = httpx.get(
        f"{server.ark_base}/contents/generations/tasks", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30
    )
    assert listed.json()["total"] == 0


def test_a_reference_videos_seconds_count_when_the_body_states_them(server: Server) -> None:
    request = {
        "model": V2,
        "content": [
            {"type": "text", "text": "the same dog, in the rain"},
            {"type": "video_url", "video_url": {"url": "https://example.com/dog.mp4"}, "role": "reference_video"},
        ],
        "resolution": "720p",
        "ratio": "16:9",
        "duration": 5,
    }
    unstated = ok(server, {"request": request})
    assert unstated["quote"]["tokens"] == 108900 and unstated["quote"]["amount_micros"] == 108900 * 28
    assert "1 reference video of unknown length not counted" in unstated["breakdown"][0]["value"]
    stated = ok(server, {"request": request, "reference_video_seconds": [4]})
    assert stated["quote"]["tokens"] == 195300 and stated["quote"]["amount_micros"] == 195300 * 28
    assert {"label": "price", "value": "x 28 CNY / 1M tokens (with video input)"} in stated["breakdown"]
    wrong = quote(server, {"request": request, "reference_video_seconds": [4, 5]})
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "reference_video_seconds"
    too_long = quote(server, {"request": request, "reference_video_seconds": [20]})
    assert too_long.status_code == 400 and "at most 15 s in all" in too_long.json()["error"]["message"]


def test_openai_and_openrouter_bodies(server: Server) -> None:
    openai = ok(server, {"dialect": "openai", "request": {"prompt": "a fox", "size": "1280x720", "seconds": "4"}})
    assert openai["model"] == V2 and openai["quote"]["tokens"] == 1280 * 720 * 97 // 1024 == 87300
    assert openai["quote"]["amount_micros"] == 87300 * 46
    openrouter = ok(
        server,
        {
            "dialect": "openrouter",
            "request": {
                "model": "bytedance/seedance-2.0",
                "prompt": "a fox",
                "duration": 4,
                "resolution": "480p",
                "aspect_ratio": "16:9",
            },
        },
    )
    assert openrouter["model"] == V2 and openrouter["quote"]["tokens"] == 864 * 496 * 97 // 1024
    # A first frame with an adaptive ratio: the image is not fetched, and the answer says what that means.
    framed = ok(
        server,
        {
            "dialect": "openrouter",
            "request": {
                "model": V2,
                "prompt": "a fox",
                "duration": 4,
                "resolution": "480p",
                "frame_images": [
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.com/a.png"},
                        "frame_type": "first_frame",
                    }
                ],
            },
        },
    )
    assert framed["breakdown"][-1]["label"] == "note" and "not fetched" in framed["breakdown"][-1]["value"]


def test_operator_and_local_prices(server: Server) -> None:
    fast = ok(
        server,
        {
            "request": {
                "model": "doubao-seedance-1-0-pro-fast-251015",
                "content": [{"type": "text", "text": "x"}],
                "resolution": "720p",
                "ratio": "16:9",
                "service_tier": "flex",
            }
        },
    )
    assert fast["quote"]["currency"] == "USD" and fast["quote"]["amount_micros"] == round(103818 * 0.6 * 0.5)
    local = ok(server, {"request": {"model": "wan2.1-t2v-1.3b", "content": [{"type": "text", "text": "x"}]}})
    assert local["quote"] == {
        "currency": "USD",
        "amount": 0.05,
        "amount_micros": 50_000,
        "tokens": None,
        "seconds": 5.0,
    }
    models = httpx.get(f"{server.url}/v1/models", timeout=30).json()["data"]
    prices = {m["id"]: m["price"] for m in models}
    assert prices["wan2.1-t2v-1.3b"] == {"currency": "USD", "per_second": {"480p": "0.01", "720p": "0.03"}}
    assert prices["doubao-seedance-1-5-pro-251215"] is None


def test_an_unpriced_model_is_a_clear_answer(server: Server) -> None:
    answer = ok(server, {"request": {"model": "seedance-1-5-pro", "content": [{"type": "text", "text": "x"}]}})
    assert answer["model"] == "seedance-1-5-pro" and answer["quote"] is None
    assert answer["reason"] == "the model doubao-seedance-1-5-pro-251215 has no price in this server's catalog"
    assert answer["breakdown"][0] == {"label": "price", "value": answer["reason"]}


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({}, 400, "request"),
        ({"request": "x"}, 400, "request"),
        ({"dialect": "sora", "request": {}}, 400, "dialect"),
        ({"dialect": ["ark"], "request": {}}, 400, "dialect"),
        ({"request": {"model": V2}}, 400, "request.content"),
        (
            {"request": {"model": V2, "content": [{"type": "text", "text": "x"}], "duration": 99}},
            400,
            "request.duration",
        ),
        ({"request": {"model": "nope", "content": [{"type": "text", "text": "x"}]}}, 404, "request.model"),
        (
            {"request": {"model": V2, "content": [{"type": "draft_task", "draft_task": {"id": "cgt-nope"}}]}},
            400,
            "request.draft_task",  # as Ark names it on create
        ),
        ({"dialect": "openai", "request": {"prompt": "x", "size": "huge"}}, 400, "request.size"),
        ({"dialect": "openai", "request": {"prompt": "x", "seconds": "four"}}, 400, "request.seconds"),
        ({"dialect": "openrouter", "request": {"model": V2, "prompt": "x", "duration": 3}}, 400, "request.duration"),
    ],
)
def test_a_bad_body_names_the_field_in_arks_envelope(server: Server, body: Any, status: int, param: str) -> None:
    response = quote(server, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["param"] == param and "Request id:" in error["message"], error


def test_a_key_is_needed(server: Server) -> None:
    body = {"request": {"model": V2, "content": [{"type": "text", "text": "x"}]}}
    for key in (None, "sk-wrong"):
        response = quote(server, body, key)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "AuthenticationError"  # Ark's envelope
    assert quote(server, "not an object").status_code == 400


def test_the_route_is_documented(server: Server) -> None:
    document = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    operation = document["paths"]["/v1/quote"]["post"]
    assert operation["summary"].startswith("What a create request would cost")
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["request"] and "ark" in schema["properties"]["dialect"]["enum"]


def test_the_console_form_shows_what_the_task_will_cost(browser: Any, ui_server: Server) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport=test_console.DESKTOP)
    page = context.new_page()
    try:
        test_console._sign_in(page, ui_server)
        page.goto(f"{ui_server.url}/console#/new")
        page.locator("#model").select_option(V2)
        page.locator("#prompt").fill("a fox in the snow")
        page.locator("#resolution").select_option("720p")
        page.locator("#ratio").select_option("16:9")
        page.locator("#duration").fill("5")
        cost = page.get_by_test_id("cost")
        expect(cost).to_have_text(
            "This will cost about 5.009400 CNY: 1280x720, 121 frames -> 108900 tokens; x 46 CNY / 1M tokens"
        )
        page.locator("#model").select_option("doubao-seedance-1-5-pro-251215")
        expect(cost).to_have_text("No price is set for this model.")
    finally:
        context.close()
