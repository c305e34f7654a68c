"""Each English notebook's learner's path fits a class hour (issue 21 §1).

The learner's path runs from a notebook's first cell to its Clean-up cell, inclusive; what follows it (a
"Going further" section, the summary returned to a job) is not counted. Cells are separated by
`# COMMAND ----------`; prose lines are the `# MAGIC` lines other than a cell's `%md` line.
"""

from __future__ import annotations

import pytest

from labtools import lab

# The declared lab notebooks (labtools.lab.LAB_NOTEBOOKS); lab_notebook_files refuses a folder that disagrees.
NOTEBOOKS = lab.lab_notebook_files()
SEPARATOR = "# COMMAND ----------"
MAX_CELLS, MAX_LINES, MAX_PROSE = 40, 450, 120


def learners_path(text: str) -> list[list[str]]:
    """The lines of each cell from the first to the Clean-up cell (a separator line ends the cell before it)."""
    cells: list[list[str]] = [[]]
    for line in text.splitlines():
        cells[-1].append(line)
        if line == SEPARATOR:
            cells.append([])
    clean_up = [i for i, cell in enumerate(cells) if "# MAGIC ## Clean-up" in cell]
    assert len(clean_up) == 1, "expected one Clean-up cell (a `## Clean-up` heading)"
    return cells[: clean_up[0] + 1]


def test_every_declared_notebook_is_measured():
    assert NOTEBOOKS and [path.stem for path in NOTEBOOKS] == [notebook.stem for notebook in lab.LAB_NOTEBOOKS]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_learners_path_fits_a_class_hour(notebook):
    path = learners_path(notebook.read_text())
    lines = [line for cell in path for line in cell]
    while lines and lines[-1] in ("", SEPARATOR):  # the blank line and separator after the Clean-up cell
        lines.pop()
    prose = [line for line in lines if line.startswith("# MAGIC") and line.strip() != "# MAGIC %md"]
    measured = f"{len(path)} cells, {len(lines)} lines, {len(prose)} prose lines"
    assert len(path) <= MAX_CELLS, f"{notebook.name}: {measured}; at most {MAX_CELLS} cells"
    assert len(lines) <= MAX_LINES, f"{notebook.name}: {measured}; at most {MAX_LINES} lines"
    assert len(prose) <= MAX_PROSE, f"{notebook.name}: {measured}; at most {MAX_PROSE} prose lines"


def test_the_summary_for_jobs_is_the_last_cell_and_follows_clean_up():
    for notebook in NOTEBOOKS:
        text = notebook.read_text()
        last = text.split(SEPARATOR)[-1]
        assert "# DBTITLE 1,Return a summary to the job" in last, notebook.name
        assert "dbutils.notebook.exit(lab_summary(" in last, notebook.name
        assert text.index("# MAGIC ## Clean-up") < text.index("# DBTITLE 1,Return a summary to the job")
