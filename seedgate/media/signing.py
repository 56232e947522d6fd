"""Signed, expiring links to result files, checked without a database lookup."""

from __future__ import annotations

import hashlib
import hmac
import time


class UrlSigner:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def _signature(self, path: str, expires: int) -> str:
        return hmac.new(self._key, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()[:40]

    def sign(self, base_url: str, path: str, expires: int) -> str:
        return f"{base_url}{path}?expires={expires}&signature={self._signature(path, expires)}"

    def verify(self, path: str, expires: int, signature: str, now: float | None = None) -> bool:
        if expires < (now if now is not None else time.time()):
            return False
        if not signature.isascii():  # compare_digest raises on non-ASCII text; no real signature has any
            return False
        return hmac.compare_digest(self._signature(path, expires), signature)
