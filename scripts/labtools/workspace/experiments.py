"""Experiments that must be usable before anything logs to them.

`clean-up --delete-experiment` deletes experiments, but MLflow only marks them deleted: it keeps them 30 days
before purging them, and meanwhile `mlflow.set_experiment(name)` refuses the name ("Cannot set a deleted
experiment ... as the active experiment"). So a run, or a learner's notebook, after a clean-up would fail at
its first MLflow call. Before anything logs to them, a deleted experiment of the lab is restored (with its
earlier runs: MLflow restores them together), and a line says so.
"""

from __future__ import annotations


def restore_deleted(ws, names: list[str]) -> list[str]:
    """Restore each experiment of `names` that is in the deleted state; the names restored."""
    restored = []
    for name in dict.fromkeys(names):  # each once, in order
        found = ws.experiment(name)
        if found and found[1] == "deleted":
            ws.restore_experiment(found[0], name)
            restored.append(name)
    return restored


def restored_line(name: str) -> str:
    return (
        f"Restored the MLflow experiment {name}: clean-up --delete-experiment had deleted it, and MLflow refuses "
        "to log to a deleted experiment until it is purged (30 days); its earlier runs are back with it"
    )
