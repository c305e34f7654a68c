"""The closing table of run_lab.py (labtools/local/runs_table.py), from runs as the REST API returns them.

The end-to-end tests check the runs table against a real server; these check what each row says without one.
The registry part (labtools/local/registry_table.py) is checked against the session's real tracking server.
"""

from __future__ import annotations

import uuid

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
            "params": [
                {"key": "elastic_net_param", "value": "0.0"},
                {"key": "reg_param", "value": "0.0"},
                {"key": "max_iter", "value": "1"},
            ],
            "metrics": [{"key": "r2", "value": r2}],
            "tags": tags,
        },
    }


def test_each_row_names_the_notebook_that_logged_the_run():
    sklearn = lab.NOTEBOOKS / "01-using-mlflow-to-track-experiments.py"
    spark = lab.NOTEBOOKS / "ja" / "02-using-mlflow-to-track-experiments-spark-ml.py"
    runs = [
        runs_table._run(rest_run("run-a", str(sklearn), 0.864)),
        runs_table._run(rest_run("run-b", str(spark), 0.873)),
    ]
    header, rule, *rows = runs_table.format_runs(runs).splitlines()
    assert header.split()[:2] == ["notebook", "run"]
    # Within the project, the notebook as the runner names it elsewhere: its path from the project's root.
    assert rows[0].split()[:2] == ["notebooks/01-using-mlflow-to-track-experiments.py", "run-a"]
    assert rows[1].split()[:2] == ["notebooks/ja/02-using-mlflow-to-track-experiments-spark-ml.py", "run-b"]
    assert "0.8640" in rows[0] and "0.8730" in rows[1]


def test_a_run_without_a_source_or_from_elsewhere_says_so():
    """A run on a shared server may come from a workspace path, or carry no source tag at all."""
    runs = [
        runs_table._run(rest_run("run-a", "/Users/someone@example.com/lab/01-notebook", 0.5)),
        runs_table._run(rest_run("run-b", None, 0.5)),
    ]
    _, _, first, second = runs_table.format_runs(runs).splitlines()
    assert first.split()[:2] == ["/Users/someone@example.com/lab/01-notebook", "run-a"]
    assert second.split()[:2] == ["(unknown)", "run-b"]


# The registry part of the closing table (labtools/local/registry_table.py), against a real server.


def test_the_registry_table_lists_the_models_with_versions_from_the_runs(tracking_server):
    from mlflow import MlflowClient

    from labtools.local import registry_table

    client = MlflowClient(tracking_uri=tracking_server.uri, registry_uri=tracking_server.uri)
    experiment = client.create_experiment(f"registry-table-{uuid.uuid4().hex[:8]}")
    ours, other = (client.create_run(experiment).info.run_id for _ in range(2))
    name, unrelated = f"registry-table-{uuid.uuid4().hex[:8]}", f"registry-table-other-{uuid.uuid4().hex[:8]}"
    for model in (name, unrelated):
        client.create_registered_model(model)
    # Two versions from our run and a third from another: the latest version is 3 all the same.
    for run_id in (ours, ours, other):
        client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    client.create_model_version(unrelated, f"runs:/{other}/model", run_id=other)
    client.set_registered_model_alias(name, "champion", "3")
    client.set_registered_model_alias(name, "challenger", "1")

    models = registry_table.models_of(tracking_server.uri, [ours])
    assert models == [registry_table.RegisteredModel(name, "3", {"champion": "3", "challenger": "1"})]
    table = registry_table.format_models(models).splitlines()
    assert table[0].split() == ["registered", "model", "latest", "version", "aliases"]
    assert table[-1].split() == [name, "3", "challenger", "->", "1,", "champion", "->", "3"]
    assert registry_table.summary(tracking_server.uri, [ours]).startswith("Registered models with versions from")
    assert registry_table.summary(tracking_server.uri, [uuid.uuid4().hex]) == ""


def test_the_registry_table_says_in_one_line_when_the_server_cannot_be_read():
    from labtools.local import registry_table

    line = registry_table.summary("http://127.0.0.1:9", ["run"])
    assert line.startswith("Registered models: not read from http://127.0.0.1:9 (") and "\n" not in line
