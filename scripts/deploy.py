#!/usr/bin/env python3
"""Deploy the DP-090 MLflow lab to Databricks workspaces, run it there, and clean up.

For users without the Databricks CLI; it needs only the Python SDK (databricks-sdk). With the CLI,
the bundle (bundle.yml) does the same: see docs/deploy.md.

  python scripts/deploy.py deploy      import the notebooks into /Users/<you>/dp090-mlflow-lab
  python scripts/deploy.py run         run both lab notebooks once, each on a new single-node ML cluster
                                       (run --serverless: on serverless compute, as Databricks Free Edition has it)
  python scripts/deploy.py clean-up    delete the folder and the runs `run` submitted

`deploy --lang ja` imports the Japanese notebooks (notebooks/ja/) into /Users/<you>/dp090-mlflow-lab-ja
instead, `--lang all` both; `clean-up --lang` removes the same folders.

For a class: `deploy --learners FILE` (or `--group NAME`) gives each learner a copy in their own
home folder; `clean-up` with the same option takes them away. `run --runtime 15.4,16.4,17.3,18`
(or `all`) runs the lab on each runtime at once and prints a table. `--profile` may be repeated:
each workspace is handled in turn.

Add --dry-run to any command to print the calls it would make without sending any (no credentials
needed). Authentication is the SDK's unified authentication: DATABRICKS_HOST and DATABRICKS_TOKEN,
or a ~/.databrickscfg profile named with --profile. The token is never printed.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labtools.workspace import cli  # noqa: E402  (the command line lives in the package: tests call it directly)

if __name__ == "__main__":
    raise SystemExit(cli.main())
