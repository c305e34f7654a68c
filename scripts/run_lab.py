#!/usr/bin/env python3
"""Run the lab's notebooks locally, against a real MLflow tracking server.

    python scripts/run_lab.py                      # start a server, run the lab, print the runs
    python scripts/run_lab.py --data nyc-taxi.csv  # use this CSV file of trips
    python scripts/run_lab.py --keep-server        # then leave the MLflow UI up until Ctrl-C
    python scripts/run_lab.py --tracking-uri http://127.0.0.1:5000   # use a running server

The notebooks are the same Databricks source files a workspace imports. Each is
converted (see labrunner/convert.py), executed cell by cell in a Jupyter kernel
with local stand-ins for `dbutils` and `display`, and saved executed as
`.ipynb` under the output folder, next to the tracking server's store.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
from pathlib import Path

COMMAND_STARTED = time.monotonic()
# When the start-up steps finished, in seconds since COMMAND_STARTED (printed by --timings).
STARTUP: dict[str, float] = {}
SCRIPTS = Path(__file__).resolve().parent
PROJECT = SCRIPTS.parent
sys.path.insert(0, str(SCRIPTS))

import nbformat  # noqa: E402

from labrunner import convert, profiles, runs_table  # noqa: E402
from labrunner.dbsource import NotebookFormatError  # noqa: E402
from labrunner.execute import CellFailed, NotebookRun  # noqa: E402
from labrunner.tracking_server import TrackingServer, TrackingServerError  # noqa: E402
from labrunner.widgets import declared_widgets  # noqa: E402

DEFAULT_OUT = PROJECT / ".lab-output"
RUNNER_MARKER = ".created-by-run_lab"
# What the runner writes under --out: the tracking store, executed notebooks, the local stand-in for DBFS.
OUTPUT_FOLDERS = ("mlflow", "executed", "dbfs")

# Executed first in each kernel: the workspace stand-ins, and the slow imports,
# which overlap the tracking server's start-up.
INJECTED_CELL = """\
# Injected by scripts/run_lab.py: local stand-ins for what a Databricks workspace provides.
import sys
sys.path.insert(0, {scripts!r})
from labrunner import local_runtime as _local_runtime
_local_runtime.install(globals(), widget_values={params!r}, fs_root={fs_root!r})
# Figures are shown as drawn; the default, cropping them tight, draws every figure twice.
get_ipython().run_line_magic("config", "InlineBackend.print_figure_kwargs = {{'bbox_inches': None}}")
"""
# Added to the injected cell when the runner starts a server: the lab's slow imports, done while it starts.
WARM_UP_IMPORTS = "import matplotlib.pyplot, mlflow.sklearn, sklearn.linear_model  # imported while the server starts\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: every notebook in notebooks/, in name order)")
    parser.add_argument("--data", type=Path, help="CSV file of trips (sets the data_path parameter)")
    parser.add_argument("--tracking-uri", help="use this running tracking server instead of starting one")
    parser.add_argument("--port", type=int, help="port for the tracking server (default: a free one)")
    parser.add_argument("--keep-server", action="store_true",
                        help="after the run, leave the server up and print the experiment's URL; Ctrl-C stops it")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a notebook parameter (widget) value; may be repeated")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output folder: tracking store, executed notebooks (default: {DEFAULT_OUT.name}/)")
    parser.add_argument("--cell-timeout", type=float, default=600, help="seconds a cell may run (default: 600)")
    parser.add_argument("--timings", action="store_true", help="print each cell's wall time after the run")
    parser.add_argument("--profile", help="run server and kernel in the virtual environment of profiles/<PROFILE>.txt "
                                          "(a Databricks ML runtime's versions), or 'all' profiles in turn")
    parser.add_argument("--ui", action="store_true",
                        help="serve the MLflow UI on the store of an earlier run in --out, without running the lab")
    parser.add_argument("--clean", action="store_true",
                        help="remove what earlier runs created in the output folder, saying what, and exit")
    return parser.parse_args(argv)  # fmt: skip


class UsageError(Exception):
    pass


def parse_params(pairs: list[str], data: Path | None) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise UsageError(f"--param {pair!r}: expected KEY=VALUE")
        params[key] = value
    if data is not None:
        if not data.is_file():
            raise UsageError(f"--data {data}: no such file")
        params["data_path"] = str(data.resolve())
    return params


def default_notebooks() -> list[Path]:
    return sorted((PROJECT / "notebooks").glob("*.py"))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.clean:
        return clean(args.out.resolve())
    if args.ui:
        return serve_ui(args.out.resolve(), args.port)
    if args.profile == "all":
        return run_every_profile(argv, args.out.resolve())
    try:
        params = parse_params(args.param, args.data)
        notebook_paths = [path.resolve() for path in args.notebooks] or default_notebooks()
        notebooks = {path: convert.to_ipynb(path, root=PROJECT) for path in notebook_paths}
        check_params(params, notebooks)
        python = profile_python(args) if args.profile else sys.executable
    except (UsageError, NotebookFormatError, OSError, profiles.ProfileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    out = args.out.resolve()
    try:
        store, executed, dbfs = (runner_folder(out / name) for name in OUTPUT_FOLDERS)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    server = None
    if args.tracking_uri:
        tracking_uri = args.tracking_uri
    else:
        server = TrackingServer(store, port=args.port, python=python)
        if args.port and server.port != args.port:
            print(f"Port {args.port} is taken; using {server.port} instead.")
        tracking_uri = server.uri

    started_ms = int(time.time() * 1000)
    runs: list[NotebookRun] = []
    # `kill` and a closed terminal stop the runner as Ctrl-C does: through the clean-up below.
    for signal_number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signal_number, raise_keyboard_interrupt)
    try:
        if server:
            server.start()
            print(f"Starting MLflow tracking server at {tracking_uri} (store: {server.store})")
        for path, notebook in notebooks.items():
            run = NotebookRun(notebook, cwd=path.parent, cell_timeout=args.cell_timeout, python=python)
            runs.append(run)
            execute_notebook(run, path, notebook, params, tracking_uri, executed, dbfs, server)
        lab_runs = runs_table.runs_since(tracking_uri, started_ms)
        print(f"\nMLflow runs logged to {tracking_uri}:\n{runs_table.format_runs(lab_runs)}")
        if args.timings:
            print_timings(runs)
        if args.keep_server and server:
            keep_serving(server, lab_runs)
        return 0
    except CellFailed as failure:
        if failure.reason.startswith("KeyboardInterrupt"):
            print("\nInterrupted: stopping the kernel and the tracking server.", file=sys.stderr)
            return 130
        print(f"\nerror: {f'profile {args.profile}: ' if args.profile else ''}{failure}", file=sys.stderr)
        if failure.traceback:
            print(failure.traceback, file=sys.stderr)
        if server and not server.is_alive():
            print(f"The tracking server stopped during the run; its log ends:\n{server.log_tail()}", file=sys.stderr)
        return 1
    except TrackingServerError as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("\nInterrupted: stopping the kernel and the tracking server.", file=sys.stderr)
        return 130
    finally:
        for run in runs:
            run.stop()
        if server:
            server.stop()


def raise_keyboard_interrupt(signal_number, frame):
    raise KeyboardInterrupt(signal.Signals(signal_number).name)


def check_params(params: dict[str, str], notebooks: dict) -> None:
    declared = {name for notebook in notebooks.values() for name in declared_widgets(notebook)}
    unknown = sorted(set(params) - declared)
    if unknown:
        raise UsageError(
            f"unknown parameter(s) {', '.join(unknown)}; the notebooks declare: {', '.join(sorted(declared))}"
        )


def runner_folder(folder: Path) -> Path:
    """A folder of the runner's output. A re-run adds to it; a folder someone else made is refused."""
    if folder.exists() and any(folder.iterdir()) and not (folder / RUNNER_MARKER).exists():
        raise UsageError(f"{folder} exists and was not created by run_lab.py; choose another --out")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RUNNER_MARKER).touch()
    return folder


def clean(out: Path) -> int:
    """Remove the output folders the runner created (they hold its marker file), and nothing else."""
    created = [out / name for name in OUTPUT_FOLDERS if (out / name / RUNNER_MARKER).exists()]
    if not created:
        print(f"Nothing to remove: no folder in {out} was created by run_lab.py.")
        return 0
    for folder in created:
        print(f"Removing {folder}")
        shutil.rmtree(folder)
    return 0


def execute_notebook(run, path, notebook, params, tracking_uri, executed, dbfs, server) -> None:
    relative = path.relative_to(PROJECT) if path.is_relative_to(PROJECT) else path
    print(f"\nRunning {relative}")
    code = INJECTED_CELL.format(scripts=str(SCRIPTS), params=params, fs_root=str(dbfs))
    injected = nbformat.v4.new_code_cell(code + (WARM_UP_IMPORTS if server else ""))
    injected.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(0, injected)

    env = {key: value for key, value in os.environ.items() if not key.startswith("DATABRICKS_")}
    env["MLFLOW_TRACKING_URI"] = tracking_uri
    env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "2"  # a local server that stops answering will not come back
    # MLflow 2.13 (profile 15.4-lts-ml) imports setuptools in log_model; in a kernel, whose IPython has
    # already imported distutils, setuptools then warns on every later call. A local artefact: keep it out.
    env["SETUPTOOLS_USE_DISTUTILS"] = "stdlib"
    started = time.monotonic()
    total = sum(cell.cell_type == "code" for cell in notebook.cells)
    count = 0

    def progress(description: str) -> None:
        nonlocal count
        count += 1
        print(f"  [{count:>2}/{total}] {time.monotonic() - started:6.1f}s  {description}", flush=True)

    executed_path = executed / (path.stem + ".ipynb")
    try:
        run.start(env=env, log_path=executed / "kernel.log")
        STARTUP.setdefault("kernel ready", since_start())
        run.run_cells(range(0, 1), progress, timeout=300)  # imports, whatever --cell-timeout says
        STARTUP.setdefault("imports done", since_start())
        if server:
            server.wait_ready()
            STARTUP.setdefault("server ready", since_start())
        STARTUP.setdefault("first lab cell starts", since_start())
        run.run_cells(range(1, len(notebook.cells)), progress)
    finally:
        nbformat.write(notebook, executed_path)
    print(f"  done in {time.monotonic() - started:.1f}s; executed notebook: {executed_path}")


def since_start() -> float:
    return time.monotonic() - COMMAND_STARTED


def print_timings(runs: list[NotebookRun]) -> None:
    milestones = ", ".join(f"{name} {seconds:.1f}" for name, seconds in STARTUP.items())
    print(f"\nStart-up (seconds since the runner started): {milestones}")
    print("Cell timings (wall seconds):")
    for run in runs:
        for description, seconds in run.cell_seconds:
            print(f"  {seconds:7.2f}  {description}")


def serve_ui(out: Path, port: int | None) -> int:
    """`--ui`: the MLflow UI on an earlier run's store, until Ctrl-C."""
    store = out / "mlflow"
    if not (store / RUNNER_MARKER).exists():
        print(f"error: no tracking store of run_lab.py in {out}; run the lab first, or pass its --out", file=sys.stderr)
        return 2
    server = TrackingServer(store, port=port)
    try:
        server.start().wait_ready()
        keep_serving(server, runs_table.runs_since(server.uri, 0))
        return 0
    except TrackingServerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    finally:
        server.stop()


def keep_serving(server: TrackingServer, lab_runs: list[runs_table.Run]) -> None:
    experiment_ids = sorted({run.experiment_id for run in lab_runs})
    print(f"\nThe MLflow UI is at {server.uri}")
    for experiment_id in experiment_ids:
        print(f"  experiment: {server.uri}/#/experiments/{experiment_id}")
    for run in lab_runs:
        print(f"  run {run.run_name}: {server.uri}/#/experiments/{run.experiment_id}/runs/{run.run_id}")
    print("Press Ctrl-C to stop the server.", flush=True)
    try:
        while server.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping the tracking server.")
        return
    raise TrackingServerError(f"the tracking server stopped; its log ends:\n{server.log_tail()}")


def profile_python(args: argparse.Namespace) -> str:
    """The interpreter of the profile's virtual environment, built on first use."""
    if args.tracking_uri:
        raise UsageError("--profile starts the tracking server from the profile's environment; drop --tracking-uri")
    return profiles.ensure_venv(profiles.load(args.profile)).python


def run_every_profile(argv: list[str] | None, out: Path) -> int:
    """`--profile all`: each profile as a full run of its own into OUT/<profile>, then a summary table."""
    rest = profiles.without_options(sys.argv[1:] if argv is None else argv, ["--profile", "--out"])
    results = profiles.run_all(Path(__file__), rest, out)
    print(f"\nRuntime profiles:\n{profiles.format_results(results)}")
    return 1 if any(result.returncode for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
