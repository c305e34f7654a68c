"""`scripts/run_lab.py` as a user meets it: bad input, faults, re-runs.

Every test runs the real runner as a subprocess, with real kernels and real
`mlflow server` processes, on small notebooks written for the case at hand
(the lab notebook itself is exercised in test_lab_end_to_end.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import PROJECT, SCRIPTS, built_once, run_lab
from conftest import write_notebook as notebook
from mlflow.tracking import MlflowClient

from labtools.local.tracking_server import TrackingServer

# With pytest -n, the tests that read `one_run` share one worker (conftest.SHARED_EXECUTIONS); the others go to
# whichever worker is free.


LOG_ONE_RUN = """\
# DBTITLE 1,Log a run
import mlflow
mlflow.set_experiment("runner-tests")
with mlflow.start_run() as run:
    mlflow.log_params({"elastic_net_param": 0.5, "reg_param": 0.1, "max_iter": 10})
    mlflow.log_metrics({"rmse": 1.0, "mae": 0.5, "r2": 0.9})
print("logged", run.info.run_id)
"""


def interruptible() -> None:
    """preexec_fn of a runner the test will Ctrl-C: SIGINT's default disposition, whatever pytest's own.

    A process started as a shell script's background job (`python -m pytest &`) has SIGINT ignored, and an ignored
    signal stays ignored in every child: without this, the runner would never see the test's Ctrl-C.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the runner ended early:\n{process.stdout.read()}\n{process.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear in {timeout} s")
        time.sleep(0.1)


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes whose command line or environment mentions `text`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (proc / "environ").read_bytes().decode(errors="replace")
            state = (proc / "stat").read_text().split(") ")[1][0]
        except OSError:
            continue
        if state != "Z" and (text in cmdline or text in environ):
            found.append(f"{proc.name}: {cmdline}")
    return found


def stop_server_of_store(store: Path) -> None:
    for line in processes_mentioning(str(store)):
        pid = int(line.split(":")[0])
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def runs_in_store(store: Path) -> int:
    with sqlite3.connect(store / "mlflow.db") as db:
        return db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


def params_in_store(store: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(store / "mlflow.db") as db:
        return set(db.execute("SELECT key, value FROM params"))


def metrics_by_run(store: Path) -> dict[str, dict[str, float]]:
    with sqlite3.connect(store / "mlflow.db") as db:
        rows = db.execute("SELECT run_uuid, key, value FROM latest_metrics").fetchall()
    metrics: dict[str, dict[str, float]] = {}
    for run_id, key, value in rows:
        metrics.setdefault(run_id, {})[key] = value
    return metrics


SECRET = "dapi-SECRET-do-not-print-0123456789"


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    """One runner execution with its own server, shared by the tests below that only read it.

    It is asked for a port that is taken, runs with credentials in its environment, and keeps
    its server up (--keep-server) until the fixture checks the UI answers and presses Ctrl-C.
    """
    built_once(tmp_path_factory, "one_run")
    folder = tmp_path_factory.mktemp("one-run")
    out = folder / "out"
    path = notebook(folder, "one-run.py", LOG_ONE_RUN, "import os\nprint(sorted(os.environ))")
    env = {
        **os.environ,
        "DATABRICKS_TOKEN": SECRET,
        "DATABRICKS_HOST": "https://adb-1.azuredatabricks.net",
        "MLFLOW_TRACKING_PASSWORD": SECRET,
    }
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        runner = subprocess.Popen(
            [
                sys.executable,
                str(SCRIPTS / "run_lab.py"),
                str(path),
                "--out",
                str(out),
                "--port",
                str(port),
                "--keep-server",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=PROJECT,
            env=env,
            start_new_session=True,
            preexec_fn=interruptible,
        )
        lines = []
        for line in runner.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
    experiment_url = "".join(lines).split("  experiment: ", 1)[1].split()[0]
    with urllib.request.urlopen(experiment_url.split("#")[0] + "health", timeout=5) as response:
        health = response.read()
    os.killpg(runner.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
    rest, stderr = runner.communicate(timeout=60)
    result = subprocess.CompletedProcess(runner.args, runner.returncode, "".join(lines) + rest, stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    return {"path": path, "out": out, "port": port, "result": result, "health": health}


def test_keep_server_prints_the_urls_and_ctrl_c_stops_it(one_run):
    stdout = one_run["result"].stdout
    assert one_run["health"] == b"OK", "the UI answered while the runner kept it up"
    experiment_url = stdout.split("  experiment: ", 1)[1].split()[0]
    # The line `  run <name>: <url>` the UI's list prints (the runs table above has a "run name" column too).
    [run_line] = [line for line in stdout.splitlines() if line.startswith("  run ") and "/#/experiments/" in line]
    run_url = run_line.split(": ", 1)[1].split()[0]
    # The link opens the run the notebook logged: its id, as the store holds it, not its name.
    with sqlite3.connect(one_run["out"] / "mlflow" / "mlflow.db") as db:
        [(run_id,)] = db.execute("SELECT run_uuid FROM runs").fetchall()
    assert run_url == f"{experiment_url}/runs/{run_id}"
    assert "Stopping the tracking server." in stdout
    assert processes_mentioning(str(one_run["out"])) == []


# --- bad notebook source: an error naming file and line, no traceback of the runner's --------------------

BAD_NOTEBOOKS = {
    "missing-header": ("print(1)\n", ":1: first line must be exactly '# Databricks notebook source'"),
    "separator-in-string": (
        '# Databricks notebook source\ns = """\n# COMMAND ----------\n"""\n',
        ":2: syntax error: unterminated triple-quoted string literal",
    ),
    "unknown-magic": ("# Databricks notebook source\n# MAGIC %scalaa 1\n", ":2: unknown magic %scalaa"),
    "missing-run-target": ("# Databricks notebook source\n# MAGIC %run ./gone\n", ":2: %run ./gone: no notebook at"),
    "run-cycle": ("# Databricks notebook source\n# MAGIC %run ./run-cycle\n", ":2: %run cycle: "),
}


@pytest.mark.parametrize("case", sorted(BAD_NOTEBOOKS))
def test_bad_notebook_source_is_reported_with_file_and_line(case, tmp_path):
    text, expected = BAD_NOTEBOOKS[case]
    path = tmp_path / f"{case}.py"
    path.write_text(text, encoding="utf-8")
    result = run_lab(str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {path}{expected}"), result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists(), "nothing is started or written for a notebook that cannot run"


def test_non_utf8_notebook_is_reported_with_file_and_line(tmp_path):
    path = tmp_path / "latin1.py"
    path.write_bytes(b"# Databricks notebook source\nx = 1\ny = '\xe9'\n")
    result = run_lab(str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr == f"error: {path}:3: not UTF-8 text (byte 0xe9); save the file as UTF-8\n"


def test_unknown_param_lists_the_declared_widgets():
    result = run_lab("--param", "experiment=x", "--param", "data_path=")
    assert result.returncode == 2
    # volume: the Spark ML notebooks', for serverless compute; catalog, schema, model_name, keep_model: the Managing
    # Models notebooks' registry
    declared = "catalog, data_path, experiment_name, keep_model, model_name, schema, volume"
    assert result.stderr == f"error: unknown parameter(s) experiment; the notebooks declare: {declared}\n"


def test_missing_data_file_is_named(tmp_path):
    result = run_lab("--data", str(tmp_path / "nope.csv"))
    assert result.returncode == 2
    assert result.stderr == f"error: --data {tmp_path / 'nope.csv'}: no such file\n"


BAD_OPTIONS = {
    "data-is-a-folder": (["--data", "{tmp}"], "--data {tmp}: is a folder; pass the CSV file itself"),
    "cell-timeout-0": (["--cell-timeout", "0"], "--cell-timeout 0: a cell needs a time limit of more than 0 seconds"),
    "cell-timeout-negative": (["--cell-timeout", "-5"], "--cell-timeout -5: a cell needs a time limit of more than 0"),
    "synthetic-0": (["--synthetic", "0"], "--synthetic 0: the number of made-up trips must be at least 1"),
    "data-and-synthetic": (["--data", "{tmp}/x.csv", "--synthetic", "5"], "--data and --synthetic both choose the"),
    "out-under-proc": (
        ["--out", "/proc/no-such/out"],
        "--out /proc/no-such/out: cannot create the output folder there (No such file or directory)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_OPTIONS))
def test_a_bad_option_is_one_line_naming_it_and_nothing_starts(case, tmp_path):
    args, expected = BAD_OPTIONS[case]
    result = run_lab(*(arg.format(tmp=tmp_path) for arg in args))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: " + expected.format(tmp=tmp_path)), result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert "Starting MLflow" not in result.stdout


def test_a_tracking_uri_that_does_not_answer_is_one_line_before_any_kernel(tmp_path):
    with socket.socket() as bound:  # bound, not listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        uri = f"http://127.0.0.1:{bound.getsockname()[1]}"
        result = run_lab("--tracking-uri", uri, "--out", str(tmp_path / "out"))
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stderr.strip() == (
        f"error: --tracking-uri {uri}: no MLflow tracking server answers "
        f"(tried POST {uri}/api/2.0/mlflow/experiments/search: [Errno 111] Connection refused)"
    )
    assert "Running" not in result.stdout and not (tmp_path / "out" / "executed" / "kernel.log").exists()


def test_data_with_a_missing_column_stops_the_lab_naming_column_and_cell(tracking_server, tmp_path):
    csv = tmp_path / "trips.csv"
    csv.write_text("passengerCount,totalAmount\n1,10.5\n")
    result = run_lab("--tracking-uri", tracking_server.uri, "--out", str(tmp_path / "out"), "--data", str(csv))
    assert result.returncode == 1
    first_line = result.stderr.strip().splitlines()[0]
    assert first_line.startswith("error: notebooks/01-using-mlflow-to-track-experiments.py:")
    assert f'"Load the data") failed: LabDataError: {csv}: missing column(s) tripDistance, hour_of_day' in first_line
    assert "Traceback" not in result.stderr, result.stderr  # the lab's own error says it all (execute.py)


# --- failures while running --------------------------------------------------------------------------------


def test_a_failing_cell_is_named_and_the_executed_notebook_kept(tracking_server, tmp_path):
    path = notebook(tmp_path, "fails.py", "x = 1", "# DBTITLE 1,Divide\ny = x / 0")
    out = tmp_path / "out"
    result = run_lab(str(path), "--tracking-uri", tracking_server.uri, "--out", str(out))
    assert result.returncode == 1
    # Line 7, the line that raised (the traceback's), not the cell's first (its title, line 6): an editor lands on it.
    assert f'error: {path}:7 (cell 2 "Divide") failed: ZeroDivisionError: division by zero' in result.stderr
    assert (out / "executed" / "fails.ipynb").is_file()


@pytest.mark.parametrize("given, kept", [([], "yes"), (["--param", "keep_model=no"], "no")], ids=["default", "given"])
def test_the_runner_keeps_the_model_unless_told_otherwise(tracking_server, tmp_path, given, kept):
    """keep_model (the Managing Models notebooks' widget, default "no" in a workspace) is "yes" under run_lab.py, so
    its closing table can show the registry; --param wins."""
    declares = notebook(
        tmp_path,
        "declares.py",
        'dbutils.widgets.text("keep_model", "no")\nprint("keep_model:", dbutils.widgets.get("keep_model"))',
    )
    out = tmp_path / "out"
    result = run_lab(str(declares), "--tracking-uri", tracking_server.uri, "--out", str(out), *given)
    assert result.returncode == 0, result.stderr
    executed = nbformat.read(out / "executed" / "declares.ipynb", as_version=4)
    assert f"keep_model: {kept}\n" in [o.get("text") for cell in executed.cells for o in cell.get("outputs", [])]


def test_a_pip_line_inside_a_cell_is_not_run_and_display_html_renders(tracking_server, tmp_path):
    """`%pip` on a line of a Python cell (IPython's line magic) would install into the interpreter the runner and every
    later notebook share: it is skipped with a note, as a `%pip` cell is. `displayHTML` is a workspace's built-in."""
    path = notebook(
        tmp_path,
        "pip_line.py",
        'print("before")\n%pip install dp090-no-such-package==0.0.1\nprint("after")\ndisplayHTML("<b>bold</b>")',
    )
    out = tmp_path / "out"
    result = run_lab(str(path), "--tracking-uri", tracking_server.uri, "--out", str(out))
    assert result.returncode == 0, result.stderr
    outputs = nbformat.read(out / "executed" / "pip_line.ipynb", as_version=4).cells[-1].outputs
    printed = "".join(output.get("text", "") for output in outputs)
    assert printed.startswith("before\nSkipped locally: %pip install dp090-no-such-package==0.0.1 (")
    assert printed.endswith("after\n")
    assert [output.data["text/html"] for output in outputs if "data" in output] == ["<b>bold</b>"]


def test_a_hanging_cell_is_stopped_by_the_cell_timeout(tracking_server, tmp_path):
    path = notebook(tmp_path, "hangs.py", "# DBTITLE 1,Wait forever\nimport time\ntime.sleep(600)")
    result = run_lab(
        str(path), "--tracking-uri", tracking_server.uri, "--out", str(tmp_path / "out"), "--cell-timeout", "1"
    )
    assert result.returncode == 1
    assert f'error: {path}:2 (cell 1 "Wait forever") failed: timed out after 1 s' in result.stderr


def runs_by_status(store: Path) -> dict[str, str]:
    """`{run name: status}` of the runs in a store's database."""
    with sqlite3.connect(store / "mlflow.db") as db:
        return dict(db.execute("SELECT name, status FROM runs"))


def test_the_server_dying_mid_run_is_exit_3_in_a_few_lines_and_the_open_run_is_marked_failed(tmp_path):
    """The server's whole process group killed while a run is open, after one run finished."""
    out = tmp_path / "out"
    marker = tmp_path / "first-run-logged"
    path = notebook(
        tmp_path,
        "server-dies.py",
        LOG_ONE_RUN,
        f"""\
        # DBTITLE 1,Train while the server goes
        import pathlib, time, urllib.request
        with mlflow.start_run(run_name="interrupted"):
            mlflow.log_param("alpha", 0.5)
            pathlib.Path({str(marker)!r}).touch()
            for _ in range(600):
                try:
                    urllib.request.urlopen(mlflow.get_tracking_uri() + "/health", timeout=1)
                except OSError:
                    break
                time.sleep(0.1)
            mlflow.log_metric("rmse", 1.0)
        """,
    )
    runner = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "run_lab.py"), str(path), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT,
    )
    wait_for(marker, runner)
    stop_server_of_store(out / "mlflow")
    stdout, stderr = runner.communicate(timeout=180)
    assert runner.returncode == 3, stdout + stderr
    log = out / "mlflow" / "server.log"
    line = path.read_text().splitlines().index("# DBTITLE 1,Train while the server goes") + 1
    assert stderr.strip() == (
        f"error: the tracking server stopped during the run (killed by SIGKILL); its log: {log}; "
        f'{path}:{line} (cell 2 "Train while the server goes") could not finish'
    ), stderr
    assert len((stdout + stderr).splitlines()) < 15, "a few lines, not the cell's traceback of MLflow's retries"
    # At once: the runner stopped the kernel when its server died, before MLflow's retries ran out in the cell.
    executed = nbformat.read(out / "executed" / "server-dies.ipynb", as_version=4)
    assert not [output for output in executed.cells[-1].outputs if output.output_type == "error"], "retries ran out"
    assert processes_mentioning(str(out)) == []
    # What was logged is kept, and the run the kernel could not end is ended, not RUNNING for ever.
    statuses = runs_by_status(out / "mlflow")
    assert statuses.pop("interrupted") == "FAILED" and list(statuses.values()) == ["FINISHED"], statuses
    assert params_in_store(out / "mlflow") == {
        ("max_iter", "10"),
        ("elastic_net_param", "0.5"),
        ("reg_param", "0.1"),
        ("alpha", "0.5"),
    }


def test_a_run_left_running_by_a_killed_runner_is_marked_failed_by_the_next_run_on_the_store(tmp_path):
    """`kill -9` of the runner and its kernel (nothing can end the open run then): the next start on the store does."""
    out, marker = tmp_path / "out", tmp_path / "run-open"
    path = notebook(
        tmp_path,
        "killed.py",
        "import mlflow, pathlib, time\nmlflow.set_experiment('runner-tests')\n"
        "with mlflow.start_run(run_name='orphan'):\n    mlflow.log_param('alpha', 0.5)\n"
        f"    pathlib.Path({str(marker)!r}).touch()\n    time.sleep(600)",
    )
    runner = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "run_lab.py"), str(path), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT,
        start_new_session=True,
    )
    wait_for(marker, runner)
    os.killpg(runner.pid, signal.SIGKILL)  # the runner and its kernel, at once
    runner.communicate(timeout=60)
    stop_server_of_store(out / "mlflow")
    assert runs_by_status(out / "mlflow") == {"orphan": "RUNNING"}

    with TrackingServer(out / "mlflow") as server:  # the next start on the store: a runner's, or --ui's
        assert runs_by_status(out / "mlflow") == {"orphan": "FAILED"}
        client = MlflowClient(server.uri)
        [run] = client.search_runs([client.get_experiment_by_name("runner-tests").experiment_id])
        assert run.info.status == "FAILED" and run.info.end_time and run.data.params == {"alpha": "0.5"}


@pytest.fixture
def small_disk(tmp_path):
    """A folder on a disk of its own, small enough to fill: a tmpfs of `size` (mounting needs root)."""
    mounted = []

    def mount(size: str) -> Path:
        disk = tmp_path / "disk"
        disk.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)], capture_output=True, text=True
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here ({result.stderr.strip() or 'mount failed'}): needs root")
        mounted.append(disk)
        return disk

    yield mount
    for disk in mounted:
        stop_server_of_store(disk)
        subprocess.run(["umount", "-l", str(disk)], check=False)


def a_template_cache(folder: Path) -> Path:
    """An XDG cache home whose store template is a store MLflow just migrated (the runner then copies it in)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    from labtools.local import store_template

    SqlAlchemyStore(f"sqlite:///{folder / 'migrated.db'}", "mlflow-artifacts:/")
    version = store_template.mlflow_version(sys.executable)
    assert store_template.save_from(folder / "migrated.db", version, folder / store_template.CACHE_NAME)
    return folder


@pytest.mark.parametrize("template", ["copied", "migrated by the server"])
def test_a_disk_too_small_for_the_store_is_one_line_naming_it_and_its_free_space(template, small_disk, tmp_path):
    disk = small_disk("400k")  # less than an empty store (about 1 MB)
    cache = tmp_path / "cache"
    cache.mkdir()
    if template == "copied":
        a_template_cache(cache)
    path = notebook(tmp_path, "one-run.py", LOG_ONE_RUN)
    result = run_lab(str(path), "--out", str(disk / "out"), env={**os.environ, "XDG_CACHE_HOME": str(cache)})
    assert result.returncode == 3, result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: the disk holding the tracking store {disk / 'out' / 'mlflow'} is full ("), line
    assert " free of 400.0 KiB); free some space there or pass another --out" in line
    assert processes_mentioning(str(disk)) == []


FILL_THE_DISK = """\
# DBTITLE 1,Fill the disk
import pathlib
with open(pathlib.Path({out!r}) / "filler", "wb") as filler:
    try:
        while True:
            filler.write(b"0" * 65536)
            filler.flush()
    except OSError as error:
        print("disk full:", error)
"""


def test_a_disk_filled_mid_run_is_exit_3_naming_it_and_the_runs_logged_before_are_kept(small_disk, tmp_path):
    disk = small_disk("3m")
    out = disk / "out"
    path = notebook(
        tmp_path,
        "fills.py",
        LOG_ONE_RUN,
        FILL_THE_DISK.format(out=str(out)),
        "# DBTITLE 1,Log again\nwith mlflow.start_run():\n    mlflow.log_param('again', 1)",
    )
    result = run_lab(str(path), "--out", str(out))
    assert result.returncode == 3, result.stdout + result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: the disk holding the tracking store {out / 'mlflow'} is full ("), error
    assert '(cell 3 "Log again") could not log' in error and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3, result.stderr
    (out / "filler").unlink()
    assert params_in_store(out / "mlflow") == {("max_iter", "10"), ("elastic_net_param", "0.5"), ("reg_param", "0.1")}
    assert list(runs_by_status(out / "mlflow").values()) == ["FINISHED"]


def start_a_runner_that_logs_then_sleeps(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """A runner whose notebook logged one run and now sleeps in a second, open run; returns it and its --out folder."""
    out = tmp_path / "out"
    marker = tmp_path / "running"
    path = notebook(
        tmp_path,
        "interrupted.py",
        LOG_ONE_RUN,
        "import pathlib, time\nwith mlflow.start_run(run_name='open'):\n"
        f"    pathlib.Path({str(marker)!r}).touch()\n    time.sleep(600)",
    )
    # A terminal's Ctrl-C signals the whole foreground process group: the runner gets its own group here.
    runner = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "run_lab.py"), str(path), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT,
        start_new_session=True,
        preexec_fn=interruptible,
    )
    wait_for(marker, runner)
    return runner, out


@pytest.mark.parametrize("stop", ["ctrl-c", "kill"])
def test_ctrl_c_or_kill_stops_server_and_kernel_and_keeps_the_store(stop, tmp_path):
    runner, out = start_a_runner_that_logs_then_sleeps(tmp_path)
    if stop == "ctrl-c":
        os.killpg(runner.pid, signal.SIGINT)  # a terminal signals its whole foreground process group
    else:
        os.kill(runner.pid, signal.SIGTERM)  # `kill <pid>`, or a CI job's time-out
    stdout, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 130, stdout + stderr
    assert "Interrupted: stopping the kernel and the tracking server." in stderr
    assert processes_mentioning(str(out)) == []
    # The finished run is kept; the open one, which the stopped kernel could not end, is KILLED, not RUNNING.
    statuses = runs_by_status(out / "mlflow")
    assert statuses.pop("open") == "KILLED" and list(statuses.values()) == ["FINISHED"], statuses


def test_a_second_ctrl_c_cannot_interrupt_the_clean_up(tmp_path):
    """Ctrl-C, then Ctrl-C again 0.3 s later, while the kernel and server are being stopped."""
    runner, out = start_a_runner_that_logs_then_sleeps(tmp_path)
    os.killpg(runner.pid, signal.SIGINT)
    time.sleep(0.3)
    if runner.poll() is None:
        os.killpg(runner.pid, signal.SIGINT)
    stdout, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr, stderr
    assert processes_mentioning(str(out)) == []
    assert runs_in_store(out / "mlflow") == 2


def test_a_kernel_that_does_not_start_is_one_line_with_its_own_exit_status(tracking_server, tmp_path):
    """ipykernel replaced by a module that exits at once: exit 4, one line naming the kernel, no traceback."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "ipykernel_launcher.py").write_text("import sys\nsys.exit('no kernel here')\n")
    path = notebook(tmp_path, "one-run.py", LOG_ONE_RUN)
    env = {**os.environ, "PYTHONPATH": str(broken)}
    result = run_lab(str(path), "--out", str(tmp_path / "out"), "--tracking-uri", tracking_server.uri, env=env)
    assert result.returncode == 4, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "the Jupyter kernel" in errors[0] and "did not start" in errors[0], result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert processes_mentioning(str(tmp_path / "out")) == []


WAIT_FOR_RELEASE = """\
# DBTITLE 1,Hold the output folder
import os, pathlib, time
pathlib.Path(f"{started}-{{os.getpid()}}").touch()
while not pathlib.Path({release!r}).exists():
    time.sleep(0.1)
"""


def test_two_runners_on_one_out_folder_take_turns_and_both_stores_survive(tmp_path):
    """Two terminals, one clone, the default --out: the second waits for the first, saying so."""
    started, release, out = tmp_path / "started", tmp_path / "release", tmp_path / "out"
    path = notebook(
        tmp_path, "turns.py", LOG_ONE_RUN, WAIT_FOR_RELEASE.format(started=str(started), release=str(release))
    )
    command = [sys.executable, str(SCRIPTS / "run_lab.py"), str(path), "--out", str(out)]
    runners = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT)
        for _ in range(2)
    ]
    outputs = [[], []]
    readers = [
        threading.Thread(target=lambda r=r, o=o: o.extend(r.stdout)) for r, o in zip(runners, outputs, strict=True)
    ]
    for reader in readers:
        reader.start()
    waiting_line = f"{out} is in use by run_lab.py (pid "
    while not (
        any(line.startswith(waiting_line) for output in outputs for line in list(output))
        and list(tmp_path.glob("started-*"))
    ):
        assert len(list(tmp_path.glob("started-*"))) < 2, "both runners ran their notebook at once on one --out"
        assert all(runner.poll() is None for runner in runners), "a runner ended before the other was released"
        time.sleep(0.1)
    release.touch()
    for runner, reader, output in zip(runners, readers, outputs, strict=True):
        runner.wait(timeout=300)
        reader.join()
        stderr = runner.stderr.read()
        assert runner.returncode == 0, "".join(output) + stderr
        assert "Traceback" not in stderr, stderr
    said = [line for output in outputs for line in output if line.startswith(waiting_line)]
    assert len(said) == 1 and "waiting for it to finish (Ctrl-C to stop waiting, or pass another --out" in said[0]
    assert runs_in_store(out / "mlflow") == 2
    assert len(metrics_by_run(out / "mlflow")) == 2


def test_on_a_shared_server_the_table_lists_only_this_executions_runs_with_their_notebook(tracking_server, tmp_path):
    started, release = tmp_path / "started", tmp_path / "release"
    path = notebook(
        tmp_path, "shared.py", LOG_ONE_RUN, WAIT_FOR_RELEASE.format(started=str(started), release=str(release))
    )
    runner = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPTS / "run_lab.py"),
            str(path),
            "--out",
            str(tmp_path / "out"),
            "--tracking-uri",
            tracking_server.uri,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT,
    )
    while not list(tmp_path.glob("started-*")):
        assert runner.poll() is None, runner.communicate()
        time.sleep(0.1)
    client = MlflowClient(tracking_server.uri)  # someone else, logging to the same server meanwhile
    theirs = client.create_run(client.create_experiment(f"someone-else-{tmp_path.name}"), run_name="someone-else")
    client.set_terminated(theirs.info.run_id)
    release.touch()
    stdout, stderr = runner.communicate(timeout=300)
    assert runner.returncode == 0, stdout + stderr
    [ours] = client.search_runs(
        [client.get_experiment_by_name("runner-tests").experiment_id],
        filter_string=f"tags.`mlflow.source.name` = '{path}'",
    )
    assert ours.data.tags["mlflow.source.type"] == "NOTEBOOK"
    rows = stdout.split("MLflow runs logged to", 1)[1].splitlines()[3:]  # after the header and its underline
    # notebook, run name, ...: the notebook is this test's own file, outside the project, so as tagged
    assert [row.split()[:2] for row in rows if row.strip()] == [[str(path), ours.info.run_name]], stdout


def test_two_runners_at_once_use_separate_ports_and_stores(tmp_path):
    path = notebook(tmp_path, "one-run.py", LOG_ONE_RUN)
    results = {}

    def run(name):
        results[name] = run_lab(str(path), "--out", str(tmp_path / name))

    threads = [threading.Thread(target=run, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    uris = set()
    for name, result in results.items():
        assert result.returncode == 0, result.stderr
        uris.add(result.stdout.split("Starting MLflow tracking server at ", 1)[1].split(" ")[0])
        assert runs_in_store(tmp_path / name / "mlflow") == 1
    assert len(uris) == 2


# --- re-runs and data safety ---------------------------------------------------------------------------------


def test_a_store_the_runner_did_not_create_is_left_alone(tmp_path):
    store = tmp_path / "out" / "mlflow"
    store.mkdir(parents=True)
    (store / "someone-elses.db").write_text("precious")
    result = run_lab("--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr == f"error: {store} exists and was not created by run_lab.py; choose another --out\n"
    assert [p.name for p in store.iterdir()] == ["someone-elses.db"]


def test_the_server_listens_on_loopback_only(tracking_server):
    port_hex = f"{tracking_server.port:04X}"
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and local.endswith(f":{port_hex}"):  # 0A: LISTEN
                listening.append(local.split(":")[0])
    assert listening == ["0100007F"], f"listening addresses for port {tracking_server.port}: {listening}"


def test_ui_without_an_earlier_run_says_what_to_do(tmp_path):
    result = run_lab("--ui", "--out", str(tmp_path))
    assert result.returncode == 2
    expected = f"error: no tracking store of run_lab.py in {tmp_path}; run the lab first, or pass its --out\n"
    assert result.stderr == expected


def test_a_taken_port_is_replaced_and_said(one_run):
    port, stdout = one_run["port"], one_run["result"].stdout
    other = int(stdout.split(f"Port {port} is taken; using ", 1)[1].split(" ")[0])
    assert other != port
    assert f"Starting MLflow tracking server at http://127.0.0.1:{other} " in stdout


def test_no_secret_appears_in_output_logs_or_executed_notebooks(one_run):
    result = one_run["result"]
    executed = (one_run["out"] / "executed" / "one-run.ipynb").read_text()
    assert "MLFLOW_TRACKING_PASSWORD" in executed, "the notebook printed the names in its environment"
    # The runner keeps its DATABRICKS_ settings from the kernel: a workspace's token has no business in a local
    # notebook, and DATABRICKS_RUNTIME_VERSION there would make the notebooks believe they run in a workspace.
    assert "'DATABRICKS_" not in executed, "a DATABRICKS_ setting reached the kernel's environment"
    assert SECRET not in result.stdout + result.stderr
    files = [file for file in one_run["out"].rglob("*") if file.is_file()]
    assert any(file.suffix == ".ipynb" for file in files) and any(file.name == "server.log" for file in files)
    for file in files:
        assert SECRET.encode() not in file.read_bytes(), f"{file} contains the secret"


def test_ui_attaches_to_an_earlier_store_without_rerunning(one_run):
    out = one_run["out"]
    before = runs_in_store(out / "mlflow")
    runner = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "run_lab.py"), "--ui", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT,
        start_new_session=True,
        preexec_fn=interruptible,
    )
    lines = []
    for line in runner.stdout:
        lines.append(line)
        if line.startswith("Press Ctrl-C"):
            break
    run_lines = [line for line in lines if line.startswith("  run ")]
    assert len(run_lines) == before, "".join(lines)
    os.killpg(runner.pid, signal.SIGINT)
    runner.communicate(timeout=60)
    assert runner.returncode == 0
    assert runs_in_store(out / "mlflow") == before, "serving the UI adds no run"


def test_a_rerun_in_the_same_store_adds_runs_and_keeps_the_first(one_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(one_run["out"], out)
    before = metrics_by_run(out / "mlflow")
    again = run_lab(str(one_run["path"]), "--out", str(out))
    assert again.returncode == 0, again.stderr
    after = metrics_by_run(out / "mlflow")
    assert len(after) == len(before) + 1
    assert all(after[run_id] == metrics for run_id, metrics in before.items())


def test_clean_removes_only_what_the_runner_created_and_says_so(one_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(one_run["out"], out)
    (out / "notes.txt").write_text("mine")
    # A folder of a name the runner uses, made by someone else (no marker of the runner's in it): kept.
    shutil.rmtree(out / "spark")
    (out / "spark").mkdir()
    (out / "spark" / "my-notes.txt").write_text("mine too")
    result = run_lab("--clean", "--out", str(out))
    assert result.returncode == 0, result.stderr
    for folder in ("mlflow", "executed", "dbfs"):
        assert f"Removing {out / folder}" in result.stdout
    assert f"Removing {out / 'spark'}" not in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "spark"]
    assert (out / "spark" / "my-notes.txt").read_text() == "mine too"
    again = run_lab("--clean", "--out", str(out))
    assert again.returncode == 0 and "Nothing to remove" in again.stdout
