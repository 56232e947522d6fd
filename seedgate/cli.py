"""The `seedgate` command: serve, worker, keys, models, migrate, channels; the user commands that talk to a
server (submit, status, wait, download, assets) live in cli_remote.py."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from seedgate.cli_remote import Key, Url, register, remote_models
from seedgate.config import Settings
from seedgate.logs import setup_logging

app = typer.Typer(help="seedgate: a self-hosted, Seedance-compatible video generation server.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
channels_app = typer.Typer(help="Upstream channels (SEEDGATE_CHANNELS; see docs/upstreams.md).", no_args_is_help=True)
app.add_typer(channels_app, name="channels")
console = Console()
log = logging.getLogger("seedgate")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Where the database, inputs and results live "
                                                                "[env SEEDGATE_DATA_DIR, default ./data]")]


def _settings(**overrides: object) -> Settings:
    settings = Settings.from_env(**overrides)
    setup_logging(settings.log_level, settings.log_format)
    return settings


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind [default 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default 8000]")] = None,
    data_dir: DataDir = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", help="In-process render slots; 0 makes an API-only node [env SEEDGATE_WORKERS, default 1]"
    )] = None,
) -> None:
    """Run the API server (with in-process workers by default)."""
    import uvicorn

    from seedgate.api.app import create_app

    settings = _settings(host=host, port=port, data_dir=data_dir, workers=workers)
    if settings.api_key is None:
        asyncio.run(_first_run_key(settings))
    log.info("seedgate listening on http://%s:%d (Ark API at /api/v3, docs at /docs)", settings.host, settings.port)
    log.info("the preview engine draws stand-in videos; it is not a generative model")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None,
                access_log=settings.log_level == "DEBUG", timeout_graceful_shutdown=35)


async def _first_run_key(settings: Settings) -> None:
    """With no SEEDGATE_API_KEY and no keys yet, make one admin key so a new user is never locked out."""
    from seedgate.api.keys import create_key
    from seedgate.store.store import Store

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
    remote: Annotated[bool, typer.Option("--remote", help="Ask the server at --url (GET /v1/models) instead of "
                                                          "reading the local catalog")] = False,
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
        table.add_row(m["id"], ", ".join(m["modes"]), ", ".join(m["resolutions"]), seconds,
                      "yes" if m["audio"] else "no", "yes" if m["draft"] else "no", m["engine"])
    console.print(table)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="A label for the key")] = "default",
    admin: Annotated[bool, typer.Option(help="Admin keys may manage keys")] = False,
    data_dir: DataDir = None,
) -> None:
    """Create an API key and print its secret (shown only once)."""
    from seedgate.api.keys import create_key
    from seedgate.store.store import Store

    settings = _settings(data_dir=data_dir)

    async def run() -> str:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = Store(settings.db_url)
        try:
            await store.migrate()
            key, secret = await create_key(store, name, admin=admin)
            console.print(f"[green]created[/green] {key.id} ({name}{', admin' if admin else ''})", highlight=False)
            return secret
        finally:
            await store.close()

    typer.echo(asyncio.run(run()))


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """List API keys (secrets are never shown again)."""
    from seedgate.store.store import Store

    settings = _settings(data_dir=data_dir)

    async def run() -> None:
        store = Store(settings.db_url)
        try:
            await store.migrate()
            table = Table("id", "name", "admin", "revoked")
            for key in await store.list_keys():
                table.add_row(key.id, key.name, "yes" if key.admin else "", "yes" if key.revoked_at else "")
            console.print(table)
        finally:
            await store.close()

    asyncio.run(run())


@keys_app.command("revoke")
def keys_revoke(key_id: str, data_dir: DataDir = None) -> None:
    """Revoke an API key by its id (key_...)."""
    from seedgate.store.store import Store

    settings = _settings(data_dir=data_dir)

    async def run() -> bool:
        store = Store(settings.db_url)
        try:
            return await store.revoke_key(key_id)
        finally:
            await store.close()

    if not asyncio.run(run()):
        console.print(f"[red]no active key {key_id}[/red]")
        raise typer.Exit(1)
    console.print(f"revoked {key_id}")


@channels_app.command("check")
def channels_check(
    channels_file: Annotated[Path | None, typer.Option(
        "--file", help="The channels file [env SEEDGATE_CHANNELS]")] = None,
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

if __name__ == "__main__":
    app()
