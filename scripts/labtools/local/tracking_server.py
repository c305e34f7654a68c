"""Start and stop a real `mlflow server` on 127.0.0.1.

The server keeps runs in a SQLite file and artifacts in a folder, both under
a store folder the caller chooses. It spawns uvicorn workers (and, unless told
not to, background job consumers); stopping only the parent pid would leave
those running, so the server is started in a process group of its own and the
whole group is stopped.

The port is picked free, released, and bound by the server a few seconds later:
another process (a second runner in a parallel CI job) can take it meanwhile.
So `wait_ready()` does not trust whatever answers there: the server must list a
folder that only this server's artifact store holds (`_proof`). If another one
answers, ours fails to bind the port and exits: then it starts again on a new port.

A new store starts as a copy of an empty store migrated once per MLflow version (`store_template`): the
migrations are most of a new server's start. Runs a runner left RUNNING (its kernel or server died) are
marked ended here, on its way out, or by the next server on that store (`end_orphaned_runs`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from . import store_template
from .errors import TrackingServerError, disk_full
from .runs_table import INVOCATION_TAG

# What a server's log says when the disk under its store is full (SQLite's words, then the OS's).
DISK_FULL_SIGNS = ("database or disk is full", "No space left on device")


def _bindable(port: int, host: str) -> bool:
    return free_port(port, host) == port


def free_port(preferred: int | None = None, host: str = "127.0.0.1") -> int:
    """`preferred` if nothing listens on it, else a port the OS picks."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise TrackingServerError("no free port on 127.0.0.1")


class TrackingServer:
    """`with TrackingServer(store) as server: ... server.uri ...`

    `start()` returns at once, so other start-up work (a kernel) can overlap
    the server's; `wait_ready()` blocks until `/health` answers.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        store: str | Path,
        port: int | None = None,
        python: str = sys.executable,
        template_cache: Path | None = None,
    ):
        self.store = Path(store).resolve()
        self.db = self.store / "mlflow.db"
        self.template_cache = template_cache  # None: store_template.cache_dir()
        self._template_version: str | None = None  # set when this server migrates a new store itself
        self._log_start = 0  # where this runner's part of the server's log begins
        self.requested_port = port
        self.port = free_port(port, self.host)
        self.python = python
        self.process: subprocess.Popen | None = None
        self.log_path = self.store / "server.log"
        # Listed by this server's artifact API, and by no other server's; removed once checked.
        self._proof = self.store / "artifacts" / f"run_lab-server-check-{uuid.uuid4().hex[:12]}"
        self.verified = False

    @property
    def uri(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> TrackingServer:
        try:
            self.store.mkdir(parents=True, exist_ok=True)
            self._proof.mkdir(parents=True, exist_ok=True)
            if not self.db.exists():
                version = store_template.mlflow_version(self.python)
                if not store_template.copy_into(self.db, version, self.template_cache):
                    self._template_version = version  # none cached: keep this server's, once it has migrated
            else:
                end_orphaned_runs(self.db)
            self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        except OSError as error:
            if error.errno == errno.ENOSPC:
                raise TrackingServerError(disk_full(self.store, "the tracking store ")) from None
            raise
        command = [
            self.python,
            "-m",
            "mlflow",
            "server",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--backend-store-uri",
            f"sqlite:///{self.db}",
            "--artifacts-destination",
            str(self.store / "artifacts"),
            "--workers",
            "1",  # one worker starts in about half the time of four
        ]
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": "",
            # MLflow 3 servers also start a job runner and a task queue, two more Python processes that
            # each import MLflow: a second or more of a 2-core machine's start-up. Tracking needs neither.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.store,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout: float = 60.0, attempts: int = 3) -> None:
        """Return once this server answers; start it again on another port if its port was taken."""
        deadline = time.monotonic() + timeout
        if self.verified and self.process.poll() is not None:
            raise TrackingServerError(self.death())
        while not self.verified:
            if self.process.poll() is not None:
                if self.disk_full():
                    raise TrackingServerError(
                        f"{disk_full(self.store, 'the tracking store ')}; the server's log: {self.log_path}"
                    )
                if _bindable(self.port, self.host):
                    raise TrackingServerError(
                        f"mlflow server exited with status {self.process.returncode} before it was ready; "
                        f"last lines of {self.log_path}:\n{self.log_tail()}"
                    )
                # Another process bound the port first, and ours gave up binding it (after preparing the
                # store: stopping it earlier could cut its database migration short). Again, on a new port.
                attempts -= 1
                if attempts == 0:
                    raise TrackingServerError(f"port {self.port}: taken by another process; pass another --port")
                self.stop()
                self.port = free_port(None, self.host)
                self.start()
                deadline = time.monotonic() + timeout
            elif self._answers():
                self.verified = True
                self._remove_proof()
                if self._template_version:  # the schema is complete now: the next new store copies it
                    store_template.save_from(self.db, self._template_version, self.template_cache)
                    self._template_version = None
            elif time.monotonic() > deadline:
                self.stop()
                raise TrackingServerError(f"mlflow server not ready after {timeout:.0f} s; see {self.log_path}")
            else:
                time.sleep(0.1)  # nothing answers yet, or another server does until ours gives up its port

    def _answers(self) -> bool:
        """Whether this server answers on the port: it lists the proof folder, which no other server has."""
        try:
            with urllib.request.urlopen(f"{self.uri}/health", timeout=1) as response:
                if response.read().strip() != b"OK":
                    return False
            with urllib.request.urlopen(f"{self.uri}/api/2.0/mlflow-artifacts/artifacts", timeout=5) as response:
                listed = {item.get("path") for item in json.load(response).get("files", [])}
        except (OSError, ValueError, AttributeError):  # nothing listens yet, or not a server of ours
            return False
        return self._proof.name in listed

    def is_alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def death(self) -> str:
        """How the server ended, in a line, with where its log is."""
        status = self.process.returncode if self.process else None
        how = f"killed by {signal.Signals(-status).name}" if status and status < 0 else f"exit status {status}"
        return f"the tracking server stopped during the run ({how}); its log: {self.log_path}"

    def disk_full(self) -> bool:
        """Whether the server said, since this runner started it, that the disk under its store is full."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_start)
                said = log.read().decode(errors="replace")
        except OSError:
            return False
        return any(sign in said for sign in DISK_FULL_SIGNS)

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server's whole process group: TERM, then KILL after `grace` seconds."""
        if self.process is None:
            return
        stop_group(self.process, grace)
        self.process = None
        self._remove_proof()

    def _remove_proof(self) -> None:
        with contextlib.suppress(OSError):
            self._proof.rmdir()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> TrackingServer:
        self.start()
        self.wait_ready()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def stop_group(process: subprocess.Popen, grace: float) -> None:
    """Stop `process`'s whole process group (it leads one of its own): TERM, then KILL after `grace` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        if _group_gone(process, grace):
            break
    process.wait()  # reap it


def _group_gone(process: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.poll()  # reap the leader so its group can empty
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def end_orphaned_runs(db: Path, invocation: str | None = None, status: str = "FAILED") -> int:
    """Mark ended the runs a runner started and nobody will end: their kernel or server died.

    With `invocation`, that runner's runs (on its way out, its kernels stopped); without, every runner's
    (before a server starts on the store, under the output folder's lock: no runner is using it). Only the
    server's SQLite file is written, with the server stopped or not yet started; the schema's `runs` and
    `tags` tables are the same in every MLflow version runtimes/ pins. Returns how many it marked.
    """
    if not db.exists():
        return 0
    orphans = "SELECT run_uuid FROM tags WHERE key = ?" + (" AND value = ?" if invocation else "")
    arguments = [INVOCATION_TAG, *([invocation] if invocation else [])]
    try:
        with contextlib.closing(sqlite3.connect(db, timeout=10)) as connection, connection:
            changed = connection.execute(
                f"UPDATE runs SET status = ?, end_time = ? WHERE status = 'RUNNING' AND run_uuid IN ({orphans})",
                [status, int(time.time() * 1000), *arguments],
            ).rowcount
    except sqlite3.Error:  # a full disk, or a store of a shape we do not know: leave it as it is
        return 0
    return changed
