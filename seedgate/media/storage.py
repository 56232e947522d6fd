"""Where bytes live: fetched inputs by content hash, rendered results by task. Local directory for now."""

from __future__ import annotations

import contextlib
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
        """Move a fetched file into the blob store under its hash; identical content is stored once.

        Always a rename, even when the blob exists: the content is the same, readers keep the inode they opened,
        and the fresh mtime tells the collector the blob is in use again (see remove_blobs)."""
        target = self.blob_path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        return digest

    def touch_blob(self, digest: str) -> bool:
        """Mark a blob as used now (a new task reuses an asset's bytes); False when it is gone."""
        try:
            os.utime(self.blob_path(digest))
        except FileNotFoundError:
            return False
        return True

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

    def old_blobs(self, older_than: float) -> set[str]:
        """Blobs untouched since `older_than`: the candidates for collection, listed before the in-use set is read."""
        found = set()
        for folder in self.blobs.iterdir():
            for blob in folder.iterdir() if folder.is_dir() else ():
                with contextlib.suppress(FileNotFoundError):
                    if blob.stat().st_mtime < older_than:
                        found.add(blob.name)
        return found

    def remove_blobs(self, digests: set[str], older_than: float) -> int:
        """Delete the given unreferenced blobs, each only if still untouched since `older_than`: a create that
        stored or reused one after it was listed has refreshed its mtime."""
        removed = 0
        for digest in digests:
            path = self.blob_path(digest)
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < older_than:
                    path.unlink()
                    removed += 1
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
