"""`python scripts/deploy.py ...` in a process of its own, for what only a process shows.

The other deploy tests call the command line's `main` in the test's process (deploy_cli.run_deploy); these run
the script as a user does: its exit status, what reaches its standard streams (never a token, never a
traceback), and that the script's few lines do reach `main`; and that `main`, called in the tests' process,
leaves nothing behind for the next call.
"""

from __future__ import annotations

import logging
import os

from deploy_cli import TOKEN, one_line, run_deploy, run_deploy_process, workspace

ROTATED = "dapi-FAKE-the-token-the-workspace-now-expects"


def test_help_exits_0_and_names_the_commands(home):
    result = run_deploy_process("--help", home=home, token=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: deploy.py ")
    for command in ["deploy", "run", "clean-up"]:
        assert command in result.stdout


def test_a_bad_option_exits_2_with_argparses_message(home):
    result = run_deploy_process("run", "--max-parallel", "0", home=home, token=None)
    assert result.returncode == 2
    assert "--max-parallel: '0' is not a positive number of clusters" in result.stderr


def test_no_credentials_exits_1_with_one_line(home):
    result = run_deploy_process("deploy", home=home, token=None)
    assert result.returncode == 1
    assert "no Databricks credentials" in one_line(result.stderr)


def test_a_refused_token_exits_1_and_neither_token_is_printed_even_in_the_verbose_log(home):
    """The SDK's HTTP log (--verbose) shows the calls; the token sent and the one expected are in neither stream."""
    with workspace(ROTATED) as stub:
        result = run_deploy_process("deploy", "--verbose", host=stub.url, home=home, secrets=[ROTATED])
    assert result.returncode == 1
    assert "authentication failed (HTTP 401)" in result.stderr
    assert "DEBUG databricks.sdk" in result.stderr  # the log is there: the check for the token is not vacuous
    assert stub.requests  # deploy.py did send its token, and the stub refused it
    assert TOKEN not in result.stdout + result.stderr


def test_main_in_this_process_leaves_the_logging_and_the_environment_as_they_were(home):
    """Each in-process call sets up the SDK's log on stderr and its own environment, and takes both away again."""
    root = logging.getLogger()
    before = (list(root.handlers), root.level, dict(os.environ))
    with workspace(ROTATED) as stub:
        refused = run_deploy("deploy", "--verbose", host=stub.url, home=home, secrets=[ROTATED])
    assert refused.returncode == 1 and "DEBUG databricks.sdk" in refused.stderr
    assert (list(root.handlers), root.level, dict(os.environ)) == before
    quiet = run_deploy("deploy", "--dry-run", home=home, token=None)
    assert quiet.returncode == 0 and "DEBUG" not in quiet.stderr, quiet.stderr  # the earlier call's log is gone
