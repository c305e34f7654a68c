"""The pytest plugin (scripts/labtools/local/pytest_plugin.py): Databricks notebooks as tests, run by a real pytest
in a folder of its own (pytester), against one real tracking server for this module, in real kernels."""

from __future__ import annotations

import os
import re

import nbformat
import pytest
from conftest import SCRIPTS

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
def test_the_notebook_logs_a_run(databricks_notebook):
    result = databricks_notebook("nbs/widgets.py", who="fixture")
    assert result.exit_value == "fixture"
    assert [run.params for run in result.runs] == [{"greeting": "hi", "who": "fixture", "place": "hook"}]
    assert result.experiment_name == "/nbs/widgets"
    assert "HI" in str(result.executed.cells)
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
    notebooks(project, widgets=WIDGETS, includes__helper=HELPER, needs_name=NEEDS_NAME, bad=BAD, shell=SHELL,
              sql=SQL, scala=SCALA)  # fmt: skip
    project.makepyfile(test_uses_fixture=USES_FIXTURE, conftest=HOOK, shared_module="")
    project.makeini("[pytest]\ndatabricks_notebook_params =\n    nbs/widgets.py who=ini\n")
    result = project.runpytest_subprocess(
        *PLUGIN, "--databricks-notebooks", "nbs", "test_uses_fixture.py", "-ra", "--databricks-param", "greeting=hi",
        "--databricks-tracking-uri", server.uri, "--databricks-overwrite", "--junitxml=report.xml", timeout=600,
    )  # fmt: skip
    # The include (%run by widgets.py) is no test of its own; a %scala cell skips its notebook.
    result.assert_outcomes(passed=4, failed=2, skipped=1, deselected=1)
    result.stdout.fnmatch_lines([
        "SKIPPED [[]1[]] nbs/scala.py:1: line 6: %scala cells need a Databricks cluster*",
        # The line that raised (the traceback's deepest in the cell), the cell, its title, the exception.
        'FAILED nbs/bad.py - nbs/bad.py:9 (cell 2 "Boom"): ValueError: bad value 1',
        "FAILED nbs/needs_name.py - nbs/needs_name.py:2 (cell 1): InputWidgetNotDefined: No input widget named name*",
    ])  # fmt: skip
    assert re.search(r"^nbs/bad.py:9: nbs/bad.py:9 \(cell 2", result.stdout.str(), re.MULTILINE), "location line"
    # The notebook ran from its own folder; its shell line and its %ls magic ran there.
    assert (project.path / "nbs" / "shell.txt").read_text().strip() == "from-shell"
    # The %sql cell ran on the local Spark session: its table is in the executed notebook.
    executed = project.path / ".databricks-notebooks" / "main" / "executed" / "nbs"
    assert "42" in str(nbformat.read(executed / "sql.ipynb", as_version=4).cells[-1].outputs)
    # Widgets: the ini file's per notebook, the conftest hook's, the command line's (over the notebook's default).
    # (the test item's run, then the fixture's), each run tagged with its notebook as on Databricks.
    logged = [run.params for run in runs_table.runs_of(server.uri) if run.notebook.endswith("nbs/widgets.py")]
    assert logged == [{"greeting": "hi", "who": "ini", "place": "hook"},
                      {"greeting": "hi", "who": "fixture", "place": "hook"}]  # fmt: skip
    assert (project.path / "nbs" / "widgets.ipynb").is_file()  # --databricks-overwrite: beside the notebook
    report = (project.path / "report.xml").read_text()
    assert report.count("<testcase") == 7 and 'name="nbs.bad"' in report

    # The pytest ways of choosing: only what failed, and of that only what -k names.
    again = project.runpytest_subprocess(*PLUGIN, "--databricks-notebooks", "nbs", "--lf", "-k", "bad",
                                         "--databricks-tracking-uri", server.uri, timeout=300)  # fmt: skip
    outcomes = again.parseoutcomes()
    assert outcomes.get("failed") == 1 and "passed" not in outcomes, again.stdout.str()


def test_xdist_workers_and_the_cell_timeout(project, server):
    notebooks(project, slow="# Databricks notebook source\nimport time\ntime.sleep(120)\n",
              quick="# Databricks notebook source\nprint('quick')\n")  # fmt: skip
    # Named one by one: pytest's own collector takes a named .py file, and must hand it over, not import it.
    result = project.runpytest_subprocess(*PLUGIN, "--databricks-notebooks", "nbs/quick.py", "nbs/slow.py", "-n", "2",
                                          "-v", "-ra",
                                          "--databricks-cell-timeout", "3", "--databricks-tracking-uri", server.uri,
                                          timeout=300)  # fmt: skip
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["[[]gw?[]] * PASSED nbs/quick.py*", "FAILED nbs/slow.py - nbs/slow.py:2 (cell 1): "
                                 "timed out after 3 s"])  # fmt: skip
    workers = sorted(path.name for path in (project.path / ".databricks-notebooks").iterdir())
    assert workers and all(name.startswith("gw") for name in workers), workers
