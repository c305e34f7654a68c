"""Serverless mode's rules, through the real runner (`run_lab.py --serverless`), against the session's `mlflow server`.

Serverless compute (and Databricks Free Edition, which has nothing else) runs Spark through Spark Connect, refuses
`cache()` before environment version 5, and makes `mlflow.spark` stage model files in a Unity Catalog volume.
The runner's serverless mode reproduces those rules with a real local Spark Connect session
(scripts/labtools/kernel/spark.py, volumes.py, unity_catalog.py). Here: those rules in a notebook of their own, and
that the Spark notebook's cache guard is what keeps it running. That both lab notebooks, run this way, give the classic
local mode's runs is tests/test_learner_path.py's: its learners' by-hand runs are the suite's serverless runs of them.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from importlib.util import find_spec
from pathlib import Path

import pytest
from conftest import PROJECT, SCRIPTS, run_lab
from conftest import write_notebook as notebook

sys.path.insert(0, str(SCRIPTS))
from labtools.kernel_config import VOLUMES  # noqa: E402
from labtools.local.prerequisites import volumes_problem  # noqa: E402

pytestmark = [
    pytest.mark.skipif(
        shutil.which("java") is None or find_spec("pyspark") is None or find_spec("grpc") is None,
        reason="serverless mode needs Java and pyspark[connect] (.ci/run installs both; see README)",
    ),
    pytest.mark.skipif(volumes_problem() is not None, reason=f"serverless mode needs {VOLUMES}: {volumes_problem()}"),
]

NOTEBOOKS = PROJECT / "notebooks"
SPARK_NOTEBOOK = NOTEBOOKS / "02-using-mlflow-to-track-experiments-spark-ml.py"


@pytest.fixture(scope="module")
def test_volume():
    """A volume of the tests' own in the Unity Catalog stand-in's default schema, removed afterwards."""
    name = f"test_{uuid.uuid4().hex[:8]}"
    yield f"workspace.default.{name}"
    shutil.rmtree(VOLUMES / "workspace" / "default" / name, ignore_errors=True)


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


def test_serverless_rules_in_a_notebook_of_its_own(tracking_server, tmp_path, test_volume):
    """What serverless compute refuses, refused; and what it differs in from a cluster, different."""
    import nbformat

    out = tmp_path / "out"
    result = run_lab(
        "--serverless",
        str(rules_notebook(tmp_path, test_volume)),
        "--out",
        str(out),
        "--tracking-uri",
        tracking_server.uri,
        timeout=600,
    )
    assert result.returncode == 0, f"run_lab.py --serverless failed:\n{result.stdout}\n{result.stderr}"
    executed = nbformat.read(out / "executed" / "serverless_rules.ipynb", as_version=4)
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
