"""The lab guide, in English (docs/lab-guide.md) and Japanese (docs/lab-guide.ja.md).

Checks that hold for both: every relative link and image resolves (anchors included),
the two editions have the same structure (heading levels, in order) and the same
commands (their fenced code blocks, text for text), the commands name scripts and
options that exist, and the screenshots shown are the ones tests/test_browser.py takes.

The guides are edited by hand, so the two editions are also held to agree, section by section,
on everything that is not prose: inline code, numbers, paths and link targets. An edit that
updates one edition and not the other, or loses a sentence, fails here.
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


def test_both_languages_have_the_same_commands(guides):
    english, japanese = guides
    assert english.code_blocks, f"{english.path}: no code blocks found"
    for number, (en, ja) in enumerate(zip(english.code_blocks, japanese.code_blocks, strict=False), start=1):
        assert en == ja, f"code block {number} differs:\n{english.path.name}:\n{en}\n{japanese.path.name}:\n{ja}"
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
# The Japanese guide has the learner use the Japanese notebooks, so in these sections (by English
# heading) it names their folder or archive: {the English guide's inline code: the Japanese guide's
# instead}, and the inline code it adds.
JAPANESE_OWN_NAMES: dict[str, tuple[dict[str, str], set[str]]] = {
    "Run the notebook": ({}, {"dp090-mlflow-lab-ja", "ja"}),  # where the Japanese notebooks are
    "Clean up": ({"dp090-mlflow-lab": "dp090-mlflow-lab-ja"}, set()),  # the folder its archive made
}


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
        replaced, added = JAPANESE_OWN_NAMES.get(en_section.heading.lstrip("# "), ({}, set()))
        expected["inline code"] = {replaced.get(code, code) for code in expected["inline code"]} | added
        for what in expected:
            if expected[what] != found[what]:
                lacks, adds = sorted(expected[what] - found[what]), sorted(found[what] - expected[what])
                problems.append(
                    f"{japanese.path.name}:{ja_section.line} {ja_section.heading!r} ({english.path.name}:"
                    f"{en_section.line} {en_section.heading!r}): {what}: "
                    + "; ".join(part for part in (f"lacks {lacks}" if lacks else "", f"adds {adds}" if adds else "")
                                if part)  # fmt: skip
                )
    assert not problems, "the editions differ in more than prose:\n" + "\n".join(problems)


def test_the_prose_check_sees_what_it_compares(guides):
    """The extraction the check above relies on finds what the English guide holds (else it compares nothing)."""
    english = guides[0]
    found = {what: set().union(*(not_prose(english, s)[what] for s in english.sections)) for what in
             ("inline code", "numbers", "paths", "link targets")}  # fmt: skip
    assert {"data/nyc-taxi.csv", "02-using-mlflow-to-track-experiments-spark-ml"} <= found["inline code"]
    assert {"12000", "0.864", "3.10", "7000000", "25000000", "9", "6"} <= found["numbers"]
    assert "1" not in found["numbers"]  # a count ("run 1") is not compared
    assert "docs/deploy.md" in found["paths"]
    assert {"deploy.md", "the other edition", "deploy.md#before-class"} <= found["link targets"]
    assert numbers("約 700 万件、2,500 万件、3 つ、9 秒、86%") == {"7000000", "25000000", "9", "86"}


def commands(guide: Guide) -> list[list[str]]:
    return [shlex.split(line) for block in guide.code_blocks for line in block.splitlines() if line.strip()]


def test_commands_name_existing_scripts_and_options(guides, tmp_path, home):
    """`python scripts/X.py ...` names a script that exists; run_lab.py and deploy.py accept the options given."""
    python_commands = [words for words in commands(guides[0]) if words[0] == "python" and len(words) > 1]
    assert python_commands, f"{guides[0].path}: no python commands found"
    for words in python_commands:
        if words[1] in ("-m",):
            continue
        script = PROJECT / words[1]
        assert script.is_file(), f"{guides[0].path.name}: `{' '.join(words)}` runs {words[1]}, which does not exist"
        if script.name == "run_lab.py":
            # The guide's options, then --clean of an empty folder: argparse checks them all; nothing runs.
            check = [sys.executable, str(script), *words[2:], "--clean", "--out", str(tmp_path / "empty")]
            result = subprocess.run(check, capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, (
                f"{guides[0].path.name}: `{' '.join(words)}`: run_lab.py rejects these options:\n{result.stderr}"
            )
        elif script.name == "deploy.py":
            # A dry run sends nothing and needs no credentials, but takes the options and reads a --learners file.
            (tmp_path / "class.txt").write_text("learner@example.com\n", encoding="utf-8")
            args = [str(tmp_path / word) if word == "class.txt" else word for word in words[2:]]
            result = run_deploy(*args, "--dry-run", home=home, token=None)
            assert result.returncode == 0, (
                f"{guides[0].path.name}: `{' '.join(words)}`: deploy.py rejects it:\n{result.stderr}"
            )


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
