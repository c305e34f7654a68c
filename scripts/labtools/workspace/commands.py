"""What `scripts/deploy.py` does in one workspace for the caller: deploy, run and clean up the lab.

Each command takes a `Workspace` (or a `DryRunWorkspace`, which only prints the calls), its options
(`options.DeployOptions`, `RunOptions`, `CleanUpOptions`), and `say`, the function that prints a line
(the script's, which hides the token). Errors are `DeployError`s: one line, naming what failed. A class
(--learners, --group) is `classroom`'s job; `run --runtime` is `matrix`'s.
"""

from __future__ import annotations

from .. import lab
from . import copies, matrix, models, runs, spec
from .client import local_notebooks
from .errors import DeployError
from .experiments import restore_deleted, restored_line
from .options import CleanUpOptions, DeployOptions, Options, RunOptions


def deploy(ws, options: DeployOptions, say) -> int:
    # Every language's notebooks read first: a broken or undeclared notebook stops us before any call.
    spec.check_notebook_list(lab.languages(options.lang))
    objects_of = {
        lang: copies.lab_objects(local_notebooks(lab.notebooks_dir(lang))) for lang in lab.languages(options.lang)
    }
    user = None if options.folder else ws.current_user()
    for lang, objects in objects_of.items():
        folder = options.folder or f"/Users/{user}/{lab.lab_folder(lang)}"
        done = copies.deploy_folder(ws, folder, objects, force=options.force)
        if ws.dry_run:
            say(
                f"Would deploy {sum(thing.notebook for thing in objects)} notebooks and the lab's data to {folder} "
                "(what was edited there since the last deploy is kept; --force saves it beside, then replaces it)",
                f"Open it: {ws.folder_url(folder)}",
            )
            continue
        by_relative = {thing.relative: thing for thing in objects}
        for relative in [*done.new, *done.updated, *(edited for edited, _ in done.saved)]:
            say(f"imported {by_relative[relative].source} -> {folder}/{relative}")
        for relative, backup in done.saved:
            say(f"saved {folder}/{relative} as {backup} (it had been edited), then replaced it")
        for relative in done.kept:
            say(f"kept {folder}/{relative}: edited since it was deployed; --force replaces it after saving a copy")
        say(f"Deployed {done.notebooks(objects)} notebooks to {folder}", f"Open it: {ws.folder_url(folder)}")
    return 0


def _names(
    ws, options: RunOptions | CleanUpOptions, needs_experiment: bool = True, langs=(lab.SOURCE_LANGUAGE,)
) -> tuple[list, spec.Experiments]:
    """The lab's folder in each language and `run`'s experiments, asking for the user name only if needed."""
    needs_user = not options.folder or (needs_experiment and not options.experiment_name)
    user = ws.current_user() if needs_user else None
    folders = [options.folder or f"/Users/{user}/{lab.lab_folder(lang)}" for lang in langs]
    return folders, spec.Experiments(f"/Users/{user}" if user else None, options.experiment_name)


def run(ws, options: RunOptions, say) -> int:
    spec.check_notebook_list()  # before any call
    (folder,), experiments = _names(ws, options)
    notebooks = spec.deployed_notebooks(folder)
    for notebook in notebooks:
        if not ws.status(notebook.workspace_path):
            folder_option = f" --folder {options.folder}" if options.folder else ""
            raise DeployError(
                f"no notebook at {notebook.workspace_path}: deploy it first "
                f"(python scripts/deploy.py deploy{folder_option})"
            )
    if options.serverless:
        if options.runtime:
            raise DeployError(
                "--runtime: serverless compute has no runtime matrix (it runs an environment "
                "version, not a Databricks Runtime): run --serverless runs the lab once"
            )
        given = [
            name
            for name, value in [
                ("--cluster-id", options.cluster_id),
                ("--num-workers", options.num_workers),
                ("--node-type", options.node_type),
            ]
            if value
        ]
        if given:
            raise DeployError(f"--serverless runs the tasks without a cluster: leave out {', '.join(given)}")
    if options.cluster_id and options.num_workers:
        raise DeployError(
            "--num-workers sizes the new cluster of the Spark ML notebook; with --cluster-id the "
            "tasks run on that cluster as it is: leave out one of the two"
        )
    if options.runtime:
        return matrix.run(ws, options, say, notebooks, experiments)
    if options.cluster_id:
        ws.require_cluster(options.cluster_id)
    for name in restore_deleted(ws, [experiments.of(notebook) for notebook in notebooks]):
        say(restored_line(name))
    node_type = None if options.serverless else options.node_type or spec.NODE_TYPES[ws.cloud()]
    tasks = []
    for notebook in notebooks:
        workers = options.num_workers if notebook.uses_spark else 0
        cluster = None if options.serverless else options.cluster_id or spec.cluster(node_type, workers=workers)
        parameters = spec.notebook_parameters(
            experiments.of(notebook), options.data_path, options.volume, options.catalog, options.schema
        )
        tasks.append(spec.notebook_task(notebook.task_key, notebook, parameters, cluster))
    # Free Edition runs at most 5 job tasks at once: a serverless run never asks for more.
    parallel = (
        min(options.max_parallel, spec.FREE_EDITION_CONCURRENT_TASKS) if options.serverless else options.max_parallel
    )
    submitted = spec.run_spec(tasks, options.timeout, parallel)
    say(spec.compute(submitted["tasks"], parallel))
    run_id = ws.submit(submitted)
    if ws.dry_run:
        say(
            f"  then GET /api/2.2/jobs/runs/get every {options.poll_seconds:g} s until the run ends (POST runs/cancel "
            f"after {options.timeout} s), and GET /api/2.2/jobs/runs/get-output of a failed task"
        )
        return 0
    say(
        f"Submitted run {run_id}: {len(tasks)} notebooks, each a task on {_where(options)}",
        *(f"  {notebook.workspace_path} -> experiment {experiments.of(notebook)}" for notebook in notebooks),
    )
    ended = runs.wait(ws, run_id, options.timeout, options.poll_seconds, say)
    final = runs.progress(ended)
    say(f"Final state: {final}")
    by_key = {task.task_key: runs.progress(task) for task in ended.tasks or []}
    for notebook in notebooks:  # each notebook's own result: one may fail while the other succeeds
        done = by_key.get(notebook.task_key)
        if done and done.succeeded:
            say(f"  {notebook.stem}: SUCCESS; its runs are in the MLflow experiment {experiments.of(notebook)}")
        else:
            say(f"  {notebook.stem}: {(done.result or done.life) if done else 'no task in the run'}")
    if final.succeeded:
        return 0
    runs.report_failure(ws, run_id, ended, say)
    return 1


def _where(options: RunOptions) -> str:
    if options.serverless:
        return f"serverless compute (environment version {spec.SERVERLESS_ENVIRONMENT_VERSION})"
    if options.cluster_id:
        return f"cluster {options.cluster_id}"
    workers = f"; the Spark ML notebook's with {options.num_workers} workers" if options.num_workers else ""
    return f"a new cluster of its own (single node{workers})"


def clean_up(ws, options: CleanUpOptions, say) -> int:
    spec.check_notebook_list()  # before any call
    folders, experiments = _names(
        ws, options, needs_experiment=options.delete_experiment, langs=lab.languages(options.lang)
    )
    notebooks = spec.deployed_notebooks(folders[0])  # the same names in every language: for the experiments' names
    removed = []

    for folder in folders:
        # The runs first: an active run still uses the notebooks.
        for job_run in ws.job_runs(folder):
            if not runs.progress(job_run).ended:
                ws.cancel(job_run.run_id)
                runs.wait_until_ended(ws, job_run.run_id, options.poll_seconds)
            ws.delete_run(job_run.run_id)
            removed.append(f"run {job_run.run_id}")
        if ws.status(folder):
            ws.delete(folder)
            removed.append(f"folder {folder}")
    if options.delete_experiment:  # `run`'s experiments, whichever language's notebooks it ran
        for name in experiments.every(notebooks):
            experiment_id = ws.experiment_id(name)
            if experiment_id:
                ws.delete_experiment(experiment_id, name)
                removed.append(f"experiment {name}")

    failed = []
    if options.delete_models:
        deleted, failed = _delete_lab_models(ws, options)
        removed += deleted

    if ws.dry_run:
        return 0
    if removed:
        say(*(f"deleted {what}" for what in removed))
    elif not failed:
        none = ", no experiment of `run`" if options.delete_experiment else ""
        none += ", no registered model of the lab" if options.delete_models else ""
        say(f"Nothing was left to clean up: no folder {' or '.join(folders)}, no runs of its notebooks{none}.")
    if not options.delete_experiment:
        known = experiments.home or experiments.given  # with --folder and no --delete-experiment: not asked
        kept = " and ".join(experiments.of(notebook) for notebook in notebooks) if known else "of `run`"
        say(
            f"Kept the MLflow experiments {kept} (if any; and their -<runtime> siblings of `run --runtime`); "
            "add --delete-experiment to delete them."
        )
    if failed:  # after what was deleted was said: one line for all the models that could not be
        raise DeployError(f"--delete-models: {len(failed)} of the lab's models not deleted: {'; '.join(failed)}")
    return 0


def _delete_lab_models(ws, options: CleanUpOptions) -> tuple[list[str], list[str]]:
    """Deletes the caller's registered models of the lab (models.lab_model_names): what was deleted, as lines, and
    what could not be, each "<name>: <why>". A model that does not exist (most of them: a deployment creates only
    some) is skipped without a word; any other error is kept for one line at the end, and the others go on."""
    catalog = options.catalog or ws.default_catalog()
    if not catalog:
        raise DeployError(
            "--delete-models: this workspace has no default catalog (no Unity Catalog metastore?): "
            "name the models' catalog with --catalog"
        )
    deleted, failed = [], []
    for full_name in models.lab_model_names(ws.current_user(), catalog, options.schema or models.DEFAULT_SCHEMA):
        try:
            aliases = ws.registered_model(full_name)
            if aliases is None or not ws.delete_registered_model(full_name):  # never created, or gone meanwhile
                continue
        except DeployError as error:
            failed.append(str(error))
            continue
        named = ", ".join(f"@{alias} -> version {version}" for alias, version in sorted(aliases.items()))
        deleted.append(f"registered model {full_name}" + (f" ({named})" if named else ""))
    return deleted, failed


def in_each_workspace(open_workspace, profiles: list, command, options: Options, say) -> int:
    """`command` in each workspace in turn (one per --profile); a workspace that fails does not stop the rest."""
    if len(profiles) == 1:
        return command(open_workspace(profiles[0]), options, say)
    failed = []
    for profile in profiles:
        say(f"== profile {profile}")
        try:
            code = command(open_workspace(profile), options, say)
        except DeployError as error:
            say(f"deploy.py {options.command}: profile {profile}: {error}", err=True)
            code = 1
        if code:
            failed.append(profile)
    say(
        f"== {len(profiles) - len(failed)} of {len(profiles)} workspaces done"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0
