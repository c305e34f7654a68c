"""The Japanese notebooks (notebooks/ja/), run by `scripts/run_lab.py --lang ja` in a real Jupyter kernel
against the session's real `mlflow server`: they log the same runs as the English notebooks, since their
code cells are the English ones, and the executed notebook is the Japanese one.
"""

from __future__ import annotations

import pytest
from conftest import execute_lab, run_lab
from mlflow.tracking import MlflowClient

from labtools import lab as lab_names

# With pytest -n, on the worker of the English lab run (the `lab` fixture), which these tests compare with.
pytestmark = pytest.mark.xdist_group("lab")

JAPANESE_LAB = f"notebooks/ja/{lab_names.LAB_NOTEBOOK}.py"
JAPANESE_SPARK_LAB = f"notebooks/ja/{lab_names.LAB_SPARK_NOTEBOOK}.py"


@pytest.fixture(scope="module")
def lab_ja(tracking_server, tmp_path_factory):
    return execute_lab(tracking_server.uri, tmp_path_factory.mktemp("lab-ja"), "--lang", "ja").check()


def logged(execution, notebook: str) -> list[tuple[dict, dict]]:
    """The parameters and metrics of each run `notebook` logged, oldest first (the runner tags runs with it)."""
    client = MlflowClient(execution.tracking_uri)
    experiment = client.get_experiment_by_name(execution.experiment_name)
    assert experiment is not None, f"no experiment {execution.experiment_name!r}"
    runs = client.search_runs([experiment.experiment_id], filter_string=f"tags.`mlflow.source.name` = '{notebook}'",
                              order_by=["attributes.start_time ASC"])  # fmt: skip
    return [(run.data.params, run.data.metrics) for run in runs]


def test_the_japanese_notebooks_log_the_same_runs_as_the_english_ones(lab, lab_ja):
    english, japanese = logged(lab, f"notebooks/{lab_names.LAB_NOTEBOOK}.py"), logged(lab_ja, JAPANESE_LAB)
    assert len(japanese) == 3
    assert [params for params, _ in japanese] == [params for params, _ in english]
    for (_, en_metrics), (_, ja_metrics) in zip(english, japanese, strict=True):
        assert ja_metrics == pytest.approx(en_metrics, rel=1e-9)


def test_the_japanese_spark_notebook_logs_its_three_runs_too(lab_ja):
    spark_runs = logged(lab_ja, JAPANESE_SPARK_LAB)
    assert [[p["elastic_net_param"], p["reg_param"], p["max_iter"]] for p, _ in spark_runs] == [
        ["0.0", "0.0", "1"], ["1.0", "0.3", "50"], ["0.5", "0.9", "1000"]]


def test_the_runs_table_says_the_japanese_notebooks_ran(lab, lab_ja):
    assert f"{lab_ja.tracking_uri} by {JAPANESE_LAB}, {JAPANESE_SPARK_LAB}:" in lab_ja.stdout
    assert f"{lab.tracking_uri} by notebooks/{lab_names.LAB_NOTEBOOK}.py:" in lab.stdout


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
