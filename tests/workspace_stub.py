"""A local stand-in for a Databricks workspace's REST API, for tests/test_deploy.py and its siblings.

No Databricks workspace is reachable from here (the network reaches only package registries), so
this HTTP server on 127.0.0.1 stands in for one. Several can run at once, one per workspace. Each
keeps its state in memory and answers the endpoints scripts/deploy.py calls through the SDK:

- /.well-known/databricks-config (the SDK's discovery probe, no authentication);
- SCIM: Me (with the caller's groups: `admins` makes a workspace admin), Users (list with a
  `userName eq "..."` filter, get by id), Groups (list with a `displayName eq "..."` filter);
- /api/2.0/workspace/mkdirs, import (SOURCE notebooks; AUTO: a notebook by its header, else a file),
  export (SOURCE, AUTO), get-status, list, delete;
- /api/2.1/clusters/get and spark-versions;
- /api/2.2/jobs/runs/submit, get, get-output, list, cancel, delete;
- /api/2.1/unity-catalog/volumes: create, read, delete (what `databricks bundle deploy` and `destroy` do with a
  bundle's volume);
- /api/2.1/unity-catalog/current-metastore-assignment (the default catalog), models/{full_name} (get, delete),
  its aliases/{alias} and versions/{version} (delete): what `deploy.py clean-up --delete-models` calls;
- /api/2.0/mlflow/experiments/get-by-name, delete and restore.

It is strict, so that a deploy it accepts is one a workspace would accept. Every request is checked
against the SDK method that makes it (tests/workspace_contract.py reads verb, path, parameters and
their types from the SDK's own source and dataclasses): GET parameters in the query string and no
body, POST parameters in a JSON body and no query string, no unknown or missing fields, values of
the right type; a request that fails gets the service's 400 with `error_code` and `message`. A missing
path is 404 RESOURCE_DOES_NOT_EXIST. `runs/submit` also checks what the jobs service does: a unique
`task_key`, a `notebook_task`, exactly one cluster option, a new cluster's `spark_version` (one the
workspace lists) and `node_type_id`. `import` refuses more than 10 MB of content and will not replace
a folder with a notebook. Every answer is checked against the SDK's response type too: an answer that
does not fit is a bug of this stub, answered with 500 and kept in `contract_problems`.

Runs follow a script of states, one step per `runs/get`, each task its own: a notebook that does not
exist fails the task once it would start; a cancelled run passes through TERMINATING for two polls
before it is TERMINATED, as the service takes a while to stop a cluster. A task that reaches RUNNING
"runs the notebook": it creates the experiment named in its parameters, as the lab notebook would,
and a successful one returns the notebook's summary as its output only if the notebook it was given
ends with `dbutils.notebook.exit(...)` (its source, from the import): otherwise no
`notebook_output.result`, as a workspace.

The service's rules it holds, each with its source and the test of tests/test_workspace_stub.py that fails
without it (sdk-py: databricks-sdk-py's service modules, whose docstrings are the API reference's text):

rule                                   | source                                 | test
-------------------------------------- | -------------------------------------- | ------------------------------------
runs/submit: each task's               | sdk-py jobs.JobSettings.environments,  | test_undeclared_environment_key
`environment_key` names an environment | SubmitTask.environment_key;            | test_environment_key_used_twice
of the run's `environments`; each key  | jobs.JobEnvironment.environment_key    |
unique within the run                  | ("it has to be unique within a job")   |
an environment's `spec` has            | sdk-py compute.Environment ("Either    | test_environment_version_xor_base
`environment_version` or               | environment_version or                 |
`base_environment`; not both (INFERRED | base_environment needs to be           |
from "Either ... can be provided");    | provided"; client: "Use                |
`client` alone is refused, though the  | environment_version instead")          |
service may still take it              |                                        |
`environment_version` a released       | the release notes,                     | test_unknown_environment_version
version, "1" to "5" (a string)         | serverless/environment-version/one ... |
                                       | five                                   |
`base_environment`: an env.yaml under  | sdk-py                                 | test_base_environment_forms
/Workspace or /Volumes, or a           | compute.Environment.base_environment   |
workspace-base-environments/ ID (Beta) |                                        |
each dependency one pip                | sdk-py                                 | test_malformed_dependency_lines
requirements-file line: a PEP 508      | compute.Environment.dependencies;      |
specifier, a URL, a path or a pip      | pip's Requirements File Format         |
option                                 |                                        |
`notebook_path` absolute for a         | sdk-py jobs.NotebookTask.notebook_path | test_relative_notebook_path_refused
notebook in the workspace, relative in | and .source                            |
Git (`source`, or GIT when the run has |                                        |
a `git_source`): 400 at submit, not at |                                        |
the task's start                       |                                        |
Free Edition (`free_edition=True`): a  | Free Edition limitations page          | test_free_edition_refuses_clusters
task with new_cluster or               | (serverless compute only)              |
existing_cluster_id is refused         |                                        |
Free Edition: at most 5 task runs      | Free Edition limitations page (5       | test_free_edition_queues_past_five
active at once over every run; the     | concurrent job tasks); sdk-py          |
others QUEUED with                     | jobs.QueueDetailsCodeCode,             |
`status.queue_details.code`            | RunStatus.queue_details                |
ACTIVE_RUNS_LIMIT_REACHED until one    |                                        |
ends                                   |                                        |
volumes: a name of 1-255 characters    | "Names", Databricks SQL language       | test_volume_names_follow_uc_rules
without period, space, slash or        | reference                              |
control character; kept in lower case  |                                        |
volumes: a missing schema 404 "Schema  | the messages: databricks/cli           | test_volume_in_missing_schema
'c.s' does not exist.", a missing      | acceptance/                            | test_missing_volume_is_404
volume 404 "Volume 'c.s.v' does not    | selftest/record_cloud/volume-io/       |
exist."                                | output.txt (recorded against a         |
                                       | workspace)                             |
volumes: creating one that exists is   | code: sdk-py's errors                  | test_existing_volume_not_created
409 RESOURCE_ALREADY_EXISTS "Volume    | (RESOURCE_ALREADY_EXISTS is 409);      |
'c.s.v' already exists"                | message by analogy with UC's "Schema   |
                                       | 'x' already exists"                    |
                                       | (databricks/cli#2889): UNVERIFIED for  |
                                       | volumes                                |
a managed volume takes no              | databricks/cli libs/testserver/        | test_managed_volume_no_location
storage_location                       | volumes.go (the CLI's own fake;        |
                                       | unverified)                            |
short_name(): the CLI's                | databricks/cli libs/iamutil/user.go,   | test_short_name_is_the_clis
`${workspace.current_user.short_name}` | libs/textutil/textutil.go, and         |
                                       | user_test.go's examples                |
models: a name that is not            | the message as mlflow/mlflow#13833    | test_model_name_needs_three_levels
catalog.schema.model is 400            | quotes it (a UC registry call); sdk-py |
INVALID_PARAMETER_VALUE "Bad model     | RegisteredModelsAPI: "The three-level  |
name: please specify all three levels  | (fully qualified) name"                |
..."                                   |                                        |
models: a missing one 404              | `databricks registered-models get`'s   | test_missing_model_is_404
RESOURCE_DOES_NOT_EXIST "Routine or    | output quoted in public notes          |
Model 'c.s.m' does not exist."         | (UNVERIFIED against a document)        |
models: deleting one deletes its       | sdk-py RegisteredModelsAPI.delete      | test_model_delete_takes_versions
versions and aliases; none need        | ("Deletes a registered model and all   |
deleting first                         | its model versions")                   |
models: get lists the aliases only     | sdk-py RegisteredModelsAPI.get         | test_model_aliases_only_when_asked
with include_aliases=true              | include_aliases ("Whether to include   |
                                       | registered model aliases")             |
models: deleting one the caller does   | sdk-py RegisteredModelsAPI.delete ("The| test_model_delete_needs_ownership
not own is 403 PERMISSION_DENIED (the  | caller must be a metastore admin or an |
stub's message)                        | owner of the registered model")        |
deleting a version deletes the aliases | sdk-py ModelVersionsAPI.delete ("Any   | test_version_delete_takes_aliases
that name it                           | aliases assigned to the model version  |
                                       | will also be deleted")                 |
development_name(): "[dev <short>] "   | databricks/cli bundle/config/mutator/  | test_dev_mode_names_but_not_volumes
for jobs, experiments...;              | resourcemutator/apply_target_mode.go,  |
"dev_<short>_" for schemas...; volumes | apply_presets.go                       |
unchanged                              |                                        |

The error messages are the stub's own unless the table names a source for them; the error codes of the 404s
(RESOURCE_DOES_NOT_EXIST) are the stub's too.

Faults to inject: a token it rejects (401), folders the user may not write to (403), a caller who is
not an admin, an unknown cluster (404, or the 400 "does not exist" some workspaces send), runtimes the
workspace does not offer, a task that fails, never finishes, or whose cluster never starts (every task,
the tasks of one runtime, or the tasks of one notebook).

Known differences from a real workspace, and what a test passing here would therefore not show:

the stub                               | a real workspace                       | what a test would miss
-------------------------------------- | -------------------------------------- | ------------------------------------
queues a task only in Free Edition    | may hold a run QUEUED                  | time spent queued counting against
mode, past 5 active task runs; a queued| (`status.queue_details`) at other      | `--timeout` elsewhere; how the queue
task starts at a later poll of its own | limits too (a job's max_concurrent_    | message reads; whether a run with
run, in the order of its run's tasks   | runs, other workspaces' limits); its   | queueing disabled is skipped instead
                                       | order across runs is the service's     |

a task with `depends_on` is BLOCKED    | BLOCKED too; when and with which       | the real messages; a task skipped
until its upstream tasks end, and      | message a task leaves it is the        | for a reason other than an upstream
starts at the next poll                | service's                              | failure

`runs/get-output` of a task that never | its answer for such a task is          | deploy.py treats both as "no
started (its cluster failed) is a 400  | unverified (an error, or an output     | output"; an answer of another shape
                                       | with no result)                        |

any caller may submit runs on new      | needs the *Allow unrestricted cluster  | the message a caller without the
clusters                               | creation* entitlement or *Can use* on  | entitlement gets
                                       | a cluster policy; without, runs/submit |
                                       | is a 403                               |

no vCPU quota: clusters always start,  | a cluster over the subscription's vCPU | whether `--max-parallel 2` fits a
unless NO_CLUSTER is injected          | quota never starts (CLOUD_FAILURE,     | given subscription
(`most_tasks_running_at_once` counts   | QuotaExceeded), per VM family and      |
what a quota would have to allow)      | region                                 |

every user has a home folder; an admin | a home folder may appear only at the   | a learner added to the workspace who
may write to any, others only where    | user's first login; a non-admin may    | never logged in
`deny()` does not refuse               | not write to other users' folders      |

`export` returns a notebook's bytes    | may normalise a notebook's source      | code that compares an export with
exactly as imported                    | (unverified)                           | the local file (copies.py compares
                                       |                                        | exports with exports, so it does
                                       |                                        | not)

`import` AUTO: a notebook by the `#    | AUTO decides by extension and header   | a file whose extension makes the
Databricks notebook source` header,    |                                        | service read it otherwise
anything else a file                   |                                        |

experiments: restore and delete as     | Databricks' managed MLflow; a deleted  | messages of the managed service; a
open-source MLflow's store; nothing is | experiment is purged after 30 days     | name free again after the purge
ever purged                            |                                        |

one `runs/get` poll is one minute of   | minutes per state, whatever the        | real durations
run time                               | polling                                |

serverless tasks (no cluster, or an    | needs serverless compute enabled; a    | a workspace without serverless;
`environment_key` of the run's         | task waits for its environment to be   | a dependency that fails to install
`environments`) run like any other,    | installed, which may fail (a package   | or is not reachable (Free Edition
once their environments pass the rules | that does not exist, no egress to      | restricts egress); where the service
above                                  | PyPI); it may check dependencies at    | refuses a malformed dependency
                                       | submit or only at install (unverified) | (submit or install)

volumes: the catalog `workspace` with  | catalogs and schemas as the metastore  | privileges (USE CATALOG, CREATE
its schema `default` (Free Edition's); | has them; a user needs USE CATALOG,    | VOLUME); `hive_metastore`, which
no privileges; `put_volume` for one    | USE SCHEMA and CREATE VOLUME           | has no volumes
made by SQL                            |                                        |
"""

from __future__ import annotations

import base64
import json
import re
import threading
import traceback
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from databricks.sdk.service import catalog, compute, iam, jobs, ml, workspace
from packaging.requirements import InvalidRequirement, Requirement
from workspace_contract import endpoint, problems_of_request, problems_of_response

EXISTING_CLUSTER = "0101-120000-lab01abc"
IMPORT_LIMIT = 10 * 1024 * 1024  # bytes of base64 content, as the workspace API documents
POLLS_WHILE_TERMINATING = 2

# What a workspace lists under clusters/spark-versions: the LTS ML runtimes, and keys that must not be
# taken for them (a non-LTS ML runtime, a GPU build, a standard runtime).
SPARK_VERSIONS = [
    {"key": "15.4.x-cpu-ml-scala2.12", "name": "15.4 LTS ML (includes Apache Spark 3.5.0, Scala 2.12)"},
    {"key": "15.4.x-scala2.12", "name": "15.4 LTS (includes Apache Spark 3.5.0, Scala 2.12)"},
    {"key": "16.3.x-cpu-ml-scala2.12", "name": "16.3 ML (includes Apache Spark 3.5.2, Scala 2.12)"},
    {"key": "16.4.x-cpu-ml-scala2.13", "name": "16.4 LTS ML (includes Apache Spark 3.5.2, Scala 2.13)"},
    {"key": "16.4.x-cpu-ml-scala2.12", "name": "16.4 LTS ML (includes Apache Spark 3.5.2, Scala 2.12)"},
    {"key": "17.3.x-gpu-ml-scala2.13", "name": "17.3 LTS ML (includes Apache Spark 4.0.0, GPU, Scala 2.13)"},
    {"key": "17.3.x-cpu-ml-scala2.13", "name": "17.3 LTS ML (includes Apache Spark 4.0.0, Scala 2.13)"},
    # A release named "N LTS" has a key of the form N.x-... (18.x-cpu-ml-scala2.13, as public configurations
    # use; unverified against a workspace's own list), a maintenance release N.M.x-... as above.
    {"key": "18.x-cpu-ml-scala2.13", "name": "18 LTS ML (includes Apache Spark 4.1.0, Scala 2.13)"},
]
NODE_TYPES = {"Standard_D4ds_v5", "m5d.xlarge", "n2-standard-4"}
# The library versions each runtime ships (runtimes/*.txt), for the summary a successful task returns.
RUNTIME_LIBRARIES = {
    "15.4": {"mlflow": "2.13.1", "scikit-learn": "1.3.0", "spark": "3.5.0"},
    "16.4": {"mlflow": "2.21.3", "scikit-learn": "1.4.2", "spark": "3.5.2"},
    "17.3": {"mlflow": "3.0.1", "scikit-learn": "1.6.1", "spark": "4.0.0"},
    "18": {"mlflow": "3.8.1", "scikit-learn": "1.6.1", "spark": "4.1.0"},
}
# The serverless environment versions a job environment's `spec.environment_version` may name: those with release
# notes (docs .../release-notes/serverless/environment-version/one ... five). Whether a workspace still accepts 1,
# past its end of support, is not known here.
SERVERLESS_ENVIRONMENT_VERSIONS = ("1", "2", "3", "4", "5")
# A base environment (`spec.base_environment`): an env.yaml in the workspace or a volume, or (Beta) a base
# environment's ID (sdk-py compute.Environment.base_environment).
BASE_ENVIRONMENT = re.compile(r"(/Workspace/|/Volumes/).+\.ya?ml|workspace-base-environments/[\w-]+")
# pip options a requirements-file line may hold (pip's "Requirements File Format": global and per-requirement).
PIP_OPTIONS = re.compile(
    r"(-r|--requirement|-c|--constraint|-e|--editable|-i|--index-url|--extra-index-url|"
    r"-f|--find-links|--no-index|--pre|--prefer-binary|--only-binary|--no-binary|"
    r"--trusted-host)(\s|=|$)"
)
# A direct reference: a VCS project URL (pip's VCS support) or an archive URL.
PIP_URL = re.compile(r"((git|hg|svn|bzr)\+)?(https?|file|ssh)://\S+")
# Databricks Free Edition runs at most this many job tasks at once (its limitations page); the rest wait QUEUED.
FREE_EDITION_ACTIVE_TASKS = 5
# Unity Catalog's refusals of a name ("Names", Databricks SQL language reference): at most 255 characters, no
# period, space, forward slash, ASCII control character or DELETE. UC keeps names in lower case.
METASTORE_ID = "11111111-2222-3333-4444-555555555555"
UC_NAME = re.compile(r"[^. /\x00-\x1f\x7f]{1,255}")
# What serverless compute ships per environment version (its release notes: MLflow 2.22.0 in 4, 3.8.1 in 5), for
# the summary of a serverless task; the job environment's own pins (its dependencies) come on top.
SERVERLESS_LIBRARIES = {"4": {"mlflow": "2.22.0"}, "5": {"mlflow": "3.8.1"}}
# The runs each lab notebook logs on the lab's data (tests/conftest.py's CLASSIC_METRICS, rounded), for its summary.
RUN_METRICS = [
    ("run 1", {"rmse": 4.27, "mae": 2.16, "r2": 0.864}),
    ("run 2", {"rmse": 4.38, "mae": 2.21, "r2": 0.857}),
    ("run 3", {"rmse": 6.01, "mae": 3.28, "r2": 0.731}),
]
SPARK_RUN_METRICS = [
    ("run 1", {"rmse": 3.86, "mae": 2.39, "r2": 0.873}),
    ("run 2", {"rmse": 3.70, "mae": 2.14, "r2": 0.884}),
    ("run 3", {"rmse": 3.84, "mae": 2.24, "r2": 0.875}),
]
# A notebook cell boundary in Databricks source format.
CELL = re.compile(r"^# COMMAND -+$", re.MULTILINE)


def exits_with_a_result(source: bytes) -> bool:
    """Whether the notebook's last cell calls dbutils.notebook.exit: only then has a job task a result to return.

    A workspace sets a task's notebook_output.result from that call alone; a notebook that ends without it
    gives a successful task with no result. The stub reads the source it was given at import.
    """
    last_cell = CELL.split(source.decode("utf-8", errors="replace"))[-1]
    return any(line.startswith("dbutils.notebook.exit(") for line in last_cell.splitlines())


@dataclass(frozen=True)
class State:
    life: str
    result: str | None = None
    message: str = ""
    code: str | None = None  # status.termination_details, once terminated
    kind: str | None = None


PENDING = State("PENDING", message="Waiting for cluster")
# A task held back by the workspace's limit of active task runs (the code and its meaning: sdk-py jobs
# QueueDetailsCodeCode.ACTIVE_RUNS_LIMIT_REACHED; the message is the stub's, the field is unstructured).
QUEUED = State("QUEUED", message="Queued: the workspace's limit of active task runs is reached")
QUEUE_DETAILS = {
    "code": "ACTIVE_RUNS_LIMIT_REACHED",
    "message": "The run was queued due to reaching the workspace limit of active task runs.",
}
BLOCKED = State("BLOCKED", message="Waiting for upstream tasks")
UPSTREAM_FAILED = State("SKIPPED", "UPSTREAM_FAILED", "Upstream task failed.", "SKIPPED", "CLIENT_ERROR")
RUNNING = State("RUNNING", message="In run")
TERMINATING = State("TERMINATING", message="Cancelling the run")
CANCELLED = State("TERMINATED", "CANCELED", "Run cancelled.", "USER_CANCELED", "CLIENT_ERROR")
NO_CLUSTER_MESSAGE = (
    "Cluster '0101-130000-gone' was terminated. Reason: CLOUD_PROVIDER_LAUNCH_FAILURE (CLOUD_FAILURE). "
    "Parameters: azure_error_code:QuotaExceeded, azure_error_message:Operation could not be completed as it "
    "results in exceeding approved standardDDSv5Family Cores quota."
)
SCRIPTS = {
    "SUCCESS": [PENDING, RUNNING, RUNNING, State("TERMINATED", "SUCCESS", "", "SUCCESS", "SUCCESS")],
    "FAILED": [
        PENDING,
        RUNNING,
        State(
            "TERMINATED", "FAILED", "Workload failed, see run output for details", "RUN_EXECUTION_ERROR", "CLIENT_ERROR"
        ),
    ],
    "HANG": [PENDING, RUNNING],
    "NO_CLUSTER": [PENDING, State("INTERNAL_ERROR", "FAILED", NO_CLUSTER_MESSAGE, "CLOUD_FAILURE", "CLOUD_FAILURE")],
}
TERMINAL = {"TERMINATED", "SKIPPED", "INTERNAL_ERROR"}
# What the stub keeps on a task run for itself; never part of an answer.
PRIVATE_TASK_KEYS = ("script", "outcome", "end_time", "exits", "error", "first_step", "environment", "queued")
NOTEBOOK_ERROR = "LabDataError: /dbfs/missing.csv: no such file. Check the data_path parameter."
# What mlflow.set_experiment raises for an experiment in the deleted state (mlflow/tracking/fluent.py).
DELETED_EXPERIMENT_ERROR = (
    "MlflowException: Cannot set a deleted experiment '{name}' as the active experiment. You can restore the "
    "experiment, or permanently delete the experiment to create a new one."
)
NOTEBOOK_TRACE = (
    "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m\n"
    "LabDataError                              Traceback (most recent call last)\n"
    "File <command-1>, line 1\n----> 1 trips, trips_source = load_trips(data_path)\n"
    "LabDataError: /dbfs/missing.csv: no such file. Check the data_path parameter."
)


def short_name(user_name: str, display_name: str = "") -> str:
    """`${workspace.current_user.short_name}` as the Databricks CLI computes it (databricks/cli
    libs/iamutil/user.go GetShortUserName, libs/textutil/textutil.go NormalizeString): a service principal's
    (its user name a UUID) display name if it has one, else the user name; the part before "@", in lower case
    (one character at a time, as Go's unicode.ToLower); every character not a letter or decimal digit "_"; runs
    of "_" one; none at either end. first.last@example.com -> first_last."""
    try:
        name = display_name if display_name and uuid.UUID(user_name) else user_name
    except ValueError:
        name = user_name
    return normalize_string(name.split("@", 1)[0])


def normalize_string(text: str) -> str:
    """databricks/cli textutil.NormalizeString: lower case, each character not a letter or decimal digit "_", runs
    of "_" one, none at either end."""
    # c.lower()[0]: Go maps each rune alone; Python's "İ".lower() is two characters, Go's the first of them.
    text = "".join(c.lower()[0] if c.isalpha() or c.isdecimal() else "_" for c in text)
    return re.sub("_+", "_", text).strip("_")


# How the CLI's development mode renames a resource (databricks/cli bundle/config/mutator/resourcemutator/
# apply_target_mode.go: name_prefix "[dev <short_name>] "; apply_presets.go: which kinds get it, and how).
DEV_PREFIXED = {
    "jobs",
    "pipelines",
    "models",
    "clusters",
    "instance_pools",
    "dashboards",
    "genie_spaces",
    "alerts",
    "sql_warehouses",
}
DEV_NORMALIZED = {"schemas", "registered_models", "model_serving_endpoints"}  # normalizePrefix: "dev_<short>_"
DEV_UNCHANGED = {"volumes", "apps", "vector_search_endpoints", "vector_search_indexes"}  # no case for them


def development_name(kind: str, name: str, short: str) -> str:
    """The name `databricks bundle deploy` gives a resource of `kind` (as in `resources.<kind>`) in a target of
    `mode: development`, for the user whose short name is `short`. Volumes keep theirs."""
    prefix = f"[dev {short}] "
    if kind in DEV_PREFIXED:
        return prefix + name
    if kind == "experiments":  # on the last part of the path
        folder, _, base = name.rpartition("/")
        return f"{folder}/{prefix}{base}" if folder else prefix + base
    if kind in DEV_NORMALIZED:
        # normalizePrefix("[dev s] "): "[" dropped, spaces trimmed, NormalizeString, "_" for the closing "]".
        return normalize_string(f"dev {short}]") + "_" + name
    if kind in DEV_UNCHANGED:
        return name
    raise ValueError(f"development_name: no rule here for resources.{kind}; read apply_presets.go and add it")


def pip_line_problem(line: str) -> str | None:
    """Why `line` is not one line of a pip requirements file, as a job environment's `dependencies` must be
    (sdk-py compute.Environment.dependencies: "a requirement specifier, an archive URL, a local project path
    (such as WSFS or UC Volumes), or a VCS project URL"; pip's "Requirements File Format"); None if it is."""
    text = line.strip()
    if not text:
        return "an empty line"
    if "\n" in line or "\r" in line:
        return "more than one line"
    if text.startswith("#"):
        return "a comment, not a dependency"
    if text.startswith("-"):
        return None if PIP_OPTIONS.match(text) else "not a pip option a requirements file may hold"
    if text.startswith("/") or PIP_URL.fullmatch(text):
        return None
    try:
        Requirement(text)
    except InvalidRequirement as error:
        return f"not a requirement specifier ({str(error).splitlines()[0]})"
    return None


class ApiError(Exception):
    def __init__(self, status: int, error_code: str, message: str):
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message


def bad(message: str) -> ApiError:
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)


@dataclass
class Request:
    method: str
    path: str
    query: dict
    body: dict | None
    authorized: bool


class WorkspaceStub:
    def __init__(self, token: str, user: str = "learner@example.com", admin: bool = True, free_edition: bool = False):
        self.token = token  # the token the workspace accepts; change it to make the client's "expired"
        self.user = user
        # Databricks Free Edition: serverless compute only (no task may ask for a cluster), at most
        # FREE_EDITION_ACTIVE_TASKS job tasks at once (the others QUEUED).
        self.free_edition = free_edition
        self.active_task_limit = FREE_EDITION_ACTIVE_TASKS if free_edition else None
        # Unity Catalog: catalog -> its schemas; volumes by full name. Free Edition gives every user the catalog
        # `workspace` and its schema `default`, where users may create volumes.
        self.schemas: dict[str, set[str]] = {"workspace": {"default"}}
        self.volumes: dict[str, dict] = {}
        # Registered models by full name: {"info": RegisteredModelInfo's fields, "versions": {n: run id},
        # "aliases": {alias: version}}. The metastore's default catalog: a session's current one (Free Edition's).
        self.registered_models: dict[str, dict] = {}
        self.default_catalog = "workspace"
        self.requests: list[Request] = []
        self.contract_problems: list[str] = []
        self.objects: dict[str, dict] = {}
        self._next_id = 1000
        self.clock_ms = 1_760_000_000_000  # advanced one minute per runs/get: durations without waiting
        for folder in ["/", "/Users", "/Shared"]:
            self._put(folder, "DIRECTORY")
        self.users: dict[str, dict] = {}
        self.groups: dict[str, dict] = {}
        self.add_user(user)
        self.add_group("admins", [user] if admin else [])
        self.add_group("users", [user])
        self.clusters = {EXISTING_CLUSTER: {"cluster_id": EXISTING_CLUSTER, "cluster_name": "lab", "state": "RUNNING"}}
        self.spark_versions = [dict(version) for version in SPARK_VERSIONS]
        self.runs: dict[int, dict] = {}
        self.experiments: dict[str, dict] = {}
        # Faults to inject.
        self.denied_prefixes: list[str] = []
        self.run_outcome = "SUCCESS"
        self.outcome_by_spark_version: dict[str, str] = {}
        self.outcome_by_notebook: dict[str, str] = {}  # notebook path -> outcome, before the others
        self.missing_cluster_status = 404
        self.sends_deprecated_state = True  # False: runs carry only `status`, as the SDK would have us read
        self.page_size = 2  # small, so that listing runs takes several pages
        self.idempotency_tokens: dict[str, int] = {}
        self._ended_states: dict[tuple[int, str], State] = {}
        self.most_tasks_running_at_once = 0  # over every run: what a vCPU quota would have to allow
        self.most_tasks_active_at_once = 0  # task runs started and not ended, over all runs at one time
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.stub = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle ---

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> WorkspaceStub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- helpers for tests ---

    def deny(self, path_prefix: str) -> None:
        """Writes (mkdirs, import, delete) at or under `path_prefix` get 403."""
        self.denied_prefixes.append(path_prefix)

    def calls(self, method: str, suffix: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    def add_user(self, user_name: str) -> str:
        """A user of the workspace, with the home folder a workspace gives each user."""
        self._next_id += 1
        user_id = str(self._next_id)
        self.users[user_id] = {
            "id": user_id,
            "userName": user_name,
            "displayName": user_name.split("@")[0].title(),
            "active": True,
        }
        self._put(f"/Users/{user_name}", "DIRECTORY")
        return user_id

    def add_group(self, name: str, members: list[str], groups: list[str] = ()) -> str:
        """A group whose members are the users called `members` and the groups called `groups`."""
        by_name = {user["userName"]: user for user in self.users.values()}
        by_group = {group["displayName"]: group for group in self.groups.values()}
        self._next_id += 1
        group_id = str(self._next_id)
        member_values = [
            {"value": by_name[m]["id"], "display": by_name[m]["displayName"], "$ref": f"Users/{by_name[m]['id']}"}
            for m in members
        ]
        member_values += [
            {"value": by_group[g]["id"], "display": g, "$ref": f"Groups/{by_group[g]['id']}"} for g in groups
        ]
        self.groups[group_id] = {"id": group_id, "displayName": name, "members": member_values}
        return group_id

    def put_notebook(self, path: str, content: bytes = b"# Databricks notebook source\n") -> None:
        """A notebook already in the workspace (as if deployed), with its folders."""
        self.mkdirs({"path": path.rsplit("/", 1)[0]})
        self._put(path, "NOTEBOOK", content, "PYTHON")

    def add_run(self, run_name: str, notebook_path: str, life_cycle_state: str = "TERMINATED") -> int:
        """A one-time run made elsewhere (another user, the UI), to check what clean-up leaves alone."""
        state = (
            State("TERMINATED", "SUCCESS", "", "SUCCESS", "SUCCESS")
            if life_cycle_state == "TERMINATED"
            else State(life_cycle_state, message="In run")
        )
        return self._new_run(
            {"run_name": run_name, "tasks": [{"task_key": "t", "notebook_task": {"notebook_path": notebook_path}}]},
            script=[state],
        )

    def task_runs(self, run_id: int) -> dict[str, dict]:
        return {task["task_key"]: task for task in self.runs[run_id]["tasks"]}

    # --- request handling ---

    def handle(self, method: str, raw_path: str, headers, body: bytes) -> tuple[int, dict]:
        url = urlsplit(raw_path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        try:
            payload = json.loads(body) if body else None
        except json.JSONDecodeError:
            return 400, {"error_code": "MALFORMED_REQUEST", "message": "Invalid JSON given in the body of the request"}
        authorized = headers.get("Authorization") == f"Bearer {self.token}"
        with self._lock:
            self.requests.append(Request(method, url.path, query, payload, authorized))
            if url.path == "/.well-known/databricks-config":
                return 200, {"workspace_id": "1234567890123456", "cloud": "AZURE", "oidc_endpoint": f"{self.url}/oidc"}
            if not authorized:
                return 401, {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."}
            for point, handler in ENDPOINTS:
                match = point.pattern.match(url.path)
                if point.verb == method and match:
                    return self._serve(point, handler, query, payload, match.groupdict())
            return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for '{method} {url.path}'"}

    def _serve(self, point, handler, query: dict, payload, path_values: dict) -> tuple[int, dict]:
        if payload is not None and not isinstance(payload, dict):
            return 400, {"error_code": "MALFORMED_REQUEST", "message": "The request body must be a JSON object"}
        code, problems = problems_of_request(point, query, payload, path_values)
        if problems:
            return 400, {"error_code": code, "message": "; ".join(problems)}
        try:
            answer = handler(self, {**query, **(payload or {}), **path_values})
        except ApiError as error:
            return error.status, {"error_code": error.error_code, "message": error.message}
        except Exception:  # a bug of the stub: a 500 the test sees, never a dropped connection
            self.contract_problems.append(f"{point}: {traceback.format_exc()}")
            return 500, {"error_code": "INTERNAL_ERROR", "message": f"stub failed on {point}"}
        problems = problems_of_response(point, answer)
        if problems:
            self.contract_problems.append(f"{point}: " + "; ".join(problems))
            return 500, {"error_code": "INTERNAL_ERROR", "message": f"stub answer does not fit {point}: {problems}"}
        return 200, answer

    def _put(self, path: str, object_type: str, content: bytes = b"", language: str | None = None) -> dict:
        self._next_id += 1
        entry = {"path": path, "object_type": object_type, "object_id": self._next_id}
        if language:
            entry["language"] = language
        self.objects[path] = {**entry, "content": content}
        return entry

    def _check_write(self, path: str) -> None:
        for prefix in self.denied_prefixes:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                raise ApiError(
                    403,
                    "PERMISSION_DENIED",
                    f"{self.user} does not have Manage permissions on {path}. "
                    "Please contact the owner or an administrator for access.",
                )

    def _object(self, path: str) -> dict:
        if path not in self.objects:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
        return self.objects[path]

    # --- SCIM ---

    def me(self, _):
        [me] = [user for user in self.users.values() if user["userName"] == self.user]
        groups = [
            {"display": group["displayName"], "value": group_id, "$ref": f"Groups/{group_id}"}
            for group_id, group in self.groups.items()
            if any(member["value"] == me["id"] for member in group["members"])
        ]
        return {**me, "groups": groups}

    def list_users(self, request):
        return self._scim_page(self.users.values(), "userName", request)

    def get_user(self, request):
        if request["id"] not in self.users:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"User {request['id']} not found")
        return self.users[request["id"]]

    def get_group(self, request):
        if request["id"] not in self.groups:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Group {request['id']} not found")
        return self.groups[request["id"]]

    def list_groups(self, request):
        return self._scim_page(self.groups.values(), "displayName", request)

    def _scim_page(self, resources, attribute: str, request) -> dict:
        found = list(resources)
        if request.get("filter"):
            match = re.fullmatch(r'(\w+) eq "([^"]*)"', request["filter"])
            if not match or match[1] != attribute:
                raise bad(f"Unsupported filter {request['filter']!r}: this workspace filters on {attribute} eq")
            found = [resource for resource in found if resource[attribute].lower() == match[2].lower()]
        start = int(request.get("startIndex") or 1)
        page = found[start - 1 : start - 1 + int(request.get("count") or 100)]
        return {"totalResults": len(found), "startIndex": start, "itemsPerPage": len(page), "Resources": page}

    # --- workspace files ---

    def mkdirs(self, request):
        path = request["path"].rstrip("/")
        self._check_write(path)
        parts = path.split("/")
        for depth in range(2, len(parts) + 1):
            folder = "/".join(parts[:depth])
            existing = self.objects.get(folder)
            if existing and existing["object_type"] != "DIRECTORY":
                raise ApiError(400, "RESOURCE_ALREADY_EXISTS", f"Path ({folder}) already exists and is not a folder.")
            if not existing:
                self._put(folder, "DIRECTORY")
        return {}

    def import_(self, request):
        path = request["path"]
        self._check_write(path)
        if len(request.get("content", "")) > IMPORT_LIMIT:
            raise ApiError(
                400,
                "MAX_NOTEBOOK_SIZE_EXCEEDED",
                f"File size imported is ({len(request['content'])} bytes), exceeded max size ({IMPORT_LIMIT} bytes)",
            )
        parent = path.rsplit("/", 1)[0] or "/"
        if self.objects.get(parent, {}).get("object_type") != "DIRECTORY":
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"The parent folder ({parent}) does not exist.")
        existing = self.objects.get(path)
        if existing and existing["object_type"] == "DIRECTORY":
            raise ApiError(
                400,
                "RESOURCE_ALREADY_EXISTS",
                f"Path ({path}) already exists and is a folder: overwrite replaces notebooks and files only.",
            )
        if existing and not request.get("overwrite"):
            raise ApiError(400, "RESOURCE_ALREADY_EXISTS", f"Path ({path}) already exists.")
        if request.get("format") == "SOURCE" and not request.get("language"):
            raise bad("The language field is required to import a single file.")
        if request.get("format") not in (None, "SOURCE", "AUTO"):
            raise bad(f"stub: import format {request.get('format')} is not served (SOURCE and AUTO are)")
        try:
            content = base64.b64decode(request.get("content", ""), validate=True)
        except ValueError:
            raise bad("The content is not valid base64.") from None
        if request.get("format") == "AUTO" and not content.startswith(b"# Databricks notebook source"):
            # AUTO: by the extension and the header; anything that is not a notebook's source is a workspace file.
            self._put(path, "FILE", content)
        else:
            self._put(path, "NOTEBOOK", content, request.get("language") or "PYTHON")
        return {}

    def export(self, request):
        entry = self._object(request["path"])
        export_format = request.get("format") or "SOURCE"
        if entry["object_type"] == "DIRECTORY" or export_format not in ("SOURCE", "AUTO"):
            raise bad(f"stub: exporting a {entry['object_type']} as {export_format} is not served")
        # The content as imported, byte for byte (a workspace may normalise a notebook's source: see the table).
        return {"content": base64.b64encode(entry["content"]).decode("ascii")}

    def get_status(self, request):
        entry = self._object(request["path"])
        return {key: value for key, value in entry.items() if key != "content"}

    def list(self, request):
        folder = self._object(request["path"])["path"].rstrip("/")
        children = [
            {key: value for key, value in entry.items() if key != "content"}
            for path, entry in sorted(self.objects.items())
            if path != folder and path.rsplit("/", 1)[0] == folder
        ]
        return {"objects": children} if children else {}

    def delete(self, request):
        path = request["path"].rstrip("/")
        self._check_write(path)
        entry = self._object(path)
        inside = [other for other in self.objects if other.startswith(path + "/")]
        if entry["object_type"] == "DIRECTORY" and inside and not request.get("recursive"):
            raise ApiError(400, "DIRECTORY_NOT_EMPTY", f"Folder ({path}) is not empty.")
        for other in [path, *inside]:
            del self.objects[other]
        return {}

    # --- clusters ---

    def cluster(self, request):
        cluster_id = request.get("cluster_id")
        if cluster_id not in self.clusters:
            if self.missing_cluster_status == 400:
                raise bad(f"Cluster {cluster_id} does not exist")
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Cluster {cluster_id} does not exist")
        return self.clusters[cluster_id]

    def list_spark_versions(self, _):
        return {"versions": self.spark_versions}

    # --- jobs ---

    def submit(self, request):
        tasks = request.get("tasks") or []
        if not tasks:
            raise bad("A run needs at least one task.")
        keys = [task["task_key"] for task in tasks]
        if len(set(keys)) != len(keys):
            raise bad(f"Task keys must be unique within a run: {sorted(keys)}")
        environments = self._check_environments(request.get("environments") or [])
        for task in tasks:
            self._check_task(task, environments, git=bool(request.get("git_source")))
            for upstream in task.get("depends_on") or []:
                if upstream["task_key"] not in keys or upstream["task_key"] == task["task_key"]:
                    raise bad(
                        f"Task {task['task_key']} depends on {upstream['task_key']!r}, not another task of the run"
                    )
        token = request.get("idempotency_token")
        if token is not None:
            if len(token) > 64:
                raise bad("idempotency_token must have at most 64 characters")
            if token in self.idempotency_tokens:
                # The jobs service returns the run this token started, and starts no other.
                if self.idempotency_tokens[token] not in self.runs:
                    raise bad(f"The run with idempotency token {token} was deleted.")
                return {"run_id": self.idempotency_tokens[token]}
        run_id = self._new_run(request)
        if token is not None:
            self.idempotency_tokens[token] = run_id
        return {"run_id": run_id}

    @staticmethod
    def _check_environments(environments: list[dict]) -> dict[str, dict]:
        """The run's job environments by key, each as the Jobs API takes it (sdk-py jobs.JobEnvironment and
        compute.Environment): a key unique within the job; `environment_version` (a released version) or
        `base_environment`, one of the two; each dependency a pip requirements-file line."""
        found: dict[str, dict] = {}
        for environment in environments:
            key = environment["environment_key"]
            if key in found:
                raise bad(f"Duplicate environment_key {key!r}: the key of an environment has to be unique within a job")
            spec = environment.get("spec") or {}
            given = [field for field in ("environment_version", "base_environment") if spec.get(field)]
            if not given:
                raise bad(f"Environment {key}: either environment_version or base_environment needs to be provided")
            if len(given) > 1:
                raise bad(
                    f"Environment {key}: either environment_version or base_environment can be provided, not both"
                )
            version = spec.get("environment_version")
            if version is not None and version not in SERVERLESS_ENVIRONMENT_VERSIONS:
                raise bad(
                    f"Environment {key}: environment_version {version!r} is not a serverless environment "
                    f"version ({', '.join(SERVERLESS_ENVIRONMENT_VERSIONS)})"
                )
            base = spec.get("base_environment")
            if base is not None and not BASE_ENVIRONMENT.fullmatch(base):
                raise bad(
                    f"Environment {key}: base_environment {base!r} is neither an env.yaml under /Workspace or "
                    "/Volumes nor a workspace-base-environments/ ID"
                )
            for dependency in spec.get("dependencies") or []:
                problem = pip_line_problem(dependency)
                if problem:
                    raise bad(
                        f"Environment {key}: dependency {dependency!r} is {problem}: each dependency is a "
                        "pip requirements-file line"
                    )
            found[key] = environment
        return found

    def _check_task(self, task: dict, environments: dict, git: bool = False) -> None:
        key = task["task_key"]
        if not re.fullmatch(r"[\w\-]{1,100}", key):
            raise bad(f"Invalid task_key {key!r}: use 1 to 100 letters, digits, '-' and '_'")
        if "notebook_task" not in task:
            raise bad(f"Task {key}: no task type given (this workspace runs notebook_task)")
        path = task["notebook_task"]["notebook_path"]
        # NotebookTask.notebook_path: absolute in the workspace, relative in a Git repository; source: GIT if the
        # run has a git_source and none is given, else WORKSPACE.
        in_git = task["notebook_task"].get("source", "GIT" if git else "WORKSPACE") == "GIT"
        if not in_git and not path.startswith("/"):
            raise bad(
                f"Task {key}: notebook_path {path!r} must be absolute and begin with a slash for a notebook "
                "in the workspace"
            )
        if in_git and path.startswith("/"):
            raise bad(f"Task {key}: notebook_path {path!r} must be relative for a notebook in a Git repository")
        if self.free_edition:
            asked = [option for option in ("new_cluster", "existing_cluster_id") if option in task]
            if asked:
                raise bad(f"Task {key}: this workspace has serverless compute only; leave out {', '.join(asked)}")
        given = [option for option in ("new_cluster", "existing_cluster_id", "environment_key") if option in task]
        # A notebook task with none of them runs on serverless compute in the notebook's own environment.
        if len(given) > 1:
            raise bad(f"Task {key}: at most one of new_cluster, existing_cluster_id or environment_key, got {given}")
        if "environment_key" in task and task["environment_key"] not in environments:
            raise bad(
                f"Task {key}: environment_key {task['environment_key']!r} is not one of the run's environments "
                f"{sorted(environments)}"
            )
        if "existing_cluster_id" in task and task["existing_cluster_id"] not in self.clusters:
            raise bad(f"Cluster {task['existing_cluster_id']} does not exist")
        cluster = task.get("new_cluster")
        if cluster is not None:
            if cluster.get("spark_version") not in {version["key"] for version in self.spark_versions}:
                raise bad(f"Task {key}: invalid spark_version {cluster.get('spark_version')!r}")
            if cluster.get("node_type_id") not in NODE_TYPES:
                raise bad(f"Task {key}: node_type_id {cluster.get('node_type_id')!r} is not supported")

    def _new_run(self, request, script: list[State] | None = None) -> int:
        self._next_id += 1
        run_id = self._next_id
        tasks = []
        environments = {env["environment_key"]: env.get("spec") or {} for env in request.get("environments") or []}
        for task in request["tasks"]:
            self._next_id += 1
            spark_version = (task.get("new_cluster") or {}).get("spark_version", "")
            path = task["notebook_task"]["notebook_path"]
            outcome = self.outcome_by_notebook.get(path) or self.outcome_by_spark_version.get(
                spark_version, self.run_outcome
            )
            task_script = script or SCRIPTS[outcome]
            if script is None and self.objects.get(path, {}).get("object_type") != "NOTEBOOK":
                # The jobs service accepts the run and fails the task when it opens the notebook.
                task_script = [
                    PENDING,
                    State(
                        "INTERNAL_ERROR", "FAILED", f"Notebook not found: {path}", "RESOURCE_NOT_FOUND", "CLIENT_ERROR"
                    ),
                ]
            # What the notebook returns is decided by its source at the time the run starts.
            exits = exits_with_a_result(self.objects.get(path, {}).get("content", b""))
            # A task that depends on others is BLOCKED until they end; "first_step" is the poll it started at.
            waits = bool(task.get("depends_on"))
            if "environment_key" in task:  # serverless: the summary reads the environment it ran in
                task = {**task, "environment": environments[task["environment_key"]]}
            tasks.append(
                {
                    **task,
                    "run_id": self._next_id,
                    "script": list(task_script),
                    "outcome": outcome,
                    "exits": exits,
                    "first_step": None,
                    "waits": waits,
                }
            )
        # "step" counts the runs/get polls; a task shows the state at (step - its first_step) of its script.
        run = self.runs[run_id] = {
            "run_id": run_id,
            "run_name": request.get("run_name", "Untitled"),
            "tasks": tasks,
            "step": -1,
            "start_time": self.clock_ms,
        }
        for task in tasks:
            if not task.pop("waits"):
                self._start(run, task, self.clock_ms)
        return run_id

    def _active_tasks(self) -> int:
        """Task runs started (not BLOCKED, not QUEUED) and not yet ended, over every run of the workspace."""
        return sum(
            task["first_step"] is not None and self._task_state(run, task).life not in TERMINAL
            for run in self.runs.values()
            for task in run["tasks"]
        )

    def _start(self, run, task, now: int) -> bool:
        """Start a task at this poll, or, past the workspace's limit of active task runs, hold it QUEUED."""
        if self.active_task_limit is not None and self._active_tasks() >= self.active_task_limit:
            task["queued"] = True
            return False
        task.pop("queued", None)
        task["first_step"], task["start_time"] = max(run["step"], 0), now
        return True

    def _run(self, run_id) -> dict:
        run = self.runs.get(int(run_id))
        if run is None:
            raise bad(f"Run {run_id} does not exist.")
        return run

    @staticmethod
    def _task_state(run, task) -> State:
        if task["first_step"] is None:
            return QUEUED if task.get("queued") else BLOCKED
        return task["script"][min(max(run["step"] - task["first_step"], 0), len(task["script"]) - 1)]

    def _start_unblocked(self, run, ended: set[str], now: int) -> None:
        """Start each blocked task whose upstream tasks have all ended (as the last poll showed them)."""
        for task in run["tasks"]:
            upstream = [dependency["task_key"] for dependency in task.get("depends_on") or []]
            if task["first_step"] is not None or not all(key in ended for key in upstream):
                continue
            failed = [key for key in upstream if self._ended_states[run["run_id"], key].result != "SUCCESS"]
            if failed and task.get("run_if", "ALL_SUCCESS") == "ALL_SUCCESS":
                # The default run_if: an upstream failure means this task never runs (nor waits in a queue).
                task.pop("queued", None)
                task["first_step"], task["start_time"], task["script"] = run["step"], now, [UPSTREAM_FAILED]
            else:
                self._start(run, task, now)  # or QUEUED, until a later poll finds room

    def _run_state(self, run) -> State:
        states = [self._task_state(run, task) for task in run["tasks"]]
        if len(states) == 1:
            return states[0]
        if all(state.life in TERMINAL for state in states):
            failed = [state for state in states if state.result != "SUCCESS"]
            if not failed:
                return State("TERMINATED", "SUCCESS", "", "SUCCESS", "SUCCESS")
            result = "CANCELED" if any(state.result == "CANCELED" for state in failed) else "FAILED"
            message = f"{len(failed)} of {len(states)} tasks failed"
            return State("TERMINATED", result, message, "RUN_EXECUTION_ERROR", "CLIENT_ERROR")
        for life in ("TERMINATING", "RUNNING"):
            if any(state.life == life for state in states):
                return State(life, message="In run")
        if any(state.life in TERMINAL for state in states):  # some done, the next ones starting
            return State("RUNNING", message="In run")
        if all(state.life in ("QUEUED", "BLOCKED") for state in states) and any(s.life == "QUEUED" for s in states):
            return QUEUED
        return PENDING

    @staticmethod
    def _state_json(state: State) -> dict:
        described = {"life_cycle_state": state.life, "state_message": state.message}
        if state.result:
            described["result_state"] = state.result
        return described

    @staticmethod
    def _status_json(state: State) -> dict:
        if state.life == "QUEUED":
            return {"state": "QUEUED", "queue_details": dict(QUEUE_DETAILS)}
        if state.life not in TERMINAL:
            return {"state": "WAITING" if state.life == "WAITING_FOR_RETRY" else state.life}
        return {
            "state": "TERMINATED",
            "termination_details": {"code": state.code, "type": state.kind, "message": state.message},
        }

    def _states_json(self, state: State) -> dict:
        described = {"status": self._status_json(state)}
        if self.sends_deprecated_state:
            described["state"] = self._state_json(state)
        return described

    def _describe(self, run, with_tasks=True) -> dict:
        state = self._run_state(run)
        described = {
            "run_id": run["run_id"],
            "run_name": run["run_name"],
            "run_type": "SUBMIT_RUN",
            **self._states_json(state),
            "start_time": run["start_time"],
            "run_page_url": f"{self.url}/jobs/runs/{run['run_id']}",
        }
        if with_tasks:
            described["tasks"] = [self._describe_task(run, task) for task in run["tasks"]]
        return described

    def _describe_task(self, run, task) -> dict:
        state = self._task_state(run, task)
        described = {key: value for key, value in task.items() if key not in PRIVATE_TASK_KEYS}
        described.update(**self._states_json(state), run_page_url=f"{self.url}/jobs/runs/{task['run_id']}")
        if "end_time" in task:
            described["end_time"] = task["end_time"]
        return described

    def get_run(self, request):
        run = self._run(request["run_id"])
        before = {task["task_key"]: self._task_state(run, task) for task in run["tasks"]}
        self._ended_states.update(
            {(run["run_id"], key): state for key, state in before.items() if state.life in TERMINAL}
        )
        now = self.clock_ms
        run["step"] += 1  # one step per poll
        self.clock_ms += 60_000
        for task in run["tasks"]:  # those queued before, in order, as far as the limit now allows
            if task.get("queued"):
                self._start(run, task, now)
        self._start_unblocked(run, {key for key, state in before.items() if state.life in TERMINAL}, now)
        self.most_tasks_active_at_once = max(self.most_tasks_active_at_once, self._active_tasks())
        running = sum(self._task_state(run, task).life == "RUNNING" for task in run["tasks"])
        self.most_tasks_running_at_once = max(self.most_tasks_running_at_once, running)
        for task in run["tasks"]:
            state = self._task_state(run, task)
            if state.life in TERMINAL and "end_time" not in task:
                task["end_time"] = self.clock_ms
            if state.life == "RUNNING":
                # The notebook runs: its mlflow.set_experiment creates the experiment, or refuses a deleted one.
                name = (task["notebook_task"].get("base_parameters") or {}).get("experiment_name")
                existing = self.experiments.get(name) if name else None
                if existing and existing["lifecycle_stage"] == "deleted":
                    task["error"] = DELETED_EXPERIMENT_ERROR.format(name=name)
                    task["script"] = task["script"][: run["step"] - task["first_step"] + 1] + [SCRIPTS["FAILED"][-1]]
                elif name and not existing:
                    self._next_id += 1
                    self.experiments[name] = {
                        "experiment_id": str(self._next_id),
                        "name": name,
                        "lifecycle_stage": "active",
                    }
        return self._describe(run)

    def get_output(self, request):
        run_id = int(request["run_id"])
        if run_id in self.runs:
            raise bad(
                "Retrieving the output of runs with multiple tasks is not supported. Please retrieve the "
                "output of each individual task run instead."
            )
        for run in self.runs.values():
            for task in run["tasks"]:
                if task["run_id"] == run_id:
                    return self._output(run, task)
        raise bad(f"Run {run_id} does not exist.")

    def _output(self, run, task) -> dict:
        state = self._task_state(run, task)
        if state.life == "INTERNAL_ERROR":
            # The task never ran on a cluster: there is no output to read.
            raise bad(f"Run {task['run_id']} has no output: it did not start ({state.message})")
        # The metadata is the task run as a Run (no task fields).
        described = self._describe_task(run, task)
        metadata = {
            key: described[key]
            for key in ("run_id", "state", "status", "start_time", "run_page_url")
            if key in described
        }
        output = {"metadata": {**metadata, "run_name": task["task_key"], "run_type": "SUBMIT_RUN"}}
        if state.result == "FAILED":
            output.update(error=task.get("error", NOTEBOOK_ERROR), error_trace=task.get("error", NOTEBOOK_TRACE))
        elif state.result == "SUCCESS" and task["exits"]:
            output["notebook_output"] = {"result": json.dumps(self.summary(task)), "truncated": False}
        return output

    def summary(self, task) -> dict:
        """What the lab notebook returns with dbutils.notebook.exit on the task's runtime."""
        parameters = task["notebook_task"].get("base_parameters") or {}
        spark_ml = task["notebook_task"]["notebook_path"].endswith("-spark-ml")
        if "environment" in task:
            # Serverless: DATABRICKS_RUNTIME_VERSION is client.<environment version>.<minor>; the libraries are the
            # environment's and its pins. What the stub does not know it reports as None, not a guess.
            version = str(task["environment"].get("environment_version"))
            pins = dict(pin.split("==", 1) for pin in task["environment"].get("dependencies") or [] if "==" in pin)
            libraries = {**SERVERLESS_LIBRARIES.get(version, {}), **pins}
            runtime = f"client.{version}.x"
        else:
            spark_version = (task.get("new_cluster") or {}).get("spark_version", "17.3.x-cpu-ml-scala2.13")
            libraries = {**RUNTIME_LIBRARIES[spark_version.split(".x")[0]], "pandas": "2.2.3", "numpy": "2.1.3"}
            runtime = spark_version.split("-")[0].replace(".x", "")
        return {
            "runtime": runtime,
            "python": "3.12.3",
            "libraries": {name: libraries.get(name) for name in ("mlflow", "scikit-learn", "pandas", "numpy", "spark")},
            "experiment": parameters.get("experiment_name", ""),
            "runs": [
                {"run_id": f"{task['run_id']}{index}", "run_name": name, "params": {}, "metrics": metrics}
                for index, (name, metrics) in enumerate(SPARK_RUN_METRICS if spark_ml else RUN_METRICS)
            ],
        }

    def list_runs(self, request):
        runs = sorted(self.runs.values(), key=lambda run: run["run_id"], reverse=True)
        if request.get("run_type"):
            runs = [run for run in runs if request["run_type"] == "SUBMIT_RUN"]  # every run here is one-time
        offset = int(request.get("page_token") or 0)
        page = runs[offset : offset + self.page_size]
        answer = {"runs": [self._describe(run, with_tasks=request.get("expand_tasks") == "true") for run in page]}
        answer["has_more"] = offset + self.page_size < len(runs)
        if answer["has_more"]:
            answer["next_page_token"] = str(offset + self.page_size)
        return answer if page else {"has_more": False}

    def cancel(self, request):
        run = self._run(request["run_id"])
        run["step"] = step = max(run["step"], 0)
        for task in run["tasks"]:
            if task["first_step"] is None:  # never started (blocked or queued): cancelled as it is
                task.pop("queued", None)
                task["first_step"], task["script"] = step, [CANCELLED]
            elif self._task_state(run, task).life not in TERMINAL:
                # The service stops the cluster first: the next polls see TERMINATING, then TERMINATED.
                shown = [
                    task["script"][min(index, len(task["script"]) - 1)]
                    for index in range(step - task["first_step"] + 1)
                ]
                task["script"] = shown + [TERMINATING] * POLLS_WHILE_TERMINATING + [CANCELLED]
        return {}

    def delete_run(self, request):
        run = self._run(request["run_id"])
        if self._run_state(run).life not in TERMINAL:
            raise ApiError(400, "INVALID_STATE", f"Run {run['run_id']} is active and cannot be deleted.")
        del self.runs[run["run_id"]]
        return {}

    # --- Unity Catalog volumes ---

    def put_volume(self, full_name: str) -> None:
        """A volume already there, as notebook 02 creates one when run by hand (CREATE VOLUME IF NOT EXISTS)."""
        catalog_name, schema_name, name = full_name.split(".")
        self.create_volume(
            {"catalog_name": catalog_name, "schema_name": schema_name, "name": name, "volume_type": "MANAGED"}
        )

    def create_volume(self, request):
        names = [request["catalog_name"], request["schema_name"], request["name"]]
        for name in names:
            if not UC_NAME.fullmatch(name):
                raise bad(
                    f"Invalid name {name!r}: a name has 1 to 255 characters, none of them a period, space, "
                    "forward slash or control character"
                )
        catalog_name, schema_name, name = (name.lower() for name in names)  # UC keeps names in lower case
        full_name = f"{catalog_name}.{schema_name}.{name}"
        if catalog_name not in self.schemas:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Catalog '{catalog_name}' does not exist.")
        if schema_name not in self.schemas[catalog_name]:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Schema '{catalog_name}.{schema_name}' does not exist.")
        if full_name in self.volumes:
            raise ApiError(409, "RESOURCE_ALREADY_EXISTS", f"Volume '{full_name}' already exists")
        if request["volume_type"] == "MANAGED" and request.get("storage_location"):
            raise bad("CreateVolume storage_location can not be provided.")  # Unity Catalog places a managed one
        self._next_id += 1
        volume = {
            "catalog_name": catalog_name,
            "schema_name": schema_name,
            "name": name,
            "full_name": full_name,
            "volume_type": request["volume_type"],
            "volume_id": str(uuid.UUID(int=self._next_id)),
            "owner": self.user,
            "created_by": self.user,
            "created_at": self.clock_ms,
            "storage_location": request.get("storage_location")
            or f"abfss://metastore@stub.dfs.core.windows.net/volumes/{self._next_id}",
        }
        if request.get("comment"):
            volume["comment"] = request["comment"]
        self.volumes[full_name] = volume
        return volume

    def _volume(self, full_name: str) -> dict:
        if full_name.lower() not in self.volumes:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Volume '{full_name}' does not exist.")
        return self.volumes[full_name.lower()]

    def read_volume(self, request):
        return self._volume(request["name"])

    def delete_volume(self, request):
        del self.volumes[self._volume(request["name"])["full_name"]]
        return {}

    # --- Unity Catalog registered models ---

    def put_model(
        self, full_name: str, versions: int = 1, aliases: dict | None = None, owner: str | None = None
    ) -> None:
        """A model registered as the Managing Models notebook does: `versions` versions, `aliases` {alias: n};
        `owner` who registered it (default: this stub's user)."""
        self._model_name(full_name)
        catalog_name, schema_name, name = full_name.lower().split(".")
        self._next_id += 1
        owner = owner or self.user
        info = {
            "catalog_name": catalog_name,
            "schema_name": schema_name,
            "name": name,
            "full_name": f"{catalog_name}.{schema_name}.{name}",
            "owner": owner,
            "created_by": owner,
            "created_at": self.clock_ms,
            "metastore_id": METASTORE_ID,
            "storage_location": f"abfss://metastore@stub.dfs.core.windows.net/models/{self._next_id}",
        }
        self.registered_models[info["full_name"]] = {
            "info": info,
            "versions": {n: f"run{n}" for n in range(1, versions + 1)},
            "aliases": dict(aliases or {}),
        }

    @staticmethod
    def _model_name(full_name: str) -> str:
        """The service's answer to a name that is not catalog.schema.model (mlflow/mlflow#13833 quotes it)."""
        parts = full_name.split(".")
        if len(parts) != 3 or not all(UC_NAME.fullmatch(part) for part in parts):
            raise bad(
                "Bad model name: please specify all three levels of the model in the form "
                "`catalog_name.schema_name.model_name`"
            )
        return full_name.lower()  # UC keeps names in lower case

    def _model(self, full_name: str) -> dict:
        model = self.registered_models.get(self._model_name(full_name))
        if model is None:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Routine or Model '{full_name}' does not exist.")
        return model

    def current_metastore(self, _):
        return {
            "workspace_id": 1234567890123456,
            "metastore_id": METASTORE_ID,
            "default_catalog_name": self.default_catalog,
        }

    def get_registered_model(self, request):
        model = self._model(request["full_name"])
        info = dict(model["info"])
        if str(request.get("include_aliases")).lower() == "true":  # aliases only when asked for
            info["aliases"] = [
                {"alias_name": alias, "version_num": version} for alias, version in sorted(model["aliases"].items())
            ]
        return info

    def delete_registered_model(self, request):
        # "Deletes a registered model and all its model versions" (sdk-py RegisteredModelsAPI.delete): no need to
        # delete the versions or the aliases first. "The caller must be a metastore admin or an owner of the
        # registered model" (the same docstring); the stub's caller is no metastore admin.
        model = self._model(request["full_name"])
        if model["info"]["owner"] != self.user:
            raise ApiError(403, "PERMISSION_DENIED", f"User does not have ownership of model '{request['full_name']}'.")
        del self.registered_models[model["info"]["full_name"]]
        return {}

    def delete_model_alias(self, request):
        model = self._model(request["full_name"])
        if request["alias"] not in model["aliases"]:
            raise ApiError(
                404,
                "RESOURCE_DOES_NOT_EXIST",
                f"Alias '{request['alias']}' does not exist for model '{request['full_name']}'.",
            )
        del model["aliases"][request["alias"]]
        return {}

    def delete_model_version(self, request):
        model = self._model(request["full_name"])
        version = int(request["version"])
        if version not in model["versions"]:
            raise ApiError(
                404, "RESOURCE_DOES_NOT_EXIST", f"Model version {version} of '{request['full_name']}' does not exist."
            )
        del model["versions"][version]
        # "Any aliases assigned to the model version will also be deleted" (sdk-py ModelVersionsAPI.delete)
        model["aliases"] = {alias: v for alias, v in model["aliases"].items() if v != version}
        return {}

    # --- MLflow ---

    def experiment_by_name(self, request):
        experiment = self.experiments.get(request.get("experiment_name"))
        if experiment is None:
            raise ApiError(
                404, "RESOURCE_DOES_NOT_EXIST", f"Could not find experiment with name {request.get('experiment_name')}"
            )
        return {"experiment": experiment}

    def delete_experiment(self, request):
        for experiment in self.experiments.values():
            if experiment["experiment_id"] == request.get("experiment_id"):
                experiment["lifecycle_stage"] = "deleted"  # MLflow keeps it until it is purged
                return {}
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"No experiment with id {request.get('experiment_id')}")

    def restore_experiment(self, request):
        # As MLflow's store: only a deleted experiment can be restored (it looks among the deleted ones only).
        for experiment in self.experiments.values():
            deleted = experiment["lifecycle_stage"] == "deleted"
            if experiment["experiment_id"] == request.get("experiment_id") and deleted:
                experiment["lifecycle_stage"] = "active"
                return {}
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"No Experiment with id={request.get('experiment_id')} exists")


# Each endpoint as the SDK method that calls it, and the stub's handler.
ENDPOINTS = [
    (endpoint(method), handler)
    for method, handler in [
        (iam.CurrentUserAPI.me, WorkspaceStub.me),
        (iam.UsersAPI.list, WorkspaceStub.list_users),
        (iam.UsersAPI.get, WorkspaceStub.get_user),
        (iam.GroupsAPI.list, WorkspaceStub.list_groups),
        (iam.GroupsAPI.get, WorkspaceStub.get_group),
        (workspace.WorkspaceAPI.mkdirs, WorkspaceStub.mkdirs),
        (workspace.WorkspaceAPI.import_, WorkspaceStub.import_),
        (workspace.WorkspaceAPI.get_status, WorkspaceStub.get_status),
        (workspace.WorkspaceAPI.export, WorkspaceStub.export),
        (workspace.WorkspaceAPI.list, WorkspaceStub.list),
        (workspace.WorkspaceAPI.delete, WorkspaceStub.delete),
        (compute.ClustersAPI.get, WorkspaceStub.cluster),
        (compute.ClustersAPI.spark_versions, WorkspaceStub.list_spark_versions),
        (jobs.JobsAPI.submit, WorkspaceStub.submit),
        (jobs.JobsAPI.get_run, WorkspaceStub.get_run),
        (jobs.JobsAPI.get_run_output, WorkspaceStub.get_output),
        (jobs.JobsAPI.list_runs, WorkspaceStub.list_runs),
        (jobs.JobsAPI.cancel_run, WorkspaceStub.cancel),
        (jobs.JobsAPI.delete_run, WorkspaceStub.delete_run),
        (catalog.VolumesAPI.create, WorkspaceStub.create_volume),
        (catalog.VolumesAPI.read, WorkspaceStub.read_volume),
        (catalog.VolumesAPI.delete, WorkspaceStub.delete_volume),
        (catalog.MetastoresAPI.current, WorkspaceStub.current_metastore),
        (catalog.RegisteredModelsAPI.get, WorkspaceStub.get_registered_model),
        (catalog.RegisteredModelsAPI.delete, WorkspaceStub.delete_registered_model),
        (catalog.RegisteredModelsAPI.delete_alias, WorkspaceStub.delete_model_alias),
        (catalog.ModelVersionsAPI.delete, WorkspaceStub.delete_model_version),
        (ml.ExperimentsAPI.get_by_name, WorkspaceStub.experiment_by_name),
        (ml.ExperimentsAPI.delete_experiment, WorkspaceStub.delete_experiment),
        (ml.ExperimentsAPI.restore_experiment, WorkspaceStub.restore_experiment),
    ]
]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    # The headers and the body go out in two writes; with Nagle's algorithm on, the body then waits for the
    # client's delayed ACK of the headers, 40 ms on Linux: most of what a deploy took against the stub.
    disable_nagle_algorithm = True

    def _answer(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, payload = self.server.stub.handle(method, self.path, self.headers, body)
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (the name http.server looks up)
        self._answer("GET")

    def do_POST(self):  # noqa: N802
        self._answer("POST")

    def do_DELETE(self):  # noqa: N802
        self._answer("DELETE")

    def log_message(self, format, *args):  # noqa: A002 - keep test output clean
        pass
