"""Benchmark the preview engine against a raw libx264 encode of the same frames.

Run:  python bench/preview_bench.py            (prints a table, rewrites the section in docs/benchmarks.md)
      python bench/preview_bench.py --no-docs  (prints only)

For each 16:9 size it times (best of N) the engine rendering a 5 s text job and a 5 s first_frame job,
and the "raw ceiling": PyAV encoding the same number of pre-made yuv420p numpy frames with the engine's
exact codec settings (same function opens the output). The pre-made frames are the engine's own
pixels for the same job, so the ratio isolates what drawing costs on top of encoding. Engine and raw
runs alternate, so that load from other processes hits both sides alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from docs_section import write_section  # noqa: E402 - bench/ is on sys.path when run as a script

from seedgate.engines import preview  # noqa: E402
from seedgate.engines.base import MediaInput, RenderJob  # noqa: E402
from seedgate.media import encode  # noqa: E402

SIZES = {"480p": (864, 496), "720p": (1280, 720), "1080p": (1920, 1080)}
FPS = 24
FRAMES = 121  # 5 s at 24 fps, as Seedance counts it
PROMPT = "A red fox trots through fresh snow at dawn, camera slowly following; 一只红狐狸在雪地里奔跑"
DOC_HEADING = "## Preview engine"


def _timed(fn: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process across all its threads)."""
    cpu0 = _cpu()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start, _cpu() - cpu0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _photo(path: Path, width: int, height: int) -> None:
    """A photo-like input: smooth structure plus fine detail, so x264 has real work to do."""
    rng = np.random.default_rng(7)
    small = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC), np.int16)
    grain = rng.integers(-12, 13, (height, width, 1), dtype=np.int16)
    Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8)).save(path, quality=90)


def _job(mode: str, width: int, height: int, out: Path, inputs: tuple[MediaInput, ...] = ()) -> RenderJob:
    return RenderJob(
        task_id=f"bench-{mode}-{width}x{height}",
        model="seedance-preview",
        mode=mode,
        prompt=PROMPT,
        width=width,
        height=height,
        fps=FPS,
        frames=FRAMES,
        seed=1234,
        inputs=inputs,
        output_dir=out,
    )


def _raw_encode(frames: list[np.ndarray], width: int, height: int, path: Path) -> None:
    container, stream, _ = encode.open_h264_output(path, width, height, FPS)
    time_base = Fraction(1, FPS)
    for index, array in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(array, format="yuv420p")
        frame.pts = index
        frame.time_base = time_base
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
    container.close()


def run(repeats: int) -> list[dict[str, Any]]:
    engine = preview.PreviewEngine()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="preview-bench-") as tmp:
        tmpdir = Path(tmp)
        photo = tmpdir / "photo.jpg"
        _photo(photo, 2400, 1600)
        for label, (width, height) in SIZES.items():
            jobs = {
                "text": _job("text", width, height, tmpdir / f"text-{label}"),
                "first_frame": _job(
                    "first_frame",
                    width,
                    height,
                    tmpdir / f"ff-{label}",
                    (MediaInput("image", "first_frame", photo),),
                ),
            }
            for mode, job in jobs.items():
                frames = [f.to_ndarray(format="yuv420p") for f in preview.iter_scene_frames(job)]
                raw_path = tmpdir / f"raw-{mode}-{label}.mp4"
                engine_runs: list[tuple[float, float]] = []
                raw_runs: list[tuple[float, float]] = []
                # Alternate the two so that load from other processes hits both sides alike.
                for _ in range(repeats):
                    engine_runs.append(_timed(partial(_render, engine, job)))
                    raw_runs.append(_timed(partial(_raw_encode, frames, width, height, raw_path)))
                row = {
                    "size": f"{label} ({width}x{height})",
                    "mode": mode,
                    "engine_s": min(r[0] for r in engine_runs),
                    "raw_s": min(r[0] for r in raw_runs),
                    "engine_cpu": min(r[1] for r in engine_runs),
                    "raw_cpu": min(r[1] for r in raw_runs),
                    "mb": (job.output_dir / "video.mp4").stat().st_size / 1e6,
                }
                rows.append(row)
                print(_row_text(row), flush=True)
    return rows


def _render(engine: preview.PreviewEngine, job: RenderJob) -> None:
    engine.render(job, lambda _f: None, lambda: False)


def _row_text(row: dict[str, Any]) -> str:
    return (
        f"{row['size']:<20} {row['mode']:<12} engine {row['engine_s']:.2f}s  raw {row['raw_s']:.2f}s  "
        f"ratio {row['engine_s'] / row['raw_s']:.2f}  cpu {row['engine_cpu']:.2f}s/{row['raw_cpu']:.2f}s  "
        f"{row['mb']:.2f} MB"
    )


def markdown(rows: list[dict[str, Any]], repeats: int, command: str) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [
        DOC_HEADING,
        "",
        f"5 s clips ({FRAMES} frames at {FPS} fps), best of {repeats}, on {os.cpu_count()} CPU cores "
        f"({cpu}, Python {platform.python_version()}, PyAV {av.__version__}). "
        f"Codec: libx264 preset `{encode.X264_PRESET}`, crf {encode.X264_CRF}, yuv420p, "
        "`movflags=+faststart`, threads auto.",
        "",
        "*raw* is the ceiling: PyAV encoding the same job's frames, pre-made as yuv420p numpy arrays, "
        "with identical codec settings (same `open_h264_output`), timed alternately with the engine in "
        "the same run. *ratio* = engine / raw wall time (target: at most 1.5). CPU is user+system time of "
        "all threads, less sensitive to other load on the machine. The first_frame input is a grainy "
        "2400x1600 JPEG, deliberately hard to compress.",
        "",
        f"Command: `{command}`",
        "",
        "| size | mode | engine (s) | raw (s) | ratio | engine CPU (s) | raw CPU (s) | MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']} | {r['mode']} | {r['engine_s']:.2f} | {r['raw_s']:.2f} | "
            f"{r['engine_s'] / r['raw_s']:.2f} | {r['engine_cpu']:.2f} | {r['raw_cpu']:.2f} | {r['mb']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def write_docs(section: str, path: Path) -> None:
    write_section(section, path, DOC_HEADING)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args()
    rows = run(args.repeats)
    command = "python bench/preview_bench.py" + (f" --repeats {args.repeats}" if args.repeats != 3 else "")
    section = markdown(rows, args.repeats, command)
    print()
    print(section)
    if not args.no_docs:
        write_docs(section, ROOT / "docs" / "benchmarks.md")


if __name__ == "__main__":
    main()
