"""The `seedgate` command: serve, worker, keys, models, migrate, channels; the user commands that talk to a
server (submit, status, wait, download, assets) live in cli_remote.py.

`main` is the entry point: it shows plain help (no `<bool>` type tags) and turns every failure into one error line
with the exit codes cli_remote.py lists (a traceback only with SEEDGATE_LOG_LEVEL=DEBUG).
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer
from rich.console import Console
from rich.table import Table

from seedgate import __version__
from seedgate.cli_remote import (
    EXIT_SERVER,
    EXIT_USAGE,
    AsJson,
    Key,
    Url,
    check_url,
    err,
    error_line,
    fail,
    register,
    remote_models,
)
from seedgate.client import ConnectionFailed, SeedgateError
from seedgate.config import Settings
from seedgate.logs import setup_logging

app = typer.Typer(
    help="seedgate: a self-hosted, Seedance-compatible video generation server.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
budgets_app = typer.Typer(help="Budgets and limits shared by the keys linked to them.", no_args_is_help=True)
app.add_typer(budgets_app, name="budgets")
channels_app = typer.Typer(help="Upstream channels (SEEDGATE_CHANNELS; see docs/upstreams.md).", no_args_is_help=True)
app.add_typer(channels_app, name="channels")
console = Console(soft_wrap=True)
log = logging.getLogger("seedgate")
T = TypeVar("T")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"seedgate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit")
    ] = False,
) -> None:
    """seedgate: a self-hosted, Seedance-compatible video generation server."""


DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Where the database, inputs and results live (env SEEDGATE_DATA_DIR, default ./data)"
    ),
]


def _settings(**overrides: object) -> Settings:
    from seedgate.media.objects import ObjectStore

    try:
        settings = Settings.from_env(**overrides)
        if settings.storage_url:  # a bad URL or endpoint is one line now, not a failed start-up later
            ObjectStore.from_url(settings.storage_url)
    except ValueError as exc:
        error_line(f"configuration: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    setup_logging(settings.log_level, settings.log_format)
    return settings


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8000)")] = None,
    data_dir: DataDir = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", help="In-process render slots; 0 makes an API-only node (env SEEDGATE_WORKERS, default 1)"
        ),
    ] = None,
) -> None:
    """Run the API server (with in-process workers by default)."""
    import uvicorn

    from seedgate.api.app import create_app

    settings = _settings(host=host, port=port, data_dir=data_dir, workers=workers)
    # Bind before anything else: a taken port is one error line, before any "listening" log or worker starts.
    sock = _bind(settings.host, settings.port)
    if settings.api_key is None:
        asyncio.run(_first_run_key(settings))
    log.info("seedgate listening on http://%s:%d (Ark API at /api/v3, docs at /docs)", settings.host, settings.port)
    log.info("the preview engine draws stand-in videos; it is not a generative model")
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=settings.log_level == "DEBUG",
        timeout_graceful_shutdown=35,
    )
    uvicorn.Server(config).run(sockets=[sock])


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or exit 3 with one line (e.g. the port is taken)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        error_line(f"cannot listen on {host}:{port}: {exc}")
        raise typer.Exit(EXIT_SERVER) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        hint = (
            " (another server is using it: stop it, or pick another port with --port N)"
            if exc.errno == errno.EADDRINUSE
            else ""
        )
        error_line(f"cannot listen on {host}:{port}: {exc}{hint}")
        raise typer.Exit(EXIT_SERVER) from None
    sock.set_inheritable(True)
    return sock


async def _first_run_key(settings: Settings) -> None:
    """With no SEEDGATE_API_KEY and no keys yet, make one admin key so a new user is never locked out."""
    from seedgate.store.store import Store
    from seedgate.tasks.keys import create_key

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.db_url)
    try:
        await store.migrate()
        if await store.list_keys():
            return
        _, secret = await create_key(store, "first-run admin", admin=True)
        key_file = settings.data_dir / "admin-key.txt"
        key_file.write_text(secret + "\n")
        key_file.chmod(0o600)
        log.warning("no SEEDGATE_API_KEY set: created an admin key, saved in %s: %s", key_file, secret)
    finally:
        await store.close()


@app.command()
def worker(
    data_dir: DataDir = None,
    concurrency: Annotated[int, typer.Option(help="Tasks rendered at once by this process")] = 1,
) -> None:
    """Run render workers alone against the shared database (scale them apart from API nodes)."""
    settings = _settings(data_dir=data_dir)
    asyncio.run(_run_worker(settings, concurrency))


async def _run_worker(settings: Settings, concurrency: int) -> None:
    from seedgate.runtime import start_runtime

    runtime = await start_runtime(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start_background(concurrency)
    await stop.wait()
    log.info("stopping: finishing running tasks (up to 30 s), then giving the rest back")
    await runtime.close()


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Apply database migrations and exit (serve and worker also do this at start)."""
    from seedgate.store.store import Store

    settings = _settings(data_dir=data_dir)

    async def run() -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = Store(settings.db_url)
        await store.migrate()
        await store.close()

    asyncio.run(run())
    console.print("[green]database is up to date[/green]")


@app.command()
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    remote: Annotated[
        bool,
        typer.Option("--remote", help="Ask the server at --url (GET /v1/models) instead of reading the local catalog"),
    ] = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """List the models in the catalog and what each can do (a server's, with --remote)."""
    from seedgate.core.catalog import load_catalog

    if remote:
        summaries = remote_models(url, key)
    else:
        summaries = [m.summary() for m in load_catalog(Settings.from_env().catalog_path).models.values()]
    if as_json:
        typer.echo(json.dumps(summaries, indent=2))
        return
    table = Table("model", "modes", "resolutions", "duration", "audio", "draft", "engine")
    for m in summaries:
        seconds = f"{m['duration']['min']}-{m['duration']['max']}" + (" or -1" if m["duration"].get("auto") else "")
        table.add_row(
            m["id"],
            ", ".join(m["modes"]),
            ", ".join(m["resolutions"]),
            seconds,
            "yes" if m["audio"] else "no",
            "yes" if m["draft"] else "no",
            m["engine"],
        )
    console.print(table)


# -- keys: over HTTP against a running server (admin key), or in the local database to bootstrap -----------------

KeysUrl = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="SEEDGATE_URL",
        show_envvar=True,
        help="Manage the keys of the server at this URL over HTTP, with an admin --key (instead of a local database)",
    ),
]
Remote = Annotated[bool, typer.Option("--remote", help="Over HTTP, at --url (default http://127.0.0.1:8000)")]
KeysDataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="The local database's data directory (bootstrapping without a server) "
        "(env SEEDGATE_DATA_DIR, default ./data)",
    ),
]


def _over_http(remote: bool, url: str | None, data_dir: Path | None) -> bool:
    # An explicit --data-dir means the local database even when SEEDGATE_URL is set for the user commands.
    return data_dir is None and (remote or url is not None)


def _admin_call(url: str | None, key: str | None, method: str, path: str, body: Any = None) -> Any:
    """One call to the server's admin key routes (the console's JSON API); errors end the command in one line."""
    import httpx

    from seedgate.client.core import headers, parse_response, settings

    try:
        check_url(url)
        base, api_key = settings(url, key)
        try:
            answer = httpx.request(method, base + path, json=body, headers=headers(api_key), timeout=30)
        except httpx.HTTPError as exc:
            raise ConnectionFailed(f"cannot reach {base}: {exc}") from None
        return parse_response(answer.status_code, answer.content)
    except SeedgateError as exc:
        raise fail(exc) from None


def _local_store(data_dir: Path | None, create: bool | None) -> Settings:
    """Settings whose database exists (or may be created), or exit 2 with a hint naming the ways out."""
    settings = _settings(data_dir=data_dir)
    if settings.database_url is None:
        db_file = settings.data_dir / "seedgate.db"
        if not db_file.is_file() and not create:
            more = "; or --create to start a new database there" if create is not None else ""
            error_line(
                f"no seedgate database at {db_file.resolve()}: pass --data-dir (the server's data directory), "
                f"or manage a running server's keys with --url URL --key ADMIN_KEY{more}"
            )
            raise typer.Exit(EXIT_USAGE)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def _with_store(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(store)` on a migrated local database; a database that cannot be opened is one line, exit 3."""
    # A key command prints its answer, not alembic's set-up chatter (logged as the store module is imported).
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from seedgate.store.store import Store

    async def run() -> T:
        store = Store(settings.db_url)
        try:
            await store.migrate()
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:
        cause = getattr(exc, "orig", None) or exc
        where = settings.data_dir.resolve() if settings.database_url is None else "SEEDGATE_DATABASE_URL"
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        error_line(f"cannot open the database ({where}): {first}")
        raise typer.Exit(EXIT_SERVER) from None


def _keys_table(rows: list[dict[str, Any]]) -> Table:
    table = Table("id", "name", "admin", "revoked")
    for key in rows:
        table.add_row(key["id"], key["name"], "yes" if key["admin"] else "", "yes" if key["revoked_at"] else "")
    return table


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="A label for the key")] = "default",
    admin: Annotated[bool, typer.Option("--admin", help="Admin keys may manage keys")] = False,
    create: Annotated[bool, typer.Option("--create", help="Start a new local database if there is none")] = False,
    data_dir: KeysDataDir = None,
    remote: Remote = False,
    url: KeysUrl = None,
    key: Key = None,
) -> None:
    """Create an API key and print its secret (shown only once).

    With --url (or --remote) the running server makes it (needs an admin --key); otherwise the local database does.
    """
    if _over_http(remote, url, data_dir):
        made = _admin_call(url, key, "POST", "/console/api/keys", {"name": name, "admin": admin})
        key_id, secret = made["id"], made["secret"]
    else:
        from seedgate.tasks.keys import create_key

        async def work(store: Any) -> tuple[str, str]:
            made, secret = await create_key(store, name, admin=admin)
            return made.id, secret

        key_id, secret = _with_store(_local_store(data_dir, create), work)
    err.print(f"[green]created[/green] {key_id} ({name}{', admin' if admin else ''})", highlight=False)
    typer.echo(secret)


@keys_app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    data_dir: KeysDataDir = None,
    remote: Remote = False,
    url: KeysUrl = None,
    key: Key = None,
) -> None:
    """List API keys (secrets are never shown again)."""
    if _over_http(remote, url, data_dir):
        rows = _admin_call(url, key, "GET", "/console/api/keys")["items"]
    else:

        async def work(store: Any) -> list[dict[str, Any]]:
            return [
                {"id": k.id, "name": k.name, "admin": k.admin, "created_at": k.created_at, "revoked_at": k.revoked_at}
                for k in await store.list_keys()
            ]

        rows = _with_store(_local_store(data_dir, None), work)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        console.print(_keys_table(rows))


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (key_...), from `seedgate keys list`")],
    data_dir: KeysDataDir = None,
    remote: Remote = False,
    url: KeysUrl = None,
    key: Key = None,
) -> None:
    """Revoke an API key by its id (key_...)."""
    if _over_http(remote, url, data_dir):
        _admin_call(url, key, "DELETE", f"/console/api/keys/{key_id}")
    else:

        async def work(store: Any) -> bool:
            return bool(await store.revoke_key(key_id))

        if not _with_store(_local_store(data_dir, None), work):
            error_line(f"no active key {key_id}")
            raise typer.Exit(1)
    console.print(f"revoked {key_id}")


# -- budgets ------------------------------------------------------------------------------------------------------

BudgetName = Annotated[str, typer.Argument(help="The budget's name or id")]
Limit = Annotated[
    str | None, typer.Option(help="Per period, in the unit (money: a decimal amount; tokens: a whole number)")
]
Period = Annotated[str | None, typer.Option(help="Reset every day, week or month (UTC); default: never")]
Models = Annotated[str | None, typer.Option(help="Allowed model IDs, comma-separated; default: any")]
Rpm = Annotated[int | None, typer.Option("--rpm", help="Creates per minute")]
MaxQueued = Annotated[int | None, typer.Option(help="Tasks queued at once (Ark answers 429 beyond 120)")]
MaxRunning = Annotated[int | None, typer.Option(help="Tasks running at once")]
ExpiresInDays = Annotated[float | None, typer.Option(help="Refuse creates after this many days from now")]


def _budget_body(
    limit: str | None,
    period: str | None,
    models: str | None,
    rpm: int | None,
    max_queued: int | None,
    max_running: int | None,
    expires_in_days: float | None,
) -> dict[str, Any]:
    """The given options as the budget fields /v1/budgets takes (omitted options stay as they are)."""
    body: dict[str, Any] = {}
    if limit is not None:
        body["limit"] = int(limit) if limit.isdigit() else limit
    if period is not None:
        body["period"] = None if period == "never" else period
    if models is not None:
        body["models"] = [m.strip() for m in models.split(",") if m.strip()] or None
    body.update({k: v for k, v in (("rpm", rpm), ("max_queued", max_queued), ("max_running", max_running)) if v})
    if expires_in_days is not None:
        body["expires_at"] = time.time() + expires_in_days * 86400
    return body


def _budgets(
    data_dir: Path | None,
    remote: bool,
    url: str | None,
    key: str | None,
    call: tuple[str, str, Any],
    local: Callable[[Any], Awaitable[Any]],
) -> Any:
    """Run a budget command on a running server (`call`: method, path under /v1/budgets, body) or on the local
    database (`local(admin)` with a tasks.budgets.BudgetAdmin); both answer the API's JSON."""
    if _over_http(remote, url, data_dir):
        method, path, body = call
        return _admin_call(url, key, method, "/v1/budgets" + path, body)
    from seedgate.core.errors import ApiError
    from seedgate.tasks.budgets import BudgetAdmin

    async def work(store: Any) -> Any:
        try:
            return await local(BudgetAdmin(store))
        except ApiError as exc:
            error_line(f"{exc.param + ': ' if exc.param and exc.param not in exc.message else ''}{exc.message}")
            raise typer.Exit(EXIT_USAGE if exc.status < 500 else EXIT_SERVER) from None

    return _with_store(_local_store(data_dir, None), work)


def _show_budgets(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table("name", "unit", "used", "limit", "period", "rpm", "queued", "models", "keys")
    for b in rows:
        limit = "none" if b["limit"] is None else str(b["limit"])
        models = ", ".join(b["models"]) if b["models"] else "any"
        keys = ", ".join(b.get("keys") or [])
        table.add_row(
            b["name"],
            b["unit"],
            str(b["used"]),
            limit,
            b["period"] or "-",
            str(b["rpm"] or "-"),
            str(b["max_queued"] or "-"),
            models,
            keys,
        )
    console.print(table)


@budgets_app.command("create")
def budgets_create(
    name: Annotated[str, typer.Argument(help="A unique name (a project, a team, a user)")],
    unit: Annotated[str, typer.Option(help='"tokens", or the currency the models are priced in (CNY, USD)')] = "tokens",
    limit: Limit = None,
    period: Period = None,
    models: Models = None,
    rpm: Rpm = None,
    max_queued: MaxQueued = None,
    max_running: MaxRunning = None,
    expires_in_days: ExpiresInDays = None,
    as_json: AsJson = False,
    data_dir: KeysDataDir = None,
    remote: Remote = False,
    url: KeysUrl = None,
    key: Key = None,
) -> None:
    """Create a budget; link keys to it with `seedgate budgets link`."""
    from seedgate.tasks.budgets import budget_json

    body = {
        "name": name,
        "unit": unit,
        **_budget_body(limit, period, models, rpm, max_queued, max_running, expires_in_days),
    }

    async def local(admin: Any) -> Any:
        return budget_json(await admin.create(body), [])

    _show_budgets([_budgets(data_dir, remote, url, key, ("POST", "", body), local)], as_json)


@budgets_app.command("update")
def budgets_update(
    name: BudgetName,
    limit: Limit = None,
    period: Period = None,
    models: Models = None,
    rpm: Rpm = None,
    max_queued: MaxQueued = None,
    max_running: MaxRunning = None,
    expires_in_days: ExpiresInDays = None,
    as_json: AsJson = False,
    data_dir: KeysDataDir = None,
    remote: Remote = False,
    url: KeysUrl = None,
    key: Key = None,
) -> None:
    """Change a budget's limits (`--period never` removes the reset); its books stay."""
    from seedgate.tasks.budgets import budget_json

    body = _budget_body(limit, period, models, rpm, max_queued, max_running, expires_in_days)

    async def local(admin: Any) -> Any:
        budget = await admin.update(name, body)
        return budget_json(budget, await admin.keys(budget))

    _show_budgets([_budgets(data_dir, remote, url, key, ("PATCH", f"/{name}", body), local)], as_json)


@budgets_app.command("list")
def budgets_list(
    as_json: AsJson = False, data_dir: KeysDataDir = None, remote: Remote = False, url: KeysUrl = None, key: Key = None
) -> None:
    """List budgets with what each used this period."""
    from seedgate.tasks.budgets import budget_json

    async def local(admin: Any) -> Any:
        return {"data": [budget_json(b, await admin.keys(b)) for b in await admin.all()]}

    _show_budgets(_budgets(data_dir, remote, url, key, ("GET", "", None), local)["data"], as_json)


@budgets_app.command("link")
def budgets_link(
    name: BudgetName,
    key_id: Annotated[str, typer.Argument(help="The key's id (key_...), from `seedgate keys list`")],
    data_dir: KeysDataDir = None,
    remote: Remote = False,
    url: KeysUrl = None,
    key: Key = None,
) -> None:
    """Count a key's tasks against the budget (a key may be linked to several: it must pass all)."""

    async def local(admin: Any) -> Any:
        return await admin.link(name, key_id)

    _budgets(data_dir, remote, url, key, ("POST", f"/{name}/keys", {"key_id": key_id}), local)
    console.print(f"linked {key_id} to {name}")


@budgets_app.command("unlink")
def budgets_unlink(
    name: BudgetName,
    key_id: Annotated[str, typer.Argument(help="The key's id (key_...)")],
    data_dir: KeysDataDir = None,
    remote: Remote = False,
    url: KeysUrl = None,
    key: Key = None,
) -> None:
    """Stop counting a key's tasks against the budget."""

    async def local(admin: Any) -> Any:
        return await admin.unlink(name, key_id)

    _budgets(data_dir, remote, url, key, ("DELETE", f"/{name}/keys/{key_id}", None), local)
    console.print(f"unlinked {key_id} from {name}")


@budgets_app.command("delete")
def budgets_delete(
    name: BudgetName, data_dir: KeysDataDir = None, remote: Remote = False, url: KeysUrl = None, key: Key = None
) -> None:
    """Delete a budget and its links (its ledger entries stay)."""

    async def local(admin: Any) -> Any:
        return await admin.delete(name)

    _budgets(data_dir, remote, url, key, ("DELETE", f"/{name}", None), local)
    console.print(f"deleted {name}")


@budgets_app.command("ledger")
def budgets_ledger(
    name: BudgetName,
    as_json: AsJson = False,
    data_dir: KeysDataDir = None,
    remote: Remote = False,
    url: KeysUrl = None,
    key: Key = None,
) -> None:
    """The budget's ledger: every reserve, settle and refund, oldest first."""
    from seedgate.tasks.budgets import entry_json

    async def local(admin: Any) -> Any:
        budget = await admin.find(name)
        return {"data": [entry_json(budget.unit, e) for e in await admin.ledger(budget)]}

    rows = _budgets(data_dir, remote, url, key, ("GET", f"/{name}/ledger", None), local)["data"]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("at (UTC)", "kind", "amount", "tokens", "task", "key", "model")
    for e in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e["at"]))
        table.add_row(
            when, e["kind"], str(e["amount"]), str(e["tokens"]), e["task_id"] or "", e["key_id"] or "", e["model"] or ""
        )
    console.print(table)


@channels_app.command("check")
def channels_check(
    channels_file: Annotated[
        Path | None, typer.Option("--file", help="The channels file (env SEEDGATE_CHANNELS)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Tell which channels answer (and accept their key) and which of their models they list."""
    from dataclasses import asdict

    from seedgate.core.catalog import load_catalog
    from seedgate.upstream.channels import ChannelError, load_channels
    from seedgate.upstream.check import check_channels

    settings = Settings.from_env()
    path = channels_file or settings.channels_path
    if path is None:
        console.print("[red]no channels file: set SEEDGATE_CHANNELS or pass --file[/red]")
        raise typer.Exit(2)
    try:
        channels = load_channels(path, load_catalog(settings.catalog_path))
    except ChannelError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    reports = asyncio.run(check_channels(channels))
    if as_json:
        typer.echo(json.dumps([asdict(r) for r in reports], indent=2))
    else:
        table = Table("channel", "kind", "base URL", "answers", "models")
        for r in reports:
            models = "\n".join(f"{m} ({state})" for m, state in r.models.items())
            table.add_row(r.channel, r.kind, r.base_url, ("[green]" if r.ok else "[red]") + r.detail, models)
        console.print(table)
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


register(app)  # submit, status, wait, download, assets: listed after the server commands


_TYPE_WORDS = {"str": "TEXT", "text": "TEXT", "int": "INTEGER", "integer": "INTEGER", "float": "NUMBER", "path": "PATH"}


def _type_word(param: Any) -> str:
    name: str
    if hasattr(param, "bare_type"):  # typer >= 0.2x: str, int, float, Path, list[str] ...
        name = param.bare_type().removeprefix("list[").removesuffix("]")
    else:  # click types: text, integer, float range ...
        name = param.type.name.removesuffix(" range")
    return _TYPE_WORDS.get(name.lower(), name.upper())


class _ClickError(Exception):
    """What `main` uses of click's ClickException and UsageError, whichever click provides them."""

    exit_code: int

    def format_message(self) -> str:
        raise NotImplementedError


def _click_class(name: str) -> type[_ClickError]:
    # Recent typer vendors its own click, older ones use click itself: find the classes through typer's own
    # BadParameter (a UsageError, a ClickException) so either works. Found at run time, so typed by declaration.
    return cast("type[_ClickError]", next(c for c in typer.BadParameter.__mro__ if c.__name__ == name))


_UsageError, _ClickException = _click_class("UsageError"), _click_class("ClickException")


def _plain_help(command: Any) -> None:
    """Give every option the classic metavar (TEXT, INTEGER ...; nothing for a flag) instead of typer's `<bool>`
    tags, and every argument its upper-case name."""
    for param in command.params:
        _plain_param(param)
    # --help is made afresh for each context, so it is fixed as it is made.
    make_help = command.get_help_option

    def help_option(ctx: Any) -> Any:
        option = make_help(ctx)
        if option is not None:
            _plain_param(option)
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


def _plain_param(param: Any) -> None:
    if param.metavar is not None:
        return
    if param.param_type_name == "option":
        param.metavar = "" if param.is_flag else _type_word(param)
    elif param.param_type_name == "argument" and param.name:
        param.metavar = name = param.name.upper()
        # The name says it all: no type column, and no {braces} in the usage line.
        param.display_type_rich = lambda ctx: None
        usage = name if param.required else f"[{name}]"
        param.make_metavar = lambda *args, **kwargs: name
        param.get_usage_pieces = lambda ctx: [usage]


def main(argv: list[str] | None = None) -> None:
    """The `seedgate` command. Every failure ends in one `error:` line on stderr and a documented exit code."""
    command = typer.main.get_command(app)
    _plain_help(command)
    try:
        code = command.main(args=argv, prog_name="seedgate", standalone_mode=False)
    except _UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help, as click prints it
            typer.echo(exc.format_message())
            code = 0
        else:
            ctx = getattr(exc, "ctx", None)
            error_line(f"{exc.format_message()} (see {ctx.command_path if ctx else 'seedgate'} --help)")
            code = EXIT_USAGE
    except _ClickException as exc:
        error_line(exc.format_message())
        code = exc.exit_code
    except typer.Abort:
        error_line("aborted")
        code = 130
    except Exception as exc:
        if os.environ.get("SEEDGATE_LOG_LEVEL", "").upper() == "DEBUG":
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        error_line(
            f"unexpected {type(exc).__name__}{': ' + first if first else ''} "
            "(SEEDGATE_LOG_LEVEL=DEBUG shows the traceback)"
        )
        code = EXIT_SERVER
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
