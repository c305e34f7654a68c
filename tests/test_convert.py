"""Converting Databricks source notebooks into Jupyter notebooks that run locally."""

import os
from pathlib import Path
from unittest import mock

import pytest
from conftest import PROJECT
from conftest import write_notebook as write

from labtools.kernel_config import KernelConfig
from labtools.local import convert
from labtools.local.convert import declared_widgets
from labtools.local.errors import ClusterOnlyCell
from labtools.local.prelude import prelude
from labtools.notebook.dbsource import NotebookFormatError


def test_magics_become_runnable_cells(tmp_path):
    path = write(
        tmp_path / "notebooks",
        "lab.py",
        "# MAGIC %md\n# MAGIC # Title",
        "# MAGIC %md-sandbox\n# MAGIC <b>x</b>",
        "# DBTITLE 1,Code\nx = 1",
        "# MAGIC %python\n# MAGIC y = 2",
        "# MAGIC %pip install something==1.0",
        "# MAGIC %sh\n# MAGIC echo hi",
        "# MAGIC %fs ls dbfs:/tmp",
    )
    cells = convert.to_ipynb(path).cells
    assert [c.cell_type for c in cells] == ["markdown", "markdown", "code", "code", "code", "code", "code"]
    assert cells[0].source == "# Title"
    assert cells[2].source == "x = 1"
    assert cells[2].metadata["databricks"] == {
        "file": "notebooks/lab.py",
        "line": 12,
        "cell": 3,
        "title": "Code",
        "code_line": 13,
    }
    assert cells[3].source == "y = 2"
    assert cells[3].metadata["databricks"]["code_line"] == cells[3].metadata["databricks"]["line"] + 1
    assert cells[4].source == "_standins.skip_pip('install something==1.0')"
    assert cells[5].source == "_standins.run_shell('echo hi')"
    assert cells[6].source == "_standins.run_fs_magic('ls dbfs:/tmp')"


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
    # The shortest cycle: a notebook that runs itself.
    itself = write(tmp_path / "notebooks", "self.py", "# MAGIC %run ./self")
    with pytest.raises(NotebookFormatError) as error:
        convert.to_ipynb(itself)
    assert str(error.value) == "notebooks/self.py:2: %run cycle: notebooks/self.py -> notebooks/self.py"


def test_unknown_and_cluster_only_magics_name_file_and_line(tmp_path):
    path = write(tmp_path / "notebooks", "lab.py", "# MAGIC %frobnicate now")
    with pytest.raises(NotebookFormatError, match=r"^notebooks/lab.py:2: unknown magic %frobnicate"):
        convert.to_ipynb(path)
    path = write(tmp_path / "notebooks", "scala.py", "x = 1", "# MAGIC %scala val x = 1")
    with pytest.raises(NotebookFormatError, match=r"^notebooks/scala.py:6: %scala cells need a Databricks cluster"):
        convert.to_ipynb(path)
    # Its own kind of format error, for the pytest plugin to skip such a notebook rather than fail it.
    path = write(tmp_path / "notebooks", "r.py", "# MAGIC %r x <- 1")
    with pytest.raises(ClusterOnlyCell, match=r"^notebooks/r.py:2: %r cells need a Databricks cluster"):
        convert.to_ipynb(path)


def test_shell_escapes_and_ipython_line_magics_are_python(tmp_path):
    """Databricks runs Python cells in IPython: `!pip install x` and `%ls` run there, as in the local kernel.
    A placeholder such as <FILL_IN> stays a syntax error at its line."""
    shell_code = "!pip --version\nimport os\nif os.sep:\n    !echo indented"
    path = write(tmp_path / "notebooks", "lab.py", shell_code, "# MAGIC %ls -d /")
    shell, magic = convert.to_ipynb(path).cells
    assert shell.source == shell_code
    assert (magic.source, magic.metadata["databricks"]["code_line"]) == ("%ls -d /", 9)
    path = write(tmp_path / "notebooks", "fill.py", "!echo hi\nx = <FILL_IN>")
    with pytest.raises(NotebookFormatError, match=r"^notebooks/fill.py:3: syntax error"):
        convert.to_ipynb(path)


def test_a_magic_exported_with_two_spaces_converts(tmp_path):
    path = write(tmp_path / "notebooks", "lab.py", "# MAGIC  %md\n# MAGIC # Title", "# MAGIC  %python\n# MAGIC y = 2")
    markdown, code = convert.to_ipynb(path).cells
    assert (markdown.cell_type, markdown.source) == ("markdown", "# Title")
    assert (code.cell_type, code.source) == ("code", "y = 2")


def test_ipython_line_magics_run_in_python_cells(tmp_path):
    """%load_ext, %autoreload, %matplotlib: Databricks runs them (its Python is IPython), so does the local kernel.

    As a cell's first line a workspace exports them as a '# MAGIC' cell; after code, as plain lines."""
    path = write(
        tmp_path / "notebooks",
        "lab.py",
        "# MAGIC %load_ext autoreload\n# MAGIC %autoreload 2",
        "import os\n%matplotlib inline\nif True:\n    %autoreload 2\nprint(os.sep)",
    )
    magics, code = convert.to_ipynb(path).cells
    assert (magics.cell_type, magics.source) == ("code", "%load_ext autoreload\n%autoreload 2")
    assert magics.metadata["databricks"]["code_line"] == 2  # the magic is code here: its line is the code's
    assert (code.cell_type, code.source) == (
        "code",
        "import os\n%matplotlib inline\nif True:\n    %autoreload 2\nprint(os.sep)",
    )


def test_a_syntax_error_after_a_line_magic_keeps_its_line(tmp_path):
    path = write(tmp_path / "notebooks", "lab.py", "# MAGIC %matplotlib inline\n# MAGIC x = (")
    with pytest.raises(NotebookFormatError, match=r"^notebooks/lab.py:3: syntax error"):
        convert.to_ipynb(path)


def test_a_sql_cell_runs_through_the_local_spark_session(tmp_path):
    path = write(tmp_path / "notebooks", "sql.py", "# MAGIC %sql\n# MAGIC SELECT 'it''s' AS word")
    [cell] = convert.to_ipynb(path).cells
    assert cell.cell_type == "code"
    assert cell.source == "_standins.run_sql(\"SELECT 'it''s' AS word\")"


@pytest.mark.parametrize(
    ("code", "uses_spark"),
    [
        ("from pyspark.sql import functions as F", True),
        ("from pyspark.ml import Pipeline", True),
        ("    import pyspark.sql.functions", True),
        ("import pyspark\nprint(pyspark.__version__)", False),  # what the lab's setup does: starts no JVM
        ("print('from pyspark.sql import x')", False),
    ],
)
def test_a_notebook_needs_spark_when_it_imports_from_pysparks_api(tmp_path, code, uses_spark):
    path = write(tmp_path / "notebooks", "n.py", code)
    assert convert.needs_spark(convert.to_ipynb(path)) is uses_spark


@pytest.mark.parametrize(
    ("notebook", "uses_spark"),
    [
        ("01-using-mlflow-to-track-experiments.py", False),
        ("ja/01-using-mlflow-to-track-experiments.py", False),
        ("02-using-mlflow-to-track-experiments-spark-ml.py", True),
        ("ja/02-using-mlflow-to-track-experiments-spark-ml.py", True),
    ],
)
def test_only_the_spark_ml_notebook_starts_spark_or_needs_java(notebook, uses_spark):
    """The scikit-learn notebook, %run includes and all, neither starts a JVM nor is skipped without Java."""
    path = PROJECT / "notebooks" / notebook
    assert convert.needs_spark(convert.to_ipynb(path, root=PROJECT)) is uses_spark


@pytest.mark.parametrize(
    ("notebook", "warmed"),
    [
        ("01-using-mlflow-to-track-experiments.py", "matplotlib.pyplot, mlflow.sklearn, sklearn.linear_model"),
        ("02-using-mlflow-to-track-experiments-spark-ml.py", "matplotlib.pyplot, mlflow.spark"),
        (None, None),  # a notebook that imports none of them (a test's, a learner's own): nothing
        ("import mlflow\nmlflow.log_param('a', 1)", "mlflow"),
    ],
)
def test_the_kernel_warms_up_only_the_slow_imports_its_notebook_uses(tmp_path, notebook, warmed):
    """Done while the runner's server starts; an import the notebook never makes would only slow that start."""
    if notebook and notebook.endswith(".py"):
        converted = convert.to_ipynb(PROJECT / "notebooks" / notebook, root=PROJECT)
    else:
        converted = convert.to_ipynb(write(tmp_path / "notebooks", "n.py", notebook or "print(1 + 1)"))
    line = prelude(warm_up=convert.code_of(converted), needs_spark=convert.needs_spark(converted))
    imports = [x for x in line.splitlines() if x.endswith("# imported while the server starts")]
    assert imports == ([f"import {warmed}  # imported while the server starts"] if warmed else [])


def test_a_sql_cell_needs_spark(tmp_path):
    path = write(tmp_path / "notebooks", "sql.py", "# MAGIC %sql\n# MAGIC SELECT 1")
    assert convert.needs_spark(convert.to_ipynb(path))


def test_a_converted_notebook_carries_its_code_widgets_and_use_of_spark_found_once(tmp_path):
    path = write(
        tmp_path / "notebooks", "lab.py", 'dbutils.widgets.text("data_path", "")', "# MAGIC %sql\n# MAGIC SELECT 1"
    )
    converted = convert.ConvertedNotebook.read(path)
    assert converted.code == convert.code_of(converted.notebook)
    assert converted.widgets == {"data_path": ""} == declared_widgets(converted.notebook)
    assert converted.needs_spark is convert.needs_spark(converted.notebook) is True


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
        tmp_path / "notebooks",
        "lab.py",
        'dbutils.widgets.text("data_path", "", "Data")\ndbutils.widgets.dropdown("mode", "a", ["a", "b"])',
        'value = dbutils.widgets.get("data_path")',
    )
    assert declared_widgets(convert.to_ipynb(path)) == {"data_path": "", "mode": "a"}


# --- the forms of `%run` and of exported files that a workspace produces --------------------------------------


def run_cells(notebook, params=None, tmp_path=None) -> dict:
    """Run a converted notebook's code cells after the runner's injected cell, in one namespace, as a kernel does."""
    namespace: dict = {}
    fs_root = Path(tmp_path or ".")
    config = KernelConfig(fs_root=str(fs_root), spark_dir=str(fs_root.parent / "spark"), widget_values=params or {})
    code = [prelude(in_kernel=False)]
    code += [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    with mock.patch.dict(os.environ, config.environment()):  # as the runner hands a kernel its configuration
        for source in code:
            exec(compile(source, "<cell>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize(
    "run_line",
    [
        '%run "./my includes/the setup"',
        "%run './my includes/the setup'",
        "%run ./my includes/the setup",
        '%run "./my includes/the setup.py"',
        "%run ../notebooks/my includes/the setup ",
    ],
)
def test_run_paths_may_be_quoted_and_hold_spaces(tmp_path, run_line):
    write(tmp_path / "notebooks" / "my includes", "the setup.py", "helper = 42")
    path = write(tmp_path / "notebooks", "lab.py", f"# MAGIC {run_line}", "print(helper)")
    assert [c.source for c in convert.to_ipynb(path).cells] == ["helper = 42", "print(helper)"]


def test_run_arguments_reach_the_included_notebooks_widgets_and_only_them(tmp_path):
    write(
        tmp_path / "notebooks" / "includes",
        "setup.py",
        'dbutils.widgets.text("mode", "production")\ndbutils.widgets.text("note", "none")\n'
        'mode, note = dbutils.widgets.get("mode"), dbutils.widgets.get("note")',
    )
    path = write(
        tmp_path / "notebooks",
        "lab.py",
        '# MAGIC %run ./includes/setup $mode="test" $note="two words"',
        'after = dbutils.widgets.get("mode")',
    )
    namespace = run_cells(convert.to_ipynb(path), {"mode": "from-the-job"}, tmp_path)
    assert (namespace["mode"], namespace["note"]) == ("test", "two words")
    assert namespace["after"] == "from-the-job", "the arguments hold for the included notebook only"
    assert declared_widgets(convert.to_ipynb(path)) == {"mode": "production", "note": "none"}


@pytest.mark.parametrize(
    ("run_line", "message"),
    [
        ("%run ./setup $mode", "%run ./setup $mode: '$mode' is not a widget argument such as $name=\"value\""),
        ('%run "./setup', '%run "./setup: No closing quotation'),
        ("%run", "%run needs a notebook path"),
    ],
)
def test_bad_run_arguments_name_file_and_line(tmp_path, run_line, message):
    write(tmp_path / "notebooks", "setup.py", "x = 1")
    path = write(tmp_path / "notebooks", "lab.py", "y = 2", f"# MAGIC {run_line}")
    with pytest.raises(NotebookFormatError) as error:
        convert.to_ipynb(path)
    assert str(error.value).startswith(f"notebooks/lab.py:6: {message}"), str(error.value)


@pytest.mark.parametrize("prefix", ["/Workspace/Users/me@example.com", "/Users/me@example.com", "/Repos/me/lab"])
def test_an_absolute_workspace_path_says_it_exists_only_there_and_suggests_the_relative_one(tmp_path, prefix):
    write(tmp_path / "notebooks" / "includes", "setup.py", "helper = 42")
    path = write(tmp_path / "notebooks", "lab.py", f"# MAGIC %run {prefix}/notebooks/includes/setup")
    with pytest.raises(NotebookFormatError) as error:
        convert.to_ipynb(path)
    assert str(error.value) == (
        f"notebooks/lab.py:2: %run {prefix}/notebooks/includes/setup: an absolute path names a notebook in a "
        "workspace (/Workspace, /Users, /Repos), which exists only there; write the path relative to this "
        "notebook, e.g. %run ./includes/setup"
    )
    elsewhere = write(tmp_path / "notebooks" / "sub", "deep.py", f"# MAGIC %run {prefix}/includes/setup")
    with pytest.raises(NotebookFormatError, match=r"e\.g\. %run \.\./includes/setup$"):
        convert.to_ipynb(elsewhere)


EXPORTED = (
    "# Databricks notebook source\n# MAGIC %md \n# MAGIC # Title \n# MAGIC \n# MAGIC Text\n\n# COMMAND ----------\n\n"
    "# DBTITLE 1,Widgets\n"
    'dbutils.widgets.multiselect("days", "mon", ["mon", "tue", "wed"], "Days")\n'
    'dbutils.widgets.combobox("colour", "red", ["red", "blue"], "Colour")\n'
    'days, colour = dbutils.widgets.get("days"), dbutils.widgets.get("colour")\n\n# COMMAND ----------\n\n'
    "# MAGIC %run ./includes/setup"
)


@pytest.mark.parametrize("line_ending", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_exported_files_with_crlf_trailing_spaces_and_no_final_newline_convert(tmp_path, line_ending):
    write(tmp_path / "notebooks" / "includes", "setup.py", "helper = 42")
    path = tmp_path / "notebooks" / "exported.py"
    path.write_bytes(EXPORTED.replace("\n", line_ending).encode())
    notebook = convert.to_ipynb(path)
    assert [c.cell_type for c in notebook.cells] == ["markdown", "code", "code"]
    assert notebook.cells[0].source == "# Title \n\nText"
    assert notebook.cells[1].metadata["databricks"]["title"] == "Widgets"
    assert "\r" not in "".join(c.source for c in notebook.cells)
    namespace = run_cells(notebook, {"days": "tue,wed", "colour": "green"}, tmp_path)
    assert (namespace["days"], namespace["colour"], namespace["helper"]) == ("tue,wed", "green", 42)


def test_a_multiselect_value_outside_its_choices_is_named(tmp_path):
    path = write(tmp_path / "notebooks", "lab.py", 'dbutils.widgets.multiselect("days", "mon", ["mon", "tue"])')
    with pytest.raises(ValueError, match=r"widget 'days': value 'mon,sun' is not one of its choices \['mon', 'tue'\]"):
        run_cells(convert.to_ipynb(path), {"days": "mon,sun"}, tmp_path)
