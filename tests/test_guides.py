"""The lab guide, in English (docs/lab-guide.md) and Japanese (docs/lab-guide.ja.md).

Checks that hold for both: every relative link and image resolves (anchors included),
the two editions have the same structure (heading levels, in order) and the same
commands (their fenced code blocks, text for text), the commands name scripts and
options that exist, and the screenshots shown are the ones tests/test_browser.py takes.

The guides are edited by hand, so the two editions are also held to agree, section by section,
on everything that is not prose: inline code, numbers, paths and link targets. An edit that
updates one edition and not the other, or loses a sentence, fails here.

The Japanese guide has its learner use the Japanese notebooks throughout: its commands are the English
guide's with the Japanese notebooks named (`--lang ja`, `notebooks/ja/`, the `_ja` jobs). Each kind of
workspace has one path (Free Edition, serverless compute in a paid workspace, a cluster), each with the
same steps in both editions, and the serverless paths never send a learner to a cluster. Databricks UI
labels follow one rule per edition (UI_LABELS), and in the Japanese guide 実行 means an MLflow run only.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from deploy_cli import run_deploy

PROJECT = Path(__file__).resolve().parent.parent
GUIDES = [PROJECT / "docs" / "lab-guide.md", PROJECT / "docs" / "lab-guide.ja.md"]
BROWSER_TEST = PROJECT / "tests" / "test_browser.py"

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# [text](target) and ![alt](target "title"); the target is what is checked.
LINK = re.compile(r"(!?)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"`[^`]*`")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:


@dataclass
class Section:
    """A heading and the text under it up to the next heading, code blocks left out."""

    heading: str  # as written, "## Clean up"; "(top)" for the text before the first heading
    line: int
    text: list[str] = field(default_factory=list)


@dataclass
class Guide:
    path: Path
    headings: list[tuple[int, str]] = field(default_factory=list)
    code_blocks: list[str] = field(default_factory=list)
    links: list[tuple[int, bool, str]] = field(default_factory=list)  # (line, is_image, target)
    sections: list[Section] = field(default_factory=list)


def parse(path: Path) -> Guide:
    """Headings, fenced code blocks and links of a Markdown file (front matter and code excluded)."""
    guide = Guide(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    start = 0
    if lines and lines[0] == "---":  # YAML front matter, as the original lab pages have
        start = lines.index("---", 1) + 1
    block: list[str] | None = None
    guide.sections.append(Section("(top)", start + 1))
    for number, line in enumerate(lines[start:], start=start + 1):
        if FENCE.match(line):
            if block is None:
                block = []
            else:
                guide.code_blocks.append("\n".join(block))
                block = None
            continue
        if block is not None:
            block.append(line.strip())
            continue
        if match := HEADING.match(line):
            guide.headings.append((len(match.group(1)), match.group(2)))
            guide.sections.append(Section(line.strip(), number))
        else:
            guide.sections[-1].text.append(line)
        for match in LINK.finditer(INLINE_CODE.sub("", line)):
            guide.links.append((number, match.group(1) == "!", match.group(2)))
    assert block is None, f"{path}: a fenced code block is never closed"
    return guide


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@pytest.fixture(scope="module")
def guides() -> list[Guide]:
    for path in GUIDES:
        assert path.is_file(), f"{path} is missing"
    return [parse(path) for path in GUIDES]


@pytest.mark.parametrize("index", range(len(GUIDES)), ids=[path.name for path in GUIDES])
def test_links_and_images_resolve(guides, index):
    guide = guides[index]
    assert guide.links, f"{guide.path}: found no links at all; is the parser broken?"
    problems = []
    for line, is_image, target in guide.links:
        if EXTERNAL.match(target):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (guide.path.parent / file_part).resolve() if file_part else guide.path
        where = f"{guide.path.relative_to(PROJECT)}:{line}: {'image' if is_image else 'link'} {target!r}"
        if not resolved.exists():
            problems.append(f"{where}: no such file {resolved}")
        elif is_image and resolved.suffix == ".png" and resolved.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
            problems.append(f"{where}: {resolved} is not a PNG file")
        elif anchor and resolved.suffix == ".md":
            anchors = {slug(text) for _, text in parse(resolved).headings}
            if anchor not in anchors:
                problems.append(f"{where}: no heading with anchor #{anchor} in {resolved.name}")
    assert not problems, "\n".join(problems)


def test_both_languages_have_the_same_sections(guides):
    english, japanese = guides
    levels = [[level for level, _ in guide.headings] for guide in guides]
    assert levels[0], f"{english.path}: no headings found"
    assert levels[0] == levels[1], (
        f"heading levels differ:\n{english.path.name}: {english.headings}\n{japanese.path.name}: {japanese.headings}"
    )


# Where `python scripts/deploy.py deploy --lang ja` puts the Japanese notebooks.
JA_FOLDER = "/Users/<you>/dp090-mlflow-lab-ja"


def japanese_command(words: list[str]) -> list[str]:
    """An English guide's command as the Japanese guide writes it: naming the Japanese notebooks.

    The bundle's jobs `<job>_ja`; deploy.py's `deploy` and `clean-up` with `--lang ja`, its `run` with the
    Japanese folder; run_lab.py with `--lang ja`, or `notebooks/ja/` for a notebook it names. A command
    that already names them, and any other command, stays as it is.
    """
    words = list(words)
    if words[:3] == ["databricks", "bundle", "run"] and not words[3].endswith("_ja"):
        words[3] += "_ja"
    elif words[:2] == ["python", "scripts/deploy.py"] and not {"--lang", "--folder"} & set(words):
        words += ["--folder", JA_FOLDER] if words[2] == "run" else ["--lang", "ja"]
    elif words[:2] == ["python", "scripts/run_lab.py"] and "--lang" not in words:
        named = [word for word in words if word.startswith("notebooks/")]
        if named:
            words = [word.replace("notebooks/", "notebooks/ja/", 1) if word in named else word for word in words]
        else:
            words += ["--lang", "ja"]
    return words


def test_both_languages_have_the_same_commands(guides):
    """The Japanese guide's commands are the English guide's, naming the Japanese notebooks."""
    english, japanese = guides
    assert english.code_blocks, f"{english.path}: no code blocks found"
    for number, (en, ja) in enumerate(zip(english.code_blocks, japanese.code_blocks, strict=False), start=1):
        expected = [japanese_command(shlex.split(line)) for line in en.splitlines() if line.strip()]
        found = [shlex.split(line) for line in ja.splitlines() if line.strip()]
        assert found == expected, (
            f"code block {number} differs:\n{english.path.name}:\n{en}\n{japanese.path.name} "
            f"(expected: {[' '.join(words) for words in expected]}):\n{ja}"
        )
    assert len(english.code_blocks) == len(japanese.code_blocks), (
        f"{english.path.name} has {len(english.code_blocks)} code blocks, {japanese.path.name} "
        f"{len(japanese.code_blocks)}"
    )


# What the editions must share besides their commands, section by section: the prose is a translation,
# the rest is not. Sets, not lists: a translation orders a sentence its own way, and may name a thing twice.
CODE_SPAN = re.compile(r"`([^`\n]+)`")
LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]+)")
# 12,000, 0.864, 3.10, and a scale word: "7 million" and the Japanese "700 万" are the same number.
NUMBER = re.compile(r"(?<![A-Za-z0-9.,])(\d+(?:[.,]\d+)*)(?:\s*(million\b|万))?")
UNIT = re.compile(r"\s*(?:GB|s\b|秒|%)")
PATH = re.compile(r"(?<![\w/.-])(?:[A-Za-z0-9_.-]+/)+[A-Za-z0-9_.-]*|\b[A-Za-z0-9_-]+\.(?:md|py|csv|dbc|txt|png)\b")
# The Japanese guide has the learner use the Japanese notebooks, so where the English guide's inline code
# names the English notebooks' job, folder, archive or path, the Japanese names the Japanese ones instead
# (japanese_code), and it may add the options that choose them (JAPANESE_MAY_ADD). Except in the sections
# about both languages (by English heading), which name the same things in both editions.
JAPANESE_NAMES = [
    (re.compile(r"\blab_(notebook|serverless)\b(?!_ja)"), r"lab_\1_ja"),  # the bundle's jobs
    (re.compile(r"dp090-mlflow-lab(?![-\w])"), "dp090-mlflow-lab-ja"),  # the folder, the archive
    (re.compile(r"^notebooks/(?!ja/)"), "notebooks/ja/"),
]
JAPANESE_MAY_ADD = {"notebooks/ja/", f"--folder {JA_FOLDER}", "--lang ja"}
BOTH_LANGUAGES = {"(top)", "Using MLflow to Track Experiments", "The notebooks in Japanese"}


def japanese_code(code: str) -> str:
    for pattern, replacement in JAPANESE_NAMES:
        code = pattern.sub(replacement, code)
    return code


def numbers(prose: str) -> set[str]:
    """The numbers of `prose` (code and link targets removed), as digits without separators."""
    found = set()
    for match in NUMBER.finditer(prose):
        digits, scale = match.groups()
        value = digits.replace(",", "")
        if scale:
            value = str(round(float(value) * (1_000_000 if scale == "million" else 10_000)))
        elif value.isdigit() and int(value) < 10 and not UNIT.match(prose, match.end()):
            continue  # a count: English spells it ("three runs"), Japanese writes the digit ("3 つの実行")
        found.add(value)
    return found


def link_targets(guide: Guide, text: str) -> set[str]:
    """The link targets of `text`: an anchor in the guide itself as its heading's place, the other edition as one."""
    anchors = {slug(heading): index for index, (_, heading) in enumerate(guide.headings)}
    found = set()
    for target in LINK_TARGET.findall(text):
        file_part, _, anchor = target.partition("#")
        if not file_part:
            found.add(f"the guide's heading {anchors.get(anchor, anchor)}")
        elif file_part in {path.name for path in GUIDES} - {guide.path.name}:
            found.add(f"the other edition{'#' + anchor if anchor else ''}")
        else:
            found.add(target)
    return found


def not_prose(guide: Guide, section: Section) -> dict[str, set[str]]:
    text = " ".join(section.text)
    prose = CODE_SPAN.sub(" ", LINK_TARGET.sub("](", text))
    return {
        "inline code": set(CODE_SPAN.findall(text)),
        "numbers": numbers(prose),
        "paths": set(PATH.findall(prose)),
        "link targets": link_targets(guide, text),
    }


def test_both_languages_agree_on_everything_but_prose(guides):
    """Section by section: the same inline code, numbers, paths and links (the Japanese's own folder aside)."""
    english, japanese = guides
    assert len(english.sections) == len(japanese.sections) > 10
    problems = []
    for en_section, ja_section in zip(english.sections, japanese.sections, strict=True):
        expected, found = not_prose(english, en_section), not_prose(japanese, ja_section)
        if en_section.heading.lstrip("# ") not in BOTH_LANGUAGES:
            expected["inline code"] = {japanese_code(code) for code in expected["inline code"]} | (
                found["inline code"] & JAPANESE_MAY_ADD
            )
        for what in expected:
            if expected[what] != found[what]:
                lacks, adds = sorted(expected[what] - found[what]), sorted(found[what] - expected[what])
                problems.append(
                    f"{japanese.path.name}:{ja_section.line} {ja_section.heading!r} ({english.path.name}:"
                    f"{en_section.line} {en_section.heading!r}): {what}: "
                    + "; ".join(
                        part for part in (f"lacks {lacks}" if lacks else "", f"adds {adds}" if adds else "") if part
                    )
                )
    assert not problems, "the editions differ in more than prose:\n" + "\n".join(problems)


def test_the_prose_check_sees_what_it_compares(guides):
    """The extraction the check above relies on finds what the English guide holds (else it compares nothing)."""
    english = guides[0]
    found = {
        what: set().union(*(not_prose(english, s)[what] for s in english.sections))
        for what in ("inline code", "numbers", "paths", "link targets")
    }
    assert {"data/nyc-taxi.csv", "02-using-mlflow-to-track-experiments-spark-ml"} <= found["inline code"]
    assert {"12000", "0.864", "3.10", "7000000", "25000000", "9", "6"} <= found["numbers"]
    assert "1" not in found["numbers"]  # a count ("run 1") is not compared
    assert "docs/deploy.md" in found["paths"]
    assert {"deploy.md", "the other edition", "deploy.md#before-class"} <= found["link targets"]
    assert numbers("約 700 万件、2,500 万件、3 つ、9 秒、86%") == {"7000000", "25000000", "9", "86"}


def commands(guide: Guide) -> list[list[str]]:
    return [shlex.split(line) for block in guide.code_blocks for line in block.splitlines() if line.strip()]


def test_commands_name_existing_scripts_and_options(guides, tmp_path, home):
    """`python scripts/X.py ...` names a script that exists; run_lab.py and deploy.py accept the options given.

    The commands of both editions: the Japanese guide's name the Japanese notebooks their own way."""
    python_commands = []
    for guide in guides:
        python_commands += [
            words
            for words in commands(guide)
            if words[0] == "python" and len(words) > 1 and words not in python_commands
        ]
    assert python_commands, f"{guides[0].path}: no python commands found"
    for words in python_commands:
        if words[1] in ("-m",):
            continue
        script = PROJECT / words[1]
        assert script.is_file(), f"`{' '.join(words)}` runs {words[1]}, which does not exist"
        if script.name == "run_lab.py":
            # The guide's options, then --clean of an empty folder: argparse checks them all; nothing runs.
            check = [sys.executable, str(script), *words[2:], "--clean", "--out", str(tmp_path / "empty")]
            result = subprocess.run(check, capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, f"`{' '.join(words)}`: run_lab.py rejects these options:\n{result.stderr}"
        elif script.name == "deploy.py":
            # A dry run sends nothing and needs no credentials, but takes the options and reads a --learners file.
            (tmp_path / "class.txt").write_text("learner@example.com\n", encoding="utf-8")
            args = [str(tmp_path / word) if word == "class.txt" else word for word in words[2:]]
            result = run_deploy(*args, "--dry-run", home=home, token=None)
            assert result.returncode == 0, f"`{' '.join(words)}`: deploy.py rejects it:\n{result.stderr}"


def test_screenshots_are_the_browser_tests(guides):
    """Each screenshot a guide shows is one tests/test_browser.py writes (with UPDATE_GUIDE_SCREENSHOTS=1)."""
    taken = set(re.findall(r"\.screenshot\(\"([\w-]+)\"\)", BROWSER_TEST.read_text(encoding="utf-8")))
    assert taken, f"{BROWSER_TEST} takes no screenshots"
    for guide in guides:
        shown = {Path(target).name for _, is_image, target in guide.links if is_image and "mlflow-ui-" in target}
        assert shown, f"{guide.path.name} shows no screenshots of the MLflow UI"
        written = {f"mlflow-ui-{name}.png" for name in taken}
        assert shown <= written, (
            f"{guide.path.name} shows {sorted(shown - written)}, which the browser test never writes"
        )


def test_the_japanese_guide_runs_the_japanese_notebooks(guides):
    """Every command of the Japanese guide that deploys, runs or removes notebooks names the Japanese ones."""
    japanese = guides[1]
    checked = 0
    for words in commands(japanese):
        line = " ".join(words)
        if words[:3] == ["databricks", "bundle", "run"]:
            assert words[3].endswith("_ja"), f"{japanese.path.name}: `{line}` runs an English job"
        elif words[:2] == ["python", "scripts/deploy.py"] and words[2] in ("deploy", "clean-up"):
            assert "--lang" in words and words[words.index("--lang") + 1] == "ja", f"`{line}`: no --lang ja"
        elif words[:3] == ["python", "scripts/deploy.py", "run"]:
            assert "--folder" in words and words[words.index("--folder") + 1] == JA_FOLDER, f"`{line}`: no {JA_FOLDER}"
        elif words[:2] == ["python", "scripts/run_lab.py"]:
            named = [word for word in words[2:] if word.endswith(".py")]
            assert (named and all(word.startswith("notebooks/ja/") for word in named)) or (
                not named and "--lang" in words and words[words.index("--lang") + 1] == "ja"
            ), f"`{line}`"
        else:
            continue
        checked += 1
    assert checked >= 8, f"{japanese.path.name}: only {checked} commands deploy, run or remove notebooks"


# One path per kind of workspace, with the same steps in both editions (the headings under each).
PATH_HEADING = {"lab-guide.md": re.compile(r"^Path ([A-C]): "), "lab-guide.ja.md": re.compile(r"^進め方 ([A-C]): ")}
PATH_STEPS = {
    "lab-guide.md": [
        "Prerequisites",
        "Get the notebooks",
        "Choose the compute",
        "Run the notebooks",
        "Review the runs",
        "Manage the model",
        "Clean up",
    ],
    "lab-guide.ja.md": [
        "前提条件",
        "ノートブックを取り込む",
        "コンピューティングを選ぶ",
        "ノートブックを動かす",
        "実行を確認する",
        "モデルを管理する",
        "クリーンアップ",
    ],
}
SERVERLESS_PATHS = ("A", "B")  # Free Edition, and serverless compute in a paid workspace
# What sends a learner to a cluster: a serverless path has none of it.
CLUSTER_STEP = {
    "lab-guide.md": re.compile(r"\battach|\*\*Terminate\*\*|\*\*Compute\*\* page|create a cluster", re.IGNORECASE),
    "lab-guide.ja.md": re.compile(r"アタッチ|\*\*\[終了\]\*\*|\*\*\[コンピューティング\]\*\* ページ|クラスターを作成"),
}
# The environment instruction as DECISIONS.md section 3 words it (the notebooks and the bundle say the same).
ENVIRONMENT = {
    "lab-guide.md": [
        "serverless environment version 5 (the standard base environment; it comes with MLflow 3.8.1)",
        "`scikit-learn` and `matplotlib`, without versions",
        "Set this in each notebook's **Environment** side panel",
    ],
    "lab-guide.ja.md": [
        "サーバーレス環境バージョン 5 (標準のベース環境。MLflow 3.8.1 が含まれます)",
        "`scikit-learn` と `matplotlib` をバージョンなしで追加",
        "これは各ノートブックの **[環境]** (Environment) サイド パネルで設定します",
    ],
}


def paths(guide: Guide) -> dict[str, list[Section]]:
    """Each path's sections by its letter: its own (## Path X) and the steps under it."""
    found: dict[str, list[Section]] = {}
    current = None
    for section in guide.sections:
        level = len(section.heading) - len(section.heading.lstrip("#"))
        if level == 2:
            match = PATH_HEADING[guide.path.name].match(section.heading.lstrip("# "))
            current = match.group(1) if match else None
            if current:
                found[current] = []
        if current:
            found[current].append(section)
    return found


@pytest.mark.parametrize("index", range(len(GUIDES)), ids=[path.name for path in GUIDES])
def test_each_kind_of_workspace_has_one_complete_path(guides, index):
    guide = guides[index]
    name = guide.path.name
    found = paths(guide)
    assert sorted(found) == ["A", "B", "C"], f"{name}: paths {sorted(found)}"
    for letter, sections in found.items():
        steps = [section.heading.lstrip("# ") for section in sections[1:]]
        assert steps == PATH_STEPS[name], f"{name}: path {letter} has the steps {steps}"
        text = "\n".join("\n".join(section.text) for section in sections)
        if letter in SERVERLESS_PATHS:
            step = CLUSTER_STEP[name].search(text)
            assert not step, f"{name}: path {letter} (serverless) sends the learner to a cluster: {step.group()!r}"
            flat = " ".join(text.split())
            for words in ENVIRONMENT[name]:
                assert words in flat, f"{name}: path {letter} lacks the environment instruction {words!r}"
            clean_up = " ".join(sections[-1].text)
            assert "`dp090_mlflow_lab_<short>`" in clean_up, f"{name}: path {letter}'s clean-up keeps the volume"
        else:
            assert CLUSTER_STEP[name].search(" ".join(sections[-1].text)), f"{name}: path C never stops the cluster"
            assert "17.0" in text, f"{name}: path C does not say standard access mode needs 17.0 for Spark ML"


# Databricks UI labels: the English guide's (bold) and the Japanese guide's for it (bold, in brackets), as the
# ja-JP lab page and the Japanese notebooks write them, with the English after it where the learner may not
# find the Japanese one (tests/test_localize.py holds the notebooks to 実験 and コンピューティング).
UI_LABELS = {
    "Workspace": "**[ワークスペース]**",
    "Create": "**[作成]**",
    "Git folder": "**[Git フォルダー]**",
    "Import": "**[インポート]**",
    "File": "**[ファイル]**",
    "Connect": "**[接続]**",
    "Serverless": "**[サーバーレス]**",
    "Environment": "**[環境]** (Environment)",
    "Apply": "**[適用]** (Apply)",
    "Catalog": "**[カタログ]**",
    "Compute": "**[コンピューティング]**",
    "Terminate": "**[終了]** (Terminate)",
    "Run all": "**[すべて実行]**",
    "Experiment": "**[実験]**",
    "Experiments": "**[実験]**",
    "Logged models": "**[ログに記録されたモデル]** (Logged models)",
    "Compare": "**[比較]**",
    "Reproduce run": "**[実行の再現]** (Reproduce run)",
    # The second lab (Managing Models). Databricks' ja pages name the Serving UI サービング ("サービング UI",
    # "[サービング エンドポイント]"); the English follows, as the Japanese UI's exact words are unverified.
    "Serving": "**[サービング]** (Serving)",
    "Create serving endpoint": "**[サービング エンドポイントの作成]** (Create serving endpoint)",
}
# MLflow's own UI (the local lab) is not localized: there the Japanese guide keeps the English, in brackets.
MLFLOW_UI_SECTIONS = {"Review the runs in the MLflow UI", "Manage the model locally"}
ENGLISH_BOLD = re.compile(r"\*\*([^*\n]+?)\*\*")
JAPANESE_LABEL = re.compile(r"\*\*\[([^\]\n]+)\]\*\*(?: \(([A-Z][A-Za-z ]*)\))?")


def test_ui_labels_follow_one_rule_in_each_edition(guides):
    """Section by section, the Japanese writes each Databricks label of the English as UI_LABELS says, and
    nothing else in brackets; in the MLflow UI section, the English labels themselves."""
    english, japanese = guides
    used = set()
    problems = []
    for en_section, ja_section in zip(english.sections, japanese.sections, strict=True):
        en_text, ja_text = (" ".join(" ".join(section.text).split()) for section in (en_section, ja_section))
        labels = {match.group(0) for match in JAPANESE_LABEL.finditer(ja_text)}
        where = f"{japanese.path.name}:{ja_section.line} {ja_section.heading!r}"
        if en_section.heading.lstrip("# ") in MLFLOW_UI_SECTIONS:
            expected = {f"**[{label}]**" for label in ENGLISH_BOLD.findall(en_text) if label != "Ctrl+C"}
        else:
            bold = {label for label in ENGLISH_BOLD.findall(en_text) if label in UI_LABELS}
            used |= bold
            expected = {UI_LABELS[label] for label in bold}
            english_only = [label for label in UI_LABELS if f"**{label}**" in ja_text or f"**[{label}]**" in ja_text]
            if english_only:
                problems.append(f"{where}: English-only UI labels {english_only}")
        if labels != expected:
            problems.append(f"{where}: UI labels: lacks {sorted(expected - labels)}, adds {sorted(labels - expected)}")
    assert used == set(UI_LABELS), f"labels the English guide no longer uses: {sorted(set(UI_LABELS) - used)}"
    assert not problems, "\n".join(problems)


def japanese_prose(guide: Guide) -> str:
    """The Japanese guide's prose: no code, no UI labels (a label such as [すべて実行] is the UI's own words)."""
    text = "\n".join("\n".join(section.text) for section in guide.sections)
    return JAPANESE_LABEL.sub(" ", CODE_SPAN.sub(" ", text)).replace("**", "")


def test_the_japanese_guide_uses_jikkou_for_an_mlflow_run_only(guides):
    """実行 is the MLflow run (glossed at its first mention), never the verb 'to run' (ノートブックを動かす)."""
    prose = japanese_prose(guides[1])
    first = prose.index("実行")
    assert prose[first:].startswith("実行 (run)"), f"the first 実行 is not glossed: {prose[first - 20 : first + 20]!r}"
    verbs = [
        prose[max(0, match.start() - 15) : match.end() + 5]
        for match in re.finditer(r"実行(?:し|す|さ|でき|中|済)", prose)
    ]
    assert not verbs, f"{guides[1].path.name}: 実行 as a verb: {verbs}"
