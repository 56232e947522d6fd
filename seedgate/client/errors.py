"""The exceptions the client raises; the CLI maps each to an exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Task


class SeedgateError(Exception):
    """An error answer from the server (Ark's envelope), or a failure to reach it (`status` 0)."""

    def __init__(self, status: int, code: str, message: str, param: str | None = None, body: Any = None) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param or None
        self.body = body


class ConnectionFailed(SeedgateError):
    """The server could not be reached, or did not answer in time."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "ConnectionError", message)


class AuthenticationFailed(SeedgateError):
    """401/403: a missing, wrong or revoked key."""


class TaskFailed(SeedgateError):
    """A task ended failed, expired or cancelled; `task` is its last state."""

    def __init__(self, task: Task) -> None:
        error = task.error or {}
        code = error.get("code") or task.status
        message = error.get("message") or f"the task was {task.status}"
        super().__init__(200, code, f"task {task.id} {task.status}: {message}")
        self.task = task


class WaitTimeout(SeedgateError):
    """`wait` gave up before the task finished; the task goes on on the server."""

    def __init__(self, task_id: str, timeout: float, task: Task | None = None) -> None:
        super().__init__(0, "WaitTimeout", f"task {task_id} did not finish within {timeout:g} s")
        self.task_id = task_id
        self.task = task  # the task as last seen, when it was seen at all


class AssetFailed(SeedgateError):
    """An uploaded asset failed its audit (e.g. an image too small); the message says why."""


class WebhookVerificationError(Exception):
    """A webhook whose signature, timestamp or headers do not check out."""
