"""The lab's names and files, in one place: every script and module that needs them asks here.

Above all the list of lab notebooks, LAB_NOTEBOOKS: one declaration per notebook (its file, its default
experiment, its engine), which the runner, deploy.py, the archive's checks, the bundle's tests and the
notebook-length test read. A file in notebooks/ that it does not declare is an error (lab_notebook_files).

The notebooks cannot import this module (a workspace runs them without scripts/), so the names
they use themselves (the default experiment, the data's checksum) are checked against these by
tests/test_layout.py; the bundle's tasks and experiments by tests/test_bundle.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
NOTEBOOKS = PROJECT / "notebooks"
# The lab's data, kept in the repository so that it travels with the notebooks (data/README.md).
LAB_DATA = PROJECT / "data" / "nyc-taxi.csv"
# The notebooks are written in English (notebooks/); each translation is built from them and a
# catalog, locales/<lang>/notebooks.po, into notebooks/<lang>/ by scripts/localize.py.
SOURCE_LANGUAGE = "en"
TRANSLATIONS = ("ja",)
LANGUAGES = (SOURCE_LANGUAGE, *TRANSLATIONS)
LOCALES = PROJECT / "locales"

# The workspace folder the lab is deployed to, and the top folder of its archives.
LAB_FOLDER = "dp090-mlflow-lab"
# What a lab notebook runs on: "sklearn" (pandas and scikit-learn on the driver) or "spark" (Spark ML; needs Java
# and pyspark here, and workers make it faster in a workspace).
ENGINES = ("sklearn", "spark")
# What each engine needs on the machine that runs it locally, beyond the lab's requirements.txt.
NEEDS = {"sklearn": frozenset(), "spark": frozenset({"java", "pyspark"})}


@dataclass(frozen=True)
class LabNotebook:
    """One lab notebook, declared once: everything else (runner, deploy, bundle tests, checks) reads this.

    `stem` is its file name without `.py`, in notebooks/ and in each translation's notebooks/<lang>/ (a workspace
    path has no `.py`); `experiment` what it logs to when its experiment_name widget is blank, under
    /Users/<you>/ in a workspace; `engine` one of ENGINES.
    """

    stem: str
    experiment: str
    engine: str

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise ValueError(f"scripts/labtools/lab.py: {self.stem}: engine {self.engine!r}; one of {ENGINES}")

    @property
    def uses_spark(self) -> bool:
        """Whether Spark does its work (declared, not guessed from the code): `--num-workers` makes it faster."""
        return self.engine == "spark"

    @property
    def needs(self) -> frozenset[str]:
        """What a local run needs beyond requirements.txt: {"java", "pyspark"} for a Spark notebook."""
        return NEEDS[self.engine]

    @property
    def task_key(self) -> str:
        """Its task's key in a job (the bundle's, `deploy.py run`'s): the stem without its number, in `_` words:
        `01-using-mlflow-to-track-experiments` -> `using_mlflow_to_track_experiments`."""
        return re.sub(r"\W+", "_", self.stem.split("-", 1)[-1]).strip("_")

    @property
    def deploy_experiment(self) -> str:
        """`deploy.py run`'s experiment for it, under /Users/<you>/ (DEPLOY_SUFFIX says why a name of its own)."""
        return f"{self.experiment}{DEPLOY_SUFFIX}"

    def path(self, lang: str = SOURCE_LANGUAGE) -> Path:
        """Its file in `lang`: notebooks/<stem>.py, notebooks/<lang>/<stem>.py."""
        return notebooks_dir(lang) / f"{self.stem}.py"


# THE list of lab notebooks, in the order a learner runs them (the runner's order, and deploy.py's tasks').
# Adding one is a line here plus the files tests/test_adding_a_notebook.py names (ARCHITECTURE.md, "Where to
# add"); a second lab's notebooks (Managing Models) are a line each too.
LAB_NOTEBOOKS = (
    LabNotebook("01-using-mlflow-to-track-experiments", "dp090-using-mlflow-to-track-experiments", "sklearn"),
    LabNotebook(
        "02-using-mlflow-to-track-experiments-spark-ml", "dp090-using-mlflow-to-track-experiments-spark-ml", "spark"
    ),
    LabNotebook("03-managing-models", "dp090-managing-models", "sklearn"),
    LabNotebook("04-managing-models-spark-ml", "dp090-managing-models-spark-ml", "spark"),
)
# What `deploy.py run` adds to each notebook's default experiment, under /Users/<you>/: names of its own, so
# that `deploy.py clean-up --delete-experiment` never deletes what a prod bundle or a learner's own run uses.
DEPLOY_SUFFIX = "-deploy-py"
# The notebook a learner runs first, and its experiment: `deploy.py run --experiment-name NAME` names the others'
# after NAME by what their default adds to this one's (`-spark-ml`); notebooks/includes/setup.py has the same name.
LAB_NOTEBOOK = LAB_NOTEBOOKS[0].stem
LAB_EXPERIMENT = LAB_NOTEBOOKS[0].experiment
# The lab on Spark ML, as the course's original (the benchmark and the end-to-end tests measure it).
LAB_SPARK_NOTEBOOK = next(notebook.stem for notebook in LAB_NOTEBOOKS if notebook.uses_spark)
# The LTS ML runtimes the lab supports (a file each in runtimes/, for run_lab.py --runtime), oldest first.
LTS_ML_RUNTIMES = ("15.4", "16.4", "17.3", "18")


def notebooks_dir(lang: str = SOURCE_LANGUAGE) -> Path:
    """Where the notebooks in `lang` are: notebooks/ for English, notebooks/<lang>/ for a translation."""
    if lang not in LANGUAGES:
        raise ValueError(f"no notebooks in {lang!r}; the languages are {', '.join(LANGUAGES)}")
    return NOTEBOOKS if lang == SOURCE_LANGUAGE else NOTEBOOKS / lang


def languages(choice: str | None) -> tuple[str, ...]:
    """The languages a `--lang` option names: one of LANGUAGES, or "all"; None is English."""
    if choice == "all":
        return LANGUAGES
    notebooks_dir(choice or SOURCE_LANGUAGE)  # an unknown language is refused here
    return (choice or SOURCE_LANGUAGE,)


def lab_folder(lang: str = SOURCE_LANGUAGE) -> str:
    """The top folder of the archive in `lang`: dp090-mlflow-lab, dp090-mlflow-lab-ja."""
    return LAB_FOLDER if lang == SOURCE_LANGUAGE else f"{LAB_FOLDER}-{lang}"


def catalog_path(lang: str) -> Path:
    """The translation catalog of `lang` (gettext PO): every translatable unit of every notebook."""
    return LOCALES / lang / "notebooks.po"


def notebook_files(notebooks_dir: Path = NOTEBOOKS) -> list[Path]:
    """Every notebook source file under `notebooks_dir`, includes too, in a stable order: what ships.

    The translations' folders (notebooks/ja/) are not part of the English notebooks: each language
    ships on its own (its own archive, its own deploy), so they are left out here.
    """
    return sorted(
        path
        for path in notebooks_dir.rglob("*.py")
        if "__pycache__" not in path.parts and path.relative_to(notebooks_dir).parts[0] not in TRANSLATIONS
    )


class NotebookListError(ValueError):
    """A notebook file and the list above disagree; its message is one line naming the file and this module."""


def lab_notebook(stem: str) -> LabNotebook:
    """The declared lab notebook whose file is `<stem>.py`; an undeclared one is a NotebookListError."""
    for notebook in LAB_NOTEBOOKS:
        if notebook.stem == stem:
            return notebook
    raise NotebookListError(f"{stem}.py: not a lab notebook; declare it in LAB_NOTEBOOKS of scripts/labtools/lab.py")


def default_experiments() -> dict[str, str]:
    """Each lab notebook's default experiment, by stem (read from LAB_NOTEBOOKS at each call, never copied)."""
    return {notebook.stem: notebook.experiment for notebook in LAB_NOTEBOOKS}


def lab_notebook_files(lang: str = SOURCE_LANGUAGE) -> list[Path]:
    """The files of the lab notebooks in `lang`, in LAB_NOTEBOOKS' order, after checking that its folder holds
    exactly those: a file there that LAB_NOTEBOOKS does not declare, or a declared one that is missing, is a
    NotebookListError (includes/ and the translations' folders are not looked at)."""
    folder = notebooks_dir(lang)
    declared = {notebook.stem for notebook in LAB_NOTEBOOKS}
    for path in sorted(folder.glob("*.py")):
        if path.stem not in declared:
            raise NotebookListError(
                f"{path.relative_to(PROJECT) if path.is_relative_to(PROJECT) else path}: "
                "not a declared lab notebook; declare it in LAB_NOTEBOOKS of "
                "scripts/labtools/lab.py, or move it to includes/"
            )
    for notebook in LAB_NOTEBOOKS:
        path = notebook.path(lang)
        if not path.is_file():
            where = path.relative_to(PROJECT) if path.is_relative_to(PROJECT) else path
            built = " (python scripts/localize.py build)" if lang != SOURCE_LANGUAGE else ""
            raise NotebookListError(
                f"{where}: no such file, yet scripts/labtools/lab.py's LAB_NOTEBOOKS declares {notebook.stem}{built}"
            )
    return [notebook.path(lang) for notebook in LAB_NOTEBOOKS]
