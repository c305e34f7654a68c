"""The Databricks source format: parsing every construct, and writing it back."""

from pathlib import Path

import pytest
from conftest import PROJECT

from labtools.notebook import dbsource
from labtools.notebook.dbsource import NotebookFormatError

EVERY_CONSTRUCT = """\
# Databricks notebook source
# MAGIC %md
# MAGIC # A title
# MAGIC
# MAGIC Text after a bare MAGIC line.

# COMMAND ----------

# MAGIC %md-sandbox
# MAGIC <div>sandboxed</div>

# COMMAND ----------

# DBTITLE 1,Load things
import os

print(os.sep)

# COMMAND ----------

# MAGIC %run ./includes/setup

# COMMAND ----------

# MAGIC %pip install skops==0.16.0

# COMMAND ----------

# MAGIC %sh
# MAGIC echo hello
# MAGIC ls /

# COMMAND ----------

# MAGIC %fs rm -r dbfs:/tmp/lab

# COMMAND ----------

# MAGIC %python
# MAGIC x = 1

# COMMAND ----------

# MAGIC %md Same-line markdown
"""


def test_every_construct_is_parsed():
    cells = dbsource.parse(EVERY_CONSTRUCT, "x.py").cells
    assert [c.magic for c in cells] == ["md", "md-sandbox", None, "run", "pip", "sh", "fs", "python", "md"]
    assert cells[0].body == "# A title\n\nText after a bare MAGIC line."
    assert cells[1].body == "<div>sandboxed</div>"
    assert cells[2].title == "Load things"
    assert cells[2].source == "import os\n\nprint(os.sep)"
    assert cells[3].magic_args == "./includes/setup"
    assert cells[4].magic_args == "install skops==0.16.0"
    assert cells[5].body == "echo hello\nls /"
    assert cells[6].magic_args == "rm -r dbfs:/tmp/lab"
    assert cells[7].body == "x = 1"
    assert cells[8].body == "Same-line markdown"


def test_cells_remember_the_line_they_start_on():
    lines = EVERY_CONSTRUCT.split("\n")
    cells = dbsource.parse(EVERY_CONSTRUCT, "x.py").cells
    for cell in cells:
        first_source_line = lines[cell.source_line - 1]
        assert first_source_line.removeprefix("# MAGIC ").startswith(cell.source.split("\n")[0])
    titled = cells[2]
    assert lines[titled.line - 1] == "# DBTITLE 1,Load things"
    assert titled.source_line == titled.line + 1


def test_canonical_text_round_trips_byte_for_byte():
    assert dbsource.dumps(dbsource.parse(EVERY_CONSTRUCT)) == EVERY_CONSTRUCT


@pytest.mark.parametrize("path", sorted((PROJECT / "notebooks").rglob("*.py")), ids=lambda p: p.name)
def test_the_lab_notebooks_round_trip_byte_for_byte(path: Path):
    text = path.read_text(encoding="utf-8")
    assert dbsource.dumps(dbsource.read(path)) == text


def test_a_file_without_trailing_newline_and_with_crlf_header_parses():
    notebook = dbsource.parse("# Databricks notebook source\r\nprint(1)", "x.py")
    assert [c.source for c in notebook.cells] == ["print(1)"]


def test_crlf_throughout_parses_as_lf_with_the_same_line_numbers():
    """A workspace export saved on Windows: a bare '# MAGIC\\r' line is an empty line, not a plain one."""
    crlf = EVERY_CONSTRUCT.replace("\n", "\r\n")
    assert dbsource.parse(crlf, "x.py") == dbsource.parse(EVERY_CONSTRUCT, "x.py")


def test_magic_lines_with_a_trailing_space_and_no_final_newline_parse():
    text = "# Databricks notebook source\n# MAGIC %md \n# MAGIC Title \n# MAGIC \n# MAGIC text\n\n"
    text += "# COMMAND ----------\n\n# MAGIC %run ./setup "
    cells = dbsource.parse(text, "x.py").cells
    assert [c.magic for c in cells] == ["md", "run"]
    assert cells[0].body == "Title \n\ntext"
    assert cells[1].magic_args == "./setup"


def test_missing_header_names_file_and_line():
    with pytest.raises(NotebookFormatError) as error:
        dbsource.parse("print(1)\n", "notebooks/bad.py")
    assert str(error.value).startswith("notebooks/bad.py:1: first line must be exactly '# Databricks notebook source'")


def test_a_magic_cell_mixed_with_plain_lines_names_the_line():
    text = "# Databricks notebook source\n# MAGIC %md\n# MAGIC Title\nprint(1)\n"
    with pytest.raises(NotebookFormatError, match=r"^x.py:4: a magic cell mixes"):
        dbsource.parse(text, "x.py")
    # Under a title the cell's text starts a line later: the line named is still the plain line's own (5).
    titled = "# Databricks notebook source\n# DBTITLE 1,Intro\n# MAGIC %md\n# MAGIC Title\nprint(1)\n"
    with pytest.raises(NotebookFormatError, match=r"^x.py:5: a magic cell mixes"):
        dbsource.parse(titled, "x.py")


def test_non_utf8_file_names_file_and_line(tmp_path):
    path = tmp_path / "latin1.py"
    path.write_bytes(b"# Databricks notebook source\nprint('caf\xe9')\n")
    with pytest.raises(NotebookFormatError) as error:
        dbsource.read(path)
    assert str(error.value) == f"{path}:2: not UTF-8 text (byte 0xe9); save the file as UTF-8"


def test_new_magic_cells_are_written_with_prefixes():
    notebook = dbsource.Notebook("x.py", [dbsource.magic_cell("%md\n# Title\n\nText", title="Intro")])
    assert dbsource.dumps(notebook) == (
        "# Databricks notebook source\n# DBTITLE 1,Intro\n# MAGIC %md\n# MAGIC # Title\n# MAGIC\n# MAGIC Text\n"
    )


def test_a_magic_exported_with_two_spaces_is_the_same_magic():
    """Some workspaces export `# MAGIC  %md` (the cell's text began with a space); Databricks runs it as %md."""
    text = (
        "# Databricks notebook source\n# MAGIC  %md\n# MAGIC # A title\n\n# COMMAND ----------\n\n"
        "# MAGIC  %run ./includes/setup\n\n# COMMAND ----------\n\n# MAGIC  %md Same line\n"
    )
    markdown, run, same_line = dbsource.parse(text, "x.py").cells
    assert (markdown.magic, markdown.body) == ("md", "# A title")
    assert (run.magic, run.magic_args) == ("run", "./includes/setup")
    assert (same_line.magic, same_line.body) == ("md", "Same line")
    assert dbsource.dumps(dbsource.parse(text, "x.py")) == text  # written back as it came
