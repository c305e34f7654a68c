"""Find the widgets (notebook parameters) a notebook declares, without running it.

The runner checks `--param` keys against them before anything starts, and the
bundle checks compare a job's parameters with them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from . import dbsource

WIDGET_KINDS = {"text", "dropdown", "combobox", "multiselect"}


def declared_widgets(code_cells: Iterable[str]) -> dict[str, str]:
    """`{name: default}` for every `dbutils.widgets.<kind>("name", "default", ...)` call with literal arguments."""
    widgets = {}
    for source in code_cells:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # reported where the notebook is converted or run
        for node in ast.walk(tree):
            if _is_widget_call(node) and len(node.args) >= 1 and isinstance(node.args[0], ast.Constant):
                default = node.args[1].value if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) else ""
                widgets[node.args[0].value] = default
    return widgets


def widgets_of_file(path: str | Path) -> dict[str, str]:
    """The widgets the code cells of the notebook at `path` declare (not those of notebooks it `%run`s)."""
    notebook = dbsource.read(path)
    return declared_widgets(cell.body for cell in notebook.cells if cell.magic in (None, "python"))


def _is_widget_call(node: ast.AST) -> bool:
    # dbutils.widgets.text(...)
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in WIDGET_KINDS
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "widgets"
        and isinstance(node.func.value.value, ast.Name)
        and node.func.value.value.id == "dbutils"
    )
