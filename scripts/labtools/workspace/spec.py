"""What `deploy.py run` asks a workspace to run: the body of `jobs/runs/submit`, one task per notebook
(and per runtime, for the matrix), each on a cluster of its own, with the parameters its widgets take."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from .. import lab
from ..notebook import widgets
from .errors import DeployError

RUN_NAME = "dp090-mlflow-lab"  # how clean-up recognises the runs `run` submitted
# The same runtime as the bundle's job (bundle.yml, variable spark_version): 17.3 LTS ML, MLflow 3.
SPARK_VERSION = "17.3.x-cpu-ml-scala2.13"
NODE_TYPES = {"azure": "Standard_D4ds_v5", "aws": "m5d.xlarge", "gcp": "n2-standard-4"}
# The vCPUs of each VM type above (the clouds' published sizes), to say what a run will take of a quota.
NODE_VCPUS = {"Standard_D4ds_v5": 4, "m5d.xlarge": 4, "n2-standard-4": 4}
# How many new clusters a run starts at once by default: two 4-vCPU clusters, 8 vCPUs, fit the small vCPU
# quota of a trial or course subscription (often about 10 per VM family and region: unverified, see
# docs/deploy.md); more with --max-parallel.
MAX_PARALLEL = 2

# Serverless compute (`run --serverless`), as the bundle's serverless target has it (resources/lab_serverless.yml,
# which tests/test_bundle.py holds to these): tasks with no cluster, in one job environment. Environment version 5
# (its standard base environment) ships MLflow 3.8.1 (its release notes); scikit-learn and matplotlib are added
# without a version, as no version of either could be verified for it, and pip keeps one the environment has.
SERVERLESS_ENVIRONMENT_KEY = "lab"
SERVERLESS_ENVIRONMENT_VERSION = "5"
SERVERLESS_DEPENDENCIES = ["scikit-learn", "matplotlib"]
# Databricks Free Edition runs at most this many job tasks at once (its limitations page).
FREE_EDITION_CONCURRENT_TASKS = 5


# What Unity Catalog refuses in an object's name ("Names", Databricks SQL language reference: at most 255
# characters; no period, space, forward slash, ASCII control character 00-1F or DELETE 7F).
UC_NAME_LIMIT = 255
UC_NAME_REFUSED = re.compile(r"[. /\x00-\x1f\x7f]")


# What each kind of Unity Catalog object's name is made of: one name (a catalog, a schema), or three
# (catalog.schema.name) for what lives in a schema.
UC_LEVELS = {"catalog": 1, "schema": 1, "volume": 3, "model": 3}


def name_problem(value: str, kind: str) -> str | None:
    """Why `value` cannot name a Unity Catalog object of `kind` (a key of UC_LEVELS), or None if it can: a
    catalog or a schema is one name; a volume or a model its full name catalog.schema.name."""
    parts = value.split(".") if UC_LEVELS[kind] == 3 else [value]
    if UC_LEVELS[kind] == 3 and (len(parts) != 3 or not all(parts)):
        return f"{value!r} is not a {kind}'s full name catalog.schema.{kind} (e.g. workspace.default.my_{kind})"
    for part in parts:
        if not part:
            return f"a {kind} needs a name (leave the option out for the notebooks' default)"
        if len(part) > UC_NAME_LIMIT:
            return f"{part[:20]!r}...: a Unity Catalog name has at most {UC_NAME_LIMIT} characters"
        if UC_NAME_REFUSED.search(part):
            return f"{part!r}: a Unity Catalog name has no space, '/', period or control character"
    return None


def serverless_environment() -> dict:
    """The job environment the serverless tasks run in (`environments` of runs/submit)."""
    return {
        "environment_key": SERVERLESS_ENVIRONMENT_KEY,
        "spec": {"environment_version": SERVERLESS_ENVIRONMENT_VERSION, "dependencies": list(SERVERLESS_DEPENDENCIES)},
    }


@dataclass(frozen=True)
class DeployedNotebook:
    """A lab notebook (its declaration in labtools.lab) as deployed: its path in the workspace."""

    notebook: lab.LabNotebook
    workspace_path: str

    @property
    def file(self) -> Path:
        """Its English file here: the widgets a task may pass are read from it (the same in every language)."""
        return self.notebook.path()

    @property
    def stem(self) -> str:
        return self.notebook.stem

    @property
    def task_key(self) -> str:
        return self.notebook.task_key

    @property
    def uses_spark(self) -> bool:
        """Whether Spark does its work (the declaration's engine): the notebooks workers (`--num-workers`) speed up."""
        return self.notebook.uses_spark

    @property
    def registers_model(self) -> bool:
        """Whether it registers a model (it declares a `model_name` widget: the Managing Models notebooks), so
        that a matrix task gives it a name of its own (models.lab_model_name)."""
        return "model_name" in widgets.widgets_of_file(self.file)

    @property
    def default_experiment(self) -> str:
        """What the notebook logs to with its experiment_name widget blank (under /Users/<you>/ in a workspace)."""
        return self.notebook.experiment


@dataclass(frozen=True)
class Experiments:
    """The experiments `deploy.py run` logs to: one per lab notebook, and per runtime for `run --runtime`.

    By default each notebook's is its own default experiment with `-deploy-py` added, in `home`
    (`/Users/<you>`): `...-experiments-deploy-py`, `...-experiments-spark-ml-deploy-py`. With
    `--experiment-name NAME` the first notebook's is NAME, and each other's NAME plus what its default adds
    to the first's (`NAME-spark-ml`), or, for a default not named after the first's, NAME-<its default>.
    `-<runtime>` ends the matrix's, so that runs going on at once never share an experiment.
    """

    home: str | None
    given: str | None = None

    def of(self, notebook: DeployedNotebook, runtime: str | None = None) -> str:
        if self.given:
            default = notebook.default_experiment
            first = lab.LAB_EXPERIMENT
            name = self.given + (default.removeprefix(first) if default.startswith(first) else f"-{default}")
        else:
            name = f"{self.home}/{notebook.notebook.deploy_experiment}"
        return f"{name}-{runtime}" if runtime else name

    def every(self, notebooks: list[DeployedNotebook]) -> list[str]:
        """Every experiment `run` may have logged to: each notebook's, alone and per runtime of the matrix."""
        return [self.of(notebook, runtime) for notebook in notebooks for runtime in (None, *lab.LTS_ML_RUNTIMES)]


def check_notebook_list(langs=(lab.SOURCE_LANGUAGE,)) -> None:
    """Each language's notebooks folder against labtools.lab.LAB_NOTEBOOKS: a file the list lacks (or the
    reverse) is a one-line DeployError, raised before any call to a workspace."""
    try:
        for lang in langs:
            lab.lab_notebook_files(lang)
    except lab.NotebookListError as error:
        raise DeployError(str(error)) from None


def deployed_notebooks(folder: str) -> list[DeployedNotebook]:
    """The lab notebooks (labtools.lab.LAB_NOTEBOOKS), as deployed to `folder`: a new notebook comes by itself.
    (The commands check the folder against the list first, before any call: check_notebook_list.)"""
    return [DeployedNotebook(notebook, f"{folder}/{notebook.stem}") for notebook in lab.LAB_NOTEBOOKS]


def single_node_cluster(node_type: str, spark_version: str = SPARK_VERSION) -> dict:
    """A single-node ML cluster, as the bundle's job cluster (resources/lab_job.yml, `single_node_ml`)."""
    return {
        "spark_version": spark_version,
        "node_type_id": node_type,
        "num_workers": 0,
        "spark_conf": {"spark.databricks.cluster.profile": "singleNode", "spark.master": "local[*, 4]"},
        "custom_tags": {"ResourceClass": "SingleNode"},
        "data_security_mode": "SINGLE_USER",
    }


def cluster(node_type: str, spark_version: str = SPARK_VERSION, workers: int = 0) -> dict:
    """The single-node cluster, or with `workers` > 0 one of that many workers, as the bundle's
    `spark_ml_workers` job cluster: then without the single-node settings, which would keep Spark on the driver."""
    if not workers:
        return single_node_cluster(node_type, spark_version)
    return {
        "spark_version": spark_version,
        "node_type_id": node_type,
        "num_workers": workers,
        "data_security_mode": "SINGLE_USER",
    }


def notebook_parameters(
    experiment: str,
    data_path: str | None = None,
    volume: str | None = None,
    catalog: str | None = None,
    schema: str | None = None,
    model_name: str | None = None,
) -> dict:
    """The notebook parameters a run passes: the experiment, and each of the others that an option gives (the data,
    the volume, the registry's catalog and schema, a model's name). notebook_task passes each only to a notebook
    that declares it: the volume to the Spark ML ones, the registry's to the Managing Models ones."""
    given = {"data_path": data_path, "volume": volume, "catalog": catalog, "schema": schema, "model_name": model_name}
    return {"experiment_name": experiment, **{name: value for name, value in given.items() if value}}


def notebook_task(task_key: str, notebook: DeployedNotebook, parameters: dict, cluster: dict | str | None) -> dict:
    """One task: the notebook, the parameters it declares as widgets (others it would refuse), and a
    new cluster (a dict), an existing one (its id), or None: serverless compute, in the job's environment."""
    declared = widgets.widgets_of_file(notebook.file)
    passed = {name: value for name, value in parameters.items() if name in declared}
    task = {
        "task_key": task_key,
        "notebook_task": {"notebook_path": notebook.workspace_path, "base_parameters": passed},
    }
    if cluster is None:
        task["environment_key"] = SERVERLESS_ENVIRONMENT_KEY
    elif isinstance(cluster, str):
        task["existing_cluster_id"] = cluster
    else:
        task["new_cluster"] = cluster
    return task


def at_most(tasks: list[dict], parallel: int) -> list[dict]:
    """The tasks, each after the one `parallel` places before it, so that no more than `parallel` run at once.

    A task waits for that one to end whatever its result (run_if ALL_DONE): one runtime failing must not
    keep the others from running. `parallel` lanes, in the tasks' order."""
    chained = []
    for index, task in enumerate(tasks):
        if index >= parallel:
            task = {**task, "depends_on": [{"task_key": tasks[index - parallel]["task_key"]}], "run_if": "ALL_DONE"}
        chained.append(task)
    return chained


def compute(tasks: list[dict], parallel: int) -> str:
    """What the run will start, said before it starts: its clusters, their nodes and vCPUs, and how many at once."""
    clusters = [task["new_cluster"] for task in tasks if "new_cluster" in task]
    if any("environment_key" in task for task in tasks):
        return (
            f"Starts no cluster: {len(tasks)} tasks on serverless compute (environment version "
            f"{SERVERLESS_ENVIRONMENT_VERSION}), at most {min(parallel, len(tasks))} at once"
        )
    if not clusters:
        return "Starts no cluster: the tasks run on the existing cluster"
    nodes = [1 + cluster.get("num_workers", 0) for cluster in clusters]
    types = sorted({cluster["node_type_id"] for cluster in clusters})
    vcpus = [NODE_VCPUS.get(cluster["node_type_id"]) for cluster in clusters]
    at_once = min(parallel, len(clusters))
    if None in vcpus:  # a --node-type not in the table: say so rather than guess
        return (
            f"Starts {len(clusters)} clusters ({sum(nodes)} nodes of {', '.join(types)}, vCPUs not known here: "
            f"see the Compute page), at most {at_once} at once (--max-parallel {parallel})"
        )
    per_cluster = sorted((count * cpus for count, cpus in zip(nodes, vcpus, strict=True)), reverse=True)
    each = f"{vcpus[0]} vCPUs each" if len(set(vcpus)) == 1 else "vCPUs " + "/".join(map(str, sorted(set(vcpus))))
    return (
        f"Starts {len(clusters)} clusters ({sum(nodes)} nodes of {', '.join(types)}, {each}: "
        f"{sum(per_cluster)} vCPUs in all), at most {at_once} at once ({sum(per_cluster[:at_once])} vCPUs; "
        f"--max-parallel {parallel})"
    )


def run_spec(tasks: list[dict], timeout: int, parallel: int = MAX_PARALLEL) -> dict:
    """The body of `jobs/runs/submit`."""
    # The workspace stops the run after `timeout` seconds too, should this script no longer be watching. The
    # token makes the SDK's retries of this request (a timeout, a 429) return the same run, never a second one.
    spec = {
        "run_name": RUN_NAME,
        "timeout_seconds": timeout,
        "tasks": at_most(tasks, parallel),
        "idempotency_token": uuid.uuid4().hex,
    }
    if any("environment_key" in task for task in tasks):
        spec["environments"] = [serverless_environment()]
    return spec
