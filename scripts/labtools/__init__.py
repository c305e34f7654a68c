"""The lab's tooling, imported by the command-line scripts in scripts/.

- `lab`, `text`: the lab's names and small text helpers, shared by everything below;
- `notebook/`: the notebook formats (Databricks source, `.dbc` archives, widgets);
- `local/`: running the notebooks on this machine against a real MLflow tracking server;
- `workspace/`: deploying the lab to a Databricks workspace, and the bundle's offline checks.

Imports run one way: `local/` and `workspace/` use `notebook/` (and `lab`, `text`), never each
other; `notebook/` uses only `lab` and `text`; nothing here imports the scripts. ARCHITECTURE.md
at the project's root has the map.
"""
