"""Shared fixtures: one real `mlflow server` per pytest worker (the pytest plugin's, scripts/labtools/local/
pytest_plugin.py), and the lab executed once against it through `scripts/run_lab.py`, as a learner runs it. Tests
then check what the tracking server holds; others run a notebook through the plugin's `databricks_notebook` fixture.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

PROJECT = Path(__file__).resolve().parent.parent
SCRIPTS = PROJECT / "scripts"
# The lab's data, in the repository: what the notebooks use by default.
REAL_DATA = PROJECT / "data" / "nyc-taxi.csv"
# Kept after the run (git-ignored) so that a failing CI run can be looked at.
TEST_OUTPUT = PROJECT / ".test-output"
LAB_NOTEBOOK = PROJECT / "notebooks" / "01-using-mlflow-to-track-experiments.py"

sys.path[:0] = [str(SCRIPTS), str(PROJECT)]  # labtools, and the developers' tools (devtools/)

from labtools.local.convert import notebook_namespace  # noqa: E402
from labtools.local.tracking_server import TrackingServer  # noqa: E402

# The real data's figures (rmse, mae, r2) of runs 1, 2, 3: what the course's numbers are, to 0.005.
REAL_DATA_METRICS = [(4.2707, 2.1574, 0.8643), (4.3796, 2.2105, 0.8572), (6.0104, 3.2839, 0.7311)]

# The classic local mode's metrics (rmse, mae, r2) on the lab's data, to full precision, as `run_lab.py` (no
# --serverless) logged them on 2026-12-02 with requirements.txt's versions: test_lab_end_to_end.py and
# test_spark_lab.py hold the classic runs to them, test_serverless.py the serverless ones.
CLASSIC_METRICS = {
    "01-using-mlflow-to-track-experiments": [
        (4.270724095712803, 2.1574002928779383, 0.8642502366631442),
        (4.379612947874818, 2.2105421705249944, 0.8572396800710049),
        (6.010424203841452, 3.283922274613975, 0.7311275528652277),
    ],
    "02-using-mlflow-to-track-experiments-spark-ml": [
        (3.8631997786948054, 2.3854884930494027, 0.8731459849748959),
        (3.700674333162709, 2.143307577773297, 0.8835950044798069),
        (3.8397945453009243, 2.241547431602789, 0.8746784212948499),
    ],
}


def real_trips(rows: int = 200) -> tuple[pd.DataFrame, pd.Series]:
    """The first trips of the lab's data with a fare, featurized as the notebook's "Featurize" cell does."""
    trips = pd.read_csv(REAL_DATA).dropna(subset=["totalAmount"]).head(rows)
    angle = trips["hour_of_day"] * (2.0 * np.pi / 24)
    features = trips.assign(
        hour_sine=np.sin(angle),
        hour_cosine=np.cos(angle),
        isPaidTimeOff=trips["isPaidTimeOff"].astype(int),
        normalizeHolidayName=trips["normalizeHolidayName"].fillna("None"),
    )
    columns = [
        "passengerCount",
        "tripDistance",
        "snowDepth",
        "precipTime",
        "precipDepth",
        "temperature",
        "hour_sine",
        "hour_cosine",
        "day_of_week",
        "month_num",
        "normalizeHolidayName",
        "isPaidTimeOff",
    ]
    numbers = [column for column in columns if column != "normalizeHolidayName"]
    return features[columns].astype(dict.fromkeys(numbers, float)), trips["totalAmount"]


@dataclass
class LabExecution:
    """One `run_lab.py` execution: its output, and where its runs went."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    out: Path
    tracking_uri: str
    experiment_name: str

    def executed_notebook(self, stem: str = LAB_NOTEBOOK.stem) -> nbformat.NotebookNode:
        return nbformat.read(self.out / "executed" / f"{stem}.ipynb", as_version=4)

    def check(self) -> LabExecution:
        assert self.returncode == 0, f"{' '.join(self.command)} failed:\n{self.stdout}\n{self.stderr}"
        return self


def write_notebook(folder: Path, name: str, *cells: str) -> Path:
    """A Databricks source notebook at `folder/name` made of `cells` (each in source-format text)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n\n# COMMAND ----------\n\n".join(textwrap.dedent(c).strip("\n") for c in cells)
    path.write_text(f"# Databricks notebook source\n{body}\n", encoding="utf-8")
    return path


def run_lab(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python scripts/run_lab.py ARGS`, as a user types it."""
    return subprocess.run(
        [sys.executable, str(SCRIPTS / "run_lab.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT,
        env=env or os.environ.copy(),
    )


def execute_lab(tracking_uri: str, out: Path, *extra: str, env: dict | None = None) -> LabExecution:
    """Run the lab against `tracking_uri` into an experiment of its own."""
    experiment_name = f"test-lab-{uuid.uuid4().hex[:8]}"
    args = ["--tracking-uri", tracking_uri, "--out", str(out), "--param", f"experiment_name={experiment_name}", *extra]
    result = run_lab(*args, env=env)
    return LabExecution(
        [sys.executable, "scripts/run_lab.py", *args],
        result.returncode,
        result.stdout,
        result.stderr,
        out,
        tracking_uri,
        experiment_name,
    )


# With pytest -n (--dist loadgroup), each test that reads one of these shared executions goes to that execution's
# worker, so that it runs once; every other test goes to whichever worker is free. (A module-wide group put all of
# test_runner.py, four minutes of runners of their own, on one worker.) Set here, from the fixtures a test asks
# for, so that a new test reading `lab` cannot forget it. The hook runs first: xdist's own hook turns the marker
# into the node id's "@group" suffix, which is what --dist loadgroup reads.
SHARED_EXECUTIONS = {
    "lab": "lab",
    "lab_ja": "lab",
    "one_run": "runner-one-run",
    "spark_lab": "spark-lab",
    "two_sessions": "notebook-claims",
    "spark_notebooks": "local-spark",
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        groups = sorted({SHARED_EXECUTIONS[name] for name in item.fixturenames if name in SHARED_EXECUTIONS})
        if groups:
            item.add_marker(pytest.mark.xdist_group(groups[0]))


def built_once(tmp_path_factory, name: str) -> None:
    """Fail if `name`, one of SHARED_EXECUTIONS' executions, was already built in this pytest session.

    Its tests are meant to run on one worker, after one build. Built twice, they still pass, at twice the cost:
    this makes that a failure. The marker lies where every worker of this session sees it and no other session.
    """
    basetemp = tmp_path_factory.getbasetemp()
    session_root = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    worker = os.environ.get("PYTEST_XDIST_WORKER", "the only worker")
    try:
        with open(session_root / f"built-{name}", "x") as marker:
            marker.write(worker)
    except FileExistsError:
        first = (session_root / f"built-{name}").read_text()
        pytest.fail(
            f"{name} built again, by {worker} (first by {first}): its tests were not kept together; "
            f"conftest.SHARED_EXECUTIONS names the fixtures whose tests must be"
        )


@pytest.fixture(scope="session")
def databricks_notebook_out(tmp_path_factory) -> Path:
    """The plugin's fixtures write (the worker's store, the executed notebooks) in pytest's temporary folder, as the
    rest of the suite: a fresh store per session, and two sessions in one checkout do not wait on each other."""
    return tmp_path_factory.mktemp("notebooks")


@pytest.fixture(scope="session")
def tracking_server(databricks_notebook_session, tmp_path_factory):
    """A real `mlflow server` on 127.0.0.1, one per worker: the plugin's, which the `databricks_notebook` fixtures'
    notebooks log to as well (each test its own experiment). Under --databricks-tracking-uri, one of the session's own,
    since the tests need a server's store and port."""
    server = databricks_notebook_session.tracking_server
    if server is not None:
        yield server
        return
    with TrackingServer(tmp_path_factory.mktemp("mlflow-store")) as server:
        yield server


@pytest.fixture(scope="session")
def lab(tracking_server, tmp_path_factory) -> LabExecution:
    """The lab notebooks, executed once as a fresh clone runs them: on the lab's data, data/nyc-taxi.csv."""
    # The scikit-learn notebook alone: the Spark one has tests of its own (test_spark_lab.py).
    built_once(tmp_path_factory, "lab")
    return execute_lab(tracking_server.uri, tmp_path_factory.mktemp("lab"), str(LAB_NOTEBOOK)).check()


@pytest.fixture(scope="session")
def test_output() -> Path:
    TEST_OUTPUT.mkdir(exist_ok=True)
    return TEST_OUTPUT


@pytest.fixture(scope="session")
def setup_notebook() -> dict:
    """The names notebooks/includes/setup.py defines."""
    return notebook_namespace(PROJECT / "notebooks" / "includes" / "setup.py", root=PROJECT)


@pytest.fixture
def home(tmp_path) -> Path:
    """An empty home folder for a script under test: no ~/.databrickscfg of this machine is read."""
    path = tmp_path / "home"
    path.mkdir()
    return path
