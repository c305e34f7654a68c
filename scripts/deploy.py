#!/usr/bin/env python3
"""Deploy the DP-090 MLflow lab to a Databricks workspace, run it there, and clean up.

For users without the Databricks CLI; it needs only the Python SDK (databricks-sdk). With the CLI,
the bundle (bundle.yml) does the same: see docs/deploy.md.

  python scripts/deploy.py deploy      import the notebooks into /Users/<you>/dp090-mlflow-lab
  python scripts/deploy.py run         run the lab notebook once on a new single-node ML cluster
  python scripts/deploy.py clean-up    delete the folder and the runs `run` submitted

Add --dry-run to any command to print the calls it would make without sending any (no credentials
needed). Authentication is the SDK's unified authentication: DATABRICKS_HOST and DATABRICKS_TOKEN,
or a ~/.databrickscfg profile named with --profile. The token is never printed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labtools.lab import LAB_EXPERIMENT, LAB_FOLDER  # noqa: E402 (needs the path above when run as a script)
from labtools.workspace import commands  # noqa: E402
from labtools.workspace.client import NODE_TYPES, DeployError, DryRunWorkspace, Workspace  # noqa: E402

_secrets: list[str] = []


def redact(text: str) -> str:
    """`text` with any token this process knows replaced by ***."""
    for secret in _secrets:
        text = text.replace(secret, "***")
    return text


def say(*lines: str, err: bool = False) -> None:
    for line in lines:
        print(redact(line), file=sys.stderr if err else sys.stdout, flush=True)


COMMANDS = {"deploy": commands.deploy, "run": commands.run, "clean-up": commands.clean_up}


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True


# --- the command line -------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profile", help="a ~/.databrickscfg profile (default: DATABRICKS_HOST/DATABRICKS_TOKEN)")
    common.add_argument("--folder", type=_workspace_path,
                        help=f"workspace folder of the lab (default: /Users/<you>/{LAB_FOLDER})")  # fmt: skip
    common.add_argument("--dry-run", action="store_true", help="print the calls it would make; send nothing")
    common.add_argument("--verbose", action="store_true", help="log the SDK's HTTP calls to stderr (never the token)")

    main = argparse.ArgumentParser(
        prog="deploy.py", description=__doc__.split("\n\n")[0],
        epilog="Run `deploy.py <command> --help` for a command's options; docs/deploy.md has the details.",
    )  # fmt: skip
    commands = main.add_subparsers(dest="command", required=True, metavar="{deploy,run,clean-up}")
    commands.add_parser("deploy", parents=[common], help="import the notebooks (SOURCE, PYTHON, overwrite)")

    run_command = commands.add_parser("run", parents=[common], help="run the lab notebook once and wait for it")
    run_command.add_argument("--cluster-id", help="run on this existing cluster instead of a new job cluster")
    run_command.add_argument("--node-type", help="VM type of the new cluster (default: by cloud, "
                             + ", ".join(f"{cloud} {node}" for cloud, node in NODE_TYPES.items()) + ")")  # fmt: skip
    run_command.add_argument("--experiment-name", help=f"MLflow experiment (default: /Users/<you>/{LAB_EXPERIMENT})")
    run_command.add_argument("--data-path", help="the notebook's data_path parameter (default: blank)")
    run_command.add_argument("--timeout", type=_positive_int, default=3600,
                             help="seconds to wait for the run before cancelling it (default: 3600)")  # fmt: skip
    run_command.add_argument("--poll-seconds", type=float, default=15.0, help=argparse.SUPPRESS)

    clean = commands.add_parser("clean-up", parents=[common], help="delete the folder and the runs of `run`")
    clean.add_argument("--delete-experiment", action="store_true", help="also delete the lab's MLflow experiment")
    clean.add_argument("--experiment-name", help=f"the experiment to delete (default: /Users/<you>/{LAB_EXPERIMENT})")
    clean.add_argument("--poll-seconds", type=float, default=5.0, help=argparse.SUPPRESS)
    return main


def _workspace_path(value: str) -> str:
    if not value.startswith("/"):
        raise argparse.ArgumentTypeError(f"{value!r} is not an absolute workspace path like /Users/you@example.com/lab")
    return value.rstrip("/")


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) == 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of seconds")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if os.environ.get("DATABRICKS_TOKEN"):
        _secrets.append(os.environ["DATABRICKS_TOKEN"])
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RedactingFilter())
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[handler],
                        format="%(levelname)s %(name)s: %(message)s")  # fmt: skip
    try:
        if args.dry_run:
            say(f"Dry run: the calls `{args.command}` would make. Nothing is sent; no credentials are needed.")
            ws = DryRunWorkspace(os.environ.get("DATABRICKS_HOST"))
        else:
            ws = Workspace(args.profile)
            if ws.client.config.token:
                _secrets.append(ws.client.config.token)  # e.g. from a profile
        return COMMANDS[args.command](ws, args, say)
    except DeployError as error:
        say(f"deploy.py {args.command}: {error}", err=True)
        return 1
    except KeyboardInterrupt:
        say(f"deploy.py {args.command}: interrupted; a submitted run keeps running (see its run page)", err=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
