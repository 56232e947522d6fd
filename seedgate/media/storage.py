"""Where bytes live: task inputs by content hash (`blobs/<ab>/<digest>`) and rendered results by task
(`results/<task>/<name>`), in one object store: the data directory by default, or S3-compatible storage with
SEEDGATE_STORAGE_URL=s3://bucket/prefix, so that no two nodes need a shared disk.

Work that needs files on disk (fetching, probing, rendering, thumbnails) happens in this node's scratch
directory; a finished result is stored whole, and a node that needs an input it did not store itself reads it
into a local cache first. With the local backend the object store *is* the data directory, so files are moved in
and read in place, never copied.

Which blobs are in use is the database's business (store/blobs.py): every store or reuse of a blob claims it
there first, and the collector deletes only what nothing claimed recently and nothing references.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from seedgate.core.errors import ApiError

from .objects import ObjectStore

# A collector deletes an object within milliseconds of marking it; one that died mid-way is taken over after a
# minute (worker/maintenance.py). A create waits this long for a blob it needs to be collected and stored again.
CLAIM_WAIT_S = 90.0
_CLAIM_POLL_S = 0.25
# Presigned S3 links live at most 7 days (SigV4's limit), whatever a dialect promises.
MAX_PRESIGN_S = 7 * 86400


class BlobClaims(Protocol):
    """The database's record of which blobs are in use (store/blobs.py's BlobIndex)."""

    async def touch(self, digests: Collection[str], now: float) -> set[str]:
        """Mark these blobs as used now; returns those a collector is deleting at this moment."""
        ...


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    # On this node's disk (the local backend): served with sendfile and read in place.
    path: Path | None = None

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


def blob_key(digest: str) -> str:
    return f"blobs/{digest[:2]}/{digest}"


def result_key(task_id: str, name: str) -> str:
    return f"results/{task_id}/{name}"


def _plain_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".")


class Storage:
    def __init__(
        self,
        data_dir: Path,
        objects: ObjectStore | None = None,
        claims: BlobClaims | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`objects` None: the local backend, the data directory itself. `claims` None: nothing records blob use
        (unit tests of other parts; a node always passes its store's BlobIndex)."""
        self.tmp = data_dir / "tmp"
        self.cache = data_dir / "cache"
        for folder in (self.tmp, self.cache):
            folder.mkdir(parents=True, exist_ok=True)
        # The local backend's root: keys are paths under it, so bytes never travel through the object API.
        self.root: Path | None = None if objects is not None else data_dir
        self.objects = objects if objects is not None else ObjectStore.from_url(str(data_dir))
        self.claims = claims
        self.clock = clock

    @property
    def remote(self) -> bool:
        return self.root is None

    # -- inputs ---------------------------------------------------------------------------------------------------

    async def adopt_blob(self, path: Path, digest: str) -> str:
        """Store a fetched or uploaded file under its hash (identical content is stored once); `path` is consumed."""
        await self._claim(digest)
        key = blob_key(digest)
        try:
            if self.root is not None:
                target = self.root / key
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)  # a fresh inode: readers of the old copy keep the one they opened
            elif await self.objects.head(key) is None:
                await self.objects.put_file(key, path)
        finally:
            path.unlink(missing_ok=True)
        return digest

    async def reuse_blob(self, digest: str) -> bool:
        """Claim an already stored blob for a new task (an asset's bytes, a remix's inputs); False when it is gone."""
        if not digest.isalnum():
            return False
        await self._claim(digest)
        return await self._stat(blob_key(digest)) is not None

    async def blob(self, digest: str) -> StoredFile | None:
        """A stored input (an asset's or a task's bytes), if `digest` is one and it is still stored."""
        return await self._stat(blob_key(digest)) if digest.isalnum() else None

    async def blob_path(self, digest: str) -> Path:
        """A file on this node holding the blob's bytes (to render, probe or send from); FileNotFoundError when
        it is no longer stored."""
        return await self._local_copy(blob_key(digest))

    async def delete_blob(self, digest: str) -> None:
        await self.objects.delete(blob_key(digest))
        (self.cache / blob_key(digest)).unlink(missing_ok=True)

    async def blob_digests(self) -> AsyncIterator[str]:
        """Every stored blob's digest, listed from the store in batches."""
        async for info in self.objects.list("blobs"):
            yield info.key.rsplit("/", 1)[-1]

    async def _claim(self, digest: str) -> None:
        """Record that a task is about to use this blob, waiting while a collector deletes it: after that the
        bytes are stored again by the caller (adopt) or found missing (reuse), never lost under a task."""
        if self.claims is None:
            return
        deadline = time.monotonic() + CLAIM_WAIT_S
        while await self.claims.touch([digest], self.clock()):
            if time.monotonic() > deadline:
                raise ApiError(503, "ServiceUnavailable", "stored media is being cleaned up; retry in a minute")
            await asyncio.sleep(_CLAIM_POLL_S)

    # -- results --------------------------------------------------------------------------------------------------

    def scratch(self, task_id: str) -> Path:
        """A fresh local folder to render or download a task's result files into, before store_results."""
        folder = self.tmp / "work" / f"{task_id}.{secrets.token_hex(4)}"
        folder.mkdir(parents=True)
        return folder

    async def store_results(self, task_id: str, folder: Path) -> None:
        """Store every file in `folder` as the task's results (replacing same-named ones), then remove `folder`."""
        try:
            for path in sorted(folder.iterdir()):
                if not path.is_file() or not _plain_name(path.name):
                    continue
                key = result_key(task_id, path.name)
                if self.root is not None:
                    target = self.root / key
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(path, target)
                else:
                    await self.objects.put_file(key, path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    async def result(self, task_id: str, name: str) -> StoredFile | None:
        """A task's result file, if `name` is a plain file name and the file is still stored."""
        return await self._stat(result_key(task_id, name)) if _plain_name(name) else None

    async def result_path(self, task_id: str, name: str) -> Path | None:
        """A file on this node holding a task's result (to make stills or a reference video from)."""
        if not _plain_name(name):
            return None
        try:
            return await self._local_copy(result_key(task_id, name))
        except FileNotFoundError:
            return None

    async def delete_results(self, task_id: str) -> None:
        prefix = f"results/{task_id}"
        if self.root is not None:
            await asyncio.to_thread(shutil.rmtree, self.root / prefix, True)
        else:
            async for info in self.objects.list(prefix):
                await self.objects.delete(info.key)
        await asyncio.to_thread(shutil.rmtree, self.cache / prefix, True)

    # -- serving --------------------------------------------------------------------------------------------------

    def presign(self, key: str, expires_at: float) -> str | None:
        """A link straight to the object store, valid until `expires_at` (at most 7 days); None for the local
        backend, whose files seedgate serves itself."""
        seconds = int(expires_at - self.clock())
        return self.objects.sign(key, max(1, min(seconds, MAX_PRESIGN_S)))

    async def head_bytes(self, stored: StoredFile, count: int) -> bytes:
        """The first `count` bytes of a stored file (enough to tell its type)."""
        if stored.path is not None:
            with stored.path.open("rb") as source:
                return source.read(count)
        if not stored.size:
            return b""
        return b"".join([chunk async for chunk in self.objects.read(stored.key, 0, min(count, stored.size))])

    # -- upkeep ---------------------------------------------------------------------------------------------------

    def purge_scratch_older_than(self, cutoff: float) -> int:
        """Part files and work folders left by a process that died mid-way, and cached copies unused since. An
        empty folder goes only if this purge emptied it or it is as old: a fresh one (a render's work folder before
        the encoder writes into it) is in use."""
        removed = 0
        for folder in (self.tmp, self.cache):
            emptied: set[Path] = set()
            for path in list(folder.rglob("*")):
                try:
                    if path.is_file() and path.stat().st_mtime < cutoff:
                        path.unlink()
                        emptied.add(path.parent)
                        removed += 1
                except FileNotFoundError:
                    continue
            for path in sorted(folder.rglob("*"), reverse=True):  # deepest first: emptied folders go too
                try:
                    if path.is_dir() and (path in emptied or path.stat().st_mtime < cutoff):
                        path.rmdir()
                        emptied.add(path.parent)
                except OSError:
                    continue
        return removed

    # -- internals ------------------------------------------------------------------------------------------------

    async def _stat(self, key: str) -> StoredFile | None:
        if self.root is not None:
            path = self.root / key
            try:
                return StoredFile(key, path.stat().st_size, path) if path.is_file() else None
            except FileNotFoundError:
                return None
        info = await self.objects.head(key)
        return StoredFile(key, info.size) if info is not None else None

    async def _local_copy(self, key: str) -> Path:
        if self.root is not None:
            path = self.root / key
            if not path.is_file():
                raise FileNotFoundError(key)
            return path
        cached = self.cache / key
        if cached.is_file():
            os.utime(cached)  # recently used: the cache purge goes by last use
            return cached
        cached.parent.mkdir(parents=True, exist_ok=True)
        await self.objects.get_file(key, cached)
        return cached
