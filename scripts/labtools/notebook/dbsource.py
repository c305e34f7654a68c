"""Read and write the Databricks notebook source format (`.py` files).

A workspace exports a Python notebook as plain text:

    # Databricks notebook source
    # MAGIC %md
    # MAGIC # A title
    # MAGIC
    # MAGIC Some text.

    # COMMAND ----------

    # DBTITLE 1,Load the data
    df = load()

The first line must be exactly the header, otherwise a workspace imports the
file as a plain file, not as a notebook. Cells are separated by a
`# COMMAND ----------` line with one blank line on either side. A cell whose
lines start with `# MAGIC` holds a magic command (`%md`, `%run`, `%pip`, ...);
its text is stored with that prefix, a bare `# MAGIC` standing for an empty
line. An optional first line `# DBTITLE 1,<title>` gives the cell a title.
Some workspaces export `# MAGIC  %md`, with a second space (the cell's text
began with one): Databricks runs it as `%md`, and so it is read here.

No maintained library reads this format (jupytext issue #926), so this module
owns it: `parse` turns text into a `Notebook` of `Cell`s that remember the line
they start on, and `dumps` writes one back (byte for byte for canonical files).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

HEADER = "# Databricks notebook source"
SEPARATOR = "# COMMAND ----------"
MAGIC_PREFIX = "# MAGIC"
TITLE_PATTERN = re.compile(r"^# DBTITLE (\d+),(.*)$")
# Spaces before the `%` are allowed, as Databricks allows them (`# MAGIC  %md`).
MAGIC_NAME_PATTERN = re.compile(r"^[ \t]*%([A-Za-z][\w-]*)")


class NotebookFormatError(ValueError):
    """The text is not a valid Databricks source notebook.

    `str()` reads `path:line: message`, the form editors and CI logs link to.
    """

    def __init__(self, path: str, line: int, message: str):
        self.path, self.line, self.message = path, line, message
        super().__init__(f"{path}:{line}: {message}")


@dataclass
class Cell:
    """One notebook cell.

    `source` is the cell as a user sees it in the workspace editor: for a magic
    cell the `# MAGIC` prefixes are removed, so it starts with e.g. `%md`.
    `line` is the 1-based line of the `.py` file the cell starts on (its title
    line if it has one); `source_line` is where `source` starts.
    """

    source: str
    title: str | None = None
    line: int = 0
    is_magic_text: bool = False  # stored with `# MAGIC` prefixes in the file

    @property
    def source_line(self) -> int:
        return self.line + (1 if self.title is not None else 0)

    @property
    def magic(self) -> str | None:
        """The magic's name without `%` (`"md"`, `"run"`, ...), or None for code."""
        if not self.is_magic_text:
            return None
        match = MAGIC_NAME_PATTERN.match(self.source)
        return match.group(1) if match else None

    @property
    def magic_args(self) -> str:
        """The rest of the magic's first line: `./setup` for `%run ./setup`."""
        return self._after_magic(self.source.split("\n", 1)[0])

    def _after_magic(self, first_line: str) -> str:
        """What follows `%name` on the first line (spaces before the `%` allowed)."""
        return first_line.lstrip()[len(self.magic or "") + 1 :].strip()

    @property
    def body(self) -> str:
        """The cell's content without its magic command.

        For `%md # Title\\ntext` that is `# Title\\ntext`; for a code cell, the
        code itself.
        """
        if self.magic is None:
            return self.source
        first_line, _, rest = self.source.partition("\n")
        same_line = self._after_magic(first_line)
        return f"{same_line}\n{rest}" if same_line and rest else same_line or rest


@dataclass
class Notebook:
    path: str
    cells: list[Cell] = field(default_factory=list)


def read(path: str | Path) -> Notebook:
    """Parse the notebook stored at `path`."""
    path = Path(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise NotebookFormatError(
            str(path), line, f"not UTF-8 text (byte 0x{data[error.start]:02x}); save the file as UTF-8"
        ) from None
    return parse(text, str(path))


def parse(text: str, path: str = "<string>") -> Notebook:
    # Exported on Windows, or checked out with core.autocrlf: CRLF line endings. Line numbers stay the same.
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[0] != HEADER:
        raise NotebookFormatError(
            path, 1, f"first line must be exactly {HEADER!r}; without it a workspace imports a plain file"
        )
    if text.endswith("\n"):
        lines.pop()  # the final newline ends the last line, it does not start a new one

    notebook = Notebook(path)
    chunk: list[str] = []
    chunk_start = 2  # 1-based line number of chunk[0]
    for number, line in enumerate(lines[1:], start=2):
        if line.rstrip() == SEPARATOR:
            notebook.cells.append(_parse_cell(chunk, chunk_start, path))
            chunk, chunk_start = [], number + 1
        else:
            chunk.append(line)
    notebook.cells.append(_parse_cell(chunk, chunk_start, path))
    return notebook


def _parse_cell(lines: list[str], start: int, path: str) -> Cell:
    # Canonical files put one blank line around each separator; trim them.
    while lines and not lines[0].strip():
        lines, start = lines[1:], start + 1
    while lines and not lines[-1].strip():
        lines = lines[:-1]

    title = None
    if lines and (match := TITLE_PATTERN.match(lines[0])):
        title = match.group(2)
        content = lines[1:]
    else:
        content = lines

    is_magic = bool(content) and content[0].startswith(MAGIC_PREFIX)
    if is_magic:
        source_lines = []
        first = start + (1 if title is not None else 0)
        for offset, line in enumerate(content):
            if line == MAGIC_PREFIX:
                source_lines.append("")
            elif line.startswith(MAGIC_PREFIX + " "):
                source_lines.append(line[len(MAGIC_PREFIX) + 1 :])
            elif not line.strip():
                source_lines.append("")
            else:
                raise NotebookFormatError(path, first + offset, "a magic cell mixes '# MAGIC' lines with plain lines")
        source = "\n".join(source_lines)
    else:
        source = "\n".join(content)
    return Cell(source=source, title=title, line=start, is_magic_text=is_magic)


def dumps(notebook: Notebook) -> str:
    """The canonical text of `notebook`, as a workspace exports it."""
    return HEADER + "\n" + f"\n\n{SEPARATOR}\n\n".join(_cell_text(cell) for cell in notebook.cells) + "\n"


def _cell_text(cell: Cell) -> str:
    lines = []
    if cell.title is not None:
        lines.append(f"# DBTITLE 1,{cell.title}")
    if cell.is_magic_text:
        lines += [f"{MAGIC_PREFIX} {line}" if line else MAGIC_PREFIX for line in cell.source.split("\n")]
    else:
        lines.append(cell.source)
    return "\n".join(lines)


def magic_cell(source: str, title: str | None = None) -> Cell:
    """A new magic cell, e.g. `magic_cell("%md\\n# Title")`."""
    return Cell(source=source, title=title, is_magic_text=True)
