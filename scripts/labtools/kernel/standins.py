"""Local stand-ins for what a Databricks workspace puts into a notebook.

On a cluster every notebook starts with `dbutils`, `display` and `spark`
defined. The local runner executes the same notebooks in a plain Jupyter
kernel, so its first (injected) cell calls `install()`, which reads the
runner's `KernelConfig` (labtools/kernel_config.py) from the kernel's
environment, to define:

- `dbutils.widgets` with job semantics: a value passed in (by a job, or by
  `run_lab.py --param`, or by `%run ./other $name=value` to the other notebook)
  wins over the default the notebook declares, and `get` of a name the notebook
  never declared fails, as it does on Databricks; text, dropdown, combobox and
  multiselect widgets;
- `dbutils.fs` over a local folder that stands for `dbfs:/`;
- `dbutils.notebook.exit(value)`: records the value a job would read as the
  notebook's output, and prints it as Databricks shows it; it stops nothing;
- `display`, IPython's: DataFrames render as tables, figures as images, and a Spark DataFrame as a
  table of its first rows, as a workspace shows it; `displayHTML`, an HTML string rendered;
- `%pip`, on a line of a Python cell as in a `%pip` cell: not run, a printed note says so (`skip_pip`). A local
  run's kernel uses the interpreter the runner runs on: `pip install` there would change it for every notebook
  after, and for the runner itself;
- `spark`, a local Spark session started on first use (`spark.py`), so that a notebook that never
  touches it does not pay for a JVM; with `serverless=True`, a Spark Connect session as on serverless
  compute;
- `sc` and `sqlContext`, the session's SparkContext and an SQLContext of it, as classic clusters define them
  (public notebooks use both), made on first use too; serverless compute defines neither ("Serverless compute
  limitations": Spark Context, `spark.sparkContext` and `sqlContext` are not supported), so in serverless mode
  they stay undefined and a notebook using them fails with NameError, as it would there.

`DATABRICKS_RUNTIME_VERSION` is not set, which is how the notebooks tell
where they run; in serverless mode `install()` sets it as serverless compute
does (`kernel_config.SERVERLESS_ENVIRONMENT`), so that the notebooks and MLflow
take their serverless paths.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

from IPython import get_ipython
from IPython.display import HTML
from IPython.display import display as ipython_display

from ..kernel_config import SERVERLESS_ENVIRONMENT, KernelConfig
from .spark import LocalSpark, first_rows, is_spark_dataframe


class InputWidgetNotDefined(Exception):
    """`dbutils.widgets.get` of a widget the notebook did not declare."""


class Widgets:
    def __init__(self, passed_values: dict[str, str] | None = None):
        self._passed = dict(passed_values or {})
        self._defaults: dict[str, str] = {}
        # The `$name=value` arguments of each `%run` being run, innermost last: they win over passed values.
        self._run_arguments: list[dict[str, str]] = []

    def text(self, name: str, defaultValue: str = "", label: str | None = None) -> None:  # noqa: N803 (Databricks' names)
        self._defaults[name] = str(defaultValue)

    def combobox(self, name: str, defaultValue: str, choices=(), label: str | None = None) -> None:  # noqa: N803
        self._defaults[name] = str(defaultValue)  # its choices are suggestions: any text is a valid value

    def dropdown(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:  # noqa: N803
        self._choice(name, defaultValue, choices, multiple=False)

    def multiselect(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:  # noqa: N803
        self._choice(name, defaultValue, choices, multiple=True)

    def _choice(self, name: str, default: str, choices: list[str], multiple: bool) -> None:
        """Declare a widget whose value must be one of `choices` (several, comma-separated, for a multiselect)."""
        choices = [str(choice) for choice in choices]
        for what, value in [("default", default), ("value", self._value_passed(name))]:
            if value is None:
                continue
            outside = [part for part in (str(value).split(",") if multiple else [str(value)]) if part not in choices]
            if outside:
                raise ValueError(f"widget {name!r}: {what} {value!r} is not one of its choices {choices}")
        self._defaults[name] = str(default)

    def _value_passed(self, name: str) -> str | None:
        if self._run_arguments and name in self._run_arguments[-1]:
            return self._run_arguments[-1][name]
        return self._passed.get(name)

    def get(self, name: str) -> str:
        if name not in self._defaults:
            raise InputWidgetNotDefined(f"No input widget named {name} is defined")
        passed = self._value_passed(name)
        return self._defaults[name] if passed is None else passed

    getArgument = get  # noqa: N815 (Databricks' name)

    def remove(self, name: str) -> None:
        self._defaults.pop(name, None)

    def removeAll(self) -> None:  # noqa: N802 (Databricks' name)
        self._defaults.clear()


class FileSystem:
    """`dbutils.fs` for `dbfs:/...` paths, stored under a local folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _local(self, path: str) -> Path:
        for prefix in ("dbfs:/", "/dbfs/", "/"):
            if path.startswith(prefix):
                path = path[len(prefix) :]
                break
        local = (self.root / path).resolve()
        if not local.is_relative_to(self.root.resolve()):
            raise ValueError(f"{path!r} points outside the local DBFS folder {self.root}")
        return local

    def ls(self, path: str) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self._local(path).iterdir())

    def mkdirs(self, path: str) -> bool:
        self._local(path).mkdir(parents=True, exist_ok=True)
        return True

    def put(self, path: str, contents: str, overwrite: bool = False) -> bool:
        target = self._local(path)
        if target.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists; pass overwrite=True")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(contents)
        return True

    def head(self, path: str, maxBytes: int = 65536) -> str:  # noqa: N803
        return self._local(path).read_bytes()[:maxBytes].decode("utf-8", "replace")

    def rm(self, path: str, recurse: bool = False) -> bool:
        target = self._local(path)
        if not target.exists():
            return False
        if target.is_dir():
            if not recurse:
                raise IsADirectoryError(f"{path} is a directory; pass recurse=True")
            shutil.rmtree(target)
        else:
            target.unlink()
        return True


class NotebookWorkflow:
    """`dbutils.notebook`. On Databricks `exit` ends the notebook and hands `value` to the job that ran it;
    the lab calls it in its last cell, so locally recording the value (and showing it) is all it takes."""

    def __init__(self):
        self.exit_value: str | None = None

    def exit(self, value) -> None:
        self.exit_value = str(value)
        print(f"Notebook exited: {self.exit_value}")


class Library:
    """`dbutils.library`. `restartPython()` restarts a workspace's Python process so that libraries a cell just
    installed are imported afresh; a local notebook runs in a kernel of its own, started for it, with its
    libraries installed up front, so it goes on. (The variables of earlier cells are kept, which a restart loses.)"""

    def restartPython(self) -> None:  # noqa: N802 (Databricks' name)
        print("Skipped locally: dbutils.library.restartPython() (this kernel was started for this notebook)")


class _NoValue:
    """An empty Scala `Option`, as the notebook context's accessors return one: `isDefined()` is False."""

    def isDefined(self) -> bool:  # noqa: N802 (Scala's name)
        return False

    def get(self):
        raise LookupError("None.get")  # Scala's java.util.NoSuchElementException


class _EmptyMap:
    def get(self, key: str) -> _NoValue:
        return _NoValue()


class NotebookContext:
    """`dbutils.notebook.entry_point.getDbutils().notebook().getContext()` knowing nothing: no notebook path,
    job, workspace URL or token, as outside a workspace. Only for serverless mode, where MLflow (which thinks
    it is in a workspace there) asks for it; the lab's setup then falls back as it does on older runtimes."""

    def tags(self) -> _EmptyMap:
        return _EmptyMap()

    extraContext = tags  # noqa: N815 (Databricks' name)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return _NoValue  # every other accessor: notebookPath(), jobId(), apiUrl(), apiToken(), ...


class _EntryPoint:
    """The smallest part of a workspace's `dbutils.entry_point` that MLflow calls on import: its context."""

    def getDbutils(self):  # noqa: N802 (Databricks' name)
        return self

    def notebook(self):
        return self

    def getContext(self) -> NotebookContext:  # noqa: N802
        return NotebookContext()


class DBUtils:
    def __init__(self, widget_values: dict[str, str], fs_root: str | Path, serverless: bool = False):
        self.widgets = Widgets(widget_values)
        self.fs = FileSystem(fs_root)
        self.notebook = NotebookWorkflow()
        self.library = Library()
        if serverless:
            self.entry_point = self.notebook.entry_point = _EntryPoint()


dbutils: DBUtils | None = None
spark: LocalSpark | None = None


class Lazy:
    """A name a classic cluster defines from its Spark session (`sc`, `sqlContext`), made by `make()` when first
    used: defining it must not start the JVM that a notebook which never touches Spark does not need. It is a
    stand-in, not the object: pass `sc` itself to a function that checks its type and it will not do."""

    def __init__(self, make, description: str):
        self._make = make
        self._description = description
        self._made = None

    def __getattr__(self, name: str):
        if name.startswith("__"):  # copy, pickle and IPython probing the stand-in, not the object's API
            raise AttributeError(name)
        if self._made is None:
            self._made = self._make()
        return getattr(self._made, name)

    def __repr__(self) -> str:
        return repr(self._made) if self._made is not None else f"<{self._description}, made on first use>"


def _sql_context():
    from pyspark.sql import SQLContext

    session = spark.session()
    return SQLContext(session.sparkContext, session)  # given the session, pyspark does not warn it is deprecated


def install(namespace: dict, config: KernelConfig | None = None) -> None:
    """Define `dbutils`, `display` and `spark` in the notebook's namespace (and in classic mode `sc` and
    `sqlContext`), as `config` says: by default the runner's, from this kernel's environment (the one place the
    kernel reads it)."""
    global dbutils, spark
    config = config or KernelConfig.from_environment()
    if config.serverless:  # what serverless compute sets in a notebook's environment, before anything reads it
        os.environ.update(SERVERLESS_ENVIRONMENT)
    dbutils = DBUtils(config.widget_values, config.fs_root, config.serverless)
    spark = LocalSpark(
        config.spark_dir,
        config.lab_data,
        serverless=config.serverless,
        connect_url=config.spark_connect_url,
        java_problem=config.java_problem,
        unity_catalog=config.unity_catalog,
    )
    namespace.update(dbutils=dbutils, display=display, displayHTML=display_html, spark=spark)
    shell = get_ipython()
    if shell is not None:  # in the notebook's kernel (tests may install into a plain namespace)
        shell.register_magic_function(skip_pip, "line", "pip")
    if not config.serverless:
        namespace.update(
            sc=Lazy(lambda: spark.sparkContext, "the local Spark session's SparkContext"),
            sqlContext=Lazy(_sql_context, "an SQLContext of the local Spark session"),
        )


def display(value, *more) -> None:
    """`display` as a workspace has it: a Spark DataFrame as a table of its first rows, the rest as IPython shows it."""
    for item in (value, *more):
        ipython_display(first_rows(item) if is_spark_dataframe(item) else item)


def display_html(html: str) -> None:
    """`displayHTML` as a workspace has it: the HTML string rendered as the cell's output."""
    ipython_display(HTML(html))


def skip_pip(arguments: str) -> None:
    """A `%pip` cell, or a `%pip` line in a Python cell (IPython calls this as the `pip` line magic): not run."""
    print(
        f"Skipped locally: %pip {arguments} (a local run uses the packages installed where it runs: install what the "
        "notebook needs there first)"
    )


def run_sql(query: str) -> None:
    """A `%sql` cell: the query through the local Spark session, its result shown as a table."""
    result = spark.sql(query)
    if result.columns:
        display(result)


def enter_run(arguments: dict[str, str]) -> None:
    """Before the cells of `%run ./other $name=value`: the arguments become the widget values they run with."""
    dbutils.widgets._run_arguments.append(dict(arguments))


def leave_run() -> None:
    dbutils.widgets._run_arguments.pop()


def run_shell(script: str) -> None:
    """A `%sh` cell: run the script with sh, print its output, fail on a non-zero exit."""
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True)
    print(result.stdout, end="")
    print(result.stderr, end="")
    if result.returncode:
        raise RuntimeError(f"%sh exited with status {result.returncode}")


def run_fs_magic(command_line: str):
    """A `%fs` cell, such as `%fs rm -r dbfs:/tmp/x`, through the local `dbutils.fs`."""
    words = shlex.split(command_line)
    if not words:
        raise ValueError("%fs needs a command, e.g. %fs ls dbfs:/")
    command, args = words[0], words[1:]
    recurse = "-r" in args
    args = [a for a in args if a != "-r"]
    if command == "ls":
        return dbutils.fs.ls(args[0] if args else "/")
    if command == "rm":
        return dbutils.fs.rm(args[0], recurse=recurse)
    if command == "mkdirs":
        return dbutils.fs.mkdirs(args[0])
    if command == "head":
        return dbutils.fs.head(args[0])
    raise ValueError(f"%fs {command} is not available locally (ls, rm, mkdirs, head are)")
