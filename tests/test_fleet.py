"""A seedgate fleet under faults (issue 18), the topology docs/deploy.md describes.

Two API nodes (`seedgate serve --workers 0`) and two `seedgate worker` processes, each with its own data directory
(no shared disk), one PostgreSQL database and one S3 bucket (SeaweedFS, tests/s3.py). A few hundred tasks in every
mode go in through the official SDKs, alternating API nodes; meanwhile one worker is killed (-9) while it renders
and one API node is killed (-9) while requests are in flight, and both come back on the same ports and directories.
Afterwards no accepted task is lost or completed twice, every result reads the same from both API nodes and is a
valid MP4, every task's final webhook arrived, and the results live in the bucket, not on any node's disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI
from volcenginesdkarkruntime import Ark
from volcenginesdkarkruntime._exceptions import ArkAPIConnectionError

from seedgate.media.objects import ObjectStore

from .conftest import (
    API_KEY,
    Database,
    MediaServer,
    Server,
    WebhookReceiver,
    server_env,
    start_process,
    start_server,
    wait_status,
)
from .media import image_bytes, inspect_video, video_bytes, wav_bytes
from .s3 import S3Server
from .waiting import wait_until

pytestmark = [
    # The fleet is a PostgreSQL deployment: SQLite cannot be shared by processes on different machines.
    pytest.mark.parametrize("database", ["postgres"], indirect=True, scope="module"),
    # Every `client.videos` method is marked deprecated (Sora's shutdown); the wire format still matters.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

PRO = "doubao-seedance-1-0-pro-250528"
V2 = "doubao-seedance-2-0-260128"
# Short leases, so that the killed worker's task is claimed again within seconds.
LEASE_SECONDS = "2"
# One mix of 20 requests, repeated: the count keeps the run within a few minutes on two cores (a preview render of
# these sizes takes 0.4 to 1 s; the extension, 8 s at 640x640, about 2 s).
MIX = (
    ("text",) * 5
    + ("first_frame",) * 3
    + ("first_last",) * 3
    + ("reference",) * 2
    + ("asset",) * 2
    + ("openai",) * 2
    + ("remix",) * 2
    + ("extend",)
)
ROUNDS = 10
# Frames of each kind's result: PRO 2 s, 2.0 4 s (a remix keeps its source's 4 s), an extension 4 + 4 s, at 24 fps.
FRAMES = {
    "text": 49,
    "first_frame": 49,
    "first_last": 49,
    "reference": 97,
    "asset": 97,
    "openai": 97,
    "remix": 97,
    "extend": 193,
    "victim": 121,
}
OPENAI_KINDS = frozenset({"openai", "remix", "extend"})
# The errors of a request whose node died under it (connection refused, reset, closed mid-answer): retried on the
# other API node. Any HTTP answer, an error status included, is the node's real answer and is not retried.
NODE_DOWN = (httpx.TransportError, ArkAPIConnectionError, openai.APIConnectionError)


@dataclass
class Worker:
    name: str
    env: dict[str, str]
    log_path: Path
    process: Any = None

    def start(self) -> None:
        self.process = start_process(["worker"], self.env, self.log_path)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Fleet:
    database: Database
    root: Path
    s3: S3Server
    prefix: str  # this fleet's objects in the bucket
    api: list[Server] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)

    def data_dir(self, name: str) -> Path:
        return self.root / name / "data"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **self.s3.env(),
            "SEEDGATE_STORAGE_URL": self.s3.url(self.prefix),
            "SEEDGATE_LEASE_SECONDS": LEASE_SECONDS,
            **extra,
        }

    def start_api(self, name: str, port: int | None = None, **extra: str) -> Server:
        return start_server(self.database, self.data_dir(name), "--workers", "0", port=port, **self.env(**extra))

    def restart_api(self, index: int) -> None:
        old = self.api[index]
        port = int(old.url.rsplit(":", 1)[1])
        self.api[index] = start_server(self.database, old.data_dir, "--workers", "0", port=port, **self.env())

    def add_worker(self, name: str) -> Worker:
        data_dir = self.data_dir(name)
        data_dir.mkdir(parents=True, exist_ok=True)
        # A worker renders the webhooks of the tasks it settles, links included: they point where a load balancer
        # in front of the API nodes would; here the first API node stands for it.
        env = server_env(self.database, data_dir, **self.env(SEEDGATE_PUBLIC_URL=self.api[0].url))
        worker = Worker(name, env, self.root / f"{name}.log")
        worker.start()
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.terminate()
        for worker in self.workers:
            try:
                worker.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                worker.process.kill()
        for node in self.api:
            node.stop()

    def stored_keys(self) -> set[str]:
        async def listed() -> set[str]:
            store = ObjectStore.from_url(self.s3.url(self.prefix), self.s3.env())
            return {info.key async for info in store.list()}

        return asyncio.run(listed())

    def files_on_disk(self, folder: str) -> list[Path]:
        """Files some node keeps under `folder` of its data directory."""
        return [p for p in self.root.glob(f"*/data/{folder}/**/*") if p.is_file()]

    def worker_logs(self) -> str:
        return "".join(worker.log() for worker in self.workers)


def crash(process: Any) -> None:
    """kill -9 a node as a lost machine would: the process and every process it started (its decode workers)."""
    family = _descendants(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    for pid in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


@pytest.fixture(scope="module")
def fleet(database: Database, s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    fleet = Fleet(database, tmp_path_factory.mktemp("fleet"), s3_server, f"fleet-{secrets.token_hex(4)}")
    try:
        fleet.api = [fleet.start_api("api-a"), fleet.start_api("api-b")]
        fleet.add_worker("worker-1")
        fleet.add_worker("worker-2")
        yield fleet
    finally:
        fleet.stop()


# -- what the clients send ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """What the requests point at: media on the test's HTTP server, assets in the library, a finished OpenAI video."""

    image: str
    image2: str
    clip: str
    voice: str
    image_asset: str
    clip_asset: str
    openai_source: str


@dataclass(frozen=True)
class Accepted:
    task_id: str
    kind: str


@dataclass
class Clients:
    """One API node through the official SDKs."""

    ark: Any
    openai: OpenAI

    @classmethod
    def of(cls, node: Server) -> Clients:
        return cls(
            Ark(base_url=node.ark_base, api_key=API_KEY, max_retries=0),
            OpenAI(base_url=f"{node.url}/v1", api_key=API_KEY, max_retries=0),
        )


@dataclass(frozen=True)
class Request:
    """One create as the submitter sends it, to whichever API node."""

    kind: str
    hook: str  # its callback URL (Ark tasks)
    headers: dict[str, str]  # the same Idempotency-Key on a retry


def _ark_create(
    clients: Clients,
    request: Request,
    model: str,
    content: list[dict[str, Any]],
    resolution: str = "480p",
    **options: Any,
) -> str:
    created = clients.ark.content_generation.tasks.create(
        model=model,
        content=content,
        resolution=resolution,
        callback_url=request.hook,
        extra_headers=request.headers,
        **options,
    )
    return str(created.id)


def _image(url: str, role: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}, "role": role}


def create(request: Request, clients: Clients, inputs: Inputs) -> str:
    """Create one task through `clients`' node; its id."""
    kind = request.kind
    prompt = {"type": "text", "text": f"fleet {kind}"}
    if kind == "text":
        return _ark_create(clients, request, PRO, [prompt], duration=2)
    if kind == "first_frame":
        content = [prompt, _image(inputs.image, "first_frame")]
        return _ark_create(clients, request, PRO, content, duration=2, return_last_frame=True)
    if kind == "first_last":
        content = [prompt, _image(inputs.image, "first_frame"), _image(inputs.image2, "last_frame")]
        return _ark_create(clients, request, PRO, content, duration=2)
    if kind == "reference":
        content = [
            prompt,
            _image(inputs.image, "reference_image"),
            {"type": "video_url", "video_url": {"url": inputs.clip}, "role": "reference_video"},
            {"type": "audio_url", "audio_url": {"url": inputs.voice}, "role": "reference_audio"},
        ]
        return _ark_create(clients, request, V2, content, duration=4)
    if kind == "asset":
        content = [
            prompt,
            _image(f"asset://{inputs.image_asset}", "reference_image"),
            {"type": "video_url", "video_url": {"url": f"asset://{inputs.clip_asset}"}, "role": "reference_video"},
        ]
        return _ark_create(clients, request, V2, content, duration=4)
    if kind == "victim":  # a render long enough to be caught in progress (1920x1088, 121 frames)
        return _ark_create(clients, request, PRO, [prompt], resolution="1080p", duration=5)
    if kind == "openai":
        return clients.openai.videos.create(
            prompt="fleet openai", model=V2, seconds="4", size="640x640", extra_headers=request.headers
        ).id
    if kind == "remix":
        return clients.openai.videos.remix(inputs.openai_source, prompt="fleet remix", extra_headers=request.headers).id
    if kind == "extend":
        source = {"video": {"id": inputs.openai_source}}
        return clients.openai.videos.extend(
            prompt="fleet extend", seconds="4", video=openai.omit, extra_body=source, extra_headers=request.headers
        ).id
    raise AssertionError(f"unknown kind {kind}")


def prepare(fleet: Fleet, media_server: MediaServer, webhooks: WebhookReceiver, tmp_path: Path) -> Inputs:
    """The inputs every request mix needs, made before the faults begin."""
    clip = video_bytes(tmp_path / "clip.mp4", 640, 640, seconds=3)
    a, b = fleet.api
    with a.client() as http:
        # Assets go in through one API node; any node's auditor may audit them; the other node reads them.
        uploads = {
            "still.png": ("image/png", image_bytes(640, 640)),
            "clip.mp4": ("video/mp4", clip),
        }
        assets = []
        for name, (mime, data) in uploads.items():
            answer = http.post("/v1/assets", files={"file": (name, data, mime)})
            assert answer.status_code == 200, answer.text
            assets.append(answer.json()["id"])
        # OpenAI sends events to the endpoints a key subscribed, not to a per-task URL.
        endpoint = http.post(
            "/v1/webhook_endpoints",
            json={"name": "fleet", "url": f"{webhooks.url}/openai", "event_types": ["video.completed", "video.failed"]},
        )
        assert endpoint.status_code == 200, endpoint.text
    with b.client() as http:
        for asset in assets:
            status = wait_until(
                lambda: http.get(f"/v1/assets/{asset}").json()["status"],  # noqa: B023 (called at once)
                f"asset {asset} to be audited",
                until=lambda s: s != "processing",
            )
            assert status == "ready", http.get(f"/v1/assets/{asset}").text
    source = Clients.of(b).openai.videos.create_and_poll(
        prompt="fleet source", model=V2, seconds="4", size="640x640", poll_interval_ms=200
    )
    assert source.status == "completed", source
    return Inputs(
        image=media_server.add("fleet-first.png", image_bytes(864, 480)),
        image2=media_server.add("fleet-last.jpg", image_bytes(864, 480, (0, 0, 250), "JPEG")),
        clip=media_server.add("fleet-clip.mp4", clip),
        voice=media_server.add("fleet-voice.wav", wav_bytes(tmp_path / "voice.wav", seconds=3)),
        image_asset=assets[0],
        clip_asset=assets[1],
        openai_source=source.id,
    )


class Submitter:
    """Creates tasks from several threads, each on its planned API node first and on the other one if the planned
    node is down; a task counts as accepted only once a create answered 2xx with its id."""

    def __init__(self, fleet: Fleet, inputs: Inputs, hook_url: str) -> None:
        self.clients = [Clients.of(node) for node in fleet.api]  # by address: a restarted node keeps its port
        self.inputs = inputs
        self.hook_url = hook_url
        self.accepted: list[Accepted] = []
        self.failovers = 0
        self.lock = threading.Lock()
        self.run = secrets.token_hex(4)

    def send(self, number: int, kind: str) -> Accepted:
        hook = f"{self.hook_url}/ark/{kind}"
        request = Request(kind, hook, {"Idempotency-Key": f"{self.run}-{number}"})
        planned = number % 2
        for node in (planned, 1 - planned):
            try:
                task_id = create(request, self.clients[node], self.inputs)
            except NODE_DOWN:
                with self.lock:
                    self.failovers += 1
                continue
            accepted = Accepted(task_id, kind)
            with self.lock:
                self.accepted.append(accepted)
            return accepted
        raise AssertionError(f"create {number} ({kind}) failed on both API nodes")

    def count(self) -> int:
        with self.lock:
            return len(self.accepted)


def kill_worker_rendering(fleet: Fleet, clients: Clients, task_id: str) -> Worker:
    """kill -9 the worker that is rendering `task_id`, mid-render; the killed worker (not yet restarted)."""
    wait_status(lambda i: clients.ark.content_generation.tasks.get(task_id=i), task_id, ("running",), timeout=60)
    line = f"task {task_id} running on preview (attempt 1)"
    worker = wait_until(lambda: next((w for w in fleet.workers if line in w.log()), None), f"a worker to log {line!r}")
    crash(worker.process)
    # Still running as far as the store knows: the render died with the worker, nobody settled it.
    assert clients.ark.content_generation.tasks.get(task_id=task_id).status == "running"
    return worker


def served_video(clients: Clients, task: Accepted) -> bytes:
    """The task's video as one API node serves it, once the task has finished (it must have succeeded)."""
    if task.kind in OPENAI_KINDS:
        video = wait_status(
            lambda i: clients.openai.videos.retrieve(i), task.task_id, ("completed", "failed"), timeout=300
        )
        assert video.status == "completed", video
        return clients.openai.videos.download_content(task.task_id).read()
    done = wait_status(lambda i: clients.ark.content_generation.tasks.get(task_id=i), task.task_id, timeout=300)
    assert done.status == "succeeded", done
    if task.kind == "first_frame":
        last_frame = httpx.get(done.content.last_frame_url, timeout=30)
        assert last_frame.status_code == 200 and last_frame.content[:8] == b"\x89PNG\r\n\x1a\n"
    video = httpx.get(done.content.video_url, timeout=30)
    assert video.status_code == 200, video.text
    return video.content


def check_result(clients: list[Clients], task: Accepted) -> None:
    """Every API node serves the same, valid video for the task."""
    served = [served_video(c, task) for c in clients]
    assert all(data == served[0] for data in served), f"{task}: the API nodes serve different bytes"
    facts = inspect_video(served[0])
    assert (facts.codec, facts.frames) == ("h264", FRAMES[task.kind]), (task, facts)


def final_webhooks(webhooks: WebhookReceiver, accepted: list[Accepted]) -> dict[str, list[bytes]]:
    """Each accepted task's final callbacks as received (raw bodies): Ark's with a final status, OpenAI's events."""
    finals: dict[str, list[bytes]] = {task.task_id: [] for task in accepted}
    with webhooks.lock:
        calls = list(webhooks.calls)
    for hook in calls:
        if hook.path == "/openai":
            task_id = hook.body["data"]["id"]
        elif hook.body.get("status") in ("succeeded", "failed", "expired", "cancelled"):
            task_id = hook.body["id"]
        else:
            continue
        if task_id in finals:
            finals[task_id].append(hook.raw)
    return finals


def query(database: Database, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of the fleet's database, read behind the nodes' backs."""
    import asyncpg

    async def fetch() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(database.url)
        try:
            return [dict(row) for row in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(fetch())


def test_fleet_loses_nothing_when_nodes_are_killed(
    fleet: Fleet, media_server: MediaServer, webhooks: WebhookReceiver, tmp_path: Path
) -> None:
    inputs = prepare(fleet, media_server, webhooks, tmp_path)
    submitter = Submitter(fleet, inputs, webhooks.url)
    victim = submitter.send(0, "victim")
    plan = list(enumerate((kind for _ in range(ROUNDS) for kind in MIX), start=1))
    third = len(plan) // 3
    first, second, last = plan[:third], plan[third : 2 * third], plan[2 * third :]
    with ThreadPoolExecutor(4) as pool:

        def submit(part: list[tuple[int, str]]) -> list[Future[Accepted]]:
            return [pool.submit(submitter.send, number, kind) for number, kind in part]

        pending = submit(first)
        killed = kill_worker_rendering(fleet, submitter.clients[0], victim.task_id)
        # API node b dies with creates in flight; they and every create that follows go to node a.
        wait_until(submitter.count, "half the first third of the creates answered", until=lambda n: n > len(first) // 2)
        crash(fleet.api[1].process)
        wait(pending)
        pending += submit(second)
        wait(pending)
        # Both come back on their ports and data directories while the last third goes in.
        pending += submit(last)
        fleet.restart_api(1)
        killed.start()
        accepted = [victim, *(future.result() for future in pending)]
    assert submitter.failovers > 0  # some creates met the dead node and went to the other one
    # No twins either: a retry carries the same Idempotency-Key, so a create the dead node committed but never
    # answered is the task the retry answered. The store holds the accepted tasks and the remix source, no more.
    assert len({task.task_id for task in accepted}) == len(accepted)
    assert query(fleet.database, "SELECT count(*) AS n FROM tasks")[0]["n"] == len(accepted) + 1

    # 0 lost: every accepted task succeeds, as read from each API node, with the same valid video from both.
    clients = [Clients.of(node) for node in fleet.api]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda task: check_result(clients, task), accepted))
    assert f"task {victim.task_id} running on preview (attempt 2)" in fleet.worker_logs()

    # Every webhook delivered: each task's final callback reached the receiver (node b died holding some
    # deliveries; any node sends them once their lease runs out).
    finals = wait_until(
        lambda: final_webhooks(webhooks, accepted),
        "every accepted task's final callback",
        until=lambda found: all(found.values()),
        timeout=120,
    )
    # ... and every callback before it (queued, running): no delivery of an accepted task is left undelivered.
    undelivered = query(
        fleet.database,
        "SELECT task_id, seq, status, attempts, last_error FROM webhook_deliveries"
        " WHERE task_id = ANY($1) AND status <> 'delivered'",
        [task.task_id for task in accepted],
    )
    assert not undelivered, undelivered

    # 0 completed twice, seen two ways. A worker logs "succeeded" only when its settle won the task's lease-guarded
    # transition, so each task has one such line across all worker logs (a killed worker logs none for the task it
    # died on). And a final callback is rendered once, in the transition that settles the task, and stored: a
    # redelivery sends the same bytes, while a second completion would have rendered a second, different one.
    succeeded = Counter(re.findall(r"task (\S+) succeeded in ", fleet.worker_logs()))
    twice = [task.task_id for task in accepted if succeeded[task.task_id] != 1]
    assert not twice, f"tasks not completed exactly once: {twice}"
    differing = [task_id for task_id, bodies in finals.items() if len(set(bodies)) != 1]
    assert not differing, f"tasks whose final callbacks differ: {differing}"

    # No shared disk: every result is in the bucket, and no node keeps one in its data directory (a node keeps only
    # scratch: spooled uploads, a render's work folder until its result is stored, a cache of inputs it read).
    keys = fleet.stored_keys()
    missing = [task.task_id for task in accepted if f"results/{task.task_id}/video.mp4" not in keys]
    assert not missing, f"results not in the bucket: {missing}"
    assert any(key.startswith("blobs/") for key in keys)  # the inputs, by content hash
    assert fleet.files_on_disk("results") == [] and fleet.files_on_disk("blobs") == []


def test_presigned_links_and_proxied_ranges_across_the_fleet(fleet: Fleet) -> None:
    """A node with SEEDGATE_RESULT_LINKS=presigned hands out links straight to the bucket; the proxy-mode nodes,
    which never render (the workers do), stream byte ranges of the same object."""
    presigned = fleet.start_api("api-presigned", SEEDGATE_RESULT_LINKS="presigned")
    try:
        ark = Clients.of(presigned).ark
        created = ark.content_generation.tasks.create(
            model=PRO, content=[{"type": "text", "text": "fleet presigned"}], resolution="480p", duration=2
        )
        task = wait_status(lambda i: ark.content_generation.tasks.get(task_id=i), created.id)
        assert task.status == "succeeded", task
        url = task.content.video_url
        assert url.startswith(fleet.s3.endpoint + "/") and "X-Amz-Signature=" in url, url
        direct = httpx.get(url, timeout=30)  # no key, no seedgate: the bucket serves it
        assert direct.status_code == 200, direct.text
        assert inspect_video(direct.content).frames == FRAMES["text"]
    finally:
        presigned.stop()
    for node in fleet.api:
        proxied = Clients.of(node).ark.content_generation.tasks.get(task_id=created.id).content.video_url
        assert proxied.startswith(f"{node.url}/files/"), proxied
        ranged = httpx.get(proxied, headers={"Range": "bytes=1000-1999"}, timeout=30)
        assert ranged.status_code == 206 and ranged.content == direct.content[1000:2000]
        assert ranged.headers["content-range"] == f"bytes 1000-1999/{len(direct.content)}"
