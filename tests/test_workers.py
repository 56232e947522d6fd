"""Workers as separate processes: a killed worker's task finishes elsewhere, shutdown is graceful, expiry works."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Database, Server, execute_sql, server_env, start_process, start_server, wait_status

PRO = "doubao-seedance-1-0-pro-250528"


@pytest.fixture(scope="module")
def api_node(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An API-only node: tasks wait until a separate worker process claims them."""
    srv = start_server(database, tmp_path_factory.mktemp("api") / "data", "--workers", "0")
    yield srv
    srv.stop()


def start_worker(server: Server, name: str, lease_s: int = 2) -> Any:
    env = server_env(server.database, server.data_dir, SEEDGATE_LEASE_SECONDS=str(lease_s))
    return start_process(["worker"], env, server.data_dir.parent / f"worker-{name}.log")


def create(server: Server, **options: Any) -> str:
    body = {"model": PRO, "content": [{"type": "text", "text": "worker test"}], **options}
    with server.client() as client:
        response = client.post("/api/v3/contents/generations/tasks", json=body)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def get(server: Server, task_id: str) -> dict[str, Any]:
    with server.client() as client:
        return client.get(f"/api/v3/contents/generations/tasks/{task_id}").json()


def wait_running(server: Server, task_id: str, timeout: float = 30) -> None:
    wait_status(lambda i: get(server, i), task_id, ("running",), timeout=timeout)


def test_killed_worker_task_finishes_on_another(api_node: Server) -> None:
    task_id = create(api_node, resolution="1080p", duration=12)
    doomed = start_worker(api_node, "doomed")
    try:
        wait_running(api_node, task_id)
        time.sleep(0.5)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
        assert get(api_node, task_id)["status"] == "running"  # nobody knows yet that its worker died
    finally:
        if doomed.poll() is None:
            doomed.kill()
    rescuer = start_worker(api_node, "rescuer")
    try:
        task = wait_status(lambda i: get(api_node, i), task_id, timeout=120)
        assert task["status"] == "succeeded", task
        log = (api_node.data_dir.parent / "worker-rescuer.log").read_text()
        assert f"task {task_id} running on preview (attempt 2)" in log
    finally:
        rescuer.send_signal(signal.SIGTERM)
        rescuer.wait(timeout=40)


def test_graceful_shutdown_finishes_the_running_task(api_node: Server) -> None:
    task_id = create(api_node, resolution="720p", duration=8)
    worker = start_worker(api_node, "graceful", lease_s=30)
    wait_running(api_node, task_id)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    assert get(api_node, task_id)["status"] == "succeeded"


def test_overdue_tasks_expire(api_node: Server) -> None:
    task_id = create(api_node, execution_expires_after=3600)
    assert get(api_node, task_id)["status"] == "queued"
    execute_sql(api_node, f"UPDATE tasks SET expires_at = 0 WHERE id = '{task_id}'")
    task = wait_status(lambda i: get(api_node, i), task_id, ("expired",), timeout=15)
    assert task["error"]["code"] == "TaskExpired"
    assert task["execution_expires_after"] == 3600


def test_data_survives_a_restart(database: Database, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = start_server(database, data, "--workers", "0")
    task_id = create(first)
    first.stop()
    second = start_server(database, data, "--workers", "1")
    try:
        assert wait_status(lambda i: get(second, i), task_id, timeout=60)["status"] == "succeeded"
    finally:
        second.stop()
