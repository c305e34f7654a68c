"""The Unity Catalog stand-in of serverless mode (scripts/labtools/kernel/unity_catalog.py), through the real path.

Each rule is tried as a notebook meets it: `spark.sql(...)` and `spark.catalog` of the kernel's `LocalSpark`, a
client of a real local Spark Connect server (one per module, started as the runner starts it), with volumes as
folders under /Volumes. Without the stand-in, each of these statements would reach local Spark, which answers
`spark_catalog`, the OS login, or a parse error. The last test runs notebook 02 with the real runner where a learner's
default volume cannot be created: a workspace whose current catalog is `hive_metastore`, or no CREATE VOLUME privilege.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from importlib.util import find_spec

import pytest
from conftest import PROJECT, SCRIPTS, run_lab
from conftest import write_notebook as notebook
from mlflow.tracking import MlflowClient
from workspace_stub import short_name

sys.path.insert(0, str(SCRIPTS))
from labtools.kernel import unity_catalog, volumes  # noqa: E402
from labtools.kernel_config import (  # noqa: E402
    VOLUMES,
    KernelConfig,
    UnityCatalogSettings,  # noqa: E402
)
from labtools.local.prerequisites import volumes_problem  # noqa: E402

pytestmark = [
    pytest.mark.skipif(
        shutil.which("java") is None or find_spec("pyspark") is None or find_spec("grpc") is None,
        reason="serverless mode needs Java and pyspark[connect] (.ci/run installs both; see README)",
    ),
    pytest.mark.skipif(volumes_problem() is not None, reason=f"serverless mode needs {VOLUMES}"),
]

SPARK_NOTEBOOK = PROJECT / "notebooks" / "02-using-mlflow-to-track-experiments-spark-ml.py"


@pytest.fixture(scope="module")
def connect_url(tmp_path_factory):
    """One Spark Connect server for the module, as the runner starts one for a run (connect_server.py)."""
    from labtools.local.connect_server import ConnectServer

    server = ConnectServer(tmp_path_factory.mktemp("uc-spark")).start()
    try:
        server.wait_ready()
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def schema():
    """A schema of the test's own in the `workspace` catalog (a folder under /Volumes), removed afterwards."""
    name = f"test_uc_{uuid.uuid4().hex[:8]}"
    volumes.make_schema("workspace", name)
    yield name
    shutil.rmtree(VOLUMES / "workspace" / name, ignore_errors=True)


@pytest.fixture
def local_spark(connect_url, tmp_path, monkeypatch):
    """`make(**DP090_UC_values)`: the kernel's `spark` in serverless mode, in the workspace those values describe."""
    from pyspark.sql.connect.dataframe import DataFrame

    from labtools.kernel.spark import LocalSpark

    # What connecting changes in this process (spark._connect), restored afterwards for the other tests.
    monkeypatch.setenv("SPARK_CONNECT_MODE_ENABLED", "1")
    monkeypatch.setattr(DataFrame, "cache", DataFrame.cache)
    monkeypatch.setattr(DataFrame, "persist", DataFrame.persist)

    def make(**settings):
        knobs = {f"DP090_UC_{name.upper()}": value for name, value in settings.items()}
        given = UnityCatalogSettings.from_environ(knobs)
        return LocalSpark(tmp_path / "spark", serverless=True, connect_url=connect_url, unity_catalog=given)

    return make


def error_of(action):
    from pyspark.errors import AnalysisException

    with pytest.raises(AnalysisException) as caught:
        action()
    return caught.value


def test_the_settings_are_read_once_from_the_environment():
    assert UnityCatalogSettings.from_environ({}) == UnityCatalogSettings("workspace", "default", None, frozenset())
    given = {
        "DP090_UC_CURRENT_CATALOG": "hive_metastore",
        "DP090_UC_CURRENT_SCHEMA": "lab",
        "DP090_UC_USER": "a@example.com",
        "DP090_UC_WITHHOLD": "create volume",
    }
    assert UnityCatalogSettings.from_environ(given) == UnityCatalogSettings(
        "hive_metastore", "lab", "a@example.com", frozenset({"CREATE_VOLUME"})
    )
    with pytest.raises(ValueError, match=r"^DP090_UC_WITHHOLD: unknown privilege\(s\) SELECT; known: CREATE_VOLUME$"):
        UnityCatalogSettings.from_environ({"DP090_UC_WITHHOLD": "CREATE_VOLUME,SELECT"})
    with pytest.raises(ValueError, match=r"^DP090_UC_CURRENT_CATALOG: 'main' is not one of"):
        UnityCatalogSettings.from_environ({"DP090_UC_CURRENT_CATALOG": "main"})


def test_the_session_starts_in_workspace_default_as_on_free_edition(local_spark):
    spark = local_spark()
    assert (spark.catalog.currentCatalog(), spark.catalog.currentDatabase()) == ("workspace", "default")
    row = spark.sql("SELECT current_catalog(), current_database()").first()
    assert row.asDict() == {"current_catalog()": "workspace", "current_schema()": "default"}
    assert spark.sql("select current_schema() as s").first().s == "default"
    assert (VOLUMES / "workspace" / "default").is_dir()  # made at start, as a workspace comes with it
    assert spark.catalog.tableExists("no_such_table") is False  # the rest of spark.catalog is local Spark's


def test_a_workspace_whose_current_catalog_is_hive_metastore_refuses_volumes(local_spark):
    spark = local_spark(current_catalog="hive_metastore")
    assert spark.catalog.currentCatalog() == "hive_metastore"
    assert spark.sql("SELECT current_catalog()").first()[0] == "hive_metastore"
    for statement in ("CREATE VOLUME IF NOT EXISTS dp090_lab", "CREATE VOLUME hive_metastore.default.dp090_lab"):
        error = error_of(lambda statement=statement: spark.sql(statement))
        assert "Volumes can only be created in Unity Catalog schemas" in str(error), statement
        assert "`hive_metastore`.`default`" in str(error)
    assert not (VOLUMES / "hive_metastore").exists()


def test_volume_names_are_unique_per_schema(local_spark, schema):
    spark = local_spark(current_schema=schema)
    assert spark.sql("CREATE VOLUME lab COMMENT 'model files, by \\'mlflow.spark\\''").collect() == []
    assert (VOLUMES / "workspace" / schema / "lab").is_dir()
    error = error_of(lambda: spark.sql(f"CREATE VOLUME workspace.{schema}.lab"))
    assert (error.getCondition(), error.getSqlState()) == ("VOLUME_ALREADY_EXISTS", "42000")
    assert str(error).startswith(
        f"[VOLUME_ALREADY_EXISTS] Cannot create volume `workspace`.`{schema}`.`lab` because it already exists."
    )
    spark.sql(f"CREATE VOLUME IF NOT EXISTS `workspace`.`{schema}`.`lab`")  # a no-op
    error = error_of(lambda: spark.sql("CREATE VOLUME LAB"))  # names are stored in lower case
    assert error.getCondition() == "VOLUME_ALREADY_EXISTS"
    spark.sql("CREATE VOLUME IF NOT EXISTS default.lab_elsewhere")  # two parts: the current catalog's schema
    assert (VOLUMES / "workspace" / "default" / "lab_elsewhere").is_dir()
    spark.sql("DROP VOLUME default.lab_elsewhere")


def test_a_learner_drops_a_volume(local_spark, schema):
    spark = local_spark(current_schema=schema)
    spark.sql("CREATE VOLUME lab")
    (VOLUMES / "workspace" / schema / "lab" / "a-file").write_text("x")
    spark.sql(f"DROP VOLUME workspace.{schema}.lab")
    assert not (VOLUMES / "workspace" / schema / "lab").exists()
    error = error_of(lambda: spark.sql("DROP VOLUME lab"))
    assert f"The volume `workspace`.`{schema}`.`lab` cannot be found." in str(error)
    spark.sql("DROP VOLUME IF EXISTS lab")  # a no-op
    spark.sql("CREATE VOLUME lab")  # the name is free again


def test_create_volume_needs_the_privilege(local_spark, schema):
    spark = local_spark(current_schema=schema, withhold="CREATE_VOLUME")
    error = error_of(lambda: spark.sql("CREATE VOLUME IF NOT EXISTS lab"))
    assert (error.getCondition(), error.getSqlState()) == ("INSUFFICIENT_PERMISSIONS", "42501")
    assert str(error) == (
        f"[INSUFFICIENT_PERMISSIONS] Insufficient privileges: User does not have CREATE VOLUME on "
        f"Schema 'workspace.{schema}'. SQLSTATE: 42501"
    )
    assert not (VOLUMES / "workspace" / schema / "lab").exists()
    (VOLUMES / "workspace" / schema / "made_by_an_admin").mkdir()  # an existing volume: IF NOT EXISTS passes
    spark.sql(f"CREATE VOLUME IF NOT EXISTS workspace.{schema}.made_by_an_admin")


def test_unknown_catalogs_and_schemas_and_names_unity_catalog_refuses(local_spark):
    spark = local_spark()
    error = error_of(lambda: spark.sql("CREATE VOLUME IF NOT EXISTS main.default.lab"))
    assert error.getCondition() == "NO_SUCH_CATALOG_EXCEPTION" and "`main`" in str(error)
    error = error_of(lambda: spark.sql("CREATE VOLUME IF NOT EXISTS workspace.no_such_schema.lab"))
    assert (error.getCondition(), error.getSqlState()) == ("SCHEMA_NOT_FOUND", "42704")
    assert str(error).startswith("[SCHEMA_NOT_FOUND] The schema `workspace`.`no_such_schema` cannot be found.")
    escape = f"uc_{uuid.uuid4().hex[:8]}"
    for name in (f"`../default/{escape}`", "`a b`", "`a.b`", "x" * 256):
        error = error_of(lambda name=name: spark.sql(f"CREATE VOLUME {name}"))
        assert str(error).startswith("Invalid name "), name
    assert not (VOLUMES / "workspace" / "default" / escape).exists()


def test_two_learners_in_one_workspace(local_spark, schema):
    """As notebook 02 names its default volume from current_user() (DECISIONS.md section 1)."""
    learners = {}
    for user in ("ada@example.com", "grace.hopper@example.com"):
        spark = local_spark(current_schema=schema, user=user)
        me = spark.sql("SELECT current_user()").first()[0]
        spark.sql(f"CREATE VOLUME IF NOT EXISTS lab_{me.split('@')[0].replace('.', '_')}")
        learners[user] = me
    assert learners == {user: user for user in learners}
    assert sorted(p.name for p in (VOLUMES / "workspace" / schema).iterdir()) == ["lab_ada", "lab_grace_hopper"]


def test_a_statement_the_stand_in_does_not_know_goes_to_spark(local_spark):
    spark = local_spark(user="ada@example.com")
    assert spark.sql("SELECT 1 AS one, current_catalog() AS c").first().asDict() == {"one": 1, "c": "spark_catalog"}
    catalog = unity_catalog.UnityCatalog(UnityCatalogSettings())
    assert catalog.select_current("SELECT current_user() FROM t") is None
    assert not catalog.statement("CREATE EXTERNAL VOLUME x LOCATION 's3://b/p'")


def test_the_settings_reach_the_kernel_in_its_one_configuration():
    """The runner reads the knobs once and hands them over in KernelConfig's JSON, the kernel's one route in."""
    settings = UnityCatalogSettings("hive_metastore", "lab", "a@example.com", frozenset({"CREATE_VOLUME"}))
    config = KernelConfig(fs_root="/tmp/dbfs", spark_dir="/tmp/spark", serverless=True, unity_catalog=settings)
    assert KernelConfig.from_json(config.to_json()) == config
    plain = KernelConfig(fs_root="a", spark_dir="b")
    assert KernelConfig.from_json(plain.to_json()).unity_catalog == UnityCatalogSettings()


def test_a_bad_knob_is_one_line_before_any_kernel_starts(tmp_path):
    env = {**os.environ, "DP090_UC_WITHHOLD": "SELECT"}
    result = run_lab("--serverless", str(SPARK_NOTEBOOK), "--out", str(tmp_path / "out"), env=env, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: DP090_UC_WITHHOLD: unknown privilege(s) SELECT; known: CREATE_VOLUME"
    ]


# --- the volume that cannot be created: one line naming the parameter, the runs before kept ---------------------


@pytest.mark.parametrize(
    ("knob", "names"),
    [
        ({"DP090_UC_CURRENT_CATALOG": "hive_metastore"}, "hive_metastore"),
        ({"DP090_UC_WITHHOLD": "CREATE_VOLUME"}, "CREATE VOLUME"),
    ],
    ids=["catalog-without-volumes", "no-create-volume-privilege"],
)
def test_a_volume_that_cannot_be_made_stops_02_with_one_line(tracking_server, tmp_path, knob, names):
    """Notebook 02 after another notebook of the same runner (as a learner runs 01 first): 02 stops in its
    Parameters cell with one line naming the parameter, and the run the notebook before logged is kept."""
    user = f"ada.lovelace+{uuid.uuid4().hex[:8]}@example.com"
    env = {**os.environ, "DP090_UC_USER": user, **knob}
    # A notebook that logs one run, standing in for 01: the error is 02's, and 01's three runs would only cost time.
    earlier = notebook(
        tmp_path / "nb",
        "earlier.py",
        f"""
        import mlflow
        mlflow.set_experiment("/Users/{user}/earlier")
        with mlflow.start_run(run_name="kept"):
            mlflow.log_param("a", 1)
        """,
    )
    result = run_lab(
        "--serverless",
        "--tracking-uri",
        tracking_server.uri,
        "--out",
        str(tmp_path / "out"),
        str(earlier),
        str(SPARK_NOTEBOOK),
        env=env,
        timeout=600,
    )
    try:
        assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, f"one line, not a traceback wall:\n{result.stderr}"
        [line] = lines
        assert line.startswith(f"error: notebooks/{SPARK_NOTEBOOK.name}:"), line
        assert '"Parameters: data and experiment")' in line, line  # the cell that reads the volume parameter
        assert "volume: cannot create" in line and "set the notebook's volume parameter" in line, line
        assert names in line, line
        # The run the notebook before logged is kept.
        client = MlflowClient(tracking_server.uri)
        experiment = client.get_experiment_by_name(f"/Users/{user}/earlier")
        runs = client.search_runs([experiment.experiment_id])
        assert [(run.info.run_name, run.info.status) for run in runs] == [("kept", "FINISHED")]
    finally:
        shutil.rmtree(VOLUMES / "workspace" / "default" / f"dp090_mlflow_lab_{short_name(user)}", ignore_errors=True)
