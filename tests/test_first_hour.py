"""What a newcomer meets in the first hour, against a real server: the API docs offline in Chromium, result links
that answer HEAD, and errors that say how to get unstuck (a bare key, a near-miss model ID, a loopback URL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from .conftest import API_KEY, Database, Server, start_server, wait_status

CHROMIUM = "/usr/bin/chromium"
TASKS = "/api/v3/contents/generations/tasks"


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Private URLs refused, as on a fresh install (the other suites allow them for their local media server).
    srv = start_server(
        Database("sqlite", None),
        tmp_path_factory.mktemp("first-hour") / "data",
        "--workers",
        "1",
        SEEDGATE_ALLOW_PRIVATE_URLS="",
    )
    yield srv
    srv.stop()


# -- /docs and /redoc with the network off ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = None
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing (apt-get install -y chromium; `make browser` does it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed (pip install -e '.[test]')"
    if reason:
        if os.environ.get("SEEDGATE_REQUIRE_BROWSER") or os.environ.get("CI"):
            pytest.fail(f"the docs page test must run here, but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # No name resolves but localhost's: a CDN could not be reached even if the page asked for one.
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
        )
        yield chromium
        chromium.close()


def _offline_page(browser: Any) -> tuple[Any, Any, list[str]]:
    context = browser.new_context()
    page = context.new_page()
    outside: list[str] = []

    def only_localhost(route: Any) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_localhost)
    return context, page, outside


@pytest.mark.slow
def test_docs_render_offline(browser: Any, plain_server: Server) -> None:
    context, page, outside = _offline_page(browser)
    try:
        page.goto(f"{plain_server.url}/docs")
        page.locator(".opblock").first.wait_for(timeout=30_000)
        assert page.locator(".opblock").count() >= 10  # the operations, rendered by the packaged Swagger UI
        assert page.get_by_text("/api/v3/contents/generations/tasks").first.is_visible()
        page.goto(f"{plain_server.url}/redoc")
        # ReDoc, from the package too: an operation's heading is drawn.
        page.locator("h2", has_text="Download a result (signed, expiring link)").first.wait_for(timeout=30_000)
    finally:
        context.close()
    assert outside == []
    # The pages tell the browser to load nothing from elsewhere (ReDoc's bundle names a logo on a CDN).
    for path in ("/docs", "/redoc"):
        policy = httpx.get(plain_server.url + path).headers["content-security-policy"]
        assert "default-src 'self'" in policy and "img-src 'self' data:" in policy


# -- result links behave like files -----------------------------------------------------------------------------------


def test_head_on_a_result_link(plain_server: Server) -> None:
    with plain_server.client() as client:
        task_id = client.post(
            TASKS,
            json={
                "model": "doubao-seedance-1-0-pro-250528",
                "return_last_frame": True,
                "content": [{"type": "text", "text": "a kite --rs 480p --dur 2"}],
            },
        ).json()["id"]
        task = wait_status(lambda i: client.get(f"{TASKS}/{i}").json(), task_id)
    assert task["status"] == "succeeded"
    for link, kind in ((task["content"]["video_url"], "video/mp4"), (task["content"]["last_frame_url"], "image/png")):
        got = httpx.get(link)
        head = httpx.head(link)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"] == kind
        assert head.headers["content-length"] == got.headers["content-length"] == str(len(got.content))
        assert head.headers["accept-ranges"] == "bytes"
    # A bad signature is refused to HEAD too, still without a body.
    refused = httpx.head(task["content"]["video_url"].replace("signature=", "signature=0"))
    assert refused.status_code == 403 and refused.content == b""


# -- hints where people get stuck -------------------------------------------------------------------------------------


def _error(response: httpx.Response) -> dict[str, Any]:
    return response.json()["error"]


def test_a_key_without_bearer_gets_a_hint(plain_server: Server) -> None:
    bare = httpx.get(plain_server.url + TASKS, headers={"Authorization": API_KEY})
    assert bare.status_code == 401
    message = _error(bare)["message"]
    assert "bare key" in message and "Bearer" in message and API_KEY not in message
    basic = httpx.get(plain_server.url + TASKS, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401 and "scheme `Basic` is not supported" in _error(basic)["message"]
    missing = httpx.get(plain_server.url + TASKS)
    assert missing.status_code == 401 and "the API key is missing" in _error(missing)["message"]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("doubao-seedance-1-0-pro-25052", "doubao-seedance-1-0-pro-250528"),
        # Dots for dashes: the undated official name (itself an alias of the newest dated ID) is the suggestion.
        ("seedance-1.0-pro", "seedance-1-0-pro"),
        ("doubao-seedance-2.0", "doubao-seedance-2-0"),
    ],
)
def test_a_near_miss_model_gets_did_you_mean(plain_server: Server, typed: str, meant: str) -> None:
    with plain_server.client() as client:
        answer = client.post(TASKS, json={"model": typed, "content": [{"type": "text", "text": "x"}]})
        assert answer.status_code == 404
        error = _error(answer)
        assert error["code"] == "InvalidEndpointOrModel.NotFound" and error["param"] == "model"
        assert f"did you mean {meant}?" in error["message"]
        # The OpenAI dialect says the same.
        openai = client.post("/v1/videos", json={"model": typed, "prompt": "x", "size": "1280x720"})
        assert openai.status_code == 404 and f"did you mean {meant}?" in openai.json()["error"]["message"]
    with plain_server.client() as client:
        far = client.post(TASKS, json={"model": "gpt-4o", "content": [{"type": "text", "text": "x"}]})
        assert "did you mean" not in _error(far)["message"]


def test_a_refused_loopback_url_names_the_setting(plain_server: Server) -> None:
    with plain_server.client() as client:
        answer = client.post(
            TASKS,
            json={
                "model": "doubao-seedance-1-0-pro-250528",
                "content": [
                    {"type": "text", "text": "x"},
                    {"type": "image_url", "image_url": {"url": f"{plain_server.url}/healthz"}},
                ],
            },
        )
    assert answer.status_code == 400
    message = _error(answer)["message"]
    assert "127.0.0.1 is not allowed (loopback)" in message and "SEEDGATE_ALLOW_PRIVATE_URLS=1" in message


def test_did_you_mean_over_the_shipped_catalog() -> None:
    from seedgate.core.catalog import load_catalog
    from seedgate.core.suggest import did_you_mean

    known = load_catalog().aliases
    assert did_you_mean("doubao-seedance-1-0-pro-25052", known) == "doubao-seedance-1-0-pro-250528"
    assert did_you_mean("seedance-1.0-pro", known) == "seedance-1-0-pro"
    assert did_you_mean("doubao-seedance-1-0-pr", known) == "doubao-seedance-1-0-pro"
    assert did_you_mean("Doubao-Seedance-2-0-260128", known) == "doubao-seedance-2-0-260128"
    assert did_you_mean("doubao-seedance-1-0-pro-250529", known) == "doubao-seedance-1-0-pro-250528"
    assert did_you_mean("gpt-4o", known) is None and did_you_mean("", known) is None
