"""The archives learners import into a workspace: a `.dbc` and a `.zip` of the source files.

Both hold the notebooks under one top folder, keeping the layout the lab needs (`%run
./includes/setup` finds includes/setup next to the lab notebook). The build is deterministic: the
same notebooks give the same bytes, so a changed archive always means changed notebooks.

Each language is an archive of its own (`dp090-mlflow-lab.dbc`, `dp090-mlflow-lab-ja.dbc`), its
notebooks at the top of its own folder: a learner imports the one they read, and the English
archive does not carry notebooks/ja/ (lab.notebook_files leaves it out).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from .. import lab
from . import dbc, dbsource


def archive_path(file: Path, notebooks_dir: Path = lab.NOTEBOOKS, top: str = lab.LAB_FOLDER) -> str:
    """`notebooks/includes/setup.py` -> `dp090-mlflow-lab/includes/setup` (a notebook has no extension)."""
    return f"{top}/{file.relative_to(notebooks_dir).with_suffix('').as_posix()}"


def build(out_dir: Path, notebooks_dir: Path = lab.NOTEBOOKS, top: str = lab.LAB_FOLDER) -> tuple[Path, Path]:
    """Write `<top>.dbc` and `<top>-source.zip` into `out_dir`; returns their paths."""
    files = lab.notebook_files(notebooks_dir)
    if not files:
        raise FileNotFoundError(f"{notebooks_dir}: no notebooks (*.py) to archive")
    # Parsing checks every file is a notebook (header line, well-formed magic cells) before writing.
    notebooks = {archive_path(file, notebooks_dir, top): dbsource.read(file) for file in files}
    dbc_path = dbc.write(Path(out_dir) / f"{top}.dbc", notebooks)

    zip_path = Path(out_dir) / f"{top}-source.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.writestr(dbc.zip_entry(f"{top}/{file.relative_to(notebooks_dir).as_posix()}"), file.read_bytes())
    return dbc_path, zip_path


def build_language(out_dir: Path, lang: str) -> tuple[Path, Path]:
    """The archives of the notebooks in `lang`: notebooks/ or notebooks/<lang>/, under lab.lab_folder(lang)."""
    return build(out_dir, lab.notebooks_dir(lang), lab.lab_folder(lang))
