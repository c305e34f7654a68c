"""scripts/deploy.py as a user runs it, for the tests that run it against tests/workspace_stub.py.

No Databricks workspace is reachable from here: each test starts one or more stubs (local HTTP
servers that stand in for workspaces) and runs deploy.py in a process of its own against them (forked from a
helper that has imported the Databricks SDK: deploy_forkserver.py), with a home folder of its own (conftest's
`home`: no ~/.databrickscfg of the machine is read) and recognisable fake tokens.
Whatever deploy.py prints, no token may be in it, and deploy.py never ends in a traceback.
"""

from __future__ import annotations

import atexit
import functools
import os
from contextlib import contextmanager
from pathlib import Path

from deploy_forkserver import Forkserver
from workspace_stub import WorkspaceStub

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "scripts" / "deploy.py"
TOKEN = "dapi-FAKE-test-token-5f3c9e1b-never-print-me"


@contextmanager
def workspace(token: str = TOKEN, user: str = "learner@example.com", **faults):
    """A running stub; on leaving, every answer it gave must have fit the SDK's types."""
    with WorkspaceStub(token, user, **faults) as stub:
        yield stub
    assert stub.contract_problems == []  # the stub answered every request as the SDK expects


@functools.cache
def _forkserver() -> Forkserver:
    server = Forkserver()
    atexit.register(server.close)
    return server


def run_deploy(*args, host=None, token=TOKEN, home, secrets=()):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABRICKS_", "ARM_", "AZURE_", "GOOGLE_"))}  # fmt: skip
    env.update(HOME=str(home), DATABRICKS_CONFIG_FILE=str(home / ".databrickscfg"))
    if host:
        env["DATABRICKS_HOST"] = host
    if token:
        env["DATABRICKS_TOKEN"] = token
    result = _forkserver().run(DEPLOY, args, env, timeout=180)
    # Whatever happens, no token is shown (the environment's, nor a profile's).
    for secret in (TOKEN, *secrets):
        assert secret not in result.stdout and secret not in result.stderr
    assert "Traceback (most recent call last):" not in result.stderr, result.stderr  # no crash of deploy.py
    return result


def write_profiles(home: Path, profiles: dict) -> None:
    """~/.databrickscfg with one profile per workspace: {name: (host, token)}."""
    (home / ".databrickscfg").write_text(
        "".join(f"[{name}]\nhost = {host}\ntoken = {token}\n\n" for name, (host, token) in profiles.items())
    )


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line error, got:\n{text}"
    return lines[0]
