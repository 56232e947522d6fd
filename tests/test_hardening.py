"""What a stranger (or a careless client) sends must not hurt the server (issue 15): bounded bodies, the key checked
before a body is read, a 4xx in the route's envelope for every malformed input, no row written for a refused one,
and a 500 that keeps its keep-alive connection usable. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from .conftest import Database, Server, execute_sql, start_server

ARK = "/api/v3/contents/generations/tasks"
MODEL = "doubao-seedance-2-0-260128"
LIMIT = 4 * 1024 * 1024  # the body limit these servers run with (SEEDGATE_MAX_BODY_BYTES)
METRICS_TOKEN = "metrics-secret"
NOWHERE = "http://127.0.0.1:1/never.png"

# Every route that takes a JSON body, with a body it would accept the shape of (what the hostile variants wrap).
JSON_ROUTES: list[tuple[str, dict[str, Any]]] = [
    (ARK, {"model": MODEL, "content": [{"type": "text", "text": "a cat"}]}),
    ("/api/AIGeneration/video/seedance/createTask", {"model": MODEL, "prompt": "a cat"}),
    ("/api/v1/task/submit", {"model": MODEL, "prompt": "a cat"}),
    ("/api/open-api/v1/seedance/videos", {"model": MODEL, "prompt": "a cat"}),
    ("/api/open-api/v1/seedance/sp/assets/upload", {"url": NOWHERE}),
    ("/api/open-api/v1/seedance/assets/audit", {"images": [NOWHERE]}),
    ("/v1/video/generations", {"model": "seedance-2.0-kz", "prompt": "a cat"}),
    ("/v1/videos", {"model": MODEL, "prompt": "a cat"}),
    ("/v1/videos/video_nothere/remix", {"prompt": "again"}),
    ("/v1/webhook_endpoints", {"url": "https://example.com/hook"}),
    ("/api/v1/open/CreateAsset", {"URL": NOWHERE}),
    ("/v1/assets", {"url": NOWHERE, "kind": "image"}),
]


@pytest.fixture(scope="module")
def server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(
        database,
        tmp_path_factory.mktemp("hardening") / "data",
        "--workers",
        "0",
        SEEDGATE_MAX_BODY_BYTES=str(LIMIT),
        SEEDGATE_METRICS_TOKEN=METRICS_TOKEN,
    )
    yield srv
    srv.stop()


def _counts(server: Server) -> tuple[int, int]:
    """(tasks, assets) the admin key owns, read through the API (the asset listing must answer, too)."""
    with server.client() as client:
        tasks = client.get(ARK, params={"page_size": 1})
        assets = client.get("/v1/assets", params={"limit": 1})
    assert tasks.status_code == 200 and assets.status_code == 200, (tasks.text, assets.text)
    return tasks.json()["total"], assets.json()["total"]


def _read_answer(sock: socket.socket) -> str:
    """Everything the server sends until it closes the connection (it must, with part of a body unread)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data.decode()


def _refused(response: httpx.Response, status: int = 400) -> str:
    """The answer is the expected 4xx with a JSON envelope; returns the whole answer text to look into."""
    assert response.status_code == status, (response.request.url, response.status_code, response.text[:500])
    response.json()  # an envelope, not a bare text page
    return response.text


# -- 1. bodies are bounded, and a stranger's body is not read -------------------------------------------------------


def test_declared_body_over_the_limit_is_refused_before_reading(server: Server) -> None:
    url = urlsplit(server.url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(
            f"POST {ARK} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test-admin\r\n"
            f"Content-Type: application/json\r\nContent-Length: {LIMIT + 1}\r\n\r\n".encode()
        )
        answer = _read_answer(sock)  # answered with no byte of the body sent
    assert answer.startswith("HTTP/1.1 413"), answer
    assert '"RequestEntityTooLarge"' in answer and f"{LIMIT} bytes" in answer


@pytest.mark.parametrize(
    "route", [ARK, "/v1/videos", "/v1/video/generations", "/v1/assets", "/api/open-api/v1/seedance/videos"]
)
def test_streamed_body_over_the_limit_is_refused_while_reading(server: Server, route: str) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked, so only counting while reading can stop it
        yield b'{"model": "' + b"x" * 1024
        for _ in range(LIMIT // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    with server.client() as client:
        try:
            response = client.post(route, content=chunks(), headers={"content-type": "application/json"})
        except httpx.HTTPError:  # the server may close before the client finished sending; ask what it answered
            pytest.fail("the connection was dropped instead of answered")
    _refused(response, 413)
    assert str(LIMIT) in response.text


@pytest.mark.parametrize(
    "route",
    ["/v1/videos", "/v1/video/generations", ARK, "/api/AIGeneration/video/seedance/createTask", "/api/v1/task/submit"],
)
def test_key_is_checked_before_the_body_is_read(server: Server, route: str) -> None:
    """Declare a 3 MB body, send 10 bytes of it: a server that reads the body first never answers."""
    url = urlsplit(server.url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(
            f"POST {route} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f'Content-Length: {3 * 1024 * 1024}\r\n\r\n{{"model":'.encode()
        )
        answer = _read_answer(sock)
    assert answer.startswith("HTTP/1.1 401"), answer


def test_small_unauthenticated_bodies_keep_their_dialects_envelope(server: Server) -> None:
    ark_body = {"model": MODEL, "content": [{"type": "text", "text": "x"}]}
    with server.client("sk-wrong") as client:
        threehei = client.post("/v1/videos", json=ark_body)
        moon = client.post("/v1/video/generations", json={"model": "seedance-2.0-kz", "prompt": "x"})
    assert threehei.status_code == 401 and threehei.json()["error"]["code"] == "AuthenticationError"
    assert moon.status_code == 401 and moon.json()["success"] is False


# -- 2 and 3. malformed input is a 400 naming the field, never a 500 -------------------------------------------------


def _nested(depth: int) -> bytes:
    return b'{"model": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(("route", "body"), JSON_ROUTES, ids=[r for r, _ in JSON_ROUTES])
def test_hostile_json_is_a_400_on_every_route(server: Server, route: str, body: dict[str, Any]) -> None:
    before = _counts(server)
    text = json.dumps(body)
    variants = {
        "deep": _nested(1000),
        "deep-moderate": _nested(200),
        "surrogate-value": text[:-1].encode() + b', "extra": "\\ud800"}',
        "surrogate-key": text[:-1].encode() + b', "\\udfff": 1}',
        "nan": text[:-1].encode() + b', "extra": NaN}',
        "infinity": text[:-1].encode() + b', "extra": -Infinity}',
        "1e999": text[:-1].encode() + b', "extra": 1e999}',
        "nul": text[:-1].encode() + b', "extra": "a\\u0000b"}',
        "huge-int": text[:-1].encode() + b', "extra": ' + b"9" * 5000 + b"}",
        "many-containers": text[:-1].encode() + b', "extra": [' + b"[]," * 150_000 + b"[]]}",
    }
    for name, raw in variants.items():
        for key in ("sk-test-admin", None):
            headers = {"content-type": "application/json"}
            if key:
                headers["authorization"] = f"Bearer {key}"
            response = httpx.post(server.url + route, content=raw, headers=headers, timeout=30)
            assert 400 <= response.status_code < 500, (name, key, response.status_code, response.text[:300])
            response.json()
            if key:
                assert response.status_code in (400, 404), (name, response.text[:300])
    assert _counts(server) == before


@pytest.mark.parametrize("path", ["/files/blobs/0", "/files/cgt-x/video.mp4", "/files/assets/asset-x"])
def test_non_ascii_signature_is_refused(server: Server, path: str) -> None:
    for signature in ("%C3%A9", "%F0%9F%98%80", "%00", "abc%ED%A0%80"):
        response = httpx.get(f"{server.url}{path}?expires=99999999999&signature={signature}")
        _refused(response, 403)


@pytest.mark.parametrize(
    "path",
    [
        f"{ARK}/cgt-%00",
        "/v1/videos/cgt-%00",
        "/v1/videos/cgt-%00/content",
        "/v1/video/generations/cgt-%00",
        "/api/v1/task/cgt-%00",
        "/api/open-api/v1/videos/cgt-%00",
        "/v1/tasks/cgt-%00/queue",
        "/v1/assets/asset-%00",
        "/v1/webhook_endpoints/we_%00",
        "/api/AIGeneration/video/seedance/taskStatus/cgt-%00",
    ],
)
def test_nul_in_an_id_is_a_404(server: Server, path: str) -> None:
    with server.client() as client:
        _refused(client.get(path), 404)


def test_nul_in_queries_and_body_ids_is_no_error(server: Server) -> None:
    with server.client() as client:
        for params in ({"filter.status": "a\x00"}, {"filter.task_ids": "cgt-\x00"}, {"filter.model": "\x00"}):
            assert client.get(ARK, params=params).status_code in (200, 400), params
        assert client.get("/v1/videos", params={"after": "cgt-\x00"}).status_code in (200, 400)
        status = client.post("/api/open-api/v1/seedance/assets/status", json={"task_ids": ["cgt-\x00"]})
        assert status.status_code == 400 and "NUL" in status.text


def test_huge_digit_seconds_in_multipart(server: Server) -> None:
    before = _counts(server)
    with server.client() as client:
        for seconds in ("9" * 5000, "²", "1" * 12, "-4", "4.0"):
            response = client.post("/v1/videos", data={"model": MODEL, "prompt": "x", "seconds": seconds})
            text = _refused(response, 400)
            assert response.json()["error"]["param"] == "seconds" and len(text) < 1000
    assert _counts(server) == before


def test_non_finite_asset_metadata_writes_no_row(server: Server) -> None:
    before = _counts(server)
    with server.client() as client:
        for raw in (
            b'{"url": "%s", "metadata": {"a": NaN}}',
            b'{"url": "%s", "metadata": {"a": [1e999]}}',
            b'{"url": "%s", "metadata": {"a": Infinity}}',
        ):
            response = client.post(
                "/v1/assets", content=raw.replace(b"%s", NOWHERE.encode()), headers={"content-type": "application/json"}
            )
            assert _refused(response, 400) and "metadata" in response.json()["error"]["param"]
            multipart = client.post(
                "/v1/assets", data={"url": NOWHERE, "metadata": raw.decode()[25:-1]}, files={"unused": ("a.txt", b"x")}
            )
            assert multipart.status_code == 400, multipart.text
            assert multipart.json()["error"]["param"].startswith("metadata")
    assert _counts(server) == before


def test_stored_non_finite_metadata_does_not_break_listing(server: Server) -> None:
    """A row written before the API refused NaN (or by hand) must not make every listing answer 500."""
    with server.client() as client:
        created = client.post("/v1/assets", json={"url": NOWHERE, "metadata": {"a": 1}})
    assert created.status_code == 200, created.text
    asset_id = created.json()["id"]
    stored = '{"purpose": null, "metadata": {"a": NaN, "b": Infinity}}'
    execute_sql(server, f"UPDATE assets SET metadata = '{stored}' WHERE id = '{asset_id}'")
    with server.client() as client:
        listed = client.get("/v1/assets", params={"limit": 100})
        one = client.get(f"/v1/assets/{asset_id}")
        client.delete(f"/v1/assets/{asset_id}")
    assert listed.status_code == 200 and one.status_code == 200, (listed.text, one.text)
    assert one.json()["metadata"] == {"a": None, "b": None}


# -- 7. smaller leaks -----------------------------------------------------------------------------------------------


def test_unknown_model_name_is_not_echoed_whole(server: Server) -> None:
    name = "m" * (3 * 1024 * 1024)
    with server.client() as client:
        ark = client.post(ARK, json={"model": name, "content": [{"type": "text", "text": "x"}]})
        openai = client.post("/v1/videos", json={"model": name, "prompt": "x"})
    for response in (ark, openai):
        assert response.status_code in (400, 404) and len(response.content) < 2000, len(response.content)
        assert "characters" in response.text


def test_metrics_behind_their_token(server: Server) -> None:
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    with server.client() as client:  # an API key is not the metrics token
        assert client.get("/metrics").status_code == 401
    answer = httpx.get(f"{server.url}/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200 and "seedgate_queue_depth" in answer.text


def test_metrics_can_be_switched_off(tmp_path_factory: pytest.TempPathFactory) -> None:
    # A setting of the HTTP layer: the database plays no part, so SQLite alone.
    srv = start_server(
        Database("sqlite", None),
        tmp_path_factory.mktemp("nometrics") / "data",
        "--workers",
        "0",
        SEEDGATE_METRICS="off",
    )
    try:
        off = httpx.get(f"{srv.url}/metrics")
        schema = httpx.get(f"{srv.url}/openapi.json").json()
    finally:
        srv.stop()
    assert off.status_code == 404 and "/metrics" not in schema["paths"]


# -- 6. a 500 keeps the connection ----------------------------------------------------------------------------------


def test_a_500_keeps_the_keep_alive_connection(server: Server) -> None:
    """Break the database behind the server's back (an honest internal failure): the 500 is an envelope, and the
    same connection serves the next request."""
    url = urlsplit(server.url)
    execute_sql(server, "ALTER TABLE webhook_endpoints RENAME TO webhook_endpoints_gone")
    try:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        conn.request("GET", "/v1/webhook_endpoints", headers={"Authorization": "Bearer sk-test-admin"})
        first = conn.getresponse()
        body = json.loads(first.read())
        sock = conn.sock
        assert first.status == 500 and body["error"]["code"] == "server_error", body
        assert not first.will_close and sock is not None
        conn.request("GET", "/healthz")
        second = conn.getresponse()
        assert second.status == 200 and json.loads(second.read()) == {"status": "ok"}
        assert conn.sock is sock  # the same connection, not a silent reconnect
        conn.close()
    finally:
        execute_sql(server, "ALTER TABLE webhook_endpoints_gone RENAME TO webhook_endpoints")


# -- 4. memory from a legal image -----------------------------------------------------------------------------------


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for {pid}")


def _tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants (decode workers included)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += _rss_mb(current)
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:
            continue
        todo.extend(int(c) for c in children)
    return total


def test_a_huge_legal_image_costs_bounded_memory(database: Database, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Six concurrent creates with a 6000x6000 RGBA PNG (legal: at the size limit, ~150 KB) as a data: first frame.
    The API process must not hold the decoded pixels (144 MB each): its peak stays low, and whatever decoded them
    gives the memory back."""
    import base64
    import io
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (6000, 6000), (10, 200, 30, 255)).save(buffer, "PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    srv = start_server(database, tmp_path_factory.mktemp("bigimage") / "data", "--workers", "0")
    try:
        pid = srv.process.pid
        with srv.client() as client:  # warm up every import on the create path with a small image first
            small = io.BytesIO()
            Image.new("RGB", (640, 640), (1, 2, 3)).save(small, "PNG")
            warm = client.post(
                ARK,
                json={
                    "model": MODEL,
                    "content": [
                        {"type": "text", "text": "warm"},
                        {
                            "type": "image_url",
                            "role": "first_frame",
                            "image_url": {
                                "url": "data:image/png;base64," + base64.b64encode(small.getvalue()).decode()
                            },
                        },
                    ],
                },
            )
            assert warm.status_code == 200, warm.text
        baseline_peak = _rss_mb(pid, "VmHWM")
        baseline_tree = _tree_rss_mb(pid)

        def create(i: int) -> int:
            body = {
                "model": MODEL,
                "content": [
                    {"type": "text", "text": f"big {i}"},
                    {"type": "image_url", "role": "first_frame", "image_url": {"url": data_url}},
                ],
            }
            with srv.client() as client:
                return client.post(ARK, json=body, timeout=300).status_code

        with ThreadPoolExecutor(6) as pool:
            statuses = list(pool.map(create, range(6)))
        assert statuses == [200] * 6
        peak_growth = _rss_mb(pid, "VmHWM") - baseline_peak
        tree_growth = _tree_rss_mb(pid) - baseline_tree
    finally:
        srv.stop()
    # One decoded image is 144 MB; six at once held in the API process were 3.45 GB.
    assert peak_growth < 150, f"the API process grew by {peak_growth:.0f} MB at its peak"
    assert tree_growth < 150, f"{tree_growth:.0f} MB were not given back"


def test_rendering_from_a_huge_still_costs_bounded_memory(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The render side of the same image: the preview engine used to hold four full-size copies (550 MB) while
    fitting a 6000x6000 RGBA still to the frame; it now shrinks it before converting. (A render is the same on either
    database, so SQLite alone.)"""
    import base64
    import io

    from PIL import Image

    from .conftest import wait_status

    buffer = io.BytesIO()
    Image.new("RGBA", (6000, 6000), (10, 200, 30, 128)).save(buffer, "PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    srv = start_server(Database("sqlite", None), tmp_path_factory.mktemp("bigrender") / "data", "--workers", "1")
    try:
        pid = srv.process.pid
        baseline_peak = _rss_mb(pid, "VmHWM")
        with srv.client() as client:
            created = client.post(
                ARK,
                timeout=300,
                json={
                    "model": MODEL,
                    "resolution": "480p",
                    "duration": 4,
                    "ratio": "adaptive",
                    "content": [
                        {"type": "text", "text": "big still"},
                        {"type": "image_url", "role": "first_frame", "image_url": {"url": data_url}},
                    ],
                },
            )
            assert created.status_code == 200, created.text
            task = wait_status(lambda i: client.get(f"{ARK}/{i}").json(), created.json()["id"], timeout=600)
        peak_growth = _rss_mb(pid, "VmHWM") - baseline_peak
    finally:
        srv.stop()
    assert task["status"] == "succeeded", task
    assert peak_growth < 450, f"the server grew by {peak_growth:.0f} MB at its peak while rendering"
