"""Fetch client-supplied media URLs (http, https, data:) to local files without opening an SSRF hole.

The address check lives in the network backend, i.e. on the exact IP the socket connects to: the host
is resolved once, every resolved address is validated, and the connection goes to a validated address.
That covers odd IP spellings (``2130706433``, ``0x7f.1``), DNS rebinding between check and connect, and
every redirect hop (each hop opens its connection through the same backend). TLS still runs against the
original hostname, so SNI and certificate verification are unaffected.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import hashlib
import ipaddress
import logging
import os
import re
import socket
import ssl
import tempfile
import typing
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes

import httpcore
import httpx

from seedgate import __version__

log = logging.getLogger("seedgate.fetch")

USER_AGENT = f"seedgate/{__version__}"

# Hostnames that reach cloud metadata services without going through a "special" address in every
# environment (some resolve to a link-local address, some are served by a local proxy).
_BLOCKED_HOSTNAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024

_NAT64_NETS = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_IPV4_COMPAT = ipaddress.IPv6Network("::/96")
_SHARED_V4 = ipaddress.IPv4Network("100.64.0.0/10")
_RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_ULA = ipaddress.IPv6Network("fc00::/7")
# Blocked even with allow_private: nothing legitimate fetches media from a cloud metadata service.
_METADATA_ADDRS = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)


class FetchError(Exception):
    """A URL could not be fetched; the message is meant for API clients."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AddressRefused(FetchError):
    """The guard refused the address itself (internal, loopback, metadata service): asking again cannot succeed."""


@dataclass(frozen=True)
class FetchPolicy:
    allow_private: bool = False
    max_bytes: int = 64 * 1024 * 1024
    timeout_s: float = 30.0  # wall time for the whole fetch, redirects included
    max_redirects: int = 5
    max_concurrency: int = 8
    # Networks (CIDR or single IP) allowed even though they are not public, e.g. an internal object
    # store. Metadata-service addresses stay blocked regardless.
    allowed_networks: tuple[str, ...] = ()


@dataclass(frozen=True)
class FetchedFile:
    path: Path
    size: int
    sha256: str


# --------------------------------------------------------------------------- address classification


def _parse_ip(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    # getaddrinfo may hand back scoped link-local addresses ("fe80::1%eth0"); the scope is irrelevant
    # to the classification.
    return ipaddress.ip_address(ip.split("%", 1)[0])


def _v4_reason(ip: ipaddress.IPv4Address) -> str | None:
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _SHARED_V4:
        return "shared address space"
    if any(ip in net for net in _RFC1918):
        return "private"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private or not ip.is_global:
        return "special-purpose"
    return None


def _v6_reason(ip: ipaddress.IPv6Address) -> str | None:
    # Forms that embed an IPv4 address are judged by the embedded address: a dual-stack socket or a
    # NAT64/6to4 gateway would deliver the packets there.
    if ip.ipv4_mapped is not None:
        inner = _v4_reason(ip.ipv4_mapped)
        return f"IPv4-mapped {inner} address {ip.ipv4_mapped}" if inner else None
    if any(ip in net for net in _NAT64_NETS):
        embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        inner = _v4_reason(embedded)
        return f"NAT64 form of {inner} address {embedded}" if inner else None
    if ip.sixtofour is not None:
        inner = _v4_reason(ip.sixtofour)
        return f"6to4 form of {inner} address {ip.sixtofour}" if inner else None
    if ip.teredo is not None:
        return "Teredo tunnel"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip in _IPV4_COMPAT:
        return "IPv4-compatible"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _ULA:
        return "private"
    if ip.is_site_local:
        return "site-local"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private or not ip.is_global:
        return "special-purpose"
    return None


_PRIVATE_HINT = "; set SEEDGATE_ALLOW_PRIVATE_URLS=1 on the server to allow private addresses (local work only)"


def address_block_reason(ip: str, *, allow_private: bool = False, allowed_networks: Iterable[str] = ()) -> str | None:
    """Why connecting to `ip` is refused (e.g. "loopback"), or None when it is allowed."""
    try:
        addr = _parse_ip(ip)
    except ValueError:
        return "not an IP address"
    embedded = addr.ipv4_mapped if isinstance(addr, ipaddress.IPv6Address) else None
    if addr in _METADATA_ADDRS or embedded in _METADATA_ADDRS:
        return "cloud metadata service"
    if allow_private:
        return None
    for net in allowed_networks:
        if addr in ipaddress.ip_network(net, strict=False):
            return None
    return _v4_reason(addr) if isinstance(addr, ipaddress.IPv4Address) else _v6_reason(addr)


def is_public_address(ip: str) -> bool:
    """True when `ip` is a globally routable unicast address a fetch may connect to."""
    return address_block_reason(ip) is None


def _hostname_blocked(host: str) -> bool:
    return host.rstrip(".").lower() in _BLOCKED_HOSTNAMES


# --------------------------------------------------------------------------- network plumbing


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, validates and connects by IP so the check applies to the socket actually opened."""

    def __init__(self, policy: FetchPolicy, inner: httpcore.AsyncNetworkBackend) -> None:
        self._policy = policy
        self._inner = inner
        for net in policy.allowed_networks:
            ipaddress.ip_network(net, strict=False)  # fail at construction, not on the first fetch

    async def _resolve(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"could not resolve host {host!r}") from exc
        addrs: list[str] = []
        for family, _type, _proto, _canon, sockaddr in infos:
            if family in (socket.AF_INET, socket.AF_INET6) and sockaddr[0] not in addrs:
                addrs.append(str(sockaddr[0]))
        if not addrs:
            raise FetchError(f"could not resolve host {host!r}")
        return addrs

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if _hostname_blocked(host):
            raise AddressRefused(f"host {host!r} is not allowed (cloud metadata service)")
        addrs = await self._resolve(host, port)
        # Refuse the host if ANY address is bad: otherwise a name with one public and one internal
        # record could be steered to the internal one by making the public one unreachable.
        for addr in addrs:
            reason = address_block_reason(
                addr,
                allow_private=self._policy.allow_private,
                allowed_networks=self._policy.allowed_networks,
            )
            if reason is not None:
                # Local work often points at a file server on this machine: name the switch that allows it.
                hint = "" if reason == "cloud metadata service" else _PRIVATE_HINT
                if _parse_ip(addr) == _parse_ip_or_none(host):
                    raise AddressRefused(f"address {addr} is not allowed ({reason}){hint}")
                # Not the address itself: the caller must not learn what an internal name resolves to.
                log.info("fetch refused: host %r resolves to %s (%s)", host, addr, reason)
                raise AddressRefused(f"host {host!r} resolves to an address that is not allowed ({reason}){hint}")
        last_exc: Exception | None = None
        for addr in addrs:
            try:
                return await self._inner.connect_tcp(
                    addr,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_exc = exc
        assert last_exc is not None
        raise last_exc

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _parse_ip_or_none(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return _parse_ip(host.strip("[]"))
    except ValueError:
        return None


_HTTPCORE_TO_HTTPX: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    # Most specific first.
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProxyError, httpx.ProxyError),
)


@contextlib.contextmanager
def _map_httpcore_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for src, dst in _HTTPCORE_TO_HTTPX:
            if isinstance(exc, src):
                raise dst(str(exc) or type(exc).__name__) from exc
        raise


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, inner: typing.AsyncIterable[bytes]) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _map_httpcore_errors():
            async for part in self._inner:
                yield part

    async def aclose(self) -> None:
        aclose = getattr(self._inner, "aclose", None)
        if aclose is not None:
            with _map_httpcore_errors():
                await aclose()


class _GuardedTransport(httpx.AsyncBaseTransport):
    """httpx transport over an httpcore pool that uses the guarded backend.

    httpx.AsyncHTTPTransport cannot take a network backend, and it would also honour proxy
    environment variables, which would move the connection (and the check) to the proxy.
    """

    def __init__(
        self, backend: httpcore.AsyncNetworkBackend, ssl_context: ssl.SSLContext, max_connections: int
    ) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            http1=True,
            http2=False,
            retries=0,
            network_backend=backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        req = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _map_httpcore_errors():
            resp = await self._pool.handle_async_request(req)
        assert isinstance(resp.stream, typing.AsyncIterable)
        return httpx.Response(
            status_code=resp.status,
            headers=resp.headers,
            stream=_ResponseStream(resp.stream),
            extensions=resp.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


# --------------------------------------------------------------------------- the fetcher


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds; one context can serve every Fetcher.
    return httpx.create_ssl_context()


def _fmt_seconds(value: float) -> str:
    return f"{value:g}"


def guarded_client(policy: FetchPolicy, timeout_s: float = 10.0) -> httpx.AsyncClient:
    """An httpx client whose every connection passes the same address check (for webhooks and other outbound calls).

    It does not follow redirects: a callback that redirects is a failed delivery, not a hop to re-validate.
    """
    backend = _GuardedBackend(policy, httpcore.AnyIOBackend())
    transport = _GuardedTransport(backend, _default_ssl_context(), max(1, policy.max_concurrency))
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(timeout_s),
        headers={"User-Agent": USER_AGENT},
    )


class Fetcher:
    """Downloads media URLs into a directory; one instance (and connection pool) per server.

    `network_backend` is the backend that opens sockets once an address has passed the check; tests
    pass one that refuses anything but loopback as a tripwire. `ssl_context` replaces the default
    (certifi) trust store, e.g. for a private CA.
    """

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy
        self._sem = asyncio.Semaphore(policy.max_concurrency)
        backend = _GuardedBackend(policy, network_backend or httpcore.AnyIOBackend())
        transport = _GuardedTransport(backend, ssl_context or _default_ssl_context(), max(1, policy.max_concurrency))
        self._client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,  # redirects are followed by hand so each hop is re-validated
            trust_env=False,
            timeout=httpx.Timeout(policy.timeout_s),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
            event_hooks={"response": [_check_redirect]},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def fetch(self, url: str, dest_dir: Path, max_bytes: int | None = None) -> FetchedFile:
        """Fetch `url` into a new file under `dest_dir`. Raises FetchError with a client-facing message."""
        limit = self.policy.max_bytes if max_bytes is None else max_bytes
        dest_dir = Path(dest_dir)
        dest_dir.mkdir(parents=True, exist_ok=True)
        scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
        if scheme == "data":
            # Decoding tens of MB of base64 would stall the event loop.
            return await asyncio.to_thread(_write_data_url, url, dest_dir, limit)
        if scheme not in ("http", "https"):
            if not scheme:
                raise FetchError("invalid URL: no scheme")
            raise FetchError(f"unsupported URL scheme {scheme!r}")
        async with self._sem:
            try:
                async with asyncio.timeout(self.policy.timeout_s):
                    return await self._fetch_http(url, dest_dir, limit)
            except TimeoutError:
                raise FetchError(f"timed out after {_fmt_seconds(self.policy.timeout_s)} s") from None

    async def _fetch_http(self, url: str, dest_dir: Path, limit: int) -> FetchedFile:
        current = _parse_http_url(url)
        for _hop in range(self.policy.max_redirects + 1):
            try:
                async with self._client.stream("GET", current) as resp:
                    if resp.status_code in _REDIRECT_STATUSES:
                        location = resp.headers.get("location")
                        if not location:
                            raise FetchError(f"HTTP {resp.status_code} redirect without a Location header")
                        current = _parse_http_url(location, base=resp.url)
                        continue
                    if not 200 <= resp.status_code < 300:
                        raise FetchError(f"HTTP {resp.status_code} {resp.reason_phrase}".rstrip())
                    return await _save_response(resp, dest_dir, limit)
            except httpx.TimeoutException:
                raise FetchError(f"timed out after {_fmt_seconds(self.policy.timeout_s)} s") from None
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise FetchError(_describe_http_error(exc)) from exc
        raise FetchError(f"too many redirects (more than {self.policy.max_redirects})")


_SCHEME_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*):")


def _parse_http_url(raw: str, base: httpx.URL | None = None) -> httpx.URL:
    what = "redirect to unsupported" if base is not None else "unsupported"
    # Judge the scheme before httpx parses the rest: it rejects e.g. "data:..." with a confusing message.
    match = _SCHEME_RE.match(raw)
    if match and match.group(1).lower() not in ("http", "https"):
        raise FetchError(f"{what} URL scheme {match.group(1).lower()!r}")
    try:
        url = base.join(raw) if base is not None else httpx.URL(raw)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        prefix = "invalid redirect URL" if base is not None else "invalid URL"
        raise FetchError(f"{prefix}: {exc}") from exc
    if url.scheme not in ("http", "https"):
        raise FetchError(f"{what} URL scheme {url.scheme!r}")
    if not url.host:
        raise FetchError("invalid URL: no host")
    if _hostname_blocked(url.host):
        raise FetchError(f"host {url.host!r} is not allowed (cloud metadata service)")
    return url


async def _check_redirect(response: httpx.Response) -> None:
    # httpx builds the follow-up request for every redirect even when not following it, and raises
    # its own errors on odd Location values; validating here first gives the client our message.
    location = response.headers.get("location")
    if response.status_code in _REDIRECT_STATUSES and location:
        _parse_http_url(location, base=response.url)


def _describe_http_error(exc: httpx.HTTPError | httpx.InvalidURL) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect: {exc}" if str(exc) else "could not connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"server closed the connection or sent a malformed response ({exc})"
    if isinstance(exc, httpx.InvalidURL):
        return f"invalid URL: {exc}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _new_part_file(dest_dir: Path) -> tuple[int, Path]:
    fd, name = tempfile.mkstemp(prefix="fetch-", suffix=".part", dir=dest_dir)
    return fd, Path(name)


def _finish(part: Path) -> Path:
    final = part.with_suffix("")
    os.replace(part, final)
    return final


async def _save_response(resp: httpx.Response, dest_dir: Path, limit: int) -> FetchedFile:
    encoding = resp.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        # We asked for identity; decoding a compressed body ourselves would let a tiny response
        # expand past the size cap in memory before we could count it.
        raise FetchError(f"unsupported Content-Encoding {encoding!r}")
    declared = resp.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise FetchError(f"response exceeds {limit} bytes (Content-Length {int(declared)})")
    with PartFile(dest_dir, limit, "response exceeds {limit} bytes") as sink:
        async for chunk in resp.aiter_raw(_CHUNK):
            # Plain blocking writes: chunks are small and land in the page cache, so a thread hop
            # per chunk would cost more than it saves.
            sink.write(chunk)
    return sink.result


def _write_data_url(url: str, dest_dir: Path, limit: int) -> FetchedFile:
    header, sep, payload = url.partition(",")
    if not sep:
        raise FetchError("invalid data URL: missing ','")
    params = [p.strip().lower() for p in header[len("data:") :].split(";")]
    if "base64" not in params[1:]:
        raise FetchError("invalid data URL: only base64 data URLs are supported")
    if "%" in payload:
        payload = unquote_to_bytes(payload).decode("ascii", errors="replace")
    payload = "".join(payload.split())  # clients wrap long base64 lines
    if not payload:
        raise FetchError("invalid data URL: empty payload")
    if "=" in payload[:-2]:
        raise FetchError("invalid data URL: bad base64 payload")
    padding = payload.count("=", max(0, len(payload) - 2))
    estimated = len(payload) * 3 // 4 - padding
    if estimated > limit:
        raise FetchError(f"data URL payload exceeds {limit} bytes")
    if len(payload) % 4:
        if len(payload) % 4 == 1:
            raise FetchError("invalid data URL: bad base64 payload")
        payload += "=" * (4 - len(payload) % 4)
    step = 4 * 16384  # whole base64 quanta so each slice decodes on its own
    with PartFile(dest_dir, limit, "data URL payload exceeds {limit} bytes") as sink:
        for start in range(0, len(payload), step):
            try:
                sink.write(base64.b64decode(payload[start : start + step], validate=True))
            except (binascii.Error, ValueError) as exc:
                raise FetchError("invalid data URL: bad base64 payload") from exc
    return sink.result


class PartFile:
    """A `.part` file that counts, hashes and caps what is written; renamed into place on success, removed on
    any failure (cancellation included)."""

    def __init__(self, dest_dir: Path, limit: int, too_big: str) -> None:
        self._fd, self._part = _new_part_file(dest_dir)
        self._limit = limit
        self._too_big = too_big
        self._digest = hashlib.sha256()
        self._size = 0
        self.result: FetchedFile

    def __enter__(self) -> PartFile:
        self._out = os.fdopen(self._fd, "wb")
        return self

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._limit:
            raise FetchError(self._too_big.format(limit=self._limit))
        self._digest.update(chunk)
        self._out.write(chunk)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._out.close()
        if exc_type is not None:
            self._part.unlink(missing_ok=True)
            return
        self.result = FetchedFile(path=_finish(self._part), size=self._size, sha256=self._digest.hexdigest())
