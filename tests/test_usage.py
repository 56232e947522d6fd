"""What keys spent, on a real server (SQLite and PostgreSQL): the cost in every answer that has a place for it (the
Ark task's `cost` through the Ark SDK, the client's `Task.cost`, OpenRouter's `usage.cost`, the console's detail),
`GET /v1/usage` by day, model and key with the budget's books, `seedgate usage`, and jimmyai's balances from a
money budget made with the budgets admin API. Expected costs are the catalog's price of what was delivered
(core/pricing.py), never a number written here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from seedgate.client import Client
from seedgate.core.catalog import load_catalog
from seedgate.core.plan import TaskPlan
from seedgate.core.pricing import Delivered, charge

from . import test_console
from .conftest import API_KEY, Database, Server, start_server, wait_status

CATALOG = load_catalog()
V2 = "doubao-seedance-2-0-260128"
PRO = "doubao-seedance-1-0-pro-250528"
BUDGET_CNY = 100


@dataclass
class Made:
    """The tasks the module makes, and the keys that made them."""

    team_key: str
    team_secret: str
    other_secret: str
    admin_id: str
    budget: dict[str, Any]
    team: dict[str, dict[str, Any]]  # task ID -> its console detail (the team key's tasks)
    admin: dict[str, dict[str, Any]]  # the admin key's
    routed: dict[str, Any]  # the team's OpenRouter job, as OpenRouter's poll answered it once completed


def http(server: Server, secret: str = API_KEY) -> httpx.Client:
    return server.client(secret)


def detail(server: Server, secret: str, task_id: str) -> dict[str, Any]:
    with http(server, secret) as client:
        return client.get(f"/console/api/tasks/{task_id}").json()


def priced(task: dict[str, Any]) -> int:
    """What a succeeded task costs at the catalog's price for what it delivered, in micro-units."""
    plan = TaskPlan.from_json(task["spec"])
    price = CATALOG.models[plan.model_id].price
    assert price is not None
    return charge(plan, price, Delivered(frames=task["result"]["frames"])).amount


def ark_for(server: Server, secret: str) -> Any:
    from volcenginesdkarkruntime import Ark

    return Ark(base_url=server.ark_base, api_key=secret, max_retries=0)


def ark_task(server: Server, secret: str, model: str, text: str) -> str:
    ark = ark_for(server, secret)
    created = ark.content_generation.tasks.create(
        model=model, content=[{"type": "text", "text": text}], resolution="480p", duration=4
    )
    task = wait_status(lambda i: ark.content_generation.tasks.get(task_id=i), created.id)
    assert task.status == "succeeded", task
    return str(created.id)


def openai_task(server: Server, secret: str) -> str:
    from openai import OpenAI

    client = OpenAI(base_url=f"{server.url}/v1", api_key=secret, max_retries=0)
    video = client.videos.create(prompt="a lighthouse", model=PRO, seconds="4", size="864x480")
    done = wait_status(lambda i: client.videos.retrieve(i), video.id, ("completed", "failed"))
    assert done.status == "completed", done
    return str(video.id)


def openrouter_task(server: Server, secret: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {secret}"}
    body = {"model": V2, "prompt": "a kite", "duration": 4, "resolution": "480p"}
    job = httpx.post(f"{server.url}/api/v1/videos", headers=headers, json=body, timeout=30).json()

    def poll(job_id: str) -> dict[str, Any]:
        return httpx.get(f"{server.url}/api/v1/videos/{job_id}", headers=headers, timeout=30).json()

    done = wait_status(poll, job["id"], ("completed", "failed"))
    assert done["status"] == "completed", done
    return done


@pytest.fixture(scope="module")
def made(server: Server) -> Made:
    with http(server) as admin:
        me = admin.get("/console/api/me").json()
        team = admin.post("/console/api/keys", json={"name": "team"}).json()
        other = admin.post("/console/api/keys", json={"name": "other"}).json()
        budget = admin.post("/v1/budgets", json={"name": "team-cny", "unit": "CNY", "limit": BUDGET_CNY})
        assert budget.status_code in (200, 201), budget.text
        linked = admin.post(f"/v1/budgets/{budget.json()['id']}/keys", json={"key_id": team["id"]})
        assert linked.status_code in (200, 201), linked.text
    routed = openrouter_task(server, team["secret"])
    team_ids = [ark_task(server, team["secret"], V2, "a cat"), openai_task(server, team["secret"]), routed["id"]]
    admin_ids = [ark_task(server, API_KEY, PRO, "a dog")]
    return Made(
        team_key=team["id"],
        team_secret=team["secret"],
        other_secret=other["secret"],
        admin_id=me["id"],
        budget=budget.json(),
        team={i: detail(server, team["secret"], i) for i in team_ids},
        admin={i: detail(server, API_KEY, i) for i in admin_ids},
        routed=routed,
    )


def test_each_answer_carries_what_the_task_cost(server: Server, made: Made) -> None:
    ark = ark_for(server, made.team_secret)
    for task_id, task in made.team.items():
        expected = priced(task)
        assert expected > 0
        cost = {"currency": "CNY", "amount": expected / 1e6, "amount_micros": expected}
        assert task["cost"] == cost  # the console's detail
        # Ark keeps Ark's usage (tokens) and adds seedgate's own `cost` beside it, which the SDK's models allow.
        answer = ark.content_generation.tasks.get(task_id=task_id)
        assert answer.usage.completion_tokens == task["usage"]["completion_tokens"]
        assert answer.model_extra["cost"] == cost
        with Client(server.url, made.team_secret) as client:
            assert client.get(task_id).cost == cost
    # OpenRouter's usage.cost: the amount in the price's currency.
    routed = made.routed
    assert routed["usage"] == {"cost": priced(made.team[routed["id"]]) / 1e6, "is_byok": False}


def _sum(tasks: dict[str, dict[str, Any]]) -> int:
    return sum(priced(t) for t in tasks.values())


def _tokens(tasks: dict[str, dict[str, Any]]) -> int:
    return sum(t["usage"]["completion_tokens"] for t in tasks.values())


def test_usage_by_model_day_and_key(server: Server, made: Made) -> None:
    with http(server, made.team_secret) as team:
        by_model = team.get("/v1/usage", params={"group_by": "model", "days": 1}).json()
        assert by_model["key_id"] == made.team_key and by_model["group_by"] == ["model"]
        for model in (V2, PRO):
            mine = {i: t for i, t in made.team.items() if TaskPlan.from_json(t["spec"]).model_id == model}
            (item,) = [g for g in by_model["items"] if g["model"] == model]
            assert item["tasks"] == item["succeeded"] == item["statuses"]["succeeded"] == len(mine)
            assert item["tokens"] == _tokens(mine)
            assert item["cost"] == {"CNY": {"amount": round(_sum(mine) / 1e6, 6), "amount_micros": _sum(mine)}}
        totals = by_model["totals"]
        assert totals["tasks"] == 3 and totals["cost"]["CNY"]["amount_micros"] == _sum(made.team)

        # The team key's budget: the ledger's books for this key agree with the tasks' costs (all settled).
        (books,) = by_model["budgets"]
        assert books["name"] == "team-cny" and books["unit"] == "CNY" and books["limit"] == BUDGET_CNY
        assert books["ledger"]["charged"] == pytest.approx(_sum(made.team) / 1e6)
        assert books["used"] == pytest.approx(_sum(made.team) / 1e6)
        assert books["remaining"] == pytest.approx(BUDGET_CNY - _sum(made.team) / 1e6)

        # Days are the caller's: UTC+14 puts every task on the local day of its creation there.
        local = team.get("/v1/usage", params={"group_by": "day,model", "tz_offset_min": 840}).json()
        days = {time.strftime("%Y-%m-%d", time.gmtime(t["created_at"] + 840 * 60)) for t in made.team.values()}
        assert {g["day"] for g in local["items"]} == days
        assert sum(g["tasks"] for g in local["items"]) == 3

        # A key reads only its own usage.
        refused = team.get("/v1/usage", params={"key_id": made.admin_id})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "AccessDenied"
        bad = team.get("/v1/usage", params={"group_by": "week"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "group_by"
    with http(server, made.other_secret) as other:
        assert other.get("/v1/usage").json()["totals"]["tasks"] == 0

    # An admin key reads everyone's, by key; or one key's.
    with http(server) as admin:
        everyone = admin.get("/v1/usage", params={"group_by": "key", "key_id": "all", "days": 1}).json()
        by_key = {g["key_id"]: g for g in everyone["items"]}
        assert by_key[made.team_key]["tasks"] == 3 and by_key[made.admin_id]["tasks"] >= 1
        assert by_key[made.admin_id]["cost"]["CNY"]["amount_micros"] >= _sum(made.admin)
        assert "budgets" not in everyone
        one = admin.get("/v1/usage", params={"key_id": made.team_key, "group_by": "key"}).json()
        assert [g["key_id"] for g in one["items"]] == [made.team_key]
        since = min(t["created_at"] for t in made.team.values()) - 1
        window = admin.get("/v1/usage", params={"key_id": made.team_key, "since": since}).json()
        assert window["totals"]["tasks"] == 3


def _cli(server: Server, secret: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDGATE_")}
    env.update(SEEDGATE_URL=server.url, SEEDGATE_API_KEY=secret)
    return subprocess.run(
        [sys.executable, "-m", "seedgate.cli", "usage", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_usage_command(server: Server, made: Made) -> None:
    run = _cli(server, made.team_secret, "--json", "--days", "1", "--group-by", "model")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["totals"]["tasks"] == 3 and {g["model"] for g in report["items"]} == {V2, PRO}
    assert report["totals"]["cost"]["CNY"]["amount_micros"] == _sum(made.team)

    table = _cli(server, made.team_secret, "--group-by", "model")
    assert table.returncode == 0, table.stderr
    assert "total" in table.stdout and "team-cny" in table.stdout

    wrong = _cli(server, made.team_secret, "--group-by", "week")
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert len(wrong.stderr.strip().splitlines()) == 1 and "group_by" in wrong.stderr
    refused = _cli(server, made.team_secret, "--key-id", made.admin_id)
    assert refused.returncode == 4 and "admin" in refused.stderr


def test_jimmyai_balances_answer_from_the_budget(server: Server, made: Made) -> None:
    spent = _sum(made.team) / 1e6
    with http(server, made.team_secret) as team:
        key = team.get("/api/open-api/v1/key/balance").json()
        user = team.get("/api/open-api/v1/user/balance").json()
    assert key["code"] == user["code"] == "20000"
    quota = key["data"]
    assert quota["currency"] == "CNY" and quota["unlimited_quota"] is False and quota["budget"] == "team-cny"
    assert quota["total_quota"] == BUDGET_CNY and quota["used_quota"] == pytest.approx(spent)
    assert quota["remaining_quota"] == pytest.approx(BUDGET_CNY - spent)
    assert user["data"]["balance"] == quota["remaining_quota"] and user["data"]["currency"] == "CNY"

    with http(server, made.other_secret) as other:
        unlimited = other.get("/api/open-api/v1/key/balance").json()["data"]
    assert unlimited["unlimited_quota"] is True and unlimited["remaining_quota"] is None
    no_key = httpx.get(f"{server.url}/api/open-api/v1/key/balance", timeout=30)
    assert no_key.status_code == 401 and no_key.json()["code"] == "20001"


# -- the console (SQLite only, and last: once Playwright runs, asyncio.run() cannot run in this thread) ------------

browser = test_console.browser  # headless Chromium, as the console's suite drives it


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(Database("sqlite", None), tmp_path_factory.mktemp("usage-ui") / "data", "--workers", "1")
    yield srv
    srv.stop()


def test_the_console_shows_cost_per_task_day_and_model(browser: Any, ui_server: Server) -> None:
    from playwright.sync_api import expect

    task_id = ark_task(ui_server, API_KEY, V2, "a heron")
    shown = f"{priced(detail(ui_server, API_KEY, task_id)) / 1e6:.6f} CNY"
    context = browser.new_context(viewport=test_console.DESKTOP)
    page = context.new_page()
    try:
        test_console._sign_in(page, ui_server)
        page.goto(f"{ui_server.url}/console#/tasks/{task_id}")
        expect(page.get_by_test_id("task-cost")).to_contain_text(f"Cost{shown}")
        page.goto(f"{ui_server.url}/console#/usage")
        expect(page.get_by_test_id("usage-cost")).to_contain_text(shown)
        (row,) = page.get_by_test_id("usage-row").all()
        expect(row).to_contain_text(V2)
        expect(row).to_contain_text(shown)
    finally:
        context.close()
