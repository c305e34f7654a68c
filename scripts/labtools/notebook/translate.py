"""The translated notebooks: the English notebooks with each unit replaced by its translation in a catalog.

`build` writes nothing: it gives each notebook's text and the problems, each naming the place to fix
(the catalog's line, or the English notebook's line for a unit the catalog lacks). A unit stays in
English, and is reported, when its entry is missing, untranslated or fuzzy (gettext ignores a fuzzy
translation too: it was made for other English), or when its translation would break the notebook:
different Markdown structure, code spans, links or bold names, or no text in the language at all.
`stale_files` compares a build with the committed notebooks: the check of `localize.py build --check`.

Two things a language has of its own, here rather than in the catalog because the English has no
unit for them: the inline code a translation may name instead of the English (`CODE_REPLACEMENTS`:
its own edition of the lab guide), and a note the build puts at the top of each notebook (`NOTES`:
the code cells are the English ones, so what they print and the widgets' labels stay in English).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

import polib

from .. import lab
from . import catalog, dbsource, markdown

# Text a translation into each language must contain: an English sentence copied as its own
# translation fails. Japanese: hiragana, katakana, kanji.
SCRIPTS = {"ja": re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")}
# What needs translating at all: letters outside code spans and link targets.
PROSE = re.compile(r"[A-Za-z]{2,}")
# Inline code a translation may replace with the language's own: {lang: {English: the language's}}.
CODE_REPLACEMENTS = {"ja": {"docs/lab-guide.md": "docs/lab-guide.ja.md"}}
# Said once, under the title of each notebook (its first markdown cell), as a quote.
NOTES = {
    "ja": "**注:** このノートブックのコード セルは英語版と同じです。そのため、セルの出力とウィジェットのラベルは"
    "英語で表示されます。",
}


@dataclass
class Problem:
    """Why a unit or a file is not as it should be, with the place to fix it."""

    where: str  # "locales/ja/notebooks.po:120" or "notebooks/01-....py:42" or a file
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Build:
    """The translated notebooks (`{path under notebooks/: text}`) and what kept a unit in English."""

    files: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


class _Translator:
    """Looks units up in a catalog, recording why one stays in English."""

    def __init__(self, entries: polib.POFile, catalog_file: str, lang: str):
        self.entries = {(entry.msgctxt, entry.msgid): entry for entry in entries if not entry.obsolete}
        self.catalog_file, self.lang = catalog_file, lang
        self.problems: list[Problem] = []

    def __call__(self, unit: catalog.Unit, block: markdown.Block | None) -> str:
        entry = self.entries.get(unit.key)
        if entry is None:
            return self._english(
                f"{unit.file}:{unit.line}", unit, f"not in {self.catalog_file} (run scripts/localize.py extract)"
            )
        where = f"{self.catalog_file}:{entry.linenum}" if entry.linenum else self.catalog_file
        if not entry.msgstr:
            return self._english(where, unit, "untranslated")
        if entry.fuzzy:
            return self._english(where, unit, "fuzzy (its English changed: review the translation, then drop the flag)")
        if faults := translation_problems(unit, block, entry.msgstr, self.lang):
            return self._english(where, unit, f"the translation {'; '.join(faults)}")
        return entry.msgstr

    def _english(self, where: str, unit: catalog.Unit, why: str) -> str:
        """Record why `unit` stays in English, and keep it so."""
        self.problems.append(Problem(where, f"{unit.context} {catalog.quote(unit.text)}: {why}"))
        return unit.text


def translation_problems(unit: catalog.Unit, block: markdown.Block | None, translation: str, lang: str) -> list[str]:
    """What is wrong with `translation` of `unit`: its Markdown, or no text in `lang`'s script."""
    if block is not None:
        found = markdown.problems(block, translation, CODE_REPLACEMENTS.get(lang))
    else:  # a cell title: one line
        found = ["holds a line break; a cell title is one line"] if "\n" in translation else []
    script = SCRIPTS.get(lang)
    prose = PROSE.search(markdown.LINK_TARGET.sub("", markdown.CODE_SPAN.sub("", unit.text)))
    if script and prose and not script.search(translation):
        found.append(f"has no {lang} text (is it still the English?)")
    return found


def translate_notebook(notebook: dbsource.Notebook, name: str, file: str, translate: _Translator) -> dbsource.Notebook:
    """`notebook` (the English file `file`, `name` under notebooks/) with its units translated."""
    cells = []
    note = NOTES.get(translate.lang)
    for cell in notebook.cells:
        title = translate(catalog.title_unit(cell, name, file), None) if cell.title else cell.title
        source = cell.source
        if cell.magic in catalog.MARKDOWN_MAGICS:
            head, text, first_line = catalog.markdown_parts(cell)
            if note and text.blocks:
                text, note = with_note(text, note), None  # the first markdown cell only

            def translated(block: markdown.Block, at: int = first_line) -> str:
                if block.kind == "note":
                    return block.text
                return translate(catalog.block_unit(block, name, file, at), block)

            source = head + text.join(translated)
        cells.append(dbsource.Cell(source=source, title=title, line=cell.line, is_magic_text=cell.is_magic_text))
    return dbsource.Notebook(notebook.path, cells)


def with_note(text: markdown.Markdown, note: str) -> markdown.Markdown:
    """`text` with `note` as a quote after its first block (the title) or, without a title, before it."""
    at = 1 if text.blocks[0].kind.startswith("heading") else 0
    quote = markdown.Block("note", note, "> ", "> ", blank_before=1 if at else text.blocks[0].blank_before)
    rest = text.blocks[at:]
    if rest:  # a blank line after the quote, or the next paragraph would continue it
        rest = [dataclasses.replace(rest[0], blank_before=max(1, rest[0].blank_before)), *rest[1:]]
    return markdown.Markdown([*text.blocks[:at], quote, *rest], text.blank_after)


def build(entries: polib.POFile, lang: str, catalog_file: str, notebooks_dir: Path = lab.NOTEBOOKS) -> Build:
    """The notebooks of `notebooks_dir` in `lang`, as `{path under notebooks_dir: text}`, and the problems.

    `entries` is the catalog, `catalog_file` how to name it in a problem."""
    translate = _Translator(entries, catalog_file, lang)
    result = Build()
    for path in lab.notebook_files(notebooks_dir):
        name = path.relative_to(notebooks_dir).as_posix()
        translated = translate_notebook(dbsource.read(path), name, catalog.relative(path), translate)
        result.files[name] = dbsource.dumps(translated)
    result.problems = translate.problems
    return result


def stale_files(built: Build, out_dir: Path) -> list[Problem]:
    """How the notebooks in `out_dir` differ from `built`: missing, different, or with no English source."""
    problems = []
    for name, text in built.files.items():
        target = out_dir / name
        if not target.is_file():
            problems.append(Problem(catalog.relative(target), "missing (run scripts/localize.py build)"))
        elif target.read_bytes() != text.encode("utf-8"):
            why = "differs from what the English notebooks and the catalog build (run scripts/localize.py build)"
            problems.append(Problem(catalog.relative(target), why))
    for path in lab.notebook_files(out_dir):
        if path.relative_to(out_dir).as_posix() not in built.files:
            why = "has no English notebook (run scripts/localize.py build)"
            problems.append(Problem(catalog.relative(path), why))
    return problems


def write(built: Build, out_dir: Path) -> list[Path]:
    """Write `built` into `out_dir`, removing notebooks there that have no English source any more."""
    written = []
    for path in lab.notebook_files(out_dir) if out_dir.is_dir() else []:
        if path.relative_to(out_dir).as_posix() not in built.files:
            path.unlink()
    for name, text in built.files.items():
        target = out_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_bytes() != text.encode("utf-8"):
            target.write_bytes(text.encode("utf-8"))
            written.append(target)
    return written
