"""Start and stop the Spark Connect server of a `--serverless` run.

Serverless compute runs Spark away from the notebook: the notebook's Python has no JVM, only a Spark
Connect client. So does a local serverless run: one server process for the whole run (`labtools.spark_server`,
a local session with Spark Connect's plugin), started beside the tracking server, and every notebook's
kernel a client of it (`sc://127.0.0.1:PORT`). Its JVM starts once for all the run's notebooks, while
the tracking server and the first kernel start.

Like `tracking_server.py`: its own process group, stopped as a whole; a port picked free and bound a few
seconds later, so a port taken meanwhile makes the server exit, and it starts again on another.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from ..lab import PROJECT
from .errors import SparkServerError
from .tracking_server import free_port, stop_group

# The server's module, run as `python -m`: named here, never imported by the runner (a process of its own).
SERVER_MODULE = "labtools.spark_server"


class ConnectServer:
    """`server.start()`, later `server.wait_ready()` and `server.url`; `server.stop()` at the end."""

    def __init__(self, work_dir: Path, python: str = sys.executable):
        self.work_dir = Path(work_dir)
        self.python = python
        self.log_path = self.work_dir / "connect-server.log"
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.ready = False

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    @property
    def _ready_file(self) -> Path:
        return self.work_dir / f"connect-server-{self.port}.ready"

    def start(self) -> ConnectServer:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self._ready_file.unlink(missing_ok=True)
        paths = [str(PROJECT / "scripts"), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [self.python, "-m", SERVER_MODULE, str(self.work_dir), str(self.port), str(self._ready_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.work_dir,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout: float = 120.0, attempts: int = 3) -> None:
        """Return once the server listens; start it again on another port if its port was taken meanwhile."""
        deadline = time.monotonic() + timeout
        while not self.ready:
            if self._ready_file.exists():
                self.ready = True
            elif self.process.poll() is not None:
                attempts -= 1
                if attempts == 0 or "BindException" not in self._log_tail():
                    raise SparkServerError(
                        f"the local Spark Connect server (--serverless) exited with status "
                        f"{self.process.returncode} before it was ready; its log: {self.log_path}"
                    )
                self.stop()
                self.start()
            elif time.monotonic() > deadline:
                self.stop()
                raise SparkServerError(
                    f"the local Spark Connect server (--serverless) was not ready after "
                    f"{timeout:.0f} s; its log: {self.log_path}"
                )
            else:
                time.sleep(0.1)

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server's whole process group (Python and its JVM): TERM, then KILL after `grace` seconds."""
        if self.process is None:
            return
        stop_group(self.process, grace)
        self.process = None
        self._ready_file.unlink(missing_ok=True)

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""
