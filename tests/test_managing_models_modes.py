"""The Managing Models notebook (03) where the first lab goes too: in Japanese, under `--serverless`, and in the
oldest LTS ML runtime's libraries (15.4: MLflow 2.13.1). tests/test_managing_models.py covers the notebook itself
(two sessions, serving) and the Spark ML notebook (04); these check that the same registry steps hold there.

One tracking server for the module (the worker's, the plugin's), each test a model name of its own; the notebook
runs through the plugin's `databricks_notebook` fixture, except where what is checked is run_lab.py's own output:

    python -m pytest -p no:xdist -o addopts="" tests/test_managing_models_modes.py      # not -m runtime
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
import uuid
from importlib.util import find_spec

import nbformat
import pytest
from conftest import execute_lab, run_lab
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from labtools import lab
from labtools.kernel_config import VOLUMES
from labtools.local import runtimes
from labtools.local.prerequisites import volumes_problem
from labtools.local.tracking_server import TrackingServer

NOTEBOOK = next(notebook for notebook in lab.LAB_NOTEBOOKS if notebook.stem.startswith("03-"))
# What a session with keep_model=yes leaves (tests/test_managing_models.py checks the same on the English notebook).
KEPT = {
    "versions": ["2"],
    "aliases": {"champion": "2"},
    "description": "This model forecasts the amount a taxi cab ride might cost in New York City.",
    "version_tags": {"algorithm": "elastic net, L2 only"},
}


def printed(out, stem: str = NOTEBOOK.stem) -> str:
    """Every stream the executed notebook's cells printed, in order."""
    notebook = nbformat.read(out / "executed" / f"{stem}.ipynb", as_version=4)
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )


def registry_state(client: MlflowClient, name: str) -> dict:
    model = client.get_registered_model(name)
    versions = sorted(client.search_model_versions(f"name = '{name}'"), key=lambda version: int(version.version))
    return {
        "versions": [version.version for version in versions],
        "aliases": dict(model.aliases),
        "description": model.description,
        "version_tags": dict(versions[-1].tags),
    }


@pytest.fixture(scope="module")
def client(tracking_server):
    return MlflowClient(tracking_uri=tracking_server.uri, registry_uri=tracking_server.uri)


def test_the_japanese_notebook_keeps_the_same_model_and_the_closing_table_shows_it(tracking_server, client, tmp_path):
    """The Japanese edition's code is the English one's: the same registry at the end; and run_lab.py, which keeps
    the model unless told otherwise (keep_model=yes, its LOCAL_DEFAULTS), lists it in the closing table with its
    latest version and its alias."""
    name = f"test-dp090-nyc-taxi-ja-{uuid.uuid4().hex[:8]}"
    execution = execute_lab(
        tracking_server.uri,
        tmp_path,
        str(NOTEBOOK.path("ja")),
        "--param",
        f"model_name={name}",
    ).check()
    try:
        assert registry_state(client, name) == KEPT
        assert "Before: no aliases\nAfter: @champion -> version 1\n" in printed(tmp_path)
        table = execution.stdout[execution.stdout.index("Registered models with versions from these runs:") :]
        assert [name, "2", "champion", "->", "2"] in [line.split() for line in table.splitlines()]
    finally:
        client.delete_registered_model(name)


SERVERLESS_MISSING = shutil.which("java") is None or find_spec("pyspark") is None or find_spec("grpc") is None


@pytest.mark.skipif(SERVERLESS_MISSING, reason="serverless mode needs Java and pyspark[connect] (see README)")
@pytest.mark.skipif(volumes_problem() is not None, reason=f"serverless mode needs {VOLUMES}: {volumes_problem()}")
def test_the_notebook_runs_under_serverless_and_cleans_up(databricks_notebook, client):
    """As serverless compute runs it (Spark Connect, DATABRICKS_RUNTIME_VERSION client.*): the tracking server's
    registry all the same (lab_registry_uri), two versions, champion moved, the model deleted at the end."""
    name = f"test-dp090-nyc-taxi-serverless-{uuid.uuid4().hex[:8]}"
    experiment_name = f"test-lab-{uuid.uuid4().hex[:8]}"
    result = databricks_notebook(NOTEBOOK.path(), serverless=True, experiment_name=experiment_name, model_name=name)
    text = result.printed
    assert "After: @challenger -> version 2, @champion -> version 2\n" in text
    assert f"Deleted the registered model {name}" in text
    with pytest.raises(MlflowException):
        client.get_registered_model(name)
    experiment = client.get_experiment_by_name(experiment_name)
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    assert [run.data.params["reg_param"] for run in runs] == ["0.0", "0.3"]  # the champion's run, the challenger's
    assert [run.params["reg_param"] for run in result.runs] == ["0.0", "0.3"]  # the fixture's: the same runs


# Runs in the runtime's environment, against its own server on the run's store: the registry as JSON.
CHECK_REGISTRY = r"""
import json, sys
import mlflow
from mlflow.tracking import MlflowClient

name = sys.argv[1]
client = MlflowClient()
model = client.get_registered_model(name)
versions = sorted(client.search_model_versions(f"name = '{name}'"), key=lambda version: int(version.version))
print(json.dumps({"mlflow": mlflow.__version__, "versions": [version.version for version in versions],
                  "aliases": dict(model.aliases), "description": model.description,
                  "version_tags": dict(versions[-1].tags), "status": versions[-1].status}))
"""


def _plain_env(**settings: str) -> dict[str, str]:
    """This environment without Databricks' or MLflow's settings (as tests/test_runtimes.py's), plus `settings`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABRICKS_", "MLFLOW_"))}
    return {**env, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", **settings}


@pytest.mark.runtime
def test_the_notebook_in_the_oldest_lts_runtime_keeps_the_same_registry(tmp_path):
    """15.4 LTS ML's MLflow 2.13.1 (aliases since 2.3): the same versions, aliases, description and tags, read
    back by that MLflow from that runtime's own server (as tests/test_runtimes.py reads its runs)."""
    runtime = runtimes.load("15.4")
    name = f"test-dp090-nyc-taxi-15-4-{uuid.uuid4().hex[:8]}"
    result = run_lab(
        str(NOTEBOOK.path()),
        "--runtime",
        "15.4",
        "--out",
        str(tmp_path),
        "--param",
        f"experiment_name=test-runtime-{uuid.uuid4().hex[:8]}",
        "--param",
        f"model_name={name}",
        "--param",
        "keep_model=yes",
        timeout=1800,
    )
    assert result.returncode == 0, f"run_lab.py --runtime 15.4 failed:\n{result.stdout}\n{result.stderr}"
    python = runtimes.ensure_venv(runtime).python
    with TrackingServer(tmp_path / "mlflow", python=python) as server:
        with urllib.request.urlopen(f"{server.uri}/version", timeout=10) as response:
            assert response.read().decode().strip() == runtime.mlflow_version
        check = subprocess.run(
            [python, "-c", CHECK_REGISTRY, name],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
            env=_plain_env(MLFLOW_TRACKING_URI=server.uri),
        )
    assert check.returncode == 0, f"reading the registry back in 15.4 failed:\n{check.stderr}"
    state = json.loads(check.stdout.strip().splitlines()[-1])
    assert state.pop("mlflow") == runtime.mlflow_version
    assert state.pop("status") == "READY"
    assert state == KEPT
