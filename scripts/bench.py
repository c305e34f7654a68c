#!/usr/bin/env python3
"""Benchmark the local lab: what the runner costs over the lab's own work, for both notebooks.

    python scripts/bench.py                 # all sections, 3 repetitions, medians
    python scripts/bench.py --sections AB,spark-AB --repeat 5

Sections, each measured side by side in this one run:

- AB:        A, the scikit-learn notebook through `run_lab.py`, vs. B, the same
             cells concatenated into one plain script run with `python`; both
             against one already-running tracking server. Reported as A/B.
- spark-AB:  the same for the Spark ML notebook.
- train:     one scikit-learn training run (fit, evaluate, all MLflow logging,
             plot), in process: median wall time and the share in MLflow calls.
- server:    `mlflow server` ready on a new store, the server migrating it vs.
             a copy of the migrated template (store_template.py). Reported as a ratio.
- cold:      `run_lab.py` on the scikit-learn notebook, starting its own server:
             the whole command's wall time, and when the kernel, the imports
             and the server were ready.
- spark-run: the same for the Spark ML notebook (warm: after the AB runs, the
             JVM's files are in the page cache).
- serverless: each notebook's whole `run_lab.py` command in the classic local
             mode vs. `--serverless` (Spark Connect, DATABRICKS_RUNTIME_VERSION
             as serverless sets it), interleaved: the ratio, and whether both
             logged the same metrics (to 1e-6).
- plugin:    A, `pytest --databricks-notebooks -n 2` (the pytest plugin) on 20
             small notebooks (a print, a widget, a `%run` include, an MLflow
             run each), vs. B, each one's cells as a plain script, one after
             another; one running server. Per notebook, reported as A/B.
- scale:     both notebooks as plain scripts on synthetic trips (default 100k,
             1M and 10M rows): wall time and peak memory of Python and of the
             JVM driver; a size that fails (out of memory) is reported as such.

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

# labtools from scripts/, and the developers' tools (devtools/, beside scripts/) from the project's folder.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from devtools.benchmark import (  # noqa: E402 (needs the path above when run as a script)
    LAB,
    SPARK_LAB,
    bench_ab,
    bench_cold,
    bench_plugin,
    bench_scale,
    bench_server_start,
    bench_serverless,
    bench_train,
)
from labtools.lab import PROJECT  # noqa: E402
from labtools.local.tracking_server import TrackingServer  # noqa: E402

SECTIONS = "AB,spark-AB,train,server,cold,spark-run,serverless,scale,plugin"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sections", default=SECTIONS, help=f"comma-separated, of: {SECTIONS}")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per measurement (medians are reported)")
    parser.add_argument("--sizes", default="100000,1000000,10000000", help="row counts for the scale section")
    parser.add_argument("--out", type=Path, default=PROJECT / ".lab-output" / "bench")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    unknown = sections - set(SECTIONS.split(","))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {SECTIONS}")
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
        "repeat": args.repeat,
    }
    with tempfile.TemporaryDirectory() as tmp, TrackingServer(Path(tmp) / "store") as server:
        work = Path(tmp)
        if "AB" in sections:
            report["AB"] = bench_ab(server.uri, work, args.repeat, LAB)
        if "spark-AB" in sections:
            report["spark-AB"] = bench_ab(server.uri, work, args.repeat, SPARK_LAB)
        if "train" in sections:
            report["train"] = bench_train(server.uri, work, max(args.repeat, 5))
        if "plugin" in sections:
            report["plugin"] = bench_plugin(server.uri, work, args.repeat)
        if "scale" in sections:
            report["scale"] = bench_scale(server.uri, work, [int(n) for n in args.sizes.split(",")], [LAB, SPARK_LAB])
    if "server" in sections:
        with tempfile.TemporaryDirectory() as tmp:
            report["server"] = bench_server_start(Path(tmp), args.repeat)
    for name, notebook in [("cold", LAB), ("spark-run", SPARK_LAB)]:
        if name in sections:
            with tempfile.TemporaryDirectory() as tmp:
                report[name] = bench_cold(Path(tmp), args.repeat, notebook)
    if "serverless" in sections:
        with tempfile.TemporaryDirectory() as tmp:
            report["serverless"] = bench_serverless(Path(tmp), args.repeat, [LAB, SPARK_LAB])
    report["machine"]["load_after"] = os.getloadavg()
    print(format_report(report))
    (args.out / "bench.json").write_text(json.dumps(report, indent=2))
    print(f"\nWritten to {args.out / 'bench.json'}")
    return 0


def format_report(report: dict) -> str:
    lines = [
        f"Benchmark ({report['machine']['cpus']} CPUs, Python {report['machine']['python']}, "
        f"median of {report['repeat']}; load average before {report['machine']['load'][0]:.1f})"
    ]
    for key, which in [("AB", "scikit-learn notebook"), ("spark-AB", "Spark ML notebook")]:
        if key in report:
            ab = report[key]
            lines += [
                "",
                f"A/B, {which}: via run_lab.py vs. the same cells as one plain script (one running server)",
                f"  A runner        {ab['A_runner_s']:6.2f} s",
                f"  B plain script  {ab['B_plain_script_s']:6.2f} s",
                f"  A/B             {ab['A_over_B']:6.2f}   (target <= 1.15)",
            ]
    if "plugin" in report:
        plugin = report["plugin"]
        lines += [
            "",
            f"The pytest plugin: pytest --databricks-notebooks -n 2 on {plugin['notebooks']} small notebooks "
            "vs. their cells as plain scripts one after another (one running server), per notebook",
            f"  A plugin        {plugin['A_plugin_per_notebook_s']:6.2f} s",
            f"  B plain scripts {plugin['B_plain_per_notebook_s']:6.2f} s",
            f"  A/B             {plugin['A_over_B']:6.2f}   (target <= 1.5)",
        ]
    if "server" in report:
        server = report["server"]
        lines += [
            "",
            "mlflow server ready on a new store (seconds)",
            f"  migrated by the server  {server['migrated_s']:6.2f}",
            f"  copied from template    {server['copied_s']:6.2f}",
            f"  copied/migrated         {server['copied_over_migrated']:6.2f}",
            "  (target for a copied store <= 3 s: the rest is the server importing MLflow twice)",
        ]
    if "train" in report:
        train = report["train"]
        lines += [
            "",
            "One training run (fit, evaluate, log params/metrics/model/plot)",
            f"  first run       {train['first_run_s']:6.2f} s (one-time imports)",
            f"  median run      {train['median_run_s']:6.2f} s (target <= 0.5)",
            f"  in MLflow calls {train['mlflow_share']:6.0%}",
        ]
        lines += [f"    {name:<18} {seconds:6.3f} s" for name, seconds in train["mlflow_calls_s"].items()]
    for key, what, target in [
        ("cold", "Cold start, scikit-learn notebook", 15),
        ("spark-run", "Whole run, Spark ML notebook (warm)", 30),
    ]:
        if key in report:
            lines += ["", f"{what}: python scripts/run_lab.py NOTEBOOK (own server), seconds since start"]
            lines += [
                f"  {name.removesuffix('_s'):<22} {value:6.2f}" for name, value in report[key].items() if name != "all"
            ]
            lines += [f"  (target for the whole command <= {target} s)"]
    if "serverless" in report:
        lines += [
            "",
            "Serverless mode vs. classic local mode: python scripts/run_lab.py NOTEBOOK [--serverless], "
            "whole command (s)",
            "  notebook                                          classic  serverless  ratio  same metrics",
        ]
        for notebook, row in report["serverless"].items():
            same = "yes" if row["same_metrics"] else "NO"
            lines.append(
                f"  {notebook:<45} {row['classic_s']:8.1f}  {row['serverless_s']:10.1f}  "
                f"{row['serverless_over_classic']:5.2f}  {same}"
            )
    if "scale" in report:
        lines += [
            "",
            "Scale: each notebook as a plain script on synthetic trips",
            "  notebook                                          rows    wall s  Python MiB  Java MiB",
        ]
        for notebook, sizes in report["scale"].items():
            for rows, row in sorted(sizes.items(), key=lambda item: int(item[0])):
                if "error" in row:
                    lines.append(f"  {notebook:<45} {int(rows):>10,}  failed: {row['error']}")
                else:
                    lines.append(
                        f"  {notebook:<45} {int(rows):>10,}  {row['wall_s']:7.1f}"
                        f"  {row['python_peak_mib']:10.0f}  {row['java_peak_mib']:8.0f}"
                    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
