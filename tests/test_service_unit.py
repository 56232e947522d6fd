"""The task service on its own: a real SQLite store in a temporary directory, no HTTP and no server process.

Create, read, cancel, delete, draft expansion, remix and webhook endpoints, and the errors each answers with."""

from __future__ import annotations

import ast
import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from seedgate.assets.library import AssetLibrary
from seedgate.config import Settings
from seedgate.core.asset import AssetStatus
from seedgate.core.catalog import load_catalog
from seedgate.core.errors import ApiError
from seedgate.core.limits import Budget
from seedgate.core.spec import TaskSpec
from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.core.validation import Soft
from seedgate.dialects import ark, moonapix
from seedgate.dialects.registry import DEFAULT, DIALECTS
from seedgate.media.fetch import Fetcher, FetchPolicy
from seedgate.media.signing import UrlSigner
from seedgate.media.storage import Storage
from seedgate.store.store import ApiKey, Store
from seedgate.tasks.keys import create_key
from seedgate.tasks.service import TaskService
from seedgate.tasks.settle import settle

PRO = "doubao-seedance-1-0-pro-250528"
PRO_15 = "seedance-1-5-pro-251215"
CALLBACK = "http://127.0.0.1:9/callback"


@dataclass
class Node:
    service: TaskService
    store: Store
    storage: Storage
    key: ApiKey
    secret: str


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    settings = Settings.from_env(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'unit.db'}")
    store = Store(settings.db_url)
    await store.migrate()
    storage = Storage(tmp_path)
    fetcher = Fetcher(FetchPolicy(allow_private=False, timeout_s=5))
    signer = UrlSigner("unit-test-secret")
    assets = AssetLibrary(store.assets, storage, signer, retention_s=3600)
    service = TaskService(
        settings, store, load_catalog(settings.catalog_path), storage, fetcher, signer, assets, DIALECTS, DEFAULT
    )
    key, secret = await create_key(store, "unit")
    yield Node(service, store, storage, key, secret)
    await fetcher.aclose()
    await store.close()


def ark_spec(**body: Any) -> tuple[TaskSpec, Soft]:
    return ark.parse_create({"model": PRO, "content": [{"type": "text", "text": "a lighthouse at dusk"}], **body})


async def create(node: Node, dialect: str = ark.NAME, **body: Any) -> Task:
    spec, soft = ark_spec(**body)
    return await node.service.create(spec, soft, key=node.key, dialect=dialect)


async def succeed(node: Node, task: Task) -> Task:
    """What a worker does: claim the task, leave a result file, settle it as succeeded."""
    claimed = await node.store.claim("unit-worker", ["preview"], 30)
    assert claimed is not None and claimed.id == task.id
    folder = node.storage.scratch(task.id)
    (folder / "video.mp4").write_bytes(b"not really a video")
    await node.storage.store_results(task.id, folder)
    assert await settle(
        node.store,
        node.service.webhooks_for,
        claimed,
        Status.SUCCEEDED,
        lease_owner="unit-worker",
        result={"video": "video.mp4"},
        progress=1.0,
    )
    return await node.service.get(node.key, task.id)


# -- the boundary ---------------------------------------------------------------------------------------------------


def test_the_task_package_knows_no_http() -> None:
    package = Path(__file__).parents[1] / "seedgate" / "tasks"
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any(n.split(".")[0] in ("fastapi", "starlette") for n in names), source.name
                assert not any(n.startswith(("seedgate.api", "seedgate.dialects")) for n in names), source.name


# -- authenticate -------------------------------------------------------------------------------------------------


async def test_authenticate_finds_the_key_behind_a_bearer_header(node: Node) -> None:
    key = await node.service.authenticate(f"Bearer {node.secret}")
    assert key.id == node.key.id


@pytest.mark.parametrize(
    ("header", "hint"),
    [
        ("", "the API key is missing"),
        ("Bearer ", "no key follows"),
        ("sk-sg-bare", "bare key"),
        ("Basic abc", "scheme `Basic` is not supported"),
        ("Bearer sk-sg-unknown", "invalid or revoked"),
    ],
)
async def test_authenticate_refusals_say_what_is_wrong(node: Node, header: str, hint: str) -> None:
    with pytest.raises(ApiError) as refused:
        await node.service.authenticate(header)
    assert refused.value.status == 401 and hint in refused.value.message
    assert "sk-sg-unknown" not in refused.value.message  # never echoes a key


async def test_a_revoked_key_is_refused(node: Node) -> None:
    assert await node.service.revoke_key(node.key.id)
    with pytest.raises(ApiError) as refused:
        await node.service.authenticate(f"Bearer {node.secret}")
    assert refused.value.status == 401


def test_base_url_prefers_the_public_url(node: Node) -> None:
    assert node.service.base_url("http://seen-by-request:8000/") == "http://seen-by-request:8000"
    assert node.service.base_url(None) == node.service.settings.base_url


# -- create and read ----------------------------------------------------------------------------------------------


async def test_create_queues_a_validated_task(node: Node) -> None:
    task = await create(node, duration=5)
    stored = await node.service.get(node.key, task.id)
    assert stored.status is Status.QUEUED and stored.dialect == ark.NAME
    assert stored.spec.width and stored.spec.height and stored.spec.frame_count  # planned by validation
    assert node.service.queue_signal.is_set()
    assert await node.service.queue_position(stored) == 1  # first in line
    total, listed = await node.service.list(node.key)
    assert total == 1 and [t.id for t in listed] == [task.id]


async def test_create_refuses_an_unknown_model(node: Node) -> None:
    spec, soft = ark.parse_create({"model": "no-such-model", "content": [{"type": "text", "text": "x"}]})
    with pytest.raises(ApiError) as refused:
        await node.service.create(spec, soft, key=node.key, dialect=ark.NAME)
    assert refused.value.status == 404
    assert (await node.service.list(node.key))[0] == 0


async def test_another_keys_task_is_not_found(node: Node) -> None:
    task = await create(node)
    other, _ = await create_key(node.store, "other")
    with pytest.raises(ApiError) as refused:
        await node.service.get(other, task.id)
    assert refused.value.status == 404


# -- cancel and delete --------------------------------------------------------------------------------------------


async def test_cancel_finishes_the_task_and_its_webhook_says_when(node: Node) -> None:
    """A cancel goes through `settle`: the record's finished_at and the webhook's completion time agree."""
    spec, soft = moonapix.parse_create({"model": PRO, "prompt": "a lighthouse", "callback_url": CALLBACK})
    task = await node.service.create(spec, soft, key=node.key, dialect=moonapix.NAME)
    assert await node.service.cancel_or_delete(node.key, task.id) is Status.CANCELLED
    cancelled = await node.service.get(node.key, task.id)
    assert cancelled.status is Status.CANCELLED and cancelled.finished_at is not None
    [delivery] = await node.service.webhook_history(cancelled)
    assert delivery["url"] == CALLBACK
    answered = moonapix.render_task(cancelled, {})
    assert delivery["payload"]["completed_at"] == answered["completed_at"] == int(cancelled.finished_at)


async def test_cancel_is_false_once_the_task_finished(node: Node) -> None:
    task = await create(node)
    await succeed(node, task)
    assert not await node.service.cancel(task)  # the stale copy still says queued
    assert (await node.service.get(node.key, task.id)).status is Status.SUCCEEDED
    assert [d["payload"]["status"] for d in await node.service.webhook_history(task)] == []  # no callback URL


async def test_running_and_cancelled_tasks_cannot_be_deleted(node: Node) -> None:
    running = await create(node)
    await node.store.claim("unit-worker", ["preview"], 30)
    with pytest.raises(ApiError) as refused:
        await node.service.cancel_or_delete(node.key, running.id)
    assert refused.value.status == 409 and refused.value.code == "InvalidAction.TaskRunning"
    cancelled = await create(node)
    await node.service.cancel_or_delete(node.key, cancelled.id)
    with pytest.raises(ApiError) as refused:
        await node.service.cancel_or_delete(node.key, cancelled.id)
    assert refused.value.code == "InvalidAction.TaskCancelled"


async def test_deleting_a_finished_task_removes_its_record_and_files(node: Node) -> None:
    task = await succeed(node, await create(node))
    assert await node.storage.result(task.id, "video.mp4") is not None
    assert await node.service.cancel_or_delete(node.key, task.id) is None
    assert await node.store.get_task(task.id) is None
    assert await node.storage.result(task.id, "video.mp4") is None


async def test_openai_delete_also_removes_a_cancelled_task(node: Node) -> None:
    task = await create(node)
    await node.service.cancel_or_delete(node.key, task.id)
    found = await node.service.delete_or_cancel_video(node.key, task.id)
    assert found.status is Status.CANCELLED and await node.store.get_task(task.id) is None


# -- drafts -------------------------------------------------------------------------------------------------------


async def test_a_final_video_takes_its_drafts_settings(node: Node) -> None:
    draft = await succeed(node, await create(node, model=PRO_15, draft=True, seed=7, duration=4))
    assert draft.spec.draft
    spec, soft = ark.parse_create(
        {"model": PRO_15, "content": [{"type": "draft_task", "draft_task": {"id": draft.id}}], "resolution": "720p"}
    )
    final = await node.service.create(spec, soft, key=node.key, dialect=ark.NAME)
    assert final.spec.draft_task_id == draft.id and not final.spec.draft
    assert (final.spec.seed, final.spec.duration, final.spec.prompt) == (7, 4, draft.spec.prompt)
    assert final.spec.resolution == "720p"


@pytest.mark.parametrize("state", ["missing", "not-a-draft", "queued", "too-old"])
async def test_a_final_video_needs_a_fresh_succeeded_draft(node: Node, state: str) -> None:
    if state == "missing":
        draft_id = "cgt-20250101000000-nosuch"
    else:
        source = await create(node, model=PRO_15, draft=state != "not-a-draft")
        if state != "queued":
            source = await succeed(node, source)
        if state == "too-old":
            async with node.store.engine.begin() as conn:
                await conn.exec_driver_sql(f"UPDATE tasks SET created_at = {time.time() - 8 * 86400}")
        draft_id = source.id
    spec, soft = ark.parse_create(
        {"model": PRO_15, "content": [{"type": "draft_task", "draft_task": {"id": draft_id}}]}
    )
    with pytest.raises(ApiError) as refused:
        await node.service.create(spec, soft, key=node.key, dialect=ark.NAME)
    assert refused.value.status == 400 and draft_id in refused.value.message


async def test_a_final_video_cannot_itself_be_a_draft(node: Node) -> None:
    spec, soft = ark.parse_create(
        {"model": PRO_15, "content": [{"type": "draft_task", "draft_task": {"id": "cgt-x"}}], "draft": True}
    )
    with pytest.raises(ApiError) as refused:
        await node.service.create(spec, soft, key=node.key, dialect=ark.NAME)
    assert "cannot itself be a draft" in refused.value.message


# -- remix --------------------------------------------------------------------------------------------------------


async def test_remix_repeats_a_succeeded_task_with_a_new_prompt(node: Node) -> None:
    source = await succeed(node, await create(node, duration=5))
    remix = await node.service.remix(
        node.key, source.id, "the same, at night", dialect="openai", status_word=str, wire_names={}
    )
    assert remix.spec.remix_of == source.id and remix.spec.prompt == "the same, at night"
    assert (remix.spec.model, remix.spec.duration) == (source.spec.model, 5)


async def test_only_a_succeeded_task_can_be_remixed(node: Node) -> None:
    source = await create(node)
    with pytest.raises(ApiError) as refused:
        await node.service.remix(
            node.key, source.id, "again", dialect="openai", status_word=lambda s: f"<{s.value}>", wire_names={}
        )
    assert refused.value.status == 400 and "<queued>" in refused.value.message


# -- webhook endpoints --------------------------------------------------------------------------------------------


async def test_endpoints_belong_to_their_owner_and_rotate_their_secret(node: Node) -> None:
    endpoints = node.service.endpoints
    made = await endpoints.create(node.key.id, name="hook", url=CALLBACK, event_types=["video.completed"])
    assert [e.id for e in await endpoints.list(node.key.id)] == [made.id]
    with pytest.raises(ApiError) as refused:
        await endpoints.get("someone-else", made.id)
    assert refused.value.status == 404
    rotated = await endpoints.rotate_secret(made, keep_old=True)
    assert rotated.secret != made.secret and rotated.previous_secret == made.secret
    assert rotated.signing_secrets(time.time()) == f"{rotated.secret} {made.secret}"
    updated = await endpoints.update(node.key.id, made.id, {"name": "renamed"})
    assert updated.name == "renamed"
    assert await endpoints.delete(node.key.id, made.id)
    assert await endpoints.list(node.key.id) == []


# -- the running webhook --------------------------------------------------------------------------------------------


async def test_a_first_claim_queues_the_running_webhook_with_it(node: Node) -> None:
    task = await create(node, callback_url=CALLBACK)
    claimed = await node.store.claim("unit-worker", ["preview"], 0.0, webhooks_for=node.service.webhooks_for)
    assert claimed is not None and claimed.id == task.id
    [queued, running] = await node.service.webhook_history(claimed)  # Ark calls back on every status
    assert queued["payload"]["status"] == "queued"
    assert running["url"] == CALLBACK and running["payload"]["status"] == "running"
    # The lease (0 s) has run out: a second claim takes the task again but does not announce it twice.
    again = await node.store.claim("other-worker", ["preview"], 30, webhooks_for=node.service.webhooks_for)
    assert again is not None and again.attempts == 2
    assert len(await node.service.webhook_history(again)) == 2


async def test_an_unreadable_task_does_not_stall_the_queue(node: Node) -> None:
    """A row no plan can be read from (written by a newer version, edited by hand) fails its own claim, but it is
    taken off the queue all the same, so the next claim gets the next task."""
    broken = await create(node)
    behind = await create(node)
    async with node.store.engine.begin() as conn:
        await conn.exec_driver_sql(
            "UPDATE tasks SET spec = ? WHERE id = ?", ('{"model": "m", "media": [{"not_a_field": 1}]}', broken.id)
        )
    with pytest.raises(TypeError):
        await node.store.claim("unit-worker", ["preview"], 30, webhooks_for=node.service.webhooks_for)
    claimed = await node.store.claim("unit-worker", ["preview"], 30, webhooks_for=node.service.webhooks_for)
    assert claimed is not None and claimed.id == behind.id


# -- a router on its own --------------------------------------------------------------------------------------------


async def test_a_dialect_router_serves_alone_on_the_service(node: Node) -> None:
    """Module-level routers need nothing but a runtime with a service in the app state (api/deps.py)."""
    app = FastAPI()
    app.state.runtime = SimpleNamespace(service=node.service)
    app.include_router(ark.router)
    app.add_exception_handler(ApiError, lambda _, error: ark.render_error(error, "rid"))
    body = {"model": PRO, "content": [{"type": "text", "text": "a lighthouse"}]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://unit") as http:
        refused = await http.post(ark.PREFIX, json=body)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "AuthenticationError"
        made = await http.post(ark.PREFIX, json=body, headers={"Authorization": f"Bearer {node.secret}"})
        assert made.status_code == 200
        read = await http.get(f"{ark.PREFIX}/{made.json()['id']}", headers={"Authorization": f"Bearer {node.secret}"})
    assert read.json()["status"] == "queued"


# -- reads and files routes use instead of the store and the storage ----------------------------------------------


async def other_key(node: Node) -> ApiKey:
    key, _ = await create_key(node.store, "other")
    return key


async def test_owned_task_is_the_owners_or_none(node: Node) -> None:
    task = await create(node)
    owned = await node.service.owned_task(node.key.id, task.id)
    assert owned is not None and owned.id == task.id
    assert await node.service.owned_task((await other_key(node)).id, task.id) is None
    assert await node.service.owned_task(node.key.id, "cgt-20250101000000-nope") is None


async def test_result_files_are_plain_names_of_stored_files(node: Node) -> None:
    task = await succeed(node, await create(node))
    video = await node.service.video_file(task)
    assert video is not None and video.size == len(b"not really a video")
    assert await node.service.result_file(task.id, "video.mp4") == video
    for name in ("../video.mp4", ".hidden", "missing.mp4", ""):
        assert await node.service.result_file(task.id, name) is None
    assert await node.service.video_file(await create(node)) is None  # queued: no result yet


async def test_blob_file_is_a_stored_blob_by_its_hash(node: Node) -> None:
    part = node.storage.tmp / "part"
    part.write_bytes(b"bytes")
    digest = await node.storage.adopt_blob(part, "ab" * 32)
    blob = await node.service.blob_file(digest)
    assert blob is not None and blob.size == 5 and (await node.storage.blob_path(digest)).read_bytes() == b"bytes"
    assert await node.service.blob_file("cd" * 32) is None  # never stored
    assert await node.service.blob_file("../" + digest) is None  # not a hash


async def test_a_result_that_is_no_video_is_refused_as_a_reference_and_leaves_nothing(node: Node) -> None:
    task = await succeed(node, await create(node))
    assert await node.service.video_file(task) is not None
    with pytest.raises(ApiError) as refused:
        await node.service.video_from_result(task, "video.id")
    assert refused.value.status == 400 and refused.value.param == "video.id"
    assert [p for p in node.storage.tmp.rglob("*") if p.is_file()] == []
    assert [d async for d in node.storage.blob_digests()] == []


async def test_asset_reads_are_the_owners_and_lookup_is_anyones(node: Node) -> None:
    library = node.service.assets
    mine = await library.create_from_url(node.key.id, "https://example.com/a.png", kind="image", name="Lighthouse")
    other = await other_key(node)
    found = await library.find(node.key.id, mine.id)
    assert found is not None and found.name == "Lighthouse"
    assert await library.find(other.id, mine.id) is None
    looked_up = await library.lookup(mine.id)
    assert looked_up is not None and looked_up.owner == node.key.id
    assert await library.lookup("asset-nope") is None


async def test_by_ids_keeps_to_the_owner_and_asks_nothing_of_no_ids(node: Node) -> None:
    library = node.service.assets
    first = await library.create_from_url(node.key.id, "https://example.com/1.png", kind="image")
    second = await library.create_from_url(node.key.id, "https://example.com/2.png", kind="image")
    theirs = await library.create_from_url((await other_key(node)).id, "https://example.com/3.png", kind="image")
    assert await library.by_ids(node.key.id, [], limit=10) == []  # not "all of them"
    found = await library.by_ids(node.key.id, [first.id, second.id, theirs.id, "asset-nope"], limit=10)
    assert {a.id for a in found} == {first.id, second.id}
    assert len(await library.by_ids(node.key.id, [first.id, second.id], limit=1)) == 1


async def test_by_name_matches_part_of_a_name_in_any_case_and_kind(node: Node) -> None:
    library = node.service.assets
    video = await library.create_from_url(node.key.id, "https://example.com/v.mp4", kind="video", name="Captain Mo")
    await library.create_from_url(node.key.id, "https://example.com/a.wav", kind="audio", name="Captain's theme")
    found = await library.by_name(node.key.id, "captain", kinds=("video", "image"), limit=20)
    assert [a.id for a in found] == [video.id]


async def test_asset_and_group_pages_filter_count_and_page(node: Node) -> None:
    library = node.service.assets
    group = await library.create_group(node.key.id, "Cast")
    made = [
        await library.create_from_url(node.key.id, f"https://example.com/{i}.png", kind="image", group_id=group.id)
        for i in range(3)
    ]
    await library.create_from_url(node.key.id, "https://example.com/v.mp4", kind="video")
    total, page = await library.list_assets(node.key.id, group_ids=[group.id], offset=1, limit=1)
    assert total == 3 and [a.id for a in page] == [made[1].id]  # newest first
    total, _ = await library.list_assets(node.key.id, kinds=["video"])
    assert total == 1
    await library.create_group(node.key.id, "Props")
    total, groups = await library.list_groups(node.key.id, name="cas")
    assert total == 1 and [g.id for g in groups] == [group.id]
    total, _ = await library.list_groups((await other_key(node)).id)
    assert total == 0


async def test_a_record_asset_is_active_at_once_and_holds_no_media(node: Node) -> None:
    library = node.service.assets
    asset = await library.add_record(node.key.id, "https://example.com/script.txt", "script", {"type": "text"})
    stored = await library.find(node.key.id, asset.id)
    assert stored is not None and stored.status is AssetStatus.ACTIVE and stored.kind is None and stored.blob is None
    assert stored.source_url == "https://example.com/script.txt" and stored.metadata == {"type": "text"}
    assert stored.expires_at == pytest.approx(stored.created_at + 3600)


# -- idempotent create and budgets ---------------------------------------------------------------------------------


async def test_a_repeated_idempotency_key_answers_the_first_task(node: Node) -> None:
    spec, soft = ark_spec()
    first = await node.service.create(spec, soft, key=node.key, dialect=ark.NAME, idempotency_key="retry-1")
    again = await node.service.create(spec, soft, key=node.key, dialect=ark.NAME, idempotency_key="retry-1")
    assert again.id == first.id
    other = await node.service.create(spec, soft, key=node.key, dialect=ark.NAME, idempotency_key="retry-2")
    assert other.id != first.id
    assert (await node.service.create(spec, soft, key=node.key, dialect=ark.NAME)).id not in (first.id, other.id)
    stranger = await other_key(node)  # keys are per caller: another key's identical key is its own
    theirs = await node.service.create(spec, soft, key=stranger, dialect=ark.NAME, idempotency_key="retry-1")
    assert theirs.id != first.id


async def test_an_idempotency_key_reused_for_another_request_is_refused(node: Node) -> None:
    spec, soft = ark_spec()
    await node.service.create(spec, soft, key=node.key, dialect=ark.NAME, idempotency_key="k")
    changed, soft = ark_spec(resolution="480p")
    with pytest.raises(ApiError) as refused:
        await node.service.create(changed, soft, key=node.key, dialect=ark.NAME, idempotency_key="k")
    assert refused.value.status == 422 and refused.value.param == "Idempotency-Key"


async def test_concurrent_repeats_make_one_task(node: Node) -> None:
    spec, soft = ark_spec()
    made = await asyncio.gather(
        *(node.service.create(spec, soft, key=node.key, dialect=ark.NAME, idempotency_key="burst") for _ in range(8))
    )
    assert len({task.id for task in made}) == 1
    total, _ = await node.service.list(node.key)
    assert total == 1


async def test_a_limited_key_reserves_its_estimate_and_is_refused_in_arks_words(node: Node) -> None:
    budget = await node.store.budgets.create(Budget("", "unit budget", "tokens", limit=300_000))
    await node.store.budgets.link(node.key.id, budget.id)
    key = await node.store.key_by_id(node.key.id)
    assert key is not None and key.limited
    spec, soft = ark_spec(resolution="720p", duration=5)  # 1248x704, 121 frames: 103,818 tokens
    task = await node.service.create(spec, soft, key=key, dialect=ark.NAME)
    assert task.billing is not None and task.billing.budgets == (budget.id,)
    assert task.billing.estimate.tokens == 1248 * 704 * 121 // 1024
    await node.service.create(spec, soft, key=key, dialect=ark.NAME)
    with pytest.raises(ApiError) as refused:
        await node.service.create(spec, soft, key=key, dialect=ark.NAME)
    assert (refused.value.status, refused.value.code) == (429, "SetLimitExceeded")
    assert "'unit budget'" in refused.value.message
    await node.service.cancel_or_delete(key, task.id)  # a cancel gives the reservation back
    await node.service.create(spec, soft, key=key, dialect=ark.NAME)
