"""A task as the rest of the system sees it: the plan plus where it stands."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from typing import Any

from .limits import Billing
from .plan import TaskPlan
from .status import Status


def new_task_id(now: float | None = None) -> str:
    """`cgt-` + UTC yyyyMMddHHmmss + a random suffix, like Ark's IDs; 8 characters keep bursts collision-free."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now if now is not None else time.time()))
    # One read of 40 random bits (secrets.choice per character cost a syscall each).
    return f"cgt-{stamp}-{base64.b32encode(secrets.token_bytes(5)).decode().lower()}"


@dataclass
class Task:
    id: str
    owner: str
    dialect: str
    endpoint: str  # the model name as the client sent it (an alias or ep-... ID); Ark filters on it
    spec: TaskPlan  # the validated plan; `spec` is the stored column's name
    status: Status = Status.QUEUED
    created_at: float = 0.0
    updated_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    expires_at: float = 0.0
    progress: float = 0.0
    result: dict[str, Any] | None = None  # video / last_frame storage keys, frames, usage, has_audio
    error: dict[str, str] | None = None  # {"code", "message"}
    attempts: int = 0
    billing: Billing | None = None  # what its create reserved, and against which budgets: closed at the end

    @property
    def model(self) -> str:
        return self.spec.model_id
