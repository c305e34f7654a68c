"""scripts/deploy.py as a user runs it, for the tests that run it against tests/workspace_stub.py.

No Databricks workspace is reachable from here: each test starts one or more stubs (local HTTP
servers that stand in for workspaces) and runs deploy.py against them, with a home folder of its own (conftest's
`home`: no ~/.databrickscfg of the machine is read) and recognisable fake tokens.
Whatever deploy.py prints, no token may be in it, and deploy.py never ends in a traceback.

`run_deploy` calls the command line's `main` (labtools/workspace/cli.py, all scripts/deploy.py runs) in the
test's own process, with the environment a user's shell would give it and its output captured: a new
interpreter per call would cost a second of `import databricks.sdk` each, and the suite makes about a hundred.
`run_deploy_process` runs the script itself, for the few tests of what only a process shows (its exit status,
what reaches its standard streams).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

from workspace_stub import WorkspaceStub

from labtools.workspace import cli

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "scripts" / "deploy.py"
TOKEN = "dapi-FAKE-test-token-5f3c9e1b-never-print-me"


@contextmanager
def workspace(token: str = TOKEN, user: str = "learner@example.com", **faults):
    """A running stub; on leaving, every answer it gave must have fit the SDK's types."""
    with WorkspaceStub(token, user, **faults) as stub:
        yield stub
    assert stub.contract_problems == []  # the stub answered every request as the SDK expects


def environment(home: Path, host: str | None, token: str | None) -> dict[str, str]:
    """This process's environment without any Databricks setting of the machine, plus the test's."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABRICKS_", "ARM_", "AZURE_", "GOOGLE_"))
    }
    env.update(HOME=str(home), DATABRICKS_CONFIG_FILE=str(home / ".databrickscfg"))
    if host:
        env["DATABRICKS_HOST"] = host
    if token:
        env["DATABRICKS_TOKEN"] = token
    return env


@contextmanager
def _environ(env: dict[str, str]):
    """os.environ is `env` inside, as the calling test's was after (the SDK and deploy.py read it when called)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _checked(result: subprocess.CompletedProcess, secrets) -> subprocess.CompletedProcess:
    # Whatever happens, no token is shown (the environment's, nor a profile's).
    for secret in (TOKEN, *secrets):
        assert secret not in result.stdout and secret not in result.stderr
    assert "Traceback (most recent call last):" not in result.stderr, result.stderr  # no crash of deploy.py
    return result


def run_deploy(*args, host=None, token=TOKEN, home, secrets=()) -> subprocess.CompletedProcess:
    """`python scripts/deploy.py ARGS`, called in this process: its exit status and what it printed.

    An exception deploy.py lets out (which a user would see as a traceback) fails the test where it is raised.
    """
    args = [str(arg) for arg in args]
    out, err = io.StringIO(), io.StringIO()
    with _environ(environment(home, host, token)), redirect_stdout(out), redirect_stderr(err):
        try:
            status = cli.main(args)
        except SystemExit as end:  # argparse: 2 for bad options, 0 after --help
            status = end.code
    return _checked(
        subprocess.CompletedProcess([sys.executable, str(DEPLOY), *args], status, out.getvalue(), err.getvalue()),
        secrets,
    )


def run_deploy_process(*args, host=None, token=TOKEN, home, secrets=()) -> subprocess.CompletedProcess:
    """`python scripts/deploy.py ARGS` in a process of its own, as a user runs it."""
    command = [sys.executable, str(DEPLOY), *[str(arg) for arg in args]]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
        env=environment(home, host, token),
    )
    return _checked(result, secrets)


def write_profiles(home: Path, profiles: dict) -> None:
    """~/.databrickscfg with one profile per workspace: {name: (host, token)}."""
    (home / ".databrickscfg").write_text(
        "".join(f"[{name}]\nhost = {host}\ntoken = {token}\n\n" for name, (host, token) in profiles.items())
    )


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line error, got:\n{text}"
    return lines[0]
