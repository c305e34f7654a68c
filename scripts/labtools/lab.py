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
# The notebooks are written in English (notebooks/); each translation is built from them and a
# catalog, locales/<lang>/notebooks.po, into notebooks/<lang>/ by scripts/localize.py.
SOURCE_LANGUAGE = "en"
TRANSLATIONS = ("ja",)
LANGUAGES = (SOURCE_LANGUAGE, *TRANSLATIONS)
LOCALES = PROJECT / "locales"

# The workspace folder the lab is deployed to, and the top folder of its archives.
LAB_FOLDER = "dp090-mlflow-lab"
# The lab notebook a learner runs first (a workspace path has no `.py`).
LAB_NOTEBOOK = "01-using-mlflow-to-track-experiments"
# The same lab on Spark ML, as the course's original: the path for data beyond one machine.
LAB_SPARK_NOTEBOOK = "02-using-mlflow-to-track-experiments-spark-ml"
# The notebook's default experiment, under /Users/<you>/ in a workspace (notebooks/includes/setup.py).
# The bundle's prod target owns an experiment of this name too (resources/lab_experiment.yml).
LAB_EXPERIMENT = "dp090-using-mlflow-to-track-experiments"
# The Spark ML notebook's default experiment: the first's name with "-spark-ml" added (the notebook says so).
LAB_SPARK_EXPERIMENT = f"{LAB_EXPERIMENT}-spark-ml"
# Each lab notebook's default experiment: what it logs to when its experiment_name widget is blank.
LAB_EXPERIMENTS = {LAB_NOTEBOOK: LAB_EXPERIMENT, LAB_SPARK_NOTEBOOK: LAB_SPARK_EXPERIMENT}
# What `deploy.py run` adds to each notebook's default experiment, under /Users/<you>/: names of its own, so
# that `deploy.py clean-up --delete-experiment` never deletes what a prod bundle or a learner's own run uses.
DEPLOY_SUFFIX = "-deploy-py"
DEPLOY_EXPERIMENT = f"{LAB_EXPERIMENT}{DEPLOY_SUFFIX}"
DEPLOY_SPARK_EXPERIMENT = f"{LAB_SPARK_EXPERIMENT}{DEPLOY_SUFFIX}"
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


def lab_notebooks(lang: str = SOURCE_LANGUAGE) -> list[Path]:
    """The notebooks a learner runs in `lang`, in name order: those directly in its folder (not includes/)."""
    return sorted(notebooks_dir(lang).glob("*.py"))
