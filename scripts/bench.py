#!/usr/bin/env python3
"""Benchmark the local lab: what the runner costs over the lab's own work.

    python scripts/bench.py                 # all sections, 3 repetitions, medians
    python scripts/bench.py --sections AB,train --repeat 5

Sections, each measured side by side in this one run:

- AB:      A, the lab notebook through `run_lab.py`, vs. B, the same cells
           concatenated into one plain script run with `python`; both against
           one already-running tracking server. Reported as A/B.
- train:   one training run (fit, evaluate, all MLflow logging, plot), in
           process: median wall time and the share spent in MLflow calls.
- cold:    `run_lab.py` starting its own server: the whole command's wall
           time, and when the kernel, the imports and the server were ready.
- scale:   the lab as a plain script on 10k, 100k and 1M synthetic trips:
           wall time and peak memory, and how each grows.

Prints a table and writes it as JSON to OUT/bench.json (default
.lab-output/bench/), so that runs can be compared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
PROJECT = SCRIPTS.parent
LAB = PROJECT / "notebooks" / "01-using-mlflow-to-track-experiments.py"
sys.path.insert(0, str(SCRIPTS))

from labrunner import convert  # noqa: E402
from labrunner.tracking_server import TrackingServer  # noqa: E402

# Defines what a workspace would, for the plain-script variant (B): the same stand-ins as the runner's.
PLAIN_PRELUDE = """\
import sys
sys.path.insert(0, {scripts!r})
from labrunner import local_runtime as _local_runtime
_local_runtime.install(globals(), widget_values={params!r}, fs_root={fs_root!r})
"""
# The MLflow functions a training run calls; `train` times each call.
MLFLOW_CALLS = ["start_run", "log_params", "log_metrics", "log_artifact", "sklearn.log_model", "end_run",
                "infer_signature"]  # fmt: skip


def plain_script(params: dict[str, str], fs_root: Path) -> str:
    """The lab's code cells, in order, as one Python script."""
    cells = [c.source for c in convert.to_ipynb(LAB, root=PROJECT).cells if c.cell_type == "code"]
    prelude = PLAIN_PRELUDE.format(scripts=str(SCRIPTS), params=params, fs_root=str(fs_root))
    return "\n\n".join([prelude, *cells]) + "\n"


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
    prelude = PLAIN_PRELUDE.format(scripts=str(SCRIPTS), params={"experiment_name": "bench-train"},
                                   fs_root=str(work / "dbfs"))  # fmt: skip
    script = work / "train_probe.py"
    probe = TRAIN_PROBE.format(repeat=repeat)
    script.write_text("\n\n".join([prelude, *(c.source for c in cells[: until + 1]), probe]))
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
    setup = convert.notebook_namespace(PROJECT / "notebooks" / "includes" / "setup.py", root=PROJECT)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sections", default="AB,train,cold,scale", help="comma-separated: AB, train, cold, scale")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per measurement (medians are reported)")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="row counts for the scale section")
    parser.add_argument("--out", type=Path, default=PROJECT / ".lab-output" / "bench")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
              "repeat": args.repeat}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, TrackingServer(Path(tmp) / "store") as server:
        work = Path(tmp)
        if "AB" in sections:
            report["AB"] = bench_ab(server.uri, work, args.repeat)
        if "train" in sections:
            report["train"] = bench_train(server.uri, work, max(args.repeat, 5))
        if "scale" in sections:
            report["scale"] = bench_scale(server.uri, work, [int(n) for n in args.sizes.split(",")])
    if "cold" in sections:
        with tempfile.TemporaryDirectory() as tmp:
            report["cold"] = bench_cold(Path(tmp), args.repeat)
    report["machine"]["load_after"] = os.getloadavg()
    print(format_report(report))
    (args.out / "bench.json").write_text(json.dumps(report, indent=2))
    print(f"\nWritten to {args.out / 'bench.json'}")
    return 0


def format_report(report: dict) -> str:
    lines = [f"Benchmark ({report['machine']['cpus']} CPUs, Python {report['machine']['python']}, "
             f"median of {report['repeat']}; load average before {report['machine']['load'][0]:.1f})"]  # fmt: skip
    if "AB" in report:
        ab = report["AB"]
        lines += ["", "A/B: lab via run_lab.py vs. the same cells as one plain script (one running server)",
                  f"  A runner        {ab['A_runner_s']:6.2f} s",
                  f"  B plain script  {ab['B_plain_script_s']:6.2f} s",
                  f"  A/B             {ab['A_over_B']:6.2f}   (target <= 1.3)"]  # fmt: skip
    if "train" in report:
        train = report["train"]
        lines += ["", "One training run (fit, evaluate, log params/metrics/model/plot)",
                  f"  first run       {train['first_run_s']:6.2f} s (one-time imports)",
                  f"  median run      {train['median_run_s']:6.2f} s (target <= 0.5)",
                  f"  in MLflow calls {train['mlflow_share']:6.0%}"]  # fmt: skip
        lines += [f"    {name:<18} {seconds:6.3f} s" for name, seconds in train["mlflow_calls_s"].items()]
    if "cold" in report:
        cold = report["cold"]
        lines += ["", "Cold start: python scripts/run_lab.py (own server), seconds since start"]
        lines += [f"  {name.removesuffix('_s'):<22} {value:6.2f}" for name, value in cold.items() if name != "all"]
        lines += ["  (target for the whole command <= 15 s)"]
    if "scale" in report:
        lines += ["", "Scale: the lab as a plain script on synthetic trips",
                  "  rows        wall s   peak MiB   wall x   memory x"]  # fmt: skip
        for rows, row in sorted(report["scale"].items()):
            wall_x, memory_x = row.get("wall_growth_vs_previous", 1), row.get("memory_growth_vs_previous", 1)
            lines.append(f"  {rows:>9,}  {row['wall_s']:7.2f}  {row['peak_memory_mib']:8.0f}"
                         f"   {wall_x:6.2f}   {memory_x:6.2f}")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
