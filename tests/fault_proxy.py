"""A TCP-level HTTP/1.1 fault-injection proxy for tests of seedgate's upstream channels.

It sits between the gateway (client side) and an upstream HTTP server and injects faults at the transport level,
so the gateway sees real timeouts, real dropped connections and real refused connects. It is written on plain
asyncio streams because an ASGI app cannot drop a connection without the server answering 500 for it.

The proxy runs its own event loop in a background thread, so synchronous pytest code can drive it:

    with FaultProxy("http://127.0.0.1:9000") as proxy:
        proxy.add_fault(method="POST", path=r"/tasks$", action="drop_after_forward")
        proxy.limit(method="GET", path=r"/tasks/[^/]+$", per_second=20)
        ... point the gateway at proxy.url ...
        assert proxy.count("POST", r"/tasks$") == 1 and proxy.count_limited() == 0

Fault rules are matched in the order they were added; `path` is a regular expression searched (re.search) in the
request path without its query string. Each rule fires `times` times (None: forever) and then disappears.
Rate limits are checked before fault rules: a limited request consumes no rule.

Actions:
    status                answer `status` at once (default 503) with a JSON `body`, without forwarding
    refuse                close the connection right after reading the request (reset=True: send a TCP RST)
    drop_after_forward    forward (the upstream acts on it), then close without answering
    hang_after_forward    forward, then never answer until the client gives up or `hang_s` passes (default 600)
    delay                 sleep `seconds`, then forward normally
    status_after_forward  forward (the upstream acts on it), then answer `status` (default 502) with an error body
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx

ACTIONS = ("status", "refuse", "drop_after_forward", "hang_after_forward", "delay", "status_after_forward")
# Actions whose request reaches the upstream (used by count_forwarded).
_FORWARDING = ("drop_after_forward", "hang_after_forward", "status_after_forward")
# Hop-by-hop headers (RFC 9110 7.6.1) plus Host and the framing headers, which are recomputed on each side.
_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "expect",
    }
)
_ERROR_TYPES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    429: "TooManyRequests",
}
_MAX_HEAD = 1 << 20  # request line + headers; a list call with 500 task IDs is ~25 KB
_CHUNK = 1 << 16
_JSON = [("Content-Type", "application/json")]


class Record(NamedTuple):
    """One request the proxy received. `outcome` is the upstream's status when it was relayed as is, else the
    name of what happened instead: a fault action, "limited" (rate limit) or "upstream_error" (unreachable)."""

    method: str
    path: str
    query: str
    outcome: int | str
    t: float  # time.monotonic() when the request head had been read


@dataclass
class _Rule:
    method: str | None
    path: re.Pattern[str] | None
    action: str
    times: int | None
    params: dict[str, Any]

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or bool(self.path.search(path)))


@dataclass
class _Limit:
    method: str | None
    path: re.Pattern[str] | None
    per_second: float
    accepted: deque[float] = field(default_factory=deque)

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or bool(self.path.search(path)))


@dataclass
class _Request:
    method: str
    target: str  # path + query as sent
    path: str
    query: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for k, v in self.headers if k.lower() == "connection" for t in v.split(",")}
        return "close" not in tokens if self.version == "HTTP/1.1" else "keep-alive" in tokens


class _BadRequest(Exception):
    pass


def ark_error(status: int, code: str | None = None, message: str | None = None) -> dict[str, Any]:
    """An Ark-style error envelope for `status` (429: RateLimitExceeded.EndpointRPMExceeded, 5xx:
    InternalServiceError unless `code` says otherwise)."""
    if code is None:
        code = (
            "RateLimitExceeded.EndpointRPMExceeded"
            if status == 429
            else "InternalServiceError"
            if status >= 500
            else "InvalidParameter"
        )
    if message is None:
        message = f"injected by the fault proxy: HTTP {status}"
    kind = _ERROR_TYPES.get(status, "InternalServerError" if status >= 500 else "BadRequest")
    return {"error": {"code": code, "message": message, "param": "", "type": kind}}


class FaultProxy:
    """See the module docstring. All public methods are safe to call from any thread."""

    def __init__(self, upstream: str, *, upstream_timeout: float | None = 600.0) -> None:
        self.upstream = upstream.rstrip("/")
        self._upstream_timeout = upstream_timeout
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._limits: list[_Limit] = []
        self._records: list[Record] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._client: httpx.AsyncClient | None = None
        self._conns: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    # ---- life cycle ----

    def start(self) -> str:
        """Bind 127.0.0.1 on a free port in a background thread; returns `url`."""
        if self._thread is not None:
            return self.url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        self._call(self._open())
        self._call(self._listen(0))
        return self.url

    def stop(self) -> None:
        """Close the listener and every open connection, then end the loop thread."""
        if self._thread is None or self._loop is None:
            return
        with contextlib.suppress(Exception):
            self._call(self._shutdown(), timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._thread = self._loop = None

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pause(self, drop_connections: bool = True) -> None:
        """Close the listening socket, so new connects are refused (ECONNREFUSED); by default also close the
        open keep-alive connections, so that pooled clients cannot slip through."""
        self._call(self._pause(drop_connections))

    def resume(self) -> None:
        """Listen again on the same port."""
        self._call(self._listen(self.port))

    # ---- faults and limits ----

    def add_fault(
        self,
        method: str | None = None,
        path: str | None = None,
        action: str = "status",
        times: int | None = 1,
        **params: Any,
    ) -> None:
        """Add a rule (see the module docstring for actions and their params: status, body, headers, reset,
        hang_s, seconds, code, message)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; one of {ACTIONS}")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        rule = _Rule(method.upper() if method else None, re.compile(path) if path else None, action, times, params)
        with self._lock:
            self._rules.append(rule)

    def clear_faults(self) -> None:
        with self._lock:
            self._rules.clear()

    def limit(self, method: str | None = None, path: str | None = None, per_second: float = 20) -> None:
        """Answer 429 (Ark RateLimitExceeded) without forwarding once more than `per_second` matching requests
        were accepted in the last second (sliding window)."""
        with self._lock:
            self._limits.append(
                _Limit(method.upper() if method else None, re.compile(path) if path else None, per_second)
            )

    def clear_limits(self) -> None:
        with self._lock:
            self._limits.clear()

    # ---- observations ----

    @property
    def requests(self) -> list[Record]:
        """A copy of every request record so far, oldest first."""
        with self._lock:
            return list(self._records)

    def count(self, method: str | None = None, path: str | None = None, outcome: int | str | None = None) -> int:
        """How many received requests match (method exact, path regex searched, outcome equal), faulted or not."""
        rx = re.compile(path) if path else None
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (rx is None or rx.search(r.path))
            and (outcome is None or r.outcome == outcome)
        )

    def count_forwarded(self, method: str | None = None, path: str | None = None) -> int:
        """How many matching requests reached the upstream (relayed, or faulted after forwarding)."""
        rx = re.compile(path) if path else None
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (rx is None or rx.search(r.path))
            and (isinstance(r.outcome, int) or r.outcome in _FORWARDING)
        )

    def count_limited(self) -> int:
        return self.count(outcome="limited")

    def reset_records(self) -> None:
        with self._lock:
            self._records.clear()

    # ---- loop side ----

    def _call(self, coro: Any, timeout: float = 30) -> Any:
        assert self._loop is not None, "the proxy is not started"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _open(self) -> None:
        # No pool cap: a benchmark may hold 1,000 tasks in flight; timeouts are the gateway's business.
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self._upstream_timeout),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=200),
            follow_redirects=False,
            trust_env=False,
        )

    async def _listen(self, port: int) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port, limit=_MAX_HEAD, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _pause(self, drop: bool) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if drop:
            for writer in list(self._writers):
                writer.close()

    async def _shutdown(self) -> None:
        await self._pause(True)
        for task in list(self._conns):
            task.cancel()
        if self._conns:
            await asyncio.wait(list(self._conns), timeout=5)
        if self._client is not None:
            await self._client.aclose()

    def _record(self, req: _Request, outcome: int | str, t: float) -> None:
        with self._lock:
            self._records.append(Record(req.method, req.path, req.query, outcome, t))

    def _decide(self, req: _Request, now: float) -> tuple[str | None, dict[str, Any]]:
        """Under the lock: 'limited', a fault action with its params, or (None, {}) to forward as is."""
        with self._lock:
            for lim in self._limits:
                if lim.matches(req.method, req.path):
                    while lim.accepted and lim.accepted[0] <= now - 1.0:
                        lim.accepted.popleft()
                    if len(lim.accepted) >= lim.per_second:
                        return "limited", {}
                    lim.accepted.append(now)
            for rule in self._rules:
                if rule.matches(req.method, req.path):
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times == 0:
                            self._rules.remove(rule)
                    return rule.action, rule.params
        return None, {}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        self._writers.add(writer)
        try:
            while True:
                try:
                    req = await self._read_request(reader, writer)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return  # the client closed its keep-alive connection
                except (_BadRequest, asyncio.LimitOverrunError, ValueError):
                    await self._write(writer, 400, _JSON, json.dumps(ark_error(400)).encode(), keep_alive=False)
                    return
                if req is None:
                    return
                if not await self._handle(req, reader, writer):
                    return
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._conns.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)

    async def _read_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> _Request | None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        while lines and not lines[0]:
            lines.pop(0)  # tolerate stray CRLFs between requests (RFC 9112 2.2)
        if not lines:
            return None
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest(lines[0])
        method, target, version = parts
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequest(line)
            headers.append((name.strip(), value.strip()))
        if target.startswith(("http://", "https://")):  # absolute form: keep path + query
            split = urlsplit(target)
            target = (split.path or "/") + (f"?{split.query}" if split.query else "")
        path, _, query = target.partition("?")
        lower = {k.lower(): v for k, v in headers}
        if lower.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in lower.get("transfer-encoding", "").lower():
            body = await self._read_chunked(reader)
        else:
            length = int(lower.get("content-length", "0") or 0)
            body = await reader.readexactly(length) if length else b""
        return _Request(method.upper(), target, path, query, version, headers, body)

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        parts = []
        while True:
            size_line = (await reader.readuntil(b"\r\n")).split(b";")[0].strip()
            size = int(size_line, 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers are dropped
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def _handle(self, req: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection must be closed."""
        t = time.monotonic()
        action, params = self._decide(req, t)
        keep = req.keep_alive
        if action == "limited":
            self._record(req, "limited", t)
            body = ark_error(
                429, "RateLimitExceeded", "the request rate exceeded the upstream's query limit (fault proxy)"
            )
            await self._write(writer, 429, _JSON, json.dumps(body).encode(), keep)
            return keep
        if action == "status":
            status = int(params.get("status", 503))
            self._record(req, "status", t)
            await self._write(writer, status, self._extra_headers(params), self._fault_body(status, params), keep)
            return keep
        if action == "refuse":
            self._record(req, "refuse", t)
            self._close_now(writer, bool(params.get("reset", False)))
            return False
        if action == "delay":
            await asyncio.sleep(float(params.get("seconds", 1.0)))

        try:
            resp = await self._forward(req)
        except httpx.HTTPError as exc:
            self._record(req, "upstream_error", t)
            body = ark_error(502, "InternalServiceError", f"the fault proxy could not reach the upstream: {exc!r}")
            await self._write(writer, 502, _JSON, json.dumps(body).encode(), keep)
            return keep

        if action in _FORWARDING:
            # The upstream has fully answered (it acted on the request); the client never learns the answer.
            with contextlib.suppress(httpx.HTTPError):
                await resp.aread()
            await resp.aclose()
            self._record(req, action, t)
            if action == "drop_after_forward":
                self._close_now(writer, bool(params.get("reset", False)))
                return False
            if action == "hang_after_forward":
                # Hold the connection until the client closes it (EOF) or hang_s passes.
                with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
                    await asyncio.wait_for(reader.read(), float(params.get("hang_s", 600)))
                return False
            status = int(params.get("status", 502))
            await self._write(writer, status, self._extra_headers(params), self._fault_body(status, params), keep)
            return keep

        self._record(req, resp.status_code, t)
        try:
            await self._relay(req, resp, writer, keep)
        finally:
            await resp.aclose()
        return keep

    async def _forward(self, req: _Request) -> httpx.Response:
        assert self._client is not None
        headers = [(k, v) for k, v in req.headers if k.lower() not in _HOP]
        request = self._client.build_request(
            req.method,
            self.upstream + req.target,
            headers=headers,
            content=req.body if req.body or req.method not in ("GET", "HEAD") else None,
        )
        return await self._client.send(request, stream=True)

    async def _relay(self, req: _Request, resp: httpx.Response, writer: asyncio.StreamWriter, keep: bool) -> None:
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in resp.headers.raw
            if k.decode("latin-1").lower() not in _HOP
        ]
        no_body = req.method == "HEAD" or resp.status_code in (204, 304) or 100 <= resp.status_code < 200
        if no_body:
            if req.method == "HEAD" and "content-length" in resp.headers:
                headers.append(("Content-Length", resp.headers["content-length"]))
            await self._write(writer, resp.status_code, headers, b"", keep, reason=resp.reason_phrase, length=False)
            return
        declared = resp.headers.get("content-length")
        if declared is not None and declared.isdigit():
            # Stream large bodies (result videos) straight through; aiter_raw keeps any content-encoding intact.
            headers.append(("Content-Length", declared))
            await self._write(writer, resp.status_code, headers, b"", keep, reason=resp.reason_phrase, length=False)
            async for chunk in resp.aiter_raw(_CHUNK):
                writer.write(chunk)
                await writer.drain()
            return
        body = b"".join([chunk async for chunk in resp.aiter_raw()])
        await self._write(writer, resp.status_code, headers, body, keep, reason=resp.reason_phrase)

    @staticmethod
    def _fault_body(status: int, params: dict[str, Any]) -> bytes:
        body = params.get("body")
        if body is None:
            body = ark_error(status, params.get("code"), params.get("message"))
        if isinstance(body, bytes):
            return body
        return body.encode() if isinstance(body, str) else json.dumps(body).encode()

    @staticmethod
    def _extra_headers(params: dict[str, Any]) -> list[tuple[str, str]]:
        headers = [(str(k), str(v)) for k, v in (params.get("headers") or {}).items()]
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
        return headers

    @staticmethod
    async def _write(
        writer: asyncio.StreamWriter,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        keep_alive: bool,
        reason: str = "",
        length: bool = True,
    ) -> None:
        if not reason:
            with contextlib.suppress(ValueError):
                reason = httpx.codes(status).phrase
        lines = [f"HTTP/1.1 {status} {reason}".rstrip(), *(f"{k}: {v}" for k, v in headers)]
        if length:
            lines.append(f"Content-Length: {len(body)}")
        lines.append(f"Connection: {'keep-alive' if keep_alive else 'close'}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()

    @staticmethod
    def _close_now(writer: asyncio.StreamWriter, reset: bool) -> None:
        if reset:
            # SO_LINGER 0 turns close() into a TCP RST: the client reads ECONNRESET instead of a clean EOF.
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        else:
            writer.close()


@contextlib.contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    """`with fault_proxy(url) as proxy:` for tests that prefer a function."""
    proxy = FaultProxy(upstream)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
