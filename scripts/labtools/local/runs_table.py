"""The closing table of `run_lab.py`: the runs a lab execution logged.

It asks the tracking server's REST API directly: importing the MLflow client
would add about two seconds to every run of the runner, and the two calls
below have not changed since MLflow 1.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass

from ..text import format_table

PARAMS = ["elastic_net_param", "reg_param", "max_iter"]
METRICS = ["rmse", "mae", "r2"]


@dataclass
class Run:
    run_id: str
    run_name: str
    experiment_id: str
    params: dict[str, str]
    metrics: dict[str, float]


def _post(tracking_uri: str, endpoint: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{tracking_uri.rstrip('/')}/api/2.0/mlflow/{endpoint}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def runs_since(tracking_uri: str, since_ms: int) -> list[Run]:
    """Runs started at or after `since_ms` (epoch milliseconds) in any experiment, oldest first."""
    experiments = _post(tracking_uri, "experiments/search", {"max_results": 1000}).get("experiments", [])
    if not experiments:
        return []
    found = _post(tracking_uri, "runs/search", {
        "experiment_ids": [e["experiment_id"] for e in experiments],
        "filter": f"attributes.start_time >= {since_ms}",
        "order_by": ["attributes.start_time ASC"],
        "max_results": 1000,
    })  # fmt: skip
    return [_run(item) for item in found.get("runs", [])]


def _run(item: dict) -> Run:
    info, data = item["info"], item.get("data", {})
    return Run(
        run_id=info["run_id"],
        run_name=info.get("run_name", ""),
        experiment_id=info["experiment_id"],
        params={p["key"]: p["value"] for p in data.get("params", [])},
        metrics={m["key"]: m["value"] for m in data.get("metrics", [])},
    )


def format_runs(runs: list[Run]) -> str:
    rows = [
        [
            run.run_name,
            *(run.params.get(p, "") for p in PARAMS),
            *(f"{run.metrics[m]:.4f}" if m in run.metrics else "" for m in METRICS),
        ]
        for run in runs
    ]
    return format_table(["run name", *PARAMS, *METRICS], rows)
