"""A class in one command: `deploy.py deploy|clean-up --learners FILE | --group NAME [--profile P ...]`.

Each learner gets a copy of the lab in their own home folder (`/Users/<learner>/dp090-mlflow-lab`; with
`--lang ja` the Japanese notebooks in `/Users/<learner>/dp090-mlflow-lab-ja`, with `--lang all` both, a row each),
so each runs their own notebooks and logs to their own experiments (each notebook's default,
`/Users/<learner>/dp090-using-mlflow-to-track-experiments` and `...-spark-ml`). Workspaces (one per `--profile`) are
handled in turn. The result is one table, a row per workspace and learner: a learner the workspace
does not know, or a folder it will not let us write, is a row with the reason, and the others go on;
the exit status is 1 if any row failed. Running it again is safe: it says what was already there, and a
notebook a learner edited since it was deployed is kept (`--force`: saved beside, then replaced; see `copies`).

Writing to another user's home folder needs workspace admin rights: a caller who is not an admin
gets one row saying so for that workspace, instead of a 403 per learner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .. import lab
from ..text import format_table
from . import copies, spec
from .client import local_notebooks
from .errors import DeployError
from .experiments import restore_deleted
from .options import CleanUpOptions, DeployOptions

# What a workspace accepts as a user name here: an e-mail address (no spaces, quotes or commas).
EMAIL = re.compile(r"^[^@\s\"',;<>]+@[^@\s\"',;<>]+\.[^@\s\"',;<>]+$")


def read_learners(path: str | Path) -> list[str]:
    """The learners in a file: one e-mail address a line; `#` starts a comment; blank lines are skipped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DeployError(f"--learners {path}: cannot be read: {getattr(error, 'strerror', None) or error}") from None
    learners = {}
    for number, line in enumerate(lines, start=1):
        address = line.split("#", 1)[0].strip()
        if not address:
            continue
        if not EMAIL.match(address):
            raise DeployError(f"{path}:{number}: {address!r} is not an e-mail address (one learner a line)")
        learners.setdefault(address.lower(), address)  # the same learner twice is deployed once
    if not learners:
        raise DeployError(f"{path}: no learners in it (one e-mail address a line; # starts a comment)")
    return list(learners.values())


@dataclass
class Row:
    workspace: str
    learner: str
    folder: str
    result: str
    ok: bool = True


def deploy(open_workspace, profiles: list, options: DeployOptions, say) -> int:
    # Every language's notebooks read first: a broken or undeclared notebook stops us before any call.
    spec.check_notebook_list(lab.languages(options.lang))
    objects_of = {
        lang: copies.lab_objects(local_notebooks(lab.notebooks_dir(lang))) for lang in lab.languages(options.lang)
    }

    def one(ws, host: str, user: str, lang: str, folder: str) -> Row:
        objects = objects_of[lang]
        done = copies.deploy_folder(ws, folder, objects, force=options.force)
        result = _deployed(ws, done, objects)
        # The learner's own experiments (each notebook's default), if a clean-up deleted them: MLflow would
        # refuse them at the notebook's set_experiment.
        defaults = [f"/Users/{user}/{notebook.experiment}" for notebook in lab.LAB_NOTEBOOKS]
        for name in restore_deleted(ws, defaults):
            result += f"; restored the deleted experiment {name.rsplit('/', 1)[1]}"
        return Row(host, user, folder, result)

    return _each_learner(open_workspace, profiles, options, say, one)


def _deployed(ws, done: copies.Deployed, objects: list[copies.LabObject]) -> str:
    """A learner's row: what their folder got, and what of theirs was kept or saved."""
    notebooks = sum(thing.notebook for thing in objects)
    if ws.dry_run:
        return f"would deploy ({notebooks} notebooks and the lab's data)"
    if not done.existed:
        return f"deployed ({notebooks} notebooks and the lab's data)"
    if not done.kept and not done.saved:
        return f"updated: it was already there ({notebooks} notebooks and the lab's data)"
    parts = [f"updated {done.notebooks(objects)} notebooks"]
    parts += [f"saved the edited {relative} as '{backup.rsplit('/', 1)[1]}' first" for relative, backup in done.saved]
    parts += [
        f"kept {relative} (edited since it was deployed; --force replaces it after saving a copy)"
        for relative in done.kept
    ]
    return "; ".join(parts)


def clean_up(open_workspace, profiles: list, options: CleanUpOptions, say) -> int:
    def one(ws, host: str, user: str, lang: str, folder: str) -> Row:
        done = []
        if ws.status(folder):
            ws.delete(folder)
            done.append("deleted the folder")
        if options.delete_experiment:
            deleted = 0
            for notebook in lab.LAB_NOTEBOOKS:  # each notebook's default: the learner's own runs
                name = f"/Users/{user}/{notebook.experiment}"
                experiment_id = ws.experiment_id(name)
                if experiment_id:
                    ws.delete_experiment(experiment_id, name)
                    deleted += 1
            if deleted:
                done.append(f"deleted {deleted} experiment{'s' if deleted > 1 else ''}")
        result = "would delete what is there" if ws.dry_run else "; ".join(done) or "nothing was there"
        if not options.delete_experiment:
            result += "; kept the experiments (--delete-experiment deletes them)"
        return Row(host, user, folder, result)

    return _each_learner(open_workspace, profiles, options, say, one)


def _each_learner(open_workspace, profiles: list, options: DeployOptions | CleanUpOptions, say, one) -> int:
    """Run `one(ws, host, learner)` for each learner of each workspace; print the table; 1 if a row failed."""
    learners = read_learners(options.learners) if options.learners else None  # bad input before any call
    rows: list[Row] = []
    for profile in profiles:
        try:
            ws = open_workspace(profile)
        except DeployError as error:
            rows.append(Row(profile or "(DATABRICKS_HOST)", "-", "-", f"not reached: {error}", ok=False))
            continue
        host = ws.host.split("://")[-1]
        try:
            user, admin = ws.caller()
            if not admin:
                rows.append(
                    Row(
                        host,
                        "-",
                        "-",
                        f"not done: writing to other users' folders needs workspace admin "
                        f"rights, and {user} is not an admin of {host}",
                        ok=False,
                    )
                )
                continue
            members = learners or ws.group_members(options.group)
        except DeployError as error:
            rows.append(Row(host, "-", "-", str(error), ok=False))
            continue
        for learner in members:
            try:
                user_name = ws.find_user(learner)
            except DeployError as error:
                rows.append(Row(host, learner, "-", f"not done: {error}", ok=False))
                continue
            if user_name is None:
                rows.append(Row(host, learner, "-", f"not done: {host} has no user {learner}", ok=False))
                continue
            for lang in lab.languages(options.lang):  # a row per language: each is a folder of its own
                folder = f"/Users/{user_name}/{lab.lab_folder(lang)}"
                try:
                    rows.append(one(ws, host, user_name, lang, folder))
                except DeployError as error:  # e.g. a folder it may not write: this learner only
                    rows.append(Row(host, user_name, folder, f"not done: {error}", ok=False))
    say(
        *format_table(
            ["workspace", "learner", "folder", "result"],
            [[row.workspace, row.learner, row.folder, row.result] for row in rows],
        ).splitlines()
    )
    failed = [row for row in rows if not row.ok]
    say(f"{len(rows) - len(failed)} of {len(rows)} done" + (f"; {len(failed)} failed (see above)" if failed else ""))
    return 1 if failed else 0
