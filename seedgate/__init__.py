"""seedgate: a self-hosted, Seedance-compatible video generation server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # what the lazy __getattr__ below hands out, as type checkers should see it
    from seedgate.client import AsyncClient as AsyncClient
    from seedgate.client import Client as Client
    from seedgate.client import SeedgateError as SeedgateError
    from seedgate.client import TaskFailed as TaskFailed
    from seedgate.client import verify_webhook as verify_webhook

_CLIENT_NAMES = ("Client", "AsyncClient", "SeedgateError", "TaskFailed", "verify_webhook")


def __getattr__(name: str) -> Any:
    # Lazy, so `import seedgate` (the server, the CLI) does not pay for the client and vice versa.
    if name in _CLIENT_NAMES:
        from seedgate import client

        return getattr(client, name)
    raise AttributeError(f"module 'seedgate' has no attribute {name!r}")
