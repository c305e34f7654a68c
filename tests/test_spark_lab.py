"""The Spark ML notebook, run through the pytest plugin's fixture (the runner's kernels) with a real local Spark
session, against this worker's real `mlflow server`, on the lab's real data; then checked through the server.

The figures are the real data's: on this notebook's split (randomSplit seed 97 of the cleaned trips,
featurization fitted on the training trips) Spark 3.5 and 4.0 give the same three runs.
"""

from __future__ import annotations

import re
import shutil
import uuid
from importlib.util import find_spec
from pathlib import Path

import pytest
import yaml
from conftest import CLASSIC_METRICS, PROJECT, REAL_DATA, built_once
from mlflow.tracking import MlflowClient
from PIL import Image

pytestmark = [
    pytest.mark.skipif(
        shutil.which("java") is None or find_spec("pyspark") is None,
        reason="the Spark notebook needs Java and pyspark (.ci/run installs both; see README)",
    ),
]

SPARK_NOTEBOOK = PROJECT / "notebooks" / "02-using-mlflow-to-track-experiments-spark-ml.py"
DATA = next((path for path in [PROJECT / "data" / "nyc-taxi.csv", REAL_DATA] if path.is_file()), None)
HYPERPARAMETERS = [("0.0", "0.0", "1"), ("1.0", "0.3", "50"), ("0.5", "0.9", "1000")]
# Measured on the real data (Spark 3.5.0 and 4.0.1 alike): rmse, mae, r2 of runs 1, 2 and 3.
REAL_DATA_METRICS = [(3.8632, 2.3855, 0.8731), (3.7007, 2.1433, 0.8836), (3.8398, 2.2415, 0.8747)]
EXPERIMENT = f"test-spark-lab-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def spark_lab(databricks_notebook_session, tmp_path_factory):
    if DATA is None:
        pytest.skip(f"the lab's data is neither in data/ nor at {REAL_DATA}")
    built_once(tmp_path_factory, "spark_lab")
    return databricks_notebook_session(SPARK_NOTEBOOK, experiment_name=EXPERIMENT, data_path=str(DATA))


def lab_runs(lab):
    """The lab's experiment's runs, oldest first: those the notebook logged, as the fixture found them by its tag."""
    client = MlflowClient(lab.tracking_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None, f"no experiment {EXPERIMENT!r} on the server"
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    assert [run.info.run_id for run in runs] == [run.run_id for run in lab.runs]
    return runs


def outputs_of(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(
            output.get("text", "") if output.output_type == "stream" else output.get("data", {}).get("text/plain", "")
        )
    return "\n".join(parts)


def cell_titled(notebook, title):
    [cell] = [c for c in notebook.cells if c.metadata.get("databricks", {}).get("title") == title]
    return cell


def test_three_runs_with_the_labs_hyperparameters_and_the_real_datas_metrics(spark_lab):
    runs = lab_runs(spark_lab)
    logged = [(r.data.params["elastic_net_param"], r.data.params["reg_param"], r.data.params["max_iter"]) for r in runs]
    assert logged == HYPERPARAMETERS
    for run, (rmse, mae, r2) in zip(runs, REAL_DATA_METRICS, strict=True):
        assert run.info.status == "FINISHED"
        assert run.data.metrics["rmse"] == pytest.approx(rmse, abs=0.01)
        assert run.data.metrics["mae"] == pytest.approx(mae, abs=0.01)
        assert run.data.metrics["r2"] == pytest.approx(r2, abs=0.005)


def test_the_runs_metrics_are_the_classic_figures_to_full_precision(spark_lab):
    """The figures test_serverless.py holds the serverless mode to are this mode's, to 1e-6."""
    runs = lab_runs(spark_lab)
    got = [(r.data.metrics["rmse"], r.data.metrics["mae"], r.data.metrics["r2"]) for r in runs]
    for logged, expected in zip(got, CLASSIC_METRICS[SPARK_NOTEBOOK.stem], strict=True):
        assert logged == pytest.approx(expected, abs=1e-6)


def test_each_run_logged_a_spark_model_and_its_plot(spark_lab, tmp_path):
    client = MlflowClient(spark_lab.tracking_uri)
    for run in lab_runs(spark_lab):
        mlmodel = Path(client.download_artifacts(run.info.run_id, "model/MLmodel", str(tmp_path / run.info.run_id)))
        flavors = yaml.safe_load(mlmodel.read_text())["flavors"]
        assert {"spark", "python_function"} <= set(flavors)
        png = client.download_artifacts(run.info.run_id, "LinearRegressionPrediction.png", str(tmp_path))
        with Image.open(png) as image:
            assert image.format == "PNG" and image.width > 100


def test_the_loaded_model_predicts_fares_near_the_actual_ones(spark_lab):
    """The notebook loads the latest run's model and shows three test trips with its predictions."""
    shown = outputs_of(cell_titled(spark_lab.executed, "Load the model and predict"))
    # pandas wraps the wide table into blocks of columns; the last block ends "totalAmount  prediction".
    lines = [line.split() for line in shown.splitlines() if line.strip()]
    last_block = max(i for i, words in enumerate(lines) if words[-2:] == ["totalAmount", "prediction"])
    pairs = [(float(words[-2]), float(words[-1])) for words in lines[last_block + 1 :]]
    assert len(pairs) == 3, shown
    # A model with r2 0.87 and MAE $2.24 is within a few dollars on ordinary trips.
    assert sum(abs(a - p) for a, p in pairs) / len(pairs) < 8, pairs


def test_no_warnings_or_errors_in_any_cell_output(spark_lab):
    notebook = spark_lab.executed
    for index, cell in enumerate(notebook.cells):
        text = outputs_of(cell)
        assert not re.search(r"Warning|WARN |deprecated", text), f"cell {index} shows a warning:\n{text}"
        assert not any(o.output_type == "error" for o in cell.get("outputs", []))
