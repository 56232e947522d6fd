"""The pieces of cost and usage that need no server: what a task's answers say it cost in each state, the usage
window and groups, jimmyai's balance from a key's budgets, and the spend, token and refusal counters."""

from __future__ import annotations

import calendar

import pytest
from prometheus_client import REGISTRY

from seedgate.api.usage import last_days, owner_for
from seedgate.core.errors import ApiError
from seedgate.core.limits import Billing, Budget, Charge, LimitExceeded, Refused
from seedgate.core.plan import TaskPlan
from seedgate.core.status import Status
from seedgate.core.task import Task
from seedgate.dialects import openrouter
from seedgate.dialects.costs import task_cost
from seedgate.dialects.jimmyai import balance_of
from seedgate.metrics import count_refusal, count_settled
from seedgate.store.reports import day_of, known_groups
from seedgate.store.store import ApiKey

ESTIMATE = Charge(2_500_000, "CNY", 50_000)
KEY = ApiKey("key_1", "team", False, 0.0, None)


def task(status: Status, billing: Billing | None = Billing(ESTIMATE), cost: int | None = None) -> Task:
    result = {"usage": {"completion_tokens": 1}, "cost": {"amount": cost, "currency": "CNY"}} if cost else None
    return Task(
        "cgt-1",
        "key_1",
        "ark",
        "m",
        TaskPlan.from_json({"model": "m"}),
        status=status,
        result=result,
        billing=billing,
        created_at=1.0,
        updated_at=2.0,
    )


def test_a_task_shows_its_estimate_until_it_finishes_then_what_it_cost() -> None:
    money = {"currency": "CNY", "amount": 2.5, "amount_micros": 2_500_000}
    assert task_cost(task(Status.QUEUED)) == {**money, "estimated": True}
    assert task_cost(task(Status.RUNNING)) == {**money, "estimated": True}
    assert task_cost(task(Status.SUCCEEDED, cost=1_234_567)) == {
        "currency": "CNY",
        "amount": 1.234567,
        "amount_micros": 1_234_567,
    }
    # Nothing delivered, nothing charged.
    for ended in (Status.FAILED, Status.CANCELLED, Status.EXPIRED):
        assert task_cost(task(ended)) == {"currency": "CNY", "amount": 0.0, "amount_micros": 0}
    # An unpriced model, or a task from before prices: no cost at all.
    assert task_cost(task(Status.QUEUED, Billing(Charge(0, None, 50_000)))) is None
    assert task_cost(task(Status.SUCCEEDED, None)) is None


def test_openrouter_reports_the_cost_once_the_job_is_finished() -> None:
    assert openrouter.cost_of(task(Status.QUEUED)) is None  # an estimate is not a cost
    assert openrouter.cost_of(task(Status.SUCCEEDED, cost=1_500_000)) == 1.5
    assert openrouter.cost_of(task(Status.FAILED)) == 0.0
    assert openrouter.cost_of(task(Status.SUCCEEDED, Billing(Charge(0, None, 9)))) is None


def test_the_last_days_start_at_the_callers_midnight() -> None:
    now = calendar.timegm((2026, 12, 3, 20, 30, 0))  # 04:30 on Dec 4 at UTC+8
    since, until = last_days(1, 480, now)
    assert until == now and since == calendar.timegm((2026, 12, 3, 16, 0, 0))  # Dec 4, 00:00 at UTC+8
    since, _ = last_days(7, 0, now)
    assert since == calendar.timegm((2026, 11, 27, 0, 0, 0))
    assert day_of(now, 480) == "2026-12-04" and day_of(now, 0) == "2026-12-03" and day_of(now, -1260) == "2026-12-02"
    with pytest.raises(ApiError):
        last_days(0, 0, now)


def test_groups_come_in_one_order_and_unknown_ones_are_named() -> None:
    assert known_groups(["key", "day", "key"]) == ("day", "key")
    with pytest.raises(ValueError, match="'week'"):
        known_groups(["day", "week"])


def test_only_an_admin_reads_another_keys_usage() -> None:
    admin = ApiKey("key_a", "ops", True, 0.0, None)
    assert owner_for(KEY, "") == owner_for(KEY, "key_1") == "key_1"
    assert owner_for(admin, "key_1") == "key_1" and owner_for(admin, "all") is None
    with pytest.raises(ApiError) as refused:
        owner_for(KEY, "all")
    assert refused.value.status == 403


def test_the_balance_is_the_tightest_money_budget() -> None:
    project = Budget("b1", "project", "CNY", limit=100_000_000, used=90_000_000)
    own = Budget("b2", "own", "CNY", limit=50_000_000, used=1_500_000)
    tokens = Budget("b3", "tokens", "tokens", limit=10)
    quota = balance_of(KEY, [own, project, tokens])
    assert quota["budget"] == "project" and quota["currency"] == "CNY" and quota["unlimited_quota"] is False
    assert (quota["total_quota"], quota["used_quota"], quota["remaining_quota"]) == (100.0, 90.0, 10.0)
    counting = balance_of(KEY, [Budget("b4", "count", "USD", used=2_000_000)])
    assert counting["unlimited_quota"] is True and counting["used_quota"] == 2.0 and counting["remaining_quota"] is None
    none = balance_of(KEY, [tokens])
    assert none["unlimited_quota"] is True and none["currency"] is None and none["total_quota"] is None


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_counters_of_spend_tokens_and_refusals() -> None:
    spend = {"model": "unit-model", "currency": "CNY"}
    before = (_sample("seedgate_spend_micros_total", spend), _sample("seedgate_tokens_total", {"model": "unit-model"}))
    count_settled("unit-model", Charge(1_250_000, "CNY", 300))
    count_settled("unit-model", Charge(0, None, 200))  # unpriced: tokens only
    assert _sample("seedgate_spend_micros_total", spend) == before[0] + 1_250_000
    assert _sample("seedgate_tokens_total", {"model": "unit-model"}) == before[1] + 500
    refusals = _sample("seedgate_limit_refusals_total", {"reason": "budget"})
    count_refusal(LimitExceeded(Refused.BUDGET, "team", "spent"))
    assert _sample("seedgate_limit_refusals_total", {"reason": "budget"}) == refusals + 1
