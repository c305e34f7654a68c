"""Loads this repository's pytest plugin (scripts/labtools/local/pytest_plugin.py) without installing it:
`python -m pytest --databricks-notebooks notebooks/`. Installed (`pip install .`), its entry point loads it."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "scripts"))

pytest_plugins = ["labtools.local.pytest_plugin"]
