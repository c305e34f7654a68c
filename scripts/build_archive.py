#!/usr/bin/env python3
"""Build the archives learners import into a workspace: a `.dbc` and a `.zip` of the source files.

    python scripts/build_archive.py            # writes dist/dp090-mlflow-lab.dbc and dist/dp090-mlflow-lab-source.zip,
                                               # and the Japanese dist/dp090-mlflow-lab-ja.dbc and -ja-source.zip
    python scripts/build_archive.py --lang en --out /tmp/build

Import either with Workspace > Import > File; see docs/deploy.md. What goes in, and why the bytes
are the same on every build: labtools/notebook/archive.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labtools import lab  # noqa: E402 (needs the path above when run as a script)
from labtools.notebook import archive, dbsource  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=lab.PROJECT / "dist", help="output folder (default: dist/)")
    parser.add_argument(
        "--lang",
        choices=[*lab.LANGUAGES, "all"],
        default="all",
        help="en (notebooks/), ja (notebooks/ja/), or all (default): one archive each",
    )
    args = parser.parse_args(argv)
    languages = lab.LANGUAGES if args.lang == "all" else [args.lang]
    try:
        paths = [path for lang in languages for path in archive.build_language(args.out, lang)]
    except (dbsource.NotebookFormatError, OSError) as error:
        print(f"build_archive: {error}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
