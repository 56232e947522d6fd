"""A node killed while sending webhooks: the deliveries it was not sending go out from another node at once; only
the attempts it had in flight wait for their lease (own module: no other node on this database sends meanwhile)."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Database, start_server
from .test_webhook_delivery import Receiver, create, history
from .waiting import wait_until


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver().start()
    yield rec
    rec.stop()


def test_kill_9_delays_only_the_attempts_in_flight(database: Database, tmp_path: Path, receiver: Receiver) -> None:
    data = tmp_path / "data"
    # No workers: each task sends just its `queued` callback.
    doomed = start_server(database, data, "--workers", "0")
    survivor = start_server(database, data, "--workers", "0")
    try:
        ids = [create(doomed, f"{receiver.url}/hang/{n}", prompt=f"kill {n}") for n in range(12)]
        # Each node holds 4 attempts open (its per-receiver limit); the other 4 deliveries wait their turn.
        wait_until(lambda: receiver.hanging == 8, "both nodes' attempts hanging", timeout=120)
        doomed.stop(signal.SIGKILL)
        receiver.release.set()  # from now on the receiver answers at once

        def states() -> Counter[tuple[str, int]]:
            return Counter((h["status"], h["attempts"]) for t in ids for h in history(survivor, t))

        wait_until(
            lambda: states()[("delivered", 1)] == 8, "the survivor's deliveries and the waiting ones", timeout=120
        )
        # Delivered without waiting for anything, while the dead node's 4 attempts still wait for their lease.
        assert states()[("pending", 1)] == 4, states()
        # ... and are then sent again: nothing is lost.
        wait_until(lambda: states()[("delivered", 2)] == 4, "the dead node's deliveries", timeout=180)
        assert sorted(len(receiver.statuses(t)) for t in ids) == [1] * 8 + [2] * 4
    finally:
        survivor.stop()
        doomed.stop()
