"""The lab guide, in English (docs/lab-guide.md) and Japanese (docs/lab-guide.ja.md).

Checks that hold for both: every relative link and image resolves (anchors included),
the two editions have the same structure (heading levels, in order) and the same
commands (their fenced code blocks, text for text), the commands name scripts and
options that exist, and the screenshots shown are the ones tests/test_browser.py takes.
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
class Guide:
    path: Path
    headings: list[tuple[int, str]] = field(default_factory=list)
    code_blocks: list[str] = field(default_factory=list)
    links: list[tuple[int, bool, str]] = field(default_factory=list)  # (line, is_image, target)


def parse(path: Path) -> Guide:
    """Headings, fenced code blocks and links of a Markdown file (front matter and code excluded)."""
    guide = Guide(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    start = 0
    if lines and lines[0] == "---":  # YAML front matter, as the original lab pages have
        start = lines.index("---", 1) + 1
    block: list[str] | None = None
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
