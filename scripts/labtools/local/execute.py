"""Execute a converted notebook in a real Jupyter kernel, cell by cell.

Failures name the cell the way a learner finds it: the `.py` file and line,
the cell's number and its title, e.g.

    notebooks/01-lab.py:120 (cell 9 "Train") failed: ValueError: ...
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_core.utils import ensure_event_loop
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from ..text import strip_ansi
from .errors import CellFailed, KernelStartError

# The exceptions the lab's includes raise for bad input (notebooks/includes/setup.py LabDataError, spark_setup.py
# LabVolumeError): their message is the whole story, one line naming the parameter to set.
LAB_INPUT_ERRORS = frozenset({"LabDataError", "LabVolumeError"})


def describe_cell(cell: nbformat.NotebookNode, index: int, line: int | None = None) -> str:
    """`notebooks/x.py:12 (cell 3 "Title")`, or the Jupyter index for injected cells; `line`, if known, is the
    line that raised, else the cell's first line."""
    origin = cell.metadata.get("databricks")
    if not origin:
        return f"injected cell {index}"
    title = f' "{origin["title"]}"' if origin.get("title") else ""
    return f"{origin['file']}:{line or origin['line']} (cell {origin['cell']}{title})"


# IPython names a cell's frames in a traceback "Cell In[7], line 3": the 7th execution, its 3rd line.
_CELL_FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)")


def raising_line(cell: nbformat.NotebookNode, traceback: str) -> int | None:
    """The notebook file's line that raised in `cell`, from its traceback: the deepest frame of this cell's own
    code (a function it defines and calls included). None when the traceback names none (an injected cell's)."""
    origin = cell.metadata.get("databricks")
    if not origin or cell.get("execution_count") is None:
        return None
    lines = [int(line) for count, line in _CELL_FRAME.findall(traceback) if int(count) == cell.execution_count]
    if not lines:
        return None
    return origin.get("code_line", origin["line"]) + lines[-1] - 1


class NotebookRun:
    """One kernel for one notebook: `start()`, then `run_cells(...)`, then `stop()`.

    Starting the kernel is split from running cells so that the caller can
    start a tracking server meanwhile and wait for it only before the lab's
    own cells.
    """

    def __init__(
        self,
        notebook: nbformat.NotebookNode,
        cwd: str | Path,
        cell_timeout: float | None = 600,
        python: str | None = None,
    ):
        self.notebook = notebook
        self.python = python  # the kernel's interpreter, e.g. a runtime's virtual environment (runtimes.py)
        self.client = NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=cell_timeout,
            resources={"metadata": {"path": str(cwd)}},
            shutdown_kernel="immediate",  # the kernel holds nothing to save: don't wait for a polite exit
        )
        self.cell_seconds: list[tuple[str, float]] = []

    def start(self, env: dict[str, str] | None = None, log_path: Path | None = None) -> None:
        """Start the kernel; its own log (not the cells' output) goes to `log_path`."""
        self.client.km = self.client.create_kernel_manager()
        if self.python:
            self.client.km.kernel_spec_manager = InterpreterKernelSpecs(python=self.python)
        log = open(log_path, "ab") if log_path else None  # noqa: SIM115 (the kernel keeps writing to it)
        try:
            self.client.start_new_kernel(env=env if env is not None else dict(os.environ), stdout=log, stderr=log)
            self.client.start_new_kernel_client()
        except KeyboardInterrupt:
            _cancel_pending_tasks()
            raise
        except (OSError, RuntimeError) as error:  # no interpreter, no ipykernel, or no answer in time
            where = f"; its log: {log_path}" if log_path else ""
            interpreter = self.python or "python3"
            raise KernelStartError(f"the Jupyter kernel ({interpreter}) did not start: {error}{where}") from None

    def run_cells(
        self, indexes: range, progress: Callable[[str], None] = lambda _: None, timeout: float | None = None
    ) -> None:
        """Run the code cells at `indexes`; `timeout` overrides the per-cell timeout for these cells."""
        cell_timeout, self.client.timeout = self.client.timeout, timeout or self.client.timeout
        try:
            self._run_cells(indexes, progress)
        except KeyboardInterrupt:
            _cancel_pending_tasks()
            raise
        finally:
            self.client.timeout = cell_timeout

    def _run_cells(self, indexes: range, progress: Callable[[str], None]) -> None:
        cells = self.notebook.cells
        for index in indexes:
            cell = cells[index]
            if cell.cell_type != "code":
                continue
            started = time.monotonic()
            where = describe_cell(cell, index)
            progress(where)
            try:
                self.client.execute_cell(cell, index, execution_count=self.client.code_cells_executed + 1)
            except CellTimeoutError:
                raise CellFailed(where, f"timed out after {self.client.timeout:g} s", **_origin(cell)) from None
            except DeadKernelError as error:
                raise CellFailed(where, f"the kernel died ({error})", **_origin(cell)) from None
            except CellExecutionError as error:
                full_traceback = _traceback_of(cell)
                line = raising_line(cell, full_traceback)
                origin = cell.metadata.get("databricks") or {}
                # The lab's own errors already say, in one line, what to fix (a data_path, a volume): no traceback.
                trace = "" if error.ename in LAB_INPUT_ERRORS else full_traceback
                raise CellFailed(
                    describe_cell(cell, index, line),
                    f"{error.ename}: {error.evalue}",
                    trace,
                    file=origin.get("file"),
                    line=line or origin.get("line"),
                ) from None
            finally:
                self.cell_seconds.append((where, time.monotonic() - started))

    def stop(self) -> None:
        if self.client.km is not None:
            self.client._cleanup_kernel()

    def kill(self) -> None:
        """Kill the kernel's process, from any thread: the cell it runs then fails as "the kernel died"."""
        process = getattr(self.client.km and self.client.km.provisioner, "process", None)
        if process is not None and process.poll() is None:
            process.kill()


class InterpreterKernelSpecs(KernelSpecManager):
    """Kernel specs that start ipykernel on one given interpreter.

    The `python3` spec that Jupyter finds names plain `python`, which jupyter_client
    replaces by its own interpreter; a runtime's kernel must run on the runtime's.
    """

    def __init__(self, python: str, **kwargs):
        super().__init__(**kwargs)
        self.python = python

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(
            # frozen_modules=off: as ipykernel's own spec, so that its debugger does not warn on every start.
            argv=[self.python, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name=f"Python ({self.python})",
            language="python",
        )


def _cancel_pending_tasks() -> None:
    """Cancel what nbclient left running on its event loop when Ctrl-C stopped the loop mid-call.

    nbclient runs each call to completion on one loop per thread. Ctrl-C ends that run early, leaving the
    call's tasks (waiting for a reply, polling whether the kernel lives) pending on the loop; the next use
    of the loop (stopping the kernel) would run them again, and with the kernel dying of the same Ctrl-C
    they would end in DeadKernelError, which asyncio prints as a traceback ("Task exception was never
    retrieved"). Cancelled and awaited here, they end quietly.
    """
    loop = ensure_event_loop()
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def _origin(cell: nbformat.NotebookNode) -> dict:
    origin = cell.metadata.get("databricks") or {}
    return {"file": origin.get("file"), "line": origin.get("line")}


def _traceback_of(cell: nbformat.NotebookNode) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return strip_ansi("\n".join(output.get("traceback", [])))
    return ""
