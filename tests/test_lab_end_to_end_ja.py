"""The Japanese notebooks (notebooks/ja/), run by `scripts/run_lab.py --lang ja` in a real Jupyter kernel
against the session's real `mlflow server`: they log the same runs as the English notebooks, since their
code cells are the English ones, and the executed notebook is the Japanese one.
"""

from __future__ import annotations

import re

import pytest
from conftest import execute_lab, run_lab
from mlflow.tracking import MlflowClient

from labtools import lab as lab_names

# With pytest -n, on the worker of the English lab run (the `lab` fixture), which these tests compare with.
pytestmark = pytest.mark.xdist_group("lab")

JAPANESE_LAB = f"notebooks/ja/{lab_names.LAB_NOTEBOOK}.py"


@pytest.fixture(scope="module")
def lab_ja(tracking_server, tmp_path_factory):
    return execute_lab(tracking_server.uri, tmp_path_factory.mktemp("lab-ja"), "--lang", "ja").check()


def logged(execution) -> list[tuple[dict, dict]]:
    """Each run's parameters and metrics, oldest first."""
    client = MlflowClient(execution.tracking_uri)
    experiment = client.get_experiment_by_name(execution.experiment_name)
    assert experiment is not None, f"no experiment {execution.experiment_name!r}"
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    return [(run.data.params, run.data.metrics) for run in runs]


def test_the_japanese_notebooks_log_the_same_runs_as_the_english_ones(lab, lab_ja):
    english, japanese = logged(lab), logged(lab_ja)
    # Three runs per lab notebook (the scikit-learn one, and the Spark ML one where Java and pyspark are
    # installed), all in the experiment the runner names: as many as the English notebooks logged.
    assert len(japanese) == len(english) and len(japanese) % 3 == 0 and japanese
    assert [params for params, _ in japanese] == [params for params, _ in english]
    for (_, en_metrics), (_, ja_metrics) in zip(english, japanese, strict=True):
        assert ja_metrics == pytest.approx(en_metrics, rel=1e-9)


def ran(execution) -> list[str]:
    """The notebooks that the runner's closing table says logged the runs."""
    said = re.search(rf"MLflow runs logged to {re.escape(execution.tracking_uri)} by (.+):\n", execution.stdout)
    assert said, execution.stdout[-2000:]
    return said.group(1).split(", ")


def test_the_runs_table_says_the_japanese_notebooks_ran(lab, lab_ja):
    japanese, english = ran(lab_ja), ran(lab)
    assert JAPANESE_LAB in japanese and all(path.startswith("notebooks/ja/") for path in japanese)
    assert f"notebooks/{lab_names.LAB_NOTEBOOK}.py" in english
    same_names = [path.removeprefix("notebooks/") for path in english]
    assert [path.removeprefix("notebooks/ja/") for path in japanese] == same_names


def test_the_executed_notebook_is_the_japanese_one(lab_ja):
    notebook = lab_ja.executed_notebook()
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
