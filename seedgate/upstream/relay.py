"""The upstream relay: hands tasks of channel-served models to an upstream, follows them there, and brings the
results home.

Each task handed over gets an `upstream_tasks` row, leased by one node at a time; the row's state is where the
task stands with its upstream (the states and the steps between them: core/upstream_states.py).

`sending` is written before the request leaves, so a node that dies mid-send leaves a row that says so, and the
next node looks the task up instead of sending it again. A create is only sent to another channel when the first
certainly did not take it.

The relay talks to each channel through an `Upstream` (wire.py), made from the channels file by `connect`; its
clock is `clock`. Both are parameters so that its logic runs in tests against an in-memory upstream, one step at
a time (`step`, `finish_jobs`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import random
import secrets
import shutil
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import av

from seedgate.core.errors import invalid
from seedgate.core.plan import TaskPlan
from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.core.upstream_states import StateError, UpstreamState
from seedgate.core.usage import usage
from seedgate.media.fetch import Fetcher, FetchError
from seedgate.media.probe import sniff_mime
from seedgate.media.signing import UrlSigner
from seedgate.media.storage import Storage
from seedgate.store.store import Store
from seedgate.store.upstream import POKED, UpstreamRecord
from seedgate.tasks.settle import WebhooksFor, settle

from .ark_client import ArkClient
from .channels import Channel, Channels
from .openai_client import MODES as OPENAI_MODES
from .openai_client import OpenAIVideosClient
from .wire import Outgoing, Refused, Rejected, Unavailable, Unsure, Upstream, UpstreamTask

log = logging.getLogger("seedgate.upstream")

MISSES_BEFORE_LOST = 3  # an accepted task the upstream answers 404 for this many times is lost
REFUSAL_ROUNDS = 3  # every channel refused this many times over: the task fails
DOWNLOAD_ATTEMPTS = 20
CALLBACK_POLL_S = 15.0  # with callbacks on, polls are only the safety net
MEDIA_LINK_S = 86400


def make_client(channel: Channel) -> Upstream:
    """The real client for a channel of the channels file."""
    return OpenAIVideosClient(channel) if channel.kind == "openai-videos" else ArkClient(channel)


def callback_path(task_id: str) -> str:
    return f"/upstream/callback/{task_id}"


class Relay:
    def __init__(
        self,
        store: Store,
        storage: Storage,
        channels: Channels,
        *,
        fetcher: Fetcher,
        signer: UrlSigner,
        webhooks_for: WebhooksFor,
        public_url: str | None,
        lease_s: float = 30.0,
        tick_s: float = 0.25,
        idle_s: float = 2.0,
        connect: Callable[[Channel], Upstream] = make_client,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.rows = store.upstream
        self.storage = storage
        self.channels = channels
        self.clients: dict[str, Upstream] = {c.name: connect(c) for c in channels.channels}
        self.clock = clock
        self.fetcher = fetcher
        self.signer = signer
        self.webhooks_for = webhooks_for
        self.public_url = public_url
        self.lease_s = lease_s
        self.tick_s = tick_s
        self.idle_s = idle_s
        self.id = f"{socket.gethostname()}-{os.getpid()}-relay-{secrets.token_hex(3)}"
        self.wake = asyncio.Event()
        self._busy: set[str] = set()
        self._jobs: set[asyncio.Task[None]] = set()
        self._in_flight: dict[str, int] = {}
        self._next_lease_work = 0.0

    # -- loop -----------------------------------------------------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        log.info(
            "upstream relay %s: channels %s",
            self.id,
            ", ".join(f"{c.name} ({c.kind}, {len(c.models)} models)" for c in self.channels.channels),
        )
        while not stopping.is_set():
            # Cleared before the pass: a wake during it (a new task, a callback) means another pass at once.
            self.wake.clear()
            try:
                delay = self.tick_s if await self.step() else await self._quiet_delay()
            except Exception:
                log.exception("upstream relay pass failed")
                delay = self.tick_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), delay)
        if self._jobs:
            await asyncio.wait(self._jobs, timeout=10)
        with contextlib.suppress(Exception):
            await self.rows.release(self.id)
        for client in self.clients.values():
            await client.aclose()

    async def step(self) -> bool:
        """One pass: keep the leases, take new tasks, start the steps of the rows that are due (as background
        jobs). True when there was anything to do, or jobs still run."""
        now = self.clock()
        if now >= self._next_lease_work:
            await self.rows.renew(self.id, self.lease_s, now)
            if taken := await self.rows.take_orphans(
                self.id, self.lease_s, now, list(self.clients), sorted(self.channels.models())
            ):
                log.info("took over %d upstream task(s) from stopped nodes", taken)
            self._next_lease_work = now + self.lease_s / 3
        self._in_flight = await self.rows.in_flight()
        took = await self._take_new_tasks(now)
        worked = await self._work_due(now)
        return bool(took or worked or self._jobs)

    async def finish_jobs(self) -> None:
        """Wait until the background jobs `step` started have ended, and those they started in turn."""
        while self._jobs:
            await asyncio.wait(set(self._jobs))

    async def _quiet_delay(self) -> float:
        """Nothing to do now: sleep until this node's next row is due, at most `idle_s`. New tasks here, upstream
        callbacks and (on PostgreSQL) new tasks on other nodes wake the loop early."""
        upcoming = await self.rows.next_due(self.id)
        if upcoming is None:
            return self.idle_s
        return min(self.idle_s, max(self.tick_s, upcoming - self.clock()))

    def _spawn(self, record: UpstreamRecord, work: Awaitable[None]) -> None:
        """Run one step for one row in the background; the row is busy (not picked again) until it ends."""
        self._busy.add(record.task_id)

        async def guarded() -> None:
            try:
                await work
            except StateError:
                # A step the table forbids is a bug here, not a passing upstream trouble: retrying would repeat it
                # every few seconds until the task expires, so the task fails now and says so.
                log.exception("task %s: the relay took a step its state table forbids", record.task_id)
                with contextlib.suppress(Exception):
                    fresh = await self.rows.get(record.task_id)
                    await self._fail(fresh or record, "InternalServiceError", "the upstream relay lost track of it")
            except Exception:
                log.exception("task %s: upstream step failed; retrying later", record.task_id)
                with contextlib.suppress(Exception):
                    await self.rows.update(record, self.id, self.clock(), next_check_at=self.clock() + 5)
            finally:
                self._busy.discard(record.task_id)

        self._track(guarded())

    def _track(self, work: Awaitable[None]) -> None:
        """Keep a background job referenced until it ends (and awaited on shutdown)."""
        job = asyncio.ensure_future(work)
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)

    def _room(self, channel: Channel) -> int:
        return channel.concurrency - self._in_flight.get(channel.name, 0)

    async def _take_new_tasks(self, now: float) -> bool:
        """Claim queued tasks while some channel serving their model has room; True when it took any."""
        took = False
        for _ in range(64):
            models = [m for m in self.channels.models() if any(self._room(c) > 0 for c in self.channels.serving(m))]
            if not models:
                return took
            lease = f"{self.id}-{secrets.token_hex(4)}"
            task = await self.store.claim(lease, ["upstream"], self.lease_s, models=models)
            if task is None:
                return took
            took = True
            marker = f"sg-{task.id}"
            if not await self.rows.adopt(task.id, task.model, marker, lease, self.id, self.lease_s, now):
                continue
            # Hold the place until the next count from the database, so one pass does not claim past the limit.
            if best := next((c for c in self.channels.serving(task.model) if self._room(c) > 0), None):
                self._in_flight[best.name] = self._in_flight.get(best.name, 0) + 1
            record = UpstreamRecord(
                task_id=task.id,
                model=task.model,
                state=UpstreamState.WAITING,
                marker=marker,
                next_check_at=now,
                created_at=now,
            )
            self._spawn(record, self._submit(record, task))
        return took

    async def _work_due(self, now: float) -> bool:
        """Act on this node's rows that are due; True when there were any."""
        # A row whose job ends while this read runs may come back as it was before that job's write: it waits a
        # pass rather than be acted on twice (a stale `sending` row would be looked up, and pushed back, again).
        busy = set(self._busy)
        due = [r for r in await self.rows.due(self.id, now) if r.task_id not in busy and r.task_id not in self._busy]
        if not due:
            return False
        if poked := [r.task_id for r in due if r.next_check_at == POKED]:
            await self.rows.unpoke(poked, now)
        alive = await self.store.still_running([r.task_id for r in due])
        polls: dict[str, list[UpstreamRecord]] = {}
        for record in due:
            if record.task_id not in alive:
                self._spawn(record, self._abandon(record))
            elif record.state is UpstreamState.WAITING:
                self._spawn(record, self._submit(record))
            elif record.state in (UpstreamState.SENDING, UpstreamState.UNSURE):
                self._spawn(record, self._reconcile(record))
            elif record.channel in self.clients:
                polls.setdefault(record.channel, []).append(record)
            else:
                self._spawn(
                    record,
                    self._fail(
                        record,
                        "UpstreamChannelRemoved",
                        f"the upstream channel {record.channel} is no longer configured",
                    ),
                )
        for name, records in polls.items():
            self._poll_channel(self.clients[name], records)
        return True

    def _poll_channel(self, client: Upstream, records: list[UpstreamRecord]) -> None:
        """Spend what the channel's query limits allow right now, most overdue first; the rest wait a tick."""
        batch_size = client.channel.list_batch
        while records:
            if (
                client.batch_reads
                and client.lists
                and len(records) > 1
                and time.monotonic() >= client.list_ok_after
                and client.lists.try_take()
            ):
                batch, records = records[:batch_size], records[batch_size:]
                self._busy.update(record.task_id for record in batch)
                self._track(self._poll_batch(client, batch))
            elif client.queries.try_take():
                record = records.pop(0)
                self._spawn(record, self._poll_one(client, record))
            else:
                return

    # -- submitting -----------------------------------------------------------------------------------------------

    def _pick(self, record: UpstreamRecord) -> Channel | None:
        """The best channel with room that has not refused this task: highest priority, then by weight."""
        open_ = [c for c in self.channels.serving(record.model) if c.name not in record.tried and self._room(c) > 0]
        if not open_:
            return None
        top = [c for c in open_ if c.priority == open_[0].priority]
        return random.choices(top, weights=[c.weight for c in top])[0]

    async def _submit(self, record: UpstreamRecord, task: Task | None = None) -> None:
        now = self.clock()
        task = task or await self.store.get_task(record.task_id)
        if task is None or task.status is not Status.RUNNING:
            await self.rows.update(record, self.id, now, state=UpstreamState.DONE)
            return
        serving = self.channels.serving(record.model)
        channel = self._pick(record)
        if channel is None:
            if serving and all(c.name in record.tried for c in serving):
                await self._after_full_round(record)
            else:  # every channel is at its concurrency limit: wait for room
                await self.rows.update(record, self.id, now, next_check_at=now + 1)
            return
        client = self.clients[channel.name]
        try:
            outgoing = await self._outgoing(task, channel, record.marker)
        except ValueError as exc:
            await self._fail(record, "InvalidParameter", str(exc))
            return
        except FileNotFoundError:
            await self._fail(record, "InternalServiceError", "an input of this task is no longer stored")
            return
        # Durable before the request leaves: a crash from here on is looked up, never re-sent.
        if not await self.rows.update(
            record, self.id, now, state=UpstreamState.SENDING, channel=channel.name, sent_at=now, note=None
        ):
            return  # cancelled meanwhile, or taken over by another node
        self._in_flight[channel.name] = self._in_flight.get(channel.name, 0) + 1
        try:
            upstream_id = await client.create(outgoing)
        except Refused as exc:
            log.warning("task %s: channel %s refused the create: %s", task.id, channel.name, exc.reason)
            delay = exc.retry_after_s or 0
            await self.rows.update(
                record,
                self.id,
                self.clock(),
                state=UpstreamState.WAITING,
                channel=None,
                tried=[*record.tried, channel.name],
                note=f"{channel.name}: {exc.reason}",
                next_check_at=self.clock() + delay,
            )
            self.wake.set()
        except Rejected as exc:
            log.info("task %s: channel %s rejected it: %s %s", task.id, channel.name, exc.code, exc.message)
            await self._fail(record, exc.code, exc.message)
        except Unsure as exc:
            await self._unsure(record, channel, exc.reason, exc.answered)
        except Exception as exc:  # a malformed answer is as good as none
            await self._unsure(record, channel, f"unreadable answer ({type(exc).__name__})", answered=True)
        else:
            log.info("task %s sent to %s as %s", task.id, channel.name, upstream_id)
            await self.rows.update(
                record,
                self.id,
                self.clock(),
                state=UpstreamState.ACCEPTED,
                upstream_id=upstream_id,
                upstream_status="queued",
                next_check_at=self.clock() + channel.poll_interval_s,
            )

    async def _unsure(self, record: UpstreamRecord, channel: Channel, reason: str, answered: bool) -> None:
        log.warning(
            "task %s: no clear answer from %s (%s); looking it up before anything else",
            record.task_id,
            channel.name,
            reason,
        )
        await self.rows.update(
            record,
            self.id,
            self.clock(),
            state=UpstreamState.UNSURE,
            note=f"{channel.name}: {reason}",
            upstream_status="answered" if answered else "silent",
            next_check_at=self.clock() + (1 if answered else min(channel.timeout_s, 5)),
        )

    async def _after_full_round(self, record: UpstreamRecord) -> None:
        """Every channel refused: try them all again later, or give up after a few rounds."""
        if record.misses + 1 >= REFUSAL_ROUNDS:
            await self._fail(
                record,
                "UpstreamUnavailable",
                f"every upstream channel refused the task; last: {record.note or 'no reason given'}",
            )
            return
        delay = 5 * 2**record.misses
        log.warning("task %s: every channel refused it; trying again in %d s", record.task_id, delay)
        await self.rows.update(
            record, self.id, self.clock(), tried=[], misses=record.misses + 1, next_check_at=self.clock() + delay
        )

    async def _outgoing(self, task: Task, channel: Channel, marker: str) -> Outgoing:
        spec = task.spec
        paths = tuple([await self.storage.blob_path(m.blob or "") for m in spec.media])
        urls = tuple(self._media_url(m.url, m.kind, path) for m, path in zip(spec.media, paths, strict=True))
        callback = None
        if channel.callbacks and self.public_url:
            path = callback_path(task.id)
            callback = self.signer.sign(self.public_url, path, int(task.expires_at + 86400))
        return Outgoing(
            spec=spec,
            upstream_model=channel.models[task.model],
            marker=marker,
            media_urls=urls,
            media_paths=paths,
            callback_url=callback,
        )

    def _media_url(self, url: str, kind: str, path: Path) -> str:
        """Public URLs travel as they are; bytes only seedgate holds go inline (images, audio) or as a signed
        seedgate link (video, which Ark takes by URL only)."""
        if _is_web_url(url):
            return url
        if kind != "video":
            data = base64.b64encode(path.read_bytes()).decode()
            return f"data:{sniff_mime(path)};base64,{data}"
        return self.blob_link(path.name)

    def blob_link(self, digest: str) -> str:
        if not self.public_url:
            raise ValueError(
                "a video that is not at a public URL can reach the upstream only through a link to "
                "this server; set SEEDGATE_PUBLIC_URL"
            )
        return self.signer.sign(self.public_url, f"/files/blobs/{digest}", int(self.clock()) + MEDIA_LINK_S)

    # -- looking an unanswered create up -----------------------------------------------------------------------------

    async def _reconcile(self, record: UpstreamRecord) -> None:
        now = self.clock()
        task = await self.store.get_task(record.task_id)
        if task is None:  # deleted meanwhile
            await self._abandon(record)
            return
        channel = self.channels.get(record.channel or "")
        if channel is None:
            await self._fail(record, "UpstreamChannelRemoved", f"the upstream channel {record.channel} is gone")
            return
        client = self.clients[channel.name]
        sent_at = record.sent_at or record.created_at
        try:
            found = await client.find(record.marker, channel.models[record.model], task.spec, sent_at)
        except Unavailable as exc:
            await self._retry_later(record, f"lookup failed: {exc}")
            return
        taken = await self.rows.known_ids(channel.name, [t.id for t in found])
        fresh = [t for t in found if t.id not in taken]
        if fresh:
            upstream = fresh[0]
            log.info(
                "task %s: found on %s as %s after an unclear create; following it",
                record.task_id,
                channel.name,
                upstream.id,
            )
            if await self.rows.update(
                record, self.id, now, state=UpstreamState.ACCEPTED, upstream_id=upstream.id, misses=0
            ):
                await self._apply(record, client, upstream)
            return
        # A 5xx answer means the upstream is done with the request; silence may still be a create in progress.
        settle_s = 3.0 if record.upstream_status == "answered" else channel.reconcile_s
        if now - sent_at < settle_s:
            await self.rows.update(record, self.id, now, next_check_at=now + min(5.0, settle_s / 3))
            return
        log.warning(
            "task %s: %s has no such task %.0f s after the create; it never arrived, trying elsewhere",
            record.task_id,
            channel.name,
            now - sent_at,
        )
        await self.rows.update(
            record,
            self.id,
            now,
            state=UpstreamState.WAITING,
            channel=None,
            tried=[*record.tried, channel.name],
            next_check_at=now,
        )
        self.wake.set()

    # -- following --------------------------------------------------------------------------------------------------

    async def _poll_one(self, client: Upstream, record: UpstreamRecord, prepaid: bool = True) -> None:
        try:
            upstream = await client.get(record.upstream_id or "", prepaid=prepaid)
        except Unavailable as exc:
            await self._retry_later(record, f"poll failed: {exc}")
            return
        await self._apply(record, client, upstream)

    async def _poll_batch(self, client: Upstream, records: list[UpstreamRecord]) -> None:
        """One list call for many tasks. Tasks still on their way are rescheduled in one write; each task with
        news is handled as its own job, so a download never holds up the rest of the batch."""
        handed_on: set[str] = set()
        try:
            try:
                found = await client.get_many([r.upstream_id or "" for r in records])
            except Unavailable as exc:
                # Reads go one by one for a while: an upstream that refuses long lists must not stall every task.
                log.warning(
                    "channel %s: list call failed (%s); single reads for the next minute", client.channel.name, exc
                )
                client.list_ok_after = time.monotonic() + 60
                for record in records:
                    await self._retry_later(record, "list call failed", after_s=0.5)
                return
            # queued -> running is no news worth a write per task: Ark tells no progress, and the task already
            # shows running here.
            quiet = {
                r.task_id
                for r in records
                if (t := found.get(r.upstream_id or "")) is not None
                and t.status in ("queued", "running")
                and t.progress is None
            }
            if quiet:
                await self.rows.reschedule(list(quiet), self.id, self.clock() + self._interval(client.channel))
            for record in records:
                if record.task_id in quiet:
                    continue
                upstream = found.get(record.upstream_id or "")
                handed_on.add(record.task_id)
                if upstream is not None:
                    self._spawn(record, self._apply(record, client, upstream))
                else:  # not in the list answer: a single read tells a lost task from a list that left it out
                    self._spawn(record, self._poll_one(client, record, prepaid=False))
        except Exception:
            log.exception("channel %s: batch poll failed", client.channel.name)
        finally:
            for record in records:
                if record.task_id not in handed_on:  # a spawned job clears its own mark when it ends
                    self._busy.discard(record.task_id)

    def _interval(self, channel: Channel) -> float:
        if channel.callbacks and self.public_url:
            return max(channel.poll_interval_s, CALLBACK_POLL_S)
        return channel.poll_interval_s

    async def _retry_later(self, record: UpstreamRecord, note: str, after_s: float = 5.0) -> None:
        now = self.clock()
        await self.rows.update(record, self.id, now, note=note, next_check_at=now + after_s)

    async def _apply(self, record: UpstreamRecord, client: Upstream, upstream: UpstreamTask | None) -> None:
        """Map what the upstream says onto the task."""
        now = self.clock()
        channel = client.channel
        if upstream is None:
            # One 404 may be an upstream's replica lagging behind; several over reconcile_s mean it is gone.
            misses = record.misses + 1
            if misses >= MISSES_BEFORE_LOST and now - (record.sent_at or now) > channel.reconcile_s:
                await self._fail(
                    record,
                    "UpstreamTaskLost",
                    f"the upstream channel {channel.name} no longer knows task {record.upstream_id}",
                )
            else:
                await self.rows.update(
                    record,
                    self.id,
                    now,
                    misses=misses,
                    next_check_at=now + max(channel.poll_interval_s, channel.reconcile_s / MISSES_BEFORE_LOST),
                )
            return
        if upstream.status in ("queued", "running"):
            changed = upstream.status != record.upstream_status or upstream.progress is not None
            if changed and not await self.store.set_progress(record.task_id, upstream.progress or 0.0, now):
                await self._abandon(record)
                return
            await self.rows.update(
                record,
                self.id,
                now,
                upstream_status=upstream.status,
                misses=0,
                next_check_at=now + self._interval(channel),
            )
        elif upstream.status == "succeeded":
            if record.state is not UpstreamState.FETCHING:
                await self.rows.update(
                    record, self.id, now, state=UpstreamState.FETCHING, upstream_status="succeeded", misses=0
                )
            await self._bring_home(record, client, upstream)
        else:
            error = upstream.error or {
                "code": f"Upstream{upstream.status.capitalize()}",
                "message": f"the upstream task ended {upstream.status}",
            }
            target = {"expired": Status.EXPIRED, "cancelled": Status.CANCELLED}.get(upstream.status, Status.FAILED)
            await self._settle(record, target, error_code=error["code"], error_message=error["message"])

    async def _bring_home(self, record: UpstreamRecord, client: Upstream, upstream: UpstreamTask) -> None:
        """Download the upstream's result files into seedgate's storage, then settle the task."""
        task = await self.store.get_task(record.task_id)
        if task is None or task.status is not Status.RUNNING:
            await self._abandon(record)
            return
        folder = self.storage.scratch(task.id)
        files: dict[str, str] = {}
        try:
            for name, url in client.result_urls(upstream).items():
                files[name] = await self._download(client, url, folder, name)
            if "video" in files:
                frames, has_audio = await asyncio.to_thread(_measure, folder / files["video"])
                await self.storage.store_results(task.id, folder)
        except (Unavailable, FetchError) as exc:
            misses = record.misses + 1
            if misses >= DOWNLOAD_ATTEMPTS:
                await self._fail(
                    record,
                    "UpstreamResultUnavailable",
                    f"the result of upstream task {record.upstream_id} could not be downloaded: {exc}",
                )
            else:
                log.warning("task %s: result download failed (%s); retrying", task.id, exc)
                await self.rows.update(
                    record, self.id, self.clock(), misses=misses, next_check_at=self.clock() + min(60, 2**misses)
                )
            return
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if "video" not in files:
            await self._fail(record, "UpstreamResultUnavailable", "the upstream task succeeded without a video")
            return
        result = {
            "video": files["video"],
            "frames": frames,
            "has_audio": has_audio,
            "duration": upstream.duration or round(frames / task.spec.fps),
            "usage": upstream.usage or usage(task.spec),
            "engine": f"upstream:{client.channel.name}",
            "upstream": {"channel": client.channel.name, "id": record.upstream_id},
        }
        if "last_frame" in files:
            result["last_frame"] = files["last_frame"]
        if await self._settle(record, Status.SUCCEEDED, result=result, progress=1.0):
            log.info("task %s succeeded on %s (%s); result stored", task.id, client.channel.name, record.upstream_id)

    async def _download(self, client: Upstream, url: str, folder: Path, name: str) -> str:
        tmp = folder / f".{name}.download"
        if urlsplit(url).netloc == urlsplit(client.channel.base_url).netloc:
            # The channel's own host (an operator-configured address, perhaps private) with the channel's key.
            await client.download(url, tmp, authorized=True)
        else:  # anywhere else: an untrusted URL, fetched with the same guards as any client media
            fetched = await self.fetcher.fetch(url, folder, max_bytes=2 * 1024**3)
            fetched.path.replace(tmp)
        mime = sniff_mime(tmp)
        suffix = {"video/quicktime": ".mov", "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}.get(
            mime, ".mp4" if name == "video" else ".png"
        )
        final = folder / f"{name}{suffix}"
        tmp.replace(final)
        return final.name

    # -- endings ----------------------------------------------------------------------------------------------------

    async def _settle(self, record: UpstreamRecord, target: Status, **fields: Any) -> bool:
        task = await self.store.get_task(record.task_id)
        settled = False
        if task is not None and task.status is Status.RUNNING:
            settled = await settle(self.store, self.webhooks_for, task, target, **fields)
        await self.rows.update(record, self.id, self.clock(), state=UpstreamState.DONE, upstream_status=target.value)
        return settled

    async def _fail(self, record: UpstreamRecord, code: str, message: str) -> None:
        log.warning("task %s failed upstream: %s %s", record.task_id, code, message)
        await self._settle(record, Status.FAILED, error_code=code, error_message=message)

    async def _abandon(self, record: UpstreamRecord) -> None:
        """The task ended here (expired, cancelled, deleted): stop following it, and cancel it upstream if it is
        still queued there (Ark cancels only queued tasks)."""
        client = self.clients.get(record.channel or "")
        if client is not None and record.state is UpstreamState.ACCEPTED and record.upstream_id:
            await client.cancel(record.upstream_id)
        unanswered = record.state in (UpstreamState.SENDING, UpstreamState.UNSURE)
        if (
            client is not None
            and client.echoes_marker
            and unanswered
            and not await self._cancel_unanswered(record, client)
        ):
            await self._retry_later(record, "looking for the upstream copy of an ended task", after_s=3)
            return
        await self.rows.update(record, self.id, self.clock(), state=UpstreamState.DONE)

    async def _cancel_unanswered(self, record: UpstreamRecord, client: Upstream) -> bool:
        """A create that got no clear answer may have started a task upstream that nobody will follow: look it up
        by its marker (Ark echoes it; OpenAI-style upstreams do not, and a match by prompt could be another task's)
        and cancel it if it is still queued there. False: look again later, the create may still be arriving."""
        sent_at = record.sent_at or record.created_at
        still_arriving = self.clock() - sent_at < client.channel.reconcile_s
        upstream_model = client.channel.models.get(record.model)
        try:
            if upstream_model is None:
                raise LookupError(f"the channel no longer serves {record.model}")
            copies = await client.find(record.marker, upstream_model, None, sent_at)
        except Exception as exc:  # whatever went wrong, the row must not stay stuck
            if still_arriving:
                return False
            log.warning(
                "task %s ended during an unclear create on %s and could not be looked up (%s); it may run "
                "there unfollowed",
                record.task_id,
                client.channel.name,
                exc,
            )
            return True
        if not copies:
            return not still_arriving
        for upstream in copies:
            cancelled = await client.cancel(upstream.id)
            log.info(
                "task %s ended here; its copy %s on %s %s",
                record.task_id,
                upstream.id,
                client.channel.name,
                "was cancelled" if cancelled else "could not be cancelled (already running there)",
            )
        return True

    # -- what the API side asks -------------------------------------------------------------------------------------

    def check(self, spec: TaskPlan) -> None:
        """Refuse at create time what no channel serving the model could be sent."""
        channels = self.channels.serving(spec.model_id)
        if not channels:
            return
        if all(c.kind == "openai-videos" for c in channels) and spec.mode not in OPENAI_MODES:
            raise invalid(
                spec.param("content"),
                f"{spec.model_id} is served by an OpenAI-style upstream, which takes text and first-frame tasks only",
            )
        for ref in spec.media:
            if ref.kind == "video" and not _is_web_url(ref.url) and not self.public_url:
                raise invalid(
                    ref.param,
                    "this model runs upstream, and a video that is not at a public URL reaches "
                    "it only through a link to this server, which needs SEEDGATE_PUBLIC_URL; "
                    "pass the video by URL",
                )

    async def on_callback(self, task_id: str) -> bool:
        """An upstream called back about this task: look at it now rather than at its next poll."""
        if await self.rows.poke(task_id, self.clock()):
            self.wake.set()
            return True
        return False

    async def cancel(self, task: Task) -> bool | None:
        """Forward a client's cancel. True: cancelled; False: the upstream refused (it runs); None: not ours."""
        record = await self.rows.get(task.id)
        if record is None or record.state is UpstreamState.DONE:
            return None
        if record.state is UpstreamState.WAITING and await self.rows.finish_if(task.id, UpstreamState.WAITING):
            return True
        if record.state is not UpstreamState.ACCEPTED or record.channel not in self.clients:
            return False
        return await self.clients[record.channel].cancel(record.upstream_id or "")

    async def forget(self, task_id: str) -> None:
        """A finished task is deleted here: delete it upstream too (best effort; Ark deletes finished tasks)."""
        record = await self.rows.get(task_id)
        if record and record.upstream_id and record.channel in self.clients:
            with contextlib.suppress(Exception):
                await self.clients[record.channel].cancel(record.upstream_id)


def _is_web_url(url: str) -> bool:
    return url.split(":", 1)[0].lower() in ("http", "https")


def _measure(path: Path) -> tuple[int, bool]:
    """Frames and audio of a downloaded result, read from the file rather than believed from the upstream."""
    try:
        with av.open(str(path)) as container:
            video = container.streams.video[0]
            frames = video.frames or sum(1 for packet in container.demux(video) if packet.size)
            return frames, bool(container.streams.audio)
    except (av.FFmpegError, IndexError):
        return 0, False
