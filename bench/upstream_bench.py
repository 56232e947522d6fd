"""Benchmark the upstream relay: 1,000 tasks in flight on one Ark upstream, and how long after the upstream finished
a task the gateway shows it succeeded (result downloaded into its own storage).

Run:  .venv/bin/python bench/upstream_bench.py                 (1,000 tasks, polling only, then with callbacks)
      .venv/bin/python bench/upstream_bench.py --tasks 200     (a quicker run)

The upstream is bench/ark_standin.py: a protocol-faithful Ark stand-in (the real Ark cannot be reached from here)
that enforces Ark's documented query limits (20 retrieves and 1 list per second; more is answered with 429) and
records the exact moment each task finished. The gateway is a real `seedgate serve` process on SQLite with one
`ark-volcengine` channel pointed at the stand-in. "Seen" is the moment the gateway's task row turned succeeded
(read from its database afterwards): from then on every client read answers succeeded with a seedgate URL.
Targets from issue 6: median under 2 s, p99 under 5 s, no 429 from the upstream.

Writes bench/results/upstream.json and the `## Upstream relay` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from ark_standin import ArkStandin
from docs_section import write_section  # noqa: E402 - bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "upstream.json"
DOCS = ROOT / "docs" / "benchmarks.md"
DOC_HEADING = "## Upstream relay"
MODEL = "doubao-seedance-1-0-pro-250528"
KEY = "sk-bench"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]  # an AF_INET address: (host, port)
        return port


def start_gateway(data: Path, channels: Path, callbacks: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDGATE_")}
    env.update(
        SEEDGATE_API_KEY=KEY,
        SEEDGATE_DATA_DIR=str(data),
        SEEDGATE_CHANNELS=str(channels),
        SEEDGATE_ALLOW_PRIVATE_URLS="1",
        UPSTREAM_KEY="sk-standin",
        SEEDGATE_LOG_LEVEL="WARNING",
    )
    if callbacks:
        env["SEEDGATE_PUBLIC_URL"] = url
    log = (data.parent / "gateway.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "seedgate.cli", "serve", "--port", str(port), "--workers", "0"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the gateway did not start")


async def create_all(url: str, count: int) -> None:
    body = {"model": MODEL, "content": [{"type": "text", "text": "a lighthouse at dusk --rs 480p --dur 5"}]}
    gate = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as http:

        async def one() -> None:
            async with gate:
                answer = await http.post("/api/v3/contents/generations/tasks", json=body)
                answer.raise_for_status()

        await asyncio.gather(*(one() for _ in range(count)))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_mode(tasks: int, callbacks: bool, run_seconds: tuple[float, float], list_batch: int) -> dict[str, Any]:
    standin = ArkStandin(run_seconds=run_seconds, get_qps=20, list_qps=1, callbacks=callbacks, seed=7)
    standin.start()
    with tempfile.TemporaryDirectory(prefix="seedgate-upbench-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        channels = Path(tmp) / "channels.toml"
        channels.write_text(
            f'[[channel]]\nname = "ark"\nkind = "ark-volcengine"\nbase_url = "{standin.base_url}"\n'
            f'key_env = "UPSTREAM_KEY"\nconcurrency = {tasks * 2}\nquery_rps = 20\nlist_rps = 1\n'
            f'list_batch = {list_batch}\nmodels = ["{MODEL}"]\n'
        )
        gateway, url = start_gateway(data, channels, callbacks)
        try:
            started = time.monotonic()
            asyncio.run(create_all(url, tasks))
            created_s = time.monotonic() - started
            deadline = time.monotonic() + run_seconds[1] + 300
            db = sqlite3.connect(data / "seedgate.db")
            while time.monotonic() < deadline:
                done = db.execute("SELECT count(*) FROM tasks WHERE status IN ('succeeded', 'failed')").fetchone()[0]
                if done >= tasks:
                    break
                time.sleep(0.5)
            rows = db.execute(
                "SELECT t.status, t.finished_at, u.upstream_id FROM tasks t JOIN upstream_tasks u ON u.task_id = t.id"
            ).fetchall()
            db.close()
        finally:
            gateway.terminate()
            gateway.wait(timeout=60)
            standin.stop()
    finished = standin.completed_at
    lags = [
        seen - finished[upstream_id]
        for status, seen, upstream_id in rows
        if status == "succeeded" and upstream_id in finished and seen
    ]
    return {
        "mode": "callbacks + polling" if callbacks else "polling only",
        "tasks": tasks,
        "succeeded": len(lags),
        "create_s": round(created_s, 1),
        "median_s": round(statistics.median(lags), 2) if lags else None,
        "p99_s": round(pct(lags, 0.99), 2) if lags else None,
        "max_s": round(max(lags), 2) if lags else None,
        "upstream_429": standin.limited,
        "upstream_calls": dict(standin.calls),
        "list_batch": list_batch,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument(
        "--run",
        type=float,
        nargs=2,
        default=(30.0, 90.0),
        metavar=("MIN", "MAX"),
        help="seconds each upstream task runs, uniformly in [MIN, MAX]",
    )
    parser.add_argument("--list-batch", type=int, default=500, help="task IDs per list call (Ark's page_size cap)")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args()
    results = [run_mode(args.tasks, callbacks, tuple(args.run), args.list_batch) for callbacks in (False, True)]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    rows = [
        f"| {r['mode']} | {r['tasks']} | {r['succeeded']} | {r['median_s']} | {r['p99_s']} | {r['max_s']} | "
        f"{r['upstream_429']} | {r['upstream_calls'].get('get', 0)} | {r['upstream_calls'].get('list', 0)} |"
        for r in results
    ]
    section = (
        f"{DOC_HEADING}\n\n"
        f"Run on {time.strftime('%Y-%m-%d')}: {os.cpu_count()} CPU cores, {platform.platform()}, Python "
        f"{platform.python_version()}; gateway and stand-in on the same machine, gateway on SQLite.\n\n"
        f"{args.tasks} tasks created at once through the gateway's Ark API, each running {args.run[0]:.0f}-"
        f"{args.run[1]:.0f} s on bench/ark_standin.py, which enforces Ark's query limits (20 retrieves/s, 1 list/s; "
        f"more is answered 429). *lag* = when the gateway's task turned succeeded (result already downloaded into "
        f"its storage) minus when the upstream task finished. Targets: median under 2 s, p99 under 5 s, no 429s. "
        f"List calls carry up to {args.list_batch} task IDs (`list_batch`).\n\n"
        f"Command: `.venv/bin/python bench/upstream_bench.py --tasks {args.tasks}`\n\n"
        "| mode | tasks | succeeded | median lag (s) | p99 lag (s) | max lag (s) | upstream 429s | retrieves "
        "| lists |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n"
    )
    print(section)
    if not args.no_docs:
        write_section(section, DOCS, DOC_HEADING)


if __name__ == "__main__":
    main()
