"""The notebooks in Japanese: built from the English ones and locales/ja/notebooks.po, never edited by hand.

First the check of what is committed: notebooks/ja/ is what the build gives now, every unit is translated
and reviewed, the code cells are the English ones, every translation is Japanese and keeps its Markdown.
These checks use their own small parsers, not the catalog module's, so a fault there does not hide here.
Then how the tools behave: an English edit fails the check until the catalog follows (shown on a copy of
the project), and `extract` merges as gettext's msgmerge does (fuzzy, untranslated, obsolete).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from conftest import write_notebook

from labtools import lab
from labtools.notebook import catalog, dbsource, markdown, translate

PROJECT = Path(__file__).resolve().parent.parent
LANG = "ja"
CATALOG = lab.catalog_path(LANG)
JA = lab.notebooks_dir(LANG)
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")  # hiragana, katakana, kanji
ENGLISH_FILES = lab.notebook_files()


def relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


def markdown_cells(notebook: dbsource.Notebook) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.magic == "md"]


# The committed Japanese notebooks.


def test_every_english_notebook_has_a_japanese_one_and_no_other():
    assert ENGLISH_FILES, "no English notebooks found"
    assert {relative(p, lab.NOTEBOOKS) for p in ENGLISH_FILES} == {relative(p, JA) for p in lab.notebook_files(JA)}
    assert (JA / "includes" / "setup.py").is_file()  # what `%run ./includes/setup` needs beside the lab notebook


def test_committed_japanese_notebooks_are_what_the_build_gives():
    built = translate.build(catalog.load(CATALOG, LANG), LANG, "locales/ja/notebooks.po")
    stale = translate.stale_files(built, JA)
    assert not stale, "\n".join(map(str, stale)) + "\nrun: python scripts/localize.py build"


def test_no_unit_is_untranslated_fuzzy_or_broken():
    built = translate.build(catalog.load(CATALOG, LANG), LANG, "locales/ja/notebooks.po")
    assert not built.problems, "\n".join(map(str, built.problems))


def test_every_english_unit_has_a_reviewed_entry():
    entries = {(e.msgctxt, e.msgid): e for e in polib.pofile(str(CATALOG)) if not e.obsolete}
    units = catalog.units()
    assert len(units) > 50  # headings, paragraphs, list items and titles of the lab and its setup
    for unit in units:
        entry = entries.get(unit.key)
        assert entry is not None, f"{unit.file}:{unit.line}: not in {CATALOG.name}: {unit.text[:60]!r}"
        assert entry.msgstr and not entry.fuzzy, f"{CATALOG.name}:{entry.linenum}: untranslated or fuzzy"


@pytest.mark.parametrize("english", ENGLISH_FILES, ids=lambda p: relative(p, lab.NOTEBOOKS))
def test_code_cells_are_the_english_ones_byte_for_byte(english: Path):
    japanese = JA / english.relative_to(lab.NOTEBOOKS)
    en, ja = dbsource.read(english).cells, dbsource.read(japanese).cells
    assert len(en) == len(ja)
    for number, (en_cell, ja_cell) in enumerate(zip(en, ja, strict=True), start=1):
        assert en_cell.magic == ja_cell.magic, f"cell {number}"
        assert (en_cell.title is None) == (ja_cell.title is None), f"cell {number}: title"
        if en_cell.magic != "md":
            assert ja_cell.source == en_cell.source, f"{japanese}:{ja_cell.line}: code cell {number} differs"


def test_every_translation_is_japanese():
    entries = [e for e in polib.pofile(str(CATALOG)) if not e.obsolete]
    assert entries
    for entry in entries:
        assert JAPANESE.search(entry.msgstr), f"{CATALOG.name}:{entry.linenum}: no Japanese in {entry.msgstr!r}"
        assert entry.msgstr != entry.msgid


def test_every_cell_title_is_japanese():
    for english in ENGLISH_FILES:
        for cell in dbsource.read(JA / english.relative_to(lab.NOTEBOOKS)).cells:
            if cell.title is not None:
                assert JAPANESE.search(cell.title), f"{english.name}:{cell.line}: title {cell.title!r}"


# The Markdown of each cell, compared line by line with the English cell (independently of markdown.py).
HEADING = re.compile(r"^(#{1,6}) ", re.MULTILINE)
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.) ", re.MULTILINE)
CODE_SPAN = re.compile(r"`[^`\n]+`")
LINK = re.compile(r"\]\(([^)\s]+)\)")
# A bold name may wrap onto the next line of the English source (`**fitted on the training data\nonly**`
# in the Spark ML notebook); its translation is one line.
BOLD = re.compile(r"\*\*[^*]+\*\*")


# What the build adds for the language: its note at the top, and code spans it may name instead of the English.
NOTE = translate.NOTES[LANG]
ORIGINAL_CODE = {f"`{own}`": f"`{english}`" for english, own in translate.CODE_REPLACEMENTS[LANG].items()}


def shape(text: str) -> dict:
    return {
        "heading levels": [len(level) for level in HEADING.findall(text)],
        "list items": len(LIST_ITEM.findall(text)),
        "code spans": {ORIGINAL_CODE.get(span, span) for span in CODE_SPAN.findall(text)},
        "link targets": sorted(LINK.findall(text)),
        "bold names": len(BOLD.findall(text)),
    }


@pytest.mark.parametrize("english", ENGLISH_FILES, ids=lambda p: relative(p, lab.NOTEBOOKS))
def test_translations_keep_the_markdown_structure(english: Path):
    en = markdown_cells(dbsource.read(english))
    ja = markdown_cells(dbsource.read(JA / english.relative_to(lab.NOTEBOOKS)))
    assert len(en) == len(ja) and en
    for number, (en_text, ja_text) in enumerate(zip(en, ja, strict=True), start=1):
        ja_text = ja_text.replace(f"> {NOTE}", "") if number == 1 else ja_text
        assert shape(ja_text) == shape(en_text), f"{english.name}, markdown cell {number}:\n{ja_text}"
        assert JAPANESE.search(ja_text), f"{english.name}, markdown cell {number} has no Japanese"


def test_bold_ui_names_render_in_japanese_text():
    """`で**[実験]**アイコン` shows its asterisks (CommonMark needs a space beside `**[`...`]**`)."""
    for path in lab.notebook_files(JA):
        for text in markdown_cells(dbsource.read(path)):
            assert not re.search(r"[^\s(（「、。:：]\*\*\[|\]\*\*[^\s)）」、。:：]", text), f"{path.name}: {text}"


def test_ui_names_follow_the_japanese_lab_page():
    """The words of docs/lab-guide.ja.md and the ja-JP lab page, not another translation's, in each lab notebook."""
    notebooks = lab.lab_notebook_files(LANG)
    assert notebooks
    # The words every lab notebook uses, and those it uses where its English names the thing (the Managing Models
    # notebooks log no artifact by hand and send the learner to no Compute page).
    every = ("実験", "実行", "メトリック", "パラメーター")
    where_named = {"成果物": "artifact", "**[実験]**": "**Experiments**", "**[コンピューティング]**": "**Compute**"}
    for path in notebooks:
        text = "\n".join(markdown_cells(dbsource.read(path)))
        english = "\n".join(markdown_cells(dbsource.read(lab.lab_notebook(path.stem).path())))
        needed = [*every, *(word for word, named in where_named.items() if named in english)]
        for word in needed:
            assert word in text, f"{path.name}: {word}"
    text = "\n".join("\n".join(markdown_cells(dbsource.read(path))) for path in lab.notebook_files(JA))
    for other in ("エクスペリメント", "アーティファクト", "メトリクス", "パラメータ ", "コンピュート"):
        assert other not in text, other


# Terms the translation review settled (issue 21): one Japanese word per English one, in the notebooks
# and in the guide. Each entry: a rendering that must not come back, and why.
SETTLED = {
    "テスト乗車": "'test trips' reads as a trial ride: write テスト セットの乗車",
    "学習": "'fit' is 当てはめ(る) and 'train' トレーニング(する); 学習 stood for both",
    "授業": "'class' is クラス",
    "常に必要になるその派生": "OWL-QN: 'always' belongs to the L1 penalty needing the iterative solver",
}


def japanese_texts() -> dict[str, str]:
    """The Japanese learners read: each notebook's markdown and cell titles, and the guide."""
    texts = {}
    for path in lab.notebook_files(JA):
        cells = dbsource.read(path).cells
        texts[relative(path, PROJECT)] = "\n".join(
            markdown_cells(dbsource.read(path)) + [cell.title for cell in cells if cell.title]
        )
    guide = PROJECT / "docs" / "lab-guide.ja.md"
    texts[relative(guide, PROJECT)] = guide.read_text(encoding="utf-8")
    return texts


def test_the_settled_terms_are_used_throughout():
    found = [
        f"{name}: {word!r} ({why})"
        for name, text in japanese_texts().items()
        for word, why in SETTLED.items()
        if word in text
    ]
    assert not found, "\n".join(found)


def test_the_japanese_notebooks_point_to_the_japanese_guide():
    for path in lab.notebook_files(JA):
        text = "\n".join(markdown_cells(dbsource.read(path)))
        assert "`docs/lab-guide.md`" not in text, f"{path.name}: points to the English guide"
    for path in lab.lab_notebook_files(LANG):
        assert "`docs/lab-guide.ja.md`" in "\n".join(markdown_cells(dbsource.read(path))), path.name


def test_each_japanese_notebook_says_at_the_top_that_outputs_and_widget_labels_are_english():
    for path in lab.notebook_files(JA):
        cells = markdown_cells(dbsource.read(path))
        assert cells, path.name
        note = translate.NOTES[LANG]
        assert "出力" in note and "ウィジェット" in note and "英語" in note
        assert note in cells[0], f"{path.name}: its first markdown cell lacks the note"
        assert sum(cell.count(note) for cell in cells) == 1, f"{path.name}: the note more than once"


# The header fields `msgfmt -c` wants, and the template values it refuses (gettext's msgfmt.c, check_header_entry).
HEADER_FIELDS = {
    "Project-Id-Version": "PACKAGE VERSION",
    "PO-Revision-Date": "YEAR-MO-DA HO:MI+ZONE",
    "Last-Translator": "FULL NAME <EMAIL@ADDRESS>",
    "Language-Team": "LANGUAGE <LL@li.org>",
    "MIME-Version": None,
    "Content-Type": "text/plain; charset=CHARSET",
    "Content-Transfer-Encoding": "ENCODING",
    "Language": "",
}


def header_problems(po: polib.POFile) -> list[str]:
    problems = []
    for name, template in HEADER_FIELDS.items():
        value = po.metadata.get(name)
        if value is None:
            problems.append(f"header field {name!r} missing")
        elif template is not None and (value == template or not value.strip()):
            problems.append(f"header field {name!r} still has the template value {value!r}")
    return problems


def test_the_catalog_header_has_what_msgfmt_checks():
    assert not header_problems(polib.pofile(str(CATALOG))), header_problems(polib.pofile(str(CATALOG)))
    assert not header_problems(catalog.new_catalog(LANG))  # a new language's catalog starts complete
    broken = polib.pofile(str(CATALOG))
    del broken.metadata["Last-Translator"]
    assert header_problems(broken) == ["header field 'Last-Translator' missing"]  # the check can fail


@pytest.mark.skipif(not shutil.which("msgfmt"), reason="msgfmt (gettext) not installed: apt-get install gettext")
def test_msgfmt_check_passes_without_warnings():
    result = subprocess.run(["msgfmt", "-c", "-o", "/dev/null", str(CATALOG)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


# An English edit without the catalog: the check fails, and says what to do (on a copy of the project).


@pytest.fixture
def project(tmp_path) -> Path:
    """The scripts, notebooks and catalogs in a folder of their own: what the tools see of the project."""
    copy = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("scripts", "notebooks", "locales"):
        shutil.copytree(PROJECT / folder, copy / folder, ignore=ignore)
    return copy


def localize(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(project / "scripts" / "localize.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=project,
    )


EDITED = "This information is now stored in the MLflow tracking server. Review it in the user interface:"
EDIT = "This information is now kept in the MLflow tracking server. Review it in the user interface:"


def test_an_english_edit_fails_the_check_until_the_translation_follows(project):
    english = project / "notebooks" / "01-using-mlflow-to-track-experiments.py"
    text = english.read_text(encoding="utf-8")
    assert f"# MAGIC {EDITED}\n" in text
    english.write_text(text.replace(EDITED, EDIT), encoding="utf-8")
    line = text[: text.index(EDITED)].count("\n") + 1
    obsolete = sum(entry.obsolete for entry in polib.pofile(str(project / "locales" / "ja" / "notebooks.po")))

    stale = localize(project, "build", "--check")
    assert stale.returncode == 1
    assert (
        f"notebooks/01-using-mlflow-to-track-experiments.py:{line}: 01-using-mlflow-to-track-experiments.py|"
        f"markdown 'This information is now kept in the MLflow tracking serve...': not in locales/ja/notebooks.po "
        "(run scripts/localize.py extract)" in stale.stderr
    )
    assert (
        "notebooks/ja/01-using-mlflow-to-track-experiments.py: differs from what the English notebooks" in stale.stderr
    )

    # extract: the changed paragraph keeps its translation, marked fuzzy, with the English it was made for.
    extracted = localize(project, "extract")
    assert extracted.returncode == 0, extracted.stderr
    # the old unit lives on as the fuzzy one, not as one more obsolete entry
    assert f", 1 fuzzy, 0 untranslated, {obsolete} obsolete" in extracted.stdout
    po = polib.pofile(str(project / "locales" / "ja" / "notebooks.po"))
    [fuzzy] = [entry for entry in po if entry.fuzzy]
    assert (fuzzy.msgid, fuzzy.previous_msgid) == (EDIT, EDITED)
    assert JAPANESE.search(fuzzy.msgstr)
    assert (
        f"locales/ja/notebooks.po:{fuzzy.linenum}: fuzzy: 01-using-mlflow-to-track-experiments.py|markdown"
        in extracted.stdout
    )

    still = localize(project, "build", "--check")
    assert still.returncode == 1 and "fuzzy (its English changed" in still.stderr

    # The translator follows the English and drops the flag; the build then brings notebooks/ja/ up to date.
    fuzzy.msgstr = "これで、この情報は MLflow 追跡サーバーに保管されました。ユーザー インターフェイスで確認します。"
    fuzzy.flags.remove("fuzzy")
    fuzzy.previous_msgid = None
    po.save()
    assert localize(project, "build", "--check").returncode == 1  # notebooks/ja/ is not rebuilt yet
    built = localize(project, "build")
    assert built.returncode == 0, built.stderr
    assert "wrote notebooks/ja/01-using-mlflow-to-track-experiments.py" in built.stdout
    final = localize(project, "build", "--check")
    assert final.returncode == 0, final.stderr


def test_an_english_code_edit_makes_the_japanese_notebook_stale(project):
    english = project / "notebooks" / "includes" / "setup.py"
    english.write_text(english.read_text(encoding="utf-8").replace("timeout=30", "timeout=31"), encoding="utf-8")
    result = localize(project, "build", "--check")
    assert result.returncode == 1
    assert (
        result.stderr.strip() == "notebooks/ja/includes/setup.py: differs from what the English notebooks and "
        "the catalog build (run scripts/localize.py build)"
    )


def test_a_removed_english_notebook_removes_its_japanese_one(project):
    (project / "notebooks" / "includes" / "setup.py").unlink()
    assert "notebooks/ja/includes/setup.py: has no English notebook" in localize(project, "build", "--check").stderr
    assert localize(project, "build").returncode == 0
    assert not (project / "notebooks" / "ja" / "includes" / "setup.py").exists()


def test_a_po_syntax_error_is_one_line_naming_file_and_line(project):
    po = project / "locales" / "ja" / "notebooks.po"
    lines = po.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, start=1) if line.startswith("msgstr ") and i > 20)
    lines[number - 1] = lines[number - 1].replace("msgstr", "msgtsr")  # a typo polib cannot read past
    po.write_text("".join(lines), encoding="utf-8")
    result = localize(project, "build", "--check")
    assert result.returncode == 2
    assert re.fullmatch(rf"localize: locales/ja/notebooks\.po:{number}: PO syntax error.*\n", result.stderr)


def test_a_catalog_for_another_language_is_refused(project):
    po = project / "locales" / "ja" / "notebooks.po"
    po.write_text(po.read_text(encoding="utf-8").replace('"Language: ja\\n"', '"Language: fr\\n"'), encoding="utf-8")
    result = localize(project, "extract")
    assert result.returncode == 2
    assert result.stderr == "localize: locales/ja/notebooks.po:1: the header says Language: fr, not ja\n"


# extract: gettext's merge.


def translated(found: list[catalog.Unit], translations: dict[str, str]) -> polib.POFile:
    """A catalog of `found` with the given translations (by English text)."""
    po = catalog.merge(catalog.new_catalog(LANG), found)
    for entry in po:
        entry.msgstr = translations.get(entry.msgid, "")
    return po


def test_merge_keeps_marks_fuzzy_adds_and_obsoletes(tmp_path):
    notebooks = tmp_path / "notebooks"
    cells = [
        "# MAGIC %md\n# MAGIC # Train a model\n# MAGIC\n# MAGIC Call the function three times, with other values.",
        "# DBTITLE 1,Run it\nprint(1)",
        "# MAGIC %md\n# MAGIC The plot shows each trip.\n# MAGIC - one item",
    ]
    write_notebook(notebooks, "lab.py", *cells)
    po = translated(
        catalog.units(notebooks),
        {
            "Train a model": "モデルをトレーニングする",
            "Call the function three times, with other values.": "別の値で関数を 3 回呼び出します。",
            "Run it": "実行する",
            "The plot shows each trip.": "プロットは各乗車を示します。",
            "one item": "1 つの項目",
        },
    )

    cells[0] = cells[0].replace("three times, with other values", "three times, with other hyperparameters")
    cells[2] = "# MAGIC %md\n# MAGIC A new paragraph about something else entirely."
    write_notebook(notebooks, "lab.py", *cells)
    merged = {entry.msgid: entry for entry in catalog.merge(po, catalog.units(notebooks))}

    assert merged["Train a model"].msgstr == "モデルをトレーニングする" and not merged["Train a model"].fuzzy
    changed = merged["Call the function three times, with other hyperparameters."]
    assert changed.fuzzy and changed.msgstr == "別の値で関数を 3 回呼び出します。"
    assert changed.previous_msgid == "Call the function three times, with other values."
    new = merged["A new paragraph about something else entirely."]
    assert new.msgstr == "" and not new.fuzzy
    assert merged["The plot shows each trip."].obsolete and merged["one item"].obsolete
    assert "Call the function three times, with other values." not in merged  # it became the fuzzy entry
    title_line = (notebooks / "lab.py").read_text().splitlines().index("# DBTITLE 1,Run it") + 1
    assert merged["Run it"].occurrences == [(str(notebooks / "lab.py"), str(title_line))]
    assert merged["Run it"].comment == "cell title" and changed.comment == "paragraph"


COMPARE = "# MAGIC %md\n# MAGIC Compare the runs."


def translated_compare(notebooks: Path, name: str) -> polib.POFile:
    """The notebook `name` holding the paragraph COMPARE, and a catalog that translates it."""
    write_notebook(notebooks, name, COMPARE)
    return translated(catalog.units(notebooks), {"Compare the runs.": "実行を比較します。"})


def test_merge_revives_an_obsolete_translation_when_its_english_comes_back(tmp_path):
    notebooks = tmp_path / "notebooks"
    po = translated_compare(notebooks, "lab.py")
    write_notebook(notebooks, "lab.py", "print(1)")
    po = catalog.merge(po, catalog.units(notebooks))
    assert [(e.msgid, e.obsolete) for e in po] == [("Compare the runs.", True)]
    write_notebook(notebooks, "lab.py", COMPARE)
    [entry] = catalog.merge(po, catalog.units(notebooks))
    assert (entry.msgstr, entry.obsolete, entry.fuzzy) == ("実行を比較します。", False, False)


def test_the_same_english_in_two_notebooks_is_two_entries_the_second_one_prefilled(tmp_path):
    notebooks = tmp_path / "notebooks"
    po = translated_compare(notebooks, "01-lab.py")
    write_notebook(notebooks, "02-spark.py", COMPARE)
    merged = catalog.merge(po, catalog.units(notebooks))
    first, second = merged
    assert (first.msgctxt, second.msgctxt) == ("01-lab.py|markdown", "02-spark.py|markdown")
    assert not first.fuzzy
    # The other notebook's translation is a start, for a translator to confirm: fuzzy, saying where it came from.
    assert second.fuzzy and second.msgstr == "実行を比較します。" and second.previous_msgctxt == "01-lab.py|markdown"


def test_rewrapping_an_english_paragraph_changes_no_unit(tmp_path):
    notebooks = tmp_path / "notebooks"
    write_notebook(
        notebooks, "lab.py", "# MAGIC %md\n# MAGIC - one item that\n# MAGIC   goes on\n# MAGIC\n# MAGIC A b c."
    )
    before = [unit.text for unit in catalog.units(notebooks)]
    write_notebook(
        notebooks, "lab.py", "# MAGIC %md\n# MAGIC - one item\n# MAGIC   that goes on\n# MAGIC\n# MAGIC A\n# MAGIC b c."
    )
    assert [unit.text for unit in catalog.units(notebooks)] == before == ["one item that goes on", "A b c."]


def test_extract_twice_gives_the_same_catalog(project):
    assert localize(project, "extract").returncode == 0
    po = project / "locales" / "ja" / "notebooks.po"
    first = po.read_bytes()
    assert localize(project, "extract").returncode == 0
    assert po.read_bytes() == first


# build: what keeps a unit in English, and why.


def build_one(tmp_path, cells: list[str], translations: dict[str, str], fuzzy: tuple[str, ...] = ()) -> translate.Build:
    """The notebook of `cells` built with a catalog of `translations`; the entries of `fuzzy` (English) flagged so."""
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks, "lab.py", *cells)
    po = translated(catalog.units(notebooks), translations)
    for entry in po:
        if entry.msgid in fuzzy:
            entry.flags.append("fuzzy")
    po.save(str(tmp_path / "ja.po"))
    return translate.build(catalog.load(tmp_path / "ja.po", LANG), LANG, "ja.po", notebooks)


def test_a_translation_that_breaks_the_markdown_stays_english_naming_the_entry(tmp_path):
    cells = [
        "# MAGIC %md\n# MAGIC ### Select **Compare**\n# MAGIC Use `mlflow.log_metrics` as in "
        "[the docs](https://mlflow.org).\n# MAGIC - the item"
    ]
    built = build_one(
        tmp_path,
        cells,
        {
            "Select **Compare**": "**[比較]**を選択",  # asterisks shown: no space after the bold name
            "Use `mlflow.log_metrics` as in [the docs](https://mlflow.org).": "`log_metrics` を使用します。",
            "the item": "項目\n\n次の段落",
        },
    )
    problems = [str(problem) for problem in built.problems]
    assert len(problems) == 3
    assert re.match(
        r"ja\.po:\d+: lab\.py\|markdown 'Select \*\*Compare\*\*': the translation bold \*\*\[比較\]\*\* "
        r"would not render",
        problems[0],
    )
    assert (
        "code spans: lacks mlflow.log_metrics; adds log_metrics; link targets: lacks https://mlflow.org" in problems[1]
    )
    assert "changes the Markdown structure" in problems[2]

    def english(text: str) -> list[str]:  # the lines of text but the note and the blank lines around it
        return [line for line in text.splitlines() if line not in ("# MAGIC", f"# MAGIC > {NOTE}")]

    assert f"# MAGIC > {NOTE}\n" in built.files["lab.py"]
    assert english(built.files["lab.py"]) == english((tmp_path / "notebooks" / "lab.py").read_text())  # all English


def test_an_english_text_kept_as_its_translation_is_refused(tmp_path):
    built = build_one(tmp_path, ["# DBTITLE 1,Load the data\nprint(1)"], {"Load the data": "Load the data"})
    [problem] = built.problems
    assert str(problem).endswith("'Load the data': the translation has no ja text (is it still the English?)")


def test_the_note_goes_under_the_title_or_first_and_never_runs_into_a_paragraph(tmp_path):
    """Under a heading, or at the top of a cell without one; a blank line after it (else the paragraph that
    follows would continue the quote); only in the first markdown cell."""
    cells = ["# DBTITLE 1,Load\nprint(1)", "# MAGIC %md\n# MAGIC Text.", "# MAGIC %md\n# MAGIC # Title\n# MAGIC Text."]
    built = build_one(tmp_path, cells, {"Load": "読み込む", "Text.": "本文。", "Title": "題名"})
    assert not built.problems
    assert f"# MAGIC %md\n# MAGIC > {NOTE}\n# MAGIC\n# MAGIC 本文。\n\n" in built.files["lab.py"]
    assert "# MAGIC # 題名\n# MAGIC 本文。\n" in built.files["lab.py"] and built.files["lab.py"].count(NOTE) == 1


def test_a_translation_may_name_the_languages_own_guide_and_nothing_else(tmp_path):
    cells = [
        "# MAGIC %md\n# MAGIC # T\n# MAGIC\n# MAGIC See `docs/lab-guide.md`.\n# MAGIC\n# MAGIC Or `docs/lab-guide.md`."
    ]
    built = build_one(
        tmp_path,
        cells,
        {
            "T": "題",
            "See `docs/lab-guide.md`.": "`docs/lab-guide.ja.md` を参照。",
            "Or `docs/lab-guide.md`.": "または `docs/deploy.md`。",
        },
    )
    assert "`docs/lab-guide.ja.md` を参照。" in built.files["lab.py"]
    [problem] = built.problems
    assert "code spans: lacks docs/lab-guide.md; adds docs/deploy.md" in str(problem)


def test_untranslated_and_fuzzy_units_stay_english(tmp_path):
    # "More text." has a translation, but a fuzzy one: it was made for other English, so gettext ignores it too.
    built = build_one(
        tmp_path,
        ["# MAGIC %md\n# MAGIC # Title\n# MAGIC\n# MAGIC Text.\n# MAGIC\n# MAGIC More text."],
        {"Title": "題名", "More text.": "古い訳文。"},
        fuzzy=("More text.",),
    )
    assert (
        f"# MAGIC # 題名\n# MAGIC\n# MAGIC > {NOTE}\n# MAGIC\n# MAGIC Text.\n# MAGIC\n# MAGIC More text.\n"
        in built.files["lab.py"]
    )
    assert [problem.message.split(": ", 1)[1] for problem in built.problems] == [
        "untranslated",
        "fuzzy (its English changed: review the translation, then drop the flag)",
    ]


def test_every_run_magic_of_the_japanese_notebooks_finds_its_notebook():
    runs = 0
    for path in lab.notebook_files(JA):
        for cell in dbsource.read(path).cells:
            if cell.magic == "run":
                assert (path.parent / f"{cell.magic_args}.py").resolve().is_file(), f"{path}: %run {cell.magic_args}"
                assert (path.parent / f"{cell.magic_args}.py").resolve().is_relative_to(JA)
                runs += 1
    assert runs >= 1


# The Markdown blocks a cell is split into.


def test_blocks_keep_markers_out_of_the_units_and_code_as_it_is():
    text = (
        "## Heading\nA paragraph\nthat wraps.  \nA hard break.\n\n1. First\n   continued\n  - nested\n\n"
        "> **Tip:** quoted\n> on.\n\n```python\nprint('# not a heading')\n```\n| a | b |\n|---|---|\n\n"
    )
    blocks = markdown.split(text).blocks
    assert [(block.kind, block.prefix, block.text) for block in blocks] == [
        ("heading 2", "## ", "Heading"),
        ("paragraph", "", "A paragraph that wraps.  \nA hard break."),
        ("list item", "1. ", "First continued"),
        ("list item", "  - ", "nested"),
        ("quote", "> ", "**Tip:** quoted on."),
        ("code", "", "```python\nprint('# not a heading')\n```"),
        ("table row", "", "| a | b |"),
        ("table rule", "", "|---|---|"),
    ]
    assert [block.translatable for block in blocks] == [True] * 5 + [False, True, False]
    again = markdown.split(markdown.split(text).join())
    assert again.shape == markdown.split(text).shape and [b.text for b in again.blocks] == [b.text for b in blocks]


def test_every_english_markdown_cell_splits_and_joins_back_to_the_same_blocks():
    def blocks(text):
        return [(b.kind, b.prefix, b.text, b.blank_before) for b in markdown.split(text).blocks]

    for path in ENGLISH_FILES:
        for text in markdown_cells(dbsource.read(path)):
            body = text.split("\n", 1)[1]
            assert blocks(markdown.split(body).join()) == blocks(body), f"{path.name}: {body[:60]}"


# Shipping: the English notebooks stay English.


def test_the_english_notebooks_leave_the_translations_out():
    assert ENGLISH_FILES and all(JA not in path.parents for path in ENGLISH_FILES)
    assert lab.notebook_files(JA) == sorted(JA / path.relative_to(lab.NOTEBOOKS) for path in ENGLISH_FILES)
    with pytest.raises(ValueError, match="no notebooks in 'fr'"):
        lab.notebooks_dir("fr")


def test_the_lab_notebooks_in_each_language():
    english = lab.lab_notebook_files()
    assert lab.NOTEBOOKS / f"{lab.LAB_NOTEBOOK}.py" in english and all(p.parent == lab.NOTEBOOKS for p in english)
    assert lab.lab_notebook_files("ja") == [JA / path.name for path in english]
