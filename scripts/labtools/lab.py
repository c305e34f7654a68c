"""The lab's names and files, in one place: every script and module that needs them asks here.

The notebooks cannot import this module (a workspace runs them without scripts/), so the names
they use themselves (the default experiment, the data's checksum) are checked against these by
tests/test_layout.py.
"""

from __future__ import annotations

from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
NOTEBOOKS = PROJECT / "notebooks"

# The workspace folder the lab is deployed to, and the top folder of its archives.
LAB_FOLDER = "dp090-mlflow-lab"
# The lab notebook a learner runs first (a workspace path has no `.py`).
LAB_NOTEBOOK = "01-using-mlflow-to-track-experiments"
# The notebook's default experiment, under /Users/<you>/ in a workspace (notebooks/includes/setup.py).
# The bundle's prod target owns an experiment of this name too (resources/lab_experiment.yml).
LAB_EXPERIMENT = "dp090-using-mlflow-to-track-experiments"
# The experiment `deploy.py run` logs to, under /Users/<you>/: a name of its own, so that
# `deploy.py clean-up --delete-experiment` never deletes what a prod bundle or a learner's own run uses.
DEPLOY_EXPERIMENT = f"{LAB_EXPERIMENT}-deploy-py"
# The LTS ML runtimes the lab supports (one runtime profile each in profiles/), oldest first.
LTS_ML_RUNTIMES = ("15.4", "16.4", "17.3", "18")


def notebook_files(notebooks_dir: Path = NOTEBOOKS) -> list[Path]:
    """Every notebook source file under `notebooks_dir`, includes too, in a stable order: what ships."""
    return sorted(path for path in notebooks_dir.rglob("*.py") if "__pycache__" not in path.parts)


def lab_notebooks(notebooks_dir: Path = NOTEBOOKS) -> list[Path]:
    """The notebooks a learner runs, in name order: those directly in `notebooks_dir` (not includes/)."""
    return sorted(notebooks_dir.glob("*.py"))
