"""Benchmark seedgate's task API (create and get) against a bare FastAPI app on the same machine, in the same run.

Run:  .venv/bin/python bench/api_bench.py            (8 s points; prints a table, rewrites its docs section)
      .venv/bin/python bench/api_bench.py --quick    (2 s points, for a smoke check)

For each backend (SQLite always, PostgreSQL when reachable) it starts `seedgate serve --workers 0` (an API-only
node: tasks stay queued, so a create is exactly validate + store) and bench/bare_app.py (the ceiling: the same
routes on the same uvicorn settings, storing nothing). For create and get at each concurrency it runs wrk
against bare and seedgate alternately (who goes first alternates by round, so drift hits both alike) and reports
the median throughput and p99 latency of the rounds and the ratio seedgate / bare. Results are ratios, never
pass/fail timings: the target from the issue is create+store at no less than half the bare ceiling.

Writes bench/results/api.json (raw numbers) and the `## API throughput` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import resource
import secrets
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from docs_section import write_section  # noqa: E402 - bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
WRK_SCRIPT = ROOT / "bench" / "wrk" / "tasks.lua"
RESULTS = ROOT / "bench" / "results" / "api.json"
DOCS = ROOT / "docs" / "benchmarks.md"
DOC_HEADING = "## API throughput"

PREFIX = "/api/v3/contents/generations/tasks"
API_KEY = "sk-bench"
# Must match the body in bench/wrk/tasks.lua: the pre-created tasks are the same kind the load creates.
CREATE_BODY = {
    "model": "doubao-seedance-1-0-pro-250528",
    "content": [{"type": "text", "text": "a cat yawns in the sun, cinematic"}],
    "resolution": "720p",
    "duration": 5,
}
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_CREATE_RATIO = 0.5
SERVERS = ("bare", "seedgate")


# -- servers --------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One server subprocess we started (and so may stop); its output goes to a log file, never a pipe,
    because an unread pipe would fill up and stall the server under load."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready_path: str
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> None:
        argv = [arg.replace("{port}", str(self.port)) for arg in self.argv]
        with self.log_path.open("ab") as log:
            # A session of its own: a Ctrl-C in the terminal reaches only us, and we stop the server in order
            # (after wrk, before the database it uses is dropped).
            self.proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode} at start:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.url + self.ready_path).status_code == 200:
                        return
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} was not ready after {timeout_s:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def cpu_s(self) -> float | None:
        """User + system CPU of the server process, all its threads (aiosqlite runs the queries in one)."""
        if self.proc is None:
            return None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None  # not Linux, or gone: the CPU column stays empty
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def bare_server(workdir: Path) -> Server:
    argv = [sys.executable, str(ROOT / "bench" / "bare_app.py"), "--host", "127.0.0.1", "--port", "{port}"]
    return Server("bare", argv, dict(os.environ), workdir / "bare.log", PREFIX + "/cgt-ready")


def seedgate_server(workdir: Path, backend: str, database_url: str | None) -> Server:
    data_dir = workdir / f"data-{backend}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDGATE_")}
    env["SEEDGATE_API_KEY"] = API_KEY
    if database_url:
        env["SEEDGATE_DATABASE_URL"] = database_url
    seedgate = Path(sys.executable).with_name("seedgate")
    cmd = [str(seedgate)] if seedgate.exists() else [sys.executable, "-m", "seedgate.cli"]
    argv = [*cmd, "serve", "--host", "127.0.0.1", "--port", "{port}", "--data-dir", str(data_dir), "--workers", "0"]
    return Server(f"seedgate-{backend}", argv, env, workdir / f"seedgate-{backend}.log", "/readyz")


def precreate(server: Server, count: int) -> list[str]:
    """Tasks for the get load to cycle through, created before it (sequentially: order does not matter)."""
    ids = []
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30.0) as client:
        for _ in range(count):
            response = client.post(PREFIX, json=CREATE_BODY)
            if response.status_code != 200:
                raise RuntimeError(f"create answered {response.status_code}: {response.text}")
            ids.append(response.json()["id"])
    return ids


def body_size(server: Server, task_id: str) -> int:
    response = httpx.get(f"{server.url}{PREFIX}/{task_id}", headers={"Authorization": f"Bearer {API_KEY}"})
    response.raise_for_status()
    return len(response.content)


# -- PostgreSQL -----------------------------------------------------------------------------------------------


def _asyncpg_url(url: str) -> str:
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(_asyncpg_url(url))
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def pg_probe(admin_url: str) -> str | None:
    """The server's version, or None when it cannot be reached (the postgres backend is then skipped)."""
    import asyncpg

    async def probe() -> str:
        conn = await asyncpg.connect(_asyncpg_url(admin_url), timeout=3)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    try:
        return asyncio.run(probe())
    except Exception as exc:  # any failure means "not usable here", which is reported, not raised
        print(f"PostgreSQL not reachable at {admin_url} ({type(exc).__name__}: {exc}): skipping the postgres backend")
        return None


def pg_admin(admin_url: str, statement: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(_asyncpg_url(admin_url), timeout=10)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


@contextlib.contextmanager
def fresh_pg_database(admin_url: str) -> Iterator[str]:
    """A new, empty database for one seedgate run; dropped afterwards whatever happened."""
    name = f"seedgate_bench_{secrets.token_hex(4)}"
    pg_admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(admin_url, name)
    finally:
        try:
            # FORCE (PostgreSQL 13+) also ends a connection a killed server left behind.
            pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception as exc:  # cleanup must not hide the error that brought us here
            print(f"warning: could not drop database {name}: {exc}", file=sys.stderr)


# -- load -----------------------------------------------------------------------------------------------------


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        sys.exit(
            "wrk is not installed; install it with `sudo apt-get install -y wrk` (Debian/Ubuntu) or "
            "`brew install wrk` (macOS). This bench needs it: a Python load generator would take most of "
            "a 2-core machine's CPU away from the servers it measures."
        )
    return path


_RESULT = re.compile(r"^BENCH-RESULT (.*)$", re.M)
_BAD = re.compile(r"^BENCH-BAD (\d+) (.*)$", re.M)


def machine_cpu_s() -> tuple[float, float] | None:
    """(busy, steal) CPU seconds of the whole machine so far, from /proc/stat; None off Linux."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = values
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def busy_cores(seconds: float) -> float | None:
    before = machine_cpu_s()
    time.sleep(seconds)
    after = machine_cpu_s()
    return (after[0] - before[0]) / seconds if before and after else None


QUIET_CORES = 0.3


def wait_for_quiet(limit_s: float) -> None:
    """Hold the next run while something else keeps the machine busy (up to limit_s): on 2 cores a neighbour
    that takes one skews a point far more than the differences being measured."""
    load = busy_cores(0.5)
    if load is None or load <= QUIET_CORES or limit_s <= 0:
        return
    print(f"  (machine busy: {load:.2f} cores; waiting up to {limit_s:.0f} s for it to quiet down)", flush=True)
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        load = busy_cores(1.0)
        if load is not None and load <= QUIET_CORES:
            return
    print(f"  (still {load:.2f} cores busy; measuring anyway)", flush=True)


def postgres_cpu_s() -> float:
    """CPU seconds used so far by the local PostgreSQL processes (read-only peek at /proc), so that a create's
    database cost can be told apart from foreign load; 0 where there are none or /proc is missing."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # exited meanwhile
        name, _, rest = text.partition(") ")
        if name.endswith("(postgres"):
            fields = rest.split()
            # utime + stime, plus cutime + cstime: backends that exited (connections closed) are counted
            # in the postmaster's children's time once it reaps them, so churn does not hide their CPU.
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return total / os.sysconf("SC_CLK_TCK")


def run_wrk(
    wrk: str, server: Server, op: str, clients: int, seconds: int, ids_file: Path, key: str = API_KEY
) -> dict[str, Any]:
    env = dict(os.environ, BENCH_OP=op, BENCH_KEY=key, BENCH_IDS=str(ids_file))
    argv = [
        wrk,
        "-t1",
        f"-c{clients}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(WRK_SCRIPT),
        server.url,
    ]
    cpu_before, machine_before, db_before = server.cpu_s(), machine_cpu_s(), postgres_cpu_s()
    client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 60)
    client_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_after, machine_after, db_after = server.cpu_s(), machine_cpu_s(), postgres_cpu_s()
    match = _RESULT.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    raw = {k: float(v) for k, v in (pair.split("=") for pair in match.group(1).split())}
    requests = int(raw["requests"])
    wall_s = raw["duration_us"] / 1e6
    client_cpu_s = (client_after.ru_utime - client_before.ru_utime) + (client_after.ru_stime - client_before.ru_stime)
    server_cpu_s = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    db_cpu_s = db_after - db_before
    other_cores = steal_cores = None
    if machine_before and machine_after and server_cpu_s is not None:
        # Whatever else ran meanwhile (other jobs, the idle server), in cores: the noise gauge.
        other_cores = (machine_after[0] - machine_before[0] - server_cpu_s - client_cpu_s - db_cpu_s) / wall_s
        steal_cores = (machine_after[1] - machine_before[1]) / wall_s
    result: dict[str, Any] = {
        "requests": requests,
        "rps": requests / wall_s,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "non2xx": int(raw["non2xx"]),
        "socket_errors": {k: int(raw[k]) for k in ("connect", "read", "write", "timeout")},
        "bad_samples": [f"{status} {body}" for status, body in _BAD.findall(done.stdout)],
        # CPU per answered request: on 2 cores it says whether a server is CPU-bound and where its time goes.
        "server_cpu_us_per_req": server_cpu_s / requests * 1e6 if server_cpu_s is not None and requests else None,
        "server_cores": server_cpu_s / wall_s if server_cpu_s is not None else None,
        "client_cores": client_cpu_s / wall_s,
        "db_cpu_us_per_req": db_cpu_s / requests * 1e6 if requests else None,
        "other_cores": other_cores,
        "steal_cores": steal_cores,
    }
    if result["non2xx"] or any(result["socket_errors"].values()):
        print(
            f"  ! {server.name} {op} c={clients}: {result['non2xx']} non-2xx, socket errors "
            f"{result['socket_errors']}; samples: {result['bad_samples'][:2]}",
            flush=True,
        )
    return result


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r[key] is not None]
    return statistics.median(values) if values else None


def measure_backend(
    wrk: str, backend: str, bare: Server, seedgate: Server, args: argparse.Namespace, workdir: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]:
    ids = precreate(seedgate, args.ids)
    ids_file = workdir / f"ids-{backend}.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    sizes = {"bare": body_size(bare, ids[0]), "seedgate": body_size(seedgate, ids[0])}
    servers = {"bare": bare, "seedgate": seedgate}
    rows: list[dict[str, Any]] = []
    warmups: list[dict[str, Any]] = []
    for op in ("create", "get"):
        # A short unmeasured run first: imports, caches and (for SQLite) the page cache settle before timing.
        for name in SERVERS:
            warm = run_wrk(wrk, servers[name], op, 32, args.warmup, ids_file)
            warmups.append({"backend": backend, "op": op, "server": name, **warm})
        for clients in args.concurrency:
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SERVERS}
            for index in range(args.rounds):
                # Bare first in even rounds, seedgate first in odd ones (AB BA AB ...).
                for name in SERVERS if index % 2 == 0 else SERVERS[::-1]:
                    # Doubles as a pause that lets closed connections and queued work drain after the last run.
                    wait_for_quiet(args.wait_quiet)
                    runs[name].append(run_wrk(wrk, servers[name], op, clients, args.duration, ids_file))
            row = {"backend": backend, "op": op, "clients": clients}
            for name in SERVERS:
                row[name] = {
                    "rps": _median(runs[name], "rps"),
                    "p99_ms": _median(runs[name], "p99_ms"),
                    "p50_ms": _median(runs[name], "p50_ms"),
                    "cpu_us_per_req": _median(runs[name], "server_cpu_us_per_req"),
                    "db_cpu_us_per_req": _median(runs[name], "db_cpu_us_per_req"),
                    "other_cores_max": max(
                        (r["other_cores"] for r in runs[name] if r["other_cores"] is not None), default=None
                    ),
                    "non2xx": sum(r["non2xx"] for r in runs[name]),
                    "socket_errors": sum(sum(r["socket_errors"].values()) for r in runs[name]),
                    "runs": runs[name],
                }
            row["ratio"] = row["seedgate"]["rps"] / row["bare"]["rps"]
            rows.append(row)
            print(_row_text(row), flush=True)
    return rows, warmups, sizes


# -- report ---------------------------------------------------------------------------------------------------

COLUMNS = (
    "backend",
    "op",
    "clients",
    "bare rps",
    "seedgate rps",
    "ratio",
    "bare p99 ms",
    "seedgate p99 ms",
    "bare CPU µs/req",
    "seedgate CPU µs/req",
)


def _cells(row: dict[str, Any]) -> list[str]:
    def cpu(side: dict[str, Any]) -> str:
        value, db = side["cpu_us_per_req"], side["db_cpu_us_per_req"]
        if value is None:
            return ""
        # PostgreSQL's own CPU is part of what a create costs on a machine this small: show it beside.
        return f"{value:.0f}" + (f" +{db:.0f} db" if db is not None and db >= 5 else "")

    return [
        row["backend"],
        row["op"],
        str(row["clients"]),
        f"{row['bare']['rps']:.0f}",
        f"{row['seedgate']['rps']:.0f}",
        f"{row['ratio']:.2f}",
        f"{row['bare']['p99_ms']:.1f}",
        f"{row['seedgate']['p99_ms']:.1f}",
        cpu(row["bare"]),
        cpu(row["seedgate"]),
    ]


def _row_text(row: dict[str, Any]) -> str:
    widths = (9, 7, 8, 9, 13, 6, 12, 16, 16, 24)
    return "".join(cell.rjust(width) for cell, width in zip(_cells(row), widths, strict=True))


def text_table(rows: list[dict[str, Any]]) -> str:
    widths = (9, 7, 8, 9, 13, 6, 12, 16, 16, 24)
    header = "".join(col.rjust(width) for col, width in zip(COLUMNS, widths, strict=True))
    return "\n".join([header, *(_row_text(r) for r in rows)])


def reading(rows: list[dict[str, Any]]) -> str:
    """One line judging create+store against the target, per backend."""
    parts = []
    for backend in dict.fromkeys(r["backend"] for r in rows):
        creates = [r for r in rows if r["backend"] == backend and r["op"] == "create"]
        ratios = [r["ratio"] for r in creates]
        below = [str(r["clients"]) for r in creates if r["ratio"] < TARGET_CREATE_RATIO]
        verdict = "met at every concurrency" if not below else f"missed at {', '.join(below)} clients"
        parts.append(
            f"{backend}: create+store runs at {min(ratios):.2f}-{max(ratios):.2f} of the bare ceiling, "
            f"target ≥ {TARGET_CREATE_RATIO} {verdict}"
        )
    return "; ".join(parts) + "."


def errors_line(rows: list[dict[str, Any]], warmups: list[dict[str, Any]]) -> str:
    problems = []
    for r in rows:
        for name in SERVERS:
            side = r[name]
            if side["non2xx"] or side["socket_errors"]:
                samples = [s for run in side["runs"] for s in run["bad_samples"]][:1]
                problems.append(
                    f"{name} {r['backend']} {r['op']} c={r['clients']}: {side['non2xx']} non-2xx, "
                    f"{side['socket_errors']} socket errors {samples}"
                )
    for w in warmups:
        if w["non2xx"] or any(w["socket_errors"].values()):
            problems.append(
                f"warm-up {w['server']} {w['backend']} {w['op']}: {w['non2xx']} non-2xx {w['bad_samples'][:1]}"
            )
    if not problems:
        return "Every response during the measured and warm-up runs was 2xx; no socket errors."
    return "Errors during load: " + "; ".join(problems) + "."


def tail_note(rows: list[dict[str, Any]]) -> str | None:
    """Explain a p99 far above its median, which otherwise reads as if the ceiling were slower than seedgate."""
    tails = [
        (
            r["clients"],
            f"{name} {r['backend']} {r['op']} c={r['clients']} (p50 {r[name]['p50_ms']:.0f} ms, "
            f"p99 {r[name]['p99_ms']:.0f} ms)",
        )
        for r in rows
        for name in SERVERS
        if r[name]["p99_ms"] > 10 * max(r[name]["p50_ms"], 1.0)
    ]
    if not tails:
        return None
    note = "Tails: p99 is more than 10x the median at " + "; ".join(text for _, text in tails) + "."
    if any(clients >= 64 for clients, _ in tails):
        note += (
            " With 128 keep-alive connections uvicorn on uvloop answers about 1% of requests very late (up to "
            "1-2 s) while the rest flow; the same bare app on the stdlib asyncio loop showed p99 of about 80 ms "
            "at the same throughput when checked by hand, so such tails belong to the server stack."
        )
    if any(clients < 64 for clients, _ in tails):
        note += (
            " At low concurrency a handful of stalls (a busy neighbour, the VM) is enough to move p99: see the "
            "per-run numbers in bench/results/api.json."
        )
    return note


def noise_line(rows: list[dict[str, Any]]) -> str:
    """How much CPU something other than the server under test, wrk and PostgreSQL took during the runs."""
    samples = [
        (run["other_cores"], f"{name} {r['backend']} {r['op']} c={r['clients']}")
        for r in rows
        for name in SERVERS
        for run in r[name]["runs"]
        if run["other_cores"] is not None
    ]
    if not samples:
        return "Foreign CPU load was not measured (no /proc)."
    worst, where = max(samples)
    busy = sum(1 for value, _ in samples if value > QUIET_CORES)
    return (
        f"Foreign CPU load during runs (not the server under test, wrk or PostgreSQL): at most {worst:.2f} "
        f"cores ({where}); {busy} of {len(samples)} runs above {QUIET_CORES} cores."
    )


def seedgate_revision() -> str:
    """The commit measured, and whether the working tree differed from it (others edit while this runs)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "seedgate"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes in seedgate/" if dirty else "")


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break

    def version(package: str) -> str | None:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return None

    wrk_version = subprocess.run([wrk_path(), "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": {
            p: version(p)
            for p in (
                "fastapi",
                "starlette",
                "pydantic",
                "uvicorn",
                "uvloop",
                "httptools",
                "sqlalchemy",
                "aiosqlite",
                "asyncpg",
            )
        },
        "wrk": wrk_version.split(" [")[0],
    }


def markdown(
    rows: list[dict[str, Any]], warmups: list[dict[str, Any]], info: dict[str, Any], config: dict[str, Any]
) -> str:
    packages = info["packages"]
    revs = config["revisions"]
    revisions = (
        next(iter(revs.values()))
        if len(set(revs.values())) == 1
        else ", ".join(f"{rev} ({backend})" for backend, rev in revs.items())
    )
    # uvicorn picks uvloop and httptools when they are installed, for both servers alike.
    stack = (
        f"uvicorn {packages['uvicorn']} (loop {'uvloop' if packages['uvloop'] else 'asyncio'}, http "
        f"{'httptools' if packages['httptools'] else 'h11'}), FastAPI {packages['fastapi']}, "
        f"Pydantic {packages['pydantic']}"
    )
    backends = f"SQLite {info['sqlite']}" + (f", PostgreSQL {config['postgres']}" if config["postgres"] else "")
    lines = [
        DOC_HEADING,
        "",
        f"Run on {config['date']}: {info['cpus']} CPU cores ({info['cpu_model']}), {info['os']}, Python "
        f"{info['python']}, {stack}; {backends}; load from {info['wrk']} (`-t1`, one core's worth at most); "
        f"seedgate at {revisions}.",
        "",
        "*bare* is the ceiling: `bench/bare_app.py`, the same two routes on the same uvicorn settings in one "
        "process (POST validates a small Pydantic model and answers an id, GET answers a task-sized object), "
        "storing nothing. *seedgate* is `seedgate serve --workers 0` (an API-only node, so tasks stay queued "
        "and a create is validate + store) on a fresh database. Both run side by side on the same machine, "
        f"measured alternately in the same run: {config['duration']} s per run, {config['rounds']} rounds "
        "(who goes first alternates), median shown; each run first waits (up to "
        f"{config['wait_quiet']:.0f} s) for other load on the machine to drop below {QUIET_CORES} cores. "
        f"*ratio* = seedgate / bare throughput; target for create: at least {TARGET_CREATE_RATIO}. "
        f"GET cycles over {config['ids']} tasks created beforehand (response bodies: bare "
        f"{config['body_bytes']['bare']} B, seedgate {config['body_bytes']['seedgate']} B). "
        "*CPU µs/req* is the server process's own CPU (all threads) per answered request; *+N db* is what the "
        "PostgreSQL processes used on top, per request.",
        "",
        f"Command: `{config['command']}`",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|---|---|" + "---:|" * (len(COLUMNS) - 2),
        *("| " + " | ".join(_cells(r)) + " |" for r in rows),
        "",
        "Reading: " + reading(rows),
        "",
        errors_line(rows, warmups),
        "",
        noise_line(rows),
    ]
    note = tail_note(rows)
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def write_docs(section: str, path: Path) -> None:
    write_section(section, path, DOC_HEADING)


def _concurrency(raw: str) -> list[int]:
    return [int(part) for part in raw.split(",") if part.strip()]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    parser.add_argument("--quick", action="store_true", help="2 s runs and a 1 s warm-up: a smoke check")
    parser.add_argument("--duration", type=int, help="seconds per wrk run [default 8, --quick 2]")
    # Three, not two: on a shared 2-core VM one run in a few is disturbed, and a median of three drops it.
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs per server and point; the median is shown [default 3]"
    )
    parser.add_argument(
        "--concurrency",
        type=_concurrency,
        default=[1, 32, 128],
        help="comma-separated client counts [default 1,32,128]",
    )
    parser.add_argument("--ids", type=int, default=500, help="tasks created beforehand for the get load")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_PG,
        help="PostgreSQL server for the postgres backend: a fresh database is created there and "
        f"dropped afterwards [default {DEFAULT_PG}]",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120.0,
        help="before each run, wait up to this many seconds while other processes keep more than "
        f"{QUIET_CORES} cores busy; 0 to never wait [default 120]",
    )
    parser.add_argument(
        "--backends",
        type=lambda raw: [b.strip() for b in raw.split(",") if b.strip()],
        default=["sqlite", "postgres"],
        help="comma-separated [default sqlite,postgres]",
    )
    parser.add_argument("--no-postgres", action="store_true", help="measure SQLite only (same as --backends sqlite)")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite the section in docs/benchmarks.md")
    args = parser.parse_args()
    unknown = set(args.backends) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    if args.no_postgres:
        args.backends = [b for b in args.backends if b != "postgres"]
    args.duration = args.duration or (2 if args.quick else 8)
    args.warmup = 1 if args.quick else 2
    return args


def raise_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM takes the same path as Ctrl-C, so the finally blocks stop servers and remove temp files.
    raise KeyboardInterrupt


def main() -> None:
    args = parse_args()
    wrk = wrk_path()
    signal.signal(signal.SIGTERM, raise_interrupt)
    info = machine()
    pg_version = pg_probe(args.database_url) if "postgres" in args.backends else None
    rows: list[dict[str, Any]] = []
    warmups: list[dict[str, Any]] = []
    sizes: dict[str, int] = {}
    revisions: dict[str, str] = {}
    print(f"{info['cpus']} cores, {info['wrk']}; {args.duration} s per run, {args.rounds} rounds", flush=True)
    idle_load = busy_cores(1.0)
    if idle_load is not None and idle_load > QUIET_CORES:
        # On 2 cores one busy neighbour halves what the server gets: say so rather than print quiet-looking numbers.
        print(
            f"warning: {idle_load:.2f} cores busy before the bench started; results will be noisy "
            "(see the foreign CPU line at the end)",
            flush=True,
        )
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="seedgate-api-bench-")))
        bare = bare_server(workdir)
        stack.callback(bare.stop)
        bare.start()
        backends = [b for b in args.backends if b != "postgres" or pg_version]
        for backend in backends:
            with contextlib.ExitStack() as inner:
                database_url = (
                    inner.enter_context(fresh_pg_database(args.database_url)) if backend == "postgres" else None
                )
                seedgate = seedgate_server(workdir, backend, database_url)
                inner.callback(seedgate.stop)  # runs before the database is dropped
                seedgate.start()
                revisions[backend] = seedgate_revision()  # what this server loaded, as others commit meanwhile
                print(f"\n{backend}: seedgate on {seedgate.url}, bare on {bare.url}", flush=True)
                print(text_table([]), flush=True)
                try:
                    backend_rows, backend_warmups, sizes = measure_backend(wrk, backend, bare, seedgate, args, workdir)
                except Exception:
                    print(f"--- {seedgate.name} log tail ---\n{seedgate.log_tail()}", file=sys.stderr)
                    raise
                rows += backend_rows
                warmups += backend_warmups

    command = shlex.join([".venv/bin/python", "bench/api_bench.py", *sys.argv[1:]])
    config = {
        "date": dt.date.today().isoformat(),
        "command": command,
        "duration": args.duration,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "wait_quiet": args.wait_quiet,
        "concurrency": args.concurrency,
        "ids": args.ids,
        "postgres": pg_version,
        "body_bytes": sizes,
        "revisions": revisions,
    }
    print("\n" + text_table(rows))
    print("\nReading: " + reading(rows))
    print(errors_line(rows, warmups))
    print(noise_line(rows))
    print(tail_note(rows) or "")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"config": config, "machine": info, "rows": rows, "warmups": warmups}, indent=2) + "\n"
    )
    print(f"raw results: {RESULTS.relative_to(ROOT)}")
    if not args.no_docs:
        write_docs(markdown(rows, warmups, info, config), DOCS)
        print(f"updated the '{DOC_HEADING}' section of {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted: servers stopped, temporary files removed")
