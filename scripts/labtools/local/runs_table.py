"""The closing table of `run_lab.py`: the runs a lab execution logged; and whether a server answers.

It asks the tracking server's REST API directly: importing the MLflow client
would add about two seconds to every run of the runner, and the two calls
below have not changed since MLflow 1.

A runner's runs are those tagged with its invocation (`INVOCATION_TAG`, set through the kernel's
environment, see local_run.py), so that on a shared server (`--tracking-uri`) the table lists this
execution's runs only, not those others logged meanwhile.

Each row names the notebook that logged the run (its `mlflow.source.name` tag, which the runner
sets as Databricks does): the lab's two notebooks log three runs each, with the same run names.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .. import lab
from ..text import format_table
from .errors import TrackingServerError, UsageError

INVOCATION_TAG = "run_lab.invocation"
SOURCE_TAG = "mlflow.source.name"  # the notebook that logged the run

PARAMS = ["elastic_net_param", "reg_param", "max_iter"]
METRICS = ["rmse", "mae", "r2"]


@dataclass
class Run:
    run_id: str
    run_name: str
    experiment_id: str
    params: dict[str, str]
    metrics: dict[str, float]
    notebook: str = ""  # its SOURCE_TAG: a path on this machine, or a workspace path


def _post(tracking_uri: str, endpoint: str, body: dict, timeout: float = 30) -> dict:
    request = urllib.request.Request(
        f"{tracking_uri.rstrip('/')}/api/2.0/mlflow/{endpoint}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


def check_server(tracking_uri: str, timeout: float = 10) -> None:
    """Raise a one-line error unless an MLflow tracking server answers at `tracking_uri`."""
    if not tracking_uri.startswith(("http://", "https://")):
        raise UsageError(
            f"--tracking-uri {tracking_uri}: the runner needs the http(s) address of an MLflow "
            "tracking server, e.g. http://127.0.0.1:5000"
        )
    tried = f"tried POST {tracking_uri.rstrip('/')}/api/2.0/mlflow/experiments/search"
    try:
        _post(tracking_uri, "experiments/search", {"max_results": 1}, timeout=timeout)
    except urllib.error.HTTPError as error:
        raise TrackingServerError(
            f"--tracking-uri {tracking_uri}: not an MLflow tracking server that lets you in "
            f"({tried}: HTTP {error.code} {error.reason})"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        message = f"--tracking-uri {tracking_uri}: no MLflow tracking server answers ({tried}: {reason})"
        raise TrackingServerError(message) from None


def runs_of(tracking_uri: str, invocation: str | None = None) -> list[Run]:
    """The runs tagged with `invocation` (every run if None), in any experiment, oldest first."""
    experiments = _post(tracking_uri, "experiments/search", {"max_results": 1000}).get("experiments", [])
    if not experiments:
        return []
    found = _post(
        tracking_uri,
        "runs/search",
        {
            "experiment_ids": [e["experiment_id"] for e in experiments],
            "filter": f"tags.`{INVOCATION_TAG}` = '{invocation}'" if invocation else "",
            "order_by": ["attributes.start_time ASC"],
            "max_results": 1000,
        },
    )
    return [_run(item) for item in found.get("runs", [])]


def _run(item: dict) -> Run:
    info, data = item["info"], item.get("data", {})
    return Run(
        run_id=info["run_id"],
        run_name=info.get("run_name", ""),
        experiment_id=info["experiment_id"],
        params={p["key"]: p["value"] for p in data.get("params", [])},
        metrics={m["key"]: m["value"] for m in data.get("metrics", [])},
        notebook=next((t["value"] for t in data.get("tags", []) if t["key"] == SOURCE_TAG), ""),
    )


def _notebook(source: str) -> str:
    """A notebook of the project as the runner names it elsewhere (notebooks/ja/01-....py), else as tagged."""
    if not source:
        return "(unknown)"
    path = Path(source)
    return (
        path.relative_to(lab.PROJECT).as_posix() if path.is_absolute() and path.is_relative_to(lab.PROJECT) else source
    )


def format_runs(runs: list[Run]) -> str:
    rows = [
        [
            _notebook(run.notebook),
            run.run_name,
            *(run.params.get(p, "") for p in PARAMS),
            *(f"{run.metrics[m]:.4f}" if m in run.metrics else "" for m in METRICS),
        ]
        for run in runs
    ]
    return format_table(["notebook", "run name", *PARAMS, *METRICS], rows)
