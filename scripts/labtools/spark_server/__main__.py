"""The Spark Connect server process of a `run_lab.py --serverless` run (see `__init__.py`)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from ..spark_session import build_session


def serve(work_dir: Path, port: int, ready: Path) -> None:
    """Run a Spark Connect server on `port` until killed; `ready` is made once it listens (`connect_server.py`,
    which makes `work_dir` and starts it only where Java is found)."""
    session = build_session(work_dir, port)  # returns once the server listens; fails if the port is taken
    session.sparkContext.setLogLevel("ERROR")
    ready.touch()
    threading.Event().wait()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
