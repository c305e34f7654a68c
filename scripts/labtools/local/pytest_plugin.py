"""A pytest plugin: each Databricks source notebook a test, run locally as `run_lab.py` runs the lab.

    pytest --databricks-notebooks notebooks/              # every notebook under notebooks/ is a test
    pytest --databricks-notebooks notebooks/ -n 2 --databricks-param env=test

Off unless asked (`--databricks-notebooks`, or `databricks_notebooks = true` in the ini file). Then every `.py`
file under pytest's paths whose first line is `# Databricks notebook source` is one test item, its id the path;
a notebook another collected notebook `%run`s is left out unless named itself. Each runs in a fresh kernel,
through the runner's own parts (`convert`, `execute`, `LocalRun`): a failure is the raising line,
`notebooks/x.py:123 (cell 7 "Title")`, and the exception; a `%scala` or `%r` cell skips the notebook.

One tracking server per pytest process (per xdist worker), started on the first notebook and shared; each
notebook logs into an experiment named by its path unless it sets one; or `--databricks-tracking-uri`.
Outputs (the store, the executed notebooks) go to `--databricks-out`, one folder per worker.

Widget values, later ones winning: the ini file's `databricks_notebook_params` lines (`PATH KEY=VALUE ...`), a
conftest's `pytest_databricks_notebook_params(path, config)` hook (a dict), `--databricks-param KEY=VALUE`.

The `databricks_notebook` fixture runs a notebook from a test and returns what it did (`NotebookResult`);
`databricks_notebook_session` is the same for session- and module-scoped fixtures, and its `tracking_server` is
this worker's server. A conftest may override `databricks_notebook_out` to give the fixtures' notebooks another
output folder (this repository's tests: pytest's temporary folder).
Installed by `pip install .` (the `pytest11` entry point in pyproject.toml); in this repository, conftest.py at
its root loads it without installing.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from _pytest._code.code import ExceptionChainRepr, ReprEntryNative, ReprFileLocation, ReprTraceback
from _pytest.outcomes import Skipped
from _pytest.python import path_matches_patterns

from ..notebook import dbsource
from ..notebook.dbsource import NotebookFormatError
from . import prerequisites, runs_table
from .convert import ConvertedNotebook
from .errors import CellFailed, ClusterOnlyCell, TrackingServerError, UsageError
from .local_run import LocalRun
from .output import OutputFolders
from .tracking_server import TrackingServer

FIRST_LINE = "# Databricks notebook source"
EXIT_PREFIX = "Notebook exited: "  # what kernel/standins.py's dbutils.notebook.exit prints
RUNNER_ERRORS = (UsageError, TrackingServerError, NotebookFormatError)


class NotebookHooks:
    @pytest.hookspec
    def pytest_databricks_notebook_params(self, path: Path, config: pytest.Config) -> dict[str, str]:
        """Widget values for the notebook at `path`; every conftest's answer counts, the command line's win."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(NotebookHooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("databricks-notebooks", "Databricks notebooks, run locally")
    group.addoption(
        "--databricks-notebooks",
        action="store_true",
        default=None,
        help="collect every Databricks source notebook (.py, first line '# Databricks notebook source') "
        "under the paths as a test",
    )
    group.addoption(
        "--databricks-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a widget value for every notebook; may be repeated",
    )
    group.addoption(
        "--databricks-cell-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds a cell may run (default: 600)",
    )
    group.addoption(
        "--databricks-serverless",
        action="store_true",
        default=None,
        help="run as serverless compute would (run_lab.py --serverless: Spark Connect, /Volumes)",
    )
    group.addoption(
        "--databricks-tracking-uri",
        metavar="URI",
        help="log to this running MLflow tracking server instead of starting one per worker",
    )
    group.addoption(
        "--databricks-out",
        metavar="FOLDER",
        help="where the tracking store and executed notebooks go (default: .databricks-notebooks/)",
    )
    group.addoption(
        "--databricks-overwrite",
        action="store_true",
        default=None,
        help="also write each executed notebook beside its source, as NAME.ipynb",
    )
    parser.addini(
        "databricks_notebooks", "collect Databricks notebooks (as --databricks-notebooks)", type="bool", default=False
    )
    parser.addini(
        "databricks_notebook_params",
        "per-notebook widget values: lines of PATH KEY=VALUE ...",
        type="linelist",
        default=[],
    )
    parser.addini("databricks_cell_timeout", "seconds a cell may run", default="600")
    parser.addini("databricks_serverless", "run as serverless compute would", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[SESSION] = NotebookSession(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION, None)
    if session is not None:
        session.close()


def _enabled(config: pytest.Config) -> bool:
    option = config.getoption("databricks_notebooks")
    return bool(option if option is not None else config.getini("databricks_notebooks"))


def is_notebook(path: Path) -> bool:
    if path.suffix != ".py":
        return False
    try:
        with open(path, encoding="utf-8") as file:
            return file.readline().rstrip("\r\n") == FIRST_LINE
    except (OSError, UnicodeDecodeError):
        return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if _enabled(parent.config) and is_notebook(file_path) and not _python_module(file_path, parent):
        return NotebookFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector):
    """A notebook that pytest's own Python collector takes (named on the command line, or named test_*.py) is a
    notebook too: never imported into pytest's process as a test module, which would run its code there."""
    if _enabled(parent.config) and is_notebook(module_path):
        return NotebookFile.from_parent(parent, path=module_path)
    return None


def _python_module(path: Path, parent: pytest.Collector) -> bool:
    """Whether pytest's Python collector takes `path` (then through `pytest_pycollect_makemodule`, above)."""
    return parent.session.isinitpath(path) or path_matches_patterns(path, parent.config.getini("python_files"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the notebooks that another collected notebook `%run`s (includes), unless named on the command line."""
    notebooks = [item for item in items if isinstance(item, NotebookItem)]
    if not notebooks:
        return
    included = set()
    for item in notebooks:
        included |= run_targets(item.path)
    named = {(config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args}
    left_out = [item for item in notebooks if item.path.resolve() in included and item.path.resolve() not in named]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]


def run_targets(path: Path) -> set[Path]:
    """The notebooks `path` names in `%run` cells, resolved (those that exist)."""
    try:
        cells = dbsource.read(path).cells
    except (OSError, NotebookFormatError):
        return set()
    found = set()
    for cell in cells:
        if cell.magic == "run" and cell.magic_args.strip():
            with contextlib.suppress(ValueError):
                name = shlex.split(cell.magic_args)[0]
                target = (path.parent / name).resolve()
                found.add(target if target.suffix == ".py" else target.with_name(target.name + ".py"))
    return found


class NotebookFile(pytest.File):
    def collect(self):
        # The item's id is the notebook's path, as the file's: `pytest notebooks/x.py` names it.
        yield NotebookItem.from_parent(self, name=self.path.name, nodeid=self.nodeid)


class NotebookItem(pytest.Item):
    def runtest(self) -> None:
        session: NotebookSession = self.config.stash[SESSION]
        session.run(self.path, session.params_for(self.path))

    def repr_failure(self, excinfo, style=None):
        error = excinfo.value
        if isinstance(error, CellFailed):
            message = f"{error.where}: {error.reason}"
            lines = error.traceback.splitlines() or [error.reason]
            return _located(error.file or self.nodeid, error.line or 1, message, lines)
        if isinstance(error, NotebookFormatError):
            return _located(error.path, error.line, str(error), [str(error)])
        if isinstance(error, RUNNER_ERRORS):
            return str(error)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        # The failure's heading; not the bare id, which -v would print with its dots as "::" (nbs/x::py).
        return self.path, 0, f"{self.nodeid} (Databricks notebook)"


def _located(file: str, line: int, message: str, lines: list[str]) -> ExceptionChainRepr:
    """A failure report whose location is `file:line` (pytest prints it under the traceback, as editors and CI
    annotations read it, and its short summary shows `message`); it survives xdist's serialization."""
    crash = ReprFileLocation(file, line, message)
    text = [*lines, "", f"{file}:{line}: {message}"]  # the location last, as pytest's own reports end
    traceback = ReprTraceback([ReprEntryNative([each + "\n" for each in text])], None, style="native")
    return ExceptionChainRepr([(traceback, crash, None)])


@dataclass
class NotebookResult:
    """What a notebook did: its MLflow runs (`runs_table.Run`: ids, params, metrics), oldest first, its
    `dbutils.notebook.exit` value (None if it did not exit), the executed notebook, and where it logged:
    `experiment_name` is the one the plugin gave it (MLFLOW_EXPERIMENT_NAME), which a notebook that sets its own
    does not use (each run's `experiment_id` says where it went)."""

    path: Path
    runs: list[runs_table.Run]
    exit_value: str | None
    executed: nbformat.NotebookNode
    executed_path: Path
    tracking_uri: str
    experiment_name: str

    @property
    def printed(self) -> str:
        """Every stream the notebook's cells printed (print, stdout, stderr), in order."""
        return "".join(
            output.get("text", "")
            for cell in self.executed.cells
            if cell.cell_type == "code"
            for output in cell.get("outputs", [])
            if output.get("output_type") == "stream"
        )


class NotebookSession:
    """This pytest process's notebooks: one `LocalRun` per mode (classic, serverless) sharing one tracking server,
    started on first use, and kernels one by one. Under xdist each worker is a process of its own, with its own
    server and output folder."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self._stack = contextlib.ExitStack()
        self._runs: dict[bool, LocalRun] = {}  # by serverless or not; the first one made owns the server
        self._prerequisites: dict[bool, prerequisites.Prerequisites] = {}
        self._folders: OutputFolders | None = None
        self.root = config.rootpath
        self.out: Path | None = None  # the fixtures' `databricks_notebook_out`, if a conftest gives one

    def params_for(self, path: Path) -> dict[str, str]:
        params: dict[str, str] = {}
        base = self.config.inipath.parent if self.config.inipath else self.root
        for line in self.config.getini("databricks_notebook_params"):
            words = shlex.split(line)
            if words and (base / words[0]).resolve() == path.resolve():
                params.update(_pairs(words[1:], f"databricks_notebook_params: {line}"))
        for answer in reversed(self.config.hook.pytest_databricks_notebook_params(path=path, config=self.config)):
            params.update({str(key): str(value) for key, value in (answer or {}).items()})
        params.update(_pairs(self.config.getoption("databricks_param"), "--databricks-param"))
        return params

    def _option(self, name: str):
        value = self.config.getoption(name)
        return value if value is not None else self.config.getini(name)

    def worker_folders(self) -> OutputFolders:
        """This worker's output folder, held (locked) until the session ends."""
        if self._folders is None:
            out = self.out or self.config.getoption("databricks_out") or self.root / ".databricks-notebooks"
            # xdist gives each worker's config its id; a run without xdist (even one pytest starts inside a worker,
            # as pytester does, where the environment still says PYTEST_XDIST_WORKER) is "main".
            worker = getattr(self.config, "workerinput", {}).get("workerid", "main")
            self._folders = self._stack.enter_context(OutputFolders(Path(out).resolve() / worker).lock()).create()
        return self._folders

    def local_run(self, serverless: bool | None = None) -> LocalRun:
        """The `LocalRun` of a mode (default: the options'), made on first use. The first one made starts the
        worker's tracking server (unless --databricks-tracking-uri names one); a later one, of the other mode,
        logs to that same server, and keeps its executed notebooks in a subfolder named after its mode."""
        if serverless is None:
            serverless = bool(self._option("databricks_serverless"))
        if serverless not in self._runs:
            folders = self.worker_folders()
            tracking_uri = self.config.getoption("databricks_tracking_uri")
            if self._runs:
                owner = next(iter(self._runs.values()))
                owner.wait_for_server()
                tracking_uri = owner.tracking_uri
                folders = OutputFolders(folders.out / ("serverless" if serverless else "classic")).create()
            found = prerequisites.check(sys.executable, serverless, True)
            run = LocalRun(
                folders,
                tracking_uri,
                cell_timeout=float(self._option("databricks_cell_timeout")),
                serverless=serverless,
                java_problem=found.java,
            )
            self._runs[serverless] = self._stack.enter_context(run)
            self._prerequisites[serverless] = found
        return self._runs[serverless]

    def tracking_server(self) -> TrackingServer | None:
        """This worker's tracking server, ready; None where --databricks-tracking-uri names another one."""
        run = next(iter(self._runs.values()), None) or self.local_run()
        run.wait_for_server()
        return run.server

    def run(self, path: Path, params: dict[str, str], serverless: bool | None = None) -> NotebookResult:
        """Run the notebook at `path` in a fresh kernel; raises CellFailed, or skips the test."""
        try:
            converted = ConvertedNotebook.read(path, root=self.root)
        except ClusterOnlyCell as error:
            raise _skip(f"line {error.line}: {error.message}") from None
        run = self.local_run(serverless)
        found = self._prerequisites[run.serverless]
        if converted.needs_spark and found.spark:
            raise _skip(f"it uses Spark: {found.spark}")
        if converted.needs_spark and found.volumes:
            raise _skip(f"serverless mode: {found.volumes}")
        relative = self._display(path)
        executed_path = run.folders.executed / Path(relative).with_suffix(".ipynb")
        executed_path.parent.mkdir(parents=True, exist_ok=True)
        experiment = "/" + Path(relative).with_suffix("").as_posix()
        env = {} if os.environ.get("MLFLOW_EXPERIMENT_NAME") else {"MLFLOW_EXPERIMENT_NAME": experiment}
        # Imports as on Databricks (Runtime 11.3 and later): the notebook's folder, and a Git folder's root, are on
        # sys.path ("Work with Python and R modules", docs.databricks.com/files/workspace-modules.html).
        paths = [str(path.parent), str(repository_root(path) or self.root), os.environ.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
        run.invocation = uuid.uuid4().hex  # this notebook's runs: the tag LocalRun gives each run in its kernels
        kernels = len(run.kernels)
        try:
            run.execute(path, converted, params, executed_path=executed_path, env=env)
        finally:
            for kernel in run.kernels[kernels:]:  # a fresh kernel per notebook: stopped now, not at the end
                kernel.stop()
            del run.kernels[kernels:]
            if self.config.getoption("databricks_overwrite") and executed_path.exists():
                shutil.copyfile(executed_path, path.with_suffix(".ipynb"))
        executed = nbformat.read(executed_path, as_version=4)
        return NotebookResult(
            path,
            runs_table.runs_of(run.tracking_uri, run.invocation),
            exit_value(executed),
            executed,
            executed_path,
            run.tracking_uri,
            env.get("MLFLOW_EXPERIMENT_NAME", os.environ.get("MLFLOW_EXPERIMENT_NAME", "")),
        )

    def _display(self, path: Path) -> str:
        path = path.resolve()
        return path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else path.as_posix()

    def close(self) -> None:
        self._stack.close()


SESSION = pytest.StashKey[NotebookSession]()


def _skip(reason: str) -> Skipped:
    """A skip that the summary places at the notebook (the item's location), not at this module's line."""
    return Skipped(reason, _use_item_location=True)


def _pairs(words: list[str], where: str) -> dict[str, str]:
    pairs = {}
    for word in words:
        key, equals, value = word.partition("=")
        if not equals or not key:
            raise pytest.UsageError(f"{where}: {word!r} is not KEY=VALUE")
        pairs[key] = value
    return pairs


def repository_root(path: Path) -> Path | None:
    """The root of the Git working tree holding `path`, if any."""
    for folder in path.resolve().parents:
        if (folder / ".git").exists():
            return folder
    return None


def exit_value(notebook: nbformat.NotebookNode) -> str | None:
    """The value the notebook passed to `dbutils.notebook.exit` (the last, if several), from what it printed."""
    value = None
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            for line in text.splitlines():
                if line.startswith(EXIT_PREFIX):
                    value = line[len(EXIT_PREFIX) :]
    return value


class NotebookRunner:
    """What the fixtures give a test: `runner(path, serverless=None, **params)` runs the notebook at `path` (relative
    to the working directory) in a fresh kernel and returns a `NotebookResult`; a failing cell fails the test (or
    the fixture that called it) at its line. `serverless=True` runs it as --databricks-serverless would, against the
    same tracking server. `runner.tracking_server`: this worker's server (None under --databricks-tracking-uri)."""

    def __init__(self, session: NotebookSession):
        self.session = session

    def __call__(self, path: str | Path, *, serverless: bool | None = None, **params: str) -> NotebookResult:
        for key, value in params.items():
            if not isinstance(value, str):
                raise TypeError(f"databricks_notebook: widget {key}={value!r} must be a string, as a job passes it")
        path = Path(path).resolve()
        try:
            return self.session.run(path, {**self.session.params_for(path), **params}, serverless)
        except CellFailed as failure:
            pytest.fail(f"{failure}\n{failure.traceback}", pytrace=False)

    @property
    def tracking_server(self) -> TrackingServer | None:
        return self.session.tracking_server()


@pytest.fixture(scope="session")
def databricks_notebook_out() -> Path | None:
    """Where the fixtures' notebooks write their store and executed notebooks (a folder per worker below it):
    None, --databricks-out's (or .databricks-notebooks/). Override it in a conftest, e.g. with
    `tmp_path_factory.mktemp("notebooks")`; notebooks collected as tests use --databricks-out's all the same."""
    return None


@pytest.fixture(scope="session")
def databricks_notebook_session(pytestconfig: pytest.Config, databricks_notebook_out) -> NotebookRunner:
    """`databricks_notebook`, for session- and module-scoped fixtures: a notebook run once for several tests."""
    session: NotebookSession = pytestconfig.stash[SESSION]
    if databricks_notebook_out is not None and session.out is None:
        session.out = Path(databricks_notebook_out)
    return NotebookRunner(session)


@pytest.fixture
def databricks_notebook(databricks_notebook_session) -> NotebookRunner:
    """`databricks_notebook(path, serverless=None, **params)`: run a notebook in a fresh kernel against this worker's
    tracking server and get back a `NotebookResult`; a failing cell fails the test at its line."""
    return databricks_notebook_session
