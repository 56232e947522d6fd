"""Benchmark the fleet: completed tasks per second with 1, 2 and 4 worker processes, and the queue's cost per task.

Run:  .venv/bin/python bench/fleet_bench.py             (S3 and local storage; (a) 1, 2, 4 workers; (b) also SQLite)
      .venv/bin/python bench/fleet_bench.py --database postgres --storage s3 --workers 1,2 --tasks 24

(a) Throughput. One `seedgate serve --workers 0` API node and N worker processes (bench/fleet_worker.py: the real
`seedgate worker` whose engine waits `--render-s` seconds without using the CPU, then copies a small pre-made MP4 as
the result), each with `--slots` render slots, on one database. The backlog (N x `--tasks`) is created through the
API node's Ark API first; the workers then claim until every slot holds a task, and the clock starts when their
renders are let go (a gate file), so start-up is not counted. Ideal: N x slots / render_s tasks per second; what the
fleet loses to the queue is the per-task cycle overhead, slots x N / rate - render_s. CPU per task is read from
/proc for the worker processes, the API node and the PostgreSQL backends of the run's own database.

Why not an upstream channel: the relay that follows upstream tasks runs on every node (API nodes included) and is
not bounded by worker slots, so relayed throughput says nothing about worker processes; it is bound by the
upstream's render time and query limits (bench/upstream_bench.py measures that).

(b) Per-task overhead. In this process: the real runtime (start_runtime) and the real `Worker` with one slot and an
engine that renders instantly (a copy of the MP4), N tasks one after another. Timed inside the runner: the claim,
storing the result (Storage.store_results: a rename into the data directory, or an upload to S3), the settle
(webhooks rendered and the status written); and the wall time per task, and the CPU of this process and of the
database's backends. The heartbeat (one per 2 s of render with the default 30 s lease; an instant render has none)
is timed on its own, N times, on a task claimed for it. S3 is a SeaweedFS server started here (tests/s3.py).

Each PostgreSQL run uses a fresh database, dropped afterwards. Writes bench/results/fleet.json and the `## Fleet`
section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
from ark_standin import make_mp4
from docs_section import write_section  # noqa: E402 - bench/ is on sys.path when run as a script
from fleet_worker import WaitEngine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seedgate.config import Settings  # noqa: E402
from seedgate.dialects import ark  # noqa: E402
from seedgate.runtime import Runtime, start_runtime  # noqa: E402
from seedgate.worker.runner import Worker  # noqa: E402
from tests.s3 import S3Server, start_s3_server  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "fleet.json"
DOCS = ROOT / "docs" / "benchmarks.md"
DOC_HEADING = "## Fleet"
KEY = "sk-fleet-bench"
BODY = {
    "model": "doubao-seedance-1-0-pro-250528",
    "content": [{"type": "text", "text": "a lighthouse at dusk --rs 480p --dur 5"}],
}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
QUIET_CORES = 0.3  # a run starts once the machine's other work is below this (or the wait is over)
INSTANT_BACKLOG = 4  # renders of 0 s drain a backlog fast: give them this many times --tasks, for a longer window
OPTIONS = ("database", "storage", "workers", "tasks", "slots", "render_s", "quiet_wait")  # kept with the results
T = TypeVar("T")


# -- databases ------------------------------------------------------------------------------------------------------


@dataclass
class Database:
    kind: str  # postgres | sqlite
    url: str  # what SEEDGATE_DATABASE_URL gets


@contextmanager
def fresh_database(kind: str, admin_url: str, folder: Path) -> Iterator[Database]:
    """A PostgreSQL database made for this run and dropped after it, or an SQLite file in `folder`."""
    if kind == "sqlite":
        yield Database("sqlite", f"sqlite:///{folder / 'fleet.db'}")
        return
    name = f"seedgate_fleet_{os.getpid()}_{int(time.time() * 1000) % 10**9}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield Database("postgres", f"{admin_url.rsplit('/', 1)[0]}/{name}")
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Files:
    """Where a run's nodes store inputs and results: their data directory, or a prefix of the S3 server."""

    kind: str  # local | s3
    url: str | None = None  # SEEDGATE_STORAGE_URL
    env: dict[str, str] = field(default_factory=dict)  # the AWS_* variables that reach it
    pids: list[int] = field(default_factory=list)  # the storage server's processes, for their CPU


@contextmanager
def storages(kinds: list[str], root: Path) -> Iterator[dict[str, S3Server]]:
    """The S3 server (SeaweedFS, as the tests start it) when a run needs one, for the whole benchmark."""
    if "s3" not in kinds:
        yield {}
        return
    server = start_s3_server(root / "s3")
    try:
        yield {"s3": server}
    finally:
        server.stop()


def files_for(kind: str, servers: dict[str, S3Server], prefix: str) -> Files:
    if kind == "local":
        return Files("local")
    server = servers["s3"]
    return Files("s3", server.url(prefix), server.env(), [server.process.pid])


async def _admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class Watcher:
    """The benchmark's own read-only view of the run's database: task counts, timestamps, backend processes."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pg: asyncpg.Connection | None = None
        self._sqlite: sqlite3.Connection | None = None
        self.own_pid = 0

    async def open(self) -> None:
        if self.db.kind == "postgres":
            self._pg = await asyncpg.connect(self.db.url)
            self.own_pid = await self._pg.fetchval("SELECT pg_backend_pid()")
        else:
            self._sqlite = sqlite3.connect(self.db.url.removeprefix("sqlite:///"), timeout=30)

    async def close(self) -> None:
        if self._pg is not None:
            await self._pg.close()
        if self._sqlite is not None:
            self._sqlite.close()

    async def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self._pg is not None:
            return [tuple(r) for r in await self._pg.fetch(sql)]
        assert self._sqlite is not None
        return self._sqlite.execute(sql).fetchall()

    async def counts(self) -> dict[str, int]:
        return {status: n for status, n in await self.rows("SELECT status, count(*) FROM tasks GROUP BY status")}

    async def last_finish(self) -> float:
        return float((await self.rows("SELECT max(finished_at) FROM tasks"))[0][0])

    async def backend_pids(self) -> list[int]:
        """The PostgreSQL server processes serving this database (none for SQLite), the benchmark's own left out."""
        if self._pg is None:
            return []
        name = self.db.url.rsplit("/", 1)[1]
        found = await self._pg.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", name)
        return [r["pid"] for r in found if r["pid"] != self.own_pid]


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15 of stat(5))


def cpu_of(pids: list[int]) -> dict[int, float]:
    return {pid: cpu_seconds(pid) for pid in pids}


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU between two samples; a process that appeared in between counts from its start."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def machine_cpu() -> float:
    """CPU seconds every process on this machine has used so far (user, nice, system, irq, softirq)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]) / CLOCK_TICKS


async def quiet_machine(limit_cores: float, timeout_s: float) -> float:
    """Wait (up to `timeout_s`) until the machine's other work stays under `limit_cores` for a second; returns the
    last second's load in cores."""
    deadline = time.monotonic() + timeout_s
    while True:
        before = machine_cpu()
        await asyncio.sleep(1.0)
        busy = machine_cpu() - before
        if busy < limit_cores or time.monotonic() > deadline:
            return busy


@dataclass
class CpuSample:
    """CPU used so far by each part of the fleet, by the whole machine, and by this benchmark process."""

    parts: dict[str, dict[int, float]]
    machine: float
    bench: float

    @classmethod
    async def take(cls, fleet: Fleet, files: Files, watcher: Watcher) -> CpuSample:
        parts = {
            "workers": cpu_of([w.pid for w in fleet.workers]),
            "database": cpu_of(await watcher.backend_pids()),
            "storage": cpu_of(files.pids),
            "api_node": cpu_of([fleet.api.pid]),
        }
        return cls(parts, machine_cpu(), time.process_time())

    def since(self, before: CpuSample) -> tuple[dict[str, float], float]:
        """CPU seconds per part between two samples, and what other processes on the machine used meanwhile."""
        spent = {name: cpu_spent(before.parts[name], pids) for name, pids in self.parts.items()}
        foreign = self.machine - before.machine - sum(spent.values()) - (self.bench - before.bench)
        return spent, max(0.0, foreign)


async def wait_for(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what} after {timeout_s:.0f} s")
        await asyncio.sleep(0.1)


# -- (a) throughput of N worker processes ---------------------------------------------------------------------------


def node_env(db: Database, files: Files, data: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEEDGATE_", "AWS_"))}
    env.update(SEEDGATE_API_KEY=KEY, SEEDGATE_DATA_DIR=str(data), SEEDGATE_DATABASE_URL=db.url, **files.env)
    if files.url:
        env["SEEDGATE_STORAGE_URL"] = files.url
    env.update(extra or {})
    return env


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Fleet:
    api: subprocess.Popen[bytes]
    url: str
    workers: list[subprocess.Popen[bytes]]

    def processes(self) -> list[subprocess.Popen[bytes]]:
        return [self.api, *self.workers]

    def stop(self) -> None:
        for process in reversed(self.processes()):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_api_node(db: Database, files: Files, data: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "seedgate.cli", "serve", "--port", str(port), "--workers", "0"],
            env=node_env(db, files, data),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API node exited with {process.returncode}; see {log}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the API node did not start; see {log}")


def start_worker(
    db: Database, files: Files, data: Path, log: Path, slots: int, fleet_env: dict[str, str]
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "fleet_worker.py"), "worker", "--concurrency", str(slots)],
            env=node_env(db, files, data, fleet_env),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )


async def create_backlog(url: str, count: int) -> float:
    """Create `count` tasks through the API node; returns the seconds it took."""
    gate = asyncio.Semaphore(16)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as http:

        async def one() -> None:
            async with gate:
                answer = await http.post("/api/v3/contents/generations/tasks", json=BODY)
                answer.raise_for_status()

        await asyncio.gather(*(one() for _ in range(count)))
    return time.monotonic() - started


async def fleet_run(
    db: Database,
    files: Files,
    workers: int,
    slots: int,
    per_worker: int,
    render_s: float,
    sample: Path,
    tmp: Path,
    quiet_wait_s: float,
) -> dict[str, Any]:
    total = workers * per_worker
    gate = tmp / "go"

    def data(node: str) -> Path:
        """On the local backend the data directory is the store, shared by every node; on S3 each has its own."""
        return tmp / ("data" if files.kind == "local" else f"data-{node}")

    quiet = await quiet_machine(QUIET_CORES, quiet_wait_s)
    api, url = start_api_node(db, files, data("api"), tmp / "api.log")
    fleet = Fleet(api, url, [])
    watcher = Watcher(db)
    try:
        create_s = await create_backlog(url, total)
        await watcher.open()
        fleet_env = {"FLEET_SAMPLE_MP4": str(sample), "FLEET_RENDER_S": str(render_s), "FLEET_GATE": str(gate)}
        fleet.workers = [
            start_worker(db, files, data(f"worker{i}"), tmp / f"worker{i}.log", slots, fleet_env)
            for i in range(workers)
        ]

        async def all_slots_busy() -> bool:
            for i, worker in enumerate(fleet.workers):
                if worker.poll() is not None:
                    last = (tmp / f"worker{i}.log").read_text(errors="replace").strip().splitlines()[-1:]
                    raise RuntimeError(f"worker {i} exited with {worker.returncode}: {' '.join(last)}")
            return (await watcher.counts()).get("running", 0) >= workers * slots

        await wait_for(all_slots_busy, f"{workers * slots} running tasks", 120)
        await asyncio.sleep(render_s)  # every held render has waited its time: at the gate, they all settle at once
        before = await CpuSample.take(fleet, files, watcher)
        started = time.time()
        gate.touch()

        async def all_done() -> bool:
            counts = await watcher.counts()
            return counts.get("succeeded", 0) + counts.get("failed", 0) >= total

        await wait_for(all_done, f"{total} finished tasks", 60 + 4 * total * render_s / slots)
        after = await CpuSample.take(fleet, files, watcher)
        finished = await watcher.last_finish()
        span = (await watcher.rows(f"SELECT avg(finished_at - started_at) FROM tasks WHERE started_at > {started}"))[0][
            0
        ]
        counts = await watcher.counts()
    finally:
        await watcher.close()
        fleet.stop()
        for folder in tmp.glob("data*"):
            shutil.rmtree(folder, ignore_errors=True)
    # The tasks that held the slots when the clock started had already waited out their render.
    measured = total - workers * slots
    rate = measured / (finished - started)
    spent, foreign = after.since(before)
    seconds = finished - started
    ideal = workers * slots / render_s if render_s > 0 else None
    return {
        "database": db.kind,
        "storage": files.kind,
        "workers": workers,
        "slots_per_worker": slots,
        "render_s": render_s,
        "tasks": total,
        "succeeded": counts.get("succeeded", 0),
        "failed": counts.get("failed", 0),
        "create_s": round(create_s, 2),
        "seconds": round(seconds, 2),
        "tasks_per_s": round(rate, 2),
        "ideal_tasks_per_s": round(ideal, 2) if ideal else None,
        "efficiency": round(rate / ideal, 3) if ideal else None,
        "cycle_overhead_ms": round((workers * slots / rate - render_s) * 1000, 1),
        # Of the cycle, the part from claim to settle (the rest is between a settle and the slot's next claim).
        "claim_to_settle_ms": round((span - render_s) * 1000, 1),
        "cpu_ms_per_task": {name: round(cpu / measured * 1000, 2) for name, cpu in spent.items()},
        "cores_busy": round(sum(spent.values()) / seconds, 2),
        # Other processes on the machine meanwhile (other people's work, the rest of PostgreSQL), in cores.
        "foreign_cores": round(foreign / seconds, 2),
        "load_at_start_cores": round(quiet, 2),
    }


# -- (b) per-task overhead, in process ------------------------------------------------------------------------------


class Timings:
    """Wall times of one kind of call, in seconds."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def wrap(self, call: Callable[..., Awaitable[T]], keep: Callable[[T], bool] = lambda _: True) -> Any:
        """`call`, timed; `keep` says which results count (an empty claim is not a task's claim)."""

        async def timed(*args: Any, **kwargs: Any) -> T:
            begun = time.perf_counter()
            result = await call(*args, **kwargs)
            if keep(result):
                self.values.append(time.perf_counter() - begun)
            return result

        return timed

    def ms(self) -> dict[str, float]:
        ordered = sorted(self.values)
        mean = sum(ordered) / len(ordered)
        return {
            "mean": round(mean * 1000, 2),
            "p50": round(ordered[len(ordered) // 2] * 1000, 2),
            "p99": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 2),
        }


@asynccontextmanager
async def node(db: Database, data: Path, storage: Files) -> AsyncIterator[Runtime]:
    """A node in this process: the runtime every seedgate process starts, without its background loops."""
    settings = Settings.from_env(data_dir=data, database_url=db.url, api_key=KEY, storage_url=storage.url)
    runtime = await start_runtime(settings)
    try:
        yield runtime
    finally:
        await runtime.close()


async def overhead_run(db: Database, storage: Files, tasks: int, sample: Path, tmp: Path) -> dict[str, Any]:
    watcher = Watcher(db)
    async with node(db, tmp / "overhead", storage) as runtime:
        await watcher.open()
        key = await runtime.service.authenticate(f"Bearer {KEY}")
        for _ in range(tasks + 1):
            spec, soft = ark.parse_create(BODY)
            await runtime.service.create(spec, soft, key=key, dialect="ark")

        store = runtime.store
        claims, settles, beats, uploads = Timings(), Timings(), Timings(), Timings()
        # One task held aside, claimed once, for the heartbeats: an instant render has none.
        lease = "fleet-bench-heartbeat"
        held = await store.claim(lease, ["preview"], 30.0)
        assert held is not None
        engine = WaitEngine(sample, 0.0)
        runtime.storage.store_results = uploads.wrap(runtime.storage.store_results)
        worker = Worker(store, runtime.storage, {"preview": engine}, runtime.service.webhooks_for, poll_interval_s=0.05)
        store.claim = claims.wrap(store.claim, keep=lambda task: task is not None)
        settle = settles.wrap(worker._settle)
        done = asyncio.Event()

        async def counted_settle(*args: Any, **kwargs: Any) -> bool:
            settled: bool = await settle(*args, **kwargs)
            if len(settles.values) >= tasks:
                done.set()
            return settled

        worker._settle = counted_settle
        db_before = cpu_of(await watcher.backend_pids())
        cpu_before = time.process_time()
        begun = time.perf_counter()
        loop = asyncio.create_task(worker.run())
        await done.wait()
        wall = time.perf_counter() - begun
        cpu = time.process_time() - cpu_before
        db_after = cpu_of(await watcher.backend_pids())
        worker.stop()
        await loop

        heartbeat = beats.wrap(store.heartbeat)
        for _ in range(tasks):
            assert await heartbeat(held.id, lease, 30.0, 0.5)
        counts = await watcher.counts()
        await watcher.close()
    steps = {"claim": claims.ms(), "heartbeat": beats.ms(), "settle": settles.ms(), "store_result": uploads.ms()}
    return {
        "database": db.kind,
        "storage": storage.kind,
        "tasks": tasks,
        "succeeded": counts.get("succeeded", 0),
        "steps_ms": steps,
        "overhead_ms": round(sum(step["mean"] for step in steps.values()), 2),
        "wall_ms_per_task": round(wall / tasks * 1000, 2),
        "cpu_ms_per_task": {
            "process": round(cpu / tasks * 1000, 2),
            "database": round(cpu_spent(db_before, db_after) / tasks * 1000, 2) if db.kind == "postgres" else None,
        },
    }


# -- report -----------------------------------------------------------------------------------------------------------


FLEET_METHOD = """\
**(a) Throughput.** One `seedgate serve --workers 0` API node and N worker processes on one fresh PostgreSQL
database, with the results in S3 (SeaweedFS `weed mini`, every node its own data directory) or in a data
directory all nodes share. Each worker is the real `seedgate worker` (bench/fleet_worker.py) with {slots} slots whose
engine waits `render` seconds without using the CPU and then writes a pre-made 64x64 MP4, as a GPU rendering
elsewhere would look to this machine: so what is measured is the queue (claim, lease, heartbeat, settle, webhooks)
and the storage, not the preview engine's encoder. The backlog is created through the API node's Ark API first;
the clock starts once every slot holds a task (start-up is not counted) and stops at the last `finished_at`.
*ideal* = workers x slots / render; *cycle overhead* = workers x slots / (tasks/s) - render, the time a slot spends
per task on anything but the render. CPU per task comes from /proc: the worker processes, the PostgreSQL backends of
the run's own database, the S3 server and the API node; *foreign cores* is what other processes on the machine used
meanwhile (this machine is shared; each run first waits up to {quiet:.0f} s for that to drop below {limit} cores).

Why not relayed tasks through an Ark channel: the relay (seedgate/upstream/relay.py) runs on every node, API nodes
with `--workers 0` included, and follows every task it claims up to each channel's `concurrency` (counted across
nodes in the database); worker slots do not bound it. Relayed throughput therefore does not grow with worker
processes: it is set by the upstream's render time and its query limits (bench/upstream_bench.py). Note for a
fleet: each node's relay keeps its own `query_rps`/`list_rps` budget, so N nodes may poll one upstream account at
up to N times the configured rate.
"""

OVERHEAD_METHOD = """\
**(b) Per-task overhead.** In one process: the real runtime and the real `Worker` with one slot and an engine that
renders instantly, {tasks} tasks one after another, each step timed inside the runner: *claim* (`Store.claim`),
*store result* (`Storage.store_results`: a rename into the data directory, or an S3 upload of the video), *settle*
(webhooks rendered and the status written in one transaction); *heartbeat* (`Store.heartbeat`, which runs every 2 s
of render with the default 30 s lease; an instant render has none) is timed {tasks} times on a task claimed for it.
Each cell is mean (median) in ms; *overhead per task* is the sum of the four means (one heartbeat). Goal: under 20
ms on PostgreSQL.
"""


def reading(fleet: list[dict[str, Any]], overhead: list[dict[str, Any]], cores: int) -> list[str]:
    """What the tables say, computed from them."""

    def total_cpu(row: dict[str, Any]) -> float:
        return sum(v or 0 for v in row["cpu_ms_per_task"].values())

    lines = []
    for storage in dict.fromkeys(r["storage"] for r in fleet):
        for render_s in dict.fromkeys(r["render_s"] for r in fleet):
            rows = [r for r in fleet if r["storage"] == storage and r["render_s"] == render_s]
            if len(rows) < 2:
                continue
            base = rows[0]
            scaling = ", ".join(
                f"{r['workers']}: {r['tasks_per_s'] / base['tasks_per_s']:.2f}x ({r['workers'] / base['workers']:.0f}x"
                " is linear)"
                for r in rows[1:]
            )
            cpu = max(total_cpu(r) for r in rows)
            ceiling = cores / cpu * 1000
            if render_s > 0:
                lines.append(
                    f"- {storage}, {render_s} s renders: throughput vs {base['workers']} worker(s) {scaling}; "
                    f"{min(r['efficiency'] for r in rows):.0%}-{max(r['efficiency'] for r in rows):.0%} of ideal, "
                    f"{min(r['cycle_overhead_ms'] for r in rows):.0f}-{max(r['cycle_overhead_ms'] for r in rows):.0f} "
                    f"ms per task lost to the queue and storage, while other work on the machine took "
                    f"{min(r['foreign_cores'] for r in rows):.1f}-{max(r['foreign_cores'] for r in rows):.1f} of its "
                    f"{cores} cores. Up to {cpu:.0f} ms of CPU per task (all processes): {cores} idle cores would run "
                    f"out near {ceiling:.0f} tasks/s."
                )
            else:
                best = max(r["tasks_per_s"] for r in rows)
                busy = ", ".join(
                    f"{r['workers']} worker(s): {r['cores_busy']:.2f} + {r['foreign_cores']:.2f}" for r in rows
                )
                lines.append(
                    f"- {storage}, instant renders (nothing but the queue, so the CPU is the limit): {scaling}; the "
                    f"best is {best:.0f} tasks/s. At up to {cpu:.0f} ms of CPU per task across worker, PostgreSQL"
                    + (", S3 server" if storage == "s3" else "")
                    + f" and API node, {cores} idle cores would allow about {ceiling:.0f} tasks/s. Cores busy, this "
                    f"fleet's + other work's: {busy} of {cores}: the machine was the limit, and tasks/s is the fleet's "
                    "share of it divided by its CPU per task. With every process on these cores, more workers than "
                    "cores cannot scale linearly: these rows show the machine's ceiling, not the queue's. With a "
                    "machine per worker, one worker's ceiling is 1000 / its CPU ms per task "
                    f"(about {1000 / max(r['cpu_ms_per_task']['workers'] for r in rows):.0f} tasks/s), and "
                    "PostgreSQL's share ("
                    + "-".join(f"{r['cpu_ms_per_task']['database']:.1f}" for r in (rows[0], rows[-1]))
                    + " ms per task) is what each task adds on the database server."
                )
    for r in overhead:
        verdict = "under" if r["overhead_ms"] < 20 else "over"
        if r["database"] == "postgres":
            cpu = r["cpu_ms_per_task"]["process"] + r["cpu_ms_per_task"]["database"]
            lines.append(
                f"- (b) postgres, {r['storage']}: {r['overhead_ms']:.1f} ms per task, {verdict} the 20 ms goal. Of the "
                f"wall time, {cpu:.1f} ms is CPU (worker {r['cpu_ms_per_task']['process']:.1f}, PostgreSQL "
                f"{r['cpu_ms_per_task']['database']:.1f}); the rest is round trips and, on this shared machine, "
                "waiting for a core (the foreign-cores column of (a) shows how busy it was)."
            )
    return lines


WHERE_THE_TIME_GOES = """\
Where a worker's CPU per task goes (cProfile of (b) on PostgreSQL, by hand): mostly SQLAlchemy's async layer and
statement building for the three writes (claim, heartbeat, settle), a `pool_pre_ping` round trip before each of
them, and socket sends; the render hand-off to a thread and storing the result are small. Levers not pulled yet:
the worker's claim, heartbeat and settle on the plain asyncpg driver, as the API's two hot paths already are
(store/postgres_fast.py), and pre-ping replaced by pool recycling. A worker's slots used to share the default
thread pool of `asyncio.to_thread` (min(32, cores + 4) threads: 6 here), so `--concurrency` above that number
waited for threads even when renders used no CPU (one worker with 8 slots and 0.5 s renders made 11.5 tasks/s, 72%
of its ideal 16, where 4 slots made 94% of theirs); a node now gives itself slots + 8 threads.
"""


def section(
    args: argparse.Namespace, fleet: list[dict[str, Any]], overhead: list[dict[str, Any]], failed: list[str]
) -> str:
    flags = (
        f"--database {args.database} --storage {args.storage} --workers {args.workers} --tasks {args.tasks} "
        f"--slots {args.slots} --render-s {args.render_s}"
    )
    cores = os.cpu_count() or 1
    lines = [
        DOC_HEADING,
        "",
        f"Run on {time.strftime('%Y-%m-%d')}: {cores} CPU cores, {platform.platform()}, Python "
        f"{platform.python_version()}; every process (API node, workers, PostgreSQL, SeaweedFS) on this one machine, "
        "which other work shares.",
        "",
        f"Command: `.venv/bin/python bench/fleet_bench.py {flags}`",
        "",
    ]
    if fleet:
        lines += [
            FLEET_METHOD.format(slots=args.slots, quiet=args.quiet_wait, limit=QUIET_CORES),
            "| storage | render (s) | workers | tasks/s | ideal | efficiency | cycle overhead (ms) | CPU ms/task: "
            "workers | PostgreSQL | S3 server | API node | cores busy | foreign cores |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *(
                f"| {r['storage']} | {r['render_s']} | {r['workers']} | {r['tasks_per_s']} | "
                f"{r['ideal_tasks_per_s'] or '-'} | {r['efficiency'] or '-'} | {r['cycle_overhead_ms']} | "
                + " | ".join(str(r["cpu_ms_per_task"][part] or "-") for part in ("workers", "database", "storage"))
                + f" | {r['cpu_ms_per_task']['api_node']} | {r['cores_busy']} | {r['foreign_cores']} |"
                for r in fleet
            ),
            "",
        ]
    if overhead:
        lines += [
            OVERHEAD_METHOD.format(tasks=args.tasks),
            "| database | storage | claim | heartbeat | settle | store result | overhead per task | wall per task | "
            "CPU ms/task: process | database |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            *(
                f"| {r['database']} | {r['storage']} | "
                + " | ".join(f"{step['mean']} ({step['p50']})" for step in r["steps_ms"].values())
                + f" | {r['overhead_ms']} | {r['wall_ms_per_task']} | {r['cpu_ms_per_task']['process']} | "
                f"{r['cpu_ms_per_task']['database'] or '-'} |"
                for r in overhead
            ),
            "",
        ]
    if failed:
        lines += ["Runs that did not finish (left out above):", "", *(f"- {run}" for run in failed), ""]
    if notes := reading(fleet, overhead, cores):
        lines += ["Reading:", "", *notes, ""]
    lines += [WHERE_THE_TIME_GOES]
    return "\n".join(lines)


@contextmanager
def environ(values: dict[str, str]) -> Iterator[None]:
    """These variables in this process's environment for a while (an in-process node reads AWS_* from it)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database",
        default="postgres,sqlite",
        help="comma-separated: postgres, sqlite; (a) runs on PostgreSQL only (a fleet does not share an SQLite file)",
    )
    parser.add_argument("--storage", default="s3,local", help="comma-separated: s3 (SeaweedFS started here), local")
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker process counts for (a)")
    parser.add_argument(
        "--tasks",
        type=int,
        default=96,
        help=f"tasks per worker process in (a), rounded up to whole slots ({INSTANT_BACKLOG}x with --render-s 0); "
        "tasks in (b)",
    )
    parser.add_argument("--slots", type=int, default=4, help="render slots per worker process (--concurrency)")
    parser.add_argument(
        "--render-s",
        default="0.5,0",
        help="comma-separated wall times of one render (no CPU used); 0: the queue and the CPU are the only limit",
    )
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("SEEDGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="a PostgreSQL database to connect to while creating and dropping the run's own",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=10.0,
        help=f"seconds each run of (a) may wait for other work on the machine to drop below {QUIET_CORES} cores",
    )
    parser.add_argument("--skip", choices=("throughput", "overhead"), help="leave one part out")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument(
        "--report-only", action="store_true", help="measure nothing: rewrite the docs from bench/results/fleet.json"
    )
    args = parser.parse_args()
    if args.report_only:
        saved = json.loads(RESULTS.read_text())
        text = section(argparse.Namespace(**saved["args"]), saved["throughput"], saved["overhead"], saved["failed"])
        print(text)
        write_section(text, DOCS, DOC_HEADING)
        return
    counts = [int(n) for n in args.workers.split(",")]
    per_worker = -(-args.tasks // args.slots) * args.slots  # every slot takes the same number of turns
    kinds = args.storage.split(",")
    renders = [float(r) for r in args.render_s.split(",")]
    fleet: list[dict[str, Any]] = []
    overhead: list[dict[str, Any]] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="seedgate-fleet-") as tmp_dir:
        tmp = Path(tmp_dir)
        sample = tmp / "sample.mp4"
        sample.write_bytes(make_mp4())
        runs = itertools.count(1)
        with storages(kinds, tmp) as servers:
            for database in args.database.split(","):
                for kind in kinds:

                    def run_dir() -> Path:
                        folder = tmp / f"run{next(runs)}"
                        folder.mkdir()
                        return folder

                    if args.skip != "overhead":
                        folder = run_dir()
                        files = files_for(kind, servers, folder.name)
                        with fresh_database(database, args.pg_admin_url, folder) as db, environ(files.env):
                            overhead.append(asyncio.run(overhead_run(db, files, args.tasks, sample, folder)))
                        print(json.dumps(overhead[-1]), flush=True)
                    if args.skip == "throughput" or database != "postgres":
                        continue
                    for render_s in renders:
                        for n in counts:
                            folder = run_dir()
                            files = files_for(kind, servers, folder.name)
                            backlog = per_worker * (INSTANT_BACKLOG if render_s == 0 else 1)
                            try:
                                with fresh_database(database, args.pg_admin_url, folder) as db:
                                    result = fleet_run(
                                        db, files, n, args.slots, backlog, render_s, sample, folder, args.quiet_wait
                                    )
                                    fleet.append(asyncio.run(result))
                            except RuntimeError as exc:  # one run lost (e.g. the shared server's connections ran out)
                                run = f"{kind}, {render_s} s renders, {n} workers"
                                failed.append(f"{run}: {str(exc).splitlines()[0]}")
                                print(f"run failed: {failed[-1]}", flush=True)
                                continue
                            print(json.dumps(fleet[-1]), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    options = {name: getattr(args, name) for name in OPTIONS}
    report = {"args": options, "throughput": fleet, "overhead": overhead, "failed": failed}
    RESULTS.write_text(json.dumps(report, indent=2))
    text = section(args, fleet, overhead, failed)
    print(text)
    if not args.no_docs:
        write_section(text, DOCS, DOC_HEADING)


if __name__ == "__main__":
    main()
