"""The runner's output folder (`--out`, default `.lab-output/`): what it holds, and what may be removed.

Each folder the runner creates holds a marker file. A re-run adds to a marked folder; a folder
someone else made is refused rather than written into, and `--clean` removes marked folders only.
One runner at a time uses a folder (`lock()`): two tracking servers on one SQLite store would race
through its schema migration, and `--clean` must not remove a store a server is writing.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..lab import PROJECT
from .errors import UsageError

DEFAULT_OUT = PROJECT / ".lab-output"
MARKER = ".created-by-run_lab"
LOCK = ".run_lab.lock"  # held (flock) by the runner using the folder; holds its pid
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

    @contextmanager
    def lock(self, say: Callable[..., None] = print) -> Iterator[OutputFolders]:
        """Hold the folder for this runner; if another holds it, say so and wait until it is done."""
        while True:
            file = self._open_lock()
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                file.seek(0)
                holder = f"run_lab.py (pid {file.read().strip() or '?'})"
                say(
                    f"{self.out} is in use by {holder}; waiting for it to finish "
                    "(Ctrl-C to stop waiting, or pass another --out to run beside it).",
                    flush=True,
                )
                fcntl.flock(file, fcntl.LOCK_EX)
            if _same_file(file, self.out / LOCK):
                break
            file.close()  # `--clean` removed the file we waited on: lock the one that is there now
        with file:
            file.seek(0)
            file.truncate()
            file.write(str(os.getpid()))
            file.flush()
            yield self

    def _open_lock(self):
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            return open(self.out / LOCK, "a+")  # noqa: SIM115 (held until the lock is released)
        except OSError as error:
            raise UsageError(
                f"--out {self.out}: cannot create the output folder there ({error.strerror}); choose another --out"
            ) from None

    def has_store(self) -> bool:
        return (self.store / MARKER).exists()

    def remove(self) -> list[Path]:
        """Remove the folders the runner created (they hold its marker), and nothing else; returns them."""
        created = [self.out / name for name in FOLDERS if (self.out / name / MARKER).exists()]
        for folder in created:
            shutil.rmtree(folder)
        (self.out / LOCK).unlink(missing_ok=True)  # called under lock(); a waiter then locks a new file
        return created


def _runner_folder(folder: Path) -> None:
    if folder.exists() and any(folder.iterdir()) and not (folder / MARKER).exists():
        raise UsageError(f"{folder} exists and was not created by run_lab.py; choose another --out")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MARKER).touch()
    except OSError as error:
        raise UsageError(
            f"--out {folder.parent}: cannot create {folder.name}/ there ({error.strerror}); choose another --out"
        ) from None


def _same_file(file, path: Path) -> bool:
    try:
        return os.fstat(file.fileno()).st_ino == path.stat().st_ino
    except FileNotFoundError:
        return False
