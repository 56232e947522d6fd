"""API keys: random secrets shown once, stored as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
import time

from seedgate.store.store import ApiKey, Store


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
