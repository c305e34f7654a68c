"""Find the widgets (notebook parameters) a notebook declares, without running it.

The runner checks `--param` keys against them before anything starts, and the
bundle tests check the job's parameters against them.
"""

from __future__ import annotations

import ast

import nbformat

WIDGET_KINDS = {"text", "dropdown", "combobox", "multiselect"}


def declared_widgets(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """`{name: default}` for every `dbutils.widgets.<kind>("name", "default", ...)` call with literal arguments."""
    widgets = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue  # only converter-generated cells (checked there) reach here
        for node in ast.walk(tree):
            if _is_widget_call(node) and len(node.args) >= 1 and isinstance(node.args[0], ast.Constant):
                default = node.args[1].value if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) else ""
                widgets[node.args[0].value] = default
    return widgets


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
