"""A `seedgate worker` whose engine takes a fixed wall time without using the CPU: the fleet benchmark's worker.

    python bench/fleet_worker.py worker --concurrency 8     (the arguments of `seedgate`, unchanged)

It is the real `seedgate worker` (runtime, store, claim, lease, heartbeat, settle, webhooks, housekeeping loops)
with one difference: the engine that renders the catalog's `preview` models is `WaitEngine`, which waits
FLEET_RENDER_S seconds (a GPU rendering elsewhere, as far as this machine's CPU is concerned) and copies a small
pre-made MP4 (FLEET_SAMPLE_MP4) into the task's output folder. So the fleet's throughput is bounded by its slots
and the queue, not by the preview engine's encoder.

The engine registry has no plug-in hook and a product engine that renders nothing is of no use to an operator, so
this launcher swaps the runtime's `build_engines` for its own before the CLI starts (bench-only code, not shipped).

FLEET_GATE (optional): a file path; renders do not finish until it exists, so the benchmark can fill every slot
of every worker before it starts the clock.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from seedgate.engines.base import Engine, ProgressFn, RenderCancelled, RenderJob, RenderResult, StopFn

GATE_POLL_S = 0.01


class WaitEngine:
    """Renders by waiting: `render_s` of wall time, then a copy of `sample` as the task's video."""

    name = "fleet-wait"
    notice = "fleet benchmark: no real render"

    def __init__(self, sample: Path, render_s: float, gate: Path | None = None) -> None:
        self.sample = sample
        self.render_s = render_s
        self.gate = gate

    def render(self, job: RenderJob, progress: ProgressFn, should_stop: StopFn) -> RenderResult:
        if self.render_s > 0:
            time.sleep(self.render_s)
        while self.gate is not None and not self.gate.exists():
            if should_stop():  # a stopping worker gives held tasks back; the gate may never open
                raise RenderCancelled()
            time.sleep(GATE_POLL_S)
        job.output_dir.mkdir(parents=True, exist_ok=True)
        video = job.output_dir / "video.mp4"
        shutil.copyfile(self.sample, video)
        progress(1.0)
        return RenderResult(video, None, job.frames, False)


def _wait_engines(names: tuple[str, ...], local_models: Any = None) -> dict[str, Engine]:
    gate = os.environ.get("FLEET_GATE")
    engine = WaitEngine(
        Path(os.environ["FLEET_SAMPLE_MP4"]), float(os.environ.get("FLEET_RENDER_S", "0")), Path(gate) if gate else None
    )
    return {"preview": engine}


def main() -> None:
    import seedgate.runtime
    from seedgate.cli import app

    seedgate.runtime.build_engines = _wait_engines
    sys.argv[0] = "seedgate"
    app()


if __name__ == "__main__":
    main()
