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
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from .errors import TrackingServerError


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

    def __init__(self, store: str | Path, port: int | None = None, python: str = sys.executable):
        self.store = Path(store).resolve()
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
        self.store.mkdir(parents=True, exist_ok=True)
        self._proof.mkdir(parents=True, exist_ok=True)
        command = [
            self.python, "-m", "mlflow", "server",
            "--host", self.host,
            "--port", str(self.port),
            "--backend-store-uri", f"sqlite:///{self.store / 'mlflow.db'}",
            "--artifacts-destination", str(self.store / "artifacts"),
            "--workers", "1",  # one worker starts in about half the time of four
        ]  # fmt: skip
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": "",
            # MLflow 3 servers also start a job runner and a task queue, two more Python processes that
            # each import MLflow: a second or more of a 2-core machine's start-up. Tracking needs neither.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=self.store, start_new_session=True,
            )  # fmt: skip
        return self

    def wait_ready(self, timeout: float = 60.0, attempts: int = 3) -> None:
        """Return once this server answers; start it again on another port if its port was taken."""
        deadline = time.monotonic() + timeout
        if self.verified and self.process.poll() is not None:
            raise TrackingServerError(f"mlflow server stopped (status {self.process.returncode}); "
                                      f"last lines of {self.log_path}:\n{self.log_tail()}")  # fmt: skip
        while not self.verified:
            if self.process.poll() is not None:
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

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server's whole process group: TERM, then KILL after `grace` seconds."""
        if self.process is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            if _group_gone(self.process, grace):
                break
        self.process.wait()  # reap it
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
