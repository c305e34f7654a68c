"""A markdown cell as blocks, the units its translation is made of, and what a translation must keep.

A cell's Markdown is split into blocks: a heading, a paragraph, a list item, a quote, a table row,
each one translatable unit; a fenced code block is kept as it is. Why blocks and not whole cells: a
cell of the lab holds up to twenty lines, and an English edit of one sentence would mark the whole
cell's translation as out of date, for a reviewer to re-read in full; a block confines it to the
paragraph that changed.

The Markdown markers (`### `, `- `, `1. `, `> `, a list item's indentation) are not part of a
unit: `join` writes them back from the English, so a translation cannot change a heading's level
or the shape of a list. A unit's text is its lines joined by spaces (hard line breaks kept), so
that re-wrapping an English paragraph changes no unit. A translation is written on one line: a
line break inside Japanese text would render as a space.

`problems` says what a translation of a unit lost of its source: code spans, link targets, bold
text (the UI names), or its block structure.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

HEADING = re.compile(r"^(#{1,6})\s+")
LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d{1,9}[.)])\s+")
QUOTE = re.compile(r"^\s{0,3}>\s?")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")
TABLE_ROW = re.compile(r"^\s*\|")
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
HARD_BREAK = ("  ", "\\")

CODE_SPAN = re.compile(r"(`+)(.+?)\1")
LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]+)")
BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")


@dataclass(frozen=True)
class Block:
    """One block of a cell's Markdown.

    `text` is the unit to translate (markers removed, lines joined), or for a code block its lines
    as they are. `prefix` is the marker the block's first line starts with, `continuation` what its
    further lines start with. `line` is the block's first line in the cell body (0-based).
    """

    kind: str  # "heading 1".."heading 6", "paragraph", "list item", "quote", "table row", "table rule", "code",
    # or "note": what translate.py adds for a language, not from the English
    text: str
    prefix: str = ""
    continuation: str = ""
    line: int = 0
    blank_before: int = 0

    @property
    def translatable(self) -> bool:
        return self.kind not in ("code", "table rule") and bool(self.text.strip())

    def lines(self, text: str | None = None) -> list[str]:
        """The block's source lines, with `text` (a translation) in place of its own."""
        first, *rest = (self.text if text is None else text).split("\n")
        return [self.prefix + first, *(self.continuation + line for line in rest)]


@dataclass(frozen=True)
class Markdown:
    blocks: list[Block]
    blank_after: int = 0  # blank lines after the last block

    def join(self, translate: Callable[[Block], str] | None = None) -> str:
        """The Markdown text, each translatable block's text replaced by `translate(block)`."""
        lines: list[str] = []
        for block in self.blocks:
            lines += [""] * block.blank_before
            lines += block.lines(translate(block) if translate and block.translatable else None)
        return "\n".join(lines + [""] * self.blank_after)

    @property
    def shape(self) -> list[tuple[str, str]]:
        """The structure a translation keeps: each block's kind and marker."""
        return [(block.kind, block.prefix) for block in self.blocks]


def split(text: str) -> Markdown:
    """The blocks of `text`, the body of a `%md` cell."""
    lines = text.split("\n")
    blocks: list[Block] = []
    blank = 0
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            blank, index = blank + 1, index + 1
            continue
        block, index = _block_at(lines, index, blank)
        blocks.append(block)
        blank = 0
    return Markdown(blocks, blank)


def _block_at(lines: list[str], start: int, blank: int) -> tuple[Block, int]:
    """The block that starts at `lines[start]`, and the index of the line after it."""
    line = lines[start]
    if fence := FENCE.match(line):
        end = start + 1
        while end < len(lines) and not lines[end].lstrip().startswith(fence.group(1)):
            end += 1
        end = min(end + 1, len(lines))  # the closing fence, if there is one
        return Block("code", "\n".join(lines[start:end]), line=start, blank_before=blank), end
    if heading := HEADING.match(line):
        kind, text = f"heading {len(heading.group(1))}", line[heading.end() :].strip()
        return Block(kind, text, heading.group(0), line=start, blank_before=blank), start + 1
    if TABLE_ROW.match(line):
        kind = "table rule" if TABLE_RULE.match(line) else "table row"
        return Block(kind, line, line=start, blank_before=blank), start + 1

    # A list item or a paragraph runs until a blank line or the start of another block; a quote
    # while its lines start with '>'.
    if item := LIST_ITEM.match(line):
        kind, prefix, continuation = "list item", item.group(0), " " * len(item.group(0))
    elif quote := QUOTE.match(line):
        kind, prefix, continuation = "quote", quote.group(0), quote.group(0)
    else:
        kind, prefix, continuation = "paragraph", "", ""
    end = start + 1
    while (
        end < len(lines)
        and lines[end].strip()
        and (QUOTE.match(lines[end]) if kind == "quote" else not _starts_block(lines[end]))
    ):
        end += 1
    parts = [line[len(prefix) :]] + [
        QUOTE.sub("", part, count=1) if kind == "quote" else part for part in lines[start + 1 : end]
    ]
    return Block(kind, _unwrap(parts), prefix, continuation, start, blank), end


def _starts_block(line: str) -> bool:
    return bool(
        HEADING.match(line) or LIST_ITEM.match(line) or QUOTE.match(line) or FENCE.match(line) or TABLE_ROW.match(line)
    )


def _unwrap(parts: list[str]) -> str:
    """Lines joined by spaces, except after a hard line break (two trailing spaces or a backslash), kept."""
    text = ""
    for index, part in enumerate(parts):
        if index == len(parts) - 1:
            text += part.strip()
        elif part.endswith(HARD_BREAK):
            text += part.lstrip() + "\n"
        else:
            text += part.strip() + " "
    return text


def problems(block: Block, translation: str, code_replacements: dict[str, str] | None = None) -> list[str]:
    """What `translation` lost or changed of `block`'s Markdown; empty if nothing.

    Its structure: written in the block's place, the translation must read back as one block of
    the same kind and marker (no line break in a heading, no blank line, no '-' or '#' of its own).
    Its content: the same code spans, the same link targets, as many bold names (UI names). A code
    span may be replaced by its value in `code_replacements` (`{english: the language's own}`, such
    as the guide in that language), and only by that.
    """
    found = []
    alone = Block(block.kind, block.text, block.prefix, block.continuation)
    if split(Markdown([alone]).join(lambda _: translation)).shape != [(block.kind, block.prefix)]:
        found.append("changes the Markdown structure (a line break, a blank line, or a marker such as '#', '-', '>')")
    source = block.text
    spans = {span for _, span in CODE_SPAN.findall(source)}
    originals = {replacement: english for english, replacement in (code_replacements or {}).items()}
    translated_spans = {originals.get(span, span) for _, span in CODE_SPAN.findall(translation)}
    if spans != translated_spans:
        found.append(_difference("code spans", spans, translated_spans))
    targets, translated_targets = sorted(LINK_TARGET.findall(source)), sorted(LINK_TARGET.findall(translation))
    if targets != translated_targets:
        found.append(_difference("link targets", set(targets), set(translated_targets)))
    bold, translated_bold = len(BOLD.findall(source)), len(BOLD.findall(translation))
    if bold != translated_bold:
        found.append(f"has {translated_bold} bold names (**...**), the source {bold}")
    found += [f"bold {span} would not render: put a space on its outer side" for span in unrendered_bold(translation)]
    return found


def unrendered_bold(text: str) -> list[str]:
    """The `**...**` spans of `text` that CommonMark would show with their asterisks.

    A `**` opens only if it is not followed by punctuation, or is preceded by a space or punctuation
    (CommonMark's "left-flanking" rule), and closes likewise. Japanese puts no space between words,
    so `で**[実験]**アイコン` shows its asterisks; `で **[実験]** アイコン` is bold.
    """
    bad = []
    for match in BOLD.finditer(text):
        before = text[match.start() - 1] if match.start() else " "
        after = text[match.end()] if match.end() < len(text) else " "
        first, last = match.group(1)[0], match.group(1)[-1]
        opens = not _is_punctuation(first) or before.isspace() or _is_punctuation(before)
        closes = not _is_punctuation(last) or after.isspace() or _is_punctuation(after)
        if not (opens and closes):
            bad.append(match.group(0))
    return bad


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


def _difference(what: str, source: set[str], translation: set[str]) -> str:
    missing, extra = sorted(source - translation), sorted(translation - source)
    if not missing and not extra:
        return f"{what}: not the same number as the source"
    parts = [f"lacks {', '.join(missing)}" if missing else "", f"adds {', '.join(extra)}" if extra else ""]
    return f"{what}: " + "; ".join(part for part in parts if part)
