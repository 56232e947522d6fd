"""Where bytes live: fetched inputs by content hash, rendered results by task. Local directory for now."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.results = root / "results"
        self.tmp = root / "tmp"
        for folder in (self.blobs, self.results, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)

    def blob_path(self, digest: str) -> Path:
        return self.blobs / digest[:2] / digest

    def adopt_blob(self, path: Path, digest: str) -> str:
        """Move a fetched file into the blob store under its hash; identical content is stored once."""
        target = self.blob_path(digest)
        if target.exists():
            path.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        return digest

    def result_dir(self, task_id: str) -> Path:
        return self.results / task_id

    def result_file(self, task_id: str, name: str) -> Path | None:
        """The file, if `name` is a plain file name inside the task's result folder."""
        if "/" in name or "\\" in name or name.startswith("."):
            return None
        path = self.result_dir(task_id) / name
        return path if path.is_file() else None

    def delete_results(self, task_id: str) -> None:
        shutil.rmtree(self.result_dir(task_id), ignore_errors=True)

    def purge_results_older_than(self, cutoff: float) -> int:
        purged = 0
        for folder in self.results.iterdir():
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                purged += 1
        return purged
