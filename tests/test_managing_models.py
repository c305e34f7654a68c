"""The "Managing Models" lab (notebooks/03-managing-models.py), run through the pytest plugin's fixture
(`databricks_notebook_session`: the runner's kernels) against this worker's real `mlflow server`.

The notebook runs twice against one store, with one registered model name: first with keep_model=yes, so the
model stays for the registry checks and for `mlflow models serve`; then with keep_model blank (no), which
re-runs the lab on the kept model (new versions, the aliases moved) and deletes the model in its Clean-up cell.
The tests run in file order (pytest -p no:xdist): the re-run test comes after the others on the kept model.
The Spark ML notebook (04) runs once, with a model name of its own, and cleans up.

    python -m pytest -p no:xdist -o addopts="" tests/test_managing_models.py
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from importlib.util import find_spec

import mlflow
import mlflow.pyfunc
import numpy as np
import pytest
from conftest import PROJECT, real_trips
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

NOTEBOOK = PROJECT / "notebooks" / "03-managing-models.py"
MODEL_NAME = f"test-dp090-nyc-taxi-{uuid.uuid4().hex[:8]}"
# How long `mlflow models serve` may take to answer /ping before the test gives up (not a timing assertion).
SERVE_START_TIMEOUT = 120


def experiment() -> str:
    return f"test-lab-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def kept(databricks_notebook_session):
    """The notebook run once with keep_model=yes: the registered model stays."""
    return databricks_notebook_session(NOTEBOOK, model_name=MODEL_NAME, keep_model="yes", experiment_name=experiment())


@pytest.fixture(scope="module")
def client(tracking_server):
    """An MlflowClient of the worker's server, the notebooks'; models:/ URIs resolve there while the module runs."""
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(tracking_server.uri)
    mlflow.set_registry_uri(tracking_server.uri)
    yield MlflowClient(tracking_uri=tracking_server.uri, registry_uri=tracking_server.uri)
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


def session_runs(client, result):
    """A session's two runs, oldest first: the champion's first version, then the challenger's."""
    assert len(result.runs) == 2, result.runs
    return [client.get_run(run.run_id) for run in result.runs]


def test_the_registry_holds_the_new_version_as_champion(kept, client):
    model = client.get_registered_model(MODEL_NAME)
    versions = sorted(int(version.version) for version in client.search_model_versions(f"name = '{MODEL_NAME}'"))

    assert versions == [2], "the old version, 1, is deleted in the Retire step; version 2 stays"
    assert model.aliases == {"champion": "2"}, "champion moved to version 2; challenger was deleted"
    assert model.description == "This model forecasts the amount a taxi cab ride might cost in New York City."
    assert client.get_model_version_by_alias(MODEL_NAME, "champion").version == "2"
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias(MODEL_NAME, "challenger")


def test_the_version_is_described_and_tagged_and_comes_from_the_second_run(kept, client):
    first_run, second_run = session_runs(client, kept)
    version = client.get_model_version(MODEL_NAME, "2")

    assert version.status == "READY"
    assert version.description.startswith("L2 penalty 0.3")
    assert version.tags == {"algorithm": "elastic net, L2 only"}
    assert version.run_id == second_run.info.run_id
    assert second_run.data.params == {"elastic_net_param": "0.0", "reg_param": "0.3", "max_iter": "500"}
    assert first_run.data.params["reg_param"] == "0.0"


def test_the_notebook_printed_the_aliases_before_and_after_each_move(kept):
    printed = kept.printed

    assert "Before: no aliases\nAfter: @champion -> version 1\n" in printed
    assert (
        "Before: @challenger -> version 2, @champion -> version 1\n"
        "After: @challenger -> version 2, @champion -> version 2\n" in printed
    )
    assert "the new version (version 2)" in printed
    assert f"Kept {MODEL_NAME}: {{'champion': '2'}}" in printed


def test_the_champion_predicts_as_the_registered_runs_model(kept, client):
    features, _ = real_trips(20)
    champion = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    run_model = mlflow.pyfunc.load_model(f"runs:/{client.get_model_version(MODEL_NAME, '2').run_id}/model")
    first_run_model = mlflow.pyfunc.load_model(f"runs:/{session_runs(client, kept)[0].info.run_id}/model")

    predicted = np.asarray(champion.predict(features))
    np.testing.assert_array_equal(predicted, np.asarray(run_model.predict(features)))
    assert not np.allclose(predicted, np.asarray(first_run_model.predict(features))), (
        "the champion must be the second run's model, not the first's"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post_json(url, body) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def test_mlflow_models_serve_answers_with_the_champions_prediction(kept, client, tracking_server, tmp_path):
    features, _ = real_trips(1)
    expected = float(np.asarray(mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion").predict(features))[0])
    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_server.uri}
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 (closed below, after the server stops)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            f"models:/{MODEL_NAME}@champion",
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + SERVE_START_TIMEOUT
        while True:
            assert server.poll() is None, f"mlflow models serve exited:\n{(tmp_path / 'serve.log').read_text()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    pytest.fail(f"mlflow models serve did not answer /ping:\n{(tmp_path / 'serve.log').read_text()}")
                time.sleep(1)
        body = {"dataframe_split": json.loads(features.to_json(orient="split", index=False))}
        answer = post_json(f"http://127.0.0.1:{port}/invocations", body)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and the workers it started
        server.wait(timeout=30)
        log.close()

    assert answer["predictions"] == [pytest.approx(expected, rel=1e-9)]


def test_a_second_run_adds_versions_moves_the_aliases_and_cleans_up(kept, client, databricks_notebook):
    printed = databricks_notebook(NOTEBOOK, model_name=MODEL_NAME, experiment_name=experiment()).printed

    assert "Before: @champion -> version 2\nAfter: @champion -> version 3\n" in printed
    assert "After: @challenger -> version 4, @champion -> version 4\n" in printed
    assert "Deleted version 3\n" in printed
    assert f"Deleted the registered model {MODEL_NAME}" in printed
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST|not found|does not exist"):
        client.get_registered_model(MODEL_NAME)


SPARK_NOTEBOOK = PROJECT / "notebooks" / "04-managing-models-spark-ml.py"


@pytest.mark.skipif(
    shutil.which("java") is None or find_spec("pyspark") is None, reason="the Spark ML notebook needs Java and pyspark"
)
def test_the_spark_ml_notebook_registers_two_versions_moves_champion_and_cleans_up(client, databricks_notebook):
    name = f"test-dp090-nyc-taxi-spark-ml-{uuid.uuid4().hex[:8]}"
    result = databricks_notebook(SPARK_NOTEBOOK, model_name=name, experiment_name=experiment())
    printed = result.printed
    first_run, second_run = session_runs(client, result)

    assert first_run.data.params == {"elastic_net_param": "1.0", "reg_param": "0.3", "max_iter": "50"}
    assert second_run.data.params == {"elastic_net_param": "0.0", "reg_param": "0.3", "max_iter": "500"}
    assert "Before: no aliases\nAfter: @champion -> version 1\n" in printed
    assert "After: @challenger -> version 2, @champion -> version 2\n" in printed
    assert "@champion predicts" in printed and "the new version (version 2)" in printed
    assert f"Deleted the registered model {name}" in printed
    with pytest.raises(MlflowException):
        client.get_registered_model(name)
