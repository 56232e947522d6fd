"""One seedgate node storing everything in a real S3 server (SeaweedFS, tests/s3.py): inputs and results go to the
bucket, nothing to the node's data directory; results are proxied with range requests, or handed out as presigned
links straight to the bucket; deleting a task deletes its objects. The fleet of nodes is tests/test_fleet.py."""

from __future__ import annotations

import asyncio
import base64
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI
from volcenginesdkarkruntime import Ark

from seedgate.media.objects import ObjectStore

from .conftest import API_KEY, Database, Server, server_env, start_server, wait_status
from .media import image_bytes, inspect_video
from .s3 import S3Server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MODEL = "doubao-seedance-1-0-pro-250528"


def keys_under(s3: S3Server, prefix: str) -> set[str]:
    async def listed() -> set[str]:
        store = ObjectStore.from_url(s3.url(prefix), s3.env())
        return {info.key async for info in store.list()}

    return asyncio.run(listed())


def node(s3: S3Server, root: Path, links: str) -> tuple[Server, str]:
    prefix = f"node-{secrets.token_hex(4)}"
    env = {**s3.env(), "SEEDGATE_STORAGE_URL": s3.url(prefix), "SEEDGATE_RESULT_LINKS": links}
    return start_server(Database("sqlite", None), root / prefix, "--workers", "1", **env), prefix


@pytest.fixture(scope="module")
def proxied(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    srv, prefix = node(s3_server, tmp_path_factory.mktemp("s3-proxy"), "proxy")
    yield srv, prefix
    srv.stop()


def first_frame_task(srv: Server) -> Any:
    ark: Any = Ark(base_url=srv.ark_base, api_key=API_KEY, max_retries=0)
    image = "data:image/png;base64," + base64.b64encode(image_bytes(640, 360)).decode()
    created = ark.content_generation.tasks.create(
        model=MODEL,
        content=[{"type": "text", "text": "a kite over the sea"}, {"type": "image_url", "image_url": {"url": image}}],
        resolution="480p",
        duration=2,
        return_last_frame=True,
    )
    task = wait_status(lambda i: ark.content_generation.tasks.get(task_id=i), created.id)
    assert task.status == "succeeded", task
    return task


def test_inputs_and_results_live_in_the_bucket_and_are_proxied_with_ranges(
    proxied: tuple[Server, str], s3_server: S3Server
) -> None:
    srv, prefix = proxied
    task = first_frame_task(srv)
    keys = keys_under(s3_server, prefix)
    assert {f"results/{task.id}/video.mp4", f"results/{task.id}/last_frame.png"} <= keys
    assert any(key.startswith("blobs/") for key in keys)  # the first frame, stored by its hash
    stored_locally = [p for p in (srv.data_dir / "results").rglob("*") if p.is_file()]
    stored_locally += [p for p in (srv.data_dir / "blobs").rglob("*") if p.is_file()]
    assert stored_locally == []  # the node keeps no copy of its own: another node reads the bucket

    url = task.content.video_url
    assert url.startswith(srv.url + "/files/")
    whole = httpx.get(url, timeout=30)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    facts = inspect_video(whole.content)
    assert (facts.codec, facts.width, facts.height) == ("h264", 864, 480)
    ranged = httpx.get(url, headers={"Range": "bytes=100-199"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == whole.content[100:200]
    assert ranged.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    head = httpx.head(url, timeout=30)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(whole.content))
    frame = httpx.get(task.content.last_frame_url, timeout=30)
    assert frame.status_code == 200 and frame.content.startswith(b"\x89PNG")


def test_openai_content_variants_and_delete_go_through_the_bucket(
    proxied: tuple[Server, str], s3_server: S3Server
) -> None:
    srv, prefix = proxied
    client = OpenAI(base_url=f"{srv.url}/v1", api_key=API_KEY, max_retries=0)
    video = client.videos.create(prompt="a lighthouse at dusk", model="doubao-seedance-2-0-260128", seconds="4")
    done = wait_status(lambda i: client.videos.retrieve(i), video.id, ("completed", "failed"))
    assert done.status == "completed", done
    assert inspect_video(client.videos.download_content(done.id).read()).frames > 0
    thumbnail = client.videos.download_content(done.id, variant="thumbnail").read()
    assert thumbnail[:4] == b"RIFF" and thumbnail[8:12] == b"WEBP"
    assert f"results/{done.id}/thumbnail.webp" in keys_under(s3_server, prefix)  # made once, stored beside
    client.videos.delete(done.id)
    assert not any(key.startswith(f"results/{done.id}/") for key in keys_under(s3_server, prefix))


def test_presigned_links_point_at_the_bucket(s3_server: S3Server, tmp_path: Path) -> None:
    srv, _prefix = node(s3_server, tmp_path, "presigned")
    try:
        task = first_frame_task(srv)
        url = task.content.video_url
        assert url.startswith(s3_server.endpoint) and "X-Amz-Signature=" in url and "X-Amz-Expires=" in url
        direct = httpx.get(url, timeout=30)  # no key, no seedgate: the bucket serves it
        assert direct.status_code == 200 and inspect_video(direct.content).codec == "h264"
        tampered = httpx.get(url.replace(task.id, task.id[:-1] + "0"), timeout=30)
        assert tampered.status_code == 403
    finally:
        srv.stop()


def test_a_bad_storage_setting_is_one_line(tmp_path: Path) -> None:
    env = server_env(Database("sqlite", None), tmp_path / "data")
    for extra in (
        {"SEEDGATE_RESULT_LINKS": "presigned"},  # no object store to sign with
        {"SEEDGATE_RESULT_LINKS": "sometimes"},
        {"SEEDGATE_STORAGE_URL": "ftp://host/bucket"},
        {"SEEDGATE_STORAGE_URL": "s3://bucket/p", "AWS_ENDPOINT_URL": "http://s3.example.com"},  # plain http, public
    ):
        done = subprocess.run(
            [sys.executable, "-m", "seedgate.cli", "serve", "--port", "1"],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: configuration:"), done.stderr
