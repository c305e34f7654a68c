"""Execute a converted notebook in a real Jupyter kernel, cell by cell.

Failures name the cell the way a learner finds it: the `.py` file and line,
the cell's number and its title, e.g.

    notebooks/01-lab.py:120 (cell 9 "Train") failed: ValueError: ...
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class CellFailed(RuntimeError):
    """A cell raised, timed out, or its kernel died."""

    def __init__(self, cell: nbformat.NotebookNode, index: int, reason: str, traceback: str = ""):
        self.where = describe_cell(cell, index)
        self.reason = reason
        self.traceback = traceback
        super().__init__(f"{self.where} failed: {reason}")


def describe_cell(cell: nbformat.NotebookNode, index: int) -> str:
    """`notebooks/x.py:12 (cell 3 "Title")`, or the Jupyter index for injected cells."""
    origin = cell.metadata.get("databricks")
    if not origin:
        return f"injected cell {index}"
    title = f' "{origin["title"]}"' if origin.get("title") else ""
    return f"{origin['file']}:{origin['line']} (cell {origin['cell']}{title})"


class NotebookRun:
    """One kernel for one notebook: `start()`, then `run_cells(...)`, then `stop()`.

    Starting the kernel is split from running cells so that the caller can
    start a tracking server meanwhile and wait for it only before the lab's
    own cells.
    """

    def __init__(self, notebook: nbformat.NotebookNode, cwd: str | Path, cell_timeout: float | None = 600):
        self.notebook = notebook
        self.client = NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=cell_timeout,
            resources={"metadata": {"path": str(cwd)}},
            # The kernel's own log would warn that its local TCP sockets are unencrypted, on every start.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
        self.cell_seconds: list[tuple[str, float]] = []

    def start(self, env: dict[str, str] | None = None) -> None:
        self.client.km = self.client.create_kernel_manager()
        self.client.start_new_kernel(env=env)
        self.client.start_new_kernel_client()

    def run_cells(self, indexes: range, progress: Callable[[str], None] = lambda _: None) -> None:
        cells = self.notebook.cells
        for index in indexes:
            cell = cells[index]
            if cell.cell_type != "code":
                continue
            started = time.monotonic()
            progress(describe_cell(cell, index))
            try:
                self.client.execute_cell(cell, index, execution_count=self.client.code_cells_executed + 1)
            except CellTimeoutError:
                raise CellFailed(cell, index, f"timed out after {self.client.timeout} s") from None
            except DeadKernelError as error:
                raise CellFailed(cell, index, f"the kernel died ({error})") from None
            except CellExecutionError as error:
                raise CellFailed(cell, index, f"{error.ename}: {error.evalue}", _traceback_of(cell)) from None
            finally:
                self.cell_seconds.append((describe_cell(cell, index), time.monotonic() - started))

    def stop(self) -> None:
        if self.client.km is not None:
            self.client._cleanup_kernel()


def _traceback_of(cell: nbformat.NotebookNode) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return ANSI_ESCAPE.sub("", "\n".join(output.get("traceback", [])))
    return ""
