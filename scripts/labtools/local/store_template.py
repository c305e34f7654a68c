"""An empty tracking store, migrated once per MLflow version and copied into each new store.

`mlflow server` on a new SQLite file spends most of its start (7 of 10 seconds on 2 cores) creating the
schema through MLflow's migrations, one by one. The schema depends only on the MLflow version, so the first
server of a version leaves an empty copy of its freshly migrated store in the cache, and every later new
store starts from that copy: the server then only checks the revision and starts in the time it imports.

The cache is ~/.cache/dp090-mlflow-lab/ (or $XDG_CACHE_HOME/dp090-mlflow-lab/), outside --out, so that
`--clean` and new output folders keep it. Each MLflow version has its own pair of files:

    mlflow-<version>.db     the store, with its tables, its alembic revision, no experiment
    mlflow-<version>.json   {"mlflow": version, "revision": alembic revision, "sha256": of the .db}

The version is that of the interpreter that runs the server (a runtime's venv runs an older MLflow).
A cached file is used only if its bytes have the recorded hash and it holds the recorded revision; anything
else (a truncated copy, a file from elsewhere) is ignored and replaced. Files are written under a temporary
name and renamed into place while holding the cache's lock, so concurrent runners never see half a file.
Everything here is best effort: a cache that cannot be read or written leaves the server to migrate the
store itself, as without a cache.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

CACHE_NAME = "dp090-mlflow-lab"
# Rows a new server adds to an empty store; removed from the template so that each store gets its own
# (the Default experiment's creation time is the store's, not the template's).
PER_STORE_TABLES = ("experiment_tags", "experiments")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / CACHE_NAME


def mlflow_version(python: str) -> str | None:
    """The MLflow version `python` imports (None if it has none): the key of its template."""
    if Path(python) == Path(sys.executable):
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("mlflow")
        except PackageNotFoundError:
            return None
    try:  # reads the installed metadata only: no MLflow import, a few tens of milliseconds
        found = subprocess.run(
            [python, "-c", "import importlib.metadata as m; print(m.version('mlflow'))"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if found.returncode != 0:
        return None
    return found.stdout.strip() or None


def _paths(version: str, cache: Path) -> tuple[Path, Path]:
    return cache / f"mlflow-{version}.db", cache / f"mlflow-{version}.json"


def _revision(db_bytes_or_path: bytes | Path) -> str | None:
    """The alembic revision a SQLite store is at, or None if it is not a migrated store."""
    with tempfile.TemporaryDirectory() as tmp:
        path = db_bytes_or_path
        if isinstance(path, bytes):
            path = Path(tmp) / "check.db"
            path.write_bytes(db_bytes_or_path)
        try:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                rows = db.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.Error:
            return None
    return rows[0][0] if len(rows) == 1 else None


def cached(version: str, cache: Path | None = None) -> bytes | None:
    """The template's bytes for this MLflow version, if the cache holds a sound one."""
    db, meta = _paths(version, cache or cache_dir())
    try:
        recorded = json.loads(meta.read_text())
        data = db.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(recorded, dict) or recorded.get("mlflow") != version:
        return None
    if hashlib.sha256(data).hexdigest() != recorded.get("sha256"):
        return None  # truncated, changed or replaced since it was made
    if _revision(data) != recorded.get("revision"):
        return None
    return data


def copy_into(store_db: Path, version: str | None, cache: Path | None = None) -> bool:
    """Put the cached template at `store_db` if there is no store there yet; whether it did.

    Raises OSError (with the store's path) if the copy cannot be written, e.g. on a full disk: the
    server could not have created the store there either.
    """
    if version is None or store_db.exists():
        return False
    data = cached(version, cache)
    if data is None:
        return False
    partial = store_db.with_name(f".{store_db.name}.{os.getpid()}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, store_db)  # a store is whole or absent, never half copied
    except OSError as error:
        partial.unlink(missing_ok=True)
        if error.filename is None:
            error.filename = str(store_db)
        raise
    return True


def save_from(store_db: Path, version: str | None, cache: Path | None = None) -> bool:
    """Keep an empty copy of a store a server has just migrated, as the template of its MLflow version.

    Called once the server answers: its schema is complete. SQLite's backup API copies a consistent
    state even while the server holds the file. Returns whether a template was written.
    """
    if version is None:
        return False
    cache = cache or cache_dir()
    db_path, meta_path = _paths(version, cache)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with open(cache / ".lock", "a") as lock:
            # One writer at a time, so that the .db and .json in place are one writer's pair (readers take no
            # lock: each file is renamed in whole, and a pair that does not match is not used).
            fcntl.flock(lock, fcntl.LOCK_EX)
            if cached(version, cache) is not None:
                return False  # another runner made it meanwhile
            with tempfile.TemporaryDirectory(dir=cache) as tmp:
                copy = Path(tmp) / "template.db"
                with (
                    contextlib.closing(sqlite3.connect(f"file:{store_db}?mode=ro", uri=True)) as source,
                    contextlib.closing(sqlite3.connect(copy)) as target,
                ):
                    source.backup(target)
                    for table in PER_STORE_TABLES:
                        target.execute(f'DELETE FROM "{table}"')
                    target.commit()
                    target.execute("VACUUM")
                revision = _revision(copy)
                if revision is None:
                    return False
                data = copy.read_bytes()
                meta = {"mlflow": version, "revision": revision, "sha256": hashlib.sha256(data).hexdigest()}
                (Path(tmp) / "template.json").write_text(json.dumps(meta))
                os.replace(copy, db_path)
                os.replace(Path(tmp) / "template.json", meta_path)
    except (OSError, sqlite3.Error):
        return False  # no cache this time: the next new store is migrated by its server, as before
    return True
