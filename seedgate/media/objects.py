"""One async object store over obstore, backed by a local directory, memory, or S3 (storage.py decides what goes
where). Keys are slash-separated paths ("results/<task>/video.mp4"); files move through the store in chunks, so no
operation holds a whole video in memory.

obstore is imported here only (a 5.6 MB wheel with no Python dependencies: Rust's object_store crate).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from obstore import GetOptions
    from obstore.store import ObjectStore as Backend
    from obstore.store import S3Config

# S3's smallest part is 5 MiB; four parts in flight bound an upload's memory to ~20 MiB whatever the file size.
PART_SIZE = 5 * 1024 * 1024
PARTS_IN_FLIGHT = 4
# A download's chunks: large enough that a video is a few dozen writes, small enough to bound its memory.
READ_CHUNK = 1024 * 1024
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int


class ObjectStore:
    """The object-store operations seedgate needs, over one obstore backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @classmethod
    def from_url(cls, url: str, env: Mapping[str, str] | None = None) -> ObjectStore:
        """`file:///path` or a plain path (a local directory, created if missing), `memory://` (tests), or
        `s3://bucket/prefix` with endpoint, region and credentials from the AWS_* variables in `env` (default:
        the process environment): AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
        AWS_SESSION_TOKEN. Plain-http endpoints are refused except on loopback or with AWS_ALLOW_HTTP=true."""
        from obstore.store import LocalStore, MemoryStore

        env = os.environ if env is None else env
        parts = urlsplit(url)
        if parts.scheme == "memory":
            return cls(MemoryStore())
        if parts.scheme == "s3":
            return cls(_s3_backend(parts.netloc, parts.path.strip("/"), env))
        if parts.scheme == "file":
            if parts.netloc not in ("", "localhost"):
                raise ValueError(f"a file URL names a local path, not a host: {url}")
            path = Path(unquote(parts.path))
        elif parts.scheme == "" or len(parts.scheme) == 1:  # a plain path (a drive letter reads as a scheme)
            path = Path(url)
        else:
            raise ValueError(f"unsupported storage URL (use file://, memory:// or s3://): {url}")
        path.mkdir(parents=True, exist_ok=True)
        return cls(LocalStore(prefix=path.resolve()))

    async def put_file(self, key: str, source: Path) -> None:
        """Store a local file under `key`, in parts when it is larger than one (S3 multipart upload)."""
        import obstore

        await obstore.put_async(self.backend, key, source, chunk_size=PART_SIZE, max_concurrency=PARTS_IN_FLIGHT)

    async def get_file(self, key: str, target: Path) -> None:
        """Write the object to `target`, chunk by chunk; a failed download leaves no partial `target`."""
        # A name of its own: two requests on one node may fetch the same object at once.
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        try:
            with partial.open("wb") as out:
                async for chunk in self.read(key):
                    await asyncio.to_thread(out.write, chunk)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The object's bytes from `start` up to `end` (exclusive; None: to the end), as chunks: what an HTTP
        range request answers. Raises FileNotFoundError when there is no such object."""
        import obstore

        options: GetOptions = {}
        if end is not None:
            options["range"] = (start, end)
        elif start:
            options["range"] = {"offset": start}
        result = await obstore.get_async(self.backend, key, options=options)
        async for chunk in result.stream(min_chunk_size=READ_CHUNK):
            yield bytes(chunk)

    async def head(self, key: str) -> ObjectInfo | None:
        import obstore

        try:
            meta = await obstore.head_async(self.backend, key)
        except FileNotFoundError:
            return None
        return ObjectInfo(key, meta["size"])

    async def delete(self, key: str) -> None:
        """Remove the object; one that is already gone is not an error (deletes race across nodes)."""
        import obstore

        with contextlib.suppress(FileNotFoundError):
            await obstore.delete_async(self.backend, key)

    async def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        """Every object under `prefix`, which matches whole path segments ("results/t1" lists "results/t1/a",
        not "results/t10/a"), in batches from the backend, so a large bucket is never listed into memory."""
        import obstore

        async for batch in obstore.list(self.backend, prefix=prefix or None, chunk_size=1000):
            for meta in batch:
                yield ObjectInfo(meta["path"], meta["size"])

    def sign(self, key: str, expires_s: int) -> str | None:
        """A presigned GET link to the object, valid for `expires_s` seconds; None for a store that cannot sign
        (local, memory), whose bytes the caller serves itself. Computed locally (no request) with static
        credentials, so answers can carry links without waiting on the network."""
        import obstore
        from obstore.store import S3Store

        if not isinstance(self.backend, S3Store):
            return None
        return obstore.sign(self.backend, "GET", key, timedelta(seconds=expires_s))


def _s3_backend(bucket: str, prefix: str, env: Mapping[str, str]) -> Backend:
    from obstore.store import S3Store

    if not bucket:
        raise ValueError("an s3:// storage URL names a bucket: s3://bucket/prefix")
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    allow_http = False
    if endpoint and urlsplit(endpoint).scheme == "http":
        asked = env.get("AWS_ALLOW_HTTP", "").lower() in ("1", "true")
        allow_http = asked or _loopback(urlsplit(endpoint).hostname or "")
        if not allow_http:
            raise ValueError(f"{endpoint} is plain http: use https, or set AWS_ALLOW_HTTP=true on a private network")
    config: S3Config = {"region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION}
    if endpoint:
        config["endpoint"] = endpoint
    # Unset credentials are left to obstore's own chain (instance profile, web identity, ...).
    if key_id := env.get("AWS_ACCESS_KEY_ID"):
        config["access_key_id"] = key_id
    if secret := env.get("AWS_SECRET_ACCESS_KEY"):
        config["secret_access_key"] = secret
    if token := env.get("AWS_SESSION_TOKEN"):
        config["session_token"] = token
    return S3Store(bucket, prefix=prefix or None, config=config, client_options={"allow_http": allow_http})


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
