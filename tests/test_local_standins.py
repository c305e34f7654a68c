"""The local stand-ins for `dbutils` (scripts/labtools/local/standins.py)."""

import pytest

from labtools.local import standins
from labtools.local.standins import InputWidgetNotDefined, Widgets


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
    standins.install(namespace, {"k": "v"}, tmp_path)
    assert set(namespace) == {"dbutils", "display", "spark"}
    # `spark` is there, but starts a JVM only when a notebook first uses it.
    assert repr(namespace["spark"]) == "<local SparkSession, started on first use>"
    namespace["dbutils"].widgets.text("k", "default")
    assert namespace["dbutils"].widgets.get("k") == "v"


def test_dbfs_paths_map_into_the_local_root(tmp_path):
    standins.install({}, {}, tmp_path)
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
    standins.install({}, {}, tmp_path)
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
    from labtools.local import spark

    monkeypatch.setattr(spark, "java_problem", lambda: "Spark needs a Java runtime")
    local = spark.LocalSpark(tmp_path)
    local.start_in_background()
    local._starting.exception()  # waits until it has failed in its thread: what fails next must be that failure
    monkeypatch.setattr(spark, "java_problem", lambda: "still no Java")
    with pytest.raises(RuntimeError, match="Spark needs a Java runtime"):
        local.session()
    with pytest.raises(RuntimeError, match="still no Java"):  # tried again, not the stale error
        local.session()
