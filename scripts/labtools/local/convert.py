"""Turn a Databricks source notebook into a Jupyter notebook that runs locally.

Each Databricks cell becomes one Jupyter cell that remembers, in its
metadata, the file and line it came from, so a failure can be reported as
`notebooks/<file>.py:<line> (cell N "<title>")`.

Magics are translated to what a local kernel can do:

| magic            | locally                                                        |
| ---------------- | -------------------------------------------------------------- |
| `%md`, `%md-sandbox` | a markdown cell                                            |
| `%python`        | a code cell                                                    |
| `%run ./other`   | the other notebook's code cells, inlined in the same namespace |
|                  | (`$name=value` arguments set its widgets; a quoted path may hold spaces) |
| `%pip`           | skipped with a printed note (`standins.skip_pip`), a cell or a line of one |
| `%sh`            | run by the shell through the local stand-ins (`standins.py`)   |
| `%fs`            | the local stand-ins' `dbutils.fs`                              |
| `%sql`           | the query through the local Spark session, shown as a table    |
| `%load_ext`, `%autoreload`, `%matplotlib`, `%ls`, ... | Python: IPython runs these line magics, |
|                  | in a workspace and in the local kernel alike (inside code too) |
| `!pip install x`, `!ls` | Python too: IPython's shell escape, run by the kernel's shell  |
| `%scala`, `%r`   | `ClusterOnlyCell`: run_lab.py refuses the notebook, the pytest plugin skips it |
| anything else    | an error naming the file and line                              |
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..notebook import dbsource, widgets
from ..notebook.dbsource import Cell, NotebookFormatError
from .errors import ClusterOnlyCell

MARKDOWN_MAGICS = {"md", "md-sandbox"}
# Other languages need a cluster's interpreters; %sql runs through the local Spark session.
CLUSTER_ONLY_MAGICS = {"scala", "r"}
# IPython's line magics that notebooks use: a Databricks Python cell runs in IPython, so they are
# Python code there, as in the local Jupyter kernel. A cell starting with one is exported as a
# '# MAGIC' cell; one after code, as a plain line. Others stay "unknown", so that a typo is caught.
IPYTHON_LINE_MAGICS = {
    "load_ext",
    "reload_ext",
    "unload_ext",
    "autoreload",
    "matplotlib",
    "config",
    "env",
    "set_env",
    "ls",
    "pwd",
    "cd",
    "time",
    "timeit",
    "who",
    "whos",
    "system",
    "sx",
    "xmode",
}
# A line magic or a shell escape (`!pip install x`) at the start of a line, for the syntax check to let IPython
# translate first: Databricks runs Python cells in IPython, which turns `!cmd` into get_ipython().system("cmd").
_LINE_MAGIC = re.compile(r"^[ \t]*(%[A-Za-z]|!)", re.MULTILINE)


@dataclass(frozen=True)
class ConvertedNotebook:
    """A notebook converted once, with what the runner asks of it, found once: its code cells as one text (its
    imports are warmed up), the widgets it declares (`--param` is checked against them), whether it uses Spark."""

    notebook: nbformat.NotebookNode
    code: str
    widgets: dict[str, str]
    needs_spark: bool

    @classmethod
    def read(cls, path: str | Path, root: str | Path | None = None) -> ConvertedNotebook:
        notebook = to_ipynb(path, root)
        code = code_of(notebook)
        return cls(notebook, code, declared_widgets(notebook), _code_needs_spark(code))


def to_ipynb(path: str | Path, root: str | Path | None = None) -> nbformat.NotebookNode:
    """Convert the notebook at `path`; files are named relative to `root` in metadata."""
    path = Path(path).resolve()
    root = Path(root).resolve() if root else path.parent.parent
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["databricks_source"] = _relative(path, root)
    notebook.cells = _convert(path, root, include_markdown=True, run_stack=[])
    return notebook


def notebook_namespace(path: str | Path, root: str | Path | None = None) -> dict:
    """Execute a notebook's code cells in a fresh namespace, as `%run` does, and return the namespace.

    For notebooks of definitions only, such as notebooks/includes/setup.py, used outside a kernel.
    """
    namespace: dict = {"__name__": Path(path).stem}
    for cell in to_ipynb(path, root).cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, str(path), "exec"), namespace)
    return namespace


def _convert(path: Path, root: Path, include_markdown: bool, run_stack: list[Path]) -> list:
    source = dbsource.read(path)
    file_name = _relative(path, root)
    cells = []
    for index, cell in enumerate(source.cells, start=1):
        where = {"file": file_name, "line": cell.line, "cell": index, "title": cell.title}
        magic = cell.magic
        if cell.is_magic_text and magic is None:
            raise NotebookFormatError(file_name, cell.source_line, "a '# MAGIC' cell must start with a %magic")

        if magic in MARKDOWN_MAGICS:
            if include_markdown:
                cells.append(_markdown(cell.body, where))
        elif magic == "run":
            cells += _inline_run(cell, where, path, root, run_stack)
        elif magic is None or magic == "python":
            if cell.body.strip():
                code_line = cell.source_line + (magic is not None)
                _check_syntax(cell.body, file_name, code_line)
                cells.append(_code(cell.body, where, code_line))
        elif magic in IPYTHON_LINE_MAGICS:  # the whole cell is Python, its first line included
            _check_syntax(cell.source, file_name, cell.source_line)
            cells.append(_code(cell.source, where, cell.source_line))
        elif magic == "pip":
            cells.append(_code(f"_standins.skip_pip({cell.magic_args!r})", where))
        elif magic == "sh":
            cells.append(_code(f"_standins.run_shell({cell.body!r})", where))
        elif magic == "fs":
            cells.append(_code(f"_standins.run_fs_magic({cell.magic_args!r})", where))
        elif magic == "sql":
            cells.append(_code(f"_standins.run_sql({cell.body!r})", where))
        elif magic in CLUSTER_ONLY_MAGICS:
            raise ClusterOnlyCell(
                file_name,
                cell.source_line,
                f"%{magic} cells need a Databricks cluster and cannot run locally (%python and %sql can)",
            )
        else:
            raise NotebookFormatError(
                file_name,
                cell.source_line,
                f"unknown magic %{magic} (known: %md, %python, %run, %pip, %sh, %fs, "
                f"%sql, and IPython's %{', %'.join(sorted(IPYTHON_LINE_MAGICS))})",
            )
    return cells


def _inline_run(cell: Cell, where: dict, path: Path, root: Path, run_stack: list[Path]) -> list:
    """The code cells of the notebook a `%run` names, as Databricks runs them: in our namespace."""
    file_name = where["file"]
    target_name, arguments = _run_arguments(cell.magic_args, file_name, cell.source_line)
    if target_name.startswith("/"):
        raise NotebookFormatError(file_name, cell.source_line, _absolute_run_path(target_name, path, root))
    target = (path.parent / target_name).resolve()
    if target.suffix != ".py":
        target = target.with_name(target.name + ".py")
    if not target.is_file():
        raise NotebookFormatError(
            file_name, cell.source_line, f"%run {target_name}: no notebook at {_relative(target, root)}"
        )
    chain = [*run_stack, path]
    if target in chain:
        cycle = " -> ".join(_relative(p, root) for p in [*chain[chain.index(target) :], target])
        raise NotebookFormatError(file_name, cell.source_line, f"%run cycle: {cycle}")
    cells = _convert(target, root, include_markdown=False, run_stack=chain)
    if not arguments:
        return cells
    # The arguments hold while the included cells run, as widget values that win over the defaults.
    return [_code(f"_standins.enter_run({arguments!r})", where), *cells, _code("_standins.leave_run()", where)]


def _run_arguments(magic_args: str, file_name: str, line: int) -> tuple[str, dict[str, str]]:
    """`("./setup", {"mode": "test"})` for `%run ./setup $mode="test"`; the path may be quoted or hold spaces."""
    try:
        words = shlex.split(magic_args)
    except ValueError as error:  # an unclosed quote
        raise NotebookFormatError(file_name, line, f"%run {magic_args}: {error}") from None
    path_words = []
    for word in words:
        if word.startswith("$"):
            break
        path_words.append(word)
    if not path_words:
        raise NotebookFormatError(file_name, line, "%run needs a notebook path, e.g. %run ./setup")
    arguments = {}
    for word in words[len(path_words) :]:
        name, equals, value = word[1:].partition("=")
        if not word.startswith("$") or not equals or not name.isidentifier():
            raise NotebookFormatError(
                file_name, line, f'%run {magic_args}: {word!r} is not a widget argument such as $name="value"'
            )
        arguments[name] = value
    return " ".join(path_words), arguments


def _absolute_run_path(target_name: str, path: Path, root: Path) -> str:
    """The error for `%run /Users/...`: such paths exist only in a workspace; suggest the relative path."""
    message = (
        f"%run {target_name}: an absolute path names a notebook in a workspace (/Workspace, /Users, /Repos), "
        "which exists only there; write the path relative to this notebook"
    )
    parts = Path(target_name).parts[1:]
    for start in range(len(parts)):  # the longest tail of the path that names a notebook here
        candidate = root.joinpath(*parts[start:])
        if candidate.with_name(candidate.name + ".py").is_file() or candidate.is_file():
            relative = os.path.relpath(candidate, path.parent)
            return f"{message}, e.g. %run {relative if relative.startswith('..') else './' + relative}"
    return f"{message}, e.g. %run ./includes/setup"


def _check_syntax(code: str, file_name: str, code_line: int) -> None:
    """Report a syntax error where the user can find it, before anything runs."""
    if _LINE_MAGIC.search(code):
        # Line magics as IPython runs them (get_ipython().run_line_magic(...), one line for one line, so the
        # line numbers hold). IPython comes with the kernel; imported only here, as it takes half a second.
        from IPython.core.inputtransformer2 import TransformerManager

        code = TransformerManager().transform_cell(code)
    try:
        compile(code, file_name, "exec")
    except SyntaxError as error:
        line = code_line + (error.lineno or 1) - 1
        hint = ""
        if "unterminated" in (error.msg or "") or "was never closed" in (error.msg or ""):
            hint = f" (a '{dbsource.SEPARATOR}' line ends a cell even inside a string or bracket)"
        raise NotebookFormatError(file_name, line, f"syntax error: {error.msg}{hint}") from None


def _markdown(text: str, where: dict):
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata["databricks"] = where
    return cell


def _code(code: str, where: dict, code_line: int | None = None):
    cell = nbformat.v4.new_code_cell(code)
    cell.metadata["databricks"] = {**where, "code_line": code_line or where["line"]}
    return cell


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def declared_widgets(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """The widgets a converted notebook declares, those of the notebooks it `%run`s included."""
    return widgets.declared_widgets(cell.source for cell in notebook.cells if cell.cell_type == "code")


# `from pyspark... import ...` or `import pyspark.sql` (a module of the API), at the start of a line.
_SPARK_API_IMPORT = re.compile(r"^[ \t]*(from[ \t]+pyspark\b|import[ \t]+pyspark\.)", re.MULTILINE)


def needs_spark(notebook: nbformat.NotebookNode) -> bool:
    """Whether a converted notebook uses Spark: it imports from pyspark's API, or has `%sql` cells.

    A bare `import pyspark` does not count: the lab's setup does that only to read pyspark's version, and
    the scikit-learn notebook must neither start a JVM nor be skipped where Java is missing.
    """
    return _code_needs_spark(code_of(notebook))


def _code_needs_spark(code: str) -> bool:
    return bool(_SPARK_API_IMPORT.search(code)) or "_standins.run_sql(" in code


def code_of(notebook: nbformat.NotebookNode) -> str:
    """A converted notebook's code cells, included notebooks' among them, as one text."""
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
