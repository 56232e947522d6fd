"""Shared fixtures: real seedgate processes, a real PostgreSQL database, local media and webhook servers; the lanes.

Two lanes (README "Tests"): `make test` runs what is not marked `slow` or `e2e` (pure unit tests, unit tests on a
real SQLite store in a temporary directory, tests/test_smoke.py's one server process); `make test-all` runs
everything. A test file is in the fast lane unless it is named in FULL_LANE_MODULES below; any test that runs on
PostgreSQL is in the full lane wherever it lives.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from .s3 import S3Server, s3_unavailable, start_s3_server
from .waiting import wait_until

PG_ADMIN_URL = os.environ.get("SEEDGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
API_KEY = "sk-test-admin"

# The suites that start seedgate processes (servers, workers, the CLI, the npm SDK): the full lane only. One list
# here rather than a mark in each file, so a new unit-test file is fast without doing anything.
FULL_LANE_MODULES = frozenset(
    {
        "test_aigeneration",
        "test_ark_api",
        "test_assets",
        "test_books_e2e",
        "test_budgets_e2e",
        "test_campaign",
        "test_cli",
        "test_cli_remote",
        "test_client",
        "test_console",
        "test_diffusers_engine",
        "test_envelopes",
        "test_first_hour",
        "test_fleet",
        "test_hardening",
        "test_jimmyai",
        "test_jimmyai_lines",
        "test_maxapi",
        "test_moonapix",
        "test_moonapix_rules",
        "test_objects_s3",
        "test_openai_node",
        "test_openai_videos",
        "test_openai_webhooks",
        "test_openrouter",
        "test_quote",
        "test_storage_s3",
        "test_threehei",
        "test_upstream",
        "test_usage",
        "test_vendor_rules",
        "test_webhook_delivery",
        "test_webhook_recovery",
        "test_workers",
    }
)
# The fast lane's few real processes: one server, driven through the official SDKs.
SMOKE_MODULES = frozenset({"test_smoke"})
# Whether the test being set up or run may start seedgate processes (start_process checks it).
_processes_allowed = True


def _module_name(item: pytest.Item) -> str:
    return item.module.__name__.rsplit(".", 1)[-1] if isinstance(item, pytest.Function) else ""


def pytest_collection_finish(session: pytest.Session) -> None:
    """A renamed suite must not fall into the fast lane unnoticed: every name in FULL_LANE_MODULES is a file."""
    here = Path(__file__).parent
    missing = sorted(name for name in FULL_LANE_MODULES | SMOKE_MODULES if not (here / f"{name}.py").exists())
    if missing:
        raise pytest.UsageError(f"tests/conftest.py names test files that do not exist: {', '.join(missing)}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the full lane's tests `e2e` (PostgreSQL runs also `postgres`); the fast lane is the rest."""
    for item in items:
        module = _module_name(item)
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("database") == "postgres"
        if on_postgres:
            item.add_marker(pytest.mark.postgres)
        if on_postgres or module in FULL_LANE_MODULES:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Set before the test's fixtures (module-scoped servers included) are set up.
    global _processes_allowed
    _processes_allowed = item.get_closest_marker("e2e") is not None or _module_name(item) in SMOKE_MODULES


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else why not (used as the skip reason)."""
    try:
        import asyncpg
    except ImportError:
        return "asyncpg is not installed"

    async def probe() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({type(exc).__name__}: {exc})"
    return None


@dataclass
class Database:
    kind: str  # sqlite | postgres
    url: str | None  # None: the server's default SQLite file in its data dir


def _pg_statement(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    """Every server-level suite runs on SQLite and on PostgreSQL (a fresh database each time)."""
    if request.param == "sqlite":
        yield Database("sqlite", None)
        return
    reason = postgres_reachable()
    if reason:
        if os.environ.get("SEEDGATE_REQUIRE_POSTGRES"):
            pytest.fail(f"SEEDGATE_REQUIRE_POSTGRES is set but {reason}")
        pytest.skip(reason)
    name = f"seedgate_test_{secrets.token_hex(6)}"
    _pg_statement(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield Database("postgres", f"{base}/{name}")
    finally:
        _pg_statement(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3 server (SeaweedFS, tests/s3.py) for the session: skipped where `weed` is missing, a failure under
    CI (SEEDGATE_REQUIRE_S3, set by .ci/run). A process, so only for the full lane (FULL_LANE_MODULES)."""
    if not _processes_allowed:
        pytest.fail("this test starts an S3 server but is in the fast lane: name its file in FULL_LANE_MODULES")
    reason = s3_unavailable()
    if reason:
        if os.environ.get("SEEDGATE_REQUIRE_S3"):
            pytest.fail(f"SEEDGATE_REQUIRE_S3 is set but {reason}")
        pytest.skip(reason)
    server = start_s3_server(tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()


@dataclass
class Server:
    url: str
    data_dir: Path
    database: Database
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def ark_base(self) -> str:
        return f"{self.url}/api/v3"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self, key: str = API_KEY) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)

    def stop(self, sig: int | None = None) -> None:
        if self.process.poll() is None:
            if sig is None:
                self.process.terminate()
            else:
                self.process.send_signal(sig)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()


def server_env(database: Database, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDGATE_")}
    env.update(
        SEEDGATE_API_KEY=API_KEY,
        SEEDGATE_ALLOW_PRIVATE_URLS="1",
        SEEDGATE_DATA_DIR=str(data_dir),
        SEEDGATE_LOG_LEVEL="INFO",
    )
    if database.url:
        env["SEEDGATE_DATABASE_URL"] = database.url
    env.update(extra)
    return env


def start_process(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    if not _processes_allowed:
        pytest.fail(
            "this test starts a seedgate process but is in the fast lane: name its file in tests/conftest.py's"
            " FULL_LANE_MODULES (or keep it to the smoke tests)"
        )
    log_file = log_path.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "seedgate.cli", *args], env=env, stdout=log_file, stderr=subprocess.STDOUT
    )


def start_server(database: Database, data_dir: Path, *args: str, port: int | None = None, **extra_env: str) -> Server:
    port = port or free_port()
    env = server_env(database, data_dir, **extra_env)
    log_path = data_dir.parent / f"{data_dir.name}-serve-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    process = start_process(["serve", "--port", str(port), *args], env, log_path)
    server = Server(f"http://127.0.0.1:{port}", data_dir, database, process, log_path, env)

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"seedgate exited with {process.returncode}:\n{server.log()}")
        return httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200

    try:
        wait_until(ready, f"seedgate on port {port} to answer /readyz", retry_on=(httpx.HTTPError,))
    except AssertionError as exc:
        server.stop()
        raise RuntimeError(f"{exc}\n{server.log()}") from None
    return server


@pytest.fixture(scope="module")
def server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(database, tmp_path_factory.mktemp("server") / "data", "--workers", "2")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def ark(server: Server) -> Any:
    from volcenginesdkarkruntime import Ark

    return Ark(base_url=server.ark_base, api_key=API_KEY, max_retries=0)


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class MediaServer:
    root: Path
    url: str

    def add(self, name: str, data: bytes) -> str:
        (self.root / name).write_bytes(data)
        return f"{self.url}/{name}"


@pytest.fixture(scope="session")
def media_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaServer]:
    """Serves test media over real HTTP on loopback (servers under test run with SEEDGATE_ALLOW_PRIVATE_URLS=1)."""
    root = tmp_path_factory.mktemp("media")
    handler = lambda *a, **kw: _QuietFiles(*a, directory=str(root), **kw)  # noqa: E731
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield MediaServer(root, f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.shutdown()


@dataclass
class Hook:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes = b""


class WebhookReceiver:
    """Records every POST; answers with the status codes queued in `fail_next` first (to exercise retries)."""

    def __init__(self) -> None:
        self.calls: list[Hook] = []
        self.fail_next: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                body = json.loads(raw or b"{}")
                with receiver.lock:
                    status = receiver.fail_next.pop(0) if receiver.fail_next else 200
                    if status == 200:
                        receiver.calls.append(Hook(self.path, dict(self.headers), body, raw))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def for_task(self, task_id: str) -> list[Hook]:
        with self.lock:
            return [c for c in self.calls if c.body.get("id") == task_id]

    def statuses(self, task_id: str) -> list[Any]:
        return [c.body.get("status") for c in self.for_task(task_id)]

    def wait_for(self, task_id: str, status: str, timeout: float = 60) -> list[Hook]:
        wait_until(
            lambda: self.statuses(task_id),
            f"a {status} webhook for {task_id}",
            until=lambda s: status in s,
            timeout=timeout,
        )
        return self.for_task(task_id)


@pytest.fixture(scope="module")
def webhooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.httpd.shutdown()


@asynccontextmanager
async def emptied_store(database: Database, tmp_path: Path, tables: Sequence[str]) -> AsyncIterator[Any]:
    """A migrated store on this test's database with `tables` emptied first (a module's tests share the PostgreSQL
    database; SQLite gets a file of its own in `tmp_path`)."""
    from seedgate.config import normalize_database_url
    from seedgate.store.store import Store

    url = normalize_database_url(database.url) if database.url else f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    await store.migrate()
    async with store.engine.begin() as conn:
        for table in tables:
            await conn.exec_driver_sql(f"DELETE FROM {table}")
    try:
        yield store
    finally:
        await store.close()


async def downgrade_to(store: Any, revision: str) -> None:
    """Take a migrated store back to an older schema revision with the migrations' own downgrades, so a test of an
    upgrade starts from the database that revision really made (later migrations then run as in production)."""
    from importlib import resources

    from alembic import command
    from alembic.config import Config

    def downgrade(sync_conn: Any) -> None:
        config = Config()
        config.set_main_option("script_location", str(resources.files("seedgate.store").joinpath("migrations")))
        config.attributes["connection"] = sync_conn
        command.downgrade(config, revision)

    async with store.engine.begin() as conn:
        await conn.run_sync(downgrade)


def execute_sql(server: Server, sql: str) -> None:
    """Change a server's database behind its back: how tests move a task's clock (e.g. make it due to expire)."""
    if server.database.url is None:
        with sqlite3.connect(server.data_dir / "seedgate.db") as conn:
            conn.execute(sql)
        return
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(server.database.url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def wait_status(
    fetch: Any, task_id: str, statuses: tuple[str, ...] = ("succeeded", "failed", "expired"), timeout: float = 120
) -> Any:
    def reached(task: Any) -> bool:
        return (task["status"] if isinstance(task, dict) else task.status) in statuses

    return wait_until(
        lambda: fetch(task_id), f"task {task_id} to reach {statuses}", until=reached, timeout=timeout, interval=0.2
    )
