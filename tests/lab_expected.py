"""What the deploy, matrix, class and archive tests expect of the lab notebooks, derived from lab.LAB_NOTEBOOKS.

A notebook declared there is expected everywhere these tests compare what was imported, submitted, archived or
printed, so a new notebook needs no line in them (ARCHITECTURE.md, "Where to add > A notebook"). The includes
are listed by name rather than found on disk, so that an include added or lost still fails those comparisons.
"""

from __future__ import annotations

from labtools import lab
from labtools.notebook import widgets
from labtools.workspace import models

NOTEBOOKS = lab.LAB_NOTEBOOKS
# notebooks/includes/ (and notebooks/<lang>/includes/), by name: what every lab folder holds beside the notebooks.
INCLUDES = ("job_summary", "registry_setup", "setup", "spark_setup")
# One notebook of each engine, the first declared, for what differs between them (workers, the volume, a failure
# of one notebook only).
SKLEARN = next(notebook for notebook in NOTEBOOKS if not notebook.uses_spark)
SPARK = next(notebook for notebook in NOTEBOOKS if notebook.uses_spark)
# The notebooks that register a model (they declare its name as a widget: the Managing Models ones).
REGISTRY = tuple(notebook for notebook in NOTEBOOKS if "model_name" in widgets.widgets_of_file(notebook.path()))


def lab_files() -> list[str]:
    """Every notebook of a lab folder, relative and without `.py`, in the order deploy and the archive write them
    (their paths sorted): the lab notebooks' stems, then includes/."""
    return sorted(notebook.stem for notebook in NOTEBOOKS) + [f"includes/{name}" for name in INCLUDES]


def number(notebook: lab.LabNotebook) -> str:
    """The notebook's number, as the matrix's table shows it: `01` of `01-using-mlflow-...`."""
    return notebook.stem.split("-", 1)[0]


def others(notebook: lab.LabNotebook) -> list[lab.LabNotebook]:
    """Every lab notebook but `notebook`, in LAB_NOTEBOOKS' order."""
    return [other for other in NOTEBOOKS if other != notebook]


def named_after(given: str, notebook: lab.LabNotebook) -> str:
    """`deploy.py run --experiment-name GIVEN`'s experiment for `notebook` (its help says so): GIVEN for the first
    notebook, GIVEN plus what the notebook's default experiment adds to the first's (`GIVEN-spark-ml`), or
    GIVEN-<its default> for a default not named after the first's."""
    first = NOTEBOOKS[0].experiment
    default = notebook.experiment
    return given + (default.removeprefix(first) if default.startswith(first) else f"-{default}")


def model_name(
    user: str,
    notebook: lab.LabNotebook,
    runtime: str | None = None,
    lang: str | None = None,
    catalog: str = "workspace",
    schema: str = models.DEFAULT_SCHEMA,
) -> str:
    """The model a deployed `notebook` registers for `user` (models.lab_model_name, the names' one owner; its own
    test pins the spelling): the notebook's default, a translation's (`lang`) or a matrix task's (`runtime`)."""
    return models.lab_model_name(user, catalog, schema, notebook.uses_spark, runtime=runtime, lang=lang)
