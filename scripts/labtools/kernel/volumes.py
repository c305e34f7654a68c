"""A local folder standing in for Unity Catalog volumes: `/Volumes/<catalog>/<schema>/<volume>`.

On serverless compute and standard access mode, `mlflow.spark` writes and reads a Spark ML model's
files through a volume (its `dfs_tmpdir` must start with `/Volumes/`): Spark writes the files there,
and MLflow then moves them with Python's file functions through the same path, which a workspace
mounts on the driver. Locally both sides, the Spark Connect server's JVM and the kernel, must see
the same `/Volumes/...` path, so the stand-in is a real folder at the file system's root, `/Volumes`:
there is no way to show one path to both a JVM and Python other than the file system itself.

Unity Catalog's rule that the lab meets is kept: `CREATE VOLUME IF NOT EXISTS c.s.v` creates a volume
only in a schema that exists, else it fails with Spark's `[SCHEMA_NOT_FOUND]` error; a schema exists
once the runner has made it (`make_schema`), as a workspace comes with its default schema.

What it does not do: permissions, quotas, managed storage, `CREATE VOLUME` without `IF NOT EXISTS`,
`DROP VOLUME`, or any other Unity Catalog statement (Spark's own parser refuses them locally).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..kernel_config import VOLUMES  # the runner checks it can write there (local/prerequisites.py)

# CREATE VOLUME IF NOT EXISTS catalog.schema.volume, with or without backticks around each name.
_CREATE_VOLUME = re.compile(
    r"^\s*CREATE\s+VOLUME\s+IF\s+NOT\s+EXISTS\s+"
    r"`?(?P<catalog>[\w-]+)`?\.`?(?P<schema>[\w-]+)`?\.`?(?P<volume>[\w-]+)`?\s*;?\s*$",
    re.IGNORECASE,
)


def make_schema(catalog: str, schema: str, root: Path = VOLUMES) -> Path:
    """The folder of schema `catalog.schema`, made if missing: where its volumes go."""
    folder = root / catalog / schema
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def create_volume_statement(query: str, root: Path = VOLUMES) -> bool:
    """Carry out `query` if it is a CREATE VOLUME IF NOT EXISTS statement, and say whether it was one."""
    match = _CREATE_VOLUME.match(query)
    if not match:
        return False
    schema = root / match["catalog"] / match["schema"]
    if not schema.is_dir():
        raise schema_not_found(f"`{match['catalog']}`.`{match['schema']}`")
    (schema / match["volume"]).mkdir(exist_ok=True)
    return True


def schema_not_found(name: str) -> Exception:
    """Spark's own SCHEMA_NOT_FOUND error (its text from Spark 4.0's error-conditions.json), as Connect raises it."""
    from pyspark.errors.exceptions.connect import AnalysisException

    text = (f"[SCHEMA_NOT_FOUND] The schema {name} cannot be found. Verify the spelling and correctness of the schema "
            "and catalog. If you did not qualify the name with a catalog, verify the current_schema() output, or "
            "qualify the name with the correct catalog. To tolerate the error on drop use DROP SCHEMA IF EXISTS. "
            "SQLSTATE: 42704")  # fmt: skip
    return AnalysisException(message=text, errorClass="SCHEMA_NOT_FOUND", sql_state="42704")
