"""Converting Databricks source notebooks into Jupyter notebooks that run locally."""


import pytest
from conftest import write_notebook as write

from labtools.local import convert
from labtools.local.convert import declared_widgets
from labtools.notebook.dbsource import NotebookFormatError


def test_magics_become_runnable_cells(tmp_path):
    path = write(
        tmp_path / "notebooks", "lab.py",
        "# MAGIC %md\n# MAGIC # Title",
        "# MAGIC %md-sandbox\n# MAGIC <b>x</b>",
        "# DBTITLE 1,Code\nx = 1",
        "# MAGIC %python\n# MAGIC y = 2",
        "# MAGIC %pip install something==1.0",
        "# MAGIC %sh\n# MAGIC echo hi",
        "# MAGIC %fs ls dbfs:/tmp",
    )  # fmt: skip
    cells = convert.to_ipynb(path).cells
    assert [c.cell_type for c in cells] == ["markdown", "markdown", "code", "code", "code", "code", "code"]
    assert cells[0].source == "# Title"
    assert cells[2].source == "x = 1"
    assert cells[2].metadata["databricks"] == {
        "file": "notebooks/lab.py", "line": 12, "cell": 3, "title": "Code", "code_line": 13,
    }  # fmt: skip
    assert cells[3].source == "y = 2"
    assert cells[3].metadata["databricks"]["code_line"] == cells[3].metadata["databricks"]["line"] + 1
    assert "Skipped locally: %pip install something==1.0" in cells[4].source
    assert cells[5].source == "_local_runtime.run_shell('echo hi')"
    assert cells[6].source == "_local_runtime.run_fs_magic('ls dbfs:/tmp')"


def test_run_inlines_code_cells_relative_to_the_notebook(tmp_path):
    write(tmp_path / "notebooks" / "includes", "setup.py", "# MAGIC %md\n# MAGIC Not shown", "helper = 42")
    path = write(tmp_path / "notebooks", "lab.py", "# MAGIC %run ./includes/setup", "print(helper)")
    cells = convert.to_ipynb(path).cells
    assert [c.source for c in cells] == ["helper = 42", "print(helper)"]
    assert cells[0].metadata["databricks"]["file"] == "notebooks/includes/setup.py"
    assert cells[0].metadata["databricks"]["line"] == 7


def test_run_of_a_missing_notebook_names_file_and_line(tmp_path):
    path = write(tmp_path / "notebooks", "lab.py", "x = 1", "# MAGIC %run ./nowhere")
    with pytest.raises(NotebookFormatError) as error:
        convert.to_ipynb(path)
    assert str(error.value) == "notebooks/lab.py:6: %run ./nowhere: no notebook at notebooks/nowhere.py"


def test_run_cycle_is_reported_with_its_chain(tmp_path):
    write(tmp_path / "notebooks", "b.py", "# MAGIC %run ./a")
    path = write(tmp_path / "notebooks", "a.py", "# MAGIC %run ./b")
    with pytest.raises(NotebookFormatError) as error:
        convert.to_ipynb(path)
    assert str(error.value) == "notebooks/b.py:2: %run cycle: notebooks/a.py -> notebooks/b.py -> notebooks/a.py"


def test_unknown_and_cluster_only_magics_name_file_and_line(tmp_path):
    path = write(tmp_path / "notebooks", "lab.py", "# MAGIC %frobnicate now")
    with pytest.raises(NotebookFormatError, match=r"^notebooks/lab.py:2: unknown magic %frobnicate"):
        convert.to_ipynb(path)
    path = write(tmp_path / "notebooks", "scala.py", "x = 1", "# MAGIC %scala val x = 1")
    with pytest.raises(NotebookFormatError, match=r"^notebooks/scala.py:6: %scala cells need a Databricks cluster"):
        convert.to_ipynb(path)


def test_a_sql_cell_runs_through_the_local_spark_session(tmp_path):
    path = write(tmp_path / "notebooks", "sql.py", "# MAGIC %sql\n# MAGIC SELECT 'it''s' AS word")
    [cell] = convert.to_ipynb(path).cells
    assert cell.cell_type == "code"
    assert cell.source == "_local_runtime.run_sql(\"SELECT 'it''s' AS word\")"


def test_a_separator_inside_a_string_is_reported_where_it_splits(tmp_path):
    path = tmp_path / "notebooks" / "lab.py"
    path.parent.mkdir()
    path.write_text(
        '# Databricks notebook source\ntext = """\nstart\n\n# COMMAND ----------\n\nend\n"""\n', encoding="utf-8"
    )
    with pytest.raises(NotebookFormatError) as error:
        convert.to_ipynb(path)
    message = str(error.value)
    assert message.startswith("notebooks/lab.py:2: syntax error:")
    assert "'# COMMAND ----------' line ends a cell even inside a string" in message


def test_declared_widgets_are_found_with_their_defaults(tmp_path):
    path = write(
        tmp_path / "notebooks", "lab.py",
        'dbutils.widgets.text("data_path", "", "Data")\ndbutils.widgets.dropdown("mode", "a", ["a", "b"])',
        'value = dbutils.widgets.get("data_path")',
    )  # fmt: skip
    assert declared_widgets(convert.to_ipynb(path)) == {"data_path": "", "mode": "a"}
