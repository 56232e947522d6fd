"""media/storage.py on its two kinds of backend: the local data directory (bytes moved in and read in place) and an
object store (here obstore's in-memory one, which takes the same code path as S3: uploads, downloads into the
node's cache, listings); and api/files.py's answers from it, range requests included. The same code against the
real S3 server is tests/test_storage_s3.py."""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import seedgate.media.storage as storage_module
from seedgate.api.files import parse_range, stored_response
from seedgate.core.errors import ApiError
from seedgate.media.objects import ObjectStore
from seedgate.media.storage import Storage

DIGEST = "ab" * 32


class Claims:
    """The database's blob record, in memory: which digests a collector is deleting right now."""

    def __init__(self) -> None:
        self.touched: dict[str, float] = {}
        self.deleting: dict[str, int] = {}  # digest -> how many more touches still find it being deleted

    async def touch(self, digests: Collection[str], now: float) -> set[str]:
        busy = set()
        for digest in digests:
            if self.deleting.get(digest, 0) > 0:
                self.deleting[digest] -= 1
                busy.add(digest)
            else:
                self.touched[digest] = now
        return busy


@pytest.fixture(params=["local", "object-store"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    objects = ObjectStore.from_url("memory://") if request.param == "object-store" else None
    return Storage(tmp_path / "node", objects, Claims())


def part(storage: Storage, data: bytes, name: str = "upload.part") -> Path:
    path = storage.tmp / name
    path.write_bytes(data)
    return path


async def test_a_blob_is_stored_once_by_hash_and_read_back_on_disk(storage: Storage) -> None:
    assert await storage.adopt_blob(part(storage, b"input bytes"), DIGEST) == DIGEST
    assert not (storage.tmp / "upload.part").exists()  # consumed
    await storage.adopt_blob(part(storage, b"input bytes", "again.part"), DIGEST)  # same content again: harmless
    stored = await storage.blob(DIGEST)
    assert stored is not None and stored.size == len(b"input bytes") and stored.key == f"blobs/ab/{DIGEST}"
    assert (stored.path is not None) == (not storage.remote)  # the local backend serves files in place
    assert (await storage.blob_path(DIGEST)).read_bytes() == b"input bytes"
    assert await storage.reuse_blob(DIGEST)
    assert [d async for d in storage.blob_digests()] == [DIGEST]


async def test_a_missing_or_malformed_blob_is_none_or_not_found(storage: Storage) -> None:
    assert await storage.blob("cd" * 32) is None
    assert await storage.blob("../etc") is None
    assert not await storage.reuse_blob("cd" * 32)
    assert not await storage.reuse_blob("../" + DIGEST)
    with pytest.raises(FileNotFoundError):
        await storage.blob_path("cd" * 32)


async def test_an_object_store_blob_is_read_into_the_cache_once(tmp_path: Path) -> None:
    objects = ObjectStore.from_url("memory://")
    writer = Storage(tmp_path / "api-node", objects)
    await writer.adopt_blob(part(writer, b"shared through the store"), DIGEST)
    reader = Storage(tmp_path / "worker", objects)  # another node: its own disk, the same store
    first = await reader.blob_path(DIGEST)
    assert first.is_relative_to(reader.cache) and first.read_bytes() == b"shared through the store"
    old = time.time() - 3600
    os.utime(first, (old, old))
    assert await reader.blob_path(DIGEST) == first and first.stat().st_mtime > old  # a hit marks it used
    await reader.delete_blob(DIGEST)
    assert not first.exists() and await writer.blob(DIGEST) is None


async def test_results_are_stored_whole_served_by_name_and_deleted_together(storage: Storage) -> None:
    folder = storage.scratch("cgt-1")
    (folder / "video.mp4").write_bytes(b"video")
    (folder / "last_frame.png").write_bytes(b"png")
    (folder / ".video.mp4.part").write_bytes(b"half")  # an engine's part file is not a result
    await storage.store_results("cgt-1", folder)
    assert not folder.exists()
    video = await storage.result("cgt-1", "video.mp4")
    assert video is not None and video.size == 5 and video.name == "video.mp4"
    assert await storage.result("cgt-1", ".video.mp4.part") is None
    for name in ("../cgt-1/video.mp4", "", ".hidden", "missing.mp4", "a\\b"):
        assert await storage.result("cgt-1", name) is None
        assert await storage.result_path("cgt-1", name) is None
    path = await storage.result_path("cgt-1", "last_frame.png")
    assert path is not None and path.read_bytes() == b"png"
    assert await storage.head_bytes(video, 3) == b"vid"

    again = storage.scratch("cgt-1")  # a later still (a thumbnail) joins the results; a rerun replaces a file
    (again / "video.mp4").write_bytes(b"video 2")
    (again / "thumbnail.webp").write_bytes(b"webp")
    await storage.store_results("cgt-1", again)
    assert (await storage.result("cgt-1", "video.mp4")).size == 7  # type: ignore[union-attr]

    await storage.delete_results("cgt-1")
    for name in ("video.mp4", "last_frame.png", "thumbnail.webp"):
        assert await storage.result("cgt-1", name) is None
    await storage.delete_results("cgt-1")  # twice (two nodes' sweeps): harmless


async def test_deleting_one_tasks_results_leaves_a_task_whose_id_extends_it(storage: Storage) -> None:
    for task_id in ("cgt-1", "cgt-10"):
        folder = storage.scratch(task_id)
        (folder / "video.mp4").write_bytes(task_id.encode())
        await storage.store_results(task_id, folder)
    await storage.delete_results("cgt-1")
    assert await storage.result("cgt-10", "video.mp4") is not None


async def test_a_create_waits_while_a_collector_deletes_the_blob_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claims = Claims()
    monkeypatch.setattr(storage_module, "_CLAIM_POLL_S", 0.01)
    storage = Storage(tmp_path, None, claims)
    claims.deleting[DIGEST] = 3  # the collector finishes after three looks
    await storage.adopt_blob(part(storage, b"stored again after the collector"), DIGEST)
    assert DIGEST in claims.touched and (await storage.blob_path(DIGEST)).read_bytes().startswith(b"stored again")

    monkeypatch.setattr(storage_module, "CLAIM_WAIT_S", 0.05)
    claims.deleting[DIGEST] = 10**6  # a collector that never finishes (its mark is taken over by maintenance)
    with pytest.raises(ApiError) as busy:
        await storage.reuse_blob(DIGEST)
    assert busy.value.status == 503


async def test_only_an_object_store_that_signs_gives_presigned_links(storage: Storage) -> None:
    assert storage.presign("results/cgt-1/video.mp4", time.time() + 60) is None  # local, memory: seedgate serves


async def test_purge_removes_old_scratch_and_cache_files_only(tmp_path: Path) -> None:
    storage = Storage(tmp_path)
    old_part = part(storage, b"x", "old.part")
    new_part = part(storage, b"y", "new.part")
    work = storage.scratch("cgt-1")
    (work / "video.mp4").write_bytes(b"z")
    cached = storage.cache / "blobs" / "ab" / DIGEST
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"c")
    old = time.time() - 7200
    for path in (old_part, work / "video.mp4", cached):
        os.utime(path, (old, old))
    assert storage.purge_scratch_older_than(time.time() - 3600) == 3
    assert new_part.exists() and not old_part.exists() and not work.exists() and not cached.parent.exists()


async def test_purge_keeps_a_fresh_empty_work_folder(tmp_path: Path) -> None:
    # A render makes its work folder before the encoder writes into it; a purge in between must leave it.
    storage = Storage(tmp_path)
    work = storage.scratch("cgt-1")
    assert storage.purge_scratch_older_than(time.time() - 3600) == 0
    assert work.is_dir()


@pytest.mark.parametrize(
    ("header", "wanted"),
    [
        ("bytes=0-9", (0, 10)),
        ("bytes=10-", (10, 100)),
        ("bytes=-10", (90, 100)),
        ("bytes=-1000", (0, 100)),  # more than there is: all of it
        ("bytes=90-1000", (90, 100)),
        ("BYTES=5-5", (5, 6)),
        ("bytes=100-", (None, None)),  # starts past the end: 416
        ("bytes=-0", (None, None)),
        ("bytes=9-3", None),  # malformed: the whole file
        ("bytes=0-1,5-6", None),  # several ranges: the whole file (allowed)
        ("items=0-1", None),
        ("bytes=-", None),
        ("bytes=" + "9" * 5000 + "-", None),  # a number too long to be an offset
        ("bytes=٣-", None),  # only ASCII digits
    ],
)
def test_range_headers(header: str, wanted: object) -> None:
    assert parse_range(header, 100) == wanted


@pytest.fixture(params=["local", "object-store"])
async def served(request: pytest.FixtureRequest, tmp_path: Path) -> httpx.AsyncClient:
    objects = ObjectStore.from_url("memory://") if request.param == "object-store" else None
    storage = Storage(tmp_path / "node", objects)
    folder = storage.scratch("cgt-1")
    (folder / "video.mp4").write_bytes(bytes(range(100)))
    await storage.store_results("cgt-1", folder)

    async def video(_request: Request) -> Response:
        stored = await storage.result("cgt-1", "video.mp4")
        assert stored is not None
        return stored_response(storage, stored, "video/mp4", {"Cache-Control": "private"})

    app = Starlette(routes=[Route("/video", video, methods=["GET", "HEAD"])])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node")


async def test_a_stored_file_is_answered_whole_in_ranges_and_to_head(served: httpx.AsyncClient) -> None:
    whole = await served.get("/video")
    assert whole.status_code == 200 and whole.content == bytes(range(100))
    assert whole.headers["content-type"] == "video/mp4" and whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["cache-control"] == "private" and whole.headers["content-length"] == "100"
    part_ = await served.get("/video", headers={"Range": "bytes=10-19"})
    assert part_.status_code == 206 and part_.content == bytes(range(10, 20))
    assert part_.headers["content-range"] == "bytes 10-19/100"
    tail = await served.get("/video", headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == bytes(range(95, 100))
    past = await served.get("/video", headers={"Range": "bytes=200-"})
    assert past.status_code == 416 and past.headers["content-range"] == "bytes */100"
    head = await served.head("/video")
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == "100"
