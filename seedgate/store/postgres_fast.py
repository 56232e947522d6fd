"""The PostgreSQL hot paths on a plain asyncpg pool: SQLAlchemy's async layer costs more than the query itself."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import asyncpg

from .batching import Batches

if TYPE_CHECKING:  # types only: budgets.py imports this module
    from .budgets import Admitted, Reserving

NEW_TASKS_CHANNEL = "seedgate_new_tasks"
KEYS_CHANNEL = "seedgate_keys"  # payload: the id of a key that was revoked


class PostgresFastPath:
    def __init__(self, dsn: str, max_size: int = 10) -> None:
        self._dsn = dsn
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()  # requests arriving together at start must not each open a pool
        self._listener: asyncpg.Connection | None = None
        self._listener_lock = asyncio.Lock()
        self._closing = False  # our own close of the listener is not a lost connection

    async def _acquire_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=self._max_size)
        return self._pool

    async def task_row(self, task_id: str) -> asyncpg.Record | None:
        pool = await self._acquire_pool()
        return await pool.fetchrow("SELECT * FROM tasks WHERE id = $1", task_id)

    async def insert_many(self, reserving: Reserving, rows: Callable[[Admitted], Batches]) -> Admitted:
        """In one transaction: run the budgets' reservation (store/budgets.py `reserve`), then insert the rows it
        leaves in (`rows` is told what was admitted) into several tables."""
        pool = await self._acquire_pool()
        async with pool.acquire() as conn, conn.transaction():
            admitted = await _run(conn, reserving)
            for table, values in rows(admitted):
                if values:
                    columns = list(values[0])
                    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
                    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})"
                    await conn.executemany(sql, [tuple(row[c] for c in columns) for row in values])
            # Delivered at commit: workers on other machines wake at once instead of at their next poll.
            await conn.execute(f"NOTIFY {NEW_TASKS_CHANNEL}")
        return admitted

    async def key_row(self, column: str, value: str) -> asyncpg.Record | None:
        assert column in ("secret_hash", "id")
        pool = await self._acquire_pool()
        return await pool.fetchrow(f"SELECT * FROM api_keys WHERE {column} = $1", value)

    async def _listening(self) -> asyncpg.Connection:
        """The one dedicated connection this process LISTENs on (new tasks, key revocations)."""
        async with self._listener_lock:
            if self._listener is None:
                self._listener = await asyncpg.connect(self._dsn)
            return self._listener

    async def listen_new_tasks(self, wake: Callable[[], None]) -> None:
        """Call `wake` whenever any node commits new tasks (a dedicated connection, kept for the process)."""
        await (await self._listening()).add_listener(NEW_TASKS_CHANNEL, lambda *_: wake())

    async def listen_key_revocations(self, revoked: Callable[[str], None], lost: Callable[[], None]) -> None:
        """Call `revoked(key_id)` when any node revokes a key; `lost()` if the listening connection closes (from then
        on nothing tells this process about revocations, so the caller must stop trusting what it cached)."""
        conn = await self._listening()
        await conn.add_listener(KEYS_CHANNEL, lambda _conn, _pid, _channel, payload: revoked(payload))
        conn.add_termination_listener(lambda _conn: None if self._closing else lost())

    async def close(self) -> None:
        self._closing = True
        if self._listener is not None:
            await self._listener.close()
        if self._pool is not None:
            await self._pool.close()


async def _run(conn: asyncpg.Connection, reserving: Reserving) -> Admitted:
    try:
        statement = next(reserving)
        while True:
            sql = _numbered(statement.sql)
            if statement.many:
                await conn.executemany(sql, statement.params)
                statement = reserving.send([])
            else:
                statement = reserving.send([dict(r) for r in await conn.fetch(sql, *statement.params)])
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def _numbered(sql: str) -> str:
    """`?` placeholders as asyncpg's `$1, $2, ...` (the shared SQL has no `?` of its own)."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))
