"""The relay's logic, one step at a time, against an in-memory upstream and a real SQLite store.

No processes and no sleeping: each test drives `Relay.step` / `Relay.finish_jobs` and moves the relay's clock by
hand, so what a test shows never depends on how fast this machine is. The real-process suite (test_upstream.py)
shows the same behaviour over HTTP, through faults.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from seedgate.core.limits import MICRO, Billing, Budget, Charge
from seedgate.core.plan import TaskPlan
from seedgate.core.price import Price, parse_price
from seedgate.core.pricing import Delivered, charge, estimate
from seedgate.core.status import Status
from seedgate.core.task import Task, new_task_id
from seedgate.core.upstream_states import StateError, UpstreamState, can_move, sources_of
from seedgate.media.fetch import Fetcher, FetchPolicy
from seedgate.media.signing import UrlSigner
from seedgate.media.storage import Storage
from seedgate.store.store import Store, Webhook
from seedgate.store.upstream import UpstreamRecord
from seedgate.upstream.channels import Channel, Channels
from seedgate.upstream.relay import Relay
from seedgate.upstream.wire import Outgoing, RateLimiter, Refused, Rejected, Unsure, Upstream, UpstreamTask

from .media import video_bytes

MODEL = "m"
LEASE_S = 30.0


class Clock:
    """The relay's time, moved only by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Arrives:
    """A scripted create outcome: raise `error`; with `taken`, the upstream has the task all the same."""

    error: Exception | None = None
    taken: bool = False


@dataclass
class FakeUpstream:
    """An upstream channel held in memory, speaking the relay's `Upstream` protocol.

    Creates answer what the test scripted (accept by default); tasks stay queued until the test moves them on."""

    channel: Channel
    video: bytes
    batch_reads: bool = True
    echoes_marker: bool = True
    list_ok_after: float = 0.0
    queries: RateLimiter = field(default_factory=lambda: RateLimiter(10_000))
    lists: RateLimiter | None = field(default_factory=lambda: RateLimiter(10_000))
    tasks: dict[str, UpstreamTask] = field(default_factory=dict)
    script: list[Arrives] = field(default_factory=list)
    creates: list[Outgoing] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    cancellable: bool = True
    hold: asyncio.Event | None = None  # set: a create waits for it after the task exists (a stalled node)
    holding: asyncio.Event = field(default_factory=asyncio.Event)

    async def create(self, out: Outgoing) -> str:
        self.creates.append(out)
        outcome = self.script.pop(0) if self.script else Arrives()
        upstream_id = f"{self.channel.name}-{len(self.creates)}"
        if outcome.error is None or outcome.taken:
            self.tasks[upstream_id] = UpstreamTask(
                upstream_id, "queued", marker=out.marker, model=out.upstream_model, created_at=time.time()
            )
        if self.hold is not None:
            self.holding.set()
            await self.hold.wait()
        if outcome.error is not None:
            raise outcome.error
        return upstream_id

    async def get(self, upstream_id: str, prepaid: bool = False) -> UpstreamTask | None:
        return self.tasks.get(upstream_id)

    async def get_many(self, upstream_ids: list[str]) -> dict[str, UpstreamTask]:
        return {i: self.tasks[i] for i in upstream_ids if i in self.tasks}

    async def find(self, marker: str, upstream_model: str, spec: TaskPlan | None, since: float) -> list[UpstreamTask]:
        return [t for t in self.tasks.values() if t.marker == marker]

    async def cancel(self, upstream_id: str) -> bool:
        self.cancelled.append(upstream_id)
        return self.cancellable

    def result_urls(self, task: UpstreamTask) -> dict[str, str]:
        return {"video": f"{self.channel.base_url}/files/{task.id}.mp4"}

    async def download(self, url: str, dest: Path, *, authorized: bool) -> None:
        assert authorized, "a file on the channel's own host travels with the channel's key"
        dest.write_bytes(self.video)

    async def aclose(self) -> None:
        pass

    def end(self, upstream_id: str, status: str, **fields: object) -> None:
        """The upstream moves one of its tasks on."""
        self.tasks[upstream_id] = replace(self.tasks[upstream_id], status=status, **fields)  # type: ignore[arg-type]


def channel(name: str, priority: int = 0, **options: object) -> Channel:
    return Channel(
        name=name,
        kind="seedgate",
        base_url=f"http://{name}.upstream.test/api/v3",
        key_env="UNUSED",
        models={MODEL: f"up-{MODEL}"},
        priority=priority,
        **options,  # type: ignore[arg-type]
    )


@dataclass
class Rig:
    store: Store
    storage: Storage
    clock: Clock
    upstreams: dict[str, FakeUpstream]
    relays: list[Relay] = field(default_factory=list)

    def relay(self) -> Relay:
        """A relay node on this store and these upstreams (several: several nodes)."""
        channels = Channels(tuple(u.channel for u in self.upstreams.values()))

        def connect(c: Channel) -> Upstream:
            return self.upstreams[c.name]

        async def no_webhooks(task: Task) -> list[Webhook]:
            return []

        relay = Relay(
            self.store,
            self.storage,
            channels,
            fetcher=Fetcher(FetchPolicy()),
            signer=UrlSigner("test"),
            webhooks_for=no_webhooks,
            public_url=None,
            lease_s=LEASE_S,
            connect=connect,
            clock=self.clock,
        )
        self.relays.append(relay)
        return relay

    async def add_task(self, price: Price | None = None) -> Task:
        """A queued relay task; with a `price`, its estimate is reserved against the owner's budgets."""
        now = time.time()
        spec = TaskPlan.from_json(
            {"model": MODEL, "model_id": MODEL, "engine": "upstream", "prompt": "a lighthouse at dusk", "duration": 5}
        )
        task = Task(new_task_id(), "owner", "ark", MODEL, spec, created_at=now, updated_at=now, expires_at=now + 3600)
        if price is not None:
            quote = estimate(spec, price)
            billing = Billing(Charge(quote.amount, price.currency, quote.tokens or 0), price=price.summary())
            return await self.store.insert_task(replace(task, billing=billing), reserve=True)
        await self.store.insert_task(task)
        return task

    async def task(self, task_id: str) -> Task:
        task = await self.store.get_task(task_id)
        assert task is not None
        return task

    async def row(self, task_id: str) -> UpstreamRecord:
        record = await self.store.upstream.get(task_id)
        assert record is not None
        return record


async def step(relay: Relay) -> None:
    """One pass of the relay's loop, and everything it started."""
    await relay.step()
    await relay.finish_jobs()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}")
    await store.migrate()
    video = video_bytes(tmp_path / "result.mp4", 64, 64, seconds=1, fps=24)
    upstreams = {
        name: FakeUpstream(channel(name, priority), video) for name, priority in (("primary", 1), ("backup", 0))
    }
    yield Rig(store, Storage(tmp_path / "data"), Clock(), upstreams)
    await store.close()


# -- the transition table ----------------------------------------------------------------------------------------


def test_the_table_allows_the_relays_steps_and_nothing_back_from_done() -> None:
    assert sources_of(UpstreamState.SENDING) == (UpstreamState.WAITING,)
    assert can_move(UpstreamState.SENDING, UpstreamState.WAITING)  # refused: the next channel
    assert can_move(UpstreamState.UNSURE, UpstreamState.ACCEPTED)  # found by the lookup
    assert not can_move(UpstreamState.ACCEPTED, UpstreamState.WAITING)  # an accepted task is never sent again
    assert not can_move(UpstreamState.FETCHING, UpstreamState.ACCEPTED)
    assert not any(can_move(UpstreamState.DONE, s) for s in UpstreamState)
    assert all(can_move(s, UpstreamState.DONE) for s in UpstreamState if s is not UpstreamState.DONE)


async def test_a_step_the_table_refuses_writes_nothing(rig: Rig) -> None:
    relay = rig.relay()
    task = await rig.add_task()
    await step(relay)
    record = await rig.row(task.id)
    assert record.state is UpstreamState.ACCEPTED
    with pytest.raises(StateError):
        await rig.store.upstream.update(record, relay.id, rig.clock(), state=UpstreamState.WAITING, channel=None)
    assert (await rig.row(task.id)).state is UpstreamState.ACCEPTED
    assert record.channel == "primary"


# -- handing over ------------------------------------------------------------------------------------------------


async def test_a_task_is_handed_to_the_best_channel_once(rig: Rig) -> None:
    relay = rig.relay()
    task = await rig.add_task()
    await step(relay)
    record = await rig.row(task.id)
    primary = rig.upstreams["primary"]
    assert (record.state, record.channel, record.upstream_id) == (UpstreamState.ACCEPTED, "primary", "primary-1")
    assert [o.marker for o in primary.creates] == [f"sg-{task.id}"]
    assert primary.creates[0].upstream_model == f"up-{MODEL}"
    assert rig.upstreams["backup"].creates == []
    assert (await rig.task(task.id)).status is Status.RUNNING
    await step(relay)  # nothing is due before the poll interval: nothing is sent again
    assert len(primary.creates) == 1


async def test_a_refusal_moves_the_task_to_the_next_channel(rig: Rig) -> None:
    relay = rig.relay()
    rig.upstreams["primary"].script.append(Arrives(Refused("429 busy")))
    task = await rig.add_task()
    await step(relay)
    record = await rig.row(task.id)
    assert (record.state, record.tried, record.note) == (UpstreamState.WAITING, ["primary"], "primary: 429 busy")
    assert relay.wake.is_set()  # the loop comes back at once rather than after its idle wait
    await step(relay)
    record = await rig.row(task.id)
    assert (record.state, record.channel, record.upstream_id) == (UpstreamState.ACCEPTED, "backup", "backup-1")
    assert rig.upstreams["primary"].tasks == {}


async def test_refused_everywhere_for_some_rounds_fails_the_task(rig: Rig) -> None:
    relay = rig.relay()
    for upstream in rig.upstreams.values():
        upstream.script += [Arrives(Refused("429 busy"))] * 3
    task = await rig.add_task()
    for _ in range(20):
        await step(relay)
        if (await rig.row(task.id)).state is UpstreamState.DONE:
            break
        rig.clock.advance(60)  # past the back-off between rounds
    done = await rig.task(task.id)
    assert done.status is Status.FAILED
    assert done.error is not None and done.error["code"] == "UpstreamUnavailable"
    assert all(len(u.creates) == 3 for u in rig.upstreams.values())


async def test_a_rejection_fails_the_task_with_the_upstream_code(rig: Rig) -> None:
    relay = rig.relay()
    rig.upstreams["primary"].script.append(Arrives(Rejected("InvalidParameter.Prompt", "the prompt is too long")))
    task = await rig.add_task()
    await step(relay)
    done = await rig.task(task.id)
    assert done.status is Status.FAILED
    assert done.error == {"code": "InvalidParameter.Prompt", "message": "the prompt is too long"}
    assert (await rig.row(task.id)).state is UpstreamState.DONE
    assert rig.upstreams["backup"].creates == []  # every channel would say the same


# -- unclear creates ---------------------------------------------------------------------------------------------


async def test_an_unsure_create_is_found_by_its_marker_not_sent_again(rig: Rig) -> None:
    relay = rig.relay()
    primary = rig.upstreams["primary"]
    primary.script.append(Arrives(Unsure("500 InternalServiceError", answered=True), taken=True))
    task = await rig.add_task()
    await step(relay)
    record = await rig.row(task.id)
    assert (record.state, record.upstream_status) == (UpstreamState.UNSURE, "answered")
    rig.clock.advance(1)
    await step(relay)
    record = await rig.row(task.id)
    assert (record.state, record.upstream_id) == (UpstreamState.ACCEPTED, "primary-1")
    assert len(primary.creates) == 1 and rig.upstreams["backup"].creates == []


async def test_an_unsure_create_that_never_arrived_goes_elsewhere_after_the_lookup_window(rig: Rig) -> None:
    relay = rig.relay()
    rig.upstreams["primary"].script.append(Arrives(Unsure("no answer after sending", answered=False)))
    task = await rig.add_task()
    await step(relay)
    assert (await rig.row(task.id)).upstream_status == "silent"
    rig.clock.advance(5)
    await step(relay)  # still inside reconcile_s: it may be arriving
    assert (await rig.row(task.id)).state is UpstreamState.UNSURE
    assert rig.upstreams["backup"].creates == []
    rig.clock.advance(rig.upstreams["primary"].channel.reconcile_s)
    await step(relay)  # not there: back to waiting, primary crossed off
    await step(relay)
    record = await rig.row(task.id)
    assert (record.state, record.channel, record.tried) == (UpstreamState.ACCEPTED, "backup", ["primary"])


# -- following and bringing home ---------------------------------------------------------------------------------


async def test_a_succeeded_task_is_fetched_and_the_result_stored(rig: Rig) -> None:
    relay = rig.relay()
    task = await rig.add_task()
    await step(relay)
    primary = rig.upstreams["primary"]
    primary.end("primary-1", "running", progress=0.4)
    rig.clock.advance(primary.channel.poll_interval_s)
    await step(relay)
    assert (await rig.task(task.id)).progress == pytest.approx(0.4)
    primary.end("primary-1", "succeeded", usage={"completion_tokens": 7}, duration=1)
    rig.clock.advance(primary.channel.poll_interval_s)
    await step(relay)
    done = await rig.task(task.id)
    assert done.status is Status.SUCCEEDED and done.result is not None
    assert done.result["frames"] == 24 and done.result["usage"] == {"completion_tokens": 7}
    assert done.result["upstream"] == {"channel": "primary", "id": "primary-1"}
    stored = await rig.storage.result_path(task.id, done.result["video"])
    assert stored is not None and stored.read_bytes() == primary.video
    record = await rig.row(task.id)
    assert (record.state, record.upstream_status) == (UpstreamState.DONE, "succeeded")


async def test_a_relayed_task_settles_on_the_tokens_the_upstream_reported(rig: Rig) -> None:
    """Ark bills what it reports, not what was asked: the books follow the upstream's usage (here far less than
    the estimate for a 5 s task: the upstream delivered 1 s)."""
    price = parse_price({"currency": "CNY", "per_million_tokens": "15"})
    assert price is not None
    budget = await rig.store.budgets.create(Budget("", "relay", "CNY", limit=100 * MICRO))
    await rig.store.budgets.link("owner", budget.id)
    relay = rig.relay()
    task = await rig.add_task(price)
    assert task.billing is not None and task.billing.budgets == (budget.id,)
    await step(relay)
    primary = rig.upstreams["primary"]
    primary.end("primary-1", "succeeded", usage={"completion_tokens": 20_000}, duration=1)
    rig.clock.advance(primary.channel.poll_interval_s)
    await step(relay)
    done = await rig.task(task.id)
    assert done.status is Status.SUCCEEDED and done.result is not None
    paid = charge(task.spec, price, Delivered(completion_tokens=20_000))
    assert done.result["cost"] == {"amount": paid.amount, "currency": "CNY"} and paid.amount == 300_000  # 0.30 CNY
    entries = await rig.store.budgets.entries(task_id=task.id)
    reserved = task.billing.estimate.amount
    assert [(e.kind, e.amount) for e in entries] == [("reserve", reserved), ("settle", paid.amount - reserved)]
    assert (await rig.store.budgets.get(budget.id)).used == paid.amount  # type: ignore[union-attr]


async def test_many_tasks_are_polled_with_one_list_call(rig: Rig) -> None:
    relay = rig.relay()
    tasks = [await rig.add_task() for _ in range(3)]
    await step(relay)
    primary = rig.upstreams["primary"]
    calls: list[list[str]] = []
    get_many = primary.get_many

    async def counted(upstream_ids: list[str]) -> dict[str, UpstreamTask]:
        calls.append(upstream_ids)
        return await get_many(upstream_ids)

    primary.get_many = counted  # type: ignore[method-assign]
    for upstream_id in primary.tasks:
        primary.end(upstream_id, "failed", error={"code": "OutputVideoSensitiveContentDetected", "message": "no"})
    rig.clock.advance(primary.channel.poll_interval_s)
    await step(relay)
    assert len(calls) == 1 and sorted(calls[0]) == sorted(primary.tasks)
    for task in tasks:
        done = await rig.task(task.id)
        assert done.status is Status.FAILED
        assert done.error is not None and done.error["code"] == "OutputVideoSensitiveContentDetected"


async def test_a_callback_makes_the_task_due_at_once(rig: Rig) -> None:
    relay = rig.relay()
    task = await rig.add_task()
    await step(relay)
    rig.upstreams["primary"].end("primary-1", "expired")
    await step(relay)  # the clock did not move: not due yet
    assert (await rig.task(task.id)).status is Status.RUNNING
    assert await relay.on_callback(task.id)
    await step(relay)
    assert (await rig.task(task.id)).status is Status.EXPIRED


async def test_a_task_the_upstream_no_longer_knows_fails_after_a_few_misses(rig: Rig) -> None:
    relay = rig.relay()
    task = await rig.add_task()
    await step(relay)
    del rig.upstreams["primary"].tasks["primary-1"]
    for _ in range(3):
        rig.clock.advance(rig.upstreams["primary"].channel.reconcile_s)
        await step(relay)
    done = await rig.task(task.id)
    assert done.status is Status.FAILED
    assert done.error is not None and done.error["code"] == "UpstreamTaskLost"


# -- what the API side asks --------------------------------------------------------------------------------------


async def test_cancel_of_an_accepted_task_is_forwarded(rig: Rig) -> None:
    relay = rig.relay()
    task = await rig.add_task()
    await step(relay)
    assert await relay.cancel(await rig.task(task.id)) is True
    assert rig.upstreams["primary"].cancelled == ["primary-1"]
    rig.upstreams["primary"].cancellable = False  # running there: Ark cancels only queued tasks
    assert await relay.cancel(await rig.task(task.id)) is False


async def test_cancel_of_a_task_not_yet_sent_ends_its_row(rig: Rig) -> None:
    relay = rig.relay()
    for upstream in rig.upstreams.values():
        upstream.script.append(Arrives(Refused("429 busy", retry_after_s=600)))
    task = await rig.add_task()
    await step(relay)
    await step(relay)
    assert (await rig.row(task.id)).state is UpstreamState.WAITING
    assert await relay.cancel(await rig.task(task.id)) is True
    assert (await rig.row(task.id)).state is UpstreamState.DONE
    assert await relay.cancel(await rig.task(task.id)) is None  # no longer the relay's


async def test_a_task_ended_here_is_cancelled_upstream(rig: Rig) -> None:
    relay = rig.relay()
    task = await rig.add_task()
    await step(relay)
    assert await rig.store.transition(await rig.task(task.id), Status.EXPIRED)  # it expired here meanwhile
    rig.clock.advance(rig.upstreams["primary"].channel.poll_interval_s)
    await step(relay)
    assert rig.upstreams["primary"].cancelled == ["primary-1"]
    assert (await rig.row(task.id)).state is UpstreamState.DONE


@pytest.mark.parametrize("echoes_marker", [True, False])
async def test_a_task_that_ends_during_an_unclear_create_is_looked_up_and_cancelled(
    rig: Rig, echoes_marker: bool
) -> None:
    relay = rig.relay()
    primary = rig.upstreams["primary"]
    primary.echoes_marker = echoes_marker
    primary.script.append(Arrives(Unsure("no answer after sending", answered=False), taken=True))
    task = await rig.add_task()
    await step(relay)
    assert await rig.store.transition(await rig.task(task.id), Status.EXPIRED)
    rig.clock.advance(5)
    await step(relay)
    # Only a marker tells this create's copy from another task's: without one, the copy is left alone.
    assert primary.cancelled == (["primary-1"] if echoes_marker else [])
    assert (await rig.row(task.id)).state is UpstreamState.DONE


async def test_forget_deletes_the_upstream_copy(rig: Rig) -> None:
    relay = rig.relay()
    task = await rig.add_task()
    await step(relay)
    await relay.forget(task.id)
    assert rig.upstreams["primary"].cancelled == ["primary-1"]
    await relay.forget("cgt-20260101000000-unknown0")  # not the relay's: nothing happens
    assert rig.upstreams["primary"].cancelled == ["primary-1"]


# -- leases ------------------------------------------------------------------------------------------------------


async def test_a_node_that_stalled_past_its_lease_changes_nothing(rig: Rig) -> None:
    stalled, other = rig.relay(), rig.relay()
    primary = rig.upstreams["primary"]
    answer = primary.hold = asyncio.Event()
    task = await rig.add_task()
    await stalled.step()
    await primary.holding.wait()  # its create reached the upstream; the answer hangs past the lease
    assert (await rig.row(task.id)).state is UpstreamState.SENDING
    primary.hold = None
    primary.end("primary-1", "running", progress=0.5)
    rig.clock.advance(LEASE_S + 1)
    await step(other)  # takes the row over and finds the create by its marker
    taken = await rig.row(task.id)
    assert (taken.state, taken.upstream_id, taken.upstream_status) == (UpstreamState.ACCEPTED, "primary-1", "running")
    answer.set()  # the stalled node's answer arrives at last: its write names a lease it no longer holds
    await stalled.finish_jobs()
    after = await rig.row(task.id)
    assert (after.state, after.upstream_id, after.upstream_status) == (UpstreamState.ACCEPTED, "primary-1", "running")
    assert len(primary.creates) == 1
    await step(stalled)  # and it takes nothing back while the other node keeps its lease
    assert await rig.store.upstream.due(stalled.id, rig.clock() + 3600) == []


async def test_a_step_the_table_forbids_fails_the_task_instead_of_retrying(rig: Rig) -> None:
    """A relay bug (a step states.py forbids) is not retried every few seconds until the task expires."""
    relay = rig.relay()
    task = await rig.add_task()
    await step(relay)
    record = await rig.row(task.id)

    async def buggy_step() -> None:
        await rig.store.upstream.update(record, relay.id, rig.clock(), state=UpstreamState.WAITING, channel=None)

    relay._spawn(record, buggy_step())
    await relay.finish_jobs()
    failed = await rig.task(task.id)
    assert failed.status is Status.FAILED and failed.error == {
        "code": "InternalServiceError",
        "message": "the upstream relay lost track of it",
    }
    assert (await rig.row(task.id)).state is UpstreamState.DONE
