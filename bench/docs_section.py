"""Rewrite one `## ...` section of docs/benchmarks.md, leaving the other benchmarks' sections as they are."""

from __future__ import annotations

from pathlib import Path


def write_section(section: str, path: Path, heading: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.strip() == heading), None)
    if start is None:
        body = text if text.endswith("\n") else text + "\n"
        path.write_text(body + "\n" + section, encoding="utf-8")
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = "".join(lines[end:])
    path.write_text("".join(lines[:start]) + section + ("\n" + tail if tail else ""), encoding="utf-8")
