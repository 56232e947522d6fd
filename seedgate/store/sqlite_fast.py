"""The SQLite hot paths on the plain sqlite3 driver.

Through SQLAlchemy's async engine every statement costs several hops to aiosqlite's thread (about 1 ms for a
primary-key read that sqlite3 answers in 15 µs). In WAL mode readers never wait for writers, so task reads run
right on the event loop; inserts, with the budget reservations of the creates they store, go to one writer thread,
one hop per group-committed batch.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from .batching import Batches
from .budgets import Admitted, Reserving


def _connect(path: str, busy_ms: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout={busy_ms}")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class SqliteFastPath:
    def __init__(self, path: str) -> None:
        self._path = path
        self._reader: sqlite3.Connection | None = None
        self._writer: sqlite3.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

    async def task_row(self, task_id: str) -> sqlite3.Row | None:
        if self._reader is None:
            self._reader = _connect(self._path, busy_ms=2000)
        row: sqlite3.Row | None = self._reader.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
        return row  # fetchone is typed Any; _connect's row_factory makes it a Row

    async def key_row(self, column: str, value: str) -> sqlite3.Row | None:
        """An API key by `secret_hash` or `id`: read on every request (no cache), so a revocation made by any process
        on this database, `seedgate keys revoke` included, takes effect on the next request."""
        if self._reader is None:
            self._reader = _connect(self._path, busy_ms=2000)
        assert column in ("secret_hash", "id")
        row: sqlite3.Row | None = self._reader.execute(
            f"SELECT * FROM api_keys WHERE {column} = ?", (value,)
        ).fetchone()
        return row

    async def insert_many(self, reserving: Reserving, rows: Callable[[Admitted], Batches]) -> Admitted:
        """In one transaction on the writer thread: run the budgets' reservation (store/budgets.py `reserve`),
        then insert the rows it leaves in (`rows` is told what was admitted) into several tables."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._insert_many, reserving, rows)

    def _insert_many(self, reserving: Reserving, rows: Callable[[Admitted], Batches]) -> Admitted:
        if self._writer is None:
            self._writer = _connect(self._path, busy_ms=10000)
        conn = self._writer
        # IMMEDIATE: the write lock from the start, so what the reservation reads no other writer changes.
        conn.execute("BEGIN IMMEDIATE")
        try:
            admitted = _run(conn, reserving)
            for table, values in rows(admitted):
                if values:
                    columns = list(values[0])
                    sql = (
                        f"INSERT INTO {table.name} ({', '.join(columns)}) "
                        f"VALUES ({', '.join(':' + c for c in columns)})"
                    )
                    conn.executemany(sql, values)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return admitted

    async def close(self) -> None:
        self._executor.shutdown(wait=True)
        for conn in (self._reader, self._writer):
            if conn is not None:
                conn.close()


def _run(conn: sqlite3.Connection, reserving: Reserving) -> Admitted:
    try:
        statement = next(reserving)
        while True:
            if statement.many:
                conn.executemany(statement.sql, statement.params)
                statement = reserving.send([])
            else:
                statement = reserving.send([dict(r) for r in conn.execute(statement.sql, statement.params)])
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
