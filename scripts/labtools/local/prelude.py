"""The first cell of every notebook run locally: the workspace stand-ins, before the lab's own cells.

The runner injects it into each kernel (`in_kernel=True`); the benchmark puts it at the top of the
plain-script variant of the lab, where IPython's `%config` does not exist.
"""

from __future__ import annotations

from ..lab import PROJECT

SCRIPTS = PROJECT / "scripts"

_STAND_INS = """\
# Injected by scripts/run_lab.py: local stand-ins for what a Databricks workspace provides.
import sys
sys.path.insert(0, {scripts!r})
from labtools.local import runtime as _local_runtime
_local_runtime.install(globals(), widget_values={params!r}, fs_root={fs_root!r})
"""
_KERNEL_ONLY = """\
# Figures are shown as drawn; the default, cropping them tight, draws every figure twice.
get_ipython().run_line_magic("config", "InlineBackend.print_figure_kwargs = {'bbox_inches': None}")
"""
# Added when the runner starts its own server: the lab's slow imports, done while the server starts.
WARM_UP_IMPORTS = "import matplotlib.pyplot, mlflow.sklearn, sklearn.linear_model  # imported while the server starts\n"


def prelude(params: dict[str, str], fs_root: str, in_kernel: bool = True, warm_up: bool = False) -> str:
    code = _STAND_INS.format(scripts=str(SCRIPTS), params=params, fs_root=str(fs_root))
    if in_kernel:
        code += _KERNEL_ONLY
    if warm_up:
        code += WARM_UP_IMPORTS
    return code
