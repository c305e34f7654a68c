"""The local runner's process (scripts/run_lab.py): conversion for a Jupyter kernel, its prerequisites, a real
MLflow tracking server (and serverless mode's Spark Connect server), the kernels, the runs table, and the virtual
environments of Databricks ML runtimes' library versions (`runtimes`). What runs inside a kernel is `kernel/`'s."""
