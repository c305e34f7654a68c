"""The lab as serverless compute runs it: `run_lab.py --serverless`, against the session's real `mlflow server`.

Serverless compute (and Databricks Free Edition, which has nothing else) runs Spark through Spark Connect, refuses
`cache()` before environment version 5, and makes `mlflow.spark` stage model files in a Unity Catalog volume.
The runner's serverless mode reproduces those rules with a real local Spark Connect session
(scripts/labtools/kernel/spark.py, volumes.py, unity_catalog.py). These tests run both notebooks that way and
check that they give the classic local mode's runs, and that each of the notebooks' guards is what keeps them running.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import pytest
from conftest import CLASSIC_METRICS, PROJECT, SCRIPTS, built_once, run_lab
from conftest import write_notebook as notebook
from mlflow.entities import Experiment
from mlflow.tracking import MlflowClient

sys.path.insert(0, str(SCRIPTS))
from labtools.kernel_config import VOLUMES  # noqa: E402
from labtools.local.local_run import CONFIG_METADATA  # noqa: E402
from labtools.local.prerequisites import volumes_problem  # noqa: E402

# The tests that read the module's one serverless run share a worker (conftest.SHARED_EXECUTIONS); the rest spread.
pytestmark = [
    pytest.mark.skipif(
        shutil.which("java") is None or find_spec("pyspark") is None or find_spec("grpc") is None,
        reason="serverless mode needs Java and pyspark[connect] (.ci/run installs both; see README)",
    ),
    pytest.mark.skipif(volumes_problem() is not None, reason=f"serverless mode needs {VOLUMES}: {volumes_problem()}"),
]

NOTEBOOKS = PROJECT / "notebooks"
SKLEARN_NOTEBOOK = NOTEBOOKS / "01-using-mlflow-to-track-experiments.py"
SPARK_NOTEBOOK = NOTEBOOKS / "02-using-mlflow-to-track-experiments-spark-ml.py"
HYPERPARAMETERS = [("0.0", "0.0", "1"), ("1.0", "0.3", "50"), ("0.5", "0.9", "1000")]


@pytest.fixture(scope="module")
def test_volume():
    """A volume of the tests' own in the Unity Catalog stand-in's default schema, removed afterwards."""
    name = f"test_{uuid.uuid4().hex[:8]}"
    yield f"workspace.default.{name}"
    shutil.rmtree(VOLUMES / "workspace" / "default" / name, ignore_errors=True)


@dataclass
class ServerlessLab:
    """The module's one `run_lab.py --serverless` execution: its --out folder, its output, and where its runs went."""

    out: Path
    result: subprocess.CompletedProcess
    client: MlflowClient
    experiment: Experiment
    artifacts: Path  # the experiment's folder in the server's artifact store


@pytest.fixture(scope="module")
def serverless_lab(tracking_server, tmp_path_factory, test_volume) -> ServerlessLab:
    """Both notebooks, run once as serverless compute would, into an experiment of their own on the session's
    tracking server (a Spark Connect server is the runner's own: it cannot be handed one)."""
    built_once(tmp_path_factory, "serverless_lab")
    out = tmp_path_factory.mktemp("serverless-lab")
    # The rules notebook first, then the lab's two: one run, one Spark Connect server for the three, as one
    # serverless compute serves a learner's notebooks. Both lab notebooks log to this test's experiment.
    rules = rules_notebook(out.parent / f"{out.name}-rules", test_volume)
    notebooks = [str(rules), str(SKLEARN_NOTEBOOK), str(SPARK_NOTEBOOK)]
    name = f"test-serverless-{uuid.uuid4().hex[:8]}"
    result = run_lab(
        "--serverless",
        *notebooks,
        "--out",
        str(out),
        "--tracking-uri",
        tracking_server.uri,
        "--param",
        f"volume={test_volume}",
        "--param",
        f"experiment_name={name}",
        timeout=900,
    )
    assert result.returncode == 0, f"run_lab.py --serverless failed:\n{result.stdout}\n{result.stderr}"
    client = MlflowClient(tracking_server.uri)
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None, f"no experiment {name!r} on the server:\n{result.stdout}"
    # The server proxies artifacts (mlflow-artifacts:/<experiment id>) into its --artifacts-destination.
    assert experiment.artifact_location == f"mlflow-artifacts:/{experiment.experiment_id}", experiment.artifact_location
    artifacts = tracking_server.store / "artifacts" / experiment.experiment_id
    return ServerlessLab(out, result, client, experiment, artifacts)


def stored_runs(lab: ServerlessLab) -> dict[str, list]:
    """The runs in the serverless run's experiment, by notebook (its mlflow.source.name tag), oldest first."""
    runs: dict[str, list] = {}
    for run in lab.client.search_runs([lab.experiment.experiment_id], order_by=["attributes.start_time ASC"]):
        runs.setdefault(Path(run.data.tags["mlflow.source.name"]).stem, []).append(run)
    return runs


def cell_text(out: Path, stem: str) -> str:
    import nbformat

    executed = nbformat.read(out / "executed" / f"{stem}.ipynb", as_version=4)
    return "\n".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_both_notebooks_give_the_classic_runs(serverless_lab):
    result = serverless_lab.result
    runs = stored_runs(serverless_lab)
    assert sorted(runs) == sorted(CLASSIC_METRICS), result.stdout
    for stem, metrics in CLASSIC_METRICS.items():
        logged = [
            (r.data.params["elastic_net_param"], r.data.params["reg_param"], r.data.params["max_iter"])
            for r in runs[stem]
        ]
        assert logged == HYPERPARAMETERS, stem
        for run, (rmse, mae, r2) in zip(runs[stem], metrics, strict=True):
            assert run.info.status == "FINISHED"
            got = run.data.metrics
            assert (got["rmse"], got["mae"], got["r2"]) == pytest.approx((rmse, mae, r2), abs=1e-6), stem
    # The closing table lists all six, each row ending with its r2.
    r2_values = {f"{metrics[2]:.4f}" for all_metrics in CLASSIC_METRICS.values() for metrics in all_metrics}
    table_rows = [line for line in result.stdout.splitlines() if line.split() and line.split()[-1] in r2_values]
    assert len(table_rows) == 6, result.stdout


def test_each_notebook_names_its_compute_and_the_spark_models_use_the_volume(serverless_lab, test_volume):
    out = serverless_lab.out
    for stem in CLASSIC_METRICS:
        assert "Compute: serverless compute, environment version 4 (Spark Connect)" in cell_text(out, stem), stem
    folder = "/Volumes/" + test_volume.replace(".", "/")
    assert f"Model files pass through {folder}/mlflow-tmp" in cell_text(out, SPARK_NOTEBOOK.stem)
    assert Path(folder).is_dir()  # created by the notebook's CREATE VOLUME IF NOT EXISTS


def test_the_spark_models_and_plots_are_in_the_store(serverless_lab):
    """Each run's plot, and each Spark ML run's model with the spark flavor, as the server stored them (in the
    experiment's own folder of the server's artifact store)."""
    import yaml

    artifacts = serverless_lab.artifacts
    assert len(list(artifacts.rglob("LinearRegressionPrediction.png"))) == 6
    # A model's MLmodel, not the copy MLflow keeps in its metadata/ folder.
    mlmodels = [path for path in artifacts.rglob("MLmodel") if path.parent.name != "metadata"]
    flavors = [set(yaml.safe_load(path.read_text())["flavors"]) for path in mlmodels]
    assert sum({"spark", "python_function"} <= flavor for flavor in flavors) == 3, flavors
    assert sum("sklearn" in flavor for flavor in flavors) == 3, flavors


def copy_of_notebooks(tmp_path: Path) -> Path:
    """The English notebooks and their includes, copied to edit one line."""
    copy = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, copy, ignore=shutil.ignore_patterns("ja", "__pycache__"))
    return copy


# The lab notebook with its cache guard removed (the volume guard, dfs_tmpdir, is shown failing without its volume
# in test_serverless_rules_in_a_notebook_of_its_own, which needs no second run of the lab).
@pytest.mark.parametrize(
    ("guarded", "unguarded", "serverless_says"),
    [
        (
            "train_df, test_df = cache_if_supported(train_df), cache_if_supported(test_df)",
            "train_df, test_df = train_df.cache(), test_df.cache()",
            "[NOT_SUPPORTED_WITH_SERVERLESS] PERSIST TABLE is not supported on serverless compute",
        ),
    ],
    ids=["cache"],
)
def test_without_its_guard_the_spark_notebook_fails_as_serverless_does(
    tracking_server, tmp_path, test_volume, guarded, unguarded, serverless_says
):
    copy = copy_of_notebooks(tmp_path)
    spark_notebook = copy / SPARK_NOTEBOOK.name
    source = spark_notebook.read_text()
    assert source.count(guarded) == 1, "the guard moved: update this test"
    spark_notebook.write_text(source.replace(guarded, unguarded))

    result = run_lab(
        str(spark_notebook),
        "--serverless",
        "--out",
        str(tmp_path / "out"),
        "--tracking-uri",
        tracking_server.uri,
        "--param",
        f"volume={test_volume}",
        "--param",
        f"experiment_name=test-unguarded-{uuid.uuid4().hex[:8]}",
        timeout=600,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert serverless_says in result.stderr


def rules_notebook(tmp_path: Path, test_volume: str) -> Path:
    """A notebook trying what serverless compute refuses, and what it differs in from a cluster."""
    return notebook(
        tmp_path / "nb",
        "serverless_rules.py",
        f"""
        import os
        from pathlib import Path

        assert os.environ["DATABRICKS_RUNTIME_VERSION"].startswith("client."), os.environ["DATABRICKS_RUNTIME_VERSION"]
        assert Path.cwd() != Path({str(tmp_path / "nb")!r}), "the working directory is the notebook's folder"
        from mlflow.utils import databricks_utils
        assert databricks_utils.is_in_databricks_serverless_runtime()
        """,
        """
        from pyspark import SparkContext
        print("rows:", spark.range(3).count())
        print("a JVM in this kernel:", SparkContext._gateway is not None)  # the server runs elsewhere, as on serverless
        """,
        """
        def refused(action):
            try:
                action()
            except Exception as error:
                return str(error)
            raise AssertionError("not refused")

        print("sparkContext:", refused(lambda: spark.sparkContext)[:60])
        print("rdd:", refused(lambda: spark.range(3).rdd)[:40])
        print("cache:", refused(lambda: spark.range(3).cache()))
        print("persist:", refused(lambda: spark.range(3).persist()))
        create = "CREATE VOLUME IF NOT EXISTS workspace.no_such_schema.v"
        print("schema:", refused(lambda: spark.sql(create))[:70])
        """,
        f"""
        # mlflow.spark on serverless: a Spark ML model's files go through a volume (dfs_tmpdir), or not at all.
        import mlflow.spark
        from pyspark.ml import Pipeline
        from pyspark.ml.feature import VectorAssembler

        model = Pipeline(stages=[VectorAssembler(inputCols=["id"], outputCol="v")]).fit(spark.range(3))
        print("without a volume:", refused(lambda: mlflow.spark.save_model(model, {str(tmp_path / "m1")!r})))
        spark.sql("CREATE VOLUME IF NOT EXISTS {test_volume}")
        volume = "/Volumes/{test_volume.replace(".", "/")}"
        mlflow.spark.save_model(model, {str(tmp_path / "m2")!r}, dfs_tmpdir=volume + "/tmp")
        print("with the volume: saved", sorted(os.listdir({str(tmp_path / "m2")!r})))
        """,
    )


def test_serverless_rules_in_a_notebook_of_its_own(serverless_lab):
    """What serverless compute refuses, refused; and what it differs in from a cluster, different."""
    import nbformat

    executed = nbformat.read(serverless_lab.out / "executed" / "serverless_rules.ipynb", as_version=4)
    text = "\n".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "sparkContext: [JVM_ATTRIBUTE_NOT_SUPPORTED]" in text
    assert "rdd: [NOT_IMPLEMENTED] rdd is not implemented" in text
    serverless_error = (
        "[NOT_SUPPORTED_WITH_SERVERLESS] PERSIST TABLE is not supported on serverless compute. SQLSTATE: 0A000"
    )
    assert f"cache: {serverless_error}" in text and f"persist: {serverless_error}" in text
    assert "schema: [SCHEMA_NOT_FOUND] The schema `workspace`.`no_such_schema`" in text
    assert "rows: 3" in text
    assert "a JVM in this kernel: False" in text
    assert (
        "without a volume: UC volume path must be provided to save, log or load SparkML models in Databricks "
        "shared or serverless clusters"
    ) in text
    assert "with the volume: saved" in text and "'sparkml'" in text


def test_one_spark_connect_server_serves_the_runs_notebooks_and_stops_with_it(serverless_lab):
    import nbformat

    servers = set()
    for executed in (serverless_lab.out / "executed").glob("*.ipynb"):
        config = nbformat.read(executed, as_version=4).metadata[CONFIG_METADATA]  # what its kernel was told
        assert config["serverless"] is True
        servers.add(config["spark_connect_url"])
    assert len(servers) == 1 and re.fullmatch(r"sc://127\.0\.0\.1:\d+", *servers), servers  # one server for all
    port = int(servers.pop().rsplit(":", 1)[1])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # nothing listens there any more: the server's process group was stopped


def test_a_spark_connect_server_that_cannot_start_is_one_line_and_exit_4(tracking_server, tmp_path):
    path = notebook(tmp_path / "nb", "uses-spark.py", "print(spark.range(3).count())")
    env = {**os.environ, "SPARK_HOME": str(tmp_path / "no-spark-here")}  # pyspark then finds no spark-submit
    result = run_lab(
        str(path),
        "--serverless",
        "--out",
        str(tmp_path / "out"),
        "--tracking-uri",
        tracking_server.uri,
        env=env,
        timeout=300,
    )
    assert result.returncode == 4, result.stdout + result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("error: the local Spark Connect server (--serverless) exited with status"), line
    assert str(tmp_path / "out" / "spark" / "connect-server.log") in line


def test_the_volumes_folder_check(tmp_path):
    root = tmp_path / "Volumes"
    assert volumes_problem(root) is None and root.is_dir()
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert "cannot be made" in volumes_problem(blocked / "Volumes")
