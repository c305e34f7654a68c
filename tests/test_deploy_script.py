"""`python scripts/deploy.py ...` in a process of its own, for what only a process shows.

The other deploy tests call the command line's `main` in the test's process (deploy_cli.run_deploy); these run
the script as a user does: its exit status, what reaches its standard streams (never a token, never a
traceback), and that the script's few lines do reach `main`.
"""

from __future__ import annotations

from deploy_cli import TOKEN, one_line, run_deploy_process, workspace

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
