"""API keys: random secrets shown once, stored as SHA-256 hashes; what nodes cache of them and how revocation
reaches every node at once."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections import OrderedDict

from seedgate.store.store import ApiKey, Store

log = logging.getLogger("seedgate.keys")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_key(store: Store, name: str, admin: bool = False, secret: str | None = None) -> tuple[ApiKey, str]:
    """Make a key and return it with its secret (the only time the secret is available)."""
    secret = secret or f"sk-sg-{secrets.token_urlsafe(24)}"
    key = ApiKey(id=f"key_{secrets.token_hex(8)}", name=name, admin=admin, created_at=time.time(), revoked_at=None)
    await store.insert_key(key, hash_secret(secret))
    return key, secret


async def ensure_key(store: Store, secret: str, name: str, admin: bool = True) -> ApiKey:
    """Make sure a key with this secret exists (SEEDGATE_API_KEY at start); idempotent across restarts and nodes."""
    existing = await store.key_by_hash(hash_secret(secret))
    if existing is not None:
        return existing
    try:
        key, _ = await create_key(store, name, admin=admin, secret=secret)
        return key
    except Exception:
        # Another node created it between our lookup and insert.
        existing = await store.key_by_hash(hash_secret(secret))
        if existing is None:
            raise
        return existing


class KeyCache:
    """What request authentication and link serving know about keys, and how fast a revocation reaches them.

    SQLite: keys are read on every request (a 15 µs indexed read on the store's fast path), so a revocation made by
    any process on the database, `seedgate keys revoke` included, counts from the next request.
    PostgreSQL: lookups are cached for up to TTL_S, and every node drops its cache the moment any node revokes a key
    (the revocation NOTIFYs in its own transaction). While this node is not LISTENing (the connection failed or was
    lost) nothing is cached, so a revocation can never be missed.
    """

    TTL_S = 10.0
    MAX_ENTRIES = 10_000  # callers sending random keys must not grow it without bound

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: OrderedDict[tuple[str, str], tuple[float, ApiKey | None]] = OrderedDict()
        self._generation = 0  # bumped by every invalidation: a read that started before it is not cached
        self._following = False

    async def follow_revocations(self) -> None:
        """Start hearing about revocations from every node (PostgreSQL); until then, and on SQLite, nothing is
        cached."""
        try:
            self._following = await self.store.listen_key_revocations(self._revoked, self._lost)
        except Exception as exc:
            log.warning("cannot LISTEN for key revocations (%s); keys are read on every request", exc)
            self._following = False

    def invalidate(self) -> None:
        self._generation += 1
        self._cache.clear()

    def _revoked(self, key_id: str) -> None:
        log.info("key %s revoked (on some node); key cache dropped", key_id)
        self.invalidate()

    def _lost(self) -> None:
        log.warning("the LISTEN connection for key revocations closed; keys are read on every request from now on")
        self._following = False
        self.invalidate()

    async def by_secret_hash(self, secret_hash: str) -> ApiKey | None:
        return await self._lookup("secret_hash", secret_hash)

    async def is_revoked(self, key_id: str) -> bool:
        """True when `key_id` names a key that was revoked (owners that are not keys are never revoked)."""
        key = await self._lookup("id", key_id)
        return key is not None and key.revoked_at is not None

    async def _lookup(self, column: str, value: str) -> ApiKey | None:
        read = self.store.key_by_hash if column == "secret_hash" else self.store.key_by_id
        if not self._following:
            return await read(value)
        now = time.monotonic()
        hit = self._cache.get((column, value))
        if hit is not None and hit[0] > now:
            return hit[1]
        generation = self._generation
        key = await read(value)
        if generation == self._generation and self._following:
            self._cache[(column, value)] = (now + self.TTL_S, key)
            self._cache.move_to_end((column, value))
            while len(self._cache) > self.MAX_ENTRIES:
                self._cache.popitem(last=False)
        return key
