"""Budgets end to end, on SQLite and PostgreSQL: an operator defines a money budget over HTTP and links a key; two
API nodes take concurrent creates through the Ark SDK and never let the budget go over; a refusal answers in each
dialect's envelope; cancelled tasks are refunded, delivered ones settled, a worker killed mid-render does not make
its task paid twice; the books add up to the budget's `used`."""

from __future__ import annotations

import secrets
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
from volcenginesdkarkruntime import Ark
from volcenginesdkarkruntime._exceptions import ArkAPIStatusError

from .conftest import Database, Server, server_env, start_process, start_server, wait_status
from .waiting import wait_until

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PRO = "doubao-seedance-1-0-pro-250528"
SMALL = {"model": PRO, "content": [{"type": "text", "text": "a paper boat"}], "resolution": "480p", "duration": 2}


@dataclass
class Fleet:
    a: Server
    b: Server
    workers: list[Any]

    def start_worker(self, name: str) -> Any:
        env = server_env(self.a.database, self.a.data_dir, SEEDGATE_LEASE_SECONDS="3")
        worker = start_process(["worker"], env, self.a.data_dir.parent / f"worker-{name}.log")
        self.workers.append(worker)
        return worker


@pytest.fixture
def fleet(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Two API-only nodes on one database (and one data directory: the results are not what this tests)."""
    data = tmp_path_factory.mktemp("budgets") / "data"
    a = start_server(database, data, "--workers", "0")
    b = start_server(database, data, "--workers", "0")
    fleet = Fleet(a, b, [])
    yield fleet
    for worker in fleet.workers:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    a.stop()
    b.stop()


def admin(srv: Server, method: str, path: str, body: Any = None) -> Any:
    with srv.client() as http:
        answer = http.request(method, path, json=body)
    assert answer.status_code < 300, answer.text
    return answer.json()


def team_key(fleet: Fleet, limit_tasks: float) -> tuple[str, str, float]:
    """A key linked to a CNY budget worth `limit_tasks` small tasks (priced by the server's own quote)."""
    quote = admin(fleet.a, "POST", "/v1/quote", {"request": SMALL})["quote"]
    price = quote["amount_micros"]
    budget = admin(
        fleet.a,
        "POST",
        "/v1/budgets",
        {"name": f"team-{secrets.token_hex(4)}", "unit": "CNY", "limit": money(int(price * limit_tasks))},
    )
    key = admin(fleet.a, "POST", "/console/api/keys", {"name": "team"})
    admin(fleet.b, "POST", f"/v1/budgets/{budget['id']}/keys", {"key_id": key["id"]})
    return key["secret"], budget["id"], price


def money(micro: int) -> str:
    return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"


def ark(srv: Server, secret: str) -> Any:
    return Ark(base_url=srv.ark_base, api_key=secret, max_retries=0)


def books(fleet: Fleet, budget_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return admin(fleet.a, "GET", f"/v1/budgets/{budget_id}"), admin(fleet.a, "GET", f"/v1/budgets/{budget_id}/ledger")[
        "data"
    ]


def test_two_nodes_racing_one_budget_never_overspend_and_the_books_add_up(fleet: Fleet) -> None:
    secret, budget_id, price = team_key(fleet, 7.5)
    clients = [ark(fleet.a, secret), ark(fleet.b, secret)]

    def create(i: int) -> str | ArkAPIStatusError:
        try:
            return clients[i % 2].content_generation.tasks.create(**SMALL).id
        except ArkAPIStatusError as refused:
            return refused

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(create, range(24)))
    accepted = [o for o in outcomes if isinstance(o, str)]
    refused = [o for o in outcomes if not isinstance(o, str)]
    assert len(accepted) == 7  # 7.5 tasks' worth: exactly 7 fit, whichever node took them
    assert {(r.status_code, r.code) for r in refused} == {(429, "SetLimitExceeded")}
    budget, _ = books(fleet, budget_id)
    assert budget["used"] == pytest.approx(7 * price / 1e6) and budget["remaining"] < price / 1e6

    # No worker yet: every task is queued. Cancelling two gives their reservations back...
    for task_id in accepted[:2]:
        clients[1].content_generation.tasks.delete(task_id=task_id)
    assert books(fleet, budget_id)[0]["used"] == pytest.approx(5 * price / 1e6)
    # ... and the rest settle on what they delivered once a worker renders them.
    fleet.start_worker("w1")
    for task_id in accepted[2:]:
        task = wait_status(lambda i: clients[0].content_generation.tasks.get(task_id=i), task_id, timeout=120)
        assert task.status == "succeeded", task
    budget, entries = books(fleet, budget_id)
    by_task: dict[str, list[str]] = {}
    for entry in entries:
        by_task.setdefault(entry["task_id"], []).append(entry["kind"])
    assert sorted(by_task) == sorted(accepted)
    assert all(by_task[t] == ["reserve", "refund"] for t in accepted[:2])
    assert all(by_task[t] == ["reserve", "settle"] for t in accepted[2:])
    assert budget["used"] == pytest.approx(sum(e["amount"] for e in entries))


def test_a_refusal_speaks_each_dialect(fleet: Fleet) -> None:
    secret, _budget_id, _price = team_key(fleet, 0.5)  # not even one task
    with pytest.raises(ArkAPIStatusError) as ark_refusal:
        ark(fleet.a, secret).content_generation.tasks.create(**SMALL)
    assert ark_refusal.value.status_code == 429 and "'team-" in ark_refusal.value.message
    client = openai.OpenAI(base_url=f"{fleet.b.url}/v1", api_key=secret, max_retries=0)
    with pytest.raises(openai.RateLimitError) as openai_refusal:
        client.videos.create(prompt="a boat", model="doubao-seedance-2-0-260128", seconds="4")
    assert openai_refusal.value.code == "insufficient_quota"
    answer = httpx.post(
        f"{fleet.a.url}/api/v1/videos",
        headers={"Authorization": f"Bearer {secret}"},
        json={"model": "bytedance/seedance-2.0", "prompt": "a boat"},
        timeout=30,
    )
    assert answer.status_code == 402 and answer.json()["error"]["metadata"]["error_code"] == "SetLimitExceeded"


def test_a_worker_killed_mid_render_does_not_make_its_task_paid_twice(fleet: Fleet) -> None:
    secret, budget_id, _price = team_key(fleet, 1000)
    client = ark(fleet.a, secret)
    task_id = client.content_generation.tasks.create(**{**SMALL, "resolution": "1080p", "duration": 12}).id
    doomed = fleet.start_worker("doomed")
    wait_status(lambda i: client.content_generation.tasks.get(task_id=i), task_id, ("running",), timeout=60)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    fleet.start_worker("rescuer")  # takes the task over once the dead worker's lease runs out
    task = wait_status(lambda i: client.content_generation.tasks.get(task_id=i), task_id, timeout=240)
    assert task.status == "succeeded", task
    _budget, entries = books(fleet, budget_id)
    assert [e["kind"] for e in entries if e["task_id"] == task_id] == ["reserve", "settle"]


def test_an_admin_key_is_needed_and_bad_fields_are_named(fleet: Fleet) -> None:
    secret, budget_id, _price = team_key(fleet, 1)
    taken = admin(fleet.a, "GET", f"/v1/budgets/{budget_id}")["name"]
    answer = httpx.get(f"{fleet.a.url}/v1/budgets", headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "AccessDenied"
    with fleet.a.client() as http:
        for body, param in (
            ({"name": "x", "unit": "cny"}, "unit"),
            ({"name": "x", "unit": "CNY", "limit": "1.2345678"}, "limit"),
            ({"name": "x", "period": "fortnight"}, "period"),
            ({"name": "x", "rpm": -1}, "rpm"),
            ({"name": taken}, "name"),
        ):
            bad = http.post("/v1/budgets", json=body)
            assert bad.status_code in (400, 409) and bad.json()["error"]["param"] == param, bad.text
        assert http.get("/v1/budgets/nope").status_code == 404
        changed = http.patch(f"/v1/budgets/{budget_id}", json={"rpm": 5, "period": "month"}).json()
        assert (changed["rpm"], changed["period"]) == (5, "month")


def test_a_node_killed_during_creates_leaves_books_that_add_up(fleet: Fleet) -> None:
    secret, budget_id, price = team_key(fleet, 1000)
    client = ark(fleet.b, secret)

    def create(_: int) -> str | None:
        try:
            return client.content_generation.tasks.create(**SMALL).id
        except Exception:  # the node died under this request: not accepted
            return None

    with ThreadPoolExecutor(8) as pool:
        pending = [pool.submit(create, i) for i in range(40)]
        wait_until(lambda: sum(f.done() for f in pending) >= 5, "a few creates answered")
        fleet.b.process.send_signal(signal.SIGKILL)  # mid-burst: some creates in flight, some not yet sent
        accepted = [task_id for f in pending if (task_id := f.result()) is not None]
    budget, entries = books(fleet, budget_id)
    reserved = [e["task_id"] for e in entries if e["kind"] == "reserve"]
    assert set(accepted) <= set(reserved)  # every answered create was reserved...
    survivor = ark(fleet.a, secret)
    for task_id in reserved:  # ... and every reservation has its task: they committed together
        assert survivor.content_generation.tasks.get(task_id=task_id).status == "queued"
    assert budget["used"] == pytest.approx(len(reserved) * price / 1e6)
    assert budget["used"] == pytest.approx(sum(e["amount"] for e in entries))
