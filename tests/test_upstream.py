"""Upstream channels end to end: a gateway seedgate relays tasks to a second seedgate (the upstream, speaking the
Ark and OpenAI APIs) through TCP-level fault-injection proxies.

What each test shows: the task ends right, the upstream task was created once (counted by the marker seedgate
sends), and the result is served from the gateway's own storage.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from seedgate.upstream.relay import callback_path

from .conftest import (
    API_KEY,
    PG_ADMIN_URL,
    Database,
    MediaServer,
    Server,
    _pg_statement,
    execute_sql,
    free_port,
    start_process,
    start_server,
    wait_status,
)
from .fault_proxy import FaultProxy
from .media import image_bytes, inspect_video, video_bytes
from .waiting import wait_until

UP_KEY = "sk-upstream"
TASKS = "/api/v3/contents/generations/tasks"
SD2 = "doubao-seedance-2-0-260128"  # primary (callbacks) then backup (polled)
POLLED = "doubao-seedance-1-0-pro-250528"  # one polled channel with tight query limits
OPENAI = "doubao-seedance-1-0-pro-fast-251015"  # an OpenAI-style upstream (text and first frame)
OPENAI_ONLY = "doubao-seedance-1-5-pro-251215"  # also served only by the OpenAI-style upstream
PARKED = "doubao-seedance-2-0-fast-260128"  # an upstream with no workers: its tasks stay queued there
CREATE = r"/contents/generations/tasks$"


def channel(name: str, kind: str, base: str, models: dict[str, str], **options: Any) -> str:
    lines = [f'[[channel]]\nname = "{name}"\nkind = "{kind}"\nbase_url = "{base}"\nkey_env = "UP_KEY"']
    for key, value in options.items():
        lines.append(f"{key} = {str(value).lower() if isinstance(value, bool) else repr(value)}")
    lines.append("[channel.models]")
    lines += [f'"{k}" = "{v}"' for k, v in models.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(
        Database("sqlite", None),
        tmp_path_factory.mktemp("upstream") / "data",
        "--workers",
        "3",
        SEEDGATE_API_KEY=UP_KEY,
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def parked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(
        Database("sqlite", None), tmp_path_factory.mktemp("parked") / "data", "--workers", "0", SEEDGATE_API_KEY=UP_KEY
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def proxies(upstream: Server, parked: Server) -> Iterator[dict[str, FaultProxy]]:
    found = {name: FaultProxy(upstream.url) for name in ("primary", "backup", "polled", "openai")}
    found["parked"] = FaultProxy(parked.url)
    for proxy in found.values():
        proxy.start()
    yield found
    for proxy in found.values():
        proxy.stop()


@pytest.fixture(scope="module")
def gateway(
    database: Database, proxies: dict[str, FaultProxy], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("gateway") / "data"
    data.mkdir(parents=True)
    (data.parent / "channels.toml").write_text(
        channel(
            "primary",
            "seedgate",
            proxies["primary"].url,
            {SD2: SD2},
            priority=10,
            timeout=3,
            reconcile_seconds=4,
            poll_interval=20,
        )
        + channel(
            "backup", "seedgate", proxies["backup"].url, {SD2: SD2}, timeout=3, callbacks=False, poll_interval=0.3
        )
        + channel(
            "polled",
            "seedgate",
            proxies["polled"].url,
            {POLLED: POLLED},
            callbacks=False,
            poll_interval=0.2,
            query_rps=4,
            list_rps=1,
            list_batch=5,
            reconcile_seconds=3,
        )
        + channel(
            "openai",
            "openai-videos",
            proxies["openai"].url + "/v1",
            {OPENAI: POLLED, OPENAI_ONLY: POLLED},
            timeout=3,
            reconcile_seconds=4,
            poll_interval=0.3,
        )
        + channel(
            "parked", "seedgate", proxies["parked"].url, {PARKED: SD2}, callbacks=False, poll_interval=0.3, timeout=3
        )
    )
    port = free_port()
    srv = start_server(
        database,
        data,
        "--workers",
        "1",
        port=port,
        UP_KEY=UP_KEY,
        SEEDGATE_CHANNELS=str(data.parent / "channels.toml"),
        SEEDGATE_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def clean_proxies(proxies: dict[str, FaultProxy]) -> Iterator[None]:
    for proxy in proxies.values():
        proxy.reset_records()
    yield
    for proxy in proxies.values():
        proxy.clear_faults()
        proxy.clear_limits()


def create(gw: Server, model: str, text: str, *media: dict[str, Any], **options: Any) -> str:
    body = {"model": model, "content": [{"type": "text", "text": text}, *media], **options}
    with gw.client() as http:
        answer = http.post(TASKS, json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def task_of(gw: Server, task_id: str) -> dict[str, Any]:
    with gw.client() as http:
        return http.get(f"{TASKS}/{task_id}").json()


def finish(gw: Server, task_id: str, timeout: float = 60) -> dict[str, Any]:
    return wait_status(lambda i: task_of(gw, i), task_id, ("succeeded", "failed", "expired", "cancelled"), timeout)


def upstream_copies(upstream: Server, task_id: str) -> list[dict[str, Any]]:
    """The upstream's tasks that carry this gateway task's marker: how many times it was really created."""
    with upstream.client(UP_KEY) as http:
        items = http.get(TASKS, params={"page_size": 500}).json()["items"]
    return [t for t in items if t.get("safety_identifier") == f"sg-{task_id}"]


def video_of(gw: Server, task: dict[str, Any]) -> bytes:
    url = task["content"]["video_url"]
    assert url.startswith(gw.url + "/files/"), f"not re-hosted: {url}"
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200
    return answer.content


def succeeded_once(gw: Server, upstream: Server, task_id: str, channel_name: str) -> dict[str, Any]:
    task = finish(gw, task_id)
    assert task["status"] == "succeeded", task
    assert task["engine"] == f"upstream:{channel_name}"
    assert len(upstream_copies(upstream, task_id)) == 1
    return task


# -- the lifecycle per mode --------------------------------------------------------------------------------------


def test_text_to_video_is_relayed_and_rehosted(gateway: Server, upstream: Server) -> None:
    from volcenginesdkarkruntime import Ark

    ark = Ark(base_url=gateway.ark_base, api_key=API_KEY, max_retries=0)
    created = ark.content_generation.tasks.create(
        model=SD2,
        content=[{"type": "text", "text": "一只猫在打哈欠 --rs 480p --rt 16:9 --dur 4"}],
        return_last_frame=True,
    )
    task = succeeded_once(gateway, upstream, created.id, "primary")
    facts = inspect_video(video_of(gateway, task))
    assert (facts.width, facts.height, facts.frames) == (864, 496, 97)
    assert task["content"]["last_frame_url"].startswith(gateway.url)
    assert task["usage"]["completion_tokens"] > 0
    got = ark.content_generation.tasks.get(task_id=created.id)
    assert got.status == "succeeded" and got.duration == 4


def test_first_frame_from_data_url_and_last_frame_by_url(
    gateway: Server, upstream: Server, media_server: MediaServer
) -> None:
    first = "data:image/png;base64," + base64.b64encode(image_bytes(640, 480)).decode()
    last = media_server.add("up-last.png", image_bytes(640, 480, (10, 200, 90)))
    task_id = create(
        gateway,
        SD2,
        "a door opens",
        {"type": "image_url", "image_url": {"url": first}, "role": "first_frame"},
        {"type": "image_url", "image_url": {"url": last}, "role": "last_frame"},
        resolution="480p",
        duration=4,
    )
    task = succeeded_once(gateway, upstream, task_id, "primary")
    facts = inspect_video(video_of(gateway, task))
    assert (facts.width, facts.height) == (752, 560)  # adaptive: 4:3 from the first frame


def test_reference_video_travels_as_a_signed_gateway_link(gateway: Server, upstream: Server, tmp_path: Path) -> None:
    clip = video_bytes(tmp_path / "ref.mp4", 640, 640, seconds=3)
    with gateway.client() as http:
        asset = http.post("/v1/assets", files={"file": ("ref.mp4", clip, "video/mp4")}).json()
        wait_until(
            lambda: http.get(f"/v1/assets/{asset['id']}").json(),
            "the reference video's audit",
            until=lambda a: a["status"] != "processing",
            interval=0.2,
        )
    task_id = create(
        gateway,
        SD2,
        "match the motion",
        {"type": "video_url", "video_url": {"url": f"asset://{asset['id']}"}, "role": "reference_video"},
        resolution="480p",
        ratio="1:1",
        duration=4,
    )
    task = succeeded_once(gateway, upstream, task_id, "primary")
    assert inspect_video(video_of(gateway, task)).width == 640


def test_openai_style_upstream_with_an_uploaded_first_frame(
    gateway: Server, upstream: Server, proxies: dict[str, FaultProxy]
) -> None:
    first = "data:image/png;base64," + base64.b64encode(image_bytes(864, 480)).decode()
    task_id = create(
        gateway,
        OPENAI,
        "waves roll in",
        {"type": "image_url", "image_url": {"url": first}},
        resolution="480p",
        duration=4,
    )
    task = finish(gateway, task_id)
    assert task["status"] == "succeeded" and task["engine"] == "upstream:openai"
    assert inspect_video(video_of(gateway, task)).frames == 97
    assert proxies["openai"].count("GET", r"/v1/videos/[^/]+/content$") == 1


def test_modes_an_openai_upstream_cannot_take_are_refused_at_create(gateway: Server, media_server: MediaServer) -> None:
    image = media_server.add("oa.png", image_bytes(640, 480))
    with gateway.client() as http:
        answer = http.post(
            TASKS,
            json={
                "model": OPENAI_ONLY,
                "content": [
                    {"type": "text", "text": "x"},
                    {"type": "image_url", "image_url": {"url": image}, "role": "first_frame"},
                    {"type": "image_url", "image_url": {"url": image}, "role": "last_frame"},
                ],
            },
        )
    # The model itself takes a last frame; the only channel serving it cannot.
    assert answer.status_code == 400, answer.text
    assert "text and first-frame tasks only" in answer.json()["error"]["message"]


# -- faults between the gateway and the upstream -------------------------------------------------------------------


def test_429_moves_the_task_to_the_next_channel(
    gateway: Server, upstream: Server, proxies: dict[str, FaultProxy]
) -> None:
    proxies["primary"].add_fault("POST", CREATE, "status", status=429)
    task_id = create(gateway, SD2, "busy primary", resolution="480p", duration=4)
    succeeded_once(gateway, upstream, task_id, "backup")


def test_connection_refused_moves_the_task_to_the_next_channel(
    gateway: Server, upstream: Server, proxies: dict[str, FaultProxy]
) -> None:
    proxies["primary"].pause()
    try:
        task_id = create(gateway, SD2, "primary is down", resolution="480p", duration=4)
        succeeded_once(gateway, upstream, task_id, "backup")
    finally:
        proxies["primary"].resume()


@pytest.mark.slow
def test_500_before_acceptance_is_looked_up_then_sent_elsewhere(
    gateway: Server, upstream: Server, proxies: dict[str, FaultProxy]
) -> None:
    proxies["primary"].add_fault("POST", CREATE, "status", status=500)
    task_id = create(gateway, SD2, "primary fails inside", resolution="480p", duration=4)
    succeeded_once(gateway, upstream, task_id, "backup")
    assert proxies["primary"].count_forwarded("POST", CREATE) == 0


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["status_after_forward", "drop_after_forward", "hang_after_forward"])
def test_an_accepted_create_without_a_clear_answer_is_found_not_resent(
    fault: str, gateway: Server, upstream: Server, proxies: dict[str, FaultProxy]
) -> None:
    proxies["primary"].add_fault("POST", CREATE, fault, status=502, hang_s=20)
    task_id = create(gateway, SD2, f"accepted, then {fault}", resolution="480p", duration=4)
    succeeded_once(gateway, upstream, task_id, "primary")


@pytest.mark.slow
def test_a_dropped_request_that_never_arrived_is_sent_elsewhere_after_the_lookup_window(
    gateway: Server, upstream: Server, proxies: dict[str, FaultProxy]
) -> None:
    proxies["primary"].add_fault("POST", CREATE, "refuse")
    task_id = create(gateway, SD2, "lost on the way", resolution="480p", duration=4)
    succeeded_once(gateway, upstream, task_id, "backup")
    assert proxies["primary"].count_forwarded("POST", CREATE) == 0


@pytest.mark.slow
def test_a_slow_upstream_still_finishes(gateway: Server, upstream: Server, proxies: dict[str, FaultProxy]) -> None:
    proxies["backup"].add_fault("GET", r"/tasks", "delay", times=None, seconds=1.5)
    proxies["primary"].add_fault("POST", CREATE, "status", status=429)
    task_id = create(gateway, SD2, "slow polls", resolution="480p", duration=4)
    succeeded_once(gateway, upstream, task_id, "backup")


def test_a_bad_request_fails_the_task_with_the_upstream_code(
    gateway: Server, upstream: Server, proxies: dict[str, FaultProxy]
) -> None:
    body = {
        "error": {
            "code": "InputTextSensitiveContentDetected",
            "message": "The request failed because the input text may contain sensitive information.",
            "param": "",
            "type": "BadRequest",
        }
    }
    proxies["primary"].add_fault("POST", CREATE, "status", status=400, body=body)
    task = finish(gateway, create(gateway, SD2, "refused text", resolution="480p", duration=4))
    assert task["status"] == "failed"
    assert task["error"]["code"] == "InputTextSensitiveContentDetected"
    assert proxies["backup"].count("POST", CREATE) == 0


@pytest.mark.slow
@pytest.mark.parametrize(("word", "expected"), [("failed", "failed"), ("expired", "expired")])
def test_an_upstream_task_that_ends_badly_ends_the_same_here(
    word: str, expected: str, gateway: Server, proxies: dict[str, FaultProxy]
) -> None:
    proxies["primary"].add_fault("POST", CREATE, "status", status=429)
    ended = {
        "id": "x",
        "model": SD2,
        "status": word,
        "created_at": 1,
        "updated_at": 2,
        "error": {"code": "OutputVideoSensitiveContentDetected", "message": "the output video was refused"},
    }
    proxies["backup"].add_fault("GET", r"/tasks/[^/]+$", "status", times=None, status=200, body=ended)
    proxies["backup"].add_fault(
        "GET", r"/tasks$", "status", times=None, status=200, body={"total": 1, "items": [ended]}
    )
    task = finish(gateway, create(gateway, SD2, f"upstream {word}", resolution="480p", duration=4))
    assert task["status"] == expected
    assert task["error"]["code"] == "OutputVideoSensitiveContentDetected"


@pytest.mark.slow
def test_a_task_the_upstream_forgot_fails_with_a_clear_reason(gateway: Server, proxies: dict[str, FaultProxy]) -> None:
    proxies["polled"].add_fault(
        "GET",
        r"/tasks",
        "status",
        times=None,
        status=404,
        body={"error": {"code": "ResourceNotFound", "message": "not found"}},
    )
    task = finish(gateway, create(gateway, POLLED, "forgotten upstream", resolution="480p", duration=2))
    assert task["status"] == "failed"
    assert task["error"]["code"] == "UpstreamTaskLost" and "no longer knows" in task["error"]["message"]


@pytest.mark.slow
def test_query_limits_are_respected_with_batched_polls(
    gateway: Server, upstream: Server, proxies: dict[str, FaultProxy]
) -> None:
    proxy = proxies["polled"]
    proxy.limit("GET", r"/tasks/[^/]+$", per_second=4)
    proxy.limit("GET", r"/tasks$", per_second=1)
    ids = [create(gateway, POLLED, f"batch {i}", resolution="480p", duration=2) for i in range(12)]
    for task_id in ids:
        succeeded_once(gateway, upstream, task_id, "polled")
    assert proxy.count_limited() == 0
    assert proxy.count("GET", r"/tasks$") > 0  # many tasks due at once were read with list calls


@pytest.mark.slow
def test_openai_create_without_an_answer_is_recognised_by_what_it_asked(
    gateway: Server, upstream: Server, proxies: dict[str, FaultProxy]
) -> None:
    proxies["openai"].add_fault("POST", r"/v1/videos$", "drop_after_forward")
    task = finish(
        gateway, create(gateway, OPENAI, f"unique prompt {secrets.token_hex(4)}", resolution="480p", duration=4)
    )
    assert task["status"] == "succeeded"
    assert proxies["openai"].count_forwarded("POST", r"/v1/videos$") == 1


def test_callbacks_finish_tasks_between_polls(
    gateway: Server, upstream: Server, proxies: dict[str, FaultProxy]
) -> None:
    # primary polls only every 20 s when callbacks are on; the upstream's callbacks make the gateway look at once.
    task_id = create(gateway, SD2, "called back", resolution="480p", duration=4)
    succeeded_once(gateway, upstream, task_id, "primary")
    # The upstream called the gateway back about the final status, and the gateway took the call (a 2xx answer) ...
    [copy] = upstream_copies(upstream, task_id)
    with upstream.client(UP_KEY) as http:
        hooks = http.get(f"/console/api/tasks/{copy['id']}").json()["webhooks"]
    assert [h["payload"]["status"] for h in hooks] == ["queued", "running", "succeeded"], hooks
    assert all(h["status"] == "delivered" and callback_path(task_id) in h["url"] for h in hooks), hooks
    # ... and looked the task up at the upstream because of it.
    assert proxies["primary"].count("GET", r"/tasks/") >= 1


def test_cancel_and_delete_are_forwarded(gateway: Server, upstream: Server, parked: Server) -> None:
    task_id = create(gateway, PARKED, "waits upstream", resolution="480p", duration=4)
    wait_until(lambda: upstream_copies(parked, task_id), f"{task_id}'s copy at the upstream")
    with gateway.client() as http:
        assert http.delete(f"{TASKS}/{task_id}").status_code == 200
    assert task_of(gateway, task_id)["status"] == "cancelled"
    assert upstream_copies(parked, task_id)[0]["status"] == "cancelled"

    done = create(gateway, SD2, "to be deleted", resolution="480p", duration=4)
    succeeded_once(gateway, upstream, done, "primary")
    with gateway.client() as http:
        assert http.delete(f"{TASKS}/{done}").status_code == 200
    assert upstream_copies(upstream, done) == []  # deleted upstream too


@pytest.mark.slow
def test_a_task_that_ends_during_an_unclear_create_is_cancelled_upstream(
    gateway: Server, parked: Server, proxies: dict[str, FaultProxy]
) -> None:
    # The create reaches the upstream (which queues it) but its answer never comes back; meanwhile the task
    # expires here. Nobody would follow the upstream copy, so the relay looks it up once and cancels it.
    proxies["parked"].add_fault("POST", CREATE, "hang_after_forward", hang_s=30)
    task_id = create(gateway, PARKED, "expires while its create hangs", resolution="480p", duration=4)
    wait_until(lambda: upstream_copies(parked, task_id), f"{task_id}'s copy at the upstream")
    execute_sql(gateway, f"UPDATE tasks SET expires_at = 0 WHERE id = '{task_id}'")
    assert finish(gateway, task_id)["status"] == "expired"
    copies = wait_until(
        lambda: upstream_copies(parked, task_id),
        f"{task_id}'s upstream copy to be cancelled",
        until=lambda c: not c or c[0]["status"] == "cancelled",
        interval=0.2,
    )
    assert len(copies) == 1


# -- restart and crash -------------------------------------------------------------------------------------------


def _fresh_database(database: Database) -> tuple[Database, str | None]:
    if database.kind == "sqlite":
        return Database("sqlite", None), None
    name = f"seedgate_test_{secrets.token_hex(6)}"
    _pg_statement(f'CREATE DATABASE "{name}"')
    return Database("postgres", f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"), name


@pytest.mark.slow
def test_restart_and_crash_mid_flight_lose_nothing_and_send_nothing_twice(database: Database, tmp_path: Path) -> None:
    # The upstream has no workers at first: every task stays queued there while the gateway dies and comes back.
    parked = start_server(
        Database("sqlite", None), tmp_path / "parked" / "data", "--workers", "0", SEEDGATE_API_KEY=UP_KEY
    )
    proxy = FaultProxy(parked.url)
    proxy.start()
    db, pg_name = _fresh_database(database)
    data = tmp_path / "gw" / "data"
    data.mkdir(parents=True)
    (tmp_path / "gw" / "channels.toml").write_text(
        channel(
            "parked",
            "seedgate",
            proxy.url,
            {SD2: SD2},
            timeout=3,
            reconcile_seconds=4,
            poll_interval=0.3,
            callbacks=False,
        )
    )
    port = free_port()
    env = dict(UP_KEY=UP_KEY, SEEDGATE_CHANNELS=str(tmp_path / "gw" / "channels.toml"), SEEDGATE_LEASE_SECONDS="3")
    gw = start_server(db, data, "--workers", "0", port=port, **env)
    worker = None
    try:
        ids = [create(gw, SD2, f"survivor {i}", resolution="480p", duration=4) for i in range(3)]
        wait_until(lambda: proxy.count_forwarded("POST", CREATE) >= 3, "three creates forwarded upstream")
        gw.stop()  # a clean restart
        gw = start_server(db, data, "--workers", "0", port=port, **env)
        proxy.add_fault("POST", CREATE, "hang_after_forward", hang_s=30)
        ids.append(create(gw, SD2, "sent while the gateway dies", resolution="480p", duration=4))
        wait_until(lambda: proxy.count_forwarded("POST", CREATE) >= 4, "the fourth create forwarded", interval=0.05)
        gw.stop(signal.SIGKILL)  # a crash with a create in the air
        gw = start_server(db, data, "--workers", "0", port=port, **env)
        worker = start_process(["worker", "--concurrency", "2"], parked.env, tmp_path / "parked-worker.log")
        for task_id in ids:
            task = finish(gw, task_id, timeout=90)
            assert task["status"] == "succeeded", (task, gw.log()[-3000:])
            assert len(upstream_copies(parked, task_id)) == 1
            assert inspect_video(video_of(gw, task)).frames == 97
        assert proxy.count_forwarded("POST", CREATE) == 4
        assert "after an unclear create" in gw.log()
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=40)
        gw.stop()
        parked.stop()
        proxy.stop()
        if pg_name:
            _pg_statement(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


# -- configuration and the check command ----------------------------------------------------------------------------


def test_channels_check_reports_each_channel(gateway: Server, upstream: Server, tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "check.toml"
    path.write_text(
        channel("good", "seedgate", upstream.url, {SD2: SD2})
        + channel("down", "seedgate", f"http://127.0.0.1:{free_port()}", {POLLED: POLLED})
    )
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SEEDGATE_")}, "UP_KEY": UP_KEY}
    run = subprocess.run(
        [sys.executable, "-m", "seedgate.cli", "channels", "check", "--file", str(path), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1, run.stderr
    import json

    reports = {r["channel"]: r for r in json.loads(run.stdout)}
    assert reports["good"]["ok"] and reports["good"]["models"] == {SD2: "listed"}
    assert not reports["down"]["ok"] and "no answer" in reports["down"]["detail"]
    wrong_key = subprocess.run(
        [sys.executable, "-m", "seedgate.cli", "channels", "check", "--file", str(path)],
        env={**env, "UP_KEY": "sk-wrong"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong_key.returncode == 1 and "refused" in wrong_key.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[channel]]\nname = "a"\nkind = "nope"\nkey_env = "K"\nmodels = ["seedance-2.0"]', "`kind` must be one of"),
        (
            '[[channel]]\nname = "a"\nkind = "ark-byteplus"\nkey_env = "K"\nmodels = ["no-such-model"]',
            "not in the catalog",
        ),
        ('[[channel]]\nname = "a"\nkind = "ark-byteplus"\nmodels = ["seedance-2.0"]', "`key_env` must name"),
        ('[[channel]]\nname = "a"\nkind = "seedgate"\nkey_env = "K"\nmodels = ["seedance-2.0"]', "`base_url` must be"),
    ],
)
def test_channel_file_mistakes_are_named(text: str, message: str, tmp_path: Path) -> None:
    from seedgate.core.catalog import load_catalog
    from seedgate.upstream.channels import ChannelError, load_channels

    path = tmp_path / "channels.toml"
    path.write_text(text)
    with pytest.raises(ChannelError, match=re.escape(message)):
        load_channels(path, load_catalog())


def test_channel_defaults_and_routing(tmp_path: Path) -> None:
    from seedgate.core.catalog import load_catalog
    from seedgate.runtime import route_to_channels
    from seedgate.upstream.channels import load_channels

    path = tmp_path / "channels.toml"
    path.write_text(
        '[[channel]]\nname = "ark"\nkind = "ark-volcengine"\nkey_env = "ARK_KEY"\n'
        'models = { "seedance-2.0" = "ep-20260101-abc" }\n'
        '[[channel]]\nname = "bp"\nkind = "ark-byteplus"\nkey_env = "BP_KEY"\npriority = 5\n'
        'models = ["doubao-seedance-2-0-260128"]\n'
    )
    catalog = load_catalog()
    channels = load_channels(path, catalog)
    ark = channels.get("ark")
    assert ark is not None and ark.base_url == "https://ark.cn-beijing.volces.com/api/v3"
    assert (ark.query_rps, ark.list_rps) == (20.0, 1.0)
    assert ark.models == {SD2: "ep-20260101-abc"}
    assert [c.name for c in channels.serving(SD2)] == ["bp", "ark"]
    assert "ARK_KEY" in repr(ark) and "Bearer" not in repr(ark)
    route_to_channels(catalog, channels)
    assert catalog.models[SD2].engine == "upstream" and catalog.models[POLLED].engine == "preview"
