"""The pytest plugin (scripts/labtools/local/pytest_plugin.py): Databricks notebooks as tests, run by a real pytest
in a folder of its own (pytester), against one real tracking server for this module, in real kernels."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from conftest import PROJECT, SCRIPTS

from labtools.local import runs_table
from labtools.local.tracking_server import TrackingServer

pytest_plugins = ["pytester"]

PLUGIN = ["-p", "labtools.local.pytest_plugin", "-p", "no:benchmark", "-p", "no:randomly"]

WIDGETS = """\
# Databricks notebook source
# MAGIC %run ./includes/helper

# COMMAND ----------

import mlflow

dbutils.widgets.text("greeting", "hello")
dbutils.widgets.text("who", "")
dbutils.widgets.text("place", "")
values = {name: dbutils.widgets.get(name) for name in ("greeting", "who", "place")}
with mlflow.start_run():
    mlflow.log_params(values)
print(shout(values["greeting"]))
dbutils.notebook.exit(values["who"])
"""
HELPER = """\
# Databricks notebook source
def shout(text):
    return text.upper()
"""
NEEDS_NAME = """\
# Databricks notebook source
name = dbutils.widgets.get("name")
"""
BAD = """\
# Databricks notebook source
# DBTITLE 1,Setup
x = 1

# COMMAND ----------

# DBTITLE 1,Boom
def check(value):
    raise ValueError(f"bad value {value}")

check(x)
"""
SHELL = """\
# Databricks notebook source
import shared_module  # at the project's root: on sys.path, as a Git folder's root is on Databricks
!echo from-shell > shell.txt
%ls shell.txt
assert open("shell.txt").read().strip() == "from-shell"
"""
SQL = """\
# Databricks notebook source
# A classic cluster's `sc` and `sqlContext`, which public notebooks use; the first starts the session
assert sc.parallelize([1, 2, 3]).sum() == 6
assert sqlContext.sql("SELECT 41 + 1 AS answer").collect()[0].answer == 42

# COMMAND ----------

# MAGIC %sql
# MAGIC SELECT 41 + 1 AS answer
"""
SCALA = """\
# Databricks notebook source
x = 1

# COMMAND ----------

# MAGIC %scala
# MAGIC val x = 1
"""
USES_FIXTURE = """\
import pytest


@pytest.fixture(scope="module")
def once(databricks_notebook_session):
    return databricks_notebook_session("nbs/widgets.py", who="module")


def test_the_notebook_logs_a_run(databricks_notebook, once):
    result = databricks_notebook("nbs/widgets.py", who="fixture")
    assert result.exit_value == "fixture" and once.exit_value == "module"
    assert [run.params for run in result.runs] == [{"greeting": "hi", "who": "fixture", "place": "hook"}]
    assert result.experiment_name == "/nbs/widgets"
    assert "HI" in str(result.executed.cells) and "HI" in result.printed
    with pytest.raises(TypeError, match="widget who=1 must be a string"):
        databricks_notebook("nbs/widgets.py", who=1)


def test_the_session_fixture_logs_where_it_is_told(databricks_notebook_session, once, pytestconfig):
    assert once.tracking_uri == pytestconfig.getoption("databricks_tracking_uri")
    assert databricks_notebook_session.tracking_server is None  # that server is not this worker's own
"""
HOOK = """\
def pytest_databricks_notebook_params(path, config):
    return {"place": "hook"} if path.name == "widgets.py" else {}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with TrackingServer(tmp_path_factory.mktemp("plugin-store")) as server:
        server.wait_ready()
        yield server


@pytest.fixture
def project(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(SCRIPTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # the short summary's lines whole
    return pytester


def notebooks(pytester, **files: str) -> None:
    for name, text in files.items():
        path = pytester.path / "nbs" / f"{name.replace('__', '/')}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_notebooks_are_collected_run_located_and_skipped(project, server):
    notebooks(
        project,
        widgets=WIDGETS,
        includes__helper=HELPER,
        needs_name=NEEDS_NAME,
        bad=BAD,
        shell=SHELL,
        sql=SQL,
        scala=SCALA,
    )
    project.makepyfile(test_uses_fixture=USES_FIXTURE, conftest=HOOK, shared_module="")
    project.makeini("[pytest]\ndatabricks_notebook_params =\n    nbs/widgets.py who=ini\n")
    result = project.runpytest_subprocess(
        *PLUGIN,
        "--databricks-notebooks",
        "nbs",
        "test_uses_fixture.py",
        "-ra",
        "--databricks-param",
        "greeting=hi",
        "--databricks-tracking-uri",
        server.uri,
        "--databricks-overwrite",
        "--junitxml=report.xml",
        timeout=600,
    )
    # The include (%run by widgets.py) is no test of its own; a %scala cell skips its notebook.
    result.assert_outcomes(passed=5, failed=2, skipped=1, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]1[]] nbs/scala.py:1: line 6: %scala cells need a Databricks cluster*",
            # The line that raised (the traceback's deepest in the cell), the cell, its title, the exception.
            'FAILED nbs/bad.py - nbs/bad.py:9 (cell 2 "Boom"): ValueError: bad value 1',
            "FAILED nbs/needs_name.py - nbs/needs_name.py:2 (cell 1): "
            "InputWidgetNotDefined: No input widget named name*",
        ]
    )
    assert re.search(r"^nbs/bad.py:9: nbs/bad.py:9 \(cell 2", result.stdout.str(), re.MULTILINE), "location line"
    # The notebook ran from its own folder; its shell line and its %ls magic ran there.
    assert (project.path / "nbs" / "shell.txt").read_text().strip() == "from-shell"
    # The %sql cell ran on the local Spark session: its table is in the executed notebook.
    executed = project.path / ".databricks-notebooks" / "main" / "executed" / "nbs"
    assert "42" in str(nbformat.read(executed / "sql.ipynb", as_version=4).cells[-1].outputs)
    # Widgets: the ini file's per notebook, the conftest hook's, the command line's (over the notebook's default).
    # (the test item's run, then the module fixture's, then the test's), each tagged with its notebook as on Databricks.
    logged = [run.params for run in runs_table.runs_of(server.uri) if run.notebook.endswith("nbs/widgets.py")]
    assert logged == [{"greeting": "hi", "who": who, "place": "hook"} for who in ("ini", "module", "fixture")]
    assert (project.path / "nbs" / "widgets.ipynb").is_file()  # --databricks-overwrite: beside the notebook
    report = (project.path / "report.xml").read_text()
    assert report.count("<testcase") == 8 and 'name="nbs.bad"' in report

    # The pytest ways of choosing: only what failed, and of that only what -k names.
    again = project.runpytest_subprocess(
        *PLUGIN,
        "--databricks-notebooks",
        "nbs",
        "--lf",
        "-k",
        "bad",
        "--databricks-tracking-uri",
        server.uri,
        timeout=300,
    )
    outcomes = again.parseoutcomes()
    assert outcomes.get("failed") == 1 and "passed" not in outcomes, again.stdout.str()


def test_xdist_workers_and_the_cell_timeout(project, server):
    notebooks(
        project,
        slow="# Databricks notebook source\nimport time\ntime.sleep(120)\n",
        quick="# Databricks notebook source\nprint('quick')\n",
    )
    # Named one by one: pytest's own collector takes a named .py file, and must hand it over, not import it.
    result = project.runpytest_subprocess(
        *PLUGIN,
        "--databricks-notebooks",
        "nbs/quick.py",
        "nbs/slow.py",
        "-n",
        "2",
        "-v",
        "-ra",
        "--databricks-cell-timeout",
        "3",
        "--databricks-tracking-uri",
        server.uri,
        timeout=300,
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["[[]gw?[]] * PASSED nbs/quick.py*", "FAILED nbs/slow.py - nbs/slow.py:2 (cell 1): timed out after 3 s"]
    )
    workers = sorted(path.name for path in (project.path / ".databricks-notebooks").iterdir())
    assert workers and all(name.startswith("gw") for name in workers), workers


# A second project's notebooks: one passes (a widget, a %run include), one fails in its titled second cell.
INSTALLED = {
    "passing.py": "# Databricks notebook source\n# MAGIC %run ./includes/helper\n\n# COMMAND ----------\n\n"
    "dbutils.widgets.text('who', 'world')\nprint(greet(dbutils.widgets.get('who')))\n",
    "includes/helper.py": "# Databricks notebook source\ndef greet(who):\n    return f'hello {who}'\n",
    "failing.py": "# Databricks notebook source\nx = 1\n\n# COMMAND ----------\n\n# DBTITLE 1,Boom\n"
    "assert x == 2, 'x is not 2'\n",
}
# pip's own words when its build isolation cannot get setuptools (pyproject.toml's build-system): no index here.
NO_BUILD_BACKEND = "No matching distribution found for setuptools"


def test_a_second_empty_project_installs_the_plugin_and_uses_it(tmp_path):
    """`pip install <checkout>` into a virtual environment of its own (the libraries it needs are this Python's:
    --system-site-packages, --no-deps), then `python -m pytest --databricks-notebooks .` in a project with nothing
    but notebooks: the entry point loads the plugin, which imports nothing from this checkout."""
    venv, project = tmp_path / "venv", tmp_path / "project"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "MLFLOW_", "DATABRICKS_")) and key != "PYTHONPATH"
    }
    # What pip reads of a checkout, copied: pip builds a folder in place, leaving build/ and *.egg-info behind.
    checkout = tmp_path / "checkout"
    shutil.copytree(
        SCRIPTS / "labtools", checkout / "scripts" / "labtools", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(PROJECT / "pyproject.toml", checkout)
    install = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--quiet", str(checkout)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    if install.returncode and NO_BUILD_BACKEND in install.stderr:
        pytest.skip(f"pip cannot get setuptools to build the package here (no package index): {NO_BUILD_BACKEND}")
    assert install.returncode == 0, install.stderr
    for name, text in INSTALLED.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    (project / "pytest.ini").write_text("[pytest]\n")  # the project's root: no ini file above it is read

    found = subprocess.run(
        [python, "-c", "import labtools; print(labtools.__file__)"],
        capture_output=True,
        text=True,
        cwd=project,
        env=env,
        timeout=60,
    )
    assert found.stdout.startswith(str(venv)), f"labtools imported from {found.stdout or found.stderr}"
    result = subprocess.run(
        [python, "-m", "pytest", "--databricks-notebooks", ".", "-v"],
        capture_output=True,
        text=True,
        cwd=project,
        env={**env, "COLUMNS": "200"},
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "1 failed, 1 passed, 1 deselected" in output
    assert "passing.py PASSED" in output and "includes/helper.py" not in output.replace("%run ./includes/helper", "")
    assert 'FAILED failing.py - failing.py:7 (cell 2 "Boom"): AssertionError: x is not 2' in output
    executed = project / ".databricks-notebooks" / "main" / "executed" / "passing.ipynb"
    assert "hello world" in str(nbformat.read(executed, as_version=4).cells)


def test_in_a_clone_the_root_conftest_loads_the_plugin_without_installing_it():
    """This checkout as a fresh clone has it: nothing installed (the plugin is not importable from this Python
    outside it), `python -m pytest --databricks-notebooks notebooks/` collects the lab notebooks, not their includes."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_") and key != "PYTHONPATH"}
    importable = subprocess.run([sys.executable, "-c", "import labtools"], capture_output=True, cwd="/", env=env)
    if importable.returncode == 0:
        pytest.skip("labtools is installed for this Python: a run here would not show that the conftest loads it")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-o",
            "addopts=",
            "--databricks-notebooks",
            "notebooks",
            "--collect-only",
            "-q",
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env=env,
        timeout=120,
    )
    collected = [line for line in result.stdout.splitlines() if line.startswith("notebooks/")]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "notebooks/01-using-mlflow-to-track-experiments.py" in collected
    assert "notebooks/ja/03-managing-models.py" in collected
    assert not [line for line in collected if "/includes/" in line], collected
