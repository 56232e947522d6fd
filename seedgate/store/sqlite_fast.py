"""The SQLite hot paths on the plain sqlite3 driver.

Through SQLAlchemy's async engine every statement costs several hops to aiosqlite's thread (about 1 ms for a
primary-key read that sqlite3 answers in 15 µs). In WAL mode readers never wait for writers, so task reads run
right on the event loop; inserts go to one writer thread, one hop per group-committed batch.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa


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

    async def insert_many(self, batches: Sequence[tuple[sa.Table, list[dict[str, Any]]]]) -> None:
        """Insert rows into several tables in one transaction on the writer thread."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._insert_many, batches)

    def _insert_many(self, batches: Sequence[tuple[sa.Table, list[dict[str, Any]]]]) -> None:
        if self._writer is None:
            self._writer = _connect(self._path, busy_ms=10000)
        conn = self._writer
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table, rows in batches:
                if rows:
                    columns = list(rows[0])
                    sql = (
                        f"INSERT INTO {table.name} ({', '.join(columns)}) "
                        f"VALUES ({', '.join(':' + c for c in columns)})"
                    )
                    conn.executemany(sql, rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        self._executor.shutdown(wait=True)
        for conn in (self._reader, self._writer):
            if conn is not None:
                conn.close()
