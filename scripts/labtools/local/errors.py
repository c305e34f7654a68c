"""How a local run ends: its exit codes, the exceptions of `labtools.local`, and the one-line message each gets.

Every exception class the local modules raise is defined here, and this module imports none of them (as
nbclient keeps its own in `nbclient.exceptions`): the other modules import from it, never the reverse.
`boundary()` is the one place that turns exceptions into messages; nothing below it prints a
traceback of the runner's own (a failing cell's traceback is the notebook's, and is shown).

| exit | meaning |
| ---- | ------- |
| 0    | every notebook ran |
| 1    | a cell failed: the message names the notebook file, line, cell number and title |
| 2    | bad input: an option, a notebook's source, a data file, the output folder, a runtime (`runtimes/`) |
| 3    | the tracking server: it did not start, stopped, or (with --tracking-uri) does not answer |
| 4    | a Jupyter kernel, or `--serverless`' Spark Connect server, did not start |
| 5    | a notebook you named needs what this machine lacks (Java or pyspark for a Spark notebook) |
| 130  | interrupted (Ctrl-C, kill, a closed terminal): kernels and server were stopped first |
"""

from __future__ import annotations

import errno
import shutil
import sys
import urllib.error
from collections.abc import Callable
from pathlib import Path

from ..notebook.dbsource import NotebookFormatError

OK, CELL_FAILED, BAD_INPUT, TRACKING_SERVER, KERNEL, MISSING_PREREQUISITE, INTERRUPTED = 0, 1, 2, 3, 4, 5, 130


class UsageError(Exception):
    """Bad input the user can fix: an option, a file, a folder."""


class RuntimeVersionsError(Exception):
    """A runtime (`runtimes/<name>.txt`) that does not exist, cannot be read, or whose environment cannot be built."""


class ClusterOnlyCell(NotebookFormatError):
    """A `%scala` or `%r` cell: the notebook needs a cluster's interpreters. run_lab.py refuses it as bad input
    (a NotebookFormatError); the pytest plugin skips the notebook, saying why."""


class TrackingServerError(RuntimeError):
    """The tracking server did not start, stopped, or does not answer."""


class KernelStartError(RuntimeError):
    """A Jupyter kernel did not start."""


class SparkServerError(RuntimeError):
    """The Spark Connect server of a --serverless run did not start."""


class CellFailed(RuntimeError):
    """A cell raised, timed out, or its kernel died; `where` names it as `execute.describe_cell` does, `file` and
    `line` (the line that raised, if the traceback says so, else the cell's first) locate it for tools."""

    def __init__(self, where: str, reason: str, traceback: str = "", file: str | None = None, line: int | None = None):
        self.where = where
        self.reason = reason
        self.traceback = traceback
        self.file, self.line = file, line
        super().__init__(f"{where} failed: {reason}")


def boundary(function: Callable[[], int], prefix: str = "") -> int:
    """Run `function`; turn what it raises into one line on stderr and an exit code."""
    try:
        return function()
    except CellFailed as failure:
        if failure.reason.startswith("KeyboardInterrupt"):
            return _interrupted()
        _say(f"\nerror: {prefix}{failure}")
        if failure.traceback:
            _say(failure.traceback)
        return CELL_FAILED
    except (UsageError, NotebookFormatError) as error:
        _say(f"error: {prefix}{error}")
        return BAD_INPUT
    except TrackingServerError as error:
        _say(f"\nerror: {prefix}{error}")
        return TRACKING_SERVER
    except urllib.error.URLError as error:  # the server stopped answering after the notebooks ran
        _say(f"\nerror: {prefix}the tracking server does not answer: {error.reason}")
        return TRACKING_SERVER
    except (KernelStartError, SparkServerError) as error:
        _say(f"\nerror: {prefix}{error}")
        return KERNEL
    except OSError as error:
        if error.errno == errno.ENOSPC:
            _say(f"\nerror: {prefix}{disk_full(error.filename or '.')}")
            return BAD_INPUT
        _say(f"error: {prefix}{_os_error(error)}")
        return BAD_INPUT
    except KeyboardInterrupt:
        return _interrupted()


def disk_full(path: str | Path, what: str = "") -> str:
    """`the disk holding PATH is full (12 KiB free of 20 MiB)...`: which disk, and how full, for any path."""
    existing = Path(path).absolute()
    while not existing.exists() and existing != existing.parent:  # a file not yet made: its folder's disk
        existing = existing.parent
    try:
        usage = shutil.disk_usage(existing)
        room = f"{_size(usage.free)} free of {_size(usage.total)}"
    except OSError:
        room = "its free space unknown"
    return (
        f"the disk holding {what}{path} is full ({room}); free some space there or pass another --out "
        "(what was already logged is kept)"
    )


def _size(count: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


def _interrupted() -> int:
    _say("\nInterrupted: stopping the kernel and the tracking server.")
    return INTERRUPTED


def _os_error(error: OSError) -> str:
    where = f"{error.filename}: " if error.filename else ""
    return f"{where}{error.strerror or error}"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
