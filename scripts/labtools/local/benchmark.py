"""The measurements of scripts/bench.py, each a function that returns a dict of figures.

See scripts/bench.py for what each section measures and how to run it.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ..lab import LAB_NOTEBOOK, NOTEBOOKS, PROJECT
from . import convert
from .prelude import SCRIPTS, prelude

LAB = NOTEBOOKS / f"{LAB_NOTEBOOK}.py"
# The MLflow functions a training run calls; `train` times each call.
MLFLOW_CALLS = ["start_run", "log_params", "log_metrics", "log_artifact", "sklearn.log_model", "end_run",
                "infer_signature"]  # fmt: skip


def plain_script(params: dict[str, str], fs_root: Path) -> str:
    """The lab's code cells, in order, as one Python script."""
    cells = [c.source for c in convert.to_ipynb(LAB, root=PROJECT).cells if c.cell_type == "code"]
    return "\n\n".join([prelude(params, str(fs_root), in_kernel=False), *cells]) + "\n"


def timed_run(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak resident memory (KiB) of the process, and its output."""
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{output[-3000:]}")
    return seconds, usage.ru_maxrss, output


def median(values: list[float]) -> float:
    return statistics.median(values)


def bench_ab(uri: str, work: Path, repeat: int) -> dict:
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    script = work / "lab_plain.py"
    script.write_text(plain_script({"experiment_name": "bench-ab"}, work / "dbfs"))
    a_times, b_times = [], []
    for index in range(repeat):  # interleaved, so that drift in the machine's load hits both alike
        a, _, _ = timed_run([sys.executable, str(SCRIPTS / "run_lab.py"), "--tracking-uri", uri,
                             "--out", str(work / f"a{index}"), "--param", "experiment_name=bench-ab"], env)  # fmt: skip
        b, _, _ = timed_run([sys.executable, str(script)], {**env, "MPLBACKEND": "Agg"})
        a_times.append(a)
        b_times.append(b)
    return {"A_runner_s": median(a_times), "B_plain_script_s": median(b_times),
            "A_over_B": median(a_times) / median(b_times), "A_all": a_times, "B_all": b_times}  # fmt: skip


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
    plain_prelude = prelude({"experiment_name": "bench-train"}, str(work / "dbfs"), in_kernel=False)
    script = work / "train_probe.py"
    probe = TRAIN_PROBE.format(repeat=repeat)
    script.write_text("\n\n".join([plain_prelude, *(c.source for c in cells[: until + 1]), probe]))
    _, _, output = timed_run([sys.executable, str(script)], {**os.environ, "MLFLOW_TRACKING_URI": uri,
                                                             "MPLBACKEND": "Agg"})  # fmt: skip
    return json.loads(output.split("BENCH_TRAIN ", 1)[1].splitlines()[0])


def bench_cold(work: Path, repeat: int) -> dict:
    totals, milestones = [], []
    for index in range(repeat):
        seconds, _, output = timed_run([sys.executable, str(SCRIPTS / "run_lab.py"), "--timings",
                                        "--out", str(work / f"cold{index}")], dict(os.environ))  # fmt: skip
        totals.append(seconds)
        line = output.split("Start-up (seconds since the runner started): ", 1)[1].splitlines()[0]
        milestones.append({name: float(value) for name, value in re.findall(r"([a-z ]+?) ([\d.]+)(?:, |$)", line)})
    names = milestones[0].keys()
    return {"whole_command_s": median(totals), "all": totals,
            **{f"{name}_s": median(m[name] for m in milestones) for name in names}}  # fmt: skip


def bench_scale(uri: str, work: Path, sizes: list[int]) -> dict:
    setup = convert.notebook_namespace(NOTEBOOKS / "includes" / "setup.py", root=PROJECT)
    results = {}
    for rows in [min(sizes), *sizes]:  # the first, smallest run warms the disk cache; the second overwrites it
        csv = work / f"trips-{rows}.csv"
        setup["synthetic_trips"](rows=rows).to_csv(csv, index=False)
        script = work / f"lab_{rows}.py"
        script.write_text(plain_script({"experiment_name": "bench-scale", "data_path": str(csv)}, work / "dbfs"))
        seconds, peak_kib, _ = timed_run([sys.executable, str(script)],
                                         {**os.environ, "MLFLOW_TRACKING_URI": uri, "MPLBACKEND": "Agg"})  # fmt: skip
        results[rows] = {"wall_s": seconds, "peak_memory_mib": peak_kib / 1024}
    sizes_sorted = sorted(results)
    for smaller, larger in zip(sizes_sorted, sizes_sorted[1:], strict=False):
        results[larger]["wall_growth_vs_previous"] = results[larger]["wall_s"] / results[smaller]["wall_s"]
        results[larger]["memory_growth_vs_previous"] = (
            results[larger]["peak_memory_mib"] / results[smaller]["peak_memory_mib"]
        )
    return results
