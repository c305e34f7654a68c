"""What the runner tells a notebook's kernel: one typed configuration, handed over as JSON in one variable.

The runner (`local/local_run.py`) makes a `KernelConfig` per notebook and puts it, as JSON, in the kernel's
environment (`environment()`); the kernel's injected first cell calls `kernel.standins.install`, which reads it
back in one place (`from_environment()`). Nothing else of the runner's reaches the kernel, except a cell saying
that a server it was told about moved to another port (`local_run.py`).

This module is the one both sides import: so it sits beside `lab.py`, imports nothing of the project, and also
holds the two facts of serverless mode that both sides need, `VOLUMES` and `SERVERLESS_ENVIRONMENT`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

# The kernel's environment variable holding the configuration, as JSON.
VARIABLE = "DP090_KERNEL_CONFIG"

# Where serverless mode keeps its stand-in for Unity Catalog volumes (kernel/volumes.py): `/Volumes`, the path
# notebooks name, as a workspace mounts it. The runner checks that it can write there (local/prerequisites.py).
VOLUMES = Path("/Volumes")

# What serverless compute sets in a notebook's environment: DATABRICKS_RUNTIME_VERSION is "client.", the
# environment version and a minor version (values seen on environment 4: "client.4.9"), DATABRICKS_ENV_VERSION
# the environment version alone. MLflow (databricks_utils.get_databricks_runtime_version) and the lab's setup
# read them. Environment 4 is the first whose serverless compute runs pyspark.ml and mlflow.spark, and the
# strictest the lab supports: it refuses cache() (environment 5 may allow it). The kernel sets them
# (kernel/standins.py) in serverless mode; the runner names them when it starts.
SERVERLESS_ENVIRONMENT = {"DATABRICKS_RUNTIME_VERSION": "client.4.9", "DATABRICKS_ENV_VERSION": "4"}


@dataclass(frozen=True)
class KernelConfig:
    """Everything a kernel needs from its runner, computed once by the runner.

    - `widget_values`: the notebook parameters passed in (`--param`, `--data`, `--synthetic`);
    - `fs_root`: the local folder standing for `dbfs:/`; `spark_dir`: the local Spark session's warehouse and
      scratch space; `lab_data`: the lab's data file, registered as the `nyc_taxi` table;
    - `serverless`: run as serverless compute runs a notebook (`run_lab.py --serverless`);
    - `spark_connect_url`: serverless only, the runner's Spark Connect server (`sc://127.0.0.1:PORT`), or None
      where it could not start one (no Java: then `java_problem` says so);
    - `java_problem`: why a local Spark session cannot start on this machine (no Java), as the runner found it
      once (local/prerequisites.py), or None.
    """

    fs_root: str
    spark_dir: str
    lab_data: str | None = None
    widget_values: dict[str, str] = field(default_factory=dict)
    serverless: bool = False
    spark_connect_url: str | None = None
    java_problem: str | None = None

    def __post_init__(self):
        if self.spark_connect_url and not self.serverless:
            raise ValueError("a Spark Connect server is serverless mode's: spark_connect_url needs serverless=True")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> KernelConfig:
        return cls(**json.loads(text))

    def environment(self) -> dict[str, str]:
        """The kernel's environment variable that carries this configuration."""
        return {VARIABLE: self.to_json()}

    @classmethod
    def from_environment(cls) -> KernelConfig:
        """The configuration the runner put in this process's environment."""
        text = os.environ.get(VARIABLE)
        if not text:
            raise RuntimeError(f"{VARIABLE} is not set: the runner (scripts/run_lab.py) sets it for its kernels")
        return cls.from_json(text)
