"""The archives learners import into a workspace: a `.dbc` and a `.zip` of the source files.

Both hold the notebooks under one top folder, keeping the layout the lab needs (`%run
./includes/setup` finds includes/setup next to the lab notebook). The build is deterministic: the
same notebooks give the same bytes, so a changed archive always means changed notebooks.
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
