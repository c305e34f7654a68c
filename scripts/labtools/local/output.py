"""The runner's output folder (`--out`, default `.lab-output/`): what it holds, and what may be removed.

Each folder the runner creates holds a marker file. A re-run adds to a marked folder; a folder
someone else made is refused rather than written into, and `--clean` removes marked folders only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..lab import PROJECT
from .errors import UsageError

DEFAULT_OUT = PROJECT / ".lab-output"
MARKER = ".created-by-run_lab"
# What the runner writes under --out: the tracking store, executed notebooks, the local stand-in for DBFS,
# and the local Spark session's warehouse and scratch space.
FOLDERS = ("mlflow", "executed", "dbfs", "spark")


class OutputFolders:
    def __init__(self, out: Path):
        self.out = out
        self.store, self.executed, self.dbfs, self.spark = (out / name for name in FOLDERS)

    def create(self) -> OutputFolders:
        for folder in (self.store, self.executed, self.dbfs, self.spark):
            _runner_folder(folder)
        return self

    def has_store(self) -> bool:
        return (self.store / MARKER).exists()

    def remove(self) -> list[Path]:
        """Remove the folders the runner created (they hold its marker), and nothing else; returns them."""
        created = [self.out / name for name in FOLDERS if (self.out / name / MARKER).exists()]
        for folder in created:
            shutil.rmtree(folder)
        return created


def _runner_folder(folder: Path) -> None:
    if folder.exists() and any(folder.iterdir()) and not (folder / MARKER).exists():
        raise UsageError(f"{folder} exists and was not created by run_lab.py; choose another --out")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).touch()
