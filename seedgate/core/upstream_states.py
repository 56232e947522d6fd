"""Where a task handed to an upstream stands there (the `state` of its `upstream_tasks` row), and the one table
of the steps between those states.

    waiting --send--> sending --answer--> accepted --poll: succeeded--> fetching --downloaded--> done
       ^                 |  no answer                |  failed, expired, cancelled -----------------> done
       |                 v                           |
       +--not there-- unsure --lookup finds it-------+

Any state but `done` may also end (`done`): the task failed, was cancelled or deleted here, or ended upstream.
A refused create goes back from `sending` to `waiting` for the next channel; a row left in `sending` by a node
that died mid-send is looked up like an `unsure` one.
"""

from __future__ import annotations

from enum import StrEnum


class UpstreamState(StrEnum):
    WAITING = "waiting"  # not sent anywhere yet, or every channel tried so far certainly did not take it
    SENDING = "sending"  # written before the create leaves: a crash from here on is looked up, never re-sent
    UNSURE = "unsure"  # the create got no clear answer: looked up by its marker before anything else
    ACCEPTED = "accepted"  # the upstream runs it: polled (and called back)
    FETCHING = "fetching"  # it succeeded upstream: the result is being brought home
    DONE = "done"  # nothing more to do upstream


IN_FLIGHT = frozenset({UpstreamState.SENDING, UpstreamState.UNSURE, UpstreamState.ACCEPTED, UpstreamState.FETCHING})

_ALLOWED: dict[UpstreamState, frozenset[UpstreamState]] = {
    UpstreamState.WAITING: frozenset({UpstreamState.SENDING, UpstreamState.DONE}),
    UpstreamState.SENDING: frozenset(
        {UpstreamState.WAITING, UpstreamState.UNSURE, UpstreamState.ACCEPTED, UpstreamState.DONE}
    ),
    UpstreamState.UNSURE: frozenset({UpstreamState.WAITING, UpstreamState.ACCEPTED, UpstreamState.DONE}),
    UpstreamState.ACCEPTED: frozenset({UpstreamState.FETCHING, UpstreamState.DONE}),
    UpstreamState.FETCHING: frozenset({UpstreamState.DONE}),
}


class StateError(ValueError):
    """A step the table does not allow: a bug in the relay, never something an upstream can cause."""


def can_move(current: UpstreamState, target: UpstreamState) -> bool:
    return target in _ALLOWED.get(current, frozenset())


def check_move(current: UpstreamState, target: UpstreamState) -> None:
    if not can_move(current, target):
        raise StateError(f"an upstream task {current.value} cannot become {target.value}")


def sources_of(target: UpstreamState) -> tuple[UpstreamState, ...]:
    """States a row may be in for `target` to be reached; the store guards its UPDATEs with these."""
    return tuple(s for s, targets in _ALLOWED.items() if target in targets)
