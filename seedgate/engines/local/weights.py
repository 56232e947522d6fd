"""Checks a diffusers weights directory before anything loads, naming each missing part.

A load that fails halfway through a 30 GB checkpoint gives an unhelpful stack trace minutes after start; this reads
only `model_index.json` and the file listing, so a worker refuses to start at once and says what to copy.
"""

from __future__ import annotations

import json
from pathlib import Path

# Components that hold no weights, and the file that makes each complete.
_CONFIG_ONLY = {
    "scheduler": ("scheduler_config.json",),
    "image_processor": ("preprocessor_config.json",),
    "feature_extractor": ("preprocessor_config.json",),
}
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "spiece.model", "vocab.json")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".ckpt", ".gguf")


def _weights_problem(folder: Path) -> str | None:
    if not (folder / "config.json").is_file():
        return f"{folder.name}/config.json"
    for index in folder.glob("*.index.json"):
        try:
            shards = set(json.loads(index.read_text("utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError):
            return f"{folder.name}/{index.name} (unreadable shard index)"
        missing = sorted(s for s in shards if not (folder / s).is_file())
        if missing:
            more = f" (and {len(missing) - 1} more shards)" if len(missing) > 1 else ""
            return f"{folder.name}/{missing[0]}{more}"
        return None
    if not any(p.suffix in _WEIGHT_SUFFIXES for p in folder.iterdir()):
        return f"{folder.name}/ weights (*.safetensors)"
    return None


def missing_parts(path: Path) -> list[str]:
    """What the directory lacks to load as a diffusers pipeline; empty when it looks complete."""
    if not path.is_dir():
        return [f"the directory {path} itself"]
    index_path = path / "model_index.json"
    if not index_path.is_file():
        return ["model_index.json"]
    try:
        index = json.loads(index_path.read_text("utf-8"))
    except ValueError:
        return ["a readable model_index.json"]
    problems: list[str] = []
    for name, value in index.items():
        if name.startswith("_") or not isinstance(value, list) or value[0] is None:
            continue  # metadata, or an optional component left out on purpose (null)
        folder = path / name
        if not folder.is_dir():
            problems.append(f"{name}/")
            continue
        class_name = str(value[1])
        if name in _CONFIG_ONLY:
            problems += [f"{name}/{f}" for f in _CONFIG_ONLY[name] if not (folder / f).is_file()]
        elif "Tokenizer" in class_name:
            if not any((folder / f).is_file() for f in _TOKENIZER_FILES):
                problems.append(f"{name}/tokenizer files")
        elif (problem := _weights_problem(folder)) is not None:
            problems.append(problem)
    return problems
