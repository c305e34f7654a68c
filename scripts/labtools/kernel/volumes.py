"""A local folder standing in for Unity Catalog volumes: `/Volumes/<catalog>/<schema>/<volume>`.

On serverless compute and standard access mode, `mlflow.spark` writes and reads a Spark ML model's
files through a volume (its `dfs_tmpdir` must start with `/Volumes/`): Spark writes the files there,
and MLflow then moves them with Python's file functions through the same path, which a workspace
mounts on the driver. Locally both sides, the Spark Connect server's JVM and the kernel, must see
the same `/Volumes/...` path, so the stand-in is a real folder at the file system's root, `/Volumes`:
there is no way to show one path to both a JVM and Python other than the file system itself.

This module owns the folder's layout: a schema's folder in it. The Unity Catalog rules over it (which
catalogs and schemas exist, CREATE and DROP VOLUME, privileges) are `unity_catalog.py`'s; whether the
folder can be used at all is checked by the runner, once (`local/prerequisites.py`).
"""

from __future__ import annotations

from pathlib import Path

from ..kernel_config import VOLUMES  # the runner checks it can write there (local/prerequisites.py)


def make_schema(catalog: str, schema: str, root: Path = VOLUMES) -> Path:
    """The folder of schema `catalog.schema`, made if missing: where its volumes go."""
    folder = root / catalog / schema
    folder.mkdir(parents=True, exist_ok=True)
    return folder
