"""The vendor pages in shared/seeds as replayable requests: method, path and JSON body, verbatim."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"
_REQUEST_LINE = re.compile(r"^(GET|POST|DELETE) (/\S+)$", re.M)


@dataclass
class SeedRequest:
    method: str
    path: str
    body: Any


def seed_file(prefix: str) -> Path:
    matches = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    if not matches:
        raise FileNotFoundError(f"no seed {prefix}_*.txt in {SEEDS}")
    return matches[0]


def requests_in(path: Path) -> list[SeedRequest]:
    """Each request line followed by the first JSON object after it (None when the next request comes first)."""
    text = path.read_text("utf-8")
    found = []
    lines = list(_REQUEST_LINE.finditer(text))
    for i, match in enumerate(lines):
        end = lines[i + 1].start() if i + 1 < len(lines) else len(text)
        chunk = text[match.end():end]
        start = chunk.find("{")
        body = json.JSONDecoder().raw_decode(chunk[start:])[0] if start >= 0 else None
        found.append(SeedRequest(match.group(1), match.group(2), body))
    return found


def replace_urls(body: Any, mapping: dict[str, str]) -> Any:
    """Swap the seed's example URLs for ones served locally, leaving everything else exactly as the seed has it."""
    raw = json.dumps(body, ensure_ascii=False)
    for old, new in mapping.items():
        raw = raw.replace(old, new)
    return json.loads(raw)


def json_objects(path: Path) -> list[Any]:
    """Every top-level JSON object in a seed page, in order (curl --data bodies, examples, responses)."""
    text = path.read_text("utf-8")
    decoder = json.JSONDecoder()
    found, index = [], 0
    while (start := text.find("{", index)) >= 0:
        try:
            obj, end = decoder.raw_decode(text[start:])
        except ValueError:
            index = start + 1
            continue
        found.append(obj)
        index = start + end
    return found
