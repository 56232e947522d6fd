"""The user commands that talk to a running seedgate (local or remote) through `seedgate.Client`:
submit, status, wait, download, usage, assets, and `models --remote`.

Exit codes: 0 ok; 1 the task failed, expired or was cancelled; 2 usage or a request the server refused as wrong
(bad file, bad option, unknown model, a --url without http(s)://: any 4xx but 401/403); 3 the server (or the local
database) could not be reached or failed (5xx, 429); 4 authentication (401/403); 5 --timeout passed with the task
still unfinished (it goes on).
Errors are one line on stderr, never wrapped; `--json` keeps stdout machine-readable; links print whole.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from seedgate.client import (
    DEFAULT_MODEL,
    Asset,
    AssetFailed,
    AuthenticationFailed,
    Client,
    ConnectionFailed,
    SeedgateError,
    Task,
    TaskFailed,
    WaitTimeout,
)

EXIT_FAILED, EXIT_USAGE, EXIT_SERVER, EXIT_AUTH, EXIT_TIMEOUT = 1, 2, 3, 4, 5

# soft_wrap: a line is never broken at the terminal width, so messages stay one line and links stay whole.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

Url = Annotated[
    str | None,
    typer.Option(
        "--url", envvar="SEEDGATE_URL", show_envvar=True, help="Server base URL (default http://127.0.0.1:8000)"
    ),
]
Key = Annotated[str | None, typer.Option("--key", envvar="SEEDGATE_API_KEY", show_envvar=True, help="API key (Bearer)")]
AsJson = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Save the video here once it has succeeded")]
Timeout = Annotated[
    float | None,
    typer.Option("--timeout", min=0, help="Stop waiting after this many seconds (exit 5; the task goes on)"),
]

assets_app = typer.Typer(
    help="Upload, list, inspect and delete assets (media referenced as asset://ID).", no_args_is_help=True
)


def exit_code(exc: SeedgateError) -> int:
    if isinstance(exc, TaskFailed):
        return EXIT_FAILED
    if isinstance(exc, WaitTimeout):
        return EXIT_TIMEOUT
    if isinstance(exc, AuthenticationFailed):
        return EXIT_AUTH
    if isinstance(exc, ConnectionFailed) or exc.status >= 500 or exc.status == 429:
        return EXIT_SERVER
    return EXIT_USAGE  # client-side checks (status 0), failed asset audits and 4xx: the request was wrong


def error_line(message: str) -> None:
    """The one line a failing command prints on stderr (the message is never read as markup)."""
    err.print("[red]error:[/red] " + escape(message))


def check_url(url: str | None) -> None:
    """A base URL the client can use, or a usage error (exit 2) that says what is wrong with it."""
    from seedgate.client.core import settings

    base, _ = settings(url, None)
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SeedgateError(
            0, "InvalidURL", f"--url {base!r} is not an http(s) URL; write it like http://127.0.0.1:8000"
        )


def fail(exc: SeedgateError) -> typer.Exit:
    """Print `exc` as the one error line and return the Exit to raise with its documented code."""
    where = f" [{exc.param}]" if exc.param and exc.param not in exc.message else ""
    plain = isinstance(exc, (TaskFailed, ConnectionFailed, AssetFailed, WaitTimeout)) or exc.code == "InvalidURL"
    error_line(("" if plain else f"{exc.code}: ") + exc.message + where)
    return typer.Exit(exit_code(exc))


@contextmanager
def remote(url: str | None, key: str | None, as_json: bool = False) -> Iterator[Client]:
    """A client whose errors end the command with a one-line message and the documented exit code."""
    try:
        check_url(url)
    except SeedgateError as exc:
        raise fail(exc) from None
    client = Client(url, key)
    try:
        yield client
    except SeedgateError as exc:
        if isinstance(exc, (TaskFailed, WaitTimeout)) and exc.task is not None and as_json:
            typer.echo(json.dumps(exc.task.to_dict(), indent=2))
        raise fail(exc) from None
    finally:
        client.close()


def _progress_bar() -> Progress:
    # Elapsed, then the time left as rich estimates it from the progress so far (shown once progress moves).
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


def _describe(task: Task) -> str:
    words = f"{task.id} {task.status}"
    if task.queue_position is not None:
        words += f" (#{task.queue_position} in queue)"
    return words


def wait_and_save(
    client: Client, task_id: str, output: Path | None, as_json: bool, timeout: float | None = None
) -> None:
    """Wait (with a progress bar unless --json), then save and report the result."""
    if as_json:
        task = client.wait(task_id, timeout=timeout)
    else:
        with _progress_bar() as bar:
            row = bar.add_task(task_id, total=100)

            def show(t: Task) -> None:
                bar.update(row, description=_describe(t), completed=t.progress or 0)

            task = client.wait(task_id, on_progress=show, timeout=timeout)
    saved = client.download(task, output) if output else None
    if as_json:
        body = task.to_dict()
        if saved:
            body["output"] = str(saved)
        typer.echo(json.dumps(body, indent=2))
        return
    if task.raw.get("engine_notice"):
        err.print(f"[dim]{task.raw['engine_notice']}[/dim]")
    if saved:
        out.print(f"[green]saved[/green] {saved}")
    else:
        out.print(task.video_url or "")


def submit(
    prompt: Annotated[str, typer.Argument(help="What the video shows")],
    model: Annotated[str, typer.Option(help="Model ID (see `seedgate models`)")] = DEFAULT_MODEL,
    image: Annotated[str | None, typer.Option(help="First frame: a local file (uploaded), URL or asset ID")] = None,
    last: Annotated[str | None, typer.Option(help="Last frame (with --image): file, URL or asset ID")] = None,
    ref_image: Annotated[list[str] | None, typer.Option(help="Reference image; repeat for several")] = None,
    ref_video: Annotated[list[str] | None, typer.Option(help="Reference video; repeat for several")] = None,
    ref_audio: Annotated[list[str] | None, typer.Option(help="Reference audio; repeat for several")] = None,
    resolution: Annotated[str | None, typer.Option(help="480p, 720p, 1080p ... (model's list)")] = None,
    ratio: Annotated[str | None, typer.Option(help="16:9, 9:16, 1:1, adaptive ... (model's list)")] = None,
    duration: Annotated[int | None, typer.Option(help="Seconds (model's range)")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for a repeatable result")] = None,
    audio: Annotated[bool | None, typer.Option("--audio/--no-audio", help="Generate sound (audio models)")] = None,
    draft: Annotated[bool, typer.Option(help="A cheap 480p draft (1.5 pro, 2.5)")] = False,
    callback_url: Annotated[str | None, typer.Option(help="URL POSTed on every status change")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the result, with a progress bar")] = False,
    output: Output = None,
    timeout: Timeout = None,
    as_json: AsJson = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Create a task; local files are uploaded as assets first. With --wait (implied by -o, --timeout), wait, save.

    Example: seedgate submit "a cat yawns" --image first.jpg --last last.jpg --wait -o cat.mp4
    """
    with remote(url, key, as_json) as client:
        task = client.create(
            prompt,
            model=model,
            image=image,
            last_image=last,
            reference_images=ref_image or (),
            reference_videos=ref_video or (),
            reference_audios=ref_audio or (),
            resolution=resolution,
            ratio=ratio,
            duration=duration,
            seed=seed,
            generate_audio=audio,
            draft=draft or None,
            callback_url=callback_url,
        )
        if wait or output or timeout is not None:
            wait_and_save(client, task.id, output, as_json, timeout)
        elif as_json:
            typer.echo(json.dumps(task.to_dict(), indent=2))
        else:
            err.print(f"[green]created[/green] {task.id} ({task.status}); follow it with: seedgate wait {task.id}")
            typer.echo(task.id)


def status(task_id: str, as_json: AsJson = False, url: Url = None, key: Key = None) -> None:
    """Show a task's status (and its result links once it has succeeded)."""
    with remote(url, key, as_json) as client:
        task = client.get(task_id)
        if as_json:
            typer.echo(json.dumps(task.to_dict(), indent=2))
            return
        # Plain "name  value" lines, not a table: a table cuts long values to the terminal width, and a signed
        # link with "..." in it does not work.
        rows = [
            (name, str(task.raw[name]))
            for name in ("id", "model", "status", "resolution", "ratio", "duration", "seed")
            if task.raw.get(name) is not None
        ]
        rows += [
            (name, value) for name, value in (("video", task.video_url), ("last frame", task.last_frame_url)) if value
        ]
        if task.error:
            rows.append(("error", f"{task.error.get('code')}: {task.error.get('message')}"))
        for name, value in rows:
            out.print(f"{name:<11} {value}", markup=False)


def wait(
    task_id: str,
    output: Output = None,
    timeout: Timeout = None,
    as_json: AsJson = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Wait for a task to finish (progress bar), then print its video URL or save it with -o."""
    with remote(url, key, as_json) as client:
        wait_and_save(client, task_id, output, as_json, timeout)


def download(
    task_id: str,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to save it")],
    last_frame: Annotated[bool, typer.Option("--last-frame", help="The last frame PNG instead of the video")] = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Save a succeeded task's video (or last frame)."""
    with remote(url, key) as client:
        out.print(f"[green]saved[/green] {client.download(task_id, output, last_frame=last_frame)}")


def _asset_json(asset: Asset) -> str:
    return json.dumps(asset.raw, indent=2)


@assets_app.command("upload")
def assets_upload(
    source: Annotated[str, typer.Argument(help="A local file or an http(s) URL")],
    name: Annotated[str | None, typer.Option(help="A label (default: the file name)")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Return at once, before the audit finishes")] = False,
    as_json: AsJson = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Upload media as an asset and wait for its audit; prints the asset ID (use it as --image ID or asset://ID)."""
    with remote(url, key) as client:
        asset = client.upload_asset(source, name, wait=not no_wait)
        if as_json:
            typer.echo(_asset_json(asset))
        else:
            err.print(f"[green]{asset.status}[/green] {asset.kind or ''} {asset.name or ''}".rstrip())
            typer.echo(asset.id)


@assets_app.command("list")
def assets_list(
    status_: Annotated[str | None, typer.Option("--status", help="processing, ready or failed")] = None,
    kind: Annotated[str | None, typer.Option(help="image, video or audio")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first")] = 20,
    as_json: AsJson = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """List your assets, newest first."""
    with remote(url, key) as client:
        assets = client.list_assets(limit=limit, status=status_, kind=kind)
        if as_json:
            typer.echo(json.dumps([a.raw for a in assets], indent=2))
            return
        table = Table("id", "status", "kind", "name")
        for a in assets:
            table.add_row(a.id, a.status, a.kind or "", a.name or "")
        out.print(table)


@assets_app.command("get")
def assets_get(asset_id: str, as_json: AsJson = False, url: Url = None, key: Key = None) -> None:
    """Show an asset and its audit result."""
    with remote(url, key) as client:
        asset = client.get_asset(asset_id)
        if as_json:
            typer.echo(_asset_json(asset))
            return
        table = Table(show_header=False, box=None)
        for name in ("id", "status", "kind", "name", "asset_url", "url"):
            if asset.raw.get(name):
                table.add_row(name, str(asset.raw[name]))
        if asset.error:
            table.add_row("error", json.dumps(asset.error))
        out.print(table)


@assets_app.command("delete")
def assets_delete(asset_id: str, url: Url = None, key: Key = None) -> None:
    """Delete an asset."""
    with remote(url, key) as client:
        client.delete_asset(asset_id)
        out.print(f"deleted {asset_id}")


def remote_models(url: str | None, key: str | None) -> list[dict[str, Any]]:
    with remote(url, key) as client:
        return client.models()


def _money(by_currency: dict[str, Any]) -> str:
    return ", ".join(f"{v['amount']:.6f} {currency}" for currency, v in by_currency.items())


def _usage_table(report: dict[str, Any]) -> Table:
    groups = [("key_id" if g == "key" else g) for g in report["group_by"]]
    table = Table(*groups, "tasks", "succeeded", "failed", "seconds", "tokens", "cost", "reserved")
    for numeric in table.columns[len(groups) : -2]:
        numeric.justify = "right"
    rows = [*report["items"], {**report["totals"], **dict.fromkeys(groups[:1], "total")}]
    for i, g in enumerate(rows):
        table.add_row(
            *(str(g.get(name, "")) for name in groups),
            *(f"{g[name]:,}" for name in ("tasks", "succeeded", "failed", "seconds", "tokens")),
            _money(g["cost"]),
            _money(g["estimated"]),
            end_section=i == len(rows) - 2,
        )
    return table


def _budgets_table(budgets: list[dict[str, Any]]) -> Table:
    table = Table("budget", "unit", "limit", "used", "remaining", "this key: charged", "reserved", "refunded")
    for b in budgets:
        books = b["ledger"]
        limit = "none" if b["limit"] is None else f"{b['limit']:,}" + (f" / {b['period']}" if b["period"] else "")
        table.add_row(
            b["name"],
            b["unit"],
            limit,
            f"{b['used']:,}",
            "" if b["remaining"] is None else f"{b['remaining']:,}",
            f"{books['charged']:,}",
            f"{books['reserved']:,}",
            f"{books['refunded']:,}",
        )
    return table


def usage(
    days: Annotated[int | None, typer.Option(help="The last N days, today included (default 30)")] = None,
    since: Annotated[str | None, typer.Option(help="From (ISO 8601 date or time, or unix seconds)")] = None,
    until: Annotated[str | None, typer.Option(help="Until (default now)")] = None,
    group_by: Annotated[
        list[str] | None, typer.Option("--group-by", "-g", help="day, model, key; repeat or comma-join to combine")
    ] = None,
    key_id: Annotated[str | None, typer.Option("--key-id", help="Admin key: another key's ID, or all")] = None,
    as_json: AsJson = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """What your key made and spent: tasks, video seconds, tokens and cost, by day and model (or key).

    Example: seedgate usage --days 7 --group-by model
    """
    groups = [g.strip() for value in group_by or ["day,model"] for g in value.split(",") if g.strip()]
    offset = (time.localtime().tm_gmtoff or 0) // 60  # days as this machine counts them
    with remote(url, key) as client:
        report = client.usage(days=days, since=since, until=until, group_by=groups, key_id=key_id, tz_offset_min=offset)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    out.print(_usage_table(report))
    if report.get("budgets"):
        out.print(_budgets_table(report["budgets"]))
    if report["truncated"]:
        err.print("[yellow]only the newest tasks were counted: narrow the window[/yellow]")


def register(app: typer.Typer) -> None:
    commands: list[Callable[..., None]] = [submit, status, wait, download, usage]
    for command in commands:
        app.command()(command)
    app.add_typer(assets_app, name="assets")
