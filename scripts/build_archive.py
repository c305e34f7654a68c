#!/usr/bin/env python3
"""Build the archives learners import into a workspace: a `.dbc` and a `.zip` of the source files.

    python scripts/build_archive.py            # writes dist/dp090-mlflow-lab.dbc and dist/dp090-mlflow-lab-source.zip
    python scripts/build_archive.py --out /tmp/build

Both hold the notebooks of notebooks/ under one top folder, keeping the layout the lab needs
(`%run ./includes/setup` finds includes/setup next to the lab notebook). Import either with
Workspace > Import > File; see docs/deploy.md. The build is deterministic: the same notebooks give
the same bytes, so a changed archive always means changed notebooks.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labrunner import dbc, dbsource  # noqa: E402 (needs the path above when run as a script)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TOP_FOLDER = "dp090-mlflow-lab"  # the folder learners see after importing; deploy.py uses the same name


def notebook_files(notebooks_dir: Path = NOTEBOOKS) -> list[Path]:
    """Every notebook source file under `notebooks_dir`, in a stable order."""
    return sorted(path for path in notebooks_dir.rglob("*.py") if "__pycache__" not in path.parts)


def archive_path(file: Path, notebooks_dir: Path = NOTEBOOKS, top: str = TOP_FOLDER) -> str:
    """`notebooks/includes/setup.py` -> `dp090-mlflow-lab/includes/setup` (a notebook has no extension)."""
    return f"{top}/{file.relative_to(notebooks_dir).with_suffix('').as_posix()}"


def build(out_dir: Path, notebooks_dir: Path = NOTEBOOKS, top: str = TOP_FOLDER) -> tuple[Path, Path]:
    """Write `<top>.dbc` and `<top>-source.zip` into `out_dir`; returns their paths."""
    files = notebook_files(notebooks_dir)
    if not files:
        raise FileNotFoundError(f"{notebooks_dir}: no notebooks (*.py) to archive")
    # Parsing checks every file is a notebook (header line, well-formed magic cells) before writing.
    notebooks = {archive_path(file, notebooks_dir, top): dbsource.read(file) for file in files}
    dbc_path = dbc.write(Path(out_dir) / f"{top}.dbc", notebooks)

    zip_path = Path(out_dir) / f"{top}-source.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            info = zipfile.ZipInfo(f"{top}/{file.relative_to(notebooks_dir).as_posix()}", date_time=dbc.ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, file.read_bytes())
    return dbc_path, zip_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    args = parser.parse_args(argv)
    try:
        paths = build(args.out)
    except (dbsource.NotebookFormatError, FileNotFoundError) as error:
        print(f"build_archive: {error}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
