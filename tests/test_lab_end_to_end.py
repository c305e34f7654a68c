"""The real lab notebooks, run by `scripts/run_lab.py` in a real Jupyter kernel
against a real `mlflow server` (the session fixtures in conftest.py), then
checked through the tracking server's API. Tests that need no more of run_lab.py
than a run of the notebook run it through the pytest plugin's `databricks_notebook`.
"""

from __future__ import annotations

import re
import uuid

import mlflow
import numpy as np
import pytest
from conftest import CLASSIC_METRICS, LAB_NOTEBOOK, REAL_DATA, REAL_DATA_METRICS, execute_lab, real_trips
from mlflow.tracking import MlflowClient
from PIL import Image

from labtools.local import synthetic

# With pytest -n, the tests that read the session's `lab` share one worker with the browser tests, so the lab runs
# once for all of them (conftest.SHARED_EXECUTIONS); those that run the lab themselves go to any free worker.

LAB_HYPERPARAMETERS = [("0.0", "0.0", "1"), ("1.0", "0.3", "50"), ("0.5", "0.9", "1000")]


def lab_runs(lab):
    client = MlflowClient(lab.tracking_uri)
    experiment = client.get_experiment_by_name(lab.experiment_name)
    assert experiment is not None, f"no experiment {lab.experiment_name!r} on the server"
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])


def cell_titled(notebook, title):
    cells = [c for c in notebook.cells if c.metadata.get("databricks", {}).get("title") == title]
    assert len(cells) == 1, f"expected one cell titled {title!r}, found {len(cells)}"
    return cells[0]


def output_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif "data" in output:
            parts += [output.data.get("text/plain", ""), output.data.get("text/html", "")]
    return "\n".join(parts)


def test_exactly_three_runs_with_the_lab_hyperparameters(lab):
    runs = lab_runs(lab)
    assert len(runs) == 3
    logged = [(r.data.params["elastic_net_param"], r.data.params["reg_param"], r.data.params["max_iter"]) for r in runs]
    assert logged == LAB_HYPERPARAMETERS
    assert all(r.info.status == "FINISHED" for r in runs)


def test_each_run_names_its_notebook_as_its_source_as_on_databricks(lab):
    for run in lab_runs(lab):
        assert run.data.tags["mlflow.source.name"] == "notebooks/01-using-mlflow-to-track-experiments.py"
        assert run.data.tags["mlflow.source.type"] == "NOTEBOOK"


def test_each_run_has_the_real_datas_metrics(lab):
    for run, (rmse, mae, r2) in zip(lab_runs(lab), REAL_DATA_METRICS, strict=True):
        metrics = run.data.metrics
        assert metrics["rmse"] == pytest.approx(rmse, abs=0.005)
        assert metrics["mae"] == pytest.approx(mae, abs=0.005)
        assert metrics["r2"] == pytest.approx(r2, abs=0.005)


def test_the_runs_metrics_are_the_classic_figures_to_full_precision(lab):
    """The figures test_serverless.py holds the serverless mode to are this mode's, to 1e-6."""
    got = [(r.data.metrics["rmse"], r.data.metrics["mae"], r.data.metrics["r2"]) for r in lab_runs(lab)]
    for logged, expected in zip(got, CLASSIC_METRICS[LAB_NOTEBOOK.stem], strict=True):
        assert logged == pytest.approx(expected, abs=1e-6)


def test_each_model_loads_and_predicts_fares_near_the_actual_ones(lab):
    mlflow.set_tracking_uri(lab.tracking_uri)
    trips, fares = real_trips()
    for run, (_, mae, _) in zip(lab_runs(lab), REAL_DATA_METRICS, strict=True):
        predicted = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model").predict(trips)
        # On 200 trips the model errs about as on the test trips (MAE of that run), not more than twice that.
        assert np.mean(np.abs(predicted - fares.to_numpy())) < 2 * mae, run.data.params


def test_each_run_logged_its_plot_as_a_png(lab, tmp_path):
    client = MlflowClient(lab.tracking_uri)
    for run in lab_runs(lab):
        names = [a.path for a in client.list_artifacts(run.info.run_id)]
        assert "LinearRegressionPrediction.png" in names
        local = client.download_artifacts(run.info.run_id, "LinearRegressionPrediction.png", str(tmp_path))
        with Image.open(local) as image:
            assert image.format == "PNG"
            assert image.width > 100 and image.height > 100


def test_review_cells_show_the_three_runs(lab):
    notebook = lab.executed_notebook()
    runs = lab_runs(lab)
    table = output_text(cell_titled(notebook, "Runs of this lab's experiment"))
    for run in runs:
        assert run.info.run_id in table
    latest = output_text(cell_titled(notebook, "Latest run's metrics"))
    assert repr(runs[-1].data.metrics["rmse"]) in latest
    listing = output_text(cell_titled(notebook, "List experiments"))
    assert lab.experiment_name in listing
    # The three test trips shown with the latest (run 3's) model: their predictions near the actual fares.
    shown = shown_columns(output_text(cell_titled(notebook, "Load the model and predict")).split("<", 1)[0])
    pairs = list(zip(map(float, shown["totalAmount"]), map(float, shown["prediction"]), strict=True))
    assert len(pairs) == 3, shown
    assert np.mean([abs(actual - predicted) for actual, predicted in pairs]) < 3 * REAL_DATA_METRICS[2][1], pairs


def shown_columns(text: str) -> dict[str, list[str]]:
    """The columns of a DataFrame as pandas prints it: wide ones wrap into blocks, each with its header line."""
    columns: dict[str, list[str]] = {}
    header: list[str] = []
    for words in (line.rstrip(" \\").split() for line in text.splitlines() if line.strip()):
        if words[0].isdigit() and header:  # a row: its index, then one value per column of the block
            for name, value in zip(header, words[1:], strict=False):
                columns.setdefault(name, []).append(value)
        else:
            header = words
    return columns


def test_the_notebook_prints_the_metrics_it_logged(lab):
    notebook = lab.executed_notebook()
    runs = lab_runs(lab)
    for title, run in zip(["Run 1: least squares", "Run 2: L1 penalty", "Run 3: mixed L1 and L2"], runs, strict=True):
        printed = output_text(cell_titled(notebook, title))
        for metric in ("rmse", "mae"):
            assert f"{run.data.metrics[metric]:.4f}" in printed
        assert f"R2:   {run.data.metrics['r2']:.4f}" in printed


def test_no_deprecation_or_future_warnings_in_any_cell_output(lab):
    notebook = lab.executed_notebook()
    for index, cell in enumerate(notebook.cells):
        text = output_text(cell)
        for warning in ("DeprecationWarning", "FutureWarning", "deprecated"):
            assert warning not in text, f"cell {index} ({cell.metadata.get('databricks')}) shows {warning}:\n{text}"
        assert not any(o.output_type == "error" for o in cell.get("outputs", []))


def test_the_runner_prints_the_runs_table(lab):
    runs = lab_runs(lab)
    table = lab.stdout.split("MLflow runs logged to", 1)[1]
    for run in runs:
        row = next(line for line in table.splitlines() if f" {run.info.run_name} " in line)
        # notebook, run name, the three hyperparameters, the metrics
        assert re.sub(r"\s+", " ", row).split(" ")[:5] == [
            f"notebooks/{LAB_NOTEBOOK.name}",
            run.info.run_name,
            run.data.params["elastic_net_param"],
            run.data.params["reg_param"],
            run.data.params["max_iter"],
        ]
        assert f"{run.data.metrics['r2']:.4f}" in row


def test_by_default_the_lab_runs_on_its_real_data_and_gets_the_courses_numbers(lab):
    """No --data: the notebook finds data/nyc-taxi.csv above its folder, as a fresh clone has it."""
    loaded = output_text(cell_titled(lab.executed_notebook(), "Load the data"))
    assert f"Loaded 11,734 trips from {REAL_DATA} (the lab's data, checksum verified)" in loaded
    least_squares = next(r for r in lab_runs(lab) if r.data.params["reg_param"] == "0.0")
    assert least_squares.data.metrics["r2"] == pytest.approx(0.864, abs=0.005)


def test_synthetic_trips_only_when_asked_for_and_announced(tracking_server, tmp_path):
    lab = execute_lab(tracking_server.uri, tmp_path, "--synthetic", "2000", str(LAB_NOTEBOOK)).check()
    loaded = output_text(cell_titled(lab.executed_notebook(), "Load the data"))
    # The runner wrote them to a CSV file in its stand-in for DBFS; the notebook read it like any other.
    assert f"Loaded 2,000 trips from {tmp_path / 'dbfs' / 'SYNTHETIC-trips-2000.csv'}\n" in loaded
    assert len(lab_runs(lab)) == 3


def test_running_the_lab_twice_in_one_store_adds_three_runs_and_keeps_the_first(databricks_notebook):
    name = f"test-lab-{uuid.uuid4().hex[:8]}"
    first = databricks_notebook(LAB_NOTEBOOK, experiment_name=name)
    client = MlflowClient(first.tracking_uri)
    experiment = client.get_experiment_by_name(name)
    before = {r.info.run_id: (r.data.params, r.data.metrics) for r in client.search_runs([experiment.experiment_id])}
    # The same experiment on the same server: what a learner who runs the notebook again does.
    again = databricks_notebook(LAB_NOTEBOOK, experiment_name=name)
    after = {r.info.run_id: (r.data.params, r.data.metrics) for r in client.search_runs([experiment.experiment_id])}
    assert len(before) == 3 and len(after) == 6
    assert all(after[run_id] == logged for run_id, logged in before.items())
    assert set(after) - set(before) == {run.run_id for run in again.runs}


def test_the_experiment_is_found_again_whatever_its_name(databricks_notebook, tmp_path):
    """A quote in the name, and a /Workspace path: the "Runs of this lab's experiment" cell still finds it."""
    name = f"/Workspace/Users/o'brien@example.com/dp090 lab {uuid.uuid4().hex[:8]}"
    result = databricks_notebook(
        LAB_NOTEBOOK, experiment_name=name, data_path=str(synthetic.write_csv(2000, tmp_path))
    )  # as run_lab.py --synthetic
    client = MlflowClient(result.tracking_uri)
    experiment = client.get_experiment_by_name(name)
    shown = output_text(cell_titled(result.executed, "Runs of this lab's experiment"))
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 3 and all(run.info.run_id in shown for run in runs)
