"""`LocalRun` and `NotebookRun` in this process, where a test can arrange what a command line cannot: a port
race, a Ctrl-C at a chosen moment.

A real kernel and real `mlflow server` processes, as in test_runner.py.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import signal
import socket
import sqlite3
import threading
import urllib.request
from importlib.util import find_spec

import nbformat
import pytest
from conftest import PROJECT, write_notebook
from jupyter_core.utils import ensure_event_loop

from labtools.local import connect_server, convert
from labtools.local import tracking_server as server_module
from labtools.local.execute import NotebookRun
from labtools.local.local_run import LocalRun
from labtools.local.output import OutputFolders


def experiment_names(uri: str) -> set[str]:
    request = urllib.request.Request(
        f"{uri}/api/2.0/mlflow/experiments/search",
        data=b'{"max_results": 1000}',
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return {e["name"] for e in json.load(response).get("experiments", [])}


def test_a_port_taken_between_picking_and_binding_moves_the_server_and_the_kernel_follows(
    tracking_server, tmp_path, monkeypatch
):
    """Another server (the session's) takes the port the runner picked: the runs must not go to it."""
    other = tracking_server
    real_free_port = server_module.free_port
    picked = []

    def racing_free_port(preferred=None, host="127.0.0.1"):
        if preferred is None and not picked:  # the runner's first pick: the port another server binds meanwhile
            picked.append(other.port)
            return other.port
        return real_free_port(preferred, host)

    monkeypatch.setattr(server_module, "free_port", racing_free_port)
    experiment = f"port-race-{tmp_path.name}"
    path = write_notebook(
        tmp_path,
        "race.py",
        f"import mlflow\nmlflow.set_experiment({experiment!r})\n"
        "with mlflow.start_run():\n    mlflow.log_param('logged', 'here')",
    )
    said = []
    folders = OutputFolders(tmp_path / "out").create()
    with LocalRun(folders, say=lambda *args, **kwargs: said.append(" ".join(map(str, args)))) as run:
        run.execute(path, convert.ConvertedNotebook.read(path, root=PROJECT), {})
        uri = run.tracking_uri
    assert picked and uri != other.uri
    assert f"Another server took port {other.port} before the runner's could" in "\n".join(said)
    assert experiment not in experiment_names(other.uri), "a run went to the other server"
    with sqlite3.connect(folders.store / "mlflow.db") as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
    assert not list((folders.store / "artifacts").glob("run_lab-server-check-*")), "the proof folder is removed"


@pytest.mark.skipif(
    shutil.which("java") is None or find_spec("pyspark") is None or find_spec("grpc") is None,
    reason="serverless mode needs Java and pyspark[connect] (.ci/run installs both; see README)",
)
def test_a_spark_connect_server_that_moves_port_is_followed_by_the_kernel(tmp_path, monkeypatch):
    """The runner's Spark Connect server finds its port taken once the kernel was told it: the kernel connects
    to the server's new port (`LocalSpark.connect_to`, the one cell the runner adds), not to the taker."""
    with socket.socket() as taker:  # holds the port the runner picks first, as another program would
        taker.bind(("127.0.0.1", 0))
        taker.listen()
        taken = taker.getsockname()[1]
        real_free_port, picks = connect_server.free_port, []

        def racing_free_port(*args, **kwargs):
            picks.append(taken if not picks else real_free_port(*args, **kwargs))
            return picks[-1]

        monkeypatch.setattr(connect_server, "free_port", racing_free_port)
        path = write_notebook(tmp_path, "connects.py", "print('rows:', spark.range(3).count())")
        folders = OutputFolders(tmp_path / "out").create()
        with LocalRun(folders, serverless=True, say=lambda *args, **kwargs: None) as run:
            run.execute(path, convert.ConvertedNotebook.read(path, root=PROJECT), {})
            moved_to = run.spark_server.url
    executed = nbformat.read(folders.executed / "connects.ipynb", as_version=4)
    assert picks[0] == taken and moved_to != f"sc://127.0.0.1:{taken}"
    assert executed.metadata["run_lab_kernel_config"]["spark_connect_url"] == f"sc://127.0.0.1:{taken}"
    assert executed.cells[1].source.startswith(f"_standins.spark.connect_to({moved_to!r})")
    assert "rows: 3" in executed.cells[-1].outputs[0]["text"]


def test_ctrl_c_in_a_cell_leaves_no_task_to_fail_later_with_dead_kernel_error(tmp_path, caplog):
    """Ctrl-C reaches the kernel too: the clean-up must not print `DeadKernelError: Kernel died` as a traceback.

    The interrupt stops nbclient's event loop mid-cell, leaving its tasks (waiting for the reply, polling the kernel)
    pending on that loop. Any later use of the loop (stopping the kernel) ran them again: they found the kernel
    dead and ended in DeadKernelError, which asyncio prints as "Task exception was never retrieved".
    """
    path = write_notebook(tmp_path, "sleeps.py", "import time\ntime.sleep(60)")
    kernel = NotebookRun(convert.to_ipynb(path, root=PROJECT), cwd=tmp_path)
    kernel.start()
    pid = kernel.client.km.provisioner.process.pid
    # Ctrl-C raises KeyboardInterrupt here even if pytest was started as a script's background job (`pytest &`),
    # which starts with SIGINT ignored.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))  # Ctrl-C, once the cell runs
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            kernel.run_cells(range(0, 1))
        os.kill(pid, signal.SIGKILL)  # the same Ctrl-C killed the kernel (it was still starting)
        loop = ensure_event_loop()
        assert asyncio.all_tasks(loop) == set(), "tasks of the interrupted cell are still pending"
        loop.run_until_complete(asyncio.sleep(2))  # a clean-up that takes a while: the poll sees the dead kernel
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
        kernel.stop()
    del kernel
    gc.collect()
    assert not [record for record in caplog.records if record.exc_info or "never retrieved" in record.getMessage()]
