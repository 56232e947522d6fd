"""The one way tests wait for something another thread or process does: poll until it holds, or fail naming it.

A wait is never an assertion about time: the timeout is only how long to keep asking before giving up, and a
failure says what was awaited and the last value seen (so a slow machine shows up as "never happened, last saw X",
not as a bare "took too long").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

_NOTHING = object()


def _truthy(value: object) -> bool:
    return bool(value)


def _gave_up(what: str, timeout: float, last: object) -> AssertionError:
    seen = "nothing (the probe never returned)" if last is _NOTHING else repr(last)
    if len(seen) > 2000:
        seen = seen[:2000] + "…"
    return AssertionError(f"gave up after {timeout:g} s waiting for {what}; last seen: {seen}")


def wait_until(
    probe: Callable[[], T],
    what: str,
    *,
    until: Callable[[T], bool] = _truthy,
    timeout: float = 60,
    interval: float = 0.1,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `probe` until `until(value)` holds (by default: the value is truthy) and return that value.

    Exceptions of the types in `retry_on` count as "not yet" (e.g. a connection refused while a server starts);
    any other exception, an assertion inside the probe included, fails the wait at once.
    """
    deadline = time.monotonic() + timeout
    last: object = _NOTHING
    while True:
        try:
            value = probe()
        except retry_on as exc:
            last = exc
        else:
            if until(value):
                return value
            last = value
        if time.monotonic() >= deadline:
            raise _gave_up(what, timeout, last)
        time.sleep(interval)


async def wait_until_async(
    probe: Callable[[], Awaitable[T]],
    what: str,
    *,
    until: Callable[[T], bool] = _truthy,
    timeout: float = 60,
    interval: float = 0.05,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """`wait_until` for a coroutine probe, sleeping on the event loop between calls."""
    deadline = time.monotonic() + timeout
    last: object = _NOTHING
    while True:
        try:
            value = await probe()
        except retry_on as exc:
            last = exc
        else:
            if until(value):
                return value
            last = value
        if time.monotonic() >= deadline:
            raise _gave_up(what, timeout, last)
        await asyncio.sleep(interval)
