"""Budgets and the ledger: the rules (core/limits.py) as pure functions, and the books (store/budgets.py) on a real
SQLite store and on PostgreSQL: reservations made with the task, concurrent creates from two nodes racing one
budget, settle on delivered usage, refunds, and no entry ever written twice."""

from __future__ import annotations

import asyncio
import calendar
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from seedgate.core.limits import (
    MICRO,
    Billing,
    Budget,
    Charge,
    LimitExceeded,
    Refused,
    admit,
    parse_money,
    period_end,
    period_start,
)
from seedgate.core.plan import TaskPlan
from seedgate.core.status import Status
from seedgate.core.task import Task, new_task_id
from seedgate.store.store import ApiKey, Store
from seedgate.tasks.keys import create_key

from .conftest import Database, emptied_store

TABLES = ("ledger", "key_budgets", "budgets", "webhook_deliveries", "task_blobs", "tasks", "api_keys")
NOW = calendar.timegm((2026, 12, 3, 12, 0, 0))  # a Thursday


# -- the rules --------------------------------------------------------------------------------------------------


def tokens_budget(**values: object) -> Budget:
    return replace(Budget("b1", "team", "tokens"), **values)  # type: ignore[arg-type]


def test_a_charge_counts_in_tokens_or_its_own_currency_only() -> None:
    charge = Charge(2 * MICRO, "CNY", 1000)
    assert (charge.in_unit("tokens"), charge.in_unit("CNY"), charge.in_unit("USD")) == (1000, 2 * MICRO, None)


def test_admitting_counts_the_charge_and_the_rate_window() -> None:
    after = admit(tokens_budget(limit=5000), "m", Charge(0, None, 1000), 0, NOW)
    assert (after.used, after.window_count) == (1000, 1)


@pytest.mark.parametrize(
    ("budget", "model", "queued", "reason"),
    [
        (tokens_budget(limit=1500, used=1000), "m", 0, Refused.BUDGET),
        (tokens_budget(models=("other",)), "m", 0, Refused.MODEL),
        (tokens_budget(expires_at=NOW), "m", 0, Refused.EXPIRED),
        (tokens_budget(rpm=2, window_start=NOW - 10, window_count=2), "m", 0, Refused.RATE),
        (tokens_budget(max_queued=3), "m", 3, Refused.QUEUED),
        (replace(tokens_budget(), unit="USD"), "m", 0, Refused.CURRENCY),
    ],
)
def test_each_limit_refuses_naming_itself(budget: Budget, model: str, queued: int, reason: Refused) -> None:
    with pytest.raises(LimitExceeded) as refused:
        admit(budget, model, Charge(0, None, 1000), queued, NOW)
    assert refused.value.reason is reason and "'team'" in refused.value.message


def test_a_rate_refusal_says_when_to_retry() -> None:
    with pytest.raises(LimitExceeded) as refused:
        admit(tokens_budget(rpm=1, window_start=NOW - 45, window_count=1), "m", Charge(0, None, 1), 0, NOW)
    assert refused.value.retry_after_s == pytest.approx(15)


def test_a_new_period_and_a_new_window_start_from_zero() -> None:
    budget = tokens_budget(limit=10, period="day", period_start=NOW - 86400 - 5, used=10, window_start=NOW - 61)
    current = budget.current(NOW)
    assert (current.used, current.period_start, current.window_count) == (0, period_start("day", NOW), 0)
    assert tokens_budget(limit=10, period="day", period_start=period_start("day", NOW), used=7).current(NOW).used == 7


def test_periods_are_utc_days_iso_weeks_and_calendar_months() -> None:
    assert period_start("day", NOW) == calendar.timegm((2026, 12, 3, 0, 0, 0))
    assert period_start("week", NOW) == calendar.timegm((2026, 11, 30, 0, 0, 0))  # Monday
    assert period_start("month", NOW) == calendar.timegm((2026, 12, 1, 0, 0, 0))
    assert period_end("month", period_start("month", NOW)) == calendar.timegm((2027, 1, 1, 0, 0, 0))
    with pytest.raises(ValueError, match="fortnight"):
        period_start("fortnight", NOW)


@pytest.mark.parametrize(
    ("text", "micro"), [("12.5", 12_500_000), ("0.000001", 1), ("3", 3 * MICRO), ("-1.25", -1_250_000)]
)
def test_money_is_parsed_exactly(text: str, micro: int) -> None:
    assert parse_money(text) == micro


@pytest.mark.parametrize("text", ["", "1.2345678", "1e3", "12,5", "٣", "0x10", "1.", ".5", "9" * 13])
def test_what_is_not_an_amount_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_money(text)


# -- the books ----------------------------------------------------------------------------------------------------


@pytest.fixture
async def store(database: Database, tmp_path: Path) -> AsyncIterator[Store]:
    async with emptied_store(database, tmp_path, TABLES) as store:
        yield store


async def limited_key(store: Store, *budgets: Budget) -> ApiKey:
    key, _ = await create_key(store, "team key")
    for budget in budgets:
        await store.budgets.link(key.id, budget.id)
    found = await store.key_by_id(key.id)
    assert found is not None and found.limited
    return found


def task_of(key: ApiKey, tokens: int, *, model: str = "m", amount: int = 0, currency: str | None = None) -> Task:
    now = time.time()
    return Task(
        id=new_task_id(now),
        owner=key.id,
        dialect="ark",
        endpoint=model,
        spec=TaskPlan.from_json({"model": model}),
        created_at=now,
        updated_at=now,
        expires_at=now + 3600,
        billing=Billing(Charge(amount, currency, tokens)),
    )


async def used(store: Store, budget: Budget) -> int:
    current = await store.budgets.get(budget.id)
    assert current is not None
    return current.used


async def test_a_create_reserves_with_the_task_and_a_refused_one_stores_nothing(store: Store) -> None:
    budget = await store.budgets.create(tokens_budget(id="", limit=2500))
    key = await limited_key(store, budget)
    first = await store.insert_task(reserve=True, task=task_of(key, 1000))
    assert first.billing is not None and first.billing.budgets == (budget.id,)
    stored = await store.get_task(first.id)
    assert stored is not None and stored.billing == first.billing  # the books' facts travel with the task
    await store.insert_task(reserve=True, task=task_of(key, 1000))
    with pytest.raises(LimitExceeded) as refused:
        await store.insert_task(refused_task := task_of(key, 1000), reserve=True)
    assert refused.value.reason is Refused.BUDGET
    assert await store.get_task(refused_task.id) is None
    assert await used(store, budget) == 2000
    entries = await store.budgets.entries(budget_id=budget.id)
    assert [(e.kind, e.amount, e.tokens) for e in entries] == [("reserve", 1000, 1000)] * 2


async def test_concurrent_creates_from_two_nodes_never_overspend(store: Store) -> None:
    budget = await store.budgets.create(tokens_budget(id="", limit=10_000))
    key = await limited_key(store, budget)
    other = Store(store.url)
    try:
        results = await asyncio.gather(
            *(node.insert_task(task_of(key, 700), reserve=True) for node in [store, other] * 20), return_exceptions=True
        )
    finally:
        await other.close()
    accepted = [r for r in results if isinstance(r, Task)]
    refused = [r for r in results if isinstance(r, LimitExceeded)]
    assert len(accepted) + len(refused) == 40
    assert len(accepted) == 10_000 // 700  # exactly as many as fit: 14, never 15
    assert await used(store, budget) == 700 * len(accepted)


async def test_every_budget_of_a_key_must_pass_and_a_refusal_reserves_on_none(store: Store) -> None:
    project = await store.budgets.create(tokens_budget(id="", name="project", limit=100_000))
    mine = await store.budgets.create(tokens_budget(id="", name="mine", limit=1_500))
    key = await limited_key(store, project, mine)
    await store.insert_task(reserve=True, task=task_of(key, 1000))
    with pytest.raises(LimitExceeded) as refused:
        await store.insert_task(reserve=True, task=task_of(key, 1000))
    assert refused.value.budget == "mine"
    assert (await used(store, project), await used(store, mine)) == (1000, 1000)


async def test_success_settles_on_what_was_delivered_and_failure_refunds(store: Store) -> None:
    budget = await store.budgets.create(tokens_budget(id="", limit=10_000))
    key = await limited_key(store, budget)
    done = await store.insert_task(reserve=True, task=task_of(key, 3000))
    failed = await store.insert_task(reserve=True, task=task_of(key, 2000))
    cancelled = await store.insert_task(reserve=True, task=task_of(key, 1000))
    assert await used(store, budget) == 6000
    assert await store.transition(done, Status.RUNNING)
    assert await store.transition(done, Status.SUCCEEDED, delivered=Charge(0, None, 1800))
    assert await store.transition(failed, Status.FAILED, error_code="X", error_message="broke")
    assert await store.transition(cancelled, Status.CANCELLED)
    assert await used(store, budget) == 1800
    entries = [(e.task_id, e.kind, e.amount) for e in await store.budgets.entries(budget_id=budget.id)]
    assert (done.id, "settle", -1200) in entries
    assert (failed.id, "refund", -2000) in entries and (cancelled.id, "refund", -1000) in entries


async def test_closing_the_books_twice_changes_nothing(store: Store) -> None:
    budget = await store.budgets.create(tokens_budget(id="", limit=10_000))
    key = await limited_key(store, budget)
    task = await store.insert_task(reserve=True, task=task_of(key, 3000))
    assert await store.transition(task, Status.FAILED, error_code="X", error_message="broke")
    assert not await store.transition(task, Status.FAILED, error_code="X", error_message="again")  # lost the race
    assert task.billing is not None
    async with store.engine.begin() as conn:  # a second settler getting through anyway: the index holds
        await store.budgets.close(conn, task.id, key.id, task.model, task.billing.budgets, None, time.time())
    assert await used(store, budget) == 0
    assert [e.kind for e in await store.budgets.entries(task_id=task.id)] == ["reserve", "refund"]


async def test_money_budgets_count_in_their_currency(store: Store) -> None:
    budget = await store.budgets.create(Budget("", "cny", "CNY", limit=parse_money("10")))
    key = await limited_key(store, budget)
    await store.insert_task(reserve=True, task=task_of(key, 100, amount=parse_money("6.5"), currency="CNY"))
    with pytest.raises(LimitExceeded) as over:
        await store.insert_task(reserve=True, task=task_of(key, 100, amount=parse_money("6.5"), currency="CNY"))
    assert "3.50 CNY left of 10.00 CNY" in over.value.message
    with pytest.raises(LimitExceeded) as unpriced:
        await store.insert_task(reserve=True, task=task_of(key, 100, amount=0, currency=None))
    assert unpriced.value.reason is Refused.CURRENCY


async def test_rate_queue_and_model_limits(store: Store) -> None:
    budget = await store.budgets.create(tokens_budget(id="", rpm=3, max_queued=2, models=("m", "n")))
    key = await limited_key(store, budget)
    first = await store.insert_task(reserve=True, task=task_of(key, 1))
    await store.insert_task(reserve=True, task=task_of(key, 1))
    with pytest.raises(LimitExceeded) as queued:
        await store.insert_task(reserve=True, task=task_of(key, 1))
    assert queued.value.reason is Refused.QUEUED
    assert await store.transition(first, Status.RUNNING)  # one leaves the queue: room again
    await store.insert_task(reserve=True, task=task_of(key, 1, model="n"))
    with pytest.raises(LimitExceeded) as rate:
        await store.insert_task(reserve=True, task=task_of(key, 1))
    assert rate.value.reason is Refused.RATE
    await store.budgets.update(budget.id, rpm=None, max_queued=None)
    with pytest.raises(LimitExceeded) as model:
        await store.insert_task(reserve=True, task=task_of(key, 1, model="x"))
    assert model.value.reason is Refused.MODEL


async def test_a_key_without_budgets_is_not_limited_and_unlinking_frees_it(store: Store) -> None:
    budget = await store.budgets.create(tokens_budget(id="", limit=0))
    key = await limited_key(store, budget)
    await store.budgets.unlink(key.id, budget.id)
    assert not (await store.key_by_id(key.id)).limited  # type: ignore[union-attr]
    free = await store.insert_task(reserve=True, task=task_of(key, 1000))
    assert free.billing is not None and free.billing.budgets == ()
    assert await store.transition(free, Status.FAILED, error_code="X", error_message="broke")  # nothing to refund
    assert await store.budgets.entries(task_id=free.id) == []


async def test_past_max_running_a_task_waits_in_the_queue(store: Store) -> None:
    budget = await store.budgets.create(tokens_budget(id="", max_running=1))
    key = await limited_key(store, budget)
    first = await store.insert_task(task_of(key, 1), reserve=True)
    second = await store.insert_task(task_of(key, 1), reserve=True)
    other_key, _ = await create_key(store, "unlimited")
    free = await store.insert_task(replace(task_of(key, 1), owner=other_key.id))
    claimed = await store.claim("w1", ["preview"], lease_s=30)
    assert claimed is not None and claimed.id == first.id
    # The budget's one slot is taken: its next task waits, another owner's does not.
    assert (await store.claim("w2", ["preview"], lease_s=30)).id == free.id  # type: ignore[union-attr]
    assert await store.claim("w2", ["preview"], lease_s=30) is None
    assert await store.transition(claimed, Status.SUCCEEDED, delivered=Charge(0, None, 1))
    assert (await store.claim("w2", ["preview"], lease_s=30)).id == second.id  # type: ignore[union-attr]


async def test_a_running_task_whose_worker_died_is_taken_over_despite_max_running(store: Store) -> None:
    budget = await store.budgets.create(tokens_budget(id="", max_running=1))
    key = await limited_key(store, budget)
    task = await store.insert_task(task_of(key, 1), reserve=True)
    assert await store.claim("dead", ["preview"], lease_s=0.01) is not None
    await asyncio.sleep(0.05)  # the lease runs out: its own slot is free again
    taken = await store.claim("rescuer", ["preview"], lease_s=30)
    assert taken is not None and taken.id == task.id and taken.attempts == 2
