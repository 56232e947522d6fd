"""Container changes without re-encoding (e.g. MP4 -> MOV for `output_format: mov`)."""

from __future__ import annotations

from pathlib import Path

import av


def remux(source: Path, target: Path) -> Path:
    """Copy every stream of `source` into a new container named by `target`'s suffix; the source is removed."""
    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        mapping = {}
        for stream in src.streams:
            if stream.type in ("video", "audio"):
                mapping[stream.index] = dst.add_stream_from_template(stream)
        for packet in src.demux():
            if packet.dts is None or packet.stream.index not in mapping:
                continue
            packet.stream = mapping[packet.stream.index]
            dst.mux(packet)
    source.unlink()
    return target
