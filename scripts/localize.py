#!/usr/bin/env python3
"""Translate the lab's notebooks: the English into the catalogs, the catalogs into notebooks/<lang>/.

    python scripts/localize.py extract          # English notebooks -> locales/ja/notebooks.po (merged)
    python scripts/localize.py build            # English notebooks + catalog -> notebooks/ja/
    python scripts/localize.py build --check    # is notebooks/ja/ what the build gives, fully translated?

After an English edit: `extract`, translate the units it lists (fuzzy: the English changed since
the translation was made, `#| msgid` shows the old English; untranslated: new), remove each `fuzzy`
flag once its translation is right, then `build`. What a unit is, and why: labtools/notebook/catalog.py and markdown.py.

Exit status: 0 done, 1 the check failed (or units were kept in English), 2 a notebook or a catalog
cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labtools import lab  # noqa: E402 (needs the path above when run as a script)
from labtools.notebook import catalog, dbsource, translate  # noqa: E402


def extract(lang: str, notebooks_dir: Path, catalog_file: Path) -> int:
    units = catalog.units(notebooks_dir)
    merged = catalog.merge(catalog.load_or_new(catalog_file, lang), units)
    catalog.save(merged, catalog_file)
    merged = catalog.load(catalog_file, lang)  # read back: the line numbers below are the file's
    summary = catalog.summarize(merged)
    where = relative(catalog_file)
    print(
        f"{where}: {len(units)} units; {summary.translated} translated, {len(summary.fuzzy)} fuzzy, "
        f"{len(summary.untranslated)} untranslated, {summary.obsolete} obsolete"
    )
    for state, entries in (("fuzzy", summary.fuzzy), ("untranslated", summary.untranslated)):
        for entry in entries:
            print(f"{where}:{entry.linenum}: {state}: {entry.msgctxt} {catalog.quote(entry.msgid)}")
    return 0


def build(lang: str, notebooks_dir: Path, catalog_file: Path, check: bool) -> int:
    if not catalog_file.is_file():
        print(f"localize: {relative(catalog_file)}: no catalog; run scripts/localize.py extract", file=sys.stderr)
        return 2
    built = translate.build(catalog.load(catalog_file, lang), lang, relative(catalog_file), notebooks_dir)
    out_dir = notebooks_dir / lang
    if check:
        problems = built.problems + translate.stale_files(built, out_dir)
        for problem in problems:
            print(problem, file=sys.stderr)
        if not problems:
            print(f"{relative(out_dir)}: {len(built.files)} notebooks, up to date and fully translated")
        return 1 if problems else 0
    for path in translate.write(built, out_dir):
        print(f"wrote {relative(path)}")
    for problem in built.problems:
        print(f"{problem} (kept in English)", file=sys.stderr)
    print(f"{relative(out_dir)}: {len(built.files)} notebooks; {len(built.problems)} units kept in English")
    return 1 if built.problems else 0


def relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(lab.PROJECT).as_posix()
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.rsplit("\n\n", 1)[1])
    parser.add_argument("command", choices=["extract", "build"])
    parser.add_argument(
        "--lang", choices=[*lab.TRANSLATIONS, "all"], default="all", help="the translation to work on (default: all)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="build: write nothing; fail if notebooks/<lang>/ is not what the build gives, or a "
        "unit is untranslated, fuzzy or broken",
    )
    args = parser.parse_args(argv)
    if args.check and args.command != "build":
        parser.error("--check goes with build")

    status = 0
    for lang in lab.TRANSLATIONS if args.lang == "all" else [args.lang]:
        try:
            if args.command == "extract":
                result = extract(lang, lab.NOTEBOOKS, lab.catalog_path(lang))
            else:
                result = build(lang, lab.NOTEBOOKS, lab.catalog_path(lang), args.check)
        except (catalog.CatalogError, dbsource.NotebookFormatError) as error:
            print(f"localize: {error}", file=sys.stderr)
            result = 2
        status = max(status, result)
    return status


if __name__ == "__main__":
    sys.exit(main())
