"""Small text helpers for what the scripts print."""

from __future__ import annotations

import re

# The colour codes of terminal output (IPython tracebacks, a workspace's error traces).
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def strip_ansi(text: str) -> str:
    return ANSI_ESCAPE.sub("", text)


def format_table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table: left-aligned columns two spaces apart, a rule under the header."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    rule = ["-" * width for width in widths]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, rule, *rows]
    )
