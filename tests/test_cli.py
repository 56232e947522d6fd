"""The `seedgate` command through real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .conftest import free_port


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDGATE_")}
    env["SEEDGATE_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "seedgate.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_help_lists_the_commands(tmp_path: Path) -> None:
    out = run("--help", data_dir=tmp_path).stdout
    for command in ("serve", "worker", "keys", "models", "migrate"):
        assert command in out
    assert "--data-dir" in run("serve", "--help", data_dir=tmp_path).stdout


def test_models_json(tmp_path: Path) -> None:
    models = json.loads(run("models", "--json", data_dir=tmp_path).stdout)
    ids = {m["id"] for m in models}
    assert "doubao-seedance-2-0-260128" in ids and len(models) >= 9


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    created = run("keys", "create", "--name", "ci", data_dir=tmp_path)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("sk-sg-")
    listing = run("keys", "list", data_dir=tmp_path).stdout
    key_id = next(word for word in listing.split() if word.startswith("key_"))
    assert "ci" in listing and secret not in listing
    assert run("keys", "revoke", key_id, data_dir=tmp_path).returncode == 0
    assert run("keys", "revoke", key_id, data_dir=tmp_path).returncode == 1


def test_first_run_creates_an_admin_key(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDGATE_")}
    env["SEEDGATE_LOG_FORMAT"] = "json"
    log_path = tmp_path / "serve.log"
    process = subprocess.Popen([sys.executable, "-m", "seedgate.cli", "serve", "--port", str(port), "--data-dir",
                                str(tmp_path)], env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        secret = (tmp_path / "admin-key.txt").read_text().strip()
        url = f"http://127.0.0.1:{port}/api/v3/contents/generations/tasks"
        assert httpx.get(url, headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        assert httpx.get(url, headers={"Authorization": "Bearer guess"}).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=40)
    # Structured logs: every line is one JSON object, and the first-run key warning is among them.
    entries = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    assert any("created an admin key" in e["msg"] and e["level"] == "warning" for e in entries)
    assert all({"ts", "level", "logger", "msg"} <= e.keys() for e in entries)
