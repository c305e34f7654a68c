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
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
PROJECT = SCRIPTS.parent
sys.path.insert(0, str(SCRIPTS))

import nbformat  # noqa: E402

from labrunner import convert, runs_table  # noqa: E402
from labrunner.dbsource import NotebookFormatError  # noqa: E402
from labrunner.execute import CellFailed, NotebookRun  # noqa: E402
from labrunner.tracking_server import TrackingServer, TrackingServerError  # noqa: E402
from labrunner.widgets import declared_widgets  # noqa: E402

DEFAULT_OUT = PROJECT / ".lab-output"
STORE_MARKER = ".created-by-run_lab"

# Executed first in each kernel: the workspace stand-ins, and the slow imports,
# which overlap the tracking server's start-up.
INJECTED_CELL = """\
# Injected by scripts/run_lab.py: local stand-ins for what a Databricks workspace provides.
import sys
sys.path.insert(0, {scripts!r})
from labrunner import local_runtime as _local_runtime
_local_runtime.install(globals(), widget_values={params!r}, fs_root={fs_root!r})
import matplotlib.pyplot, mlflow.sklearn, sklearn.linear_model  # imported now, while the server starts
"""


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
    try:
        params = parse_params(args.param, args.data)
        notebook_paths = [path.resolve() for path in args.notebooks] or default_notebooks()
        notebooks = {path: convert.to_ipynb(path, root=PROJECT) for path in notebook_paths}
        check_params(params, notebooks)
    except (UsageError, NotebookFormatError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    out = args.out.resolve()
    server = None
    if args.tracking_uri:
        tracking_uri = args.tracking_uri
    else:
        try:
            store = prepare_store(out / "mlflow")
        except UsageError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        server = TrackingServer(store, port=args.port)
        if args.port and server.port != args.port:
            print(f"Port {args.port} is taken; using {server.port} instead.")
        tracking_uri = server.start().uri
        print(f"Starting MLflow tracking server at {tracking_uri} (store: {server.store})")

    started_ms = int(time.time() * 1000)
    runs: list[NotebookRun] = []
    try:
        for path, notebook in notebooks.items():
            run = NotebookRun(notebook, cwd=path.parent, cell_timeout=args.cell_timeout)
            runs.append(run)
            execute_notebook(run, path, notebook, params, tracking_uri, out, server)
        lab_runs = runs_table.runs_since(tracking_uri, started_ms)
        print(f"\nMLflow runs logged to {tracking_uri}:\n{runs_table.format_runs(lab_runs)}")
        if args.timings:
            print_timings(runs)
        if args.keep_server and server:
            keep_serving(server, lab_runs)
        return 0
    except CellFailed as failure:
        print(f"\nerror: {failure}", file=sys.stderr)
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


def check_params(params: dict[str, str], notebooks: dict) -> None:
    declared = {name for notebook in notebooks.values() for name in declared_widgets(notebook)}
    unknown = sorted(set(params) - declared)
    if unknown:
        raise UsageError(
            f"unknown parameter(s) {', '.join(unknown)}; the notebooks declare: {', '.join(sorted(declared))}"
        )


def prepare_store(store: Path) -> Path:
    """The runner's tracking store folder; a re-run adds to it, and it is never emptied."""
    if store.exists() and any(store.iterdir()) and not (store / STORE_MARKER).exists():
        raise UsageError(f"{store} exists and was not created by run_lab.py; choose another --out")
    store.mkdir(parents=True, exist_ok=True)
    (store / STORE_MARKER).touch()
    return store


def execute_notebook(run, path, notebook, params, tracking_uri, out, server) -> None:
    relative = path.relative_to(PROJECT) if path.is_relative_to(PROJECT) else path
    print(f"\nRunning {relative}")
    injected = nbformat.v4.new_code_cell(
        INJECTED_CELL.format(scripts=str(SCRIPTS), params=params, fs_root=str(out / "dbfs"))
    )
    injected.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(0, injected)

    env = {key: value for key, value in os.environ.items() if not key.startswith("DATABRICKS_")}
    env["MLFLOW_TRACKING_URI"] = tracking_uri
    env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "2"  # a local server that stops answering will not come back
    started = time.monotonic()
    total = sum(cell.cell_type == "code" for cell in notebook.cells)
    count = 0

    def progress(description: str) -> None:
        nonlocal count
        count += 1
        print(f"  [{count:>2}/{total}] {time.monotonic() - started:6.1f}s  {description}", flush=True)

    executed_path = out / "executed" / (path.stem + ".ipynb")
    executed_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        run.start(env=env)
        run.run_cells(range(0, 1), progress)
        if server:
            server.wait_ready()
        run.run_cells(range(1, len(notebook.cells)), progress)
    finally:
        nbformat.write(notebook, executed_path)
    print(f"  done in {time.monotonic() - started:.1f}s; executed notebook: {executed_path}")


def print_timings(runs: list[NotebookRun]) -> None:
    print("\nCell timings (wall seconds):")
    for run in runs:
        for description, seconds in run.cell_seconds:
            print(f"  {seconds:7.2f}  {description}")


def keep_serving(server: TrackingServer, lab_runs: list) -> None:
    experiment_ids = sorted({run.info.experiment_id for run in lab_runs})
    print(f"\nThe MLflow UI is at {server.uri}")
    for experiment_id in experiment_ids:
        print(f"  experiment: {server.uri}/#/experiments/{experiment_id}")
    for run in lab_runs:
        print(f"  run {run.info.run_name}: {server.uri}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}")
    print("Press Ctrl-C to stop the server.", flush=True)
    try:
        while server.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping the tracking server.")
        return
    raise TrackingServerError(f"the tracking server stopped; its log ends:\n{server.log_tail()}")


if __name__ == "__main__":
    sys.exit(main())
