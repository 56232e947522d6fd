"""The attack campaign of issue 15 as a suite (slow; `.ci/run` runs it through `make test-all`).

On SQLite and PostgreSQL, against a real server:
- schemathesis generates requests for every operation of the OpenAPI document (bounded examples each), with and
  without a key;
- a hostile corpus goes to every dialect's routes: deep nesting, lone surrogates, NUL, non-finite and huge numbers,
  wrong types, huge strings, hostile IDs and signatures, broken multipart, oversized and unauthenticated bodies.

Asserted: no answer is a 5xx, no task or asset appears that was not meant to, and the server's peak RSS over the whole
campaign (VmHWM, measured by the kernel) stays under 1 GB.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import API_KEY, Database, Server, start_server
from .test_hardening import ARK, JSON_ROUTES, MODEL, NOWHERE, _rss_mb

pytestmark = pytest.mark.slow

PEAK_RSS_MB = 1024
EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # API only: tasks stay queued, so the count of tasks is exactly what the campaign created.
    srv = start_server(database, tmp_path_factory.mktemp("campaign") / "data", "--workers", "0")
    yield srv
    srv.stop()


class Tally:
    """Every answer of the campaign; 5xx answers are kept whole for the failure message."""

    def __init__(self) -> None:
        self.count = 0
        self.errors: list[str] = []

    def add(self, what: str, response: httpx.Response | Any) -> None:
        self.count += 1
        status = getattr(response, "status_code", 0)
        if status >= 500:
            self.errors.append(f"{what[:300]} -> {status} {response.text[:300]}")


def _counts(server: Server) -> tuple[int, int]:
    with server.client() as client:
        tasks = client.get(ARK, params={"page_size": 1})
        assets = client.get("/v1/assets", params={"limit": 1})
    assert tasks.status_code == 200 and assets.status_code == 200, (tasks.text, assets.text)
    return tasks.json()["total"], assets.json()["total"]


# -- the hostile corpus ---------------------------------------------------------------------------------------------


def _json_variants(body: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
    """Malformed variants of a body: every one must be refused (none may create anything)."""
    text = json.dumps(body)
    head = text[:-1].encode()
    for name, tail in (
        ("surrogate", b'"\\ud800"'),
        ("low-surrogate", b'"\\udc00x"'),
        ("nan", b"NaN"),
        ("inf", b"Infinity"),
        ("-inf", b"-Infinity"),
        ("1e999", b"1e999"),
        ("nul", b'"\\u0000"'),
        ("int-5000", b"9" * 5000),
        ("int-4000", b"9" * 4000),
        ("deep", b"[" * 5000 + b"]" * 5000),
        ("deep-objects", b'{"a":' * 300 + b"1" + b"}" * 300),
    ):
        yield f"extra-{name}", head + b', "extra": ' + tail + b"}"
    yield "nested-1000", b'{"model": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    yield "truncated", text[: len(text) // 2].encode()
    yield "not-json", b"\xff\xfe\x00garbage"
    yield "empty", b""
    yield "array", b"[1, 2, 3]"
    yield "string", b'"hello"'
    yield "null", b"null"
    yield "bom", b"\xef\xbb\xbf" + b"{"
    for key in body:
        for value in (None, [], {}, 1e308, -1, True, "\x00", "\ud800", "x" * 200_000, [[[[[]]]]], {"$ne": 1}):
            mutated = {**body, key: value}
            try:
                raw = json.dumps(mutated).encode()
            except ValueError:
                continue
            if key in ("prompt", "text") and isinstance(value, str) and value.startswith("x"):
                continue  # a long prompt is a legal body
            yield f"{key}={str(value)[:12]!r}", raw


def _invalidated(body: dict[str, Any]) -> dict[str, Any]:
    """The route's body with a model that does not exist and URLs no asset may come from, so that no mutation of
    another field can create anything: every request of the corpus must be refused."""
    body = dict(body)
    if "model" in body:
        body["model"] = "no-such-model-\u4e2d\u6587"
    if "prompt" in body:
        body["prompt"] = ""  # OpenAI's route defaults a missing model: its mutations need a second flaw
    for key in ("url", "URL"):
        if key in body:
            body[key] = "ftp://example.com/a.png"
    return body


def _hostile_paths() -> Iterator[str]:
    ids = [
        "cgt-%00",
        "%00",
        "..%2F..%2Fetc%2Fpasswd",
        "cgt-" + "9" * 5000,
        "%F0%9F%98%80",
        "%ED%A0%80",
        "a%20b",
        "%C3%A9",
        "'%20OR%201=1--",
        "cgt-20260101000000-nothere",
    ]
    templates = [
        f"{ARK}/{{}}",
        "/v1/videos/{}",
        "/v1/videos/{}/content",
        "/v1/video/generations/{}",
        "/api/v1/task/{}",
        "/api/open-api/v1/videos/{}",
        "/v1/tasks/{}/queue",
        "/v1/assets/{}",
        "/v1/webhook_endpoints/{}",
        "/api/AIGeneration/video/seedance/taskStatus/{}",
    ]
    for template in templates:
        for ident in ids:
            yield template.format(ident)
    for path in ("/files/blobs/0", "/files/cgt-x/video.mp4", "/files/assets/asset-x", "/files/blobs/%00"):
        for query in (
            "expires=99999999999&signature=%C3%A9",
            "expires=-1&signature=",
            "expires=1e999&signature=a",
            "expires=" + "9" * 5000 + "&signature=a",
            "signature=%00",
            "expires=%00",
        ):
            yield f"{path}?{query}"
    for query in (
        "page_num=-1",
        "page_size=999999999999999999999",
        "filter.status=%00",
        "filter.task_ids=%00",
        "page_num=" + "9" * 5000,
        "filter.model=%ED%A0%80",
    ):
        yield f"{ARK}?{query}"
    for query in ("limit=-5", "limit=" + "9" * 5000, "after=%00", "order=%00", "status=%00"):
        yield f"/v1/videos?{query}"
        yield f"/v1/assets?{query}"


def _big_png_data_url() -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (6000, 6000), (10, 200, 30, 255)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_hostile_corpus(server: Server) -> None:
    tally = Tally()
    before = _counts(server)
    auth = {"authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=server.url, timeout=120) as client:
        for route, body in JSON_ROUTES:
            for name, raw in _json_variants(_invalidated(body)):
                for headers in (auth, {}):
                    response = client.post(route, content=raw, headers={"content-type": "application/json", **headers})
                    tally.add(f"POST {route} {name} key={bool(headers)}", response)
        for path in _hostile_paths():
            for headers in (auth, {}):
                tally.add(f"GET {path}", client.get(path, headers=headers))
                if path.startswith(("/v1/videos/", "/api/v3/", "/v1/assets/", "/v1/webhook_endpoints/")):
                    tally.add(f"DELETE {path}", client.delete(path, headers=headers))
        # Multipart: the OpenAI SDK's create and asset uploads.
        for seconds in ("9" * 5000, "\u00b2", "-1", "1e999", "\x00", "\ud800".encode("utf-8", "surrogatepass")):
            data = {"model": MODEL, "prompt": "x", "seconds": seconds}
            files = {"input_reference": ("a.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/png")}
            raw_fields = [(k, (None, v)) for k, v in data.items()]
            tally.add(
                f"multipart seconds={str(seconds)[:10]!r}",
                client.post("/v1/videos", files=[*raw_fields, *files.items()], headers=auth),
            )
        for meta in ('{"a": NaN}', '{"a": 1e999}', "[" * 2000, '"\\ud800"', "not json", '{"a": "\\u0000"}'):
            for files in ({"file": ("a.png", b"garbage", "image/png")}, {}):
                response = client.post(
                    "/v1/assets", data={"url": NOWHERE, "metadata": meta}, files=files or None, headers=auth
                )
                tally.add(f"asset metadata {meta[:10]!r} file={bool(files)}", response)
        for field in ("name", "group_id", "purpose", "kind"):
            for value in ("\x00", "a\x00b", "\u4e2d" * 5000, "\ud800".encode("utf-8", "surrogatepass")):
                # No file and no URL to create from: whatever the field holds, nothing may be created.
                response = client.post("/v1/assets", files={field: (None, value), "pad": (None, "x")}, headers=auth)
                tally.add(f"asset multipart {field}={str(value)[:8]!r}", response)
                assert 400 <= response.status_code < 500, response.text[:300]
        for field in ("model", "prompt", "size"):
            response = client.post("/v1/videos", files={field: (None, "a\x00b"), "seconds": (None, "4")}, headers=auth)
            tally.add(f"openai multipart {field} with NUL", response)
        broken = b'--b\r\nContent-Disposition: form-data; name="file"\r\n\r\n' + b"x" * 1000  # never closed
        for route in ("/v1/videos", "/v1/assets"):
            tally.add(
                f"broken multipart {route}",
                client.post(route, content=broken, headers={**auth, "content-type": "multipart/form-data; boundary=b"}),
            )
            tally.add(
                f"no boundary {route}",
                client.post(route, content=b"x", headers={**auth, "content-type": "multipart/form-data"}),
            )
        # Oversized bodies, declared and streamed, with and without a key.
        for headers in (auth, {}):

            def chunks() -> Iterator[bytes]:
                for _ in range(1600):  # 100 MiB, past the 64 MiB default
                    yield b"x" * 65536

            for route in ("/v1/videos", "/v1/video/generations", ARK, "/v1/assets"):
                try:
                    response = client.post(
                        route, content=chunks(), headers={"content-type": "application/json", **headers}
                    )
                except httpx.TransportError:
                    continue  # refused before the whole body was sent: nothing was answered, nothing buffered
                tally.add(f"100 MiB to {route} key={bool(headers)}", response)
                assert response.status_code in (401, 413), response.text[:300]
        # 60 MB of empty arrays: under the body limit, but over 1 GB once parsed (refused before parsing).
        crowd = b'{"model": "x", "content": [' + b"[]," * 20_000_000 + b"[]]}"
        for route in (ARK, "/v1/videos", "/v1/assets"):
            response = client.post(route, content=crowd, headers={**auth, "content-type": "application/json"})
            tally.add(f"60 MB of arrays to {route}", response)
            assert response.status_code == 400, response.text[:300]
        del crowd
        # A huge legal image, three times: decoded within the decode budget (these three tasks are meant).
        data_url = _big_png_data_url()
        for i in range(3):
            response = client.post(
                ARK,
                headers=auth,
                json={
                    "model": MODEL,
                    "content": [
                        {"type": "text", "text": f"big still {i}"},
                        {"type": "image_url", "role": "first_frame", "image_url": {"url": data_url}},
                    ],
                },
            )
            tally.add("6000x6000 RGBA first frame", response)
            assert response.status_code == 200, response.text
        # A 10 MB model name is refused without being echoed back.
        huge = client.post(ARK, headers=auth, json={"model": "m" * 10_000_000, "content": []})
        tally.add("10 MB model name", huge)
        assert 400 <= huge.status_code < 500 and len(huge.content) < 2000
    tasks, assets = _counts(server)
    peak = _rss_mb(server.process.pid, "VmHWM")
    assert not tally.errors, f"{len(tally.errors)} of {tally.count} answers were 5xx:\n" + "\n".join(tally.errors[:30])
    if (tasks, assets) != (before[0] + 3, before[1]):
        with server.client() as client:
            listed = client.get(ARK, params={"page_size": 20}).text[:3000]
        raise AssertionError(
            f"stray tasks or assets: {tasks - before[0] - 3} tasks, {assets - before[1]} assets; tasks: {listed}"
        )
    assert peak < PEAK_RSS_MB, f"the server's peak RSS was {peak:.0f} MB"


# -- schemathesis over the OpenAPI document ------------------------------------------------------------------------


def _probe(operation: Any, headers: dict[str, str], tally: Tally) -> Any:
    """A Hypothesis test that sends EXAMPLES_PER_OPERATION generated requests for one operation and tallies them
    (5xx are collected rather than raised, so Hypothesis does not spend the run shrinking one of them)."""
    from hypothesis import HealthCheck, Phase, given, settings

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def probe(case: Any) -> None:
        response = case.call(headers=headers, timeout=60)
        tally.count += 1
        if response.status_code >= 500:
            tally.errors.append(
                f"{operation.method.upper()} {case.formatted_path} body={str(case.body)[:200]} "
                f"-> {response.status_code} {response.text[:200]}"
            )

    return probe


def test_schemathesis_finds_no_5xx(server: Server) -> None:
    import schemathesis

    tally = Tally()
    before = _counts(server)
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40
    described = [op for op in operations if op.method.upper() == "POST" and op.body]
    assert len(described) >= 17, "every route that reads a body describes it"

    for operation in operations:
        for headers in ({"Authorization": f"Bearer {API_KEY}"}, {}):
            _probe(operation, headers, tally)()
    peak = _rss_mb(server.process.pid, "VmHWM")
    assert tally.count >= len(operations) * 2
    assert not tally.errors, f"{len(tally.errors)} of {tally.count} answers were 5xx:\n" + "\n".join(tally.errors[:30])
    assert peak < PEAK_RSS_MB, f"the server's peak RSS was {peak:.0f} MB"
    # Generated bodies may be valid creates: those tasks are real, and any other row must be one of them.
    tasks, _ = _counts(server)
    assert tasks >= before[0]
