"""What `deploy.py run` asks a workspace to run: the body of `jobs/runs/submit`, one task per notebook
(and per runtime, for the matrix), each on a cluster of its own, with the parameters its widgets take."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .. import lab
from ..notebook import widgets

RUN_NAME = "dp090-mlflow-lab"  # how clean-up recognises the runs `run` submitted
# The same runtime as the bundle's job (bundle.yml, variable spark_version): 17.3 LTS ML, MLflow 3.
SPARK_VERSION = "17.3.x-cpu-ml-scala2.13"
NODE_TYPES = {"azure": "Standard_D4ds_v5", "aws": "m5d.xlarge", "gcp": "n2-standard-4"}


@dataclass(frozen=True)
class LabNotebook:
    """A notebook a learner runs, as deployed: its file here and its path in the workspace."""

    file: Path
    workspace_path: str

    @property
    def task_key(self) -> str:
        """`01-using-mlflow-to-track-experiments` -> `using_mlflow_to_track_experiments`."""
        return re.sub(r"\W+", "_", self.file.stem.split("-", 1)[-1]).strip("_")

    def experiment(self, base: str, runtime: str | None = None) -> str:
        """The notebook's own experiment: `base` for the first notebook, `base-02` for the second, and
        `-<runtime>` for one runtime of the matrix, so that runs that go on at once never share one."""
        name = base if self.file.stem == lab.LAB_NOTEBOOK else f"{base}-{self.file.stem.split('-')[0]}"
        return f"{name}-{runtime}" if runtime else name


def lab_notebooks(folder: str) -> list[LabNotebook]:
    """The notebooks learners run (labtools.lab), as deployed to `folder`: a new notebook comes by itself."""
    return [LabNotebook(file, f"{folder}/{file.stem}") for file in lab.lab_notebooks()]


def single_node_cluster(node_type: str, spark_version: str = SPARK_VERSION) -> dict:
    """A single-node ML cluster, as the bundle's job cluster (resources/lab_job.yml)."""
    return {
        "spark_version": spark_version,
        "node_type_id": node_type,
        "num_workers": 0,
        "spark_conf": {"spark.databricks.cluster.profile": "singleNode", "spark.master": "local[*, 4]"},
        "custom_tags": {"ResourceClass": "SingleNode"},
        "data_security_mode": "SINGLE_USER",
    }


def notebook_task(task_key: str, notebook: LabNotebook, parameters: dict, cluster: dict | str) -> dict:
    """One task: the notebook, the parameters it declares as widgets (others it would refuse), and a
    new cluster (a dict) or an existing one (its id)."""
    declared = widgets.widgets_of_file(notebook.file)
    passed = {name: value for name, value in parameters.items() if name in declared}
    task = {"task_key": task_key,
            "notebook_task": {"notebook_path": notebook.workspace_path, "base_parameters": passed}}  # fmt: skip
    if isinstance(cluster, str):
        task["existing_cluster_id"] = cluster
    else:
        task["new_cluster"] = cluster
    return task


def run_spec(tasks: list[dict], timeout: int) -> dict:
    """The body of `jobs/runs/submit`."""
    # The workspace stops the run after `timeout` seconds too, should this script no longer be watching.
    return {"run_name": RUN_NAME, "timeout_seconds": timeout, "tasks": tasks}
