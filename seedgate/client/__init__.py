"""seedgate's Python client: `Client` (blocking) and `AsyncClient`, typed, for any seedgate server.

Imports only httpx and the standard library, never the server.
"""

from .aio import AsyncClient
from .core import DEFAULT_MODEL, DEFAULT_URL
from .errors import (
    AssetFailed,
    AuthenticationFailed,
    ConnectionFailed,
    SeedgateError,
    TaskFailed,
    WaitTimeout,
    WebhookVerificationError,
)
from .models import Asset, Task
from .sync import Client
from .webhooks import verify_webhook

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_URL",
    "Asset",
    "AssetFailed",
    "AsyncClient",
    "AuthenticationFailed",
    "Client",
    "ConnectionFailed",
    "SeedgateError",
    "Task",
    "TaskFailed",
    "WaitTimeout",
    "WebhookVerificationError",
    "verify_webhook",
]
