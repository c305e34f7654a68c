"""The summary each lab notebook returns to a job (`dbutils.notebook.exit`), read back.

The lab runs here locally (the session's `lab` fixture: a real kernel, a real `mlflow server`); its last
cell's output is what a workspace would hand a job as the task's output. `deploy.py run --runtime`
reads that JSON (labtools.workspace.matrix); no workspace is reachable from here, so the stand-in
(tests/workspace_stub.py) returns a summary of the same shape, which this module holds it to.
"""

from __future__ import annotations

import importlib.metadata
import json

import pytest
from mlflow.tracking import MlflowClient
from workspace_stub import WorkspaceStub

from labtools.workspace import matrix

pytestmark = pytest.mark.xdist_group("lab")  # shares the session's one run of the lab
EXITED = "Notebook exited: "


def exit_value(lab) -> str:
    last = lab.executed_notebook().cells[-1]
    lines = [
        line
        for output in last.get("outputs", [])
        if output.output_type == "stream"
        for line in output.text.splitlines()
        if line.startswith(EXITED)
    ]
    assert len(lines) == 1, f"the last cell printed no single {EXITED!r} line: {last.get('outputs')}"
    return lines[0][len(EXITED) :]


def test_the_notebook_returns_its_runs_and_library_versions(lab):
    summary = matrix.read_summary(exit_value(lab))
    client = MlflowClient(lab.tracking_uri)
    experiment = client.get_experiment_by_name(lab.experiment_name)
    logged = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    assert [run["run_id"] for run in summary["runs"]] == [run.info.run_id for run in logged]
    for told, run in zip(summary["runs"], logged, strict=True):
        assert told["metrics"] == run.data.metrics and told["params"] == run.data.params
    assert summary["experiment"] == lab.experiment_name
    assert summary["libraries"]["mlflow"] == importlib.metadata.version("mlflow")
    assert summary["libraries"]["scikit-learn"] == importlib.metadata.version("scikit-learn")
    assert summary["libraries"]["spark"] == importlib.metadata.version("pyspark")  # requirements.txt's pyspark
    assert summary["runtime"] is None  # not in a workspace


def shape(value):
    """The keys of a JSON value, nested: what a reader of it relies on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items() if key not in ("params",)}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__ if value is not None else "str"


def test_the_stand_in_returns_a_summary_shaped_like_the_notebooks(lab):
    real = json.loads(exit_value(lab))
    with WorkspaceStub("dapi-x") as stub:
        task = {
            "task_key": "t",
            "run_id": 1,
            "notebook_task": {"notebook_path": "/x"},
            "new_cluster": {"spark_version": "15.4.x-cpu-ml-scala2.12"},
        }
        stand_in = stub.summary(task)
    assert shape(stand_in) == shape(real)
