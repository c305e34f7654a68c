"""What each command of scripts/deploy.py was asked to do, as typed, frozen values.

scripts/deploy.py builds one of these from its argparse namespace, once; the workspace modules read
only these, so that each command's options are named, typed and documented in one place, and a
misspelt option is an AttributeError at the first test rather than a silent None deep in a command.
(Connection settings, --profile, --dry-run, --verbose and --connect-timeout, stay with the script,
which opens the workspaces.)
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import lab
from . import spec


@dataclass(frozen=True)
class DeployOptions:
    """`deploy`: where the notebooks go, in which language, for whom."""

    folder: str | None = None  # --folder; None: /Users/<you>/<the lab's folder of each language>
    lang: str = lab.SOURCE_LANGUAGE  # en, ja or all
    learners: str | None = None  # --learners FILE: a class
    group: str | None = None  # --group NAME: a class
    force: bool = False  # replace notebooks edited since they were deployed, after a backup
    command: str = "deploy"


@dataclass(frozen=True)
class RunOptions:
    """`run`: one run of the lab notebooks (or, with `runtime`, the runtime matrix)."""

    folder: str | None = None
    runtime: str | None = None  # "15.4,18" or "all": the matrix
    cluster_id: str | None = None
    node_type: str | None = None  # None: the cloud's default (spec.NODE_TYPES)
    num_workers: int = 0  # the Spark ML notebook's workers; 0: single node
    max_parallel: int = spec.MAX_PARALLEL  # new clusters (or serverless tasks) running at once
    serverless: bool = False  # tasks with no cluster, on serverless compute
    experiment_name: str | None = None
    data_path: str | None = None
    volume: str | None = None  # catalog.schema.volume for the Spark ML notebook's volume widget; None: its default
    catalog: str | None = None  # the Managing Models notebooks' registry catalog; None: the session's current one
    schema: str | None = None  # their schema; None: the session's current one ("default")
    timeout: int = 3600  # seconds before the run is cancelled
    poll_seconds: float = 15.0
    command: str = "run"


@dataclass(frozen=True)
class CleanUpOptions:
    """`clean-up`: what to take away, for you or for a class."""

    folder: str | None = None
    lang: str = lab.SOURCE_LANGUAGE
    learners: str | None = None
    group: str | None = None
    delete_experiment: bool = False
    experiment_name: str | None = None  # the --experiment-name `run` was given
    delete_models: bool = False  # also the notebooks' registered models in Unity Catalog (workspace/models.py)
    catalog: str | None = None  # where they are; None: the workspace's default catalog
    schema: str | None = None  # None: "default"
    poll_seconds: float = 5.0
    command: str = "clean-up"


Options = DeployOptions | RunOptions | CleanUpOptions
