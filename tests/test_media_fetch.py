"""Fetcher tests against a real HTTP server on loopback; nothing here talks to a non-loopback address.

Every Fetcher is built with a tripwire network backend that refuses (and records) any connection to a
non-loopback address, so even if the SSRF check regressed, a test aimed at 10.x or 169.254.x could not
send a packet anywhere.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import hashlib
import http.server
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import httpcore
import pytest

from seedgate.media.fetch import (
    USER_AGENT,
    FetchedFile,
    Fetcher,
    FetchError,
    FetchPolicy,
    address_block_reason,
    is_public_address,
)

from .waiting import wait_until

# --------------------------------------------------------------------------- test server


def _payload(n: int) -> bytes:
    return (hashlib.sha256(str(n).encode()).digest() * (n // 32 + 1))[:n]


class _Server:
    """A threaded HTTP server on a loopback address that records every request it receives."""

    def __init__(self, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.sni: list[str | None] = []
        self.active = 0
        self.max_active = 0
        # Body bytes a streaming route had written when it ended (finished or the client hung up), by request path.
        self.sent: dict[str, int] = {}
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with outer._lock:
                    outer.requests.append((self.path, dict(self.headers.items())))
                # The client giving up (size cap, timeout) is expected in several tests.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    outer.route(self)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # failed TLS handshakes are part of the tests

        self.httpd = Server((host, 0), Handler)
        if ssl_context is not None:

            def on_sni(sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
                self.sni.append(name)

            ssl_context.sni_callback = on_sni  # type: ignore[assignment]
            self.httpd.socket = ssl_context.wrap_socket(self.httpd.socket, server_side=True)
        self.host = host
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str | None = None, scheme: str = "http") -> str:
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def _send(h: http.server.BaseHTTPRequestHandler, status: int, body: bytes = b"", **headers: str) -> None:
        h.send_response(status)
        for key, value in headers.items():
            h.send_header(key.replace("_", "-"), value)
        if "Content_Length" not in headers:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _ended(self, path: str, sent: int) -> None:
        with self._lock:
            self.sent[path] = sent

    def stream_end(self, path: str) -> int:
        """Body bytes the route at `path` had written when it stopped: it stops early only when the client hangs up."""
        return wait_until(
            lambda: self.sent.get(path), f"the server's {path} route to stop", until=lambda n: n is not None
        )

    def route(self, h: http.server.BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        segs = parts.path.strip("/").split("/")
        name, arg = segs[0], (segs[1] if len(segs) > 1 else "")
        if name == "file":
            self._send(h, 200, _payload(int(arg)), Content_Type="application/octet-stream")
        elif name == "redirect":
            self._send(h, int(query.get("code", "302")), Location=query["to"])
        elif name == "redirect-nolocation":
            self._send(h, 302)
        elif name == "chain":
            n = int(arg)
            if n > 0:
                self._send(h, 302, Location=f"/chain/{n - 1}")
            else:
                self._send(h, 200, b"done")
        elif name == "stream":
            # Body of `arg` bytes, without Content-Length (ends at connection close).
            h.send_response(200)
            h.end_headers()
            total, sent = int(arg), 0
            try:
                while sent < total:
                    n = min(total - sent, 65536)
                    h.wfile.write(b"\0" * n)
                    sent += n
            finally:
                self._ended(h.path, sent)
        elif name == "slow":
            h.send_response(200)
            h.send_header("Content-Length", "1000")
            h.end_headers()
            sent = 0
            try:
                for _ in range(100):
                    h.wfile.write(b"x" * 10)
                    h.wfile.flush()
                    sent += 10
                    time.sleep(0.1)
            finally:
                self._ended(h.path, sent)
        elif name == "delay":
            # In-flight accounting lives here, before the response is sent: counting in do_GET would
            # overlap with the next request once the client has its answer.
            # Only tagged requests count: a timed-out request from another test may still be sleeping.
            counted = "count" in query
            with self._lock:
                self.active += counted
                self.max_active = max(self.max_active, self.active)
            time.sleep(float(arg))
            with self._lock:
                self.active -= counted
            self._send(h, 200, b"ok")
        elif name == "badlen":
            h.send_response(200)
            h.send_header("Content-Length", "1000")
            h.end_headers()
            h.wfile.write(b"only ten b")
            h.wfile.flush()
            h.close_connection = True
        elif name == "liar":
            # Claims a huge length up front; the fetch must refuse before reading.
            h.send_response(200)
            h.send_header("Content-Length", str(10**12))
            h.end_headers()
            h.wfile.write(b"x" * 100)
        elif name == "gzip":
            self._send(h, 200, b"\x1f\x8b" + b"\0" * 20, Content_Encoding="gzip")
        elif name == "status":
            self._send(h, int(arg), b"nope")
        else:
            self._send(h, 404, b"not found")


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    srv = _Server()
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def _clear_log(server: _Server) -> None:
    server.requests.clear()
    server.sent.clear()


class _Tripwire(httpcore.AsyncNetworkBackend):
    """Real backend that only ever opens loopback connections and records everything it is asked."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.attempts: list[str] = []
        self.refused: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.attempts.append(host)
        if not ipaddress.ip_address(host).is_loopback:
            self.refused.append(host)
            raise httpcore.ConnectError(f"tripwire: refused non-loopback {host}")
        return await self.inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(self, *args: object, **kwargs: object) -> httpcore.AsyncNetworkStream:
        raise AssertionError("unix sockets are never used")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@pytest.fixture
def tripwire() -> _Tripwire:
    return _Tripwire()


def _fetcher(tripwire: _Tripwire, **policy: object) -> Fetcher:
    return Fetcher(FetchPolicy(**policy), network_backend=tripwire)  # type: ignore[arg-type]


def _assert_clean(dest: Path) -> None:
    assert not dest.exists() or list(dest.iterdir()) == [], "partial files left behind"


# --------------------------------------------------------------------------- address classification


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "cloud metadata service"),
        ("169.254.1.1", "link-local"),
        ("100.64.0.1", "shared address space"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "special-purpose"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "special-purpose"),
        ("198.18.0.1", "special-purpose"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("ff0e::1", "multicast"),
        ("::ffff:127.0.0.1", "IPv4-mapped loopback address 127.0.0.1"),
        ("::ffff:10.1.2.3", "IPv4-mapped private address 10.1.2.3"),
        ("::ffff:169.254.169.254", "cloud metadata service"),
        ("::127.0.0.1", "IPv4-compatible"),
        ("64:ff9b::7f00:1", "NAT64 form of loopback address 127.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "NAT64 form of link-local address 169.254.169.254"),
        ("64:ff9b:1::a00:1", "NAT64 form of private address 10.0.0.1"),
        ("2002:7f00:1::1", "6to4 form of loopback address 127.0.0.1"),
        ("2002:c0a8:101::1", "6to4 form of private address 192.168.1.1"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo tunnel"),
        ("2001:db8::1", "special-purpose"),
        ("fd00:ec2::254", "cloud metadata service"),
        ("not-an-ip", "not an IP address"),
    ],
)
def test_blocked_addresses(ip: str, reason: str) -> None:
    assert address_block_reason(ip) == reason
    assert not is_public_address(ip)


@pytest.mark.parametrize(
    "ip",
    ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808",
     "2002:808:808::1"],
)  # fmt: skip
def test_public_addresses(ip: str) -> None:
    assert address_block_reason(ip) is None
    assert is_public_address(ip)


def test_allow_private_and_allowed_networks() -> None:
    for ip in ("127.0.0.1", "10.0.0.1", "::1", "fd00::1", "169.254.1.1", "100.64.0.1"):
        assert address_block_reason(ip, allow_private=True) is None
    # Metadata services stay blocked even for local work.
    assert address_block_reason("169.254.169.254", allow_private=True) == "cloud metadata service"
    assert address_block_reason("::ffff:169.254.169.254", allow_private=True) == "cloud metadata service"
    assert address_block_reason("10.1.2.3", allowed_networks=["10.1.0.0/16"]) is None
    assert address_block_reason("10.2.0.1", allowed_networks=["10.1.0.0/16"]) == "private"
    assert address_block_reason("169.254.169.254", allowed_networks=["169.254.0.0/16"]) is not None


# --------------------------------------------------------------------------- refused before connecting


_LOOPBACK_SPELLINGS = [
    ("127.0.0.1", "address 127.0.0.1 is not allowed (loopback)"),
    ("localhost", "'localhost' resolves to"),
    ("2130706433", "'2130706433' resolves to an address that is not allowed (loopback)"),
    ("0177.0.0.1", None),  # httpx refuses the octal form outright; either way it must not connect
    ("0x7f000001", "resolves to an address that is not allowed (loopback)"),
    ("0x7f.1", "resolves to an address that is not allowed (loopback)"),
    ("127.1", "resolves to an address that is not allowed (loopback)"),
    ("[::1]", "address ::1 is not allowed (loopback)"),
    ("[::ffff:127.0.0.1]", "IPv4-mapped loopback address 127.0.0.1"),
    ("[::ffff:7f00:1]", "IPv4-mapped loopback address 127.0.0.1"),
    ("0.0.0.0", "address 0.0.0.0 is not allowed (unspecified)"),
]


@pytest.mark.parametrize(("host", "message"), _LOOPBACK_SPELLINGS)
async def test_loopback_spellings_refused_without_connecting(
    server: _Server, tripwire: _Tripwire, tmp_path: Path, host: str, message: str | None
) -> None:
    fetcher = _fetcher(tripwire)
    try:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(server.url("/file/10", host=host), tmp_path)
    finally:
        await fetcher.aclose()
    if message is not None:
        assert message in str(info.value)
    assert "not allowed" in str(info.value) or "invalid URL" in str(info.value)
    assert tripwire.attempts == []
    assert server.requests == []
    _assert_clean(tmp_path)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://169.254.169.254/latest/meta-data/", "address 169.254.169.254 is not allowed"),
        ("http://10.0.0.1/image.png", "address 10.0.0.1 is not allowed (private)"),
        ("http://192.168.0.1:8080/x", "(private)"),
        ("http://100.64.1.1/x", "(shared address space)"),
        ("http://[fd00::1]/x", "(private)"),
        ("http://[fe80::1]/x", "(link-local)"),
        ("http://[64:ff9b::a00:1]/x", "NAT64 form of private address 10.0.0.1"),
        ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata service"),
        ("https://METADATA.GOOGLE.INTERNAL./x", "cloud metadata service"),
    ],
)
async def test_internal_targets_refused(tripwire: _Tripwire, tmp_path: Path, url: str, message: str) -> None:
    fetcher = _fetcher(tripwire)
    try:
        with pytest.raises(FetchError, match="not allowed") as info:
            await fetcher.fetch(url, tmp_path)
    finally:
        await fetcher.aclose()
    assert message in str(info.value)
    assert tripwire.attempts == []


async def test_metadata_blocked_even_with_allow_private(tripwire: _Tripwire, tmp_path: Path) -> None:
    fetcher = _fetcher(tripwire, allow_private=True)
    try:
        with pytest.raises(FetchError, match="cloud metadata service"):
            await fetcher.fetch("http://169.254.169.254/latest/meta-data/", tmp_path)
    finally:
        await fetcher.aclose()
    assert tripwire.attempts == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/a.png", "unsupported URL scheme 'ftp'"),
        ("file:///etc/passwd", "unsupported URL scheme 'file'"),
        ("gopher://127.0.0.1:70/", "unsupported URL scheme 'gopher'"),
        ("javascript:alert(1)", "unsupported URL scheme 'javascript'"),
        ("/etc/passwd", "invalid URL: no scheme"),
        ("http:///nohost", "invalid URL"),
    ],
)
async def test_scheme_checks(tripwire: _Tripwire, tmp_path: Path, url: str, message: str) -> None:
    fetcher = _fetcher(tripwire, allow_private=True)
    try:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(url, tmp_path)
    finally:
        await fetcher.aclose()
    assert message in str(info.value)
    assert tripwire.attempts == []


# --------------------------------------------------------------------------- redirects re-validated


@pytest.fixture(scope="module")
def outer_server() -> Iterator[_Server]:
    """A second server on 127.0.0.2, which the tests treat as the one 'public' address."""
    try:
        srv = _Server(host="127.0.0.2")
    except OSError as exc:  # pragma: no cover - only where 127.0.0.2 is not routed to lo
        pytest.skip(f"cannot bind 127.0.0.2: {exc}")
    yield srv
    srv.close()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("{inner}", "address 127.0.0.1 is not allowed (loopback)"),
        ("http://localhost:{port}/file/10", "'localhost' resolves to"),
        ("http://2130706433:{port}/file/10", "resolves to an address that is not allowed"),
        ("http://[::ffff:127.0.0.1]:{port}/file/10", "IPv4-mapped loopback"),
        ("http://169.254.169.254/latest/meta-data/iam/", "not allowed (cloud metadata service)"),
        ("http://10.0.0.1/", "not allowed (private)"),
        ("http://metadata.google.internal/", "cloud metadata service"),
        ("ftp://example.com/x", "redirect to unsupported URL scheme 'ftp'"),
        ("file:///etc/passwd", "redirect to unsupported URL scheme 'file'"),
        ("data:image/png;base64,AAAA", "redirect to unsupported URL scheme 'data'"),
    ],
)
@pytest.mark.parametrize("code", [301, 302, 307])
async def test_redirect_to_internal_is_refused(
    server: _Server,
    outer_server: _Server,
    tripwire: _Tripwire,
    tmp_path: Path,
    target: str,
    message: str,
    code: int,
) -> None:
    outer_server.requests.clear()
    target = target.format(inner=server.url("/file/10"), port=server.port)
    fetcher = _fetcher(tripwire, allowed_networks=("127.0.0.2",))
    try:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(outer_server.url(f"/redirect?code={code}&to={quote(target, safe='')}"), tmp_path)
    finally:
        await fetcher.aclose()
    assert message in str(info.value)
    assert len(outer_server.requests) == 1  # the allowed first hop really happened
    assert server.requests == []  # ...and the internal one never did
    assert set(tripwire.attempts) <= {"127.0.0.2"}
    _assert_clean(tmp_path)


async def test_allowed_network_fetch_and_redirect_within(
    outer_server: _Server, tripwire: _Tripwire, tmp_path: Path
) -> None:
    fetcher = _fetcher(tripwire, allowed_networks=("127.0.0.2/32",))
    try:
        got = await fetcher.fetch(outer_server.url("/redirect?to=/file/123"), tmp_path)
    finally:
        await fetcher.aclose()
    assert got.path.read_bytes() == _payload(123)


# --------------------------------------------------------------------------- allow_private: limits


async def test_fetch_ok(server: _Server, tripwire: _Tripwire, tmp_path: Path) -> None:
    fetcher = _fetcher(tripwire, allow_private=True)
    try:
        got = await fetcher.fetch(server.url("/file/200000"), tmp_path / "sub")
    finally:
        await fetcher.aclose()
    data = _payload(200000)
    assert isinstance(got, FetchedFile)
    assert got.size == len(data)
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert got.path.parent == tmp_path / "sub"
    assert got.path.read_bytes() == data
    assert list((tmp_path / "sub").iterdir()) == [got.path]
    path, headers = server.requests[0]
    assert path == "/file/200000"
    assert headers["User-Agent"] == USER_AGENT
    assert headers["Host"] == f"127.0.0.1:{server.port}"


async def test_hostname_keeps_host_header(server: _Server, tripwire: _Tripwire, tmp_path: Path) -> None:
    fetcher = _fetcher(tripwire, allow_private=True)
    try:
        got = await fetcher.fetch(server.url("/file/5", host="localhost"), tmp_path)
    finally:
        await fetcher.aclose()
    assert got.size == 5
    assert server.requests[0][1]["Host"] == f"localhost:{server.port}"
    assert all(ipaddress.ip_address(a).is_loopback for a in tripwire.attempts)


async def test_content_length_over_cap_refused_up_front(server: _Server, tripwire: _Tripwire, tmp_path: Path) -> None:
    fetcher = _fetcher(tripwire, allow_private=True, max_bytes=1000)
    try:
        with pytest.raises(FetchError, match=r"response exceeds 1000 bytes \(Content-Length 1001\)"):
            await fetcher.fetch(server.url("/file/1001"), tmp_path)
        with pytest.raises(FetchError, match="response exceeds 50 bytes"):
            await fetcher.fetch(server.url("/liar"), tmp_path, max_bytes=50)
        ok = await fetcher.fetch(server.url("/file/1000"), tmp_path)
    finally:
        await fetcher.aclose()
    assert ok.size == 1000
    assert sorted(tmp_path.iterdir()) == [ok.path]


async def test_streamed_body_over_cap_aborted(server: _Server, tripwire: _Tripwire, tmp_path: Path) -> None:
    fetcher = _fetcher(tripwire, allow_private=True)
    try:
        with pytest.raises(FetchError, match="response exceeds 100000 bytes"):
            # 1 GB body without Content-Length: must stop right after the cap, not download it.
            await fetcher.fetch(server.url(f"/stream/{10**9}"), tmp_path, max_bytes=100_000)
        small = await fetcher.fetch(server.url("/stream/5000"), tmp_path, max_bytes=100_000)
    finally:
        await fetcher.aclose()
    # The client hung up: the server never got to write the whole body (what it wrote sat in socket buffers).
    assert server.stream_end(f"/stream/{10**9}") < 10**9
    assert small.size == 5000
    assert sorted(tmp_path.iterdir()) == [small.path]


async def test_whole_fetch_timeout(server: _Server, tripwire: _Tripwire, tmp_path: Path) -> None:
    # The server keeps sending a few bytes every 0.1 s, so no single read times out; only a deadline
    # on the whole fetch stops it.
    fetcher = _fetcher(tripwire, allow_private=True, timeout_s=0.5)
    try:
        with pytest.raises(FetchError, match=r"timed out after 0.5 s"):
            await fetcher.fetch(server.url("/slow"), tmp_path)
    finally:
        await fetcher.aclose()
    # The deadline ended the fetch, not the body: the client hung up before the server had sent all of it.
    assert server.stream_end("/slow") < 1000
    _assert_clean(tmp_path)


async def test_timeout_on_slow_headers(server: _Server, tripwire: _Tripwire, tmp_path: Path) -> None:
    fetcher = _fetcher(tripwire, allow_private=True, timeout_s=0.3)
    try:
        with pytest.raises(FetchError, match=r"timed out after 0.3 s"):
            await fetcher.fetch(server.url("/delay/2"), tmp_path)
    finally:
        await fetcher.aclose()


async def test_redirect_limits(server: _Server, tripwire: _Tripwire, tmp_path: Path) -> None:
    fetcher = _fetcher(tripwire, allow_private=True, max_redirects=3)
    try:
        ok = await fetcher.fetch(server.url("/chain/3"), tmp_path)
        assert ok.path.read_bytes() == b"done"
        server.requests.clear()
        with pytest.raises(FetchError, match=r"too many redirects \(more than 3\)"):
            await fetcher.fetch(server.url("/chain/4"), tmp_path)
        assert len(server.requests) == 4  # the first request and three followed hops
        with pytest.raises(FetchError, match="too many redirects"):
            await fetcher.fetch(server.url("/redirect?to=/redirect%3Fto%3D/chain/9"), tmp_path)
        with pytest.raises(FetchError, match="without a Location header"):
            await fetcher.fetch(server.url("/redirect-nolocation"), tmp_path)
    finally:
        await fetcher.aclose()
    assert sorted(tmp_path.iterdir()) == [ok.path]


async def test_relative_and_cross_host_redirects(server: _Server, tripwire: _Tripwire, tmp_path: Path) -> None:
    fetcher = _fetcher(tripwire, allow_private=True)
    try:
        a = await fetcher.fetch(server.url("/redirect?code=308&to=/file/7"), tmp_path)
        b = await fetcher.fetch(
            server.url("/redirect?to=" + quote(server.url("/file/8", host="localhost"), safe="")), tmp_path
        )
    finally:
        await fetcher.aclose()
    assert a.path.read_bytes() == _payload(7)
    assert b.path.read_bytes() == _payload(8)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/status/404", "HTTP 404"),
        ("/status/500", "HTTP 500"),
        ("/status/204", None),
        ("/nothing", "HTTP 404 Not Found"),
    ],
)
async def test_status_codes(
    server: _Server, tripwire: _Tripwire, tmp_path: Path, path: str, message: str | None
) -> None:
    fetcher = _fetcher(tripwire, allow_private=True)
    try:
        if message is None:
            got = await fetcher.fetch(server.url(path), tmp_path)
            assert got.size == 0 or got.path.exists()
        else:
            with pytest.raises(FetchError, match=message):
                await fetcher.fetch(server.url(path), tmp_path)
            _assert_clean(tmp_path)
    finally:
        await fetcher.aclose()


async def test_short_body_for_content_length(server: _Server, tripwire: _Tripwire, tmp_path: Path) -> None:
    fetcher = _fetcher(tripwire, allow_private=True)
    try:
        with pytest.raises(FetchError, match="closed the connection"):
            await fetcher.fetch(server.url("/badlen"), tmp_path)
    finally:
        await fetcher.aclose()
    _assert_clean(tmp_path)


async def test_compressed_response_refused(server: _Server, tripwire: _Tripwire, tmp_path: Path) -> None:
    fetcher = _fetcher(tripwire, allow_private=True)
    try:
        with pytest.raises(FetchError, match="unsupported Content-Encoding 'gzip'"):
            await fetcher.fetch(server.url("/gzip"), tmp_path)
    finally:
        await fetcher.aclose()
    assert server.requests[0][1]["Accept-Encoding"] == "identity"
    _assert_clean(tmp_path)


async def test_connection_refused(tripwire: _Tripwire, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    fetcher = _fetcher(tripwire, allow_private=True)
    try:
        with pytest.raises(FetchError, match="could not connect"):
            await fetcher.fetch(f"http://127.0.0.1:{port}/", tmp_path)
    finally:
        await fetcher.aclose()


async def test_concurrency_is_bounded(server: _Server, tripwire: _Tripwire, tmp_path: Path) -> None:
    server.max_active = 0
    fetcher = _fetcher(tripwire, allow_private=True, max_concurrency=2)
    try:
        results = await asyncio.gather(*(fetcher.fetch(server.url("/delay/0.1?count=1"), tmp_path) for _ in range(6)))
    finally:
        await fetcher.aclose()
    assert len({r.path for r in results}) == 6
    assert server.max_active == 2


# --------------------------------------------------------------------------- https: SNI and verification


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    crypto = pytest.importorskip("cryptography")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


async def test_https_uses_hostname_for_sni_and_verification(tripwire: _Tripwire, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    srv = _Server(ssl_context=server_ctx)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    dest = tmp_path / "out"
    fetcher = Fetcher(FetchPolicy(allow_private=True), network_backend=tripwire, ssl_context=client_ctx)
    try:
        got = await fetcher.fetch(srv.url("/file/321", host="localhost", scheme="https"), dest)
        assert got.path.read_bytes() == _payload(321)
        # The socket went to the resolved IP, but the TLS layer saw the hostname.
        assert all(ipaddress.ip_address(a).is_loopback for a in tripwire.attempts)
        assert srv.sni == ["localhost"]
        # The certificate names only "localhost": fetching by IP must fail verification, which shows
        # verification is done against the URL's host, not against whatever address we connected to.
        with pytest.raises(FetchError, match="(?i)certificate"):
            await fetcher.fetch(srv.url("/file/321", host="127.0.0.1", scheme="https"), dest)
        # And without trusting the self-signed CA, the default context refuses it.
        plain = Fetcher(FetchPolicy(allow_private=True), network_backend=tripwire)
        try:
            with pytest.raises(FetchError, match="(?i)certificate"):
                await plain.fetch(srv.url("/file/1", host="localhost", scheme="https"), dest)
        finally:
            await plain.aclose()
    finally:
        await fetcher.aclose()
        srv.close()
    assert sorted(dest.iterdir()) == [got.path]


# --------------------------------------------------------------------------- data: URLs


async def test_data_urls(tripwire: _Tripwire, tmp_path: Path) -> None:
    raw = _payload(1000)
    b64 = base64.b64encode(raw).decode()
    fetcher = _fetcher(tripwire)  # data: URLs need no network, so no allow_private
    try:
        got = await fetcher.fetch(f"data:image/png;base64,{b64}", tmp_path)
        assert got.path.read_bytes() == raw
        assert got.size == 1000
        assert got.sha256 == hashlib.sha256(raw).hexdigest()
        wrapped = "\n".join(b64[i : i + 76] for i in range(0, len(b64), 76))
        assert (await fetcher.fetch(f"DATA:image/png;BASE64,{wrapped}", tmp_path)).path.read_bytes() == raw
        pct = b64.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
        assert (await fetcher.fetch(f"data:audio/wav;base64,{pct}", tmp_path)).path.read_bytes() == raw
        unpadded = base64.b64encode(b"ab").decode().rstrip("=")
        assert (await fetcher.fetch(f"data:;base64,{unpadded}", tmp_path)).path.read_bytes() == b"ab"
    finally:
        await fetcher.aclose()
    assert tripwire.attempts == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("data:image/png;base64", "invalid data URL: missing ','"),
        ("data:image/png,rawbytes", "only base64 data URLs are supported"),
        ("data:image/png;base64,", "invalid data URL: empty payload"),
        ("data:image/png;base64,!!!!", "bad base64 payload"),
        ("data:image/png;base64,AAAAA", "bad base64 payload"),
        ("data:image/png;base64,AA==AAAA", "bad base64 payload"),
        ("data:image/png;base64," + "A" * 200, "data URL payload exceeds 100 bytes"),
    ],
)
async def test_bad_data_urls(tripwire: _Tripwire, tmp_path: Path, url: str, message: str) -> None:
    fetcher = _fetcher(tripwire)
    try:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(url, tmp_path, max_bytes=100)
    finally:
        await fetcher.aclose()
    assert message in str(info.value)
    _assert_clean(tmp_path)


async def test_data_url_uses_policy_cap(tripwire: _Tripwire, tmp_path: Path) -> None:
    fetcher = _fetcher(tripwire, max_bytes=10)
    try:
        with pytest.raises(FetchError, match="exceeds 10 bytes"):
            await fetcher.fetch("data:image/png;base64," + base64.b64encode(b"x" * 11).decode(), tmp_path)
        ok = await fetcher.fetch("data:image/png;base64," + base64.b64encode(b"x" * 10).decode(), tmp_path)
    finally:
        await fetcher.aclose()
    assert ok.size == 10
