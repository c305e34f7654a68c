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

RUN_NAME = "dp090-mlflow-lab"  # how clean-up recognises the runs `run` submitted
TASK_KEY = "using_mlflow_to_track_experiments"
# The same runtime as the bundle's job (bundle.yml, variable spark_version): 17.3 LTS ML, MLflow 3.
SPARK_VERSION = "17.3.x-cpu-ml-scala2.13"
NODE_TYPES = {"azure": "Standard_D4ds_v5", "aws": "m5d.xlarge", "gcp": "n2-standard-4"}
TERMINAL_STATES = {"TERMINATED", "SKIPPED", "INTERNAL_ERROR"}
# Seconds the SDK keeps retrying a call (rate limits, unreachable host); its default is 5 minutes.
RETRY_TIMEOUT_SECONDS = 60
# clean-up looks for the lab's runs among this many most recent one-time runs.
RUNS_TO_SCAN = 500


class DeployError(Exception):
    """A failure reported as one line, without a traceback."""


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


def folders_to_create(folder: str, notebooks: list[LocalNotebook]) -> list[str]:
    """The lab folder and each subfolder a notebook goes in, parents first."""
    folders = {folder}
    for notebook in notebooks:
        for parent in PurePosixPath(f"{folder}/{notebook.relative}").parents:
            if str(parent).startswith(folder + "/"):
                folders.add(str(parent))
    return sorted(folders)


def single_node_cluster(node_type: str, spark_version: str = SPARK_VERSION) -> dict:
    """A single-node ML cluster, as the bundle's job cluster (resources/lab_job.yml)."""
    return {
        "spark_version": spark_version,
        "node_type_id": node_type,
        "num_workers": 0,
        "spark_conf": {"spark.databricks.cluster.profile": "singleNode", "spark.master": "local[*, 4]"},
        "custom_tags": {"ResourceClass": "SingleNode"},
        "data_security_mode": "SINGLE_USER",
    }


def run_spec(notebook_path: str, parameters: dict, timeout: int, cluster_id: str | None, node_type: str) -> dict:
    """The body of `jobs/runs/submit` for one run of the lab notebook."""
    task = {"task_key": TASK_KEY, "notebook_task": {"notebook_path": notebook_path, "base_parameters": parameters}}
    if cluster_id:
        task["existing_cluster_id"] = cluster_id
    else:
        task["new_cluster"] = single_node_cluster(node_type)
    # The workspace stops the run after `timeout` seconds too, should this script no longer be watching.
    return {"run_name": RUN_NAME, "timeout_seconds": timeout, "tasks": [task]}


def _server_message(error: Exception | str) -> str:
    """The workspace's own message, without the configuration dump the SDK appends to some errors."""
    return str(error).split(" Config: ")[0].rstrip(". ")


def no_credentials_message(profile: str | None, error: Exception) -> str:
    """One line saying where credentials were looked for, with the SDK's reason when it says more."""
    # The SDK's reason, without its long link and advice or its configuration dump.
    reason = _server_message(str(error).split(" please check ")[0].rstrip(","))
    generic = reason.startswith("default auth: cannot configure default credentials")
    config_file = os.environ.get("DATABRICKS_CONFIG_FILE", "~/.databrickscfg")
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

    def __init__(self, profile: str | None = None):
        from databricks.sdk import WorkspaceClient  # imported here so that --dry-run and --help need no SDK
        from databricks.sdk.config import Config

        try:
            config = Config(profile=profile, retry_timeout_seconds=RETRY_TIMEOUT_SECONDS)
            self.client = WorkspaceClient(config=config)
        except ValueError as error:
            raise DeployError(no_credentials_message(profile, error)) from None
        self.host = self.client.config.host

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
            raise DeployError(f"{action}: cannot reach {self.host}: {error}") from None

    def cloud(self) -> str:
        config = self.client.config
        return "azure" if config.is_azure else "gcp" if config.is_gcp else "aws"

    def current_user(self) -> str:
        with self._call("get your user name"):
            return self.client.current_user.me().user_name

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

    def import_notebook(self, path: str, content: bytes, source: str = "") -> None:
        from databricks.sdk.service.workspace import ImportFormat, Language

        with self._call(f"import notebook {path}", needs=f"CAN_MANAGE on {PurePosixPath(path).parent}"):
            self.client.workspace.import_(
                path,
                content=base64.b64encode(content).decode("ascii"),
                format=ImportFormat.SOURCE,
                language=Language.PYTHON,
                overwrite=True,
            )

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

    def submit(self, spec: dict) -> int:
        from databricks.sdk.service.jobs import SubmitTask

        tasks = [SubmitTask.from_dict(task) for task in spec["tasks"]]
        with self._call("submit the run (jobs/runs/submit)", needs="permission to create clusters, or --cluster-id"):
            waiter = self.client.jobs.submit(
                run_name=spec["run_name"], timeout_seconds=spec["timeout_seconds"], tasks=tasks
            )
        return waiter.run_id

    def run(self, run_id: int):
        with self._call(f"get the state of run {run_id}"):
            return self.client.jobs.get_run(run_id)

    def output(self, task_run_id: int):
        with self._call(f"get the output of task run {task_run_id}"):
            return self.client.jobs.get_run_output(task_run_id)

    def cancel(self, run_id: int) -> None:
        with self._call(f"cancel run {run_id}", needs=f"CAN_MANAGE_RUN on run {run_id}"):
            self.client.jobs.cancel_run(run_id)

    def delete_run(self, run_id: int) -> None:
        with self._call(f"delete run {run_id}", needs=f"CAN_MANAGE on run {run_id}"):
            self.client.jobs.delete_run(run_id)

    def lab_runs(self, folder: str) -> list:
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

    def experiment_id(self, name: str) -> str | None:
        """The id of the active experiment called `name`, or None."""
        from databricks.sdk.errors import NotFound

        with self._call(f"look up experiment {name}", needs=f"CAN_READ on experiment {name}"):
            try:
                experiment = self.client.experiments.get_by_name(name).experiment
            except NotFound:
                return None
        # MLflow keeps a deleted experiment (lifecycle_stage "deleted") until it is purged.
        return experiment.experiment_id if experiment and experiment.lifecycle_stage != "deleted" else None

    def delete_experiment(self, experiment_id: str, name: str) -> None:
        with self._call(f"delete experiment {name}", needs=f"CAN_MANAGE on experiment {name}"):
            self.client.experiments.delete_experiment(experiment_id)


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
        self._would("GET", "/api/2.0/preview/scim/v2/Me", note="your user name, for /Users/<you>/...")
        return "<you>"

    def status(self, path: str):
        self._would("GET", "/api/2.0/workspace/get-status", {"path": path})
        return path  # assume it exists, to show the calls that would follow

    def mkdirs(self, path: str) -> None:
        self._would("POST", "/api/2.0/workspace/mkdirs", {"path": path})

    def import_notebook(self, path: str, content: bytes, source: str = "") -> None:
        body = {"path": path, "format": "SOURCE", "language": "PYTHON", "overwrite": True,
                "content": f"<base64 of {source or 'the notebook'}, {len(content):,} bytes>"}  # fmt: skip
        self._would("POST", "/api/2.0/workspace/import", body)

    def delete(self, path: str) -> None:
        self._would("POST", "/api/2.0/workspace/delete", {"path": path, "recursive": True}, note="if it exists")

    def folder_url(self, path: str) -> str:
        return f"{self.host}/#workspace{path}"

    def require_cluster(self, cluster_id: str) -> None:
        self._would("GET", "/api/2.1/clusters/get", {"cluster_id": cluster_id}, note="fails if it does not exist")

    def submit(self, spec: dict) -> None:
        self._would("POST", "/api/2.2/jobs/runs/submit", spec)

    def lab_runs(self, folder: str) -> list:
        self._would("GET", "/api/2.2/jobs/runs/list", {"run_type": "SUBMIT_RUN", "expand_tasks": True},
                    note=f"then runs/cancel and runs/delete for each run named {RUN_NAME!r} of {folder}/")  # fmt: skip
        return []

    def experiment_id(self, name: str) -> str:
        self._would("GET", "/api/2.0/mlflow/experiments/get-by-name", {"experiment_name": name})
        return "<experiment id>"

    def delete_experiment(self, experiment_id: str, name: str) -> None:
        self._would("POST", "/api/2.0/mlflow/experiments/delete", {"experiment_id": experiment_id}, note="if it exists")
