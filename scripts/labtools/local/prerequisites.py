"""What this machine lacks for a run: Java, pyspark, serverless mode's `/Volumes`; each checked once per run.

The runner checks before it starts anything (`check`), skips the notebooks that use Spark when Spark cannot
start here, and hands the Java finding to the kernels (`KernelConfig.java_problem`), so nothing checks twice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..kernel_config import VOLUMES


@dataclass(frozen=True)
class Prerequisites:
    """Each problem in one sentence, or None where nothing is missing.

    - `java`: no Java runtime, so no local Spark session (nor serverless mode's Spark Connect server);
    - `spark`: why a notebook that uses Spark cannot run here (pyspark, or with serverless its Spark Connect
      client, or Java), checked only when a notebook uses Spark;
    - `volumes`: serverless mode cannot write its stand-in for Unity Catalog volumes, checked only when a
      serverless notebook uses Spark (and Spark can run).
    """

    java: str | None = None
    spark: str | None = None
    volumes: str | None = None


def check(python: str, serverless: bool, uses_spark: bool) -> Prerequisites:
    """The run's prerequisites: `python` runs the kernels; `uses_spark`, whether a notebook of the run does."""
    java = java_problem()
    spark = (pyspark_problem(python, serverless) or java) if uses_spark else None
    volumes = volumes_problem() if serverless and uses_spark and not spark else None
    return Prerequisites(java=java, spark=spark, volumes=volumes)


def java_problem() -> str | None:
    """Why a local Spark session cannot start here, or None."""
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return (
            "Spark needs a Java runtime: install Java 17 (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; "
            "macOS: brew install openjdk@17), or set JAVA_HOME"
        )
    return None


def pyspark_problem(python: str, serverless: bool = False) -> str | None:
    """What the interpreter `python` lacks to run a Spark notebook (pyspark; serverless, Spark Connect's client
    libraries, pyspark[connect]), in one sentence, or None."""
    modules = ["pyspark", "grpc", "google.rpc"] if serverless else ["pyspark"]
    check = f"import importlib.util as u; print([m for m in {modules!r} if u.find_spec(m) is None])"
    found = subprocess.run([python, "-c", check], capture_output=True, text=True)
    if found.stdout.strip() != "[]":
        what = "pyspark" if "pyspark" in found.stdout or not serverless else "Spark Connect's client (pyspark[connect])"
        return f"{what} is not installed for {python}: pip install -r requirements.txt"
    return None


def volumes_problem(root: Path = VOLUMES) -> str | None:
    """Why serverless mode's stand-in for volumes cannot work on this machine (it writes under /Volumes), or None."""
    try:
        root.mkdir(exist_ok=True)
    except OSError as error:
        return (
            f"{root} does not exist and cannot be made ({error.strerror}); serverless mode keeps its stand-in "
            f"for Unity Catalog volumes there: sudo mkdir -m 1777 {root}"
        )
    if not os.access(root, os.W_OK | os.X_OK):
        return (
            f"{root} is not writable by you; serverless mode keeps its stand-in for Unity Catalog volumes "
            f"there: sudo chmod 1777 {root} (or create {root}/<catalog> owned by you)"
        )
    return None
