"""The Japanese notebooks (notebooks/ja/), run by `scripts/run_lab.py --lang ja` in a real Jupyter kernel
against the session's real `mlflow server`: they log the same runs as the English notebooks, since their
code cells are the English ones, and the executed notebook is the Japanese one.

The Japanese Spark ML notebook is not executed here: after conversion (its `%run` includes inlined) its code
cells are the English notebook's, cell for cell, which test_spark_lab.py runs with its own JVM. Running it
again here cost a JVM start and three Spark ML fits (a minute of a 2-core machine) to learn nothing more.
The runner is given no Java for `--lang ja`, so it says it skips that notebook and runs the other.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import PROJECT, execute_lab, run_lab
from mlflow.tracking import MlflowClient

from labtools import lab as lab_names
from labtools.local import convert

# With pytest -n, on the worker of the English lab run (the `lab` fixture), which these tests compare with.
pytestmark = pytest.mark.xdist_group("lab")

JAPANESE_LAB = f"notebooks/ja/{lab_names.LAB_NOTEBOOK}.py"
JAPANESE_SPARK_LAB = f"notebooks/ja/{lab_names.LAB_SPARK_NOTEBOOK}.py"


@pytest.fixture(scope="module")
def lab_ja(tracking_server, tmp_path_factory):
    # A PATH with this Python's folder only: no `java`, so the runner skips the Spark notebook, saying so.
    env = {key: value for key, value in os.environ.items() if key != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)
    assert shutil.which("java", path=env["PATH"]) is None
    return execute_lab(tracking_server.uri, tmp_path_factory.mktemp("lab-ja"), "--lang", "ja", env=env).check()


def logged(execution, notebook: str) -> list[tuple[dict, dict]]:
    """The parameters and metrics of each run `notebook` logged, oldest first (the runner tags runs with it)."""
    client = MlflowClient(execution.tracking_uri)
    experiment = client.get_experiment_by_name(execution.experiment_name)
    assert experiment is not None, f"no experiment {execution.experiment_name!r}"
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`mlflow.source.name` = '{notebook}'",
        order_by=["attributes.start_time ASC"],
    )
    return [(run.data.params, run.data.metrics) for run in runs]


def test_the_japanese_notebooks_log_the_same_runs_as_the_english_ones(lab, lab_ja):
    english, japanese = logged(lab, f"notebooks/{lab_names.LAB_NOTEBOOK}.py"), logged(lab_ja, JAPANESE_LAB)
    assert len(japanese) == 3
    assert [params for params, _ in japanese] == [params for params, _ in english]
    for (_, en_metrics), (_, ja_metrics) in zip(english, japanese, strict=True):
        assert ja_metrics == pytest.approx(en_metrics, rel=1e-9)


def code_cells(path: str) -> list[str]:
    """The code the runner would execute for a notebook: its code cells after conversion, includes inlined."""
    notebook = convert.to_ipynb(PROJECT / path, root=PROJECT)
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def test_the_japanese_spark_notebook_runs_the_english_ones_code_which_test_spark_lab_runs(lab_ja):
    japanese, english = code_cells(JAPANESE_SPARK_LAB), code_cells(f"notebooks/{lab_names.LAB_SPARK_NOTEBOOK}.py")
    assert len(japanese) > 10 and japanese == english
    assert f"Skipping {JAPANESE_SPARK_LAB}: " in lab_ja.stderr, "the runner said which notebook it left out"


def test_the_runs_table_says_the_japanese_notebooks_ran(lab, lab_ja):
    # The runs table's heading names the notebooks that ran, first the first lab notebook.
    assert f"{lab_ja.tracking_uri} by {JAPANESE_LAB}" in lab_ja.stdout
    assert f"{lab.tracking_uri} by notebooks/{lab_names.LAB_NOTEBOOK}.py" in lab.stdout


def test_the_executed_notebook_is_the_japanese_one(lab_ja):
    notebook = lab_ja.executed_notebook(lab_names.LAB_NOTEBOOK)
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "# MLflow を使用した実験の追跡" in markdown and "## クリーンアップ" in markdown
    titles = {cell.metadata.get("databricks", {}).get("title"): cell for cell in notebook.cells}
    run_1 = titles["実行 1: 最小二乗法"]
    assert any("RMSE:" in output.get("text", "") for output in run_1.outputs)
    errors = [output for cell in notebook.cells for output in cell.get("outputs", []) if output.output_type == "error"]
    assert not errors


def test_lang_and_named_notebooks_do_not_go_together():
    result = run_lab("--lang", "ja", f"notebooks/{lab_names.LAB_NOTEBOOK}.py")
    assert result.returncode == 2
    assert result.stderr == "error: --lang picks the notebooks to run; name notebooks or pass --lang, not both\n"
