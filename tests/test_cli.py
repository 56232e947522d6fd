"""The `seedgate` command through real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from .conftest import free_port
from .waiting import wait_until


def run(
    *args: str, data_dir: Path | None, cwd: Path | None = None, **env_extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDGATE_")}
    if data_dir is not None:
        env["SEEDGATE_DATA_DIR"] = str(data_dir)
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "seedgate.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The failure is one `error:` line on stderr: no traceback, not wrapped."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


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
    created = run("keys", "create", "--name", "ci", "--create", data_dir=tmp_path)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("sk-sg-")
    listing = run("keys", "list", data_dir=tmp_path).stdout
    key_id = next(word for word in listing.split() if word.startswith("key_"))
    assert "ci" in listing and secret not in listing
    assert run("keys", "revoke", key_id, data_dir=tmp_path).returncode == 0
    again = run("keys", "revoke", key_id, data_dir=tmp_path)
    assert again.returncode == 1 and key_id in one_error_line(again)


def test_first_run_creates_an_admin_key(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDGATE_")}
    env["SEEDGATE_LOG_FORMAT"] = "json"
    log_path = tmp_path / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "seedgate.cli", "serve", "--port", str(port), "--data-dir", str(tmp_path)],
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200,
            f"the server on port {port} to answer /readyz",
            retry_on=(httpx.HTTPError,),
        )
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


# -- the first hour: no traceback, no silent new database, no wrapped or cut lines ----------------------------------


def test_keys_away_from_the_data_directory(tmp_path: Path) -> None:
    """In a directory without ./data: one line naming the ways out, and nothing created."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args in (("keys", "list"), ("keys", "revoke", "key_x"), ("keys", "create", "--name", "app")):
        result = run(*args, data_dir=None, cwd=elsewhere, COLUMNS="60")
        assert result.returncode == 2, result.stderr
        line = one_error_line(result)
        assert "no seedgate database" in line and "--data-dir" in line and "--url" in line
        assert result.stdout == ""
    assert "--create" in line  # create says how to start a database on purpose
    assert not (elsewhere / "data").exists()


def test_keys_on_a_database_that_cannot_be_opened(tmp_path: Path) -> None:
    broken = tmp_path / "data"
    broken.mkdir()
    (broken / "seedgate.db").write_bytes(b"this is not a database" * 100)
    result = run("keys", "list", data_dir=broken)
    assert result.returncode == 3
    assert "cannot open the database" in one_error_line(result)


def test_keys_over_http_with_the_admin_key(tmp_path: Path) -> None:
    from .conftest import API_KEY, Database, start_server

    server = start_server(Database("sqlite", None), tmp_path / "srv" / "data", "--workers", "0")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    try:
        made = run(
            "keys", "create", "--name", "app1", "--url", server.url, "--key", API_KEY, data_dir=None, cwd=elsewhere
        )
        assert made.returncode == 0, made.stderr
        secret = made.stdout.strip()
        assert secret.startswith("sk-sg-") and "created key_" in made.stderr
        # The running server takes the new key at once: it was made in its own database.
        with server.client(secret) as http:
            assert http.get("/api/v3/contents/generations/tasks").status_code == 200
        listed = json.loads(
            run(
                "keys",
                "list",
                "--json",
                data_dir=None,
                cwd=elsewhere,
                SEEDGATE_URL=server.url,
                SEEDGATE_API_KEY=API_KEY,
            ).stdout
        )
        key_id = next(k["id"] for k in listed if k["name"] == "app1")
        # A key that is not an admin's may not manage keys: exit 4, one line.
        denied = run("keys", "list", "--url", server.url, "--key", secret, data_dir=None, cwd=elsewhere)
        assert denied.returncode == 4 and "admin" in one_error_line(denied)
        revoked = run("keys", "revoke", key_id, "--url", server.url, "--key", API_KEY, data_dir=None, cwd=elsewhere)
        assert revoked.returncode == 0, revoked.stderr
        after = json.loads(
            run(
                "keys",
                "list",
                "--json",
                "--remote",
                data_dir=None,
                cwd=elsewhere,
                SEEDGATE_URL=server.url,
                SEEDGATE_API_KEY=API_KEY,
            ).stdout
        )
        assert next(k for k in after if k["id"] == key_id)["revoked_at"] is not None
        assert not (elsewhere / "data").exists()
    finally:
        server.stop()


def test_serve_on_a_taken_port_fails_first(tmp_path: Path) -> None:
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        result = run(
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "data"),
            data_dir=None,
            SEEDGATE_API_KEY="sk-x",
            COLUMNS="60",
        )
    finally:
        taken.close()
    assert result.returncode == 3
    line = one_error_line(result)
    assert "[Errno 98]" in line and f"127.0.0.1:{port}" in line and "--port" in line
    assert "listening" not in result.stdout + result.stderr
    assert not (tmp_path / "data").exists()  # nothing started: no database, no worker


def test_version_and_plain_help(tmp_path: Path) -> None:
    from seedgate import __version__

    version = run("--version", data_dir=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"seedgate {__version__}"
    for args in (("submit", "--help"), ("keys", "create", "--help"), ("serve", "--help"), ("--help",)):
        text = run(*args, data_dir=tmp_path, COLUMNS="120").stdout
        assert "Usage: seedgate" in text
        for tag in ("<bool>", "<str>", "<int>", "<path>", "{"):
            assert tag not in text, (args, tag)
    submit = run("submit", "--help", data_dir=tmp_path, COLUMNS="120").stdout
    assert "PROMPT" in submit and "--duration" in submit and "INTEGER" in submit
    assert "(default http://127.0.0.1:8000)" in submit  # bracketed help text is not eaten as markup


def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    missing = run("status", data_dir=tmp_path)
    assert missing.returncode == 2 and "TASK_ID" in one_error_line(missing)
    bad = run("serve", "--port", "abc", data_dir=tmp_path)
    assert bad.returncode == 2 and "--port" in one_error_line(bad)
    # A URL without a scheme is a usage error (2), not an unreachable server (3).
    schemeless = run("status", "cgt-x", "--url", "127.0.0.1:8000", data_dir=tmp_path, COLUMNS="40")
    assert schemeless.returncode == 2 and "http://127.0.0.1:8000" in one_error_line(schemeless)
