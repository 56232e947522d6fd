"""The dialect contract, in-process and fast: every dialect implements the protocol, every route that creates a
task publishes its dialect's body description in the OpenAPI document, and every parser reads exactly the fields
(nested members included) that its description documents, so the two cannot drift apart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from seedgate.api.app import create_app
from seedgate.api.openapi_bodies import CREATE_BODIES
from seedgate.config import Settings
from seedgate.core.catalog import load_catalog
from seedgate.core.errors import ApiError
from seedgate.core.plan import TaskPlan
from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.dialects import (
    aigeneration,
    ark,
    jimmyai,
    maxapi,
    moonapix,
    openai_edits,
    openai_videos,
    openrouter,
    threehei,
)
from seedgate.dialects.base import Dialect
from seedgate.dialects.bodies import Body
from seedgate.dialects.registry import DEFAULT, DIALECTS

CATALOG = load_catalog()

# -- the protocol ---------------------------------------------------------------------------------------------------


def test_every_dialect_implements_the_protocol() -> None:
    assert set(DIALECTS) == {"ark", "aigeneration", "maxapi", "jimmyai", "moonapix", "openai", "3hei", "openrouter"}
    for name, dialect in DIALECTS.items():
        assert isinstance(dialect, Dialect)
        assert dialect.name == name and dialect.prefixes and dialect.result_ttl_s > 0
    assert DEFAULT is ark.DIALECT


def test_only_openai_raises_subscribed_events() -> None:
    for name, dialect in DIALECTS.items():
        task = Task(
            id="cgt-1",
            owner="k",
            dialect=name,
            endpoint="m",
            spec=TaskPlan.from_json({"model": "m"}),
            status=Status.SUCCEEDED,
        )
        assert (dialect.event_type(task) is not None) == (name == openai_videos.NAME)


# -- the OpenAPI document carries each create route's description ---------------------------------------------------


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("contract")))
    return create_app(settings, run_workers=False).openapi()


def _json_schema(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return schema


def test_every_create_route_publishes_its_body(document: dict[str, Any]) -> None:
    described = {
        ("post", ark.PREFIX): ark.CREATE_BODY,
        ("post", aigeneration.PREFIX + "/createTask"): ark.CREATE_BODY,
        ("post", maxapi.PREFIX + "/submit"): maxapi.SUBMIT_BODY,
        ("post", jimmyai.PREFIX + "/seedance/videos"): jimmyai.CREATE_BODY,
        ("post", jimmyai.PREFIX + "/seedance25/videos"): jimmyai.CREATE_25_BODY,
        ("post", moonapix.PREFIX): moonapix.CREATE_BODY,
        ("post", openrouter.PREFIX): openrouter.CREATE_BODY,
        ("post", openai_videos.PREFIX + "/edits"): openai_edits.EDIT_BODY,
        ("post", openai_videos.PREFIX + "/extensions"): openai_edits.EXTEND_BODY,
        ("post", openai_videos.PREFIX + "/{video_id}/remix"): openai_videos.REMIX_BODY,
    }
    assert set(described) | {("post", openai_videos.PREFIX)} == set(CREATE_BODIES)
    for (method, path), body in described.items():
        assert _json_schema(document, method, path) == body.schema(), path
    # The shared route takes the three bodies openai_videos.body_dialect tells apart.
    shared = _json_schema(document, "post", openai_videos.PREFIX)["anyOf"]
    assert shared == [b.schema() for b in (openai_videos.CREATE_BODY, moonapix.CREATE_BODY, ark.CREATE_BODY)]
    # Multipart forms name the same fields as the JSON bodies.
    for path, body in (
        (openai_videos.PREFIX, openai_videos.CREATE_BODY),
        (openai_videos.PREFIX + "/edits", openai_edits.EDIT_BODY),
        (openai_videos.PREFIX + "/extensions", openai_edits.EXTEND_BODY),
    ):
        form = document["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert tuple(form["properties"]) == body.names(), path


# -- every parser reads exactly what its description documents -----------------------------------------------------


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


class Reads(dict[str, Any]):
    """A JSON object that logs which members a parser asks for, by path (`content[].image_url.url`)."""

    def __init__(self, value: dict[str, Any], path: str, log: set[str]) -> None:
        super().__init__(value)
        self._path, self._log = path, log

    def _read(self, key: str) -> str:
        path = _join(self._path, key)
        self._log.add(path)
        return path

    def get(self, key: str, default: Any = None) -> Any:
        return _wrap(super().get(key, default), self._read(key), self._log)

    def __getitem__(self, key: str) -> Any:
        return _wrap(super().__getitem__(key), self._read(key), self._log)

    def items(self) -> Iterator[tuple[str, Any]]:  # type: ignore[override]
        for key, value in list(super().items()):
            yield key, _wrap(value, self._read(key), self._log)


def _wrap(value: Any, path: str, log: set[str]) -> Any:
    if isinstance(value, dict) and not isinstance(value, Reads):
        return Reads(value, path, log)
    if isinstance(value, list):
        return [_wrap(item, f"{path}[]", log) for item in value]
    return value


def _documented(schema: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, bool]]:
    """(path, described) for every object in the schema, `described` when it lists its members; and each member."""
    for alternative in schema.get("anyOf", ()):
        yield from _documented(alternative, prefix)
    if "items" in schema:
        yield from _documented(schema["items"], f"{prefix}[]")
    if "properties" in schema:
        yield prefix, True
        for name, member in schema["properties"].items():
            yield _join(prefix, name), False
            yield from _documented(member, _join(prefix, name))


def _check_reads(body: Body, parse: Callable[[Any], Any], samples: list[dict[str, Any]]) -> None:
    log: set[str] = set()
    for sample in samples:
        with contextlib.suppress(ApiError):  # a refusal still tells which fields were read on the way
            parse(Reads(sample, "", log))
    entries = list(_documented(body.schema()))
    objects = {path for path, described in entries if described}
    ignored = {f.name for f in body.fields if f.ignored}
    documented = {path for path, described in entries if not described} - ignored
    # Members of free-form objects (`metadata`, `tools`) are the caller's, not the dialect's.
    read = {path for path in log if path.rpartition(".")[0] in objects}
    assert read - documented == set(), "read by the parser but not documented"
    assert documented - read == set(), "documented but never read by the parser"
    assert not ignored & log, "documented as ignored but read"


def test_ark_parser_reads_its_description() -> None:
    content = [
        {"type": "text", "text": "a cat"},
        {"type": "image_url", "image_url": {"url": "https://x/a.png"}, "role": "first_frame"},
        {"type": "video_url", "video_url": {"url": "https://x/a.mp4"}, "role": "reference_video"},
        {"type": "audio_url", "audio_url": {"url": "https://x/a.mp3"}, "role": "reference_audio"},
        {"type": "draft_task", "draft_task": {"id": "cgt-1"}},
    ]
    samples = [{"model": "m", "content": content}]
    _check_reads(ark.CREATE_BODY, ark.parse_create, samples)
    _check_reads(ark.CREATE_BODY, aigeneration.parse_create, samples)
    # 3hei posts the same body to the shared POST /v1/videos, whose schema offers it (see above).
    assert openai_videos.body_dialect("application/json", samples[0]) == threehei.NAME


def test_maxapi_parser_reads_its_description() -> None:
    samples = [{"model": "m", "input": {"prompt": "p"}}, {"model": "m", "input": {"mediaUrls": ["https://x/a.png"]}}]
    _check_reads(maxapi.SUBMIT_BODY, maxapi.parse_create, samples)


def test_jimmyai_parsers_read_their_descriptions() -> None:
    samples = [{"model": "sd2_mx_fast", "prompt": "p", "duration": 5}]
    _check_reads(jimmyai.CREATE_BODY, jimmyai.parse_create, samples)
    _check_reads(jimmyai.CREATE_25_BODY, jimmyai.parse_create_25, samples)


def test_moonapix_parser_reads_its_description() -> None:
    found = {"asset-id": "asset_1"}  # read after every other locator, so all of them are read
    samples: list[dict[str, Any]] = [
        {"model": "m"},
        {"model": "m", "references": [{"media_type": "image", "role": "reference_image", **found, "alias": "a"}]},
        {"model": "m", "video_config": {"fps": 24}},  # an empty one is read as absent
        {
            "model": "m",
            "content": [
                {"type": "text", "text": "t"},
                {"type": "image_url", "image_url": found, "role": "reference_image", "alias": "a"},
                {"type": "video_url", "video_url": found},
                {"type": "audio_url", "audio_url": {}, **found},
            ],
        },
    ]
    samples += [
        {"model": "m", field: [{**found, "role": f"reference_{kind}", "alias": "a"}]} for field, kind in moonapix._LISTS
    ]
    for field, _, _ in moonapix._LEGACY:
        samples += [{"model": "m", field: dict(found)}, {"model": "m", field: [dict(found)]}]
    _check_reads(moonapix.CREATE_BODY, moonapix.parse_create, samples)


def test_openrouter_parser_reads_its_description() -> None:
    parameters = {name: None for name in openrouter.PASSTHROUGH}
    samples: list[dict[str, Any]] = [
        {
            "model": "m",
            "prompt": "p",
            "frame_images": [{"type": "image_url", "frame_type": "first_frame", "image_url": {"url": "https://x"}}],
        },
        {
            "model": "m",
            "prompt": "p",
            "input_references": [{"type": part, part: {"url": "https://x"}} for part in openrouter._REFERENCE_PARTS],
            "provider": {"options": {slug: {"parameters": parameters} for slug in openrouter.PROVIDER_SLUGS}},
        },
    ]
    _check_reads(openrouter.CREATE_BODY, lambda b: openrouter.parse_create(b, CATALOG), samples)


def test_openai_parser_reads_its_description() -> None:
    def parse(fields: dict[str, Any]) -> None:
        spec, _ = openai_videos.parse_openai(fields, CATALOG)
        asyncio.run(openai_edits.character_refs(None, "owner", fields, ""))  # type: ignore[arg-type]

    samples: list[dict[str, Any]] = [
        {"prompt": "p"},
        {"prompt": "p", "input_reference": {"image_url": {"url": "https://x/a.png"}}},
        {"prompt": "p", "characters": [{"id": 1}]},  # refused before any lookup: no service needed
        {"prompt": "p", "characters": {"id": 1}},
    ]
    _check_reads(openai_videos.CREATE_BODY, parse, samples)
