"""Kept for callers outside the API layer (the CLI): the keys now live in `seedgate.tasks.keys`."""

from seedgate.tasks.keys import KeyCache, create_key, ensure_key, hash_secret

__all__ = ["KeyCache", "create_key", "ensure_key", "hash_secret"]
