"""What every upstream client speaks: the outcome classes of a create, the upstream task as seen by a poll, and
the HTTP plumbing (auth, limits, error reading) the Ark and OpenAI clients share.

A create has three outcomes besides success, and failover depends on telling them apart:
- Refused: the upstream certainly did not take the task (nothing sent, 429, bad key): another channel may.
- Rejected: the upstream read the request and said no (400): every channel would; the task fails.
- Unsure: the request left and no answer came back (timeout, dropped connection, 5xx): the task may exist
  upstream, so it is looked up, never sent again.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from seedgate.core.plan import TaskPlan

from .channels import Channel

MAX_RESULT_BYTES = 2 * 1024**3


class Refused(Exception):
    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class Rejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Unsure(Exception):
    def __init__(self, reason: str, answered: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        # The upstream answered (a 5xx): it is done with the request, so a lookup can settle the question soon.
        self.answered = answered


class Unavailable(Exception):
    """A read (poll, list, download) failed for now; try again later."""


@dataclass
class UpstreamTask:
    id: str
    status: str  # queued | running | succeeded | failed | expired | cancelled, as seedgate words them
    video_url: str | None = None
    last_frame_url: str | None = None
    usage: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    progress: float | None = None
    duration: int | None = None
    frames: int | None = None
    marker: str | None = None  # the echoed identity seedgate gave the create, where the upstream echoes one
    created_at: float | None = None
    model: str | None = None
    prompt: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outgoing:
    """One create, ready for the wire: media already turned into URLs the upstream can read."""

    spec: TaskPlan
    upstream_model: str
    marker: str
    media_urls: tuple[str, ...]  # one per spec.media item, same order
    media_paths: tuple[Path, ...]  # the same items' bytes in seedgate's blob store
    callback_url: str | None = None


class Upstream(Protocol):
    """One channel's upstream as the relay uses it. ArkClient and OpenAIVideosClient speak HTTP; tests give the
    relay an in-memory one."""

    channel: Channel
    queries: RateLimiter  # single reads (get, cancel, find)
    lists: RateLimiter | None  # list calls; None: this channel never lists
    list_ok_after: float  # monotonic time before which list calls are not tried (one failed)
    batch_reads: bool  # get_many works: many tasks polled with one list call
    echoes_marker: bool  # reads carry the create's marker, so `find` needs no spec and never matches another task

    async def create(self, out: Outgoing) -> str:
        """The new upstream task's ID; raises Refused, Rejected or Unsure (see the module note)."""
        ...

    async def get(self, upstream_id: str, prepaid: bool = False) -> UpstreamTask | None:
        """The task as the upstream sees it, None when it does not know it; Unavailable when it cannot tell now.
        `prepaid`: the caller already took a `queries` token."""
        ...

    async def get_many(self, upstream_ids: list[str]) -> dict[str, UpstreamTask]:
        """Many tasks in one list call, its `lists` token taken by the caller (only when `batch_reads`)."""
        ...

    async def find(self, marker: str, upstream_model: str, spec: TaskPlan | None, since: float) -> list[UpstreamTask]:
        """The upstream's tasks that are this create (sent at `since`), oldest first."""
        ...

    async def cancel(self, upstream_id: str) -> bool:
        """Cancel a task still queued there (or delete a finished one); False when the upstream refused."""
        ...

    def result_urls(self, task: UpstreamTask) -> dict[str, str]:
        """Where a succeeded task's files are: "video", and "last_frame" where there is one."""
        ...

    async def download(self, url: str, dest: Path, *, authorized: bool) -> None:
        """Fetch a result file from the channel's own host into `dest`; Unavailable when it cannot."""
        ...

    async def aclose(self) -> None: ...


class RateLimiter:
    """At most `rate` calls in any sliding second, shared by every caller of one channel endpoint.

    A sliding log rather than a token bucket: a bucket lets a full burst follow a second of steady calls, which
    an upstream counting calls per sliding second answers with 429s. A call is logged when it is sent and again
    when its answer came back (`finished`): it reached the upstream somewhere in between, and on a busy node the
    send can lag the decision to send by a good part of a second.
    """

    def __init__(self, rate: float) -> None:
        self.calls = max(1, int(rate))
        self.window = 1.05 * self.calls / rate
        self._log: deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()

    def _wait_s(self) -> float:
        now = time.monotonic()
        while self._log and self._log[0] <= now - self.window:
            self._log.popleft()
        if now < self._blocked_until:
            return self._blocked_until - now
        if len(self._log) < self.calls:
            return 0.0
        return self._log[0] + self.window - now

    def try_take(self) -> bool:
        if self._wait_s() > 0:
            return False
        self._log.append(time.monotonic())
        return True

    async def take(self) -> None:
        async with self._lock:
            while (wait := self._wait_s()) > 0:
                await asyncio.sleep(wait)
            self._log.append(time.monotonic())

    def finished(self) -> None:
        """A call this limiter allowed has its answer: count it from now (replacing its oldest entry)."""
        if self._log:
            self._log.popleft()
        self._log.append(time.monotonic())

    def pause(self, seconds: float) -> None:
        """The upstream said 429: no calls for `seconds`."""
        self._blocked_until = max(self._blocked_until, time.monotonic() + seconds)


def retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def error_of(response: httpx.Response) -> tuple[str, str]:
    """(code, message) from an Ark or OpenAI error envelope, or from the status line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or error.get("type") or response.status_code)
        return code, str(error.get("message") or response.reason_phrase)
    return str(response.status_code), (response.text[:200] or response.reason_phrase)


class HttpClient:
    """One channel's connection pool, key and query limits, and the reads every upstream shape shares."""

    path: str  # the task collection, relative to the channel's base URL
    parse: Callable[[dict[str, Any]], UpstreamTask]

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.http = httpx.AsyncClient(
            base_url=channel.base_url,
            timeout=channel.timeout_s,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )
        self.queries = RateLimiter(channel.query_rps)
        self.lists = RateLimiter(channel.list_rps) if channel.list_rps > 0 else None
        self.list_ok_after = 0.0  # monotonic time before which list calls are not tried (one failed)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.channel.key}"}

    async def aclose(self) -> None:
        await self.http.aclose()

    async def send_create(self, **kwargs: Any) -> str:
        """POST a create once, classify what happened (see the module note), and return the new task's ID."""
        try:
            response = await self.http.request("POST", self.path, headers=self.headers, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Refused(f"cannot connect ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise Unsure(f"no answer after sending ({type(exc).__name__})", answered=False) from None
        if response.status_code < 300:
            task_id = response.json().get("id")
            if not isinstance(task_id, str) or not task_id:
                raise ValueError("the upstream accepted the create but sent no task id")
            return task_id
        code, message = error_of(response)
        if response.status_code == 429:
            raise Refused(f"429 {code}: {message}", retry_after(response))
        if response.status_code in (401, 403, 404):
            # The channel's key or model mapping is wrong: a channel problem, not the task's.
            raise Refused(f"{response.status_code} {code}: {message}")
        if response.status_code >= 500:
            raise Unsure(f"{response.status_code} {code}: {message}", answered=True)
        raise Rejected(code, message)

    async def read(
        self, method: str, path: str, limiter: RateLimiter | None = None, prepaid: bool = False, **kwargs: Any
    ) -> httpx.Response | None:
        """A rate-limited read (`prepaid`: the caller already took the token); None for 404, Unavailable for
        anything transient."""
        limiter = limiter or self.queries
        if not prepaid:
            await limiter.take()
        try:
            response = await self.http.request(method, path, headers=self.headers, **kwargs)
        except httpx.TransportError as exc:
            raise Unavailable(f"{type(exc).__name__}") from None
        finally:
            limiter.finished()
        if response.status_code == 404:
            return None
        if response.status_code == 429:
            limiter.pause(retry_after(response) or 1.0)
            raise Unavailable("429 from upstream")
        if response.status_code >= 400:
            code, message = error_of(response)
            raise Unavailable(f"{response.status_code} {code}: {message}")
        return response

    async def get(self, upstream_id: str, prepaid: bool = False) -> UpstreamTask | None:
        response = await self.read("GET", f"{self.path}/{upstream_id}", prepaid=prepaid)
        return self.parse(response.json()) if response is not None else None

    async def cancel(self, upstream_id: str) -> bool:
        """DELETE: cancels a task the upstream still has queued (and deletes a finished one); False when the
        upstream refused or could not be asked."""
        try:
            return await self.read("DELETE", f"{self.path}/{upstream_id}") is not None
        except Unavailable:
            return False

    async def download(self, url: str, dest: Path, *, authorized: bool) -> None:
        """Stream a result into `dest` (size-capped); `authorized` sends the channel key (same-host URLs only)."""
        headers = self.headers if authorized else {}
        tmp = dest.with_suffix(dest.suffix + ".part")
        try:
            async with self.http.stream("GET", url, headers=headers, timeout=max(60.0, self.channel.timeout_s)) as r:
                if r.status_code != 200:
                    raise Unavailable(f"download answered {r.status_code}")
                size = 0
                with tmp.open("wb") as out:
                    async for chunk in r.aiter_bytes(1 << 16):
                        size += len(chunk)
                        if size > MAX_RESULT_BYTES:
                            raise Unavailable("the result is larger than 2 GiB")
                        out.write(chunk)
            tmp.replace(dest)
        except httpx.TransportError as exc:
            raise Unavailable(f"download failed ({type(exc).__name__})") from None
        finally:
            tmp.unlink(missing_ok=True)
