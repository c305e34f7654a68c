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
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labtools.lab import PROJECT  # noqa: E402 (needs the path above when run as a script)
from labtools.local.benchmark import bench_ab, bench_cold, bench_scale, bench_train  # noqa: E402
from labtools.local.tracking_server import TrackingServer  # noqa: E402


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
