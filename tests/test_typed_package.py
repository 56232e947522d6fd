"""The package ships its types: a consumer's `mypy --strict` sees the client's annotations through py.typed."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CONSUMER = """
import asyncio
from pathlib import Path

import seedgate
from seedgate.client import Asset, AsyncClient, Client, Task, TaskFailed, verify_webhook


def run(client: Client) -> Path:
    task: Task = client.create("a cat", duration=5)
    tasks: list[Task] = client.list(page_size=5)
    assets: list[Asset] = client.list_assets()
    try:
        done = client.wait(task.id, on_progress=lambda t: print(t.progress))
    except TaskFailed as exc:
        raise SystemExit(exc.code) from None
    print(len(tasks), len(assets), done.video_url)
    return client.download(done, "out.mp4")


async def run_async() -> Task:
    async with AsyncClient() as client:
        models: list[dict[str, object]] = await client.models()
        print(models)
        return await client.get("cgt-1")


def top_level() -> Task:
    # The names `seedgate` hands out lazily are typed too (an Any here would fail --strict's warn_return_any).
    with seedgate.Client() as client:
        return client.get("cgt-1")


event: dict[str, object] = verify_webhook(b"{}", {}, "whsec_")
same: dict[str, object] = seedgate.verify_webhook(b"{}", {}, "whsec_")
print(asyncio.run(run_async()).status)
"""


def test_wheel_ships_py_typed() -> None:
    assert (ROOT / "seedgate" / "py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["seedgate"]


def test_consumer_passes_mypy_strict(tmp_path: Path) -> None:
    # The package is put on the path as an installed one (a directory of sys.path, not MYPYPATH), where mypy reads
    # its annotations only because of py.typed; the editable install's import hook is invisible to mypy.
    site = tmp_path / "site"
    site.mkdir()
    (site / "seedgate").symlink_to(ROOT / "seedgate", target_is_directory=True)
    (tmp_path / "consumer.py").write_text(CONSUMER)
    (tmp_path / "mypy.ini").write_text("[mypy]\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", "mypy.ini", "--cache-dir", ".cache", "consumer.py"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
