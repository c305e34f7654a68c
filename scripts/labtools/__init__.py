"""The lab's tooling, imported by the command-line scripts in scripts/; each folder's code runs in one kind of process.

- `lab`, `text`: the lab's names and small text helpers; `kernel_config` (what the runner tells a kernel) and
  `spark_session` (how a local Spark session is built): shared by every kind of process below;
- `notebook/`: the notebook formats (Databricks source, `.dbc` archives, widgets), for the command-line scripts;
- `local/`: the local runner's process (run_lab.py): running the notebooks here against a real MLflow server;
- `kernel/`: inside each notebook's Jupyter kernel, started by the runner: the workspace stand-ins;
- `spark_server/`: serverless mode's Spark Connect server, a process the runner starts;
- `workspace/`: deploy.py's process: deploying the lab to a Databricks workspace.

Imports run one way: `local/` and `workspace/` use `notebook/` (and the top), never each other; `kernel/` and
`spark_server/` use only the top, and the runner names them without importing them; `notebook/` uses only the
top; nothing here imports the scripts (tests/test_layout.py). ARCHITECTURE.md at the project's root has the map.
"""
