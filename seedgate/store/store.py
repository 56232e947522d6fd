"""Persistence behind one small interface: tasks (which are also the queue), keys, webhooks, settings.

SQLAlchemy Core on an async engine, no ORM session: the request paths stay close to raw driver speed.
SQLite (WAL) and PostgreSQL run the same statements; the claim adds FOR UPDATE SKIP LOCKED where supported.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event, make_url
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from seedgate.core.limits import Billing, Charge
from seedgate.core.plan import TaskPlan
from seedgate.core.status import Status, sources_of
from seedgate.core.task import Task

from .assets import AssetStore
from .batching import Batches, GroupCommit, Outcomes
from .blobs import BlobIndex
from .budgets import Admission, Admitted, BudgetBook, reserve
from .postgres_fast import KEYS_CHANNEL, PostgresFastPath
from .schema import (
    FILES_KEPT,
    SUCCEEDED,
    api_keys,
    budgets,
    idempotency_keys,
    key_budgets,
    settings,
    task_blobs,
    tasks,
    upstream_tasks,
    webhook_deliveries,
    webhook_endpoints,
)
from .sqlite_fast import SqliteFastPath
from .upstream import UpstreamStore

Row = sa.Row[Any]

# A failed delivery is retried in order, holding back the task's later deliveries to the same URL, for this many
# attempts; after that a later status supersedes it (it carries the newer state), so one callback the receiver keeps
# refusing cannot hold a task's final callback back for a day.
SUPERSEDE_AFTER_ATTEMPTS = 3


@dataclass(frozen=True)
class Webhook:
    """A delivery to record in the same transaction as the status change that caused it."""

    url: str
    payload: dict[str, Any]
    secret: str | None = None  # signs this delivery (space-separated: each signs); None: the server-wide secret


@dataclass(frozen=True)
class Delivery:
    id: str
    task_id: str
    url: str
    payload: str
    attempts: int
    secret: str | None
    receiver: str = ""
    seq: int = 0
    created_at: float = 0.0  # when the status change happened (the event time)


def receiver_of(url: str) -> str:
    """The receiver a delivery goes to, `scheme://host:port`: deliveries are limited and isolated per receiver."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}"[:300]
    except ValueError:
        return url[:300]


def status_seq(status: Status) -> int:
    """A status's place in a task's life; one task's deliveries to one URL are sent in this order."""
    return 2 if status.terminal else 1 if status is Status.RUNNING else 0


@dataclass(frozen=True)
class Endpoint:
    id: str
    owner: str
    name: str
    url: str
    event_types: list[str]
    secret: str
    created_at: float
    updated_at: float
    previous_secret: str | None = None
    previous_secret_until: float | None = None

    def signing_secrets(self, now: float) -> str:
        """The secrets a delivery is signed with, space-separated: the current one, and the previous one while a
        rotation keeps it active (Standard Webhooks receivers accept any of several signatures)."""
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            return f"{self.secret} {self.previous_secret}"
        return self.secret


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(
        row.id,
        row.owner,
        row.name,
        row.url,
        json.loads(row.event_types),
        row.secret,
        row.created_at,
        row.updated_at,
        row.previous_secret,
        row.previous_secret_until,
    )


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    admin: bool
    created_at: float
    revoked_at: float | None
    limited: bool = False  # linked to a budget: creates are checked against it


def _task_from_row(row: Any) -> Task:
    """From a SQLAlchemy row, or a sqlite3.Row / asyncpg.Record of the fast paths."""
    m = row._mapping if hasattr(row, "_mapping") else row
    error = {"code": m["error_code"], "message": m["error_message"] or ""} if m["error_code"] else None
    return Task(
        id=m["id"],
        owner=m["owner"],
        dialect=m["dialect"],
        endpoint=m["endpoint"],
        spec=TaskPlan.from_json(json.loads(m["spec"])),
        status=Status(m["status"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        expires_at=m["expires_at"],
        progress=m["progress"],
        result=json.loads(m["result"]) if m["result"] else None,
        error=error,
        attempts=m["attempts"],
        billing=Billing.from_json(json.loads(m["billing"])) if m["billing"] else None,
    )


def _webhook_row(task_id: str, webhook: Webhook, now: float, status: Status) -> dict[str, Any]:
    return {
        "id": f"msg_{secrets.token_hex(12)}",
        "task_id": task_id,
        "url": webhook.url,
        "payload": json.dumps(webhook.payload, ensure_ascii=False),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "secret": webhook.secret,
        "receiver": receiver_of(webhook.url),
        "seq": status_seq(status),
    }


def _delivery(r: Any) -> Delivery:
    return Delivery(r.id, r.task_id, r.url, r.payload, r.attempts, r.secret, r.receiver, r.seq, r.created_at)


def _earlier_pending(row: Any) -> Any:
    """A delivery of the same task to the same URL, still pending, that comes before `row` (status order)."""
    earlier = webhook_deliveries.alias("earlier")
    return sa.exists().where(
        earlier.c.task_id == row.task_id,
        earlier.c.url == row.url,
        earlier.c.status == "pending",
        sa.or_(
            earlier.c.seq < row.seq,
            sa.and_(
                earlier.c.seq == row.seq,
                sa.or_(
                    earlier.c.created_at < row.created_at,
                    sa.and_(earlier.c.created_at == row.created_at, earlier.c.id < row.id),
                ),
            ),
        ),
    )


async def _queue_webhooks(conn: Any, task_id: str, webhooks: Sequence[Webhook], now: float, status: Status) -> None:
    """Queue the deliveries a status change causes, inside its transaction: only those newer than what each URL
    already has, superseding that URL's stale pending ones."""
    if not webhooks:
        return
    rows = await _newer_only(conn, task_id, [_webhook_row(task_id, w, now, status) for w in webhooks])
    if rows:
        await _supersede_stale(conn, task_id, [row["url"] for row in rows], now)
        await conn.execute(webhook_deliveries.insert(), rows)


async def _newer_only(conn: Any, task_id: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop deliveries of a status older than one this task already has for the same URL (say a `running` recorded
    after the task expired meanwhile): a receiver never hears a task go back."""
    wd = webhook_deliveries
    query = sa.select(wd.c.url, sa.func.max(wd.c.seq)).where(wd.c.task_id == task_id).group_by(wd.c.url)
    newest = dict((await conn.execute(query)).all())
    return [row for row in rows if row["seq"] >= newest.get(row["url"], -1)]


async def _supersede_stale(conn: Any, task_id: str, urls: Sequence[str], now: float) -> None:
    """A new status for a task retires its earlier deliveries to the same URLs that already failed their in-order
    retries and are not being sent right now: the new delivery carries the newer state."""
    await conn.execute(
        webhook_deliveries.update()
        .where(
            webhook_deliveries.c.task_id == task_id,
            webhook_deliveries.c.url.in_(list(urls)),
            webhook_deliveries.c.status == "pending",
            webhook_deliveries.c.attempts >= SUPERSEDE_AFTER_ATTEMPTS,
            sa.or_(webhook_deliveries.c.leased_until.is_(None), webhook_deliveries.c.leased_until < now),
        )
        .values(status="superseded")
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if not self.is_sqlite:
            kwargs.update(pool_size=20, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._inserts = GroupCommit(self._insert_rows)
        self.assets = AssetStore(self.engine)
        self.blobs = BlobIndex(self.engine, self.is_sqlite)
        self.budgets = BudgetBook(self.engine, self.is_sqlite)
        self.upstream = UpstreamStore(self.engine, self.is_sqlite)
        self._fast: SqliteFastPath | PostgresFastPath = (
            SqliteFastPath(make_url(url).database or "")
            if self.is_sqlite
            else PostgresFastPath(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
        )

    async def close(self) -> None:
        await self._fast.close()
        await self.engine.dispose()

    # -- schema -------------------------------------------------------------------------------------------------

    async def ping(self) -> None:
        """Raises when the database does not answer (readiness)."""
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def migrate(self) -> None:
        """Bring the schema to head. On PostgreSQL an advisory lock lets many nodes start at once."""
        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(7215031)"))
            await conn.run_sync(_upgrade)

    # -- settings -----------------------------------------------------------------------------------------------

    async def shared_secret(self, key: str) -> str:
        """A random secret created once and then shared by every node using this database."""
        insert = sqlite_insert if self.is_sqlite else pg_insert
        first_write = insert(settings).values(key=key, value=secrets.token_urlsafe(32)).on_conflict_do_nothing()
        async with self.engine.begin() as conn:
            await conn.execute(first_write)
            value = (await conn.execute(sa.select(settings.c.value).where(settings.c.key == key))).scalar_one()
            return str(value)

    # -- tasks --------------------------------------------------------------------------------------------------

    async def insert_task(
        self,
        task: Task,
        webhooks: Sequence[Webhook] = (),
        *,
        reserve: bool = False,
        idempotency: tuple[str, str] | None = None,
    ) -> Task:
        """Store a new task (and its first webhook); returns it once it is committed. With `reserve` (the owner's
        key is linked to budgets) the task's estimate (`billing`) is reserved against each of the key's budgets in
        the same transaction, and the task comes back with the budgets it reserved against; LimitExceeded (nothing
        stored) when one of them refuses. With `idempotency` (the caller's Idempotency-Key and the request's hash)
        the key is recorded with the task; DuplicateRequest when another create already recorded it (nothing stored).

        Concurrent creates share one transaction (group commit): the durable write is the cost of a create, and
        one commit for many rows keeps throughput up under load without weakening the guarantee.
        """
        spec = task.spec
        row = {
            "id": task.id,
            "owner": task.owner,
            "dialect": task.dialect,
            "endpoint": task.endpoint,
            "model": task.model,
            "status": task.status.value,
            "service_tier": spec.service_tier,
            **_queue_keys(spec),
            "spec": json.dumps(spec.to_json(), ensure_ascii=False),
            "progress": 0.0,
            "created_at": task.created_at,
            "updated_at": task.updated_at,
            "expires_at": task.expires_at,
            "attempts": 0,
            # A reserving create's billing is written by its commit, with the budgets it reserved against.
            "billing": _billing_json(task.billing) if task.billing is not None and not reserve else None,
        }
        hooks = [_webhook_row(task.id, webhook, task.updated_at, task.status) for webhook in webhooks]
        blobs = [{"task_id": task.id, "digest": digest} for digest in sorted({m.blob for m in spec.media if m.blob})]
        billing = task.billing
        admission = Admission(task.id, task.owner, task.model, billing.estimate) if reserve and billing else None
        pending = _PendingInsert(row, hooks, blobs, admission, billing)
        if idempotency is not None:
            key, request_hash = idempotency
            pending.idempotency = {
                "owner": task.owner,
                "key": key,
                "request_hash": request_hash,
                "task_id": task.id,
                "created_at": task.created_at,
            }
        try:
            await self._inserts.submit(pending)
        except Exception:
            # A unique violation on the key, whatever the driver calls it: a concurrent twin got there first.
            earlier = await self.idempotent(task.owner, idempotency[0]) if idempotency is not None else None
            if earlier is not None and earlier[1] != task.id:
                raise DuplicateRequest(*earlier) from None
            raise
        if billing is None or not pending.budgets:
            return task
        return replace(task, billing=replace(billing, budgets=pending.budgets))

    async def _insert_rows(self, batch: list[_PendingInsert]) -> Outcomes:
        asking = [i for i, item in enumerate(batch) if item.admission is not None]
        outcomes: list[BaseException | None] = [None] * len(batch)

        def rows(admitted: Admitted) -> Batches:
            # Called in the transaction, once the budgets have answered: the refused creates store nothing, the
            # others store their billing with the budgets they reserved against.
            for i, (budget_ids, refused) in zip(asking, admitted, strict=True):
                item = batch[i]
                outcomes[i], item.budgets = refused, budget_ids
                if item.billing is not None:
                    item.row["billing"] = _billing_json(item.billing, budget_ids)
            return _insert_batches([item for item, outcome in zip(batch, outcomes, strict=True) if outcome is None])

        admissions = [item.admission for item in batch if item.admission is not None]
        await self._fast.insert_many(reserve(admissions, time.time(), row_locks=not self.is_sqlite), rows)
        return outcomes if asking else None

    async def idempotent(self, owner: str, key: str) -> tuple[str, str] | None:
        """(request hash, task ID) of the create `owner` made with this Idempotency-Key, if any."""
        keys = idempotency_keys
        query = sa.select(keys.c.request_hash, keys.c.task_id).where(keys.c.owner == owner, keys.c.key == key)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return (row.request_hash, row.task_id) if row is not None else None

    async def purge_idempotency(self, before: float) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(idempotency_keys.delete().where(idempotency_keys.c.created_at < before))

    async def listen_new_tasks(self, wake: Callable[[], None]) -> None:
        """Wake local workers when another process adds tasks. PostgreSQL only: SQLite nodes share a machine and
        their workers poll every `poll_interval`, which costs nothing there."""
        if isinstance(self._fast, PostgresFastPath):
            await self._fast.listen_new_tasks(wake)

    async def get_task(self, task_id: str, owner: str | None = None) -> Task | None:
        if not _plausible_id(task_id):
            return None
        row = await self._fast.task_row(task_id)
        if row is None or (owner is not None and row["owner"] != owner):
            return None
        return _task_from_row(row)

    async def list_tasks(
        self,
        owner: str | None,
        *,
        statuses: Sequence[str] = (),
        ids: Sequence[str] = (),
        endpoint: str | None = None,
        service_tier: str | None = None,
        since: float | None = None,
        offset: int = 0,
        limit: int = 20,
        newest_first: bool = True,
        after_id: str | None = None,
    ) -> tuple[int, list[Task]]:
        texts = [*statuses, endpoint or "", service_tier or "", after_id or ""]
        if any("\x00" in text for text in texts) or (ids and not any(_plausible_id(i) for i in ids)):
            return 0, []  # matches nothing, and PostgreSQL would refuse the NUL with an error
        ids = [i for i in ids if _plausible_id(i)]
        where = []
        if owner is not None:
            where.append(tasks.c.owner == owner)
        if statuses:
            where.append(tasks.c.status.in_(list(statuses)))
        if ids:
            where.append(tasks.c.id.in_(list(ids)))
        if endpoint:
            where.append(sa.or_(tasks.c.endpoint == endpoint, tasks.c.model == endpoint))
        if service_tier:
            where.append(tasks.c.service_tier == service_tier)
        if since is not None:
            where.append(tasks.c.created_at >= since)
        order = (tasks.c.created_at.desc(), tasks.c.id.desc()) if newest_first else (tasks.c.created_at, tasks.c.id)
        async with self.engine.connect() as conn:
            total = (await conn.execute(sa.select(sa.func.count()).select_from(tasks).where(*where))).scalar_one()
            if after_id:
                anchor = (await conn.execute(sa.select(tasks.c.created_at).where(tasks.c.id == after_id))).scalar()
                if anchor is not None:
                    where.append(tasks.c.created_at < anchor if newest_first else tasks.c.created_at > anchor)
            page = sa.select(tasks).where(*where).order_by(*order).offset(offset).limit(limit)
            rows = (await conn.execute(page)).all()
        return total, [_task_from_row(r) for r in rows]

    async def delete_task(self, task_id: str) -> bool:
        if not _plausible_id(task_id):
            return False
        async with self.engine.begin() as conn:
            # Deliveries still pending are sent anyway: a client may delete a task before its webhook got through.
            await conn.execute(
                webhook_deliveries.delete().where(
                    webhook_deliveries.c.task_id == task_id, webhook_deliveries.c.status != "pending"
                )
            )
            await conn.execute(upstream_tasks.delete().where(upstream_tasks.c.task_id == task_id))
            await conn.execute(task_blobs.delete().where(task_blobs.c.task_id == task_id))
            result = await conn.execute(tasks.delete().where(tasks.c.id == task_id))
        return result.rowcount > 0

    async def transition(
        self,
        task: Task,
        target: Status,
        *,
        webhooks: Sequence[Webhook] = (),
        lease_owner: str | None = None,
        delivered: Charge | None = None,
        **fields: Any,
    ) -> bool:
        """Move `task` to `target` if it is still in a status that allows it (and, for workers, still leased).

        Returns False when another actor got there first; then nothing changed and no webhook was queued. A final
        status closes the task's books in the same transaction: settled on `delivered` (succeeded), else refunded.
        """
        now = fields.pop("now", None) or time.time()
        values: dict[str, Any] = {"status": target.value, "updated_at": now}
        if target.terminal:
            values.update(finished_at=now, lease_owner=None, lease_expires_at=None)
        if target is Status.QUEUED:
            # A worker handing a task back (shutdown) is not a lost attempt.
            values.update(lease_owner=None, lease_expires_at=None, attempts=tasks.c.attempts - 1)
        for key, value in fields.items():
            values[key] = json.dumps(value) if key == "result" and value is not None else value
        query = tasks.update().where(tasks.c.id == task.id, tasks.c.status.in_([s.value for s in sources_of(target)]))
        if lease_owner is not None:
            query = query.where(tasks.c.lease_owner == lease_owner)
        async with self.engine.begin() as conn:
            changed = (await conn.execute(query.values(**values))).rowcount > 0
            if changed:
                await _queue_webhooks(conn, task.id, webhooks, now, target)
                if target.terminal and task.billing is not None and task.billing.budgets:
                    paid = delivered if target is Status.SUCCEEDED else None
                    await self.budgets.close(conn, task.id, task.owner, task.model, task.billing.budgets, paid, now)
        return changed

    async def claim(
        self,
        worker_id: str,
        engines: Sequence[str],
        lease_s: float,
        models: Sequence[str] | None = None,
        *,
        webhooks_for: Callable[[Task], Awaitable[list[Webhook]]] | None = None,
    ) -> Task | None:
        """Take the next task: queued ones by tier, priority and age, or running ones whose lease ran out.

        `models` narrows the claim to tasks of those models (the upstream relay takes only what a channel with room
        serves). With `webhooks_for`, a first claim queues the `running` webhooks in the same transaction, so a
        task never runs without them (a later claim after a lost worker does not repeat them); it runs inside the
        claim's write transaction, so it must not use the store itself."""
        now = time.time()
        ready = sa.or_(
            tasks.c.status == Status.QUEUED.value,
            sa.and_(tasks.c.status == Status.RUNNING.value, tasks.c.lease_expires_at < now),
        )
        pick = (
            sa.select(tasks.c.id)
            .where(
                ready,
                tasks.c.engine.in_(list(engines)),
                tasks.c.expires_at > now,
                tasks.c.model.in_(list(models)) if models is not None else sa.true(),
                _within_running_caps(now),
            )
            .order_by(tasks.c.tier_rank, tasks.c.priority.desc(), tasks.c.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        claim = (
            tasks.update()
            .where(tasks.c.id == pick, ready)
            .values(
                status=Status.RUNNING.value,
                lease_owner=worker_id,
                lease_expires_at=now + lease_s,
                started_at=sa.func.coalesce(tasks.c.started_at, now),
                updated_at=now,
                attempts=tasks.c.attempts + 1,
            )
            .returning(*tasks.c)
        )
        unreadable: Exception | None = None
        task = None
        async with self.engine.begin() as conn:
            row = (await conn.execute(claim)).first()
            if row is None:
                return None
            try:
                task = _task_from_row(row)
            except Exception as exc:
                # Committed as running all the same and raised below: its lease runs out and it alone is retried,
                # while a rollback would leave it first in line for every slot and stall the whole queue.
                unreadable = exc
            else:
                if webhooks_for is not None and task.attempts == 1:
                    await _queue_webhooks(conn, task.id, await webhooks_for(task), now, task.status)
        if unreadable is not None:
            raise unreadable
        return task

    async def heartbeat(self, task_id: str, worker_id: str, lease_s: float, progress: float) -> bool:
        """Extend the lease and record progress; False means the lease is lost (or the task ended)."""
        now = time.time()
        query = (
            tasks.update()
            .where(tasks.c.id == task_id, tasks.c.lease_owner == worker_id, tasks.c.status == Status.RUNNING.value)
            .values(lease_expires_at=now + lease_s, progress=progress)
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(query)).rowcount > 0

    async def set_progress(self, task_id: str, progress: float, now: float) -> bool:
        """Progress of a task an upstream runs (no worker lease); False once the task is no longer running."""
        query = (
            tasks.update()
            .where(tasks.c.id == task_id, tasks.c.status == Status.RUNNING.value)
            .values(progress=progress, updated_at=now)
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(query)).rowcount > 0

    async def queue_position(self, task: Task) -> int:
        """1-based place of a queued task in the order workers of its engine take them (see claim)."""
        keys = _queue_keys(task.spec)
        rank, priority = keys["tier_rank"], keys["priority"]
        ahead = sa.or_(
            tasks.c.tier_rank < rank,
            sa.and_(tasks.c.tier_rank == rank, tasks.c.priority > priority),
            sa.and_(tasks.c.tier_rank == rank, tasks.c.priority == priority, tasks.c.created_at < task.created_at),
        )
        query = sa.select(sa.func.count()).where(
            tasks.c.status == Status.QUEUED.value, tasks.c.engine == keys["engine"], ahead
        )
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one()) + 1

    async def still_running(self, task_ids: Sequence[str]) -> set[str]:
        if not task_ids:
            return set()
        query = sa.select(tasks.c.id).where(tasks.c.id.in_(list(task_ids)), tasks.c.status == Status.RUNNING.value)
        async with self.engine.connect() as conn:
            return {row[0] for row in (await conn.execute(query)).all()}

    async def due_for_expiry(self, now: float, limit: int = 100) -> list[Task]:
        query = (
            sa.select(tasks)
            .where(tasks.c.status.in_([Status.QUEUED.value, Status.RUNNING.value]), tasks.c.expires_at <= now)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_task_from_row(r) for r in (await conn.execute(query)).all()]

    async def finished_before(self, statuses: Sequence[Status], before: float, limit: int = 500) -> list[Task]:
        query = (
            sa.select(tasks)
            .where(tasks.c.status.in_([s.value for s in statuses]), tasks.c.updated_at < before)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_task_from_row(r) for r in (await conn.execute(query)).all()]

    async def results_to_delete(self, before: float, limit: int = 500) -> list[str]:
        """Succeeded tasks finished before `before` whose result files are still stored, oldest first: a range read
        of the partial index ix_tasks_results_kept, which holds only such tasks. SQLite without statistics takes
        the equality on status for a selective one and would read every succeeded task through
        ix_tasks_status_expires; likely() tells it otherwise (and still lets it match the index's WHERE)."""
        succeeded = sa.func.likely(SUCCEEDED) if self.is_sqlite else SUCCEEDED
        query = (
            sa.select(tasks.c.id)
            .where(succeeded, FILES_KEPT, tasks.c.finished_at < before)
            .order_by(tasks.c.finished_at)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def mark_results_deleted(self, task_ids: Sequence[str], now: float) -> None:
        """Record that these tasks' result files are gone (the rows stay, for their history and webhooks)."""
        async with self.engine.begin() as conn:
            for start in range(0, len(task_ids), 500):
                chunk = list(task_ids[start : start + 500])
                await conn.execute(tasks.update().where(tasks.c.id.in_(chunk)).values(files_deleted_at=now))

    async def blobs_in_use(self, digests: set[str]) -> set[str]:
        """Which of these blobs some stored task's inputs use."""
        found: set[str] = set()
        wanted = sorted(digests)
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                query = (
                    sa.select(task_blobs.c.digest)
                    .where(task_blobs.c.digest.in_(wanted[start : start + 500]))
                    .distinct()
                )
                found.update((await conn.execute(query)).scalars().all())
        return found

    async def count_by_status(self) -> dict[str, int]:
        query = sa.select(tasks.c.status, sa.func.count()).group_by(tasks.c.status)
        async with self.engine.connect() as conn:
            return {status: count for status, count in (await conn.execute(query)).all()}

    # -- webhooks -----------------------------------------------------------------------------------------------

    async def add_webhooks(
        self, task_id: str, webhooks: Sequence[Webhook], status: Status = Status.RUNNING, now: float | None = None
    ) -> None:
        """Deliveries for a status change recorded apart from it (tests that stage deliveries); `now`: when it
        happened. Status changes queue theirs in their own transaction (transition, claim)."""
        now = time.time() if now is None else now
        async with self.engine.begin() as conn:
            await _queue_webhooks(conn, task_id, webhooks, now, status)

    async def due_webhooks(self, now: float, limit: int = 50, skip_receivers: Sequence[str] = ()) -> list[Delivery]:
        """Deliveries to send now, oldest first: pending, due, not being sent, the first of their task's deliveries
        to that URL still pending, and not to the receivers in `skip_receivers` (those this node has no room for)."""
        wd = webhook_deliveries
        query = (
            sa.select(wd)
            .where(
                wd.c.status == "pending",
                wd.c.next_attempt_at <= now,
                ~_earlier_pending(wd.c),
                wd.c.receiver.not_in(list(skip_receivers)) if skip_receivers else sa.true(),
            )
            .order_by(wd.c.next_attempt_at, wd.c.created_at)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_delivery(r) for r in rows]

    async def lease_webhook(self, delivery: Delivery, until: float) -> bool:
        """Take the delivery for one attempt: no other node sends it before `until` (when a node that died while
        sending it is presumed gone), and its task's later deliveries to that URL keep waiting."""
        query = (
            webhook_deliveries.update()
            .where(
                webhook_deliveries.c.id == delivery.id,
                webhook_deliveries.c.status == "pending",
                webhook_deliveries.c.attempts == delivery.attempts,
            )
            .values(next_attempt_at=until, leased_until=until, attempts=delivery.attempts + 1)
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(query)).rowcount > 0

    async def settle_webhook(self, delivery_id: str, status: str, next_attempt_at: float, error: str | None) -> None:
        """Record a final outcome (delivered, refused). It is a fact whichever node's attempt it was, so it is written
        over a later lease too, but never over another final outcome."""
        query = (
            webhook_deliveries.update()
            .where(webhook_deliveries.c.id == delivery_id, webhook_deliveries.c.status == "pending")
            .values(status=status, next_attempt_at=next_attempt_at, last_error=error, leased_until=None)
        )
        async with self.engine.begin() as conn:
            await conn.execute(query)

    async def fail_webhook(self, delivery: Delivery, retry_at: float | None, error: str, *, supersede: bool) -> str:
        """Record a failed attempt; returns the delivery's new status. `superseded` when `supersede` and a later
        delivery of the same task to the same URL waits; else `pending` again at `retry_at`, or `dead` (None).

        `delivery` is the row as it was leased (lease_webhook counted this attempt). When the lease ran out and
        another node leased the delivery since, or it was settled meanwhile, nothing is written and the row's status
        as it stands is returned: a late failure must not reschedule another node's attempt or undo an outcome."""
        wd = webhook_deliveries
        later = webhook_deliveries.alias("later")
        waiting = (
            sa.select(sa.func.count())
            .select_from(later)
            .where(
                later.c.task_id == delivery.task_id,
                later.c.url == delivery.url,
                later.c.status == "pending",
                later.c.id != delivery.id,
                sa.or_(
                    later.c.seq > delivery.seq,
                    sa.and_(later.c.seq == delivery.seq, later.c.created_at > delivery.created_at),
                ),
            )
        )
        async with self.engine.begin() as conn:
            if supersede and (await conn.execute(waiting)).scalar_one() > 0:
                status, next_at = "superseded", time.time()
            elif retry_at is None:
                status, next_at = "dead", time.time()
            else:
                status, next_at = "pending", retry_at
            written = await conn.execute(
                wd.update()
                .where(wd.c.id == delivery.id, wd.c.status == "pending", wd.c.attempts == delivery.attempts + 1)
                .values(status=status, next_attempt_at=next_at, last_error=error, leased_until=None)
            )
            if written.rowcount == 0:
                current = (await conn.execute(sa.select(wd.c.status).where(wd.c.id == delivery.id))).scalar()
                return str(current or "gone")
        return status

    async def release_webhooks(self, delivery_ids: Sequence[str]) -> None:
        """Hand back deliveries this node was sending when it stopped: due again at once, for any node."""
        if not delivery_ids:
            return
        now = time.time()
        query = (
            webhook_deliveries.update()
            .where(webhook_deliveries.c.id.in_(list(delivery_ids)), webhook_deliveries.c.status == "pending")
            .values(next_attempt_at=now, leased_until=None)
        )
        async with self.engine.begin() as conn:
            await conn.execute(query)

    async def purge_deliveries(self, before: float) -> None:
        """Drop settled deliveries (including those of deleted tasks) once they are older than the retention."""
        query = webhook_deliveries.delete().where(
            webhook_deliveries.c.status != "pending", webhook_deliveries.c.created_at < before
        )
        async with self.engine.begin() as conn:
            await conn.execute(query)

    async def webhook_history(self, task_id: str) -> list[dict[str, Any]]:
        query = (
            sa.select(webhook_deliveries)
            .where(webhook_deliveries.c.task_id == task_id)
            .order_by(webhook_deliveries.c.seq, webhook_deliveries.c.created_at)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            {
                "id": r.id,
                "url": r.url,
                "status": r.status,
                "attempts": r.attempts,
                "last_error": r.last_error,
                "next_attempt_at": r.next_attempt_at,
                "payload": json.loads(r.payload),
            }
            for r in rows
        ]

    # -- webhook endpoints --------------------------------------------------------------------------------------

    async def insert_endpoint(self, endpoint: Endpoint) -> None:
        values = {**endpoint.__dict__, "event_types": json.dumps(endpoint.event_types)}
        async with self.engine.begin() as conn:
            await conn.execute(webhook_endpoints.insert().values(**values))

    async def list_endpoints(self, owner: str) -> list[Endpoint]:
        query = sa.select(webhook_endpoints).where(webhook_endpoints.c.owner == owner)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.order_by(webhook_endpoints.c.created_at))).all()
        return [_endpoint(r) for r in rows]

    async def endpoints_for(self, owner: str, event_type: str) -> list[Endpoint]:
        return [e for e in await self.list_endpoints(owner) if event_type in e.event_types]

    async def update_endpoint(self, owner: str, endpoint_id: str, **values: Any) -> bool:
        if not _plausible_id(endpoint_id):
            return False
        if "event_types" in values:
            values["event_types"] = json.dumps(values["event_types"])
        query = webhook_endpoints.update().where(
            webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.owner == owner
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(query.values(**values, updated_at=time.time()))).rowcount > 0

    async def delete_endpoint(self, owner: str, endpoint_id: str) -> bool:
        if not _plausible_id(endpoint_id):
            return False
        query = webhook_endpoints.delete().where(
            webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.owner == owner
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(query)).rowcount > 0

    # -- keys ---------------------------------------------------------------------------------------------------

    async def insert_key(self, key: ApiKey, secret_hash: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                api_keys.insert().values(
                    id=key.id,
                    name=key.name,
                    secret_hash=secret_hash,
                    admin=key.admin,
                    created_at=key.created_at,
                )
            )

    async def key_by_hash(self, secret_hash: str) -> ApiKey | None:
        return _key(await self._fast.key_row("secret_hash", secret_hash))

    async def key_by_id(self, key_id: str) -> ApiKey | None:
        return _key(await self._fast.key_row("id", key_id))

    async def list_keys(self) -> list[ApiKey]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(api_keys).order_by(api_keys.c.created_at))).all()
        return [_key(r._mapping) for r in rows]  # type: ignore[misc]

    async def revoke_key(self, key_id: str) -> bool:
        """Revoke a key. On PostgreSQL the same transaction NOTIFYs every node, which drop what they cached about
        keys at once; SQLite nodes read keys on every request, so the next request there sees it."""
        if not _plausible_id(key_id):
            return False
        query = api_keys.update().where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        async with self.engine.begin() as conn:
            changed = (await conn.execute(query.values(revoked_at=time.time()))).rowcount > 0
            if changed and not self.is_sqlite:
                await conn.execute(sa.select(sa.func.pg_notify(KEYS_CHANNEL, key_id)))
        return changed

    async def listen_key_revocations(self, revoked: Callable[[str], None], lost: Callable[[], None]) -> bool:
        """Follow revocations made on any node (PostgreSQL); False where there is nothing to follow (SQLite)."""
        if isinstance(self._fast, PostgresFastPath):
            await self._fast.listen_key_revocations(revoked, lost)
            return True
        return False


def _within_running_caps(now: float) -> sa.ColumnElement[bool]:
    """A task may start unless a budget of its owner already has `max_running` of its keys' tasks running (with a
    live lease: a task whose worker died is not counted, so it can be taken over). Like Ark's concurrency limit, a
    task past it waits in the queue. Soft across nodes: workers claiming at the same instant may each take the
    last slot."""
    mine, theirs, running = key_budgets.alias("mine"), key_budgets.alias("theirs"), tasks.alias("running")
    busy = (
        sa.select(sa.func.count())
        .select_from(running.join(theirs, theirs.c.key_id == running.c.owner))
        .where(
            theirs.c.budget_id == budgets.c.id,
            running.c.status == Status.RUNNING.value,
            running.c.lease_expires_at >= now,
        )
        .scalar_subquery()
    )
    full = (
        sa.select(mine.c.budget_id)
        .select_from(mine.join(budgets, budgets.c.id == mine.c.budget_id))
        .where(mine.c.key_id == tasks.c.owner, budgets.c.max_running.is_not(None), busy >= budgets.c.max_running)
    )
    return ~sa.exists(full)


class DuplicateRequest(Exception):
    """A create whose Idempotency-Key another create recorded first."""

    def __init__(self, request_hash: str, task_id: str) -> None:
        super().__init__(task_id)
        self.request_hash = request_hash
        self.task_id = task_id


@dataclass
class _PendingInsert:
    """One create waiting for its group commit: its rows, and what it asks of the budgets (None: nothing)."""

    row: dict[str, Any]
    hooks: list[dict[str, Any]]
    blobs: list[dict[str, Any]]
    admission: Admission | None
    billing: Billing | None = None
    idempotency: dict[str, Any] | None = None  # its `idempotency` row
    budgets: tuple[str, ...] = ()  # filled in by the commit: what it reserved against


def _insert_batches(batch: Sequence[_PendingInsert]) -> Batches:
    return [
        (tasks, [item.row for item in batch]),
        (webhook_deliveries, [hook for item in batch for hook in item.hooks]),
        (task_blobs, [blob for item in batch for blob in item.blobs]),
        (idempotency_keys, [item.idempotency for item in batch if item.idempotency is not None]),
    ]


def _billing_json(billing: Billing, budget_ids: tuple[str, ...] = ()) -> str:
    return json.dumps({**billing.to_json(), "budgets": list(budget_ids)} if budget_ids else billing.to_json())


def _key(row: Any) -> ApiKey | None:
    if row is None:
        return None
    return ApiKey(
        row["id"], row["name"], bool(row["admin"]), row["created_at"], row["revoked_at"], bool(row["limited"])
    )


def _plausible_id(ident: str) -> bool:
    """IDs are short printable strings; anything else matches nothing, and never reaches PostgreSQL, which refuses
    a NUL in text with an error rather than a miss (SQLite just finds nothing)."""
    return 0 < len(ident) <= 200 and ident.isprintable()


def _queue_keys(spec: TaskPlan) -> dict[str, Any]:
    """The columns claim orders the queue by (tier_rank 1 for flex: flex runs only when no default task waits)."""
    return {
        "engine": spec.engine,
        "tier_rank": 1 if spec.service_tier == "flex" else 0,
        "priority": spec.priority,
    }


def _upgrade(sync_conn: sa.Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(resources.files("seedgate.store").joinpath("migrations")))
    config.attributes["connection"] = sync_conn
    command.upgrade(config, "head")


async def wait_until_reachable(store: Store, attempts: int = 30) -> None:
    """Databases started alongside seedgate (compose, CI) may need a moment; try before giving up."""
    for attempt in range(attempts):
        try:
            async with store.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            return
        except Exception:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)
