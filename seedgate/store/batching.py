"""Group commit: callers that arrive while a write is in flight share the next transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

Item = TypeVar("Item")
Waiting = list[tuple[Item, asyncio.Future[None]]]
# What a write may answer: nothing (every item committed), or per item None (committed) or the error to raise to
# its caller (left out of the committed transaction, as a create refused by a budget is).
Outcomes = list[BaseException | None] | None
# The rows one write inserts, per table, in order.
Batches = Sequence[tuple[sa.Table, list[dict[str, Any]]]]


class GroupCommit(Generic[Item]):
    def __init__(self, write: Callable[[list[Item]], Awaitable[Outcomes]], max_batch: int = 256) -> None:
        self._write = write
        self._max_batch = max_batch
        self._pending: Waiting[Item] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> None:
        """Return once `item` is committed; raise what its write raised."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await asyncio.shield(future)  # a caller going away must not cancel the others' commit

    async def _flush(self) -> None:
        batch: Waiting[Item] = []
        try:
            while self._pending:
                batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
                await self._write_batch(batch)
        finally:
            # Cancelled (shutdown) or hit by a BaseException: fail the rest rather than leave callers hanging.
            left, self._pending = batch + self._pending, []
            for _, future in left:
                _resolve(future, RuntimeError("the write was interrupted"))

    async def _write_batch(self, batch: Waiting[Item]) -> None:
        if len(batch) > 1:
            try:
                outcomes = await self._write([item for item, _ in batch])
            except Exception:
                pass  # one bad row must not fail its neighbours: write them one by one below
            else:
                for (_, future), outcome in zip(batch, outcomes or [None] * len(batch), strict=True):
                    _resolve(future, outcome)
                return
        for item, future in batch:
            try:
                outcome = (await self._write([item]) or [None])[0]
            except Exception as exc:
                _resolve(future, exc)
            else:
                _resolve(future, outcome)


def _resolve(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
