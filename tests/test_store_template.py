"""The migrated store template (labtools/local/store_template.py): used when sound, rebuilt when not.

Real SQLite stores migrated by the installed MLflow, a real `mlflow server`; each test has a cache of its own
(never the user's ~/.cache). Every runner test's server starts from a copy of the template besides.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shlex
import sqlite3
import sys
import threading
import time

import pytest

from labtools.local import store_template
from labtools.local.tracking_server import TrackingServer

VERSION = store_template.mlflow_version(sys.executable)
MIGRATING = "Creating initial MLflow database tables"  # what a server logs when it migrates a new store


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory):
    """A store MLflow itself has just created and migrated, in this process (as a server does on a new store)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    folder = tmp_path_factory.mktemp("migrated")
    SqlAlchemyStore(f"sqlite:///{folder / 'mlflow.db'}", "mlflow-artifacts:/")
    return folder / "mlflow.db"


def revision(db) -> str:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_a_new_stores_server_leaves_the_template_and_a_copy_of_it_needs_no_migration(tmp_path, caplog):
    """The first server of a version migrates its new store and keeps it; the next new store is a copy."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    cache = tmp_path / "cache"
    with TrackingServer(tmp_path / "first", template_cache=cache) as first:
        pass
    assert MIGRATING in first.log_path.read_text(), "the first store of a version is migrated by its server"
    assert store_template.cached(VERSION, cache) is not None, "and kept as the template"

    second = tmp_path / "second" / "mlflow.db"
    second.parent.mkdir()
    assert store_template.copy_into(second, VERSION, cache)
    started_ms = time.time() * 1000
    # What a server does first on its store, in this process: it must find the schema complete. (MLflow's
    # logger does not propagate to the root logger that caplog listens to: listen to it directly.)
    mlflow_logger = logging.getLogger("mlflow")
    mlflow_logger.addHandler(caplog.handler)
    try:
        store = SqlAlchemyStore(f"sqlite:///{second}", "mlflow-artifacts:/")
        SqlAlchemyStore(f"sqlite:///{tmp_path / 'not-a-copy.db'}", "mlflow-artifacts:/")  # the check sees one
    finally:
        mlflow_logger.removeHandler(caplog.handler)
    assert caplog.text.count(MIGRATING) == 1, "a copy of the template needs no migration (a new file does)"
    assert revision(second) == revision(first.db)
    # The store's own Default experiment, made now, not the template's.
    [default] = store.search_experiments()
    assert default.name == "Default" and default.creation_time >= started_ms - 1000
    store.engine.dispose()


def corrupt_cases(db_bytes: bytes, meta: dict) -> dict[str, tuple[bytes, str]]:
    # The right revision, but someone's experiment in it: every new store would start with it.
    changed = sqlite3.connect(":memory:")
    changed.deserialize(db_bytes)
    changed.execute("INSERT INTO experiments (experiment_id, name, lifecycle_stage) VALUES (7, 'someone', 'active')")
    changed.commit()
    foreign = sqlite3.connect(":memory:")
    foreign.execute("CREATE TABLE alembic_version (version_num TEXT)")
    foreign.execute("INSERT INTO alembic_version VALUES ('0123456789ab')")
    return {
        "truncated": (db_bytes[: len(db_bytes) // 2], json.dumps(meta)),
        "changed": (changed.serialize(), json.dumps(meta)),
        "foreign": (foreign.serialize(), json.dumps({**meta, "sha256": "0" * 64})),
        "foreign-with-its-hash": (
            foreign.serialize(),
            json.dumps({**meta, "sha256": hashlib.sha256(foreign.serialize()).hexdigest()}),
        ),
        "other-version": (db_bytes, json.dumps({**meta, "mlflow": "0.0.1"})),
        "no-metadata": (db_bytes, "not json"),
    }


CORRUPT = ["truncated", "changed", "foreign", "foreign-with-its-hash", "other-version", "no-metadata"]


@pytest.mark.parametrize("case", CORRUPT)
def test_a_corrupt_or_foreign_template_is_not_used_and_is_rebuilt(case, migrated_db, tmp_path):
    cache = tmp_path / "cache"
    assert store_template.save_from(migrated_db, VERSION, cache)
    db_path, meta_path = cache / f"mlflow-{VERSION}.db", cache / f"mlflow-{VERSION}.json"
    sound = db_path.read_bytes()
    data, meta = corrupt_cases(sound, json.loads(meta_path.read_text()))[case]
    db_path.write_bytes(data)
    meta_path.write_text(meta)

    assert store_template.cached(VERSION, cache) is None
    assert not store_template.copy_into(tmp_path / "store" / "mlflow.db", VERSION, cache)
    assert not (tmp_path / "store" / "mlflow.db").exists(), "no store is made from it: the server migrates its own"
    assert store_template.save_from(migrated_db, VERSION, cache), "rebuilt from the next migrated store"
    assert store_template.cached(VERSION, cache) == sound


def test_the_template_is_keyed_by_the_mlflow_version_of_the_servers_interpreter(migrated_db, tmp_path):
    # Another path to this interpreter: asked in a subprocess, as a runtime's venv is. A script, not a symlink: a
    # symlink outside a virtual environment's bin/ finds no pyvenv.cfg and runs the base interpreter, without MLflow.
    other_python = tmp_path / "bin" / "python"
    other_python.parent.mkdir()
    other_python.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
    other_python.chmod(0o755)
    assert store_template.mlflow_version(str(other_python)) == VERSION
    cache = tmp_path / "cache"
    store_template.save_from(migrated_db, VERSION, cache)
    assert store_template.cached("2.13.1", cache) is None, "another version's store is not this one's"
    assert not store_template.copy_into(tmp_path / "store.db", "2.13.1", cache)


def test_runners_saving_and_copying_at_once_never_see_half_a_template(migrated_db, tmp_path):
    cache = tmp_path / "cache"
    problems = []

    def save():
        for _ in range(5):
            (cache / f"mlflow-{VERSION}.json").unlink(missing_ok=True)  # as if missing: each one rebuilds it
            store_template.save_from(migrated_db, VERSION, cache)

    def copy(index):
        for attempt in range(20):
            target = tmp_path / f"store-{index}-{attempt}.db"
            if store_template.copy_into(target, VERSION, cache) and revision(target) != revision(migrated_db):
                problems.append(target)

    threads = [threading.Thread(target=save) for _ in range(2)] + [
        threading.Thread(target=copy, args=(i,)) for i in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert store_template.cached(VERSION, cache) is not None
    assert sorted(os.listdir(cache)) == [".lock", f"mlflow-{VERSION}.db", f"mlflow-{VERSION}.json"], "no leftovers"
