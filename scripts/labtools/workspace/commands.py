"""What `scripts/deploy.py` does in a workspace: deploy, run and clean up the lab.

Each command takes a `Workspace` (or a `DryRunWorkspace`, which only prints the calls), the parsed
options, and `say`, the function that prints a line (the script's, which hides the token). Errors
are `DeployError`s: one line, naming what failed.
"""

from __future__ import annotations

import time

from .. import lab
from ..text import strip_ansi
from .client import NODE_TYPES, TERMINAL_STATES, DeployError, folders_to_create, local_notebooks, run_spec

TRACE_LINES = 12  # how much of a failed notebook's stack trace to show


def deploy(ws, args, say) -> int:
    notebooks = local_notebooks(lab.NOTEBOOKS)  # a broken notebook stops us before any call
    folder = args.folder or f"/Users/{ws.current_user()}/{lab.LAB_FOLDER}"
    for path in folders_to_create(folder, notebooks):
        ws.mkdirs(path)
    for notebook in notebooks:
        target = f"{folder}/{notebook.relative}"
        ws.import_notebook(target, notebook.content, source=str(notebook.file.relative_to(lab.PROJECT)))
        if not ws.dry_run:
            say(f"imported {notebook.file.relative_to(lab.PROJECT)} -> {target}")
    verb = "Would deploy" if ws.dry_run else "Deployed"
    say(f"{verb} {len(notebooks)} notebooks to {folder}", f"Open it: {ws.folder_url(folder)}")
    return 0


def run(ws, args, say) -> int:
    user = ws.current_user() if not (args.folder and args.experiment_name) else None
    folder = args.folder or f"/Users/{user}/{lab.LAB_FOLDER}"
    notebook_path = f"{folder}/{lab.LAB_NOTEBOOK}"
    experiment_name = args.experiment_name or f"/Users/{user}/{lab.LAB_EXPERIMENT}"
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
    return _wait(ws, run_id, args, experiment_name, say)


def _wait(ws, run_id: int, args, experiment_name: str, say) -> int:
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
    _report_failure(ws, run_id, current, life, result, say)
    return 1


def _state(run) -> tuple[str, str, str]:
    state = run.state
    life = state.life_cycle_state.value if state and state.life_cycle_state else "UNKNOWN"
    result = state.result_state.value if state and state.result_state else ""
    return life, result, (state.state_message or "") if state else ""


def _report_failure(ws, run_id: int, run, life: str, result: str, say) -> None:
    failed = [task for task in run.tasks or [] if _state(task)[1] != "SUCCESS"]
    if not failed:
        say(f"run {run_id} ended {life} {result}: {_state(run)[2]}", err=True)
    for task in failed:
        output = ws.output(task.run_id)
        where = task.notebook_task.notebook_path if task.notebook_task else task.task_key
        error = strip_ansi(output.error or _state(task)[2] or "no error message")
        say(f"run {run_id} failed ({life} {result}): {where}: {error}", err=True)
        trace = strip_ansi(output.error_trace or "").strip().splitlines()
        if trace:
            say(f"  last {min(len(trace), TRACE_LINES)} lines of the stack trace:", err=True)
            say(*(f"    {line}" for line in trace[-TRACE_LINES:]), err=True)


def clean_up(ws, args, say) -> int:
    needs_user = not args.folder or (args.delete_experiment and not args.experiment_name)
    user = ws.current_user() if needs_user else None
    folder = args.folder or f"/Users/{user}/{lab.LAB_FOLDER}"
    experiment_name = args.experiment_name or f"/Users/{user}/{lab.LAB_EXPERIMENT}"
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
