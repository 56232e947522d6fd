"""The books through real `seedgate serve` processes, on SQLite and PostgreSQL, driven by the official SDKs where a
dialect has one:

- a key whose budget cannot pay for one task is refused on every create route of every dialect, in that dialect's
  envelope, naming the budget, and nothing is stored (no task, no ledger entry); so are a create past `max_queued`
  and a model the budget does not allow;
- a task relayed to an Ark upstream (bench/ark_standin.py) that delivered less than it asked settles on the tokens
  the upstream reported, and its answer carries that cost;
- a task that expires is refunded in full;
- an Idempotency-Key makes one task and one reservation, and refuses a different request under the same key.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import openai
import pytest
from volcenginesdkarkruntime import Ark
from volcenginesdkarkruntime._exceptions import ArkAPIStatusError

from seedgate.core.catalog import load_catalog
from seedgate.core.limits import MICRO
from seedgate.core.pricing import Delivered, charge, estimate
from seedgate.core.validation import settle_geometry, validate
from seedgate.dialects import ark as ark_dialect

from . import test_envelopes as envelopes
from .conftest import Database, MediaServer, Server, execute_sql, start_server, wait_status
from .media import image_bytes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from ark_standin import ArkStandin  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PRO = "doubao-seedance-1-0-pro-250528"
V2 = "doubao-seedance-2-0-260128"
RELAYED = "doubao-seedance-1-0-lite-t2v-250428"  # the one model the node hands to the Ark stand-in
SMALL = {"model": PRO, "content": [{"type": "text", "text": "a paper boat"}], "resolution": "480p", "duration": 2}
TASKS = "/api/v3/contents/generations/tasks"
UP_KEY = "sk-upstream"
IMAGE = "<image url>"  # replaced by a real image's URL where a line needs one


@pytest.fixture(scope="module")
def standin() -> Iterator[ArkStandin]:
    """An Ark upstream that delivers 2 s whatever a task asks for."""
    with ArkStandin(run_seconds=(0.5, 1.0), delivered_seconds=2) as server:
        yield server


@pytest.fixture(scope="module")
def node(database: Database, standin: ArkStandin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An API-only node (its tasks stay queued) whose one upstream channel serves RELAYED."""
    data = tmp_path_factory.mktemp("books") / "data"
    data.mkdir(parents=True)
    channels = data.parent / "channels.toml"
    channels.write_text(
        f'[[channel]]\nname = "ark"\nkind = "ark-volcengine"\nbase_url = "{standin.base_url}"\nkey_env = "UP_KEY"\n'
        f'callbacks = false\npoll_interval = 0.3\nmodels = ["{RELAYED}"]\n'
    )
    srv = start_server(database, data, "--workers", "0", UP_KEY=UP_KEY, SEEDGATE_CHANNELS=str(channels))
    yield srv
    srv.stop()


def admin(srv: Server, method: str, path: str, body: Any = None) -> Any:
    with srv.client() as http:
        answer = http.request(method, path, json=body)
    assert answer.status_code < 300, answer.text
    return answer.json()


@dataclass(frozen=True)
class Team:
    secret: str
    budget_id: str
    name: str


def team(srv: Server, **limits: Any) -> Team:
    """A new key linked to a new CNY budget with these limits."""
    name = f"books-{secrets.token_hex(4)}"
    budget = admin(srv, "POST", "/v1/budgets", {"name": name, "unit": "CNY", **limits})
    key = admin(srv, "POST", "/console/api/keys", {"name": name})
    admin(srv, "POST", f"/v1/budgets/{budget['id']}/keys", {"key_id": key["id"]})
    return Team(key["secret"], budget["id"], name)


def ledger(srv: Server, t: Team) -> list[tuple[str, str, int]]:
    """(task, kind, micro-units) for each entry of the team's budget, in order."""
    entries = admin(srv, "GET", f"/v1/budgets/{t.budget_id}/ledger")["data"]
    return [(e["task_id"], e["kind"], round(e["amount"] * MICRO)) for e in entries]


def used(srv: Server, t: Team) -> int:
    amount: float = admin(srv, "GET", f"/v1/budgets/{t.budget_id}")["used"]
    return round(amount * MICRO)


def ark_client(srv: Server, secret: str) -> Any:
    return Ark(base_url=srv.ark_base, api_key=secret, max_retries=0)


def openai_client(srv: Server, secret: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{srv.url}/v1", api_key=secret, max_retries=0)


def task_count(srv: Server, secret: str) -> int:
    with srv.client(secret) as http:
        answer = http.get(TASKS, params={"page_size": 1})
    assert answer.status_code == 200, answer.text
    total: int = answer.json()["total"]
    return total


# -- 1. refusals: every create route, in its dialect's envelope -------------------------------------------------


class Answer(Protocol):
    """An HTTP answer, from httpx or from the openai SDK's own copy of it (httpx2)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...
    def json(self) -> Any: ...


Send = Callable[[Server, str, str], Answer]  # (node, the caller's key, an image URL) -> the answer


def post(path: str, body: dict[str, Any]) -> Send:
    def send(srv: Server, secret: str, image: str) -> httpx.Response:
        with srv.client(secret) as http:
            return http.post(path, json={k: image if v == IMAGE else v for k, v in body.items()})

    return send


def ark_sdk(srv: Server, secret: str, image: str) -> Answer:
    with pytest.raises(ArkAPIStatusError) as refused:
        ark_client(srv, secret).content_generation.tasks.create(**SMALL)
    answer: Answer = refused.value.response
    return answer


def openai_sdk(srv: Server, secret: str, image: str) -> Answer:
    with pytest.raises(openai.APIStatusError) as refused:  # the SDK sends multipart
        openai_client(srv, secret).videos.create(model=PRO, prompt="a paper boat", seconds="4")
    return refused.value.response


@dataclass(frozen=True)
class Envelope:
    check: envelopes.Checker
    message: Callable[[Any], str]
    code: Callable[[Any], Any]


ARK = Envelope(envelopes.ark, lambda b: b["error"]["message"], lambda b: b["error"]["code"])
OPENAI = Envelope(envelopes.openai, lambda b: b["error"]["message"], lambda b: b["error"]["code"])
OPENROUTER = Envelope(
    envelopes.openrouter, lambda b: b["error"]["message"], lambda b: b["error"]["metadata"]["error_code"]
)
AIGENERATION = Envelope(envelopes.aigeneration, lambda b: b["message"], lambda b: b["code"])
MAXAPI = Envelope(envelopes.maxapi, lambda b: b["msg"], lambda b: b["code"])
JIMMYAI = Envelope(envelopes.jimmyai, lambda b: b["msg"], lambda b: b["code"])
MOONAPIX = Envelope(envelopes.moonapix, lambda b: b["error"]["message"], lambda b: b["error"]["code"])

JIMMY = "/api/open-api/v1/seedance/videos"
# (name, how it is sent, status, envelope, code) for a spend the budget cannot pay.
SPEND: list[tuple[str, Send, int, Envelope, Any]] = [
    ("ark sdk", ark_sdk, 429, ARK, "SetLimitExceeded"),
    ("3hei", post("/v1/videos", SMALL), 429, ARK, "SetLimitExceeded"),
    ("aigeneration", post("/api/AIGeneration/video/seedance/createTask", SMALL), 429, AIGENERATION, "SetLimitExceeded"),
    (
        "maxapi",
        post("/api/v1/task/submit", {"model": PRO, "input": {"prompt": "a paper boat", "duration": 2}}),
        429,
        MAXAPI,
        429,
    ),
    ("jimmyai manxue", post(JIMMY, {"model": "sd2_mx_720p", "prompt": "x", "duration": 4}), 429, JIMMYAI, "20002"),
    ("jimmyai sp", post(JIMMY, {"model": "seedance2.0-sp", "prompt": "x", "duration": 4}), 429, JIMMYAI, "20002"),
    ("jimmyai mini", post(JIMMY, {"model": "seedance2.0-mini", "prompt": "x", "duration": 4}), 429, JIMMYAI, "20002"),
    ("jimmyai md", post(JIMMY, {"model": "seedance2.0-md", "prompt": "x", "duration": 4}), 429, JIMMYAI, "20002"),
    (
        "jimmyai fast i2v",
        post(JIMMY, {"model": "seedance2.0-fast-i2v", "prompt": "x", "duration": 4, "first_image": IMAGE}),
        429,
        JIMMYAI,
        "20002",
    ),
    ("jimmyai std", post(JIMMY, {"model": "seedance2.0-std", "prompt": "x", "duration": 4}), 429, JIMMYAI, "20002"),
    ("jimmyai gz", post(JIMMY, {"model": "seedance2.0-gz-720p", "prompt": "x", "duration": 4}), 429, JIMMYAI, "20002"),
    ("jimmyai 933", post(JIMMY, {"model": "sd2-933-720p", "prompt": "x", "duration": 4}), 429, JIMMYAI, "20002"),
    (
        "jimmyai seedance25",
        post("/api/open-api/v1/seedance25/videos", {"model": "doubao-seedance-2-5-260628", "prompt": "x"}),
        429,
        JIMMYAI,
        "20002",
    ),
    (
        "moonapix",
        post("/v1/video/generations", {"model": "seedance-2.0-kz", "prompt": "x", "duration": 4, "resolution": "480p"}),
        429,
        MOONAPIX,
        "insufficient_quota",
    ),
    (
        "moonapix on /v1/videos",
        post("/v1/videos", {"model": "seedance-2.0-kz", "prompt": "x", "duration": 4, "resolution": "480p"}),
        429,
        MOONAPIX,
        "insufficient_quota",
    ),
    ("openai sdk", openai_sdk, 429, OPENAI, "insufficient_quota"),
    (
        "openai json",
        post("/v1/videos", {"model": PRO, "prompt": "x", "seconds": "4"}),
        429,
        OPENAI,
        "insufficient_quota",
    ),
    ("openrouter", post("/api/v1/videos", {"model": PRO, "prompt": "x"}), 402, OPENROUTER, "SetLimitExceeded"),
]


@pytest.fixture(scope="module")
def broke(node: Server) -> Team:
    return team(node, limit="0.01")  # every priced task costs more


@pytest.fixture(scope="module")
def image(media_server: MediaServer) -> str:
    return media_server.add("books-first.png", image_bytes(1280, 720))


def refused_as(answer: Answer, status: int, envelope: Envelope, code: Any, budget: str) -> str:
    """The answer is the refusal in its dialect's envelope, naming the budget; returns the message."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    envelope.check(body, status, answer.headers["x-request-id"])
    assert envelope.code(body) == code, body
    message = envelope.message(body)
    assert f"'{budget}'" in message, message
    return message


@pytest.mark.parametrize(("send", "status", "envelope", "code"), [c[1:] for c in SPEND], ids=[c[0] for c in SPEND])
def test_a_spend_the_budget_cannot_pay_is_refused_in_every_dialect(
    node: Server, broke: Team, image: str, send: Send, status: int, envelope: Envelope, code: Any
) -> None:
    message = refused_as(send(node, broke.secret, image), status, envelope, code, broke.name)
    assert "left of 0.01 CNY" in message, message
    assert ledger(node, broke) == [] and used(node, broke) == 0
    assert task_count(node, broke.secret) == 0


# The other limits, in the three envelopes docs/budgets.md names: Ark's, OpenAI's and OpenRouter's.
ARK_CREATE = post(TASKS, SMALL)
OPENAI_CREATE = post("/v1/videos", {"model": PRO, "prompt": "a paper boat", "seconds": "4"})
OPENROUTER_CREATE = post("/api/v1/videos", {"model": PRO, "prompt": "a paper boat"})


def test_a_create_past_max_queued_is_refused_and_stores_nothing(node: Server) -> None:
    t = team(node, limit="1000", max_queued=1)
    queued = ark_client(node, t.secret).content_generation.tasks.create(**SMALL).id  # no worker: it stays queued
    before = ledger(node, t)
    assert [(task, kind) for task, kind, _ in before] == [(queued, "reserve")]
    for create, envelope, status, code in (
        (ARK_CREATE, ARK, 429, "QuotaExceeded"),
        (OPENAI_CREATE, OPENAI, 429, "rate_limit_exceeded"),
        (OPENROUTER_CREATE, OPENROUTER, 429, "QuotaExceeded"),
    ):
        message = refused_as(create(node, t.secret, ""), status, envelope, code, t.name)
        assert "1 queued tasks" in message, message
        assert ledger(node, t) == before and task_count(node, t.secret) == 1


def test_a_model_the_budget_does_not_allow_is_refused_and_stores_nothing(node: Server) -> None:
    t = team(node, limit="1000", models=[V2])
    for create, envelope, code in (
        (ARK_CREATE, ARK, "AccessDenied"),
        (OPENAI_CREATE, OPENAI, "AccessDenied"),
        (OPENROUTER_CREATE, OPENROUTER, "AccessDenied"),
    ):
        message = refused_as(create(node, t.secret, ""), 403, envelope, code, t.name)
        assert PRO in message, message
    assert ledger(node, t) == [] and task_count(node, t.secret) == 0


# -- 2. delivered vs requested -------------------------------------------------------------------------------


def test_a_relayed_task_settles_on_the_tokens_the_upstream_reported(node: Server, standin: ArkStandin) -> None:
    t = team(node, limit="1000")
    body = {
        "model": RELAYED,
        "content": [{"type": "text", "text": "a paper boat"}],
        "resolution": "480p",
        "duration": 5,
    }
    client = ark_client(node, t.secret)
    task_id = client.content_generation.tasks.create(**body).id
    task = wait_status(lambda i: client.content_generation.tasks.get(task_id=i), task_id, timeout=60)
    assert task.status == "succeeded" and task.engine == "upstream:ark", task

    # What the upstream reported for its copy of the task (the stand-in's only one with this prompt).
    upstream = Ark(base_url=standin.base_url, api_key=UP_KEY, max_retries=0).content_generation.tasks
    copies = [upstream.get(task_id=i) for i in standin.task_ids]
    (reported,) = [c.usage.completion_tokens for c in copies if c.safety_identifier == f"sg-{task_id}"]

    catalog = load_catalog()
    spec, soft = ark_dialect.parse_create(body)
    plan = settle_geometry(validate(spec, catalog, soft), catalog)
    price = catalog.models[RELAYED].price
    assert price is not None
    reserved = estimate(plan, price)
    paid = charge(plan, price, Delivered(completion_tokens=reported))
    assert reported < (reserved.tokens or 0)  # it delivered 2 s of the 5 asked: the books must follow
    assert ledger(node, t) == [
        (task_id, "reserve", reserved.amount),
        (task_id, "settle", paid.amount - reserved.amount),
    ]
    assert used(node, t) == paid.amount
    assert task.usage.completion_tokens == reported
    with node.client(t.secret) as http:
        answer = http.get(f"{TASKS}/{task_id}").json()
    assert answer["cost"] == {"currency": "CNY", "amount": paid.amount / MICRO, "amount_micros": paid.amount}


# -- 3. expiry ----------------------------------------------------------------------------------------------------


def test_an_expired_task_is_refunded(node: Server) -> None:
    t = team(node, limit="1000")
    client = ark_client(node, t.secret)
    task_id = client.content_generation.tasks.create(**SMALL, execution_expires_after=3600).id
    (reserve,) = ledger(node, t)
    assert reserve[:2] == (task_id, "reserve") and used(node, t) == reserve[2] > 0
    # The shortest execution_expires_after is an hour: move the deadline instead (as tests/test_workers.py does);
    # the node's maintenance loop then expires the task, with no worker to run it.
    execute_sql(node, f"UPDATE tasks SET expires_at = 0 WHERE id = '{task_id}'")
    task = wait_status(lambda i: client.content_generation.tasks.get(task_id=i), task_id, ("expired",), timeout=30)
    assert task.error.code == "TaskExpired"
    assert ledger(node, t) == [reserve, (task_id, "refund", -reserve[2])]
    assert used(node, t) == 0


# -- 4. Idempotency-Key through the SDKs -----------------------------------------------------------------------


def test_an_idempotency_key_makes_one_ark_task_and_one_reservation(node: Server) -> None:
    t = team(node, limit="1000")
    tasks = ark_client(node, t.secret).content_generation.tasks
    key = {"Idempotency-Key": f"ark-{secrets.token_hex(4)}"}
    first = tasks.create(**SMALL, extra_headers=key).id
    assert tasks.create(**SMALL, extra_headers=key).id == first
    with pytest.raises(ArkAPIStatusError) as refused:
        tasks.create(**{**SMALL, "duration": 3}, extra_headers=key)
    answer = refused.value.response
    assert answer.status_code == 422
    body = answer.json()
    envelopes.ark(body, 422, answer.headers["x-request-id"])
    assert body["error"]["param"] == "Idempotency-Key" and "Idempotency-Key" in body["error"]["message"]
    assert [(task, kind) for task, kind, _ in ledger(node, t)] == [(first, "reserve")]
    assert task_count(node, t.secret) == 1


def test_an_idempotency_key_makes_one_openai_video_and_one_reservation(node: Server) -> None:
    t = team(node, limit="1000")
    videos = openai_client(node, t.secret).videos
    key = {"Idempotency-Key": f"openai-{secrets.token_hex(4)}"}
    first = videos.create(model=PRO, prompt="a paper boat", seconds="4", extra_headers=key).id
    assert videos.create(model=PRO, prompt="a paper boat", seconds="4", extra_headers=key).id == first
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        videos.create(model=PRO, prompt="a paper kite", seconds="4", extra_headers=key)
    answer = refused.value.response
    body = answer.json()
    envelopes.openai(body, 422, answer.headers["x-request-id"])
    assert body["error"]["param"] == "Idempotency-Key" and "Idempotency-Key" in body["error"]["message"]
    assert [(task, kind) for task, kind, _ in ledger(node, t)] == [(first, "reserve")]
    assert task_count(node, t.secret) == 1
