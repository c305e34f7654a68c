#!/usr/bin/env python3
"""Deploy the DP-090 MLflow lab to a Databricks workspace, run it there, and clean up.

For users without the Databricks CLI; it needs only the Python SDK (databricks-sdk). With the CLI,
the bundle (bundle.yml) does the same: see docs/deploy.md.

  python scripts/deploy.py deploy      import the notebooks into /Users/<you>/dp090-mlflow-lab
  python scripts/deploy.py run         run the lab notebook once on a new single-node ML cluster
  python scripts/deploy.py clean-up    delete the folder and the runs `run` submitted

Add --dry-run to any command to print the calls it would make without sending any (no credentials
needed). Authentication is the SDK's unified authentication: DATABRICKS_HOST and DATABRICKS_TOKEN,
or a ~/.databrickscfg profile named with --profile. The token is never printed.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labrunner.workspace_deploy import (  # noqa: E402 (needs the path above when run as a script)
    LAB_EXPERIMENT,
    LAB_FOLDER,
    LAB_NOTEBOOK,
    NODE_TYPES,
    TERMINAL_STATES,
    DeployError,
    DryRunWorkspace,
    Workspace,
    folders_to_create,
    local_notebooks,
    run_spec,
)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
TRACE_LINES = 12  # how much of a failed notebook's stack trace to show

_secrets: list[str] = []


def redact(text: str) -> str:
    """`text` with any token this process knows replaced by ***."""
    for secret in _secrets:
        text = text.replace(secret, "***")
    return text


def say(*lines: str, err: bool = False) -> None:
    for line in lines:
        print(redact(line), file=sys.stderr if err else sys.stdout, flush=True)


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True


# --- the commands -----------------------------------------------------------------------------


def deploy(ws, args) -> int:
    notebooks = local_notebooks(NOTEBOOKS)  # a broken notebook stops us before any call
    folder = args.folder or f"/Users/{ws.current_user()}/{LAB_FOLDER}"
    for path in folders_to_create(folder, notebooks):
        ws.mkdirs(path)
    for notebook in notebooks:
        target = f"{folder}/{notebook.relative}"
        ws.import_notebook(target, notebook.content, source=str(notebook.file.relative_to(ROOT)))
        if not ws.dry_run:
            say(f"imported {notebook.file.relative_to(ROOT)} -> {target}")
    verb = "Would deploy" if ws.dry_run else "Deployed"
    say(f"{verb} {len(notebooks)} notebooks to {folder}", f"Open it: {ws.folder_url(folder)}")
    return 0


def run(ws, args) -> int:
    user = ws.current_user() if not (args.folder and args.experiment_name) else None
    folder = args.folder or f"/Users/{user}/{LAB_FOLDER}"
    notebook_path = f"{folder}/{LAB_NOTEBOOK}"
    experiment_name = args.experiment_name or f"/Users/{user}/{LAB_EXPERIMENT}"
    if not ws.status(notebook_path):
        folder_option = f" --folder {args.folder}" if args.folder else ""
        raise DeployError(
            f"no notebook at {notebook_path}: deploy it first (python scripts/deploy.py deploy{folder_option})"
        )
    if args.cluster_id:
        ws.require_cluster(args.cluster_id)
    parameters = {"experiment_name": experiment_name}
    if args.data_path:
        parameters["data_path"] = args.data_path
    node_type = args.node_type or NODE_TYPES[ws.cloud()]
    spec = run_spec(notebook_path, parameters, args.timeout, args.cluster_id, node_type)
    run_id = ws.submit(spec)
    if ws.dry_run:
        say(f"  then GET /api/2.2/jobs/runs/get every {args.poll_seconds:g} s until the run ends (POST runs/cancel "
            f"after {args.timeout} s), and GET /api/2.2/jobs/runs/get-output of a failed task")  # fmt: skip
        return 0
    say(f"Submitted run {run_id} of {notebook_path} (experiment {experiment_name})")
    return _wait(ws, run_id, args, experiment_name)


def _wait(ws, run_id: int, args, experiment_name: str) -> int:
    """Poll the run until it ends, printing each change of state; cancel it after --timeout seconds."""
    start = time.monotonic()
    shown, url = None, None
    while True:
        current = ws.run(run_id)
        if current.run_page_url and not url:
            url = current.run_page_url
            say(f"Run page: {url}")
        life, result, message = _state(current)
        if (life, result) != shown:
            elapsed = int(time.monotonic() - start)
            say(f"  [{elapsed // 60:02d}:{elapsed % 60:02d}] {life}{' ' + result if result else ''}"
                f"{': ' + message if message else ''}")  # fmt: skip
            shown = (life, result)
        if life in TERMINAL_STATES:
            break
        if time.monotonic() - start >= args.timeout:
            ws.cancel(run_id)
            raise DeployError(
                f"run {run_id} did not finish within --timeout {args.timeout} s (still {life}); it has been "
                f"cancelled. Allow it longer with --timeout. Run page: {url}"
            )
        time.sleep(args.poll_seconds)

    say(f"Final state: {life} {result or ''}".rstrip())
    if result == "SUCCESS":
        say(f"The runs are in the MLflow experiment {experiment_name}")
        return 0
    _report_failure(ws, run_id, current, life, result)
    return 1


def _state(run) -> tuple[str, str, str]:
    state = run.state
    life = state.life_cycle_state.value if state and state.life_cycle_state else "UNKNOWN"
    result = state.result_state.value if state and state.result_state else ""
    return life, result, (state.state_message or "") if state else ""


def _report_failure(ws, run_id: int, run, life: str, result: str) -> None:
    failed = [task for task in run.tasks or [] if _state(task)[1] != "SUCCESS"]
    if not failed:
        say(f"run {run_id} ended {life} {result}: {_state(run)[2]}", err=True)
    for task in failed:
        output = ws.output(task.run_id)
        where = task.notebook_task.notebook_path if task.notebook_task else task.task_key
        error = ANSI_ESCAPE.sub("", output.error or _state(task)[2] or "no error message")
        say(f"run {run_id} failed ({life} {result}): {where}: {error}", err=True)
        trace = ANSI_ESCAPE.sub("", output.error_trace or "").strip().splitlines()
        if trace:
            say(f"  last {min(len(trace), TRACE_LINES)} lines of the stack trace:", err=True)
            say(*(f"    {line}" for line in trace[-TRACE_LINES:]), err=True)


def clean_up(ws, args) -> int:
    needs_user = not args.folder or (args.delete_experiment and not args.experiment_name)
    user = ws.current_user() if needs_user else None
    folder = args.folder or f"/Users/{user}/{LAB_FOLDER}"
    experiment_name = args.experiment_name or f"/Users/{user}/{LAB_EXPERIMENT}"
    removed = []

    # The runs first: an active run still uses the notebooks.
    for lab_run in ws.lab_runs(folder):
        if _state(lab_run)[0] not in TERMINAL_STATES:
            ws.cancel(lab_run.run_id)
            _wait_until_ended(ws, lab_run.run_id, args)
        ws.delete_run(lab_run.run_id)
        removed.append(f"run {lab_run.run_id}")
    if ws.status(folder):
        ws.delete(folder)
        removed.append(f"folder {folder}")
    if args.delete_experiment:
        experiment_id = ws.experiment_id(experiment_name)
        if experiment_id:
            ws.delete_experiment(experiment_id, experiment_name)
            removed.append(f"experiment {experiment_name}")

    if ws.dry_run:
        return 0
    if removed:
        say(*(f"deleted {what}" for what in removed))
    else:
        experiment = f", no experiment {experiment_name}" if args.delete_experiment else ""
        say(f"Nothing was left to clean up: no folder {folder}, no runs of its notebooks{experiment}.")
    if not args.delete_experiment:
        say(f"Kept the MLflow experiment {experiment_name} (if any); add --delete-experiment to delete it.")
    return 0


def _wait_until_ended(ws, run_id: int, args, limit: float = 600) -> None:
    start = time.monotonic()
    while _state(ws.run(run_id))[0] not in TERMINAL_STATES:
        if time.monotonic() - start > limit:
            raise DeployError(f"run {run_id} is still being cancelled after {limit:.0f} s; run clean-up again later")
        time.sleep(args.poll_seconds)


COMMANDS = {"deploy": deploy, "run": run, "clean-up": clean_up}


# --- the command line -------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profile", help="a ~/.databrickscfg profile (default: DATABRICKS_HOST/DATABRICKS_TOKEN)")
    common.add_argument("--folder", type=_workspace_path,
                        help=f"workspace folder of the lab (default: /Users/<you>/{LAB_FOLDER})")  # fmt: skip
    common.add_argument("--dry-run", action="store_true", help="print the calls it would make; send nothing")
    common.add_argument("--verbose", action="store_true", help="log the SDK's HTTP calls to stderr (never the token)")

    main = argparse.ArgumentParser(
        prog="deploy.py", description=__doc__.split("\n\n")[0],
        epilog="Run `deploy.py <command> --help` for a command's options; docs/deploy.md has the details.",
    )  # fmt: skip
    commands = main.add_subparsers(dest="command", required=True, metavar="{deploy,run,clean-up}")
    commands.add_parser("deploy", parents=[common], help="import the notebooks (SOURCE, PYTHON, overwrite)")

    run_command = commands.add_parser("run", parents=[common], help="run the lab notebook once and wait for it")
    run_command.add_argument("--cluster-id", help="run on this existing cluster instead of a new job cluster")
    run_command.add_argument("--node-type", help="VM type of the new cluster (default: by cloud, "
                             + ", ".join(f"{cloud} {node}" for cloud, node in NODE_TYPES.items()) + ")")  # fmt: skip
    run_command.add_argument("--experiment-name", help=f"MLflow experiment (default: /Users/<you>/{LAB_EXPERIMENT})")
    run_command.add_argument("--data-path", help="the notebook's data_path parameter (default: blank)")
    run_command.add_argument("--timeout", type=_positive_int, default=3600,
                             help="seconds to wait for the run before cancelling it (default: 3600)")  # fmt: skip
    run_command.add_argument("--poll-seconds", type=float, default=15.0, help=argparse.SUPPRESS)

    clean = commands.add_parser("clean-up", parents=[common], help="delete the folder and the runs of `run`")
    clean.add_argument("--delete-experiment", action="store_true", help="also delete the lab's MLflow experiment")
    clean.add_argument("--experiment-name", help=f"the experiment to delete (default: /Users/<you>/{LAB_EXPERIMENT})")
    clean.add_argument("--poll-seconds", type=float, default=5.0, help=argparse.SUPPRESS)
    return main


def _workspace_path(value: str) -> str:
    if not value.startswith("/"):
        raise argparse.ArgumentTypeError(f"{value!r} is not an absolute workspace path like /Users/you@example.com/lab")
    return value.rstrip("/")


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) == 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of seconds")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if os.environ.get("DATABRICKS_TOKEN"):
        _secrets.append(os.environ["DATABRICKS_TOKEN"])
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RedactingFilter())
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[handler],
                        format="%(levelname)s %(name)s: %(message)s")  # fmt: skip
    try:
        if args.dry_run:
            say(f"Dry run: the calls `{args.command}` would make. Nothing is sent; no credentials are needed.")
            ws = DryRunWorkspace(os.environ.get("DATABRICKS_HOST"))
        else:
            ws = Workspace(args.profile)
            if ws.client.config.token:
                _secrets.append(ws.client.config.token)  # e.g. from a profile
        return COMMANDS[args.command](ws, args)
    except DeployError as error:
        say(f"deploy.py {args.command}: {error}", err=True)
        return 1
    except KeyboardInterrupt:
        say(f"deploy.py {args.command}: interrupted; a submitted run keeps running (see its run page)", err=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
