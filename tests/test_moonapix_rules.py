"""MoonApiX per-line rules (seed 002, issue 14 item 6), through a real server: identical `references[]` entries
keep their own positions, per-line asset pools (a `-cl` asset is refused on `-kz` and the reverse), `-wc-720p`'s
URL rule, and `happyhorse-1.0` / `wan2.7` on the create route. Bad requests answer in MoonApiX's envelope and
create no task. Bodies are written inline in the create page's shape, so this suite needs no seed pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from seedgate.core.catalog import load_catalog
from seedgate.core.validation import validate
from seedgate.dialects import moonapix

from .conftest import MediaServer, Server, wait_status
from .media import image_bytes, inspect_video, video_bytes
from .waiting import wait_until

ROUTES = ("/v1/videos", "/v1/video/generations")
TASKS = "/api/v3/contents/generations/tasks"  # the Ark list route, to count the key's tasks


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture(scope="module")
def urls(media_server: MediaServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("moon-rules")
    return {
        "a": media_server.add("moon-rules-a.png", image_bytes(1280, 720)),
        "b": media_server.add("moon-rules-b.png", image_bytes(1280, 720, color=(20, 40, 230))),
        "video": media_server.add("moon-rules-v.mp4", video_bytes(tmp / "v.mp4", 960, 540, seconds=2)),
    }


def task_count(client: httpx.Client) -> int:
    response = client.get(TASKS, params={"page_size": 1})
    assert response.status_code == 200, response.text
    return response.json()["total"]


def create(client: httpx.Client, body: dict[str, Any], route: str = "/v1/videos") -> str:
    response = client.post(route, json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["object"] == "task" and answer["status"] == "submitted" and answer["model"] == body["model"]
    return answer["id"]


def query(client: httpx.Client, task_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/video/generations/{task_id}")
    assert response.status_code == 200, response.text
    return response.json()


def refused(client: httpx.Client, body: dict[str, Any], param: str, needle: str, status: int = 400) -> None:
    """On both create routes: MoonApiX's error envelope naming the field, and no task left behind."""
    before = task_count(client)
    for route in ROUTES:
        response = client.post(route, json=body)
        assert response.status_code == status, response.text
        answer = response.json()
        assert answer["success"] is False and answer["error"]["param"] == param, answer
        assert needle in answer["error"]["message"], answer
    assert task_count(client) == before


def ready_asset(client: httpx.Client, body: dict[str, Any]) -> str:
    response = client.post("/v1/assets/uploads", json=body)
    assert response.status_code == 200, response.text
    asset_id = response.json()["asset_id"]
    asset = wait_until(
        lambda: client.get(f"/v1/assets/{asset_id}").json(),
        f"asset {asset_id}'s audit",
        until=lambda a: a["status"] != "processing",
        interval=0.2,
    )
    assert asset["status"] == "ready", asset
    return asset_id


def image_ref(url: str, alias: str | None = None) -> dict[str, Any]:
    return {"media_type": "image", "role": "reference_image", "url": url, **({"alias": alias} if alias else {})}


# -- identical references ----------------------------------------------------------------------------------------


def test_identical_references_keep_their_positions(client: httpx.Client, urls: dict[str, str]) -> None:
    refs = [image_ref(urls["a"], "hero"), image_ref(urls["b"]), image_ref(urls["a"], "hero"), image_ref(urls["a"])]
    task_id = create(
        client,
        {
            "model": "seedance-2.0-kz",
            "prompt": "@hero 与 @hero 并排",
            "duration": 4,
            "resolution": "480p",
            "references": refs,
        },
    )
    task = wait_status(lambda i: query(client, i), task_id, ("succeeded", "failed"))
    assert task["status"] == "succeeded", task
    assert [(r["url"], r["alias"]) for r in task["references"]] == [
        (urls["a"], "hero"),
        (urls["b"], None),
        (urls["a"], "hero"),
        (urls["a"], None),
    ]
    assert inspect_video(httpx.get(task["url"]).content).width == 864


def test_eleven_identical_images_are_eleven(client: httpx.Client, urls: dict[str, str]) -> None:
    refused(
        client,
        {"model": "seedance-2.0-kz", "prompt": "x", "references": [image_ref(urls["a"])] * 11},
        "references",
        "0 to 9 reference images, got 11",
    )
    refused(
        client,
        {"model": "seedance-2.0-cl", "prompt": "x", "images": [urls["a"]] * 11},
        "images",
        "0 to 10 reference images, got 11",
    )


def test_mirrors_in_other_fields_still_count_once() -> None:
    """A client mirroring references[] into images[] / image_url sends each item once per field: the n-th copy in
    one field matches the n-th in another, so two identical references stay two, not four or one."""
    catalog = load_catalog()
    spec, _ = moonapix.parse_create(
        {
            "model": "seedance-2.0-kz",
            "prompt": "x",
            "references": [image_ref("https://e.com/a.png"), image_ref("https://e.com/a.png")],
            "images": [{"url": "https://e.com/a.png", "role": "reference_image"}] * 2,
            "reference_image_urls": ["https://e.com/a.png"],
        }
    )
    assert [(m.url, m.param) for m in spec.media] == [
        ("https://e.com/a.png", "references[0].url"),
        ("https://e.com/a.png", "references[1].url"),
    ]
    assert validate(spec, catalog).mode == "reference"


# -- asset pools -------------------------------------------------------------------------------------------------


def test_assets_belong_to_their_model_line(client: httpx.Client, urls: dict[str, str]) -> None:
    cl = ready_asset(client, {"url": urls["a"], "purpose": "reference", "model": "seedance-2.0-cl"})
    kz = ready_asset(client, {"url": urls["b"], "purpose": "reference", "metadata": {"model": "seedance-2.0-kz"}})
    plain = ready_asset(client, {"url": urls["a"], "purpose": "reference"})
    assert client.get(f"/v1/assets/{cl}").json()["model"] == "seedance-2.0-cl"

    refused(
        client,
        {
            "model": "seedance-2.0-kz",
            "prompt": "x",
            "references": [{"media_type": "image", "role": "reference_image", "asset_id": cl}],
        },
        "references[0].asset_id",
        "seedance-2.0-cl model line",
    )
    refused(
        client,
        {"model": "seedance-2.0-kz-fast", "prompt": "x", "first_frame_url": f"Asset://{cl}"},
        "first_frame_url",
        cl,
    )
    refused(
        client,
        {
            "model": "seedance-2.0-cl-fast",
            "prompt": "x",
            "image_url": f"Asset://{kz}",
            "input_reference_role": "first_frame",
        },
        "image_url",
        "seedance-2.0-kz model line",
    )
    refused(
        client,
        {
            "model": "seedance-2.0-cl-mini",
            "prompt": "x",
            "images": [{"url": f"Asset://{kz}", "role": "reference_image"}],
        },
        "images[0].url",
        kz,
    )

    create(
        client,
        {
            "model": "seedance-2.0-cl-fast",
            "prompt": "x",
            "duration": 4,
            "resolution": "480p",
            "image_url": f"Asset://{cl}",
            "input_reference_role": "first_frame",
        },
    )
    create(
        client,
        {
            "model": "seedance-2.0-kz-fast",
            "prompt": "x",
            "duration": 4,
            "resolution": "480p",
            "references": [{"media_type": "image", "role": "reference_image", "asset_ref": f"Asset://{kz}"}],
        },
    )
    # seedgate's own assets (made for no line) are accepted by every line.
    create(
        client,
        {
            "model": "seedance-2.0-cl",
            "prompt": "x",
            "duration": 4,
            "resolution": "480p",
            "first_frame_url": f"Asset://{plain}",
        },
        "/v1/video/generations",
    )


def test_upload_for_an_unknown_model_line(client: httpx.Client, urls: dict[str, str]) -> None:
    response = client.post("/v1/assets/uploads", json={"url": urls["a"], "model": "seedance-9-xx"})
    assert response.status_code == 404 and "seedance-9-xx" in response.text


# -- wc-720p, happyhorse-1.0, wan2.7 -----------------------------------------------------------------------------


def test_wc_720p_takes_urls_not_asset_references(client: httpx.Client, urls: dict[str, str]) -> None:
    asset_id = ready_asset(client, {"url": urls["a"], "purpose": "reference"})
    refused(
        client,
        {"model": "seedance-2.0-wc-720p", "prompt": "x", "references": [image_ref(f"Asset://{asset_id}")]},
        "references[0].url",
        "public http(s) URLs",
    )
    refused(
        client,
        {
            "model": "seedance-2.0-wc-720p",
            "prompt": "x",
            "references": [{"media_type": "image", "role": "reference_image", "asset_id": asset_id}],
        },
        "references[0].asset_id",
        "public http(s) URLs",
    )
    refused(
        client,
        {
            "model": "seedance-2.0-wc-720p",
            "prompt": "x",
            "references": [image_ref("data:image/png;base64,iVBORw0KGgo=")],
        },
        "references[0].url",
        "data: URLs",
    )
    task_id = create(
        client,
        {
            "model": "seedance-2.0-wc-720p",
            "prompt": "使用 @product 制作广告",
            "duration": 4,
            "ratio": "16:9",
            "references": [image_ref(urls["a"], "product")],
        },
    )
    task = wait_status(lambda i: query(client, i), task_id, ("succeeded", "failed"))
    assert task["status"] == "succeeded", task
    facts = inspect_video(httpx.get(task["url"]).content)
    assert (facts.width, facts.height) == (1280, 720)


def test_happyhorse_has_no_video_references(client: httpx.Client, urls: dict[str, str]) -> None:
    refused(
        client,
        {
            "model": "happyhorse-1.0",
            "prompt": "x",
            "images": [urls["a"]],
            "videos": [{"url": urls["video"], "role": "reference_video"}],
        },
        "videos",
        "does not accept reference videos",
    )
    refused(
        client,
        {"model": "happyhorse-1.0", "prompt": "x", "reference_video_url": urls["video"]},
        "reference_video_url",
        "does not accept reference videos",
    )
    # Without other fields, the model alone makes a body on the shared route MoonApiX's (catalog `dialect`).
    task_id = create(client, {"model": "happyhorse-1.0", "prompt": "一匹马在草原上奔跑"})
    task = wait_status(lambda i: query(client, i), task_id, ("succeeded", "failed"))
    assert task["status"] == "succeeded" and task["model"] == "happyhorse-1.0", task
    create(
        client,
        {
            "model": "happyhorse-1.0",
            "prompt": "x",
            "duration": 4,
            "resolution": "480p",
            "references": [image_ref(urls["a"])],
        },
    )


def test_wan27_on_the_create_route(client: httpx.Client, urls: dict[str, str]) -> None:
    for route in ROUTES:
        create(
            client,
            {
                "model": "wan2.7",
                "prompt": "x",
                "duration": 4,
                "resolution": "480p",
                "videos": [{"url": urls["video"], "role": "reference_video"}],
            },
            route,
        )
    refused(client, {"model": "wan2.7", "prompt": "x", "duration": 16}, "duration", "[4, 15]")


def test_an_entry_extending_its_own_id_patches_it(tmp_path: Any) -> None:
    """How the shipped file gives existing lines their pools, and how an operator changes one field of a model."""
    shipped = load_catalog()
    assert shipped.models["seedance-2.0-cl-mini"].asset_pool == "moonapix-cl"
    assert shipped.models["seedance-2.0-kz-fast"].asset_pool == "moonapix-kz"
    assert shipped.models["seedance-2.0-ld-17"].asset_pool is None  # no documented pool: takes any asset
    assert shipped.models["seedance-2.0-wc-720p"].urls_only and shipped.models["seedance-2.0-wc-720p"].name
    extra = tmp_path / "mine.toml"
    extra.write_text(
        '[[model]]\nid = "doubao-seedance-2-0-260128"\nextends = "doubao-seedance-2-0-260128"\nprompt_max_chars = 10\n'
    )
    patched = load_catalog(extra).find("dreamina-seedance-2-0-260128")
    original = shipped.models["doubao-seedance-2-0-260128"]
    assert patched is not None and patched.prompt_max_chars == 10
    assert (patched.name, patched.aliases, patched.resolutions) == (
        original.name,
        original.aliases,
        original.resolutions,
    )
