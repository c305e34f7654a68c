"""The measurements of scripts/bench.py, each a function that returns a dict of figures.

See scripts/bench.py for what each section measures and how to run it. A developer's tool, not part of the
lab's tooling (scripts/labtools/): it runs in bench.py's process and in the tests that check it.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from labtools.kernel_config import KernelConfig
from labtools.lab import LAB_DATA, LAB_NOTEBOOK, LAB_SPARK_NOTEBOOK, NOTEBOOKS, PROJECT
from labtools.local import convert, synthetic
from labtools.local.prelude import SCRIPTS, prelude
from labtools.local.tracking_server import TrackingServer

LAB = NOTEBOOKS / f"{LAB_NOTEBOOK}.py"
SPARK_LAB = NOTEBOOKS / f"{LAB_SPARK_NOTEBOOK}.py"


def plain_script(notebook: Path = LAB) -> str:
    """A notebook's code cells, in order, as one Python script; run it with `plain_env`'s environment."""
    cells = [c.source for c in convert.to_ipynb(notebook, root=PROJECT).cells if c.cell_type == "code"]
    return "\n\n".join([prelude(in_kernel=False), *cells]) + "\n"


def plain_env(params: dict[str, str], fs_root: Path, env: dict[str, str]) -> dict[str, str]:
    """`env` with the stand-ins' configuration, as the runner gives a kernel (labtools/kernel_config.py)."""
    config = KernelConfig(
        fs_root=str(fs_root), spark_dir=str(fs_root.parent / "spark"), lab_data=str(LAB_DATA), widget_values=params
    )
    return {**env, **config.environment()}


class ProcessTreeMemory(threading.Thread):
    """Samples a process and its descendants, keeping the peak resident memory of the largest Python and Java one.

    A Spark notebook's memory is mostly the JVM driver's, a child of the Python process, which the
    Python process's own peak (`ru_maxrss`) does not count. Each process's own high-water mark (`VmHWM`)
    is read, and the largest of each kind kept, not a sum: a child started with vfork or posix_spawn
    shares its parent's memory until it execs, and a sum would count that memory twice. (Spark's Python
    workers, the other Python processes, hold tens of MiB here.)
    """

    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_mib = {"python": 0.0, "java": 0.0}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for pid in _tree(self.pid):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                kind = "java" if fields["Name"].strip() == "java" else "python"
                peak_kib = int(fields.get("VmHWM", fields.get("VmRSS", "0 kB")).split()[0])
                self.peak_mib[kind] = max(self.peak_mib[kind], peak_kib / 1024)
            self.done.wait(self.every)


def _tree(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                queue += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def timed_run(command: list[str], env: dict[str, str], memory: bool = False) -> tuple[float, dict | int, str]:
    """Wall seconds, peak memory, and the output of a command.

    The peak is the process's own resident memory in KiB, or with `memory=True` the peaks of the whole
    process tree in MiB, `{"python": ..., "java": ...}`.
    """
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sampler = ProcessTreeMemory(process.pid) if memory else None
    if sampler:
        sampler.start()
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    if sampler:
        sampler.done.set()
        sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{output[-3000:]}")
    return seconds, sampler.peak_mib if sampler else usage.ru_maxrss, output


def median(values: list[float]) -> float:
    return statistics.median(values)


def bench_ab(uri: str, work: Path, repeat: int, notebook: Path = LAB) -> dict:
    """A, the notebook through run_lab.py, against B, its cells as one plain script; one running server."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    script = work / f"{notebook.stem}_plain.py"
    script.write_text(plain_script(notebook))
    plain = plain_env({"experiment_name": "bench-ab"}, work / "dbfs", {**env, "MPLBACKEND": "Agg"})
    a_times, b_times = [], []
    for index in range(repeat):  # interleaved, so that drift in the machine's load hits both alike
        a, _, _ = timed_run(
            [
                sys.executable,
                str(SCRIPTS / "run_lab.py"),
                str(notebook),
                "--tracking-uri",
                uri,
                "--out",
                str(work / f"a{index}"),
                "--param",
                "experiment_name=bench-ab",
            ],
            env,
        )
        b, _, _ = timed_run([sys.executable, str(script)], plain)
        a_times.append(a)
        b_times.append(b)
    return {
        "A_runner_s": median(a_times),
        "B_plain_script_s": median(b_times),
        "A_over_B": median(a_times) / median(b_times),
        "A_all": a_times,
        "B_all": b_times,
    }


TRAIN_PROBE = """\
import json, statistics, time
import mlflow, mlflow.sklearn, mlflow.tracking.fluent
spent = {{}}
def timed(owner, name, label):
    function = getattr(owner, name)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - started
    setattr(owner, name, wrapper)
for name in ["start_run", "log_params", "log_metrics", "log_artifact"]:
    timed(mlflow, name, name)
timed(mlflow.sklearn, "log_model", "sklearn.log_model")
timed(mlflow.tracking.fluent, "end_run", "end_run")  # what `with mlflow.start_run()` calls on exit
infer = infer_signature
def infer_signature(*args, **kwargs):
    started = time.perf_counter()
    try:
        return infer(*args, **kwargs)
    finally:
        spent["infer_signature"] = spent.get("infer_signature", 0.0) + time.perf_counter() - started
walls, shares, per_call = [], [], []
for index in range({repeat} + 1):  # the first run pays one-time imports: reported apart
    spent.clear()
    started = time.perf_counter()
    train_nyc_taxi(train_df, test_df, label_column, 1.0, 0.3, 50)
    wall = time.perf_counter() - started
    if index == 0:
        first = wall
        continue
    walls.append(wall)
    shares.append(sum(spent.values()) / wall)
    per_call.append(dict(spent))
print("BENCH_TRAIN " + json.dumps({{
    "first_run_s": first, "median_run_s": statistics.median(walls), "mlflow_share": statistics.median(shares),
    "mlflow_calls_s": {{k: statistics.median(c[k] for c in per_call) for k in per_call[0]}},
}}))
"""


def bench_train(uri: str, work: Path, repeat: int) -> dict:
    # The lab's cells up to the training function, then the probe: one process, one warm state.
    cells = [c for c in convert.to_ipynb(LAB, root=PROJECT).cells if c.cell_type == "code"]
    until = next(i for i, c in enumerate(cells) if c.metadata["databricks"].get("title") == "Training function")
    plain_prelude = prelude(in_kernel=False)
    script = work / "train_probe.py"
    probe = TRAIN_PROBE.format(repeat=repeat)
    script.write_text("\n\n".join([plain_prelude, *(c.source for c in cells[: until + 1]), probe]))
    env = plain_env(
        {"experiment_name": "bench-train"},
        work / "dbfs",
        {**os.environ, "MLFLOW_TRACKING_URI": uri, "MPLBACKEND": "Agg"},
    )
    _, _, output = timed_run([sys.executable, str(script)], env)
    return json.loads(output.split("BENCH_TRAIN ", 1)[1].splitlines()[0])


def bench_cold(work: Path, repeat: int, notebook: Path = LAB) -> dict:
    """The whole `run_lab.py NOTEBOOK` command, its own server included, and its start-up milestones."""
    totals, milestones = [], []
    for index in range(repeat):
        seconds, _, output = timed_run(
            [
                sys.executable,
                str(SCRIPTS / "run_lab.py"),
                str(notebook),
                "--timings",
                "--out",
                str(work / f"cold{index}"),
            ],
            dict(os.environ),
        )
        totals.append(seconds)
        line = output.split("Start-up (seconds since the runner started): ", 1)[1].splitlines()[0]
        milestones.append({name: float(value) for name, value in re.findall(r"([a-z ]+?) ([\d.]+)(?:, |$)", line)})
    names = milestones[0].keys()
    return {
        "whole_command_s": median(totals),
        "all": totals,
        **{f"{name}_s": median(m[name] for m in milestones) for name in names},
    }


def stored_metrics(store: Path) -> list[tuple[float, float, float]]:
    """(rmse, mae, r2) of each run in a runner's store, oldest first: what a run logged, read back."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    experiments = [experiment.experiment_id for experiment in client.search_experiments()]
    runs = client.search_runs(experiments, order_by=["attributes.start_time ASC"])
    return [(run.data.metrics["rmse"], run.data.metrics["mae"], run.data.metrics["r2"]) for run in runs]


def bench_serverless(work: Path, repeat: int, notebooks: list[Path]) -> dict:
    """Each notebook's whole `run_lab.py` command, classic local mode vs. `--serverless`, interleaved; and whether
    the two logged the same metrics (to 1e-6)."""
    report = {}
    for notebook in notebooks:
        classic, serverless, same = [], [], True
        for index in range(repeat):
            runs = {}
            for mode, extra, times in [("classic", [], classic), ("serverless", ["--serverless"], serverless)]:
                out = work / f"{notebook.stem}-{mode}{index}"
                seconds, _, _ = timed_run(
                    [sys.executable, str(SCRIPTS / "run_lab.py"), str(notebook), *extra, "--out", str(out)],
                    dict(os.environ),
                )
                times.append(seconds)
                runs[mode] = stored_metrics(out / "mlflow")
            same = (
                same
                and len(runs["classic"]) == len(runs["serverless"]) == 3
                and all(
                    abs(a - b) <= 1e-6
                    for pair in zip(runs["classic"], runs["serverless"], strict=True)
                    for a, b in zip(*pair, strict=True)
                )
            )
        report[notebook.stem] = {
            "classic_s": median(classic),
            "serverless_s": median(serverless),
            "serverless_over_classic": median(serverless) / median(classic),
            "same_metrics": same,
            "classic_all": classic,
            "serverless_all": serverless,
        }
    return report


def bench_scale(uri: str, work: Path, sizes: list[int], notebooks: list[Path]) -> dict:
    """Each notebook as a plain script on synthetic trips of each size: wall time, peak memory (Python, Java).

    A size a notebook cannot handle on this machine (killed, out of memory) is recorded with its error.
    """
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MPLBACKEND": "Agg"}
    results = {notebook.stem: {} for notebook in notebooks}
    for rows in sorted(sizes):
        csv = synthetic.write_csv(rows, work)
        for notebook in notebooks:
            script = work / f"{notebook.stem}_{rows}.py"
            params = {"experiment_name": f"bench-scale-{notebook.stem}", "data_path": str(csv)}
            script.write_text(plain_script(notebook))
            try:
                seconds, peak, _ = timed_run(
                    [sys.executable, str(script)], plain_env(params, work / "dbfs", env), memory=True
                )
            except RuntimeError as error:
                results[notebook.stem][rows] = {"error": str(error).splitlines()[-1][:200]}
            else:
                results[notebook.stem][rows] = {
                    "wall_s": seconds,
                    "python_peak_mib": peak["python"],
                    "java_peak_mib": peak["java"],
                }
            # Each size as it is measured: the largest take many minutes, and an interrupted run keeps these.
            print(f"scale {notebook.stem} {rows:,} rows: {results[notebook.stem][rows]}", flush=True)
        csv.unlink()
    return results


def bench_server_start(work: Path, repeat: int) -> dict:
    """`mlflow server` ready on a new store: migrated by the server (no template cached) vs. copied from the template.

    Interleaved, so that drift in the machine's load hits both alike; each start has a new store, and the
    "migrated" ones a new, empty template cache too.
    """
    template = work / "template-cache"
    with TrackingServer(work / "prime", template_cache=template):  # builds the template the copies start from
        pass
    migrated, copied = [], []
    for index in range(repeat):
        for times, cache in [(migrated, work / f"empty-cache-{index}"), (copied, template)]:
            started = time.monotonic()
            with TrackingServer(work / f"store-{len(migrated)}-{len(copied)}", template_cache=cache):
                times.append(time.monotonic() - started)
    return {
        "migrated_s": median(migrated),
        "copied_s": median(copied),
        "copied_over_migrated": median(copied) / median(migrated),
        "migrated_all": migrated,
        "copied_all": copied,
    }


PLUGIN_HELPER = """\
# Databricks notebook source
def describe(number):
    return f"notebook {number}"
"""
PLUGIN_NOTEBOOK = """\
# Databricks notebook source
# MAGIC %run ./includes/helper

# COMMAND ----------

import mlflow

dbutils.widgets.text("number", "{index}")
number = int(dbutils.widgets.get("number"))
print(describe(number))
mlflow.set_experiment("bench-plugin")
with mlflow.start_run():
    mlflow.log_param("number", number)
    mlflow.log_metric("square", number * number)
"""


def plugin_notebooks(folder: Path, count: int = 20) -> list[Path]:
    """`count` small notebooks (a print, a widget, a `%run` include, an MLflow run each) under `folder`."""
    (folder / "includes").mkdir(parents=True, exist_ok=True)
    (folder / "includes" / "helper.py").write_text(PLUGIN_HELPER)
    paths = [folder / f"nb{index:02d}.py" for index in range(count)]
    for index, path in enumerate(paths):
        path.write_text(PLUGIN_NOTEBOOK.format(index=index))
    return paths


def bench_plugin(uri: str, work: Path, repeat: int, count: int = 20) -> dict:
    """A, `pytest --databricks-notebooks -n 2` on `count` small notebooks, against B, each notebook's cells as a plain
    script, run one after another; both against one running server. Per notebook, wall seconds."""
    folder = work / "plugin-notebooks"
    paths = plugin_notebooks(folder, count)
    (work / "pytest.ini").write_text("[pytest]\n")
    scripts = []
    for path in paths:
        script = work / f"{path.stem}_plain.py"
        script.write_text(plain_script(path))
        scripts.append(script)
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(SCRIPTS)}
    plain = plain_env({}, work / "dbfs", {**env, "MPLBACKEND": "Agg"})
    a_times, b_times = [], []
    for index in range(repeat):  # interleaved, as bench_ab
        a, _, _ = timed_run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-c",
                str(work / "pytest.ini"),
                "-q",
                "-n",
                "2",
                "-p",
                "labtools.local.pytest_plugin",
                "-p",
                "no:cacheprovider",
                "--databricks-notebooks",
                str(folder),
                "--databricks-tracking-uri",
                uri,
                "--databricks-out",
                str(work / f"plugin-out{index}"),
            ],
            env,
        )
        started = time.monotonic()
        for script in scripts:
            timed_run([sys.executable, str(script)], plain)
        a_times.append(a / count)
        b_times.append((time.monotonic() - started) / count)
    return {
        "notebooks": count,
        "A_plugin_per_notebook_s": median(a_times),
        "B_plain_per_notebook_s": median(b_times),
        "A_over_B": median(a_times) / median(b_times),
        "A_all": a_times,
        "B_all": b_times,
    }
