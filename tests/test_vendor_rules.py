"""Per-vendor rules as data, through the real server: 2.5's omni_reference_task_type (edit / extend) refused early in
each dialect's envelope with no task created, and result links living as long as each vendor promises."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from volcenginesdkarkruntime._exceptions import ArkBadRequestError

from seedgate.config import Settings
from seedgate.dialects.registry import DEFAULT, DIALECTS
from seedgate.tasks.service import TaskService

from .conftest import MediaServer, Server, wait_status
from .media import image_bytes, inspect_video, video_bytes

V25 = "doubao-seedance-2-5"  # the undated name: the newest 2.5
DAY = 86400
ARK_TASKS = "/api/v3/contents/generations/tasks"


@pytest.fixture(scope="module")
def media(media_server: MediaServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("rules")
    return {
        "clip5": media_server.add("rules-clip5.mp4", video_bytes(folder / "c5.mp4", 832, 624, seconds=5)),
        "clip3": media_server.add("rules-clip3.mp4", video_bytes(folder / "c3.mp4", 832, 624, seconds=3)),
        "image": media_server.add("rules-image.png", image_bytes(640, 640)),
    }


def content(prompt: str, *videos: str, images: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [{"type": "text", "text": prompt}]
    items += [{"type": "image_url", "image_url": {"url": u}, "role": "reference_image"} for u in images]
    items += [{"type": "video_url", "video_url": {"url": u}, "role": "reference_video"} for u in videos]
    return items


def total(server: Server) -> int:
    with server.client() as client:
        return client.get(ARK_TASKS, params={"page_size": 1}).json()["total"]


def bad_cases(media: dict[str, str]) -> list[tuple[dict[str, Any], str, str]]:
    """(body options, the field the error names, words the message holds)."""
    return [
        ({"content": content("edit it"), "omni_reference_task_type": "edit"}, "content", "reference video"),
        (
            {"content": content("extend it", images=(media["image"],)), "omni_reference_task_type": "extend"},
            "content",
            "reference video",
        ),
        (
            {"content": content("edit it", media["clip5"]), "omni_reference_task_type": "edit", "ratio": "16:9"},
            "ratio",
            "adaptive",
        ),
        (
            {"content": content("extend it", media["clip5"]), "omni_reference_task_type": "extend", "ratio": "1:1"},
            "ratio",
            "adaptive",
        ),
        (
            {"content": content("edit it", media["clip5"]), "omni_reference_task_type": "edit", "duration": 5},
            "duration",
            "-1",
        ),
        (
            {"content": content("edit it", media["clip3"]), "omni_reference_task_type": "edit"},
            "content[1].video_url.url",
            "4 to 30 s",
        ),
    ]


def test_2_5_edit_and_extend_refused_in_the_ark_sdk(server: Server, ark: Any, media: dict[str, str]) -> None:
    for options, param, needle in bad_cases(media):
        before = ark.content_generation.tasks.list(page_size=1).total
        with pytest.raises(ArkBadRequestError) as caught:
            ark.content_generation.tasks.create(model=V25, **options)
        assert caught.value.status_code == 400 and caught.value.code == "InvalidParameter", options
        assert caught.value.param == param and needle in caught.value.message, (options, caught.value.message)
        assert ark.content_generation.tasks.list(page_size=1).total == before


@pytest.mark.parametrize("route", ["/api/AIGeneration/video/seedance/createTask", "/v1/videos"])
def test_2_5_edit_and_extend_refused_in_other_envelopes(server: Server, media: dict[str, str], route: str) -> None:
    with server.client() as client:
        for options, param, needle in bad_cases(media):
            before = total(server)
            response = client.post(route, json={"model": V25, **options})
            assert response.status_code == 400, response.text
            body = response.json()
            if route.startswith("/api/AIGeneration"):
                assert body["success"] is False and body["param"] == param and needle in body["message"]
            else:  # 3hei: Ark's envelope
                assert body["error"]["param"] == param and needle in body["error"]["message"]
            assert total(server) == before


def test_2_5_edit_and_extend_run_when_the_rules_hold(server: Server, ark: Any, media: dict[str, str]) -> None:
    edit = ark.content_generation.tasks.create(
        model=V25, content=content("make it night", media["clip5"]), omni_reference_task_type="edit"
    )
    extend = ark.content_generation.tasks.create(
        model=V25,
        content=content("keep going", media["clip5"]),
        omni_reference_task_type="extend",
        duration=6,
        ratio="adaptive",
    )
    for created in (edit, extend):
        task = wait_status(lambda i: ark.content_generation.tasks.get(task_id=i), created.id)
        assert task.status == "succeeded", task
        assert task.ratio == "4:3"  # adaptive follows the 832x624 reference video
        facts = inspect_video(httpx.get(task.content.video_url).content)
        assert (facts.width, facts.height) == (1112, 834)  # 2.5's 720p 4:3
    assert ark.content_generation.tasks.get(task_id=extend.id).duration == 6


# -- result-link lifetimes ----------------------------------------------------------------------------------------


def link_expiry(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["expires"][0])


def test_result_links_live_as_long_as_each_vendor_promises(server: Server, ark: Any) -> None:
    with server.client() as client:
        maxapi_id = client.post(
            "/api/v1/task/submit",
            json={"model": "seedance-2.0-fast", "input": {"prompt": "a fox", "duration": 4, "resolution": "480p"}},
        ).json()["data"]["taskId"]
        jimmy_id = client.post(
            "/api/open-api/v1/seedance/videos",
            json={"model": "doubao-seedance-2-0-fast", "prompt": "a fox", "duration": 4},
        ).json()["data"]["task_id"]
        openai_id = client.post(
            "/v1/videos", data={"prompt": "a fox", "seconds": "4", "model": "doubao-seedance-2-0-fast"}
        ).json()["id"]
    ark_id = ark.content_generation.tasks.create(
        model="doubao-seedance-2-0-fast", duration=4, content=[{"type": "text", "text": "a fox"}]
    ).id
    finished_at = {}
    for task_id in (maxapi_id, jimmy_id, openai_id, ark_id):
        task = wait_status(lambda i: ark.content_generation.tasks.get(task_id=i), task_id)
        assert task.status == "succeeded", task
        finished_at[task_id] = task.updated_at

    with server.client() as client:
        maxapi_url = client.get(f"/api/v1/task/{maxapi_id}").json()["data"]["result"]["urls"][0]
        jimmy_url = client.get(f"/api/open-api/v1/videos/{jimmy_id}").json()["data"]["result"]["video_url"]
        openai_video = client.get(f"/v1/videos/{openai_id}").json()
        # The task's own dialect decides: the same maxapi task read through the Ark route carries the same link.
        maxapi_via_ark = client.get(f"{ARK_TASKS}/{maxapi_id}").json()["content"]["video_url"]
    ark_url = ark.content_generation.tasks.get(task_id=ark_id).content.video_url

    def lifetime(task_id: str, url: str) -> int:
        # updated_at is whole seconds; the link counts from the precise finish time.
        return link_expiry(url) - finished_at[task_id]

    assert lifetime(maxapi_id, maxapi_url) in (7 * DAY, 7 * DAY - 1)
    assert link_expiry(maxapi_via_ark) == link_expiry(maxapi_url)
    assert lifetime(jimmy_id, jimmy_url) in (3 * DAY, 3 * DAY - 1)
    assert lifetime(ark_id, ark_url) in (DAY, DAY - 1)
    assert openai_video["expires_at"] - finished_at[openai_id] in (DAY, DAY - 1)
    for url in (maxapi_url, jimmy_url, ark_url):
        assert httpx.get(url).status_code == 200


def test_operator_overrides_result_link_lifetimes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """SEEDGATE_RESULT_TTL sets every dialect; SEEDGATE_RESULT_TTL_<DIALECT> one of them (and wins)."""
    for key in ("SEEDGATE_RESULT_TTL", "SEEDGATE_RESULT_TTL_MAXAPI", "SEEDGATE_RESULT_TTL_3HEI"):
        monkeypatch.delenv(key, raising=False)

    def ttl(dialect: str) -> int:
        service = TaskService(Settings.from_env(data_dir=tmp_path), *([None] * 6), DIALECTS, DEFAULT)  # type: ignore[arg-type]
        return service.result_ttl_s(dialect)

    assert (ttl("maxapi"), ttl("jimmyai"), ttl("ark"), ttl("openai"), ttl("3hei")) == (7 * DAY, 3 * DAY, DAY, DAY, DAY)
    monkeypatch.setenv("SEEDGATE_RESULT_TTL", "7200")
    monkeypatch.setenv("SEEDGATE_RESULT_TTL_MAXAPI", "3600")
    monkeypatch.setenv("SEEDGATE_RESULT_TTL_3HEI", "600")
    assert (ttl("maxapi"), ttl("jimmyai"), ttl("ark"), ttl("3hei")) == (3600, 7200, 7200, 600)
    service = TaskService(Settings.from_env(data_dir=tmp_path), *([None] * 6), DIALECTS, DEFAULT)  # type: ignore[arg-type]
    assert service.longest_result_ttl_s() == 7200  # result files are kept while any link may point at them
