"""The lab's names and files, in one place: every script and module that needs them asks here.

The notebooks cannot import this module (a workspace runs them without scripts/), so the names
they use themselves (the default experiment, the data's checksum) are checked against these by
tests/test_layout.py.
"""

from __future__ import annotations

from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
NOTEBOOKS = PROJECT / "notebooks"
# The lab's data, kept in the repository so that it travels with the notebooks (data/README.md).
LAB_DATA = PROJECT / "data" / "nyc-taxi.csv"

# The workspace folder the lab is deployed to, and the top folder of its archives.
LAB_FOLDER = "dp090-mlflow-lab"
# The lab notebook a learner runs first (a workspace path has no `.py`).
LAB_NOTEBOOK = "01-using-mlflow-to-track-experiments"
# The same lab on Spark ML, as the course's original: the path for data beyond one machine.
LAB_SPARK_NOTEBOOK = "02-using-mlflow-to-track-experiments-spark-ml"
# The notebook's default experiment, under /Users/<you>/ in a workspace (notebooks/includes/setup.py).
LAB_EXPERIMENT = "dp090-using-mlflow-to-track-experiments"


def notebook_files(notebooks_dir: Path = NOTEBOOKS) -> list[Path]:
    """Every notebook source file under `notebooks_dir`, includes too, in a stable order: what ships."""
    return sorted(path for path in notebooks_dir.rglob("*.py") if "__pycache__" not in path.parts)


def lab_notebooks(notebooks_dir: Path = NOTEBOOKS) -> list[Path]:
    """The notebooks a learner runs, in name order: those directly in `notebooks_dir` (not includes/)."""
    return sorted(notebooks_dir.glob("*.py"))
