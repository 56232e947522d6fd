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
            # A fresh mtime tells the collector this blob is in use again (see collect_blobs).
            os.utime(target)
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

    def collect_blobs(self, in_use: set[str], older_than: float) -> int:
        """Delete blobs nothing references. Only blobs untouched since `older_than` go: a blob adopted a moment
        ago may belong to a task or asset whose row is not committed yet."""
        removed = 0
        for folder in self.blobs.iterdir():
            for blob in folder.iterdir() if folder.is_dir() else ():
                try:
                    if blob.name not in in_use and blob.stat().st_mtime < older_than:
                        blob.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed

    def purge_tmp_older_than(self, cutoff: float) -> int:
        """Part files left behind by a process that died mid-download."""
        removed = 0
        for part in self.tmp.iterdir():
            try:
                if part.stat().st_mtime < cutoff:
                    part.unlink()
                    removed += 1
            except (FileNotFoundError, IsADirectoryError):
                continue
        return removed
