"""The translation catalogs: the notebooks' text as gettext PO files, and the notebooks built from them.

A language's catalog, `locales/<lang>/notebooks.po`, holds every translatable unit of every English
notebook: each block of a markdown cell (a heading, a paragraph, a list item: see markdown.py for
why blocks, not cells) and each cell title (`# DBTITLE`). PO is what translators' tools (Poedit,
Weblate, Lokalize) read; `polib` reads and writes it.

Code cells are not units: a translated notebook's code cells are the English ones byte for byte,
so that both run the same and log the same runs. That includes a widget's label, the third
argument of `dbutils.widgets.text(...)`: it is code, and the markdown cell above it explains the
parameters in the learner's language.

An entry's `msgctxt` is `<notebook>|<kind>` (`01-using-mlflow-to-track-experiments.py|markdown`,
`includes/setup.py|title`): the same English in two notebooks is two entries, translated on their
own. A unit's place is its reference (`#: notebooks/01-....py:42`), not part of the key: inserting
a cell changes references, never which translation a unit has.

`extract` merges the English into a catalog, as gettext's msgmerge does: an unchanged unit keeps
its translation; a changed one keeps the translation of the unit it most resembles, marked fuzzy
(out of date) with that unit's English as `#| msgid`, for a translator to compare; a new one is
untranslated (or fuzzy with the translation of the same English in another notebook); a removed
one becomes obsolete (`#~`), kept in case it comes back. translate.py builds the notebooks.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polib

from .. import lab
from . import dbsource, markdown

MARKDOWN_MAGICS = ("md", "md-sandbox")
# How alike a changed unit must be to a removed one to inherit its translation (msgmerge's threshold).
FUZZY_CUTOFF = 0.6
METADATA = {
    "Project-Id-Version": f"{lab.LAB_FOLDER} notebooks",
    "MIME-Version": "1.0",
    "Content-Type": "text/plain; charset=UTF-8",
    "Content-Transfer-Encoding": "8bit",
}
PLURAL_FORMS = {"ja": "nplurals=1; plural=0;"}
# Who translates (gettext's `msgfmt -c` warns without these): the project's translators of each language,
# through its repository; a translator's tool (Poedit) updates PO-Revision-Date as they work.
TRANSLATORS = "dp090-mlflow-lab translators (pull requests to this repository)"


class CatalogError(ValueError):
    """A catalog that cannot be read, or an entry that cannot be used: one line, naming the file and line."""


@dataclass(frozen=True)
class Unit:
    """One piece of English a translator translates, and where it is."""

    context: str  # msgctxt: "<notebook under notebooks/>|markdown" or "|title"
    text: str  # msgid
    kind: str  # for the translator: "heading 2", "paragraph", "list item", "cell title", ...
    file: str  # the English notebook, relative to the project: notebooks/01-....py
    line: int

    @property
    def key(self) -> tuple[str, str]:
        return self.context, self.text


def relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(lab.PROJECT).as_posix()
    except ValueError:
        return str(path)


def _context(notebook: str, kind: str) -> str:
    return f"{notebook}|{kind}"


def markdown_parts(cell: dbsource.Cell) -> tuple[str, markdown.Markdown, int]:
    """A markdown cell's magic (`%md` and its line break, kept as it is), its Markdown, and the file line
    the Markdown starts on."""
    body = cell.body
    head = cell.source[: len(cell.source) - len(body)] if body and cell.source.endswith(body) else cell.source
    return head, markdown.split(cell.source[len(head) :]), cell.source_line + head.count("\n")


def title_unit(cell: dbsource.Cell, notebook: str, file: str) -> Unit:
    return Unit(_context(notebook, "title"), cell.title or "", "cell title", file, cell.line)


def block_unit(block: markdown.Block, notebook: str, file: str, first_line: int) -> Unit:
    return Unit(_context(notebook, "markdown"), block.text, block.kind, file, first_line + block.line)


def _cell_units(cell: dbsource.Cell, notebook: str, file: str) -> list[Unit]:
    found = [title_unit(cell, notebook, file)] if cell.title else []
    if cell.magic in MARKDOWN_MAGICS:
        _, text, first_line = markdown_parts(cell)
        found += [block_unit(block, notebook, file, first_line) for block in text.blocks if block.translatable]
    return found


def units(notebooks_dir: Path = lab.NOTEBOOKS) -> list[Unit]:
    """Every translatable unit of the English notebooks, notebook by notebook, in reading order."""
    found = []
    for path in lab.notebook_files(notebooks_dir):
        notebook, file = path.relative_to(notebooks_dir).as_posix(), relative(path)
        for cell in dbsource.read(path).cells:
            found += _cell_units(cell, notebook, file)
    return found


# Reading and writing a catalog.


def new_catalog(lang: str) -> polib.POFile:
    catalog = polib.POFile()
    catalog.header = (
        f"The lab's notebooks in {lang}: one entry per heading, paragraph, list item and cell title.\n"
        f"Update with `python scripts/localize.py extract`, build notebooks/{lang}/ with "
        "`python scripts/localize.py build`;\nARCHITECTURE.md says how."
    )
    plural_forms = PLURAL_FORMS.get(lang, "nplurals=2; plural=(n != 1);")
    team = {
        "Last-Translator": TRANSLATORS,
        "Language-Team": f"dp090-mlflow-lab {lang} translators",
        "PO-Revision-Date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M%z"),
    }
    catalog.metadata = {**METADATA, **team, "Language": lang, "Plural-Forms": plural_forms}
    return catalog


def load(path: Path, lang: str) -> polib.POFile:
    """The catalog at `path`; a `CatalogError` naming the line if it is not a valid PO file for `lang`."""
    where = relative(path)
    try:
        catalog = polib.pofile(str(path), check_for_duplicates=True, encoding="utf-8")
    except OSError as error:
        # polib: "Syntax error in po file <path> (line N): <what>" or "... (line N)".
        if match := re.search(r"\(line (\d+)\)(?::\s*(.*))?", str(error)):
            what = f": {match.group(2)}" if match.group(2) else ""
            raise CatalogError(f"{where}:{match.group(1)}: PO syntax error{what}") from None
        raise CatalogError(f"{where}: cannot read the catalog ({error})") from None
    except ValueError as error:  # a duplicate entry
        raise CatalogError(f"{where}: {error}") from None
    except UnicodeDecodeError as error:
        raise CatalogError(f"{where}: not UTF-8 text ({error.reason}); save the catalog as UTF-8") from None
    language = catalog.metadata.get("Language")
    if language != lang:
        raise CatalogError(f"{where}:1: the header says Language: {language or '(none)'}, not {lang}")
    return catalog


def load_or_new(path: Path, lang: str) -> polib.POFile:
    return load(path, lang) if path.is_file() else new_catalog(lang)


def save(catalog: polib.POFile, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    catalog.save(str(path))


# extract: the English into the catalog.


def _similarity(a: str, b: str) -> float:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.ratio() if matcher.quick_ratio() >= FUZZY_CUTOFF else 0.0


def _translated_from(entry: polib.POEntry) -> tuple[str | None, str]:
    """The English `entry`'s translation was made for: its previous msgid if it is fuzzy, else its msgid."""
    if entry.fuzzy and entry.previous_msgid:
        return entry.previous_msgctxt or entry.msgctxt, entry.previous_msgid
    return entry.msgctxt, entry.msgid


def merge(catalog: polib.POFile, found: list[Unit]) -> polib.POFile:
    """A new catalog holding `found` (the English units now), with what `catalog` already translated."""
    merged = polib.POFile()
    merged.header, merged.metadata = catalog.header, dict(catalog.metadata)
    old = {(entry.msgctxt, entry.msgid): entry for entry in catalog}  # obsolete ones too: a unit may come back
    grouped: dict[tuple[str, str], list[Unit]] = {}
    for unit in found:
        grouped.setdefault(unit.key, []).append(unit)

    entries, pending = {}, []
    for key, occurrences in grouped.items():
        entry = _entry(occurrences)
        if (previous := old.get(key)) and previous.msgstr:
            entry.msgstr, entry.tcomment = previous.msgstr, previous.tcomment
            if previous.fuzzy:
                entry.flags.append("fuzzy")
                entry.previous_msgctxt, entry.previous_msgid = previous.previous_msgctxt, previous.previous_msgid
        else:
            pending.append(key)
        entries[key] = entry

    # A unit that is new or changed: the translation of the removed unit it resembles most, if any.
    removed = [entry for key, entry in old.items() if key not in grouped and entry.msgstr]
    inherited = set()
    for key in pending:
        context, text = key
        candidates = [(_similarity(text, entry.msgid), entry) for entry in removed if entry.msgctxt == context]
        score, source = max(candidates, key=lambda pair: pair[0], default=(0.0, None))
        if score < FUZZY_CUTOFF:
            # The same English elsewhere (another notebook, a cell title): a start, to be reviewed.
            source = next(
                (entry for entry in catalog if entry.msgid == text and entry.msgstr and not entry.obsolete), None
            )
        if source is not None:
            entry = entries[key]
            entry.msgstr, entry.tcomment = source.msgstr, source.tcomment
            entry.flags.append("fuzzy")
            previous_context, entry.previous_msgid = _translated_from(source)
            if previous_context != context:
                entry.previous_msgctxt = previous_context
            if source.msgctxt == context:
                inherited.add((source.msgctxt, source.msgid))

    merged.extend(entries.values())
    for entry in removed:
        if (entry.msgctxt, entry.msgid) not in inherited:
            entry.obsolete, entry.occurrences = True, []
            merged.append(entry)
    return merged


def _entry(occurrences: list[Unit]) -> polib.POEntry:
    first = occurrences[0]
    kinds = list(dict.fromkeys(unit.kind for unit in occurrences))
    return polib.POEntry(
        msgctxt=first.context,
        msgid=first.text,
        msgstr="",
        comment=", ".join(kinds),
        occurrences=[(unit.file, str(unit.line)) for unit in occurrences],
    )


@dataclass
class Summary:
    translated: int = 0
    fuzzy: list[polib.POEntry] = field(default_factory=list)
    untranslated: list[polib.POEntry] = field(default_factory=list)
    obsolete: int = 0


def summarize(catalog: polib.POFile) -> Summary:
    summary = Summary()
    for entry in catalog:
        if entry.obsolete:
            summary.obsolete += 1
        elif entry.fuzzy:
            summary.fuzzy.append(entry)
        elif entry.msgstr:
            summary.translated += 1
        else:
            summary.untranslated.append(entry)
    return summary


def quote(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= width else text[: width - 3] + "...")
