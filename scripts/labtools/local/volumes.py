"""A local folder standing in for Unity Catalog volumes: `/Volumes/<catalog>/<schema>/<volume>`.

On serverless compute and standard access mode, `mlflow.spark` writes and reads a Spark ML model's
files through a volume (its `dfs_tmpdir` must start with `/Volumes/`): Spark writes the files there,
and MLflow then moves them with Python's file functions through the same path, which a workspace
mounts on the driver. Locally both sides, the Spark Connect server's JVM and the kernel, must see
the same `/Volumes/...` path, so the stand-in is a real folder at the file system's root, `/Volumes`:
there is no way to show one path to both a JVM and Python other than the file system itself.

This module owns the folder: where it is, whether it can be used, and a schema's folder in it. The Unity
Catalog rules over it (which catalogs and schemas exist, CREATE and DROP VOLUME, privileges) are
`unity_catalog.py`'s.
"""

from __future__ import annotations

import os
from pathlib import Path

VOLUMES = Path("/Volumes")


def problem(root: Path = VOLUMES) -> str | None:
    """Why the stand-in cannot work on this machine (it needs to write under /Volumes), or None."""
    try:
        root.mkdir(exist_ok=True)
    except OSError as error:
        return (f"{root} does not exist and cannot be made ({error.strerror}); serverless mode keeps its stand-in "
                f"for Unity Catalog volumes there: sudo mkdir -m 1777 {root}")  # fmt: skip
    if not os.access(root, os.W_OK | os.X_OK):
        return (f"{root} is not writable by you; serverless mode keeps its stand-in for Unity Catalog volumes "
                f"there: sudo chmod 1777 {root} (or create {root}/<catalog> owned by you)")  # fmt: skip
    return None


def make_schema(catalog: str, schema: str, root: Path = VOLUMES) -> Path:
    """The folder of schema `catalog.schema`, made if missing: where its volumes go."""
    folder = root / catalog / schema
    folder.mkdir(parents=True, exist_ok=True)
    return folder

