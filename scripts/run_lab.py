#!/usr/bin/env python3
"""Run the lab's notebooks locally, against a real MLflow tracking server.

    python scripts/run_lab.py                      # start a server, run the labs, print the runs and the models
    python scripts/run_lab.py --data trips.csv     # use this CSV file of trips, not the lab's data/nyc-taxi.csv
    python scripts/run_lab.py --synthetic 100000   # made-up trips, as many as that
    python scripts/run_lab.py --keep-server        # then leave the MLflow UI up until Ctrl-C
    python scripts/run_lab.py --tracking-uri http://127.0.0.1:5000   # use a running server
    python scripts/run_lab.py --lang ja            # the Japanese notebooks (notebooks/ja/)
    python scripts/run_lab.py --serverless         # as serverless compute runs them (Spark Connect, volumes)
    python scripts/run_lab.py --runtime 15.4       # with the library versions Databricks Runtime 15.4 LTS ML ships

The notebooks are the same Databricks source files a workspace imports. Each is converted
(labtools/local/convert.py), executed cell by cell in a Jupyter kernel with local stand-ins for
`dbutils` and `display`, and saved executed as `.ipynb` under the output folder, next to the
tracking server's store.

Exit status: 0 done, 1 a cell failed, 2 bad input (an option, a notebook, a file, the output
folder, a runtime), 3 the tracking server failed, 4 a kernel did not start, 5 a notebook you named
needs Java or pyspark, which this machine lacks, 130 interrupted.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labtools import lab  # noqa: E402 (needs the path above when run as a script)
from labtools.kernel_config import SERVERLESS_ENVIRONMENT, VOLUMES  # noqa: E402
from labtools.local import errors, prerequisites, registry_table, runs_table, runtimes  # noqa: E402
from labtools.local import synthetic as synthetic_data  # noqa: E402
from labtools.local.convert import ConvertedNotebook  # noqa: E402
from labtools.local.errors import UsageError  # noqa: E402
from labtools.local.local_run import LocalRun  # noqa: E402
from labtools.local.output import DEFAULT_OUT, OutputFolders  # noqa: E402

# --runtime's old name, still accepted with a note: the word is deploy.py's, for a section of ~/.databrickscfg.
OLD_RUNTIME_OPTION = "--profile"

# Widget values the runner gives when --param does not, to the notebooks that declare the widget. The Managing
# Models notebooks delete their registered model at the end unless keep_model is yes, which a workspace shared by a
# class wants; locally the store is the learner's own, so the runner keeps the model: the closing table then shows
# the registry (model, latest version, aliases), the MLflow UI the model's page, and a second run adds versions.
LOCAL_DEFAULTS = {"keep_model": "yes"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.rsplit("\n\n", 1)[1])
    parser.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        help="notebooks to run (default: every notebook in notebooks/, or notebooks/<lang>/, in name order)",
    )
    parser.add_argument(
        "--lang",
        choices=lab.LANGUAGES,
        default=lab.SOURCE_LANGUAGE,
        help="the notebooks' language: en (notebooks/) or ja (notebooks/ja/); the runs are the same",
    )
    parser.add_argument(
        "--data",
        type=Path,
        help="CSV file of trips (sets the data_path parameter; default: the lab's data/nyc-taxi.csv)",
    )
    parser.add_argument(
        "--synthetic",
        type=int,
        metavar="ROWS",
        help="made-up trips instead of the lab's data, written to a CSV file under --out that becomes "
        "data_path (so does data_path=synthetic:ROWS)",
    )
    parser.add_argument("--tracking-uri", help="use this running tracking server instead of starting one")
    parser.add_argument("--port", type=int, help="port for the tracking server (default: a free one)")
    parser.add_argument(
        "--keep-server",
        action="store_true",
        help="after the run, leave the server up and print the experiment's URL; Ctrl-C stops it",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a notebook parameter (widget) value; may be repeated (default keep_model=yes: the models stay)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"output folder: tracking store, executed notebooks (default: {DEFAULT_OUT.name}/)",
    )
    parser.add_argument("--cell-timeout", type=float, default=600, help="seconds a cell may run (default: 600)")
    parser.add_argument("--timings", action="store_true", help="print each cell's wall time after the run")
    parser.add_argument(
        "--serverless",
        action="store_true",
        help="run the notebooks as serverless compute would: a Spark Connect session that refuses "
        "cache(), DATABRICKS_RUNTIME_VERSION as serverless sets it, /Volumes for Unity Catalog "
        "volumes, a working directory that is not the notebook's",
    )
    parser.add_argument(
        "--runtime",
        metavar="NAME",
        help="run server and kernel with the library versions a Databricks ML runtime ships, in "
        "a virtual environment of runtimes/<NAME>.txt: 15.4, 16.4, 17.3, 18, latest "
        "(requirements.txt), or 'all' in turn",
    )
    parser.add_argument(OLD_RUNTIME_OPTION, dest="old_runtime_option", metavar="NAME", help=argparse.SUPPRESS)
    parser.add_argument(
        "--ui",
        action="store_true",
        help="serve the MLflow UI on the store of an earlier run in --out, without running the lab",
    )
    parser.add_argument(
        "--clean",
        action="store_true",
        help="remove what earlier runs created in the output folder, saying what, and exit",
    )
    args = parser.parse_args(argv)
    args.runtime_option = "--runtime"
    if args.old_runtime_option is not None:
        print(
            f"note: {OLD_RUNTIME_OPTION} is now --runtime (run_lab.py --runtime {args.old_runtime_option}); "
            f"{OLD_RUNTIME_OPTION} still works for now",
            file=sys.stderr,
        )
        if args.runtime is not None:
            parser.error(f"--runtime and {OLD_RUNTIME_OPTION} are the same option; pass --runtime once")
        args.runtime, args.runtime_option = args.old_runtime_option, OLD_RUNTIME_OPTION
    return args


def parse_params(pairs: list[str], data: Path | None, synthetic: int | None) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise UsageError(f"--param {pair!r}: expected KEY=VALUE")
        params[key] = value
    if data is not None and synthetic is not None:
        raise UsageError("--data and --synthetic both choose the data; pass one of them")
    if data is not None:
        if data.is_dir():
            raise UsageError(f"--data {data}: is a folder; pass the CSV file itself")
        if not data.is_file():
            raise UsageError(f"--data {data}: no such file")
        params["data_path"] = str(data.resolve())
    if synthetic is not None:
        if synthetic < 1:
            raise UsageError(f"--synthetic {synthetic}: the number of made-up trips must be at least 1")
        params["data_path"] = f"{synthetic_data.PREFIX}{synthetic}"
    synthetic_data.rows_of(params.get("data_path", ""))  # a malformed synthetic:ROWS is refused here
    return params


def declared_widgets(notebooks: dict[Path, ConvertedNotebook]) -> set[str]:
    return {name for notebook in notebooks.values() for name in notebook.widgets}


def check_params(params: dict[str, str], notebooks: dict[Path, ConvertedNotebook]) -> None:
    declared = declared_widgets(notebooks)
    unknown = sorted(set(params) - declared)
    if unknown:
        raise UsageError(
            f"unknown parameter(s) {', '.join(unknown)}; the notebooks declare: {', '.join(sorted(declared))}"
        )


def with_local_defaults(params: dict[str, str], notebooks: dict[Path, ConvertedNotebook]) -> dict[str, str]:
    """`params`, plus each of LOCAL_DEFAULTS that one of the notebooks declares and --param did not set."""
    declared = declared_widgets(notebooks)
    return {**{key: value for key, value in LOCAL_DEFAULTS.items() if key in declared}, **params}


def run_lab(args: argparse.Namespace) -> int:
    params = parse_params(args.param, args.data, args.synthetic)
    if not args.cell_timeout > 0 or math.isinf(args.cell_timeout):
        raise UsageError(f"--cell-timeout {args.cell_timeout:g}: a cell needs a time limit of more than 0 seconds")
    if args.notebooks and args.lang != lab.SOURCE_LANGUAGE:
        raise UsageError("--lang picks the notebooks to run; name notebooks or pass --lang, not both")
    notebook_paths = [path.resolve() for path in args.notebooks] or lab_notebook_files(args.lang)
    notebooks = {path: ConvertedNotebook.read(path, root=lab.PROJECT) for path in notebook_paths}
    check_params(params, notebooks)
    params = with_local_defaults(params, notebooks)
    python = runtime_python(args) if args.runtime else sys.executable

    found = prerequisites.check(python, args.serverless, any(notebook.needs_spark for notebook in notebooks.values()))
    skipped = skip_spark_notebooks(notebooks, found.spark)
    if found.volumes:
        raise UsageError(f"--serverless: {found.volumes}")

    with (
        OutputFolders(args.out.resolve()).lock() as folders,
        LocalRun(
            folders.create(),
            args.tracking_uri,
            args.port,
            python,
            args.cell_timeout,
            serverless=args.serverless,
            java_problem=found.java,
        ) as run,
    ):
        if args.serverless:
            print(
                "Serverless mode: Spark Connect without cache(), DATABRICKS_RUNTIME_VERSION="
                f"{SERVERLESS_ENVIRONMENT['DATABRICKS_RUNTIME_VERSION']}, {VOLUMES} for volumes."
            )
        if args.port and run.server and run.server.port != args.port:
            print(f"Port {args.port} is taken; using {run.server.port} instead.")
        if rows := synthetic_data.rows_of(params.get("data_path", "")):
            params["data_path"] = str(synthetic_data.write_csv(rows, folders.dbfs))
            print(f"Synthetic data: {rows:,} made-up trips in {params['data_path']} (data_path)")
        for path, notebook in notebooks.items():
            run.execute(path, notebook, params)
        mlflow_runs = run.logged_runs()
        ran = ", ".join(display_path(path) for path in notebooks)
        print(f"\nMLflow runs logged to {run.tracking_uri} by {ran}:\n{runs_table.format_runs(mlflow_runs)}")
        if models := registry_table.summary(run.tracking_uri, [mlflow_run.run_id for mlflow_run in mlflow_runs]):
            print(f"\n{models}")
        if args.timings:
            print(run.timings())
        if args.keep_server and run.server:
            run.serve_until_interrupted(mlflow_runs)
    # A Spark notebook the user asked for by name, and could not run, is a failure; one run by default is not.
    return errors.MISSING_PREREQUISITE if skipped and args.notebooks else errors.OK


def lab_notebook_files(lang: str) -> list[Path]:
    """The lab notebooks in `lang` (labtools.lab.LAB_NOTEBOOKS), in order; a folder that disagrees is bad input."""
    try:
        return lab.lab_notebook_files(lang)
    except lab.NotebookListError as error:
        raise UsageError(str(error)) from None


def skip_spark_notebooks(notebooks: dict[Path, ConvertedNotebook], problem: str | None) -> list[Path]:
    """Take out the notebooks that need Spark when this machine cannot start it (`problem`), saying what to install."""
    if not problem:
        return []
    spark_notebooks = [path for path, notebook in notebooks.items() if notebook.needs_spark]
    for path in spark_notebooks:
        print(f"Skipping {display_path(path)}: {problem}", file=sys.stderr)
        del notebooks[path]
    return spark_notebooks


def display_path(path: Path) -> str:
    """`notebooks/ja/01-....py` for a notebook of the project, else the path as it is."""
    return path.relative_to(lab.PROJECT).as_posix() if path.is_relative_to(lab.PROJECT) else str(path)


def serve_ui(args: argparse.Namespace) -> int:
    """`--ui`: the MLflow UI on an earlier run's store, until Ctrl-C."""
    folders = OutputFolders(args.out.resolve())
    if not folders.has_store():
        raise UsageError(f"no tracking store of run_lab.py in {folders.out}; run the lab first, or pass its --out")
    with folders.lock(), LocalRun(folders, port=args.port) as run:
        run.wait_for_server()
        run.serve_until_interrupted(runs_table.runs_of(run.tracking_uri))
    return 0


def clean(args: argparse.Namespace) -> int:
    folders = OutputFolders(args.out.resolve())
    if not folders.out.is_dir():
        print(f"Nothing to remove: there is no folder {folders.out}.")
        return 0
    with folders.lock():
        removed = folders.remove()
    for folder in removed:
        print(f"Removing {folder}")
    if not removed:
        print(f"Nothing to remove: no folder in {folders.out} was created by run_lab.py.")
    return 0


def runtime_python(args: argparse.Namespace) -> str:
    """The interpreter of the runtime's virtual environment, built on first use."""
    if args.tracking_uri:
        raise UsageError(
            f"{args.runtime_option} starts the tracking server from the runtime's environment; drop --tracking-uri"
        )
    try:
        return runtimes.ensure_venv(runtimes.load(args.runtime)).python
    except runtimes.RuntimeVersionsError as error:
        raise UsageError(str(error)) from None


def run_every_runtime(argv: list[str] | None, args: argparse.Namespace) -> int:
    """`--runtime all`: each runtime as a full run of its own into OUT/<runtime>, then a summary table."""
    options = ["--runtime", OLD_RUNTIME_OPTION, "--out"]
    rest = runtimes.without_options(sys.argv[1:] if argv is None else argv, options)
    results = runtimes.run_all(Path(__file__), rest, args.out.resolve())
    print(f"\nRuntimes:\n{runtimes.format_results(results)}")
    return 1 if any(result.returncode for result in results) else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.clean:
        command = clean
    elif args.ui:
        command = serve_ui
    elif args.runtime == "all":
        return errors.boundary(lambda: run_every_runtime(argv, args))
    else:
        command = run_lab
    prefix = f"runtime {args.runtime}: " if args.runtime else ""
    return errors.boundary(lambda: command(args), prefix=prefix)


if __name__ == "__main__":
    sys.exit(main())
