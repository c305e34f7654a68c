"""The workspace side of scripts/deploy.py: what to upload, what to run, and the REST calls that do it.

`Workspace` makes the calls through the Databricks SDK (its unified authentication: environment
variables or a ~/.databrickscfg profile) and turns every API error into a one-line `DeployError`
that names the path, cluster or permission at fault. `DryRunWorkspace` has the same methods but
only prints the call each would make: it needs no credentials and sends nothing.
"""

from __future__ import annotations

import base64
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .. import lab
from ..notebook import dbsource
from . import connection
from .errors import DeployError
from .spec import RUN_NAME

# Seconds the SDK keeps retrying a call (rate limits, unreachable host); its default is 5 minutes.
RETRY_TIMEOUT_SECONDS = 60
# clean-up looks for the lab's runs among this many most recent one-time runs.
RUNS_TO_SCAN = 500


@dataclass(frozen=True)
class LocalNotebook:
    file: Path
    relative: str  # workspace path below the lab folder, without extension: "includes/setup"
    content: bytes


def local_notebooks(notebooks_dir: Path) -> list[LocalNotebook]:
    """Every notebook under `notebooks_dir`, checked to be a Databricks source notebook."""
    files = lab.notebook_files(notebooks_dir)
    if not files:
        raise DeployError(f"{notebooks_dir}: no notebooks (*.py) to deploy")
    notebooks = []
    for file in files:
        try:
            dbsource.read(file)
        except dbsource.NotebookFormatError as error:
            raise DeployError(str(error)) from None
        relative = file.relative_to(notebooks_dir).with_suffix("").as_posix()
        notebooks.append(LocalNotebook(file, relative, file.read_bytes()))
    return notebooks


def folders_to_create(folder: str, notebooks: list) -> list[str]:
    """The lab folder and each subfolder a notebook (or anything with a `relative` path) goes in, parents first."""
    folders = {folder}
    for notebook in notebooks:
        for parent in PurePosixPath(f"{folder}/{notebook.relative}").parents:
            if str(parent).startswith(folder + "/"):
                folders.add(str(parent))
    return sorted(folders)


def _server_message(error: Exception | str) -> str:
    """The workspace's own message, without the configuration dump the SDK appends to some errors."""
    return str(error).split(" Config: ")[0].rstrip(". ")


def no_credentials_message(profile: str | None, error: Exception) -> str:
    """One line saying where credentials were looked for, with the SDK's reason when it says more."""
    # The SDK's reason, without its long link and advice or its configuration dump.
    reason = _server_message(str(error).split(" please check ")[0].rstrip(","))
    generic = reason.startswith("default auth: cannot configure default credentials")
    config_file = connection.config_file()
    if profile:
        where = f"in profile {profile!r} of {config_file} (no such profile, or it has no host and token)"
    else:
        unset = " and ".join(name for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN") if not os.environ.get(name))
        where = f"({unset or 'nothing'} not set, and no DEFAULT profile in {config_file})"
    return (
        f"no Databricks credentials {where}{'' if generic else f'; {reason}'}: set DATABRICKS_HOST and "
        f"DATABRICKS_TOKEN, or pass --profile NAME of a {config_file} profile (see docs/deploy.md)"
    )


class Workspace:
    """A workspace reached through the Databricks SDK."""

    dry_run = False

    def __init__(self, profile: str | None = None, timeout: float = connection.CONNECT_TIMEOUT_SECONDS, say=None):
        from databricks.sdk import WorkspaceClient  # imported here so that --dry-run and --help need no SDK
        from databricks.sdk.config import Config

        target = connection.find(profile)
        if target:
            if say:
                say(f"Contacting {target}")
            connection.probe(target, timeout)  # a host that does not answer: one line, within `timeout`
        try:
            # The SDK's own deadlines too, for a host that answered the probe and then stops answering.
            patience = max(timeout, RETRY_TIMEOUT_SECONDS)
            config = Config(profile=profile, retry_timeout_seconds=patience, http_timeout_seconds=patience)
            self.client = WorkspaceClient(config=config)
        except ValueError as error:
            raise DeployError(no_credentials_message(profile, error)) from None
        self.host = self.client.config.host
        self.source = target.source if target else "the SDK's configuration"

    @contextmanager
    def _call(self, action: str, needs: str = ""):
        """Turn the SDK's exceptions into one-line errors that say what was being done."""
        from databricks.sdk.errors import DatabricksError, PermissionDenied, Unauthenticated

        try:
            yield
        except Unauthenticated:
            raise DeployError(
                f"{action}: authentication failed (HTTP 401): the token for {self.host} is invalid or expired. "
                "Create a new personal access token and set DATABRICKS_TOKEN (or update your profile)."
            ) from None
        except PermissionDenied as error:
            advice = f" You need {needs}." if needs else ""
            raise DeployError(f"{action}: permission denied (HTTP 403): {_server_message(error)}.{advice}") from None
        except DatabricksError as error:
            raise DeployError(f"{action}: {error.error_code or 'error'}: {_server_message(error)}") from None
        except (OSError, TimeoutError) as error:  # connection refused, DNS, retries exhausted
            raise DeployError(f"{action}: cannot reach {self.host} (from {self.source}): {error}") from None

    def cloud(self) -> str:
        config = self.client.config
        return "azure" if config.is_azure else "gcp" if config.is_gcp else "aws"

    def current_user(self) -> str:
        return self.caller()[0]

    def caller(self) -> tuple[str, bool]:
        """Your user name, and whether you are a workspace admin (a member of the `admins` group)."""
        if not hasattr(self, "_caller"):
            with self._call("get your user name"):
                me = self.client.current_user.me()
            self._caller = (me.user_name, any(group.display == "admins" for group in me.groups or []))
        return self._caller

    def find_user(self, user_name: str) -> str | None:
        """The workspace's user name for `user_name` (an e-mail address, any case), or None if it has none."""
        with self._call(f"look up the user {user_name}", needs="a workspace admin, or the right to list users"):
            for user in self.client.users.list(filter=f'userName eq "{user_name}"', attributes="id,userName"):
                return user.user_name
        return None

    def group_members(self, name: str) -> list[str]:
        """The user names of the group's members, those of its nested groups included."""
        with self._call(f"look up the group {name}", needs="a workspace admin, or the right to list groups"):
            found = list(self.client.groups.list(filter=f'displayName eq "{name}"', attributes="id,displayName"))
            if not found:
                raise DeployError(
                    f"no group {name!r} in {self.host}: check --group (Settings > Identity and access "
                    "> Groups lists the workspace's groups)"
                )
            members, seen, pending = [], set(), [found[0].id]
            while pending:  # nested groups, each once
                group_id = pending.pop()
                seen.add(group_id)
                for member in self.client.groups.get(group_id).members or []:
                    kind = (member.ref or "").split("/")[0]
                    if kind == "Users":
                        members.append(self.client.users.get(member.value).user_name)
                    elif kind == "Groups" and member.value not in seen:
                        pending.append(member.value)
        return sorted(set(members), key=members.index)

    def status(self, path: str):
        """The object at `path`, or None if there is none."""
        from databricks.sdk.errors import NotFound

        with self._call(f"look up {path}", needs=f"CAN_READ on {path}"):
            try:
                return self.client.workspace.get_status(path)
            except NotFound:
                return None

    def mkdirs(self, path: str) -> None:
        with self._call(f"create folder {path}", needs=f"CAN_MANAGE on the folder that holds {path} (or use --folder)"):
            self.client.workspace.mkdirs(path)

    def import_notebook(self, path: str, content: bytes, source: str = "", overwrite: bool = True) -> None:
        from databricks.sdk.service.workspace import ImportFormat, Language

        with self._call(f"import notebook {path}", needs=f"CAN_MANAGE on {PurePosixPath(path).parent}"):
            self.client.workspace.import_(
                path,
                content=base64.b64encode(content).decode("ascii"),
                format=ImportFormat.SOURCE,
                language=Language.PYTHON,
                overwrite=overwrite,
            )

    def import_file(self, path: str, content: bytes, source: str = "", overwrite: bool = True) -> None:
        """A workspace file (not a notebook): AUTO imports by extension and header, and a CSV or JSON is a file."""
        from databricks.sdk.service.workspace import ImportFormat

        with self._call(f"import file {path}", needs=f"CAN_MANAGE on {PurePosixPath(path).parent}"):
            self.client.workspace.import_(
                path, content=base64.b64encode(content).decode("ascii"), format=ImportFormat.AUTO, overwrite=overwrite
            )

    def export(self, path: str, notebook: bool = True) -> bytes | None:
        """What is at `path` now (a notebook as its source, a file as it is), or None if nothing is there."""
        from databricks.sdk.errors import NotFound
        from databricks.sdk.service.workspace import ExportFormat

        with self._call(f"export {path}", needs=f"CAN_READ on {path}"):
            try:
                answer = self.client.workspace.export(
                    path, format=ExportFormat.SOURCE if notebook else ExportFormat.AUTO
                )
            except NotFound:
                return None
        return base64.b64decode(answer.content or "")

    def delete(self, path: str) -> None:
        with self._call(f"delete {path}", needs=f"CAN_MANAGE on {path}"):
            self.client.workspace.delete(path, recursive=True)

    def folder_url(self, path: str) -> str:
        info = self.status(path)
        return f"{self.host}/browse/folders/{info.object_id}" if info else f"{self.host}/#workspace{path}"

    def require_cluster(self, cluster_id: str) -> None:
        from databricks.sdk.errors import InvalidParameterValue, NotFound

        with self._call(f"look up cluster {cluster_id}", needs=f"CAN_ATTACH_TO on cluster {cluster_id}"):
            try:
                self.client.clusters.get(cluster_id)
            except (NotFound, InvalidParameterValue) as error:
                # A workspace answers an unknown cluster id with 404, or 400 "Cluster ... does not exist".
                if isinstance(error, InvalidParameterValue) and "does not exist" not in str(error):
                    raise
                raise DeployError(
                    f"cluster {cluster_id} does not exist in {self.host}: check --cluster-id on the Compute page, "
                    "or leave it out to run on a new single-node job cluster"
                ) from None

    def spark_versions(self) -> list[tuple[str, str]]:
        """The runtimes the workspace offers, `(key, name)` each: "17.3.x-cpu-ml-scala2.13", "17.3 LTS ML (...)"."""
        with self._call("list the runtimes (clusters/spark-versions)"):
            listed = self.client.clusters.spark_versions().versions or []
        return [(version.key, version.name or "") for version in listed]

    def submit(self, spec: dict) -> int:
        from databricks.sdk.service.jobs import JobEnvironment, SubmitTask

        tasks = [SubmitTask.from_dict(task) for task in spec["tasks"]]
        # The environments serverless tasks run in (run --serverless); None for tasks on clusters.
        environments = [JobEnvironment.from_dict(environment) for environment in spec.get("environments", [])] or None
        with self._call("submit the run (jobs/runs/submit)", needs="permission to create clusters, or --cluster-id"):
            waiter = self.client.jobs.submit(
                run_name=spec["run_name"],
                timeout_seconds=spec["timeout_seconds"],
                tasks=tasks,
                idempotency_token=spec["idempotency_token"],
                environments=environments,
            )
        return waiter.run_id

    def run(self, run_id: int):
        with self._call(f"get the state of run {run_id}"):
            return self.client.jobs.get_run(run_id)

    def output(self, task_run_id: int):
        """The task run's output, or None where the workspace has none (a task whose cluster never started)."""
        from databricks.sdk.errors import InvalidParameterValue, NotFound

        with self._call(f"get the output of task run {task_run_id}"):
            try:
                return self.client.jobs.get_run_output(task_run_id)
            except (InvalidParameterValue, NotFound):
                return None

    def cancel(self, run_id: int) -> None:
        with self._call(f"cancel run {run_id}", needs=f"CAN_MANAGE_RUN on run {run_id}"):
            self.client.jobs.cancel_run(run_id)

    def delete_run(self, run_id: int) -> None:
        with self._call(f"delete run {run_id}", needs=f"CAN_MANAGE on run {run_id}"):
            self.client.jobs.delete_run(run_id)

    def job_runs(self, folder: str) -> list:
        """The one-time runs `run` submitted for the notebooks in `folder`, newest first."""
        from databricks.sdk.service.jobs import RunType

        found = []
        with self._call("list one-time runs (jobs/runs/list)"):
            for scanned, run in enumerate(self.client.jobs.list_runs(run_type=RunType.SUBMIT_RUN, expand_tasks=True)):
                if scanned >= RUNS_TO_SCAN:
                    break
                paths = [task.notebook_task.notebook_path for task in run.tasks or [] if task.notebook_task]
                if run.run_name == RUN_NAME and any(path.startswith(folder + "/") for path in paths):
                    found.append(run)
        return found

    def experiment(self, name: str) -> tuple[str, str] | None:
        """`(id, lifecycle stage)` of the experiment called `name`, or None if there is none.

        MLflow keeps a deleted experiment (stage "deleted") until it is purged, 30 days later."""
        from databricks.sdk.errors import NotFound

        with self._call(f"look up experiment {name}", needs=f"CAN_READ on experiment {name}"):
            try:
                found = self.client.experiments.get_by_name(name).experiment
            except NotFound:
                return None
        return (found.experiment_id, found.lifecycle_stage or "active") if found else None

    def experiment_id(self, name: str) -> str | None:
        """The id of the active experiment called `name`, or None."""
        found = self.experiment(name)
        return found[0] if found and found[1] != "deleted" else None

    def restore_experiment(self, experiment_id: str, name: str) -> None:
        with self._call(f"restore experiment {name}", needs=f"CAN_MANAGE on experiment {name}"):
            self.client.experiments.restore_experiment(experiment_id)

    def delete_experiment(self, experiment_id: str, name: str) -> None:
        with self._call(f"delete experiment {name}", needs=f"CAN_MANAGE on experiment {name}"):
            self.client.experiments.delete_experiment(experiment_id)

    def default_catalog(self) -> str | None:
        """The workspace's default catalog (a session's current catalog when it names none), or None."""
        with self._call("look up the workspace's default catalog (Unity Catalog)"):
            return self.client.metastores.current().default_catalog_name or None

    def registered_model(self, full_name: str) -> dict | None:
        """`{alias: version}` of the Unity Catalog model `full_name` (catalog.schema.model), or None if none."""
        from databricks.sdk.errors import NotFound

        with self._call(f"look up registered model {full_name}", needs=f"EXECUTE on model {full_name}"):
            try:
                found = self.client.registered_models.get(full_name, include_aliases=True)
            except NotFound:
                return None
        return {alias.alias_name: alias.version_num for alias in found.aliases or []}

    def delete_registered_model(self, full_name: str) -> bool:
        """Deletes the model with its versions and aliases (sdk-py RegisteredModelsAPI.delete: "and all its
        model versions"); False if there was no such model (deleted since it was looked up)."""
        from databricks.sdk.errors import NotFound

        with self._call(f"delete registered model {full_name}", needs=f"ownership of model {full_name}"):
            try:
                self.client.registered_models.delete(full_name)
            except NotFound:
                return False
        return True


class DryRunWorkspace:
    """Prints each call `Workspace` would make instead of making it; needs no credentials."""

    dry_run = True

    def __init__(self, host: str | None, print_fn=print):
        self.host = (host or "https://<your workspace>").rstrip("/")
        self._print = print_fn

    def _would(self, method: str, path: str, body: dict | None = None, note: str = "") -> None:
        line = f"  {method} {path}"
        if body is not None:
            line += " " + json.dumps(body)
        self._print(line + (f"   # {note}" if note else ""))

    def cloud(self) -> str:
        return "azure"  # DP-090 is an Azure Databricks course; --node-type picks another VM type

    def current_user(self) -> str:
        return self.caller()[0]

    def caller(self) -> tuple[str, bool]:
        self._would("GET", "/api/2.0/preview/scim/v2/Me", note="your user name, and whether you are an admin")
        return "<you>", True

    def find_user(self, user_name: str) -> str:
        self._would("GET", "/api/2.0/preview/scim/v2/Users", {"filter": f'userName eq "{user_name}"'})
        return user_name

    def group_members(self, name: str) -> list[str]:
        self._would(
            "GET",
            "/api/2.0/preview/scim/v2/Groups",
            {"filter": f'displayName eq "{name}"'},
            note="then GET .../Groups/<id> and .../Users/<id> of each member",
        )
        return [f"<each member of {name}>"]

    def status(self, path: str):
        self._would("GET", "/api/2.0/workspace/get-status", {"path": path})
        return path  # assume it exists, to show the calls that would follow

    def mkdirs(self, path: str) -> None:
        self._would("POST", "/api/2.0/workspace/mkdirs", {"path": path})

    def import_notebook(self, path: str, content: bytes, source: str = "", overwrite: bool = True) -> None:
        body = {
            "path": path,
            "format": "SOURCE",
            "language": "PYTHON",
            "overwrite": overwrite,
            "content": f"<base64 of {source or 'the notebook'}, {len(content):,} bytes>",
        }
        self._would("POST", "/api/2.0/workspace/import", body)

    def import_file(self, path: str, content: bytes, source: str = "", overwrite: bool = True) -> None:
        body = {
            "path": path,
            "format": "AUTO",
            "overwrite": overwrite,
            "content": f"<base64 of {source or 'the file'}, {len(content):,} bytes>",
        }
        self._would("POST", "/api/2.0/workspace/import", body)

    def export(self, path: str, notebook: bool = True) -> None:
        self._would(
            "GET",
            "/api/2.0/workspace/export",
            {"path": path, "format": "SOURCE" if notebook else "AUTO"},
            note="if it is there: to compare it with what was deployed",
        )
        return None  # shown as if nothing were there yet

    def delete(self, path: str) -> None:
        self._would("POST", "/api/2.0/workspace/delete", {"path": path, "recursive": True}, note="if it exists")

    def folder_url(self, path: str) -> str:
        return f"{self.host}/#workspace{path}"

    def require_cluster(self, cluster_id: str) -> None:
        self._would("GET", "/api/2.1/clusters/get", {"cluster_id": cluster_id}, note="fails if it does not exist")

    def spark_versions(self) -> None:
        self._would("GET", "/api/2.1/clusters/spark-versions", note="each runtime's key, e.g. 17.3.x-cpu-ml-scala2.13")
        return None  # unknown without a workspace: the keys are shown as placeholders

    def submit(self, spec: dict) -> None:
        self._would("POST", "/api/2.2/jobs/runs/submit", spec)

    def job_runs(self, folder: str) -> list:
        self._would(
            "GET",
            "/api/2.2/jobs/runs/list",
            {"run_type": "SUBMIT_RUN", "expand_tasks": True},
            note=f"then runs/cancel and runs/delete for each run named {RUN_NAME!r} of {folder}/",
        )
        return []

    def experiment_id(self, name: str) -> str:
        self._would("GET", "/api/2.0/mlflow/experiments/get-by-name", {"experiment_name": name})
        return "<experiment id>"

    def experiment(self, name: str) -> None:
        self._would(
            "GET",
            "/api/2.0/mlflow/experiments/get-by-name",
            {"experiment_name": name},
            note="then POST /api/2.0/mlflow/experiments/restore if it is deleted (MLflow refuses to log to it)",
        )
        return None

    def restore_experiment(self, experiment_id: str, name: str) -> None:
        self._would("POST", "/api/2.0/mlflow/experiments/restore", {"experiment_id": experiment_id})

    def delete_experiment(self, experiment_id: str, name: str) -> None:
        self._would("POST", "/api/2.0/mlflow/experiments/delete", {"experiment_id": experiment_id}, note="if it exists")

    def default_catalog(self) -> str:
        self._would("GET", "/api/2.1/unity-catalog/current-metastore-assignment", note="its default_catalog_name")
        return "<default catalog>"

    def registered_model(self, full_name: str) -> dict:
        self._would("GET", f"/api/2.1/unity-catalog/models/{full_name}", {"include_aliases": True})
        return {}  # assume it exists, to show the call that would follow

    def delete_registered_model(self, full_name: str) -> bool:
        self._would("DELETE", f"/api/2.1/unity-catalog/models/{full_name}", note="if it exists; its versions too")
        return True
