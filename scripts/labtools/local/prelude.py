"""The first cell of every notebook run locally: the workspace stand-ins, before the lab's own cells.

The runner injects it into each kernel (`in_kernel=True`); the benchmark puts it at the top of the
plain-script variant of the lab, where IPython's `%config` does not exist. Its stand-ins are the kernel
package's (`labtools.kernel`), which the runner names here and never imports; what they are to do, the runner
says in the kernel's environment (`KernelConfig`, labtools/kernel_config.py), not in this cell's text.
"""

from __future__ import annotations

import re

from ..kernel_config import VARIABLE
from ..lab import PROJECT

SCRIPTS = PROJECT / "scripts"
# The package the kernel imports its stand-ins from: named, never imported, by the runner.
KERNEL_PACKAGE = "labtools.kernel"

_STAND_INS = f"""\
# Injected by scripts/run_lab.py: local stand-ins for what a Databricks workspace provides.
import sys
sys.path.insert(0, {str(SCRIPTS)!r})
from {KERNEL_PACKAGE} import standins as _standins
_standins.install(globals())  # as the runner's configuration, in {VARIABLE}, says
"""
_KERNEL_ONLY = """\
# Figures are shown as drawn; the default, cropping them tight, draws every figure twice.
get_ipython().run_line_magic("config", "InlineBackend.print_figure_kwargs = {'bbox_inches': None}")
"""
# Added when the runner starts its own server: the lab's slow imports, done while the server starts, those of
# them that the notebook uses. One it does not use (a learner's own notebook may use none) would only take a core
# from the server's start, and from a Spark notebook's JVM: so the Spark notebook is not given scikit-learn.
WARM_UP_MODULES = ("matplotlib.pyplot", "mlflow.sklearn", "sklearn.linear_model")
WARM_UP_SPARK_MODULES = ("matplotlib.pyplot", "mlflow.spark")
_IMPORTS_MLFLOW = re.compile(r"^[ \t]*(import|from)[ \t]+mlflow\b", re.MULTILINE)
# Added for a notebook that uses Spark: the session (seconds of JVM start-up) starts meanwhile too, its JVM
# starting in the background before the imports, which then run beside it on the machine's other core.
START_SPARK = "_standins.spark.start_in_background()  # the JVM starts while the libraries are imported\n"
WARM_UP_SPARK = "_standins.spark.session()  # started while the tracking server starts\n"
# Added in a serverless run: the Spark Connect client's libraries (its server is the runner's).
WARM_UP_CONNECT = "import pyspark.sql.connect.session, pyspark.ml  # the Spark Connect client, imported meanwhile\n"


def prelude(in_kernel: bool = True, warm_up: str = "", needs_spark: bool = False, serverless: bool = False) -> str:
    """The injected cell; `warm_up` is the notebook's code, given when its imports may be done while the
    runner's tracking server starts; `needs_spark`, whether the notebook uses Spark (convert.ConvertedNotebook);
    `serverless`, whether its Spark is a client of the runner's Spark Connect server (no JVM in the kernel)."""
    code = _STAND_INS
    start_spark = needs_spark and not serverless  # else the runner's server starts beside the tracking server
    if in_kernel:
        code += _KERNEL_ONLY
    if start_spark:
        code += START_SPARK
    if warm_up:
        code += warm_up_imports(warm_up, needs_spark)
    if serverless and needs_spark:
        code += WARM_UP_CONNECT
    if start_spark:
        code += WARM_UP_SPARK
    return code


def warm_up_imports(notebook_code: str, uses_spark: bool) -> str:
    """The import line for those of the lab's slow modules that `notebook_code` names ("" if none)."""
    candidates = WARM_UP_SPARK_MODULES if uses_spark else WARM_UP_MODULES
    modules = [module for module in candidates if re.search(rf"\b{re.escape(module)}\b", notebook_code)]
    if not any(module.startswith("mlflow") for module in modules) and _IMPORTS_MLFLOW.search(notebook_code):
        modules.append("mlflow")  # MLflow alone, the slowest of them, for a notebook that uses no model flavor
    return f"import {', '.join(modules)}  # imported while the server starts\n" if modules else ""
