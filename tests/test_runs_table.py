"""The closing table of run_lab.py (labtools/local/runs_table.py), from runs as the REST API returns them.

The end-to-end tests check the table against a real server; these check what each row says without one.
"""

from __future__ import annotations

from labtools import lab
from labtools.local import runs_table


def rest_run(name: str, source: str | None, r2: float) -> dict:
    """A run as POST runs/search returns it: info, and data with params, metrics and tags."""
    tags = [{"key": "mlflow.runName", "value": name}]
    if source is not None:
        tags.append({"key": "mlflow.source.name", "value": source})
    return {
        "info": {"run_id": f"id-{name}", "run_name": name, "experiment_id": "1"},
        "data": {
            "params": [{"key": "elastic_net_param", "value": "0.0"}, {"key": "reg_param", "value": "0.0"},
                       {"key": "max_iter", "value": "1"}],  # fmt: skip
            "metrics": [{"key": "r2", "value": r2}],
            "tags": tags,
        },
    }


def test_each_row_names_the_notebook_that_logged_the_run():
    sklearn = lab.NOTEBOOKS / "01-using-mlflow-to-track-experiments.py"
    spark = lab.NOTEBOOKS / "ja" / "02-using-mlflow-to-track-experiments-spark-ml.py"
    runs = [runs_table._run(rest_run("run-a", str(sklearn), 0.864)),
            runs_table._run(rest_run("run-b", str(spark), 0.873))]  # fmt: skip
    header, rule, *rows = runs_table.format_runs(runs).splitlines()
    assert header.split()[:2] == ["notebook", "run"]
    # Within the project, the notebook as the runner names it elsewhere: its path from the project's root.
    assert rows[0].split()[:2] == ["notebooks/01-using-mlflow-to-track-experiments.py", "run-a"]
    assert rows[1].split()[:2] == ["notebooks/ja/02-using-mlflow-to-track-experiments-spark-ml.py", "run-b"]
    assert "0.8640" in rows[0] and "0.8730" in rows[1]


def test_a_run_without_a_source_or_from_elsewhere_says_so():
    """A run on a shared server may come from a workspace path, or carry no source tag at all."""
    runs = [runs_table._run(rest_run("run-a", "/Users/someone@example.com/lab/01-notebook", 0.5)),
            runs_table._run(rest_run("run-b", None, 0.5))]  # fmt: skip
    _, _, first, second = runs_table.format_runs(runs).splitlines()
    assert first.split()[:2] == ["/Users/someone@example.com/lab/01-notebook", "run-a"]
    assert second.split()[:2] == ["(unknown)", "run-b"]
