"""Task statuses and the one place their transitions are decided."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.EXPIRED, Status.CANCELLED})

_ALLOWED: dict[Status, frozenset[Status]] = {
    Status.QUEUED: frozenset({Status.RUNNING, Status.CANCELLED, Status.EXPIRED, Status.FAILED}),
    # RUNNING -> QUEUED is a worker giving a task back (shutdown, lost engine); it is not a client-visible step.
    # RUNNING -> CANCELLED happens only to a task an upstream still had queued and agreed to cancel.
    Status.RUNNING: frozenset({Status.SUCCEEDED, Status.FAILED, Status.EXPIRED, Status.QUEUED, Status.CANCELLED}),
}


class TransitionError(ValueError):
    pass


def can_transition(current: Status, target: Status) -> bool:
    return target in _ALLOWED.get(current, frozenset())


def check_transition(current: Status, target: Status) -> None:
    if not can_transition(current, target):
        raise TransitionError(f"a {current.value} task cannot become {target.value}")


def sources_of(target: Status) -> tuple[Status, ...]:
    """Statuses a task may be in for `target` to be reached; the store guards its UPDATEs with these."""
    return tuple(s for s, targets in _ALLOWED.items() if target in targets)
