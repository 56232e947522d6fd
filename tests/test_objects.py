"""media/objects.py's ObjectStore on a local directory and in memory (the fast lane).

tests/test_objects_s3.py runs the same operation tests on a real S3 server (SeaweedFS): each test here takes the
`store` fixture, which that module overrides.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from seedgate.media.objects import PART_SIZE, ObjectInfo, ObjectStore


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return ObjectStore.from_url((tmp_path / "objects").as_uri())
    return ObjectStore.from_url("memory://")


def sample(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


async def joined(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


async def listed(store: ObjectStore, prefix: str = "") -> dict[str, int]:
    return {info.key: info.size async for info in store.list(prefix)}


async def test_a_file_goes_in_and_comes_back(store: ObjectStore, tmp_path: Path) -> None:
    data = sample(tmp_path / "in.mp4", 100_000)
    await store.put_file("results/t1/video.mp4", tmp_path / "in.mp4")
    await store.get_file("results/t1/video.mp4", tmp_path / "out.mp4")
    assert (tmp_path / "out.mp4").read_bytes() == data
    assert await joined(store.read("results/t1/video.mp4")) == data


async def test_a_file_larger_than_a_part_goes_in_parts(store: ObjectStore, tmp_path: Path) -> None:
    data = sample(tmp_path / "big.bin", 2 * PART_SIZE + 12_345)
    await store.put_file("blobs/ab/big", tmp_path / "big.bin")
    assert await store.head("blobs/ab/big") == ObjectInfo("blobs/ab/big", len(data))
    await store.get_file("blobs/ab/big", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == data


async def test_a_byte_range_is_read_as_http_asks(store: ObjectStore, tmp_path: Path) -> None:
    data = sample(tmp_path / "in.bin", 10_000)
    await store.put_file("r/obj", tmp_path / "in.bin")
    assert await joined(store.read("r/obj", 100, 200)) == data[100:200]
    assert await joined(store.read("r/obj", 9_990)) == data[9_990:]
    assert await joined(store.read("r/obj", 0, 1)) == data[:1]


async def test_head_gives_the_size_or_none(store: ObjectStore, tmp_path: Path) -> None:
    sample(tmp_path / "in.bin", 1234)
    await store.put_file("h/obj", tmp_path / "in.bin")
    assert await store.head("h/obj") == ObjectInfo("h/obj", 1234)
    assert await store.head("h/missing") is None


async def test_a_missing_object_reads_as_file_not_found(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await joined(store.read("nothing/here"))
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with pytest.raises(FileNotFoundError):
        await store.get_file("nothing/here", downloads / "out")
    assert list(downloads.iterdir()) == []  # no target, no partial file


async def test_delete_removes_and_tolerates_what_is_gone(store: ObjectStore, tmp_path: Path) -> None:
    sample(tmp_path / "in.bin", 10)
    await store.put_file("d/obj", tmp_path / "in.bin")
    await store.delete("d/obj")
    assert await store.head("d/obj") is None
    await store.delete("d/obj")


async def test_list_by_prefix_matches_whole_segments(store: ObjectStore, tmp_path: Path) -> None:
    sample(tmp_path / "in.bin", 7)
    for key in ("results/t1/video.mp4", "results/t1/last.png", "results/t10/video.mp4", "blobs/aa/aa11"):
        await store.put_file(key, tmp_path / "in.bin")
    assert await listed(store, "results/t1") == {"results/t1/video.mp4": 7, "results/t1/last.png": 7}
    assert set(await listed(store, "results")) == {
        "results/t1/video.mp4",
        "results/t1/last.png",
        "results/t10/video.mp4",
    }
    assert len(await listed(store)) == 4
    assert await listed(store, "nothing") == {}


async def test_only_s3_signs_links(store: ObjectStore, tmp_path: Path) -> None:
    sample(tmp_path / "in.bin", 10)
    await store.put_file("s/obj", tmp_path / "in.bin")
    assert store.sign("s/obj", 60) is None  # local and memory: the caller serves the bytes itself


async def test_a_local_store_is_the_directory_itself(tmp_path: Path) -> None:
    """Keys are paths under the directory, so today's data directory can become a store as it is."""
    store = ObjectStore.from_url(str(tmp_path / "data"))
    sample(tmp_path / "in.bin", 10)
    await store.put_file("results/t1/video.mp4", tmp_path / "in.bin")
    assert (tmp_path / "data" / "results" / "t1" / "video.mp4").read_bytes() == (tmp_path / "in.bin").read_bytes()
    (tmp_path / "data" / "blobs" / "ab").mkdir(parents=True)
    (tmp_path / "data" / "blobs" / "ab" / "abcd").write_bytes(b"xyz")
    assert await store.head("blobs/ab/abcd") == ObjectInfo("blobs/ab/abcd", 3)


@pytest.mark.parametrize(
    "url, env, why",
    [
        ("ftp://host/x", {}, "unsupported storage URL"),
        ("file://elsewhere/x", {}, "not a host"),
        ("s3:///prefix", {}, "names a bucket"),
        ("s3://bucket/p", {"AWS_ENDPOINT_URL": "http://10.0.0.5:8333"}, "plain http"),
    ],
)
def test_a_storage_url_it_cannot_use_is_refused(url: str, env: dict[str, str], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        ObjectStore.from_url(url, env)


def test_plain_http_is_allowed_on_loopback_or_when_asked() -> None:
    ObjectStore.from_url("s3://bucket/p", {"AWS_ENDPOINT_URL": "http://127.0.0.1:8333"})
    ObjectStore.from_url("s3://bucket/p", {"AWS_ENDPOINT_URL": "http://localhost:8333"})
    ObjectStore.from_url("s3://bucket/p", {"AWS_ENDPOINT_URL": "http://s3.internal:8333", "AWS_ALLOW_HTTP": "true"})


def test_s3_settings_come_from_the_aws_variables() -> None:
    from obstore.store import S3Store

    env = {
        "AWS_ENDPOINT_URL": "https://s3.example.test",
        "AWS_REGION": "cn-beijing",
        "AWS_ACCESS_KEY_ID": "AK",
        "AWS_SECRET_ACCESS_KEY": "SK",
        "AWS_SESSION_TOKEN": "ST",
    }
    backend = ObjectStore.from_url("s3://videos/seedgate/prod", env).backend
    assert isinstance(backend, S3Store)
    assert backend.prefix == "seedgate/prod"
    config = backend.config
    assert config["bucket"] == "videos" and config["endpoint"] == "https://s3.example.test"
    assert config["region"] == "cn-beijing"
    assert (config["access_key_id"], config["secret_access_key"], config["session_token"]) == ("AK", "SK", "ST")
