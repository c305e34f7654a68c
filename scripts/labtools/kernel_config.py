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
from dataclasses import asdict, dataclass, field, replace
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

# The Unity Catalog stand-in's catalogs (kernel/unity_catalog.py): Free Edition's, and the legacy one, which has no
# volumes; and the privileges a test may withhold.
FREE_EDITION_CATALOG = "workspace"
LEGACY_CATALOG = "hive_metastore"
CATALOGS = (FREE_EDITION_CATALOG, LEGACY_CATALOG)
PRIVILEGES = ("CREATE_VOLUME",)  # what DP090_UC_WITHHOLD may name


@dataclass(frozen=True)
class UnityCatalogSettings:
    """The workspace a serverless run plays: its current catalog and schema, its user, what the user may not do."""

    current_catalog: str = FREE_EDITION_CATALOG
    current_schema: str = "default"
    user: str | None = None  # None: current_user() is what local Spark answers
    withheld: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_environ(cls, environ=None) -> UnityCatalogSettings:
        """The settings from the DP090_UC_* variables (module docstring); a bad value fails naming its variable."""
        environ = os.environ if environ is None else environ
        named = environ.get("DP090_UC_WITHHOLD", "").split(",")
        withheld = frozenset(p.strip().upper().replace(" ", "_") for p in named if p.strip())
        unknown = sorted(withheld - set(PRIVILEGES))
        if unknown:
            raise ValueError(
                f"DP090_UC_WITHHOLD: unknown privilege(s) {', '.join(unknown)}; known: {', '.join(PRIVILEGES)}"
            )
        catalog = environ.get("DP090_UC_CURRENT_CATALOG") or FREE_EDITION_CATALOG
        if catalog not in CATALOGS:
            raise ValueError(
                f"DP090_UC_CURRENT_CATALOG: {catalog!r} is not one of the stand-in's catalogs, {', '.join(CATALOGS)}"
            )
        return cls(
            current_catalog=catalog,
            current_schema=environ.get("DP090_UC_CURRENT_SCHEMA") or "default",
            user=environ.get("DP090_UC_USER") or None,
            withheld=withheld,
        )


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
      once (local/prerequisites.py), or None;
    - `unity_catalog`: serverless only, the workspace the Unity Catalog stand-in plays (its DP090_UC_* knobs).
    """

    fs_root: str
    spark_dir: str
    lab_data: str | None = None
    widget_values: dict[str, str] = field(default_factory=dict)
    serverless: bool = False
    spark_connect_url: str | None = None
    java_problem: str | None = None
    unity_catalog: UnityCatalogSettings = field(default_factory=UnityCatalogSettings)

    def __post_init__(self):
        if self.spark_connect_url and not self.serverless:
            raise ValueError("a Spark Connect server is serverless mode's: spark_connect_url needs serverless=True")

    def to_json(self) -> str:
        values = asdict(self)
        values["unity_catalog"]["withheld"] = sorted(self.unity_catalog.withheld)
        return json.dumps(values, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> KernelConfig:
        values = json.loads(text)
        settings = values.pop("unity_catalog", {})
        unity_catalog = replace(UnityCatalogSettings(**settings), withheld=frozenset(settings.get("withheld", ())))
        return cls(**values, unity_catalog=unity_catalog)

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
