"""OpenAI `/v1/videos` through the official `openai` npm package under node (majors 7 and 6).

openai-node sends create, edit, extend and characters always as multipart with bracket keys (`input_reference[
image_url]`, `video[id]`, `characters[][id]`), unlike the Python SDK: tests/node/videos.mjs drives every video
operation, and this module checks its answers and the MP4s it downloaded with PyAV.

The npm packages are pinned in tests/node/package.json (+ package-lock.json) and installed into the git-ignored
tests/node/node_modules by `npm ci` the first time this module runs (`make node` installs Debian's node and npm
when missing; `make test-all` does it). Without node and npm the tests fail under CI=true or SEEDGATE_REQUIRE_NODE
(.ci/run sets it), and are skipped, with the reason, elsewhere.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI

from .conftest import API_KEY, MediaServer, Server, WebhookReceiver
from .media import image_bytes, inspect_video, video_bytes

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NODE_DIR = Path(__file__).parent / "node"
PACKAGES = ("openai", "openai6")  # the names package.json installs 7.x and 6.x under
MODEL = "doubao-seedance-2-0-260128"


def _cannot_run(reason: str) -> None:
    """Fail where these tests must run (CI=true, or SEEDGATE_REQUIRE_NODE as .ci/run sets); skip, saying why,
    elsewhere."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes") or os.environ.get("SEEDGATE_REQUIRE_NODE"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node() -> str:
    """The node binary, with tests/node's pinned packages installed."""
    node_bin, npm_bin = shutil.which("node"), shutil.which("npm")
    if not node_bin or not npm_bin:
        _cannot_run("node and npm are needed to run the openai npm package (Debian: apt-get install nodejs npm)")
    assert node_bin and npm_bin
    if not all((NODE_DIR / "node_modules" / name / "package.json").is_file() for name in PACKAGES):
        done = subprocess.run(
            [npm_bin, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0:
            _cannot_run(f"npm ci in {NODE_DIR} failed:\n{done.stderr[-2000:]}")
    return node_bin


def run_node(
    node: str, package: str, server: Server, media_server: MediaServer, webhooks: WebhookReceiver, out: Path
) -> dict[str, Any]:
    clip = out / "clip.mp4"
    hook_path = f"/node-{package}-{secrets.token_hex(4)}"  # the receiver is shared by the sqlite and postgres runs
    video_bytes(clip, width=720, height=720, seconds=3)
    env = {
        **os.environ,
        "SEEDGATE_URL": server.url,
        "SEEDGATE_KEY": API_KEY,
        "MODEL": MODEL,
        "OUT": str(out),
        "IMAGE_URL": media_server.add(f"node-{package}.png", image_bytes(1280, 720)),
        "VIDEO_PATH": str(clip),
        "WEBHOOK_URL": webhooks.url + hook_path,
    }
    done = subprocess.run(
        [node, "videos.mjs", package], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"node failed:\n{done.stderr[-4000:]}\n{server.log()[-3000:]}"
    return {**json.loads(done.stdout), "hook_path": hook_path}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_video_operation_through_openai_node(
    node: str, package: str, server: Server, media_server: MediaServer, webhooks: WebhookReceiver, tmp_path: Path
) -> None:
    result = run_node(node, package, server, media_server, webhooks, tmp_path)

    created = result["created"]
    assert created["object"] == "video" and created["status"] in ("queued", "in_progress")
    assert created["model"] == MODEL and created["seconds"] == "4" and created["size"] == "864x496"
    assert result["completed"]["status"] == "completed" and result["completed"]["progress"] == 100

    def mp4(name: str) -> Any:
        return inspect_video((tmp_path / result["files"][name]).read_bytes())

    facts = mp4("created")
    assert (facts.codec, facts.width, facts.height, facts.frames) == ("h264", 864, 496, 97)
    # edit: same length and size as the source; extend: the stitched total.
    assert result["edited"]["status"] == "completed" and result["edited"]["seconds"] == "4"
    assert (mp4("edited").width, mp4("edited").height, mp4("edited").frames) == (864, 496, 97)
    assert result["extended_created"]["seconds"] == "8" and result["extended"]["status"] == "completed"
    assert mp4("extended").frames == 8 * 24 + 1
    # An uploaded 720x720 3 s clip: the edit follows its 1:1 ratio, at 2.0's 720p, for at least 4 s.
    assert result["uploaded_edit"]["size"] == "960x960" and result["uploaded_edit"]["seconds"] == "4"
    assert (mp4("uploaded_edit").width, mp4("uploaded_edit").height) == (960, 960)

    character = result["character"]
    assert character["name"] == f"Boaty-{package}" and character["id"].startswith("asset-")
    assert result["character_again"] == character
    # Text alone would be 16:9; the square character video made the adaptive ratio 1:1.
    assert result["with_character"]["status"] == "completed" and result["with_character"]["size"] == "960x960"
    assert mp4("with_character").width == 960
    assert result["remix"]["remixed_from_video_id"] == created["id"] and result["remix"]["status"] == "completed"
    assert len(result["page"]["ids"]) == 2 and result["page"]["has_more"]

    errors = result["errors"]
    assert errors["unknown_source"] == {
        "status": 404,
        "param": "video.id",
        "type": "invalid_request_error",
        "code": "not_found",
    }
    assert errors["too_long"]["status"] == 400 and errors["too_long"]["param"] == "seconds"
    assert errors["unknown_character"]["status"] == 404 and errors["unknown_character"]["param"] == "character_id"
    assert errors["bad_size"]["status"] == 400 and errors["bad_size"]["param"] == "size"

    if package == "openai":  # webhook endpoint management is in the 7.x line only
        test = result["webhook_test"]
        assert test["object"] == "webhook_endpoint.test" and test["status_code"] == 200 and test["success"]
        with webhooks.lock:
            [sample] = [c for c in webhooks.calls if c.path == result["hook_path"]]
        event = OpenAI(api_key="unused").webhooks.unwrap(sample.raw, sample.headers, secret=result["webhook_secret"])
        assert event.type == "video.completed"
