"""The closing table of `run_lab.py`: the runs a lab execution logged."""

from __future__ import annotations

from mlflow.tracking import MlflowClient

PARAMS = ["elastic_net_param", "reg_param", "max_iter"]
METRICS = ["rmse", "mae", "r2"]


def runs_since(tracking_uri: str, since_ms: int) -> list:
    """Runs started at or after `since_ms` (epoch milliseconds) in any experiment, oldest first."""
    client = MlflowClient(tracking_uri)
    experiment_ids = [e.experiment_id for e in client.search_experiments()]
    if not experiment_ids:
        return []
    return client.search_runs(
        experiment_ids, filter_string=f"attributes.start_time >= {since_ms}", order_by=["attributes.start_time ASC"]
    )


def format_runs(runs: list) -> str:
    header = ["run name", *PARAMS, *METRICS]
    rows = [
        [
            run.info.run_name,
            *(run.data.params.get(p, "") for p in PARAMS),
            *(f"{run.data.metrics[m]:.4f}" if m in run.data.metrics else "" for m in METRICS),
        ]
        for run in runs
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    rule = ["-" * width for width in widths]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, rule, *rows]
    )
