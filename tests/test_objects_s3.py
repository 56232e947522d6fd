"""media/objects.py's ObjectStore on a real S3 server (SeaweedFS, tests/s3.py): the full lane.

Every operation test of tests/test_objects.py runs here again against S3 (this module's `store` fixture overrides
that module's), plus what only S3 does: presigned links, read by a plain HTTP client, ranges included, and a
multipart transfer whose memory stays bounded.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from seedgate.media.objects import PART_SIZE, ObjectStore

from .s3 import S3Server
from .test_objects import (  # noqa: F401 (collected here again, on S3)
    sample,
    test_a_byte_range_is_read_as_http_asks,
    test_a_file_goes_in_and_comes_back,
    test_a_file_larger_than_a_part_goes_in_parts,
    test_a_missing_object_reads_as_file_not_found,
    test_delete_removes_and_tolerates_what_is_gone,
    test_head_gives_the_size_or_none,
    test_list_by_prefix_matches_whole_segments,
)


@pytest.fixture
def store(s3_server: S3Server) -> ObjectStore:
    # A fresh prefix per test: the tests share one bucket and list what they wrote.
    return ObjectStore.from_url(s3_server.url(f"t-{secrets.token_hex(4)}"), s3_server.env())


async def test_a_presigned_link_serves_the_object_and_its_ranges(store: ObjectStore, tmp_path: Path) -> None:
    data = sample(tmp_path / "in.mp4", 50_000)
    await store.put_file("results/t1/video.mp4", tmp_path / "in.mp4")
    link = store.sign("results/t1/video.mp4", 300)
    assert link is not None and "X-Amz-Signature=" in link
    async with httpx.AsyncClient() as http:
        whole = await http.get(link)
        assert whole.status_code == 200 and whole.content == data
        part = await http.get(link, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206
        assert part.content == data[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"


async def test_an_unsigned_or_tampered_link_is_refused(store: ObjectStore, tmp_path: Path) -> None:
    sample(tmp_path / "in.bin", 10)
    await store.put_file("private/obj", tmp_path / "in.bin")
    link = store.sign("private/obj", 300)
    assert link is not None
    async with httpx.AsyncClient() as http:
        assert (await http.get(link.split("?")[0])).status_code == 403
        assert (await http.get(link.replace("private/obj", "private/other"))).status_code == 403


async def test_the_prefix_of_the_url_keeps_stores_apart(s3_server: S3Server, tmp_path: Path) -> None:
    sample(tmp_path / "in.bin", 10)
    first = ObjectStore.from_url(s3_server.url("apart-a"), s3_server.env())
    second = ObjectStore.from_url(s3_server.url("apart-b"), s3_server.env())
    await first.put_file("k", tmp_path / "in.bin")
    assert await second.head("k") is None
    assert [info.key async for info in first.list()] == ["k"]


async def test_wrong_credentials_are_an_error_not_a_miss(s3_server: S3Server, tmp_path: Path) -> None:
    env = {**s3_server.env(), "AWS_SECRET_ACCESS_KEY": "wrong"}
    store = ObjectStore.from_url(s3_server.url("denied"), env)
    sample(tmp_path / "in.bin", 10)
    with pytest.raises(Exception) as caught:
        await store.put_file("k", tmp_path / "in.bin")
    assert not isinstance(caught.value, FileNotFoundError)


# Run in a child process so that its peak resident memory measures this transfer alone.
TRANSFER = textwrap.dedent(
    """
    import asyncio, json, os, resource, sys
    from pathlib import Path
    from seedgate.media.objects import ObjectStore

    url, size, work = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    source = work / "source.bin"
    with source.open("wb") as out:
        for _ in range(size // (1 << 20)):
            out.write(os.urandom(1 << 20))

    def peak() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    async def main() -> None:
        store = ObjectStore.from_url(url)
        await store.head("warm-up")  # the client's threads and connection pool exist before the baseline
        before = peak()
        await store.put_file("big/object", source)
        await store.get_file("big/object", work / "back.bin")
        after = peak()  # before the comparison below reads both files whole
        same = source.read_bytes() == (work / "back.bin").read_bytes()
        print(json.dumps({"before": before, "after": after, "same": same}))

    asyncio.run(main())
    sys.stdout.flush()
    # obstore's runtime threads may still be handing a finished call back to Python: an exit that finalizes the
    # interpreter under them can abort the process (see docs/operations.md, "Object storage").
    os._exit(0)
    """
)


def test_a_large_file_streams_both_ways_in_bounded_memory(s3_server: S3Server, tmp_path: Path) -> None:
    size = 96 << 20
    assert size > 4 * PART_SIZE
    env = {**s3_server.env(), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", TRANSFER, s3_server.url("bounded"), str(size), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout)
    assert measured["same"]
    # Parts in flight (4 x 5 MiB) and read chunks, not the file: well under half of it.
    assert measured["after"] - measured["before"] < size // 2, measured
    print(f"peak memory grew {(measured['after'] - measured['before']) >> 20} MiB for a {size >> 20} MiB file")
