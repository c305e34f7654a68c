"""The local stand-ins for `dbutils` (scripts/labtools/kernel/standins.py), and the configuration the runner hands
them (scripts/labtools/kernel_config.py)."""

import os

import pytest

from labtools.kernel import spark, standins
from labtools.kernel.standins import InputWidgetNotDefined, Widgets
from labtools.kernel_config import SERVERLESS_ENVIRONMENT, VARIABLE, KernelConfig


def config(fs_root, widget_values=None, **more) -> KernelConfig:
    return KernelConfig(
        fs_root=str(fs_root), spark_dir=str(fs_root.parent / "spark"), widget_values=widget_values or {}, **more
    )


def test_a_passed_value_wins_over_the_declared_default():
    widgets = Widgets({"experiment_name": "from-the-job"})
    widgets.text("experiment_name", "the-default", "Experiment")
    widgets.text("data_path", "", "Data")
    assert widgets.get("experiment_name") == "from-the-job"
    assert widgets.get("data_path") == ""
    assert widgets.getArgument("experiment_name") == "from-the-job"


def test_get_of_an_undeclared_widget_fails_as_on_databricks():
    widgets = Widgets({"passed_but_not_declared": "x"})
    with pytest.raises(InputWidgetNotDefined, match="No input widget named passed_but_not_declared is defined"):
        widgets.get("passed_but_not_declared")


def test_a_dropdown_rejects_a_value_outside_its_choices():
    with pytest.raises(ValueError, match="widget 'mode': value 'c' is not one of its choices"):
        Widgets({"mode": "c"}).dropdown("mode", "a", ["a", "b"])
    widgets = Widgets({"mode": "b"})
    widgets.dropdown("mode", "a", ["a", "b"])
    assert widgets.get("mode") == "b"


def test_removed_widgets_are_undeclared_again():
    widgets = Widgets()
    widgets.text("a", "1")
    widgets.removeAll()
    with pytest.raises(InputWidgetNotDefined):
        widgets.get("a")


def test_install_defines_what_a_workspace_defines(tmp_path):
    namespace = {}
    standins.install(namespace, config(tmp_path, {"k": "v"}))
    assert set(namespace) == {"dbutils", "display", "displayHTML", "spark", "sc", "sqlContext"}
    # `spark` is there, but starts a JVM only when a notebook first uses it; so do `sc` and `sqlContext`.
    assert repr(namespace["spark"]) == "<local SparkSession, started on first use>"
    assert repr(namespace["sc"]) == "<the local Spark session's SparkContext, made on first use>"
    assert repr(namespace["sqlContext"]) == "<an SQLContext of the local Spark session, made on first use>"
    assert namespace["spark"]._session is None and namespace["spark"]._starting is None
    namespace["dbutils"].widgets.text("k", "default")
    assert namespace["dbutils"].widgets.get("k") == "v"


def test_sc_is_the_sessions_context_made_on_first_use_and_serverless_defines_neither(tmp_path, monkeypatch):
    """Classic clusters define `sc` and `sqlContext`; serverless compute defines neither (a NameError there)."""
    namespace = {}
    standins.install(namespace, config(tmp_path))
    made = []
    context = type("Context", (), {"defaultParallelism": 2})()
    monkeypatch.setattr(standins.spark, "session", lambda: made.append(1) or type("S", (), {"sparkContext": context}))
    assert made == []  # defining it started nothing
    assert namespace["sc"].defaultParallelism == 2 and made == [1]
    assert namespace["sc"].defaultParallelism == 2 and made == [1]  # made once
    for name in SERVERLESS_ENVIRONMENT:  # set, then unset: monkeypatch then removes what install() sets
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    serverless = {}
    standins.install(serverless, config(tmp_path, serverless=True, spark_connect_url="sc://127.0.0.1:1"))
    assert "sc" not in serverless and "sqlContext" not in serverless and "spark" in serverless


def test_dbfs_paths_map_into_the_local_root(tmp_path):
    standins.install({}, config(tmp_path))
    fs = standins.dbutils.fs
    fs.put("dbfs:/mlflow/lab/notes.txt", "hello")
    assert (tmp_path / "mlflow" / "lab" / "notes.txt").read_text() == "hello"
    assert fs.head("/dbfs/mlflow/lab/notes.txt") == "hello"
    assert fs.ls("dbfs:/mlflow/lab") == ["mlflow/lab/notes.txt"]
    with pytest.raises(FileExistsError):
        fs.put("dbfs:/mlflow/lab/notes.txt", "again")
    with pytest.raises(ValueError, match="outside the local DBFS folder"):
        fs.ls("dbfs:/../../etc")


def test_fs_magic_removes_recursively_and_reports_a_missing_path(tmp_path):
    standins.install({}, config(tmp_path))
    standins.dbutils.fs.put("dbfs:/mlflow/taxi/model.txt", "x")
    assert standins.run_fs_magic("rm -r dbfs:/mlflow/taxi") is True
    assert not (tmp_path / "mlflow" / "taxi").exists()
    assert standins.run_fs_magic("rm -r dbfs:/mlflow/taxi") is False
    with pytest.raises(ValueError, match="%fs cp is not available locally"):
        standins.run_fs_magic("cp a b")


def test_sh_prints_output_and_fails_on_a_non_zero_exit(capsys):
    standins.run_shell("echo hello")
    assert capsys.readouterr().out == "hello\n"
    with pytest.raises(RuntimeError, match="%sh exited with status 3"):
        standins.run_shell("exit 3")


def test_a_session_started_in_the_background_fails_where_it_is_used(tmp_path, monkeypatch):
    """The runner starts Spark in a thread during the injected cell; its failure must reach that cell, once."""

    def fails(message):
        def build_session(*args, **kwargs):
            raise RuntimeError(message)

        return build_session

    monkeypatch.setattr(spark, "build_session", fails("the JVM did not start"))
    local = spark.LocalSpark(tmp_path)
    local.start_in_background()
    local._starting.exception()  # waits until it has failed in its thread: what fails next must be that failure
    monkeypatch.setattr(spark, "build_session", fails("still no JVM"))
    with pytest.raises(RuntimeError, match="the JVM did not start"):
        local.session()
    with pytest.raises(RuntimeError, match="still no JVM"):  # tried again, not the stale error
        local.session()


def test_without_java_the_session_fails_with_the_runners_one_finding(tmp_path, monkeypatch):
    """The kernel does not look for Java again: it says what the runner found (prerequisites.py), at first use."""
    monkeypatch.setattr(spark, "build_session", lambda *args, **kwargs: pytest.fail("no JVM may start"))
    for serverless in (False, True):
        local = spark.LocalSpark(tmp_path, serverless=serverless, java_problem="Spark needs a Java runtime: ...")
        with pytest.raises(RuntimeError, match="Spark needs a Java runtime"):
            local.session()


def test_install_reads_the_runners_configuration_from_the_environment(tmp_path, monkeypatch):
    """One route into the kernel: the JSON in DP090_KERNEL_CONFIG; serverless mode sets what serverless compute
    sets in a notebook's environment, from that and nothing else."""
    for name in SERVERLESS_ENVIRONMENT:  # set, then unset: monkeypatch then removes what install() sets
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    given = config(tmp_path, {"k": "v"}, serverless=True, spark_connect_url="sc://127.0.0.1:1")
    monkeypatch.setenv(VARIABLE, given.to_json())
    namespace = {}
    standins.install(namespace)
    namespace["dbutils"].widgets.text("k", "default")
    assert namespace["dbutils"].widgets.get("k") == "v"
    assert namespace["spark"]._connect_url == "sc://127.0.0.1:1"
    assert {name: os.environ[name] for name in SERVERLESS_ENVIRONMENT} == SERVERLESS_ENVIRONMENT
    namespace["spark"].connect_to("sc://127.0.0.1:2")  # the runner's server moved before the session started
    assert namespace["spark"]._connect_url == "sc://127.0.0.1:2"
    monkeypatch.delenv(VARIABLE)
    with pytest.raises(RuntimeError, match=f"{VARIABLE} is not set"):
        standins.install({})


def test_the_configuration_is_json_and_a_connect_server_is_serverless_modes(tmp_path):
    given = config(
        tmp_path, {"data_path": "/x.csv"}, serverless=True, spark_connect_url="sc://127.0.0.1:15002", java_problem=None
    )
    assert KernelConfig.from_json(given.to_json()) == given
    with pytest.raises(ValueError, match="needs serverless=True"):
        config(tmp_path, spark_connect_url="sc://127.0.0.1:15002")


def test_restart_python_goes_on_in_a_kernel_started_for_the_notebook(tmp_path, capsys):
    standins.DBUtils({}, tmp_path).library.restartPython()
    assert "Skipped locally: dbutils.library.restartPython()" in capsys.readouterr().out
