"""No framework default bodies: every unknown route, wrong method and malformed request answers in the envelope of
the dialect that owns the path prefix, and every answer (errors, JSON, HTML, files) carries `X-Request-Id`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import API_KEY, Database, Server, start_server, wait_status

AUTH = {"Authorization": f"Bearer {API_KEY}"}
BAD_JSON = b'{"model": "doubao-seedance-2-0-260128", '  # cut off mid-object


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Envelopes do not depend on the database: one SQLite server is enough.
    srv = start_server(Database("sqlite", None), tmp_path_factory.mktemp("envelopes") / "data", "--workers", "1")
    yield srv
    srv.stop()


# -- one checker per envelope: its shape, and that a request ID it quotes is the header's ----------------------


def ark(body: Any, status: int, rid: str) -> None:
    error = body["error"]
    assert set(error) == {"code", "message", "param", "type"}
    assert error["code"] and error["type"] != "InternalServerError"
    assert error["message"].endswith(f"Request id: {rid}")


def openai(body: Any, status: int, rid: str) -> None:
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"] and error["code"] and error["type"].endswith("_error")


def openrouter(body: Any, status: int, rid: str) -> None:
    error = body["error"]
    assert error["code"] == status and error["message"]
    assert error["metadata"]["request_id"] == rid and error["metadata"]["error_code"]


def maxapi(body: Any, status: int, rid: str) -> None:
    assert body["code"] == status and body["msg"] and body["request_id"] == rid


def jimmyai(body: Any, status: int, rid: str) -> None:
    assert isinstance(body["code"], str) and body["code"] != "20000"
    assert body["msg"] and body["data"] is None and body["request_id"] == rid


def aigeneration(body: Any, status: int, rid: str) -> None:
    assert body["success"] is False and body["code"] and body["message"] and body["request_id"] == rid


def moonapix(body: Any, status: int, rid: str) -> None:
    assert body["success"] is False and body["request_id"] == rid
    assert set(body["error"]) == {"code", "message", "param", "type"} and body["error"]["message"]


def volc(body: Any, status: int, rid: str) -> None:
    meta = body["ResponseMetadata"]
    assert meta["RequestId"] == rid and meta["Error"]["Code"] and meta["Error"]["Message"]


Checker = Callable[[Any, int, str], None]

# (method, path, body, expected status, envelope)
CASES: list[tuple[str, str, bytes | None, int, Checker]] = [
    # Ark (/api/v3)
    ("GET", "/api/v3/nope", None, 404, ark),
    ("GET", "/api/v3/contents/generations/tasks/a/b", None, 404, ark),
    ("PUT", "/api/v3/contents/generations/tasks", b"{}", 405, ark),
    ("PATCH", "/api/v3/contents/generations/tasks/cgt-1", b"{}", 405, ark),
    ("POST", "/api/v3/contents/generations/tasks", BAD_JSON, 400, ark),
    # AIGeneration platform
    ("GET", "/api/AIGeneration/video/seedance/createTask", None, 405, aigeneration),
    ("GET", "/api/AIGeneration/nope", None, 404, aigeneration),
    ("POST", "/api/AIGeneration/video/seedance/createTask", BAD_JSON, 400, aigeneration),
    # maxapi (/api/v1/task)
    ("DELETE", "/api/v1/task/submit", None, 405, maxapi),
    ("GET", "/api/v1/task", None, 404, maxapi),
    ("POST", "/api/v1/task/submit", BAD_JSON, 400, maxapi),
    # jimmyai (/api/open-api)
    ("GET", "/api/open-api/v1/nope", None, 404, jimmyai),
    ("PUT", "/api/open-api/v1/seedance/videos", b"{}", 405, jimmyai),
    ("POST", "/api/open-api/v1/seedance/videos", BAD_JSON, 400, jimmyai),
    # Volcengine asset actions (/api/v1/open)
    ("GET", "/api/v1/open/CreateAsset", None, 405, volc),
    ("GET", "/api/v1/open", None, 404, volc),
    ("POST", "/api/v1/open/CreateAsset", BAD_JSON, 400, volc),
    # OpenRouter (/api/v1/videos and the rest of /api/v1)
    ("PUT", "/api/v1/videos", b"{}", 405, openrouter),
    ("DELETE", "/api/v1/videos/models", None, 405, openrouter),
    ("GET", "/api/v1/videos/a/b/c", None, 404, openrouter),
    ("GET", "/api/v1/nope", None, 404, openrouter),
    ("GET", "/api/v1/tasks", None, 404, openrouter),  # not maxapi's /api/v1/task: whole segments only
    ("POST", "/api/v1/videos", BAD_JSON, 400, openrouter),
    ("GET", "/api/v1/videos/cgt-20260101000000-none", None, 404, openrouter),
    # MoonApiX (/v1/video)
    ("PUT", "/v1/video/generations", b"{}", 405, moonapix),
    ("GET", "/v1/video/nope", None, 404, moonapix),
    ("POST", "/v1/video/generations", BAD_JSON, 400, moonapix),
    # OpenAI (/v1/videos, /v1/webhook_endpoints and the rest of /v1)
    ("PUT", "/v1/videos", b"{}", 405, openai),
    ("GET", "/v1/videos/a/b/c", None, 404, openai),
    ("PATCH", "/v1/webhook_endpoints", b"{}", 405, openai),
    ("POST", "/v1/webhook_endpoints", BAD_JSON, 400, openai),
    ("GET", "/v1/nope", None, 404, openai),
    # seedgate's own routes and everything outside the dialects' prefixes: Ark's envelope
    ("PUT", "/v1/assets", b"{}", 405, ark),
    ("POST", "/v1/assets", BAD_JSON, 400, ark),
    ("POST", "/v1/models", b"{}", 405, ark),
    ("GET", "/v1/tasks/a/b/c", None, 404, ark),
    ("GET", "/nope", None, 404, ark),
    ("POST", "/healthz", b"{}", 405, ark),
    ("GET", "/files/cgt-1/video.mp4?expires=soon", None, 400, ark),
]


@pytest.mark.parametrize(
    ("method", "path", "content", "status", "envelope"), CASES, ids=[f"{c[0]} {c[1]} {c[3]}" for c in CASES]
)
def test_error_answers_in_the_owner_envelope(
    server: Server, method: str, path: str, content: bytes | None, status: int, envelope: Checker
) -> None:
    headers = {**AUTH, "Content-Type": "application/json"} if content is not None else AUTH
    response = httpx.request(method, server.url + path, content=content, headers=headers, timeout=30)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert "detail" not in body, body  # FastAPI's default body
    rid = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    envelope(body, status, rid)
    if status == 405:
        assert response.headers["allow"]  # which methods the path does take
        assert method in response.text  # the message says what was refused


def test_malformed_multipart_answers_in_openai_envelope(server: Server) -> None:
    response = httpx.post(
        server.url + "/v1/videos",
        headers={**AUTH, "Content-Type": "multipart/form-data; boundary=xyz"},
        content=b'--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nno end',
        timeout=30,
    )
    assert response.status_code == 400, response.text
    openai(response.json(), 400, response.headers["x-request-id"])


def test_unauthenticated_answers_in_owner_envelope(server: Server) -> None:
    for path, envelope in (
        ("/api/v1/videos/cgt-1", openrouter),
        ("/api/v3/contents/generations/tasks/cgt-1", ark),
        ("/api/v1/task/cgt-1", maxapi),
        ("/v1/videos/cgt-1", openai),
    ):
        response = httpx.get(server.url + path, timeout=30)
        assert response.status_code == 401, (path, response.text)
        envelope(response.json(), 401, response.headers["x-request-id"])


def test_every_success_answer_carries_a_request_id(server: Server, tmp_path: Path) -> None:
    seen: set[str] = set()

    def rid_of(response: httpx.Response) -> str:
        assert response.status_code in (200, 202), response.text
        rid = response.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", rid) and rid not in seen  # one fresh ID per request
        seen.add(rid)
        return rid

    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as client:
        for path in (
            "/healthz",
            "/readyz",
            "/metrics",
            "/v1/models",
            "/api/v1/videos/models",
            "/openapi.json",
            "/docs",
            "/console",
        ):
            rid_of(client.get(path))
        created = client.post(
            "/api/v3/contents/generations/tasks",
            json={
                "model": "doubao-seedance-2-0-260128",
                "content": [{"type": "text", "text": "ids"}],
                "resolution": "480p",
                "duration": 4,
            },
        )
        rid_of(created)
        task_id = created.json()["id"]

        def get(i: str) -> dict[str, Any]:
            response = client.get(f"/api/v3/contents/generations/tasks/{i}")
            rid_of(response)
            return response.json()

        task = wait_status(get, task_id)
        assert task["status"] == "succeeded", task
        # File answers: the signed link, a ranged read of it, and the OpenRouter content stream.
        rid_of(httpx.get(task["content"]["video_url"], timeout=30))
        ranged = httpx.get(task["content"]["video_url"], headers={"Range": "bytes=0-99"}, timeout=30)
        assert ranged.status_code == 206 and len(ranged.content) == 100 and ranged.headers["x-request-id"]
        rid_of(client.get(f"/api/v1/videos/{task_id}/content", params={"index": 0}))
        rid_of(client.get(f"/v1/videos/{task_id}/content"))
