"""One local run of the lab, and the one owner of its processes.

`LocalRun` is a context manager. Inside it live the tracking server (unless the user named one),
one Jupyter kernel per notebook, and the signal handlers that make `kill` and a closed terminal
stop the run as Ctrl-C does. Leaving the block stops every kernel and the server's whole process
group; while it does, further Ctrl-Cs and signals are ignored, so the clean-up cannot itself be
interrupted halfway (which would leave `mlflow server` running). Should the server die mid-run, the kernel is
killed at once rather than left to wait out MLflow's retries.

    with LocalRun(folders, tracking_uri=None) as run:
        run.execute(path, converted, params)    # a convert.ConvertedNotebook; prints progress, raises CellFailed
        runs = run.logged_runs()                # what the notebooks logged, for the closing table
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

import nbformat

from ..kernel_config import KernelConfig, UnityCatalogSettings
from ..lab import LAB_DATA, PROJECT
from . import runs_table
from .connect_server import ConnectServer
from .convert import ConvertedNotebook
from .errors import CellFailed, TrackingServerError, UsageError, disk_full
from .execute import NotebookRun
from .output import OutputFolders
from .prelude import prelude
from .tracking_server import TrackingServer, end_orphaned_runs

# Where an executed notebook records the configuration its kernel was given (labtools/kernel_config.py).
CONFIG_METADATA = "run_lab_kernel_config"

# The signals that end a run. SIGINT raises KeyboardInterrupt by Python's default; the others are made to.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _raise_keyboard_interrupt(signal_number, frame):
    raise KeyboardInterrupt(signal.Signals(signal_number).name)


class LocalRun:
    def __init__(
        self,
        folders: OutputFolders,
        tracking_uri: str | None = None,
        port: int | None = None,
        python: str = sys.executable,
        cell_timeout: float = 600,
        say=print,
        serverless: bool = False,
        java_problem: str | None = None,
    ):
        self.folders = folders
        # Run the notebooks as serverless compute would (kernel/spark.py, kernel/volumes.py): Spark Connect, no
        # caching, DATABRICKS_RUNTIME_VERSION as serverless sets it, and a working directory that is not theirs.
        self.serverless = serverless
        # The runner's one check for Java (prerequisites.py), handed to each kernel: None, Java is there.
        self.java_problem = java_problem
        # Serverless: the workspace its Unity Catalog stand-in plays (kernel/unity_catalog.py), read once from the
        # DP090_UC_* variables; a bad value is bad input, said before anything starts.
        try:
            self.unity_catalog = UnityCatalogSettings.from_environ() if serverless else UnityCatalogSettings()
        except ValueError as error:
            raise UsageError(str(error)) from None
        self.python = python
        self.cell_timeout = cell_timeout
        self.say = say
        self.server = None if tracking_uri else TrackingServer(folders.store, port=port, python=python)
        # Serverless: one Spark Connect server for all the notebooks, as their compute; without Java, none, and a
        # notebook using Spark fails on first use saying so.
        self.spark_server = ConnectServer(folders.spark, python) if serverless and not java_problem else None
        self.given_tracking_uri = tracking_uri
        # Tags every run this execution logs (through the kernels' environment): the closing table lists
        # these runs only, whoever else logs to the same server meanwhile.
        self.invocation = uuid.uuid4().hex
        self.kernels: list[NotebookRun] = []
        self.started = time.monotonic()
        # When the start-up steps finished, in seconds since the run started (printed by --timings).
        self.startup: dict[str, float] = {}
        self._previous_handlers: dict = {}

    @property
    def tracking_uri(self) -> str:
        # The runner's own server may move to another port if its first one was taken (tracking_server.py).
        return self.given_tracking_uri or self.server.uri

    def __enter__(self) -> LocalRun:
        if self.given_tracking_uri:
            runs_table.check_server(self.given_tracking_uri)  # before a kernel starts and fails on it
        for signal_number in (signal.SIGTERM, signal.SIGHUP):
            self._previous_handlers[signal_number] = signal.signal(signal_number, _raise_keyboard_interrupt)
        try:
            if self.server:
                self.server.start()
                self.say(f"Starting MLflow tracking server at {self.tracking_uri} (store: {self.server.store})")
            if self.spark_server:
                self.spark_server.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type, *exc) -> None:
        # The clean-up runs to its end: a second Ctrl-C (or kill) now would leave processes behind.
        interrupt_handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
        for signal_number in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signal_number, signal.SIG_IGN)
        try:
            for kernel in self.kernels:
                kernel.stop()
            if self.spark_server:
                self.spark_server.stop()
            if self.server:
                self.server.stop()
                # A run its kernel could not end (the kernel or the server died, or Ctrl-C) would stay
                # RUNNING in the store for ever; with kernels and server stopped, nothing else will end it.
                interrupted = exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
                end_orphaned_runs(self.server.db, self.invocation, "KILLED" if interrupted else "FAILED")
        finally:
            signal.signal(signal.SIGINT, interrupt_handler)
            for signal_number, handler in self._previous_handlers.items():
                signal.signal(signal_number, handler)

    def execute(
        self,
        path: Path,
        converted: ConvertedNotebook,
        params: dict[str, str],
        executed_path: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """Run one converted notebook in a new kernel, cell by cell; the executed notebook is saved either way, to
        `executed_path` (default: `executed/<stem>.ipynb` under --out). `env` adds to the kernel's environment."""
        relative = path.relative_to(PROJECT) if path.is_relative_to(PROJECT) else path
        self.say(f"\nRunning {relative}")
        notebook = converted.notebook
        config = self.kernel_config(params)
        notebook.metadata[CONFIG_METADATA] = json.loads(config.to_json())  # what the kernel was told, kept
        warm_up = converted.code if self.server else ""  # its imports, done while the server starts
        code = prelude(in_kernel=True, warm_up=warm_up, needs_spark=converted.needs_spark, serverless=self.serverless)
        notebook.cells.insert(0, _injected(code))

        # A notebook's own folder is its working directory in a kernel, as on a cluster; serverless compute
        # does not promise that, so there a notebook runs from a folder of its own, which holds nothing.
        cwd = path.parent
        if self.serverless:
            cwd = self.folders.spark / "serverless-cwd"
            cwd.mkdir(exist_ok=True)
        kernel = NotebookRun(notebook, cwd=cwd, cell_timeout=self.cell_timeout, python=self.python)
        self.kernels.append(kernel)
        started = time.monotonic()
        total = sum(cell.cell_type == "code" for cell in notebook.cells)
        count = 0

        def progress(description: str) -> None:
            nonlocal count
            count += 1
            self.say(f"  [{count:>2}/{total}] {time.monotonic() - started:6.1f}s  {description}", flush=True)

        executed_path = executed_path or self.folders.executed / (path.stem + ".ipynb")
        try:
            kernel_uri = self.tracking_uri
            kernel_env = {**self._kernel_env(relative, config), **(env or {})}
            kernel.start(env=kernel_env, log_path=self.folders.executed / "kernel.log")
            self._milestone("kernel ready")
            kernel.run_cells(range(0, 1), progress, timeout=300)  # imports, whatever --cell-timeout says
            self._milestone("imports done")
            if self.server:
                self.wait_for_server()
                self._milestone("server ready")
            if self.tracking_uri != kernel_uri:  # the server moved after the kernel started: tell the kernel
                moved = f"import os\nos.environ['MLFLOW_TRACKING_URI'] = {self.tracking_uri!r}  # the server moved"
                notebook.cells.insert(1, _injected(moved))
                total += 1
            if self.spark_server:
                spark_url = self.spark_server.url
                self.spark_server.wait_ready()
                self._milestone("Spark Connect server ready")
                if self.spark_server.url != spark_url:  # it moved to another port: tell the kernel
                    moved = f"_standins.spark.connect_to({self.spark_server.url!r})  # the Spark Connect server moved"
                    notebook.cells.insert(1, _injected(moved))
                    total += 1
            self._milestone("first lab cell starts")
            with self._kernel_killed_if_the_server_dies(kernel):
                kernel.run_cells(range(1, len(notebook.cells)), progress)
        except CellFailed as failure:
            server_failure = self._server_failure(failure)
            if server_failure:
                raise server_failure from None
            raise
        finally:
            _save(notebook, executed_path, self.say)
        self.say(f"  done in {time.monotonic() - started:.1f}s; executed notebook: {executed_path}")

    @contextlib.contextmanager
    def _kernel_killed_if_the_server_dies(self, kernel: NotebookRun):
        """Kill the kernel as soon as the runner's tracking server dies: its cell would otherwise wait out MLflow's
        retries (10 s and more, call after call) before failing. The run's failure is then the server's
        (`_server_failure`), and the run it left open is marked FAILED on the way out, as before."""
        if not self.server:
            yield
            return
        finished = threading.Event()

        def watch() -> None:
            while not finished.wait(0.2):
                if not self.server.is_alive():
                    kernel.kill()
                    return

        watcher = threading.Thread(target=watch, name="server-watch", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            finished.set()
            watcher.join()

    def _server_failure(self, failure: CellFailed) -> TrackingServerError | None:
        """The cause of a failed cell when it was the runner's tracking server, not the notebook: a one-line error.

        The cell's own traceback (hundreds of lines of MLflow's retries) says less than this line does.
        """
        if not self.server:
            return None
        if not self.server.is_alive():
            return TrackingServerError(f"{self.server.death()}; {failure.where} could not finish")
        if self.server.disk_full():
            return TrackingServerError(
                f"{disk_full(self.server.store, 'the tracking store ')}; "
                f"{failure.where} could not log ({failure.reason[:200]})"
            )
        return None

    def kernel_config(self, params: dict[str, str]) -> KernelConfig:
        """What a notebook's kernel is told (through its environment: `_kernel_env`)."""
        return KernelConfig(
            fs_root=str(self.folders.dbfs),
            spark_dir=str(self.folders.spark),
            lab_data=str(LAB_DATA),
            widget_values=dict(params),
            serverless=self.serverless,
            spark_connect_url=self.spark_server.url if self.spark_server else None,
            java_problem=self.java_problem,
            unity_catalog=self.unity_catalog,
        )

    def _kernel_env(self, notebook: Path, config: KernelConfig) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("DATABRICKS_")}
        env.update(config.environment())
        env["MLFLOW_TRACKING_URI"] = self.tracking_uri
        # Tags MLflow gives each run it starts (MLFLOW_RUN_CONTEXT, read by its SystemEnvironmentContext in
        # every version runtimes/ pins, and applied after the defaults): the source is the notebook, as on
        # Databricks, not ipykernel_launcher.py; and this execution's id, for the closing table.
        try:
            tags = dict(json.loads(os.environ.get("MLFLOW_RUN_CONTEXT") or "{}"))
        except (TypeError, ValueError):
            raise UsageError("MLFLOW_RUN_CONTEXT in the environment is not a JSON object of tags; unset it") from None
        tags.update(
            {
                "mlflow.source.name": str(notebook),
                "mlflow.source.type": "NOTEBOOK",
                runs_table.INVOCATION_TAG: self.invocation,
            }
        )
        env["MLFLOW_RUN_CONTEXT"] = json.dumps(tags)
        env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "2"  # a local server that stops answering will not come back
        # MLflow 2.13 (runtime 15.4-lts-ml) imports setuptools in log_model; in a kernel, whose IPython has
        # already imported distutils, setuptools then warns on every later call. A local artefact: keep it out.
        env["SETUPTOOLS_USE_DISTUTILS"] = "stdlib"
        return env

    def _milestone(self, name: str) -> None:
        self.startup.setdefault(name, time.monotonic() - self.started)

    def logged_runs(self) -> list[runs_table.Run]:
        """The runs the notebooks logged during this run, oldest first."""
        return runs_table.runs_of(self.tracking_uri, self.invocation)

    def timings(self) -> str:
        milestones = ", ".join(f"{name} {seconds:.1f}" for name, seconds in self.startup.items())
        lines = [f"\nStart-up (seconds since the runner started): {milestones}", "Cell timings (wall seconds):"]
        lines += [
            f"  {seconds:7.2f}  {description}"
            for kernel in self.kernels
            for description, seconds in kernel.cell_seconds
        ]
        return "\n".join(lines)

    def wait_for_server(self) -> None:
        if self.server:
            port = self.server.port
            self.server.wait_ready()
            if self.server.port != port:
                self.say(
                    f"Another server took port {port} before the runner's could; "
                    f"the runner's tracking server is at {self.server.uri} instead."
                )

    def serve_until_interrupted(self, lab_runs: list[runs_table.Run]) -> None:
        """Keep the MLflow UI up, printing where to look, until Ctrl-C."""
        uri = self.server.uri
        lines = [f"\nThe MLflow UI is at {uri}"]
        lines += [f"  experiment: {uri}/#/experiments/{e}" for e in sorted({run.experiment_id for run in lab_runs})]
        lines += [f"  run {r.run_name}: {uri}/#/experiments/{r.experiment_id}/runs/{r.run_id}" for r in lab_runs]
        lines += ["Press Ctrl-C to stop the server."]
        try:  # entered before the line that invites Ctrl-C is printed, so that a quick one is caught here too
            self.say("\n".join(lines), flush=True)
            while self.server.is_alive():
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.say("\nStopping the tracking server.")
            return
        raise TrackingServerError(f"the tracking server stopped; its log ends:\n{self.server.log_tail()}")


def _save(notebook: nbformat.NotebookNode, path: Path, say) -> None:
    """Write the executed notebook; if that fails while another failure is on its way, say so and let that one out.

    Called from a `finally:`, where `sys.exc_info()` is the failure on its way, if any.
    """
    failing = sys.exc_info()[0] is not None
    try:
        nbformat.write(notebook, path)
    except OSError as error:
        if not failing:  # nothing else failed: this is the failure
            raise
        say(f"(the executed notebook could not be saved to {path}: {error.strerror})", file=sys.stderr)


def _injected(code: str) -> nbformat.NotebookNode:
    """A cell of the runner's own, tagged so in the executed notebook."""
    cell = nbformat.v4.new_code_cell(code)
    cell.metadata["tags"] = ["injected-parameters"]
    return cell
