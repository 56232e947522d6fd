"""The user commands (submit, status, wait, download, assets, models --remote) through real processes against a
real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import API_KEY, Server, free_port
from .media import image_bytes, inspect_video


def seedgate(
    *args: str, url: str, key: str = API_KEY, cwd: Path | None = None, columns: int = 200
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDGATE_")}
    env.update(SEEDGATE_URL=url, SEEDGATE_API_KEY=key, COLUMNS=str(columns))  # 200: tables do not wrap IDs
    return subprocess.run(
        [sys.executable, "-m", "seedgate.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180
    )


def test_the_issue_example(server: Server, tmp_path: Path) -> None:
    (tmp_path / "first.jpg").write_bytes(image_bytes(1280, 720, (250, 0, 0), "JPEG"))
    (tmp_path / "last.jpg").write_bytes(image_bytes(1280, 720, (0, 0, 250), "JPEG"))
    done = seedgate(
        "submit",
        "a cat yawns",
        "--image",
        "first.jpg",
        "--last",
        "last.jpg",
        "--wait",
        "-o",
        "cat.mp4",
        "--resolution",
        "480p",
        "--duration",
        "2",
        url=server.url,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "saved cat.mp4" in done.stdout
    facts = inspect_video((tmp_path / "cat.mp4").read_bytes())
    assert (facts.codec, facts.width, facts.height, facts.frames) == ("h264", 864, 480, 49)
    assert "succeeded" in done.stderr  # the progress bar's last state


def test_json_submit_status_wait_download(server: Server, tmp_path: Path) -> None:
    created = seedgate("submit", "a paper boat", "--resolution", "480p", "--duration", "2", "--json", url=server.url)
    assert created.returncode == 0, created.stderr
    task = json.loads(created.stdout)
    assert task["id"].startswith("cgt-") and task["model"] == "doubao-seedance-1-0-pro-250528"
    waited = seedgate("wait", task["id"], "--json", "-o", str(tmp_path / "boat.mp4"), url=server.url)
    assert waited.returncode == 0, waited.stderr
    finished = json.loads(waited.stdout)  # stdout is the JSON alone: no progress bar
    assert finished["status"] == "succeeded" and finished["progress"] == 100
    assert finished["output"] == str(tmp_path / "boat.mp4") and (tmp_path / "boat.mp4").stat().st_size > 0
    status = seedgate("status", task["id"], "--json", url=server.url)
    assert json.loads(status.stdout)["content"]["video_url"].startswith(server.url)
    human = seedgate("status", task["id"], url=server.url)
    assert human.returncode == 0 and "succeeded" in human.stdout
    got = seedgate("download", task["id"], "-o", str(tmp_path / "again.mp4"), url=server.url)
    assert got.returncode == 0 and inspect_video((tmp_path / "again.mp4").read_bytes()).frames == 49
    plain = seedgate("submit", "plain", "--resolution", "480p", "--duration", "2", url=server.url)
    assert plain.returncode == 0 and plain.stdout.strip().startswith("cgt-")  # the ID alone, for scripts


def test_assets_commands(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "hero.png"
    path.write_bytes(image_bytes(800, 600))
    uploaded = seedgate("assets", "upload", str(path), "--name", "hero", url=server.url)
    assert uploaded.returncode == 0, uploaded.stderr
    asset_id = uploaded.stdout.strip()
    assert asset_id.startswith("asset-")
    shown = json.loads(seedgate("assets", "get", asset_id, "--json", url=server.url).stdout)
    assert shown["status"] == "ready" and shown["name"] == "hero"
    listed = json.loads(seedgate("assets", "list", "--json", url=server.url).stdout)
    assert asset_id in {a["id"] for a in listed}
    assert seedgate("assets", "delete", asset_id, url=server.url).returncode == 0
    missing = seedgate("assets", "get", asset_id, url=server.url)
    assert missing.returncode == 2 and "error" in missing.stderr
    small = tmp_path / "small.png"
    small.write_bytes(image_bytes(100, 100))
    refused = seedgate("assets", "upload", str(small), url=server.url)
    assert refused.returncode == 2 and "300" in refused.stderr


def test_models_remote(server: Server) -> None:
    models = json.loads(seedgate("models", "--remote", "--json", url=server.url).stdout)
    assert "doubao-seedance-2-0-260128" in {m["id"] for m in models}
    assert "doubao-seedance-2-0-260128" in seedgate("models", "--remote", url=server.url).stdout


def test_exit_codes(server: Server, tmp_path: Path) -> None:
    # 2: the server refuses the request as wrong; the message names the parameter, on one stderr line.
    bad = seedgate("submit", "x", "--duration", "13", url=server.url)
    assert bad.returncode == 2 and "duration" in bad.stderr and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1
    # 2: a local file that is not there (checked before anything is uploaded), and a usage error.
    assert seedgate("submit", "x", "--image", str(tmp_path / "nope.jpg"), url=server.url).returncode == 2
    assert seedgate("submit", url=server.url).returncode == 2
    # 3: nothing listens there.
    down = seedgate("status", "cgt-x", url=f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 3 and "cannot reach" in down.stderr
    # 4: a wrong key.
    denied = seedgate("status", "cgt-x", url=server.url, key="sk-wrong")
    assert denied.returncode == 4 and "AuthenticationError" in denied.stderr


def test_a_timed_out_wait_exits_5_and_a_cancelled_task_exits_1(tmp_path: Path) -> None:
    from .conftest import Database, start_server

    idle = start_server(Database("sqlite", None), tmp_path / "idle", "--workers", "0")
    try:
        task_id = seedgate("submit", "never", "--resolution", "480p", "--duration", "2", url=idle.url).stdout.strip()
        # No worker runs it: --timeout gives up waiting, and the task is still there, queued.
        timed_out = seedgate("wait", task_id, "--timeout", "1", url=idle.url)
        assert timed_out.returncode == 5 and f"task {task_id} did not finish within 1 s" in timed_out.stderr
        as_json = seedgate("wait", task_id, "--timeout", "0", "--json", url=idle.url)
        assert as_json.returncode == 5 and json.loads(as_json.stdout)["status"] == "queued"  # the task as last seen
        with idle.client() as http:
            assert http.delete(f"/api/v3/contents/generations/tasks/{task_id}").status_code == 200
        waited = seedgate("wait", task_id, "--json", url=idle.url)
        assert waited.returncode == 1 and json.loads(waited.stdout)["status"] == "cancelled"
        assert "cancelled" in waited.stderr
    finally:
        idle.stop()


def test_links_print_whole_and_errors_stay_one_line(server: Server, tmp_path: Path) -> None:
    import httpx

    task_id = seedgate("submit", "a kite", "--resolution", "480p", "--duration", "2", url=server.url).stdout.strip()
    waited = seedgate("wait", task_id, url=server.url, columns=60)
    assert waited.returncode == 0, waited.stderr
    assert "eta" in waited.stderr  # the progress bar estimates the time left
    video_url = json.loads(seedgate("status", task_id, "--json", url=server.url).stdout)["content"]["video_url"]
    assert waited.stdout.strip() == video_url
    # A terminal 40 columns wide: the signed link is printed whole, on one line, and it works.
    shown = seedgate("status", task_id, url=server.url, columns=40)
    video_line = next(line for line in shown.stdout.splitlines() if line.startswith("video"))
    assert video_line.split()[-1] == video_url and "…" not in shown.stdout
    assert httpx.get(video_url).status_code == 200
    # No last frame was asked for: one unwrapped line, and no "has no a".
    no_png = seedgate("download", task_id, "--last-frame", "-o", str(tmp_path / "last.png"), url=server.url, columns=40)
    assert no_png.returncode == 2
    lines = no_png.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and f"task {task_id} has no last frame (create the task with return_last_frame=True)" in lines[0]
    )
