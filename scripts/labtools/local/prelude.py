"""The first cell of every notebook run locally: the workspace stand-ins, before the lab's own cells.

The runner injects it into each kernel (`in_kernel=True`); the benchmark puts it at the top of the
plain-script variant of the lab, where IPython's `%config` does not exist.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..lab import LAB_DATA, PROJECT

SCRIPTS = PROJECT / "scripts"

_STAND_INS = """\
# Injected by scripts/run_lab.py: local stand-ins for what a Databricks workspace provides.
import sys
sys.path.insert(0, {scripts!r})
from labtools.local import standins as _standins
_standins.install(globals(), widget_values={params!r}, fs_root={fs_root!r}, spark_dir={spark_dir!r},
                       lab_data={lab_data!r}, serverless={serverless!r}, spark_remote={spark_remote!r})
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


def prelude(params: dict[str, str], fs_root: str, in_kernel: bool = True, warm_up: str = "",
            spark_dir: str | None = None, uses_spark: bool = False, serverless: bool = False,
            spark_remote: str | None = None) -> str:  # fmt: skip
    """The injected cell; `warm_up` is the notebook's code, given when its imports may be done while the
    runner's tracking server starts; `spark_dir` holds the local Spark session's warehouse and scratch files;
    `spark_remote` is a serverless run's Spark Connect server, which the notebook connects to on first use."""
    spark_dir = spark_dir or str(Path(fs_root).parent / "spark")
    code = _STAND_INS.format(scripts=str(SCRIPTS), params=params, fs_root=str(fs_root), spark_dir=spark_dir,
                             lab_data=str(LAB_DATA), serverless=serverless, spark_remote=spark_remote)  # fmt: skip
    start_spark = uses_spark and not spark_remote  # else the runner's server starts beside the tracking server
    if in_kernel:
        code += _KERNEL_ONLY
    if start_spark:
        code += START_SPARK
    if warm_up:
        code += warm_up_imports(warm_up, uses_spark)
    if spark_remote and uses_spark:
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
