# Databricks notebook source
# MAGIC %md
# MAGIC # Job summary
# MAGIC
# MAGIC The lab notebooks run this one with `%run ./includes/job_summary` just before they end. It defines
# MAGIC `lab_summary(run_ids)`, the summary a notebook returns to a job that runs it (`dbutils.notebook.exit`):
# MAGIC `deploy.py run --runtime` and the bundle's matrix job read it for each runtime. The lesson does not use it.

# COMMAND ----------

import importlib.metadata
import json
import os
import platform

import mlflow


def lab_summary(run_ids):
    """A JSON summary of this notebook's session: the runtime and library versions it ran with, and each run
    it logged, with its parameters and metrics, read back from the tracking server."""
    libraries = {}
    for package in ["mlflow", "scikit-learn", "pandas", "numpy"]:
        try:
            libraries[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            libraries[package] = None
    try:  # pyspark's own version, which is Spark's: asking the session would start one where none runs yet
        import pyspark

        libraries["spark"] = pyspark.__version__
    except ImportError:
        libraries["spark"] = None
    runs = [mlflow.get_run(run_id) for run_id in run_ids]
    experiment = mlflow.get_experiment(runs[0].info.experiment_id).name if runs else None
    return json.dumps({
        "runtime": os.environ.get("DATABRICKS_RUNTIME_VERSION"),
        "python": platform.python_version(),
        "libraries": libraries,
        "experiment": experiment,
        "runs": [{"run_id": run.info.run_id, "run_name": run.info.run_name, "params": dict(run.data.params),
                  "metrics": dict(run.data.metrics)} for run in runs],
    })
