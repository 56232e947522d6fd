"""seedgate: a self-hosted, Seedance-compatible video generation server."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_CLIENT_NAMES = ("Client", "AsyncClient", "SeedgateError", "TaskFailed", "verify_webhook")


def __getattr__(name: str) -> Any:
    # Lazy, so `import seedgate` (the server, the CLI) does not pay for the client and vice versa.
    if name in _CLIENT_NAMES:
        from seedgate import client

        return getattr(client, name)
    raise AttributeError(f"module 'seedgate' has no attribute {name!r}")
