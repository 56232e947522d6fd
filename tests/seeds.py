"""The vendor pages' examples, kept in the repository (tests/seed_requests), as replayable requests and bodies.

Every clone runs the replays: the examples are data files here, not pages looked up elsewhere. A missing folder or
file is an error (FileNotFoundError fails the test), never a skip. See tests/seed_requests/README.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEEDS = Path(__file__).resolve().parent / "seed_requests"
# The vendor page each numbered seed was taken from, by the folder its examples live in.
SEED_DIRS = {"000": "maxapi", "001": "jimmyai", "002": "moonapix", "003": "3hei", "004": "aigeneration"}


@dataclass
class SeedRequest:
    method: str
    path: str
    body: Any


def seed_file(prefix: str) -> Path:
    """The folder holding seed `prefix`'s examples (the name is kept from when seeds were single pages)."""
    folder = SEEDS / SEED_DIRS.get(prefix, prefix)
    if not folder.is_dir() or not any(folder.glob("[0-9]*.json")):
        raise FileNotFoundError(f"no examples for seed {prefix} in {folder}")
    return folder


def requests_in(folder: Path) -> list[SeedRequest]:
    """Each request line of the page with the first JSON object after it (None when the next request came first)."""
    path = folder / "requests.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the page's request lines were not extracted")
    return [SeedRequest(r["method"], r["path"], r["body"]) for r in json.loads(path.read_text("utf-8"))]


def json_objects(folder: Path) -> list[Any]:
    """Every top-level JSON object of the page, in page order (curl --data bodies, examples, responses)."""
    return [json.loads(path.read_text("utf-8")) for path in sorted(folder.glob("[0-9]*.json"))]


def replace_urls(body: Any, mapping: dict[str, str]) -> Any:
    """Swap the seed's example URLs for ones served locally, leaving everything else exactly as the seed has it."""
    raw = json.dumps(body, ensure_ascii=False)
    for old, new in mapping.items():
        raw = raw.replace(old, new)
    return json.loads(raw)
