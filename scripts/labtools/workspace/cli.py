"""`python scripts/deploy.py ...`: the command line (options, which command, exit status), in the package.

scripts/deploy.py only calls `main`; the tests call it too, in their own process, against the local stand-in of a
workspace (tests/deploy_cli.py). So `main` keeps nothing between calls: the tokens to hide, the log handler and
the root logger's level are its own call's, and it reads the environment when called, as a new process would.
"""

from __future__ import annotations

import argparse
import logging
import sys
from contextlib import contextmanager

from ..lab import (
    LAB_FOLDER,
    LAB_NOTEBOOKS,
    LANGUAGES,
    LTS_ML_RUNTIMES,
    SOURCE_LANGUAGE,
    lab_folder,
)
from . import classroom, commands, connection, matrix, models
from .client import DryRunWorkspace, Workspace
from .errors import DeployError
from .options import CleanUpOptions, DeployOptions, Options, RunOptions
from .spec import MAX_PARALLEL, NODE_TYPES, SERVERLESS_ENVIRONMENT_VERSION, name_problem

DESCRIPTION = "Deploy the DP-090 MLflow lab to Databricks workspaces, run it there, and clean up."

COMMANDS = {"deploy": commands.deploy, "run": commands.run, "clean-up": commands.clean_up}
CLASS_COMMANDS = {"deploy": classroom.deploy, "clean-up": classroom.clean_up}
# `run`'s experiments by default, one per lab notebook (labtools.lab), for the help.
_DEPLOY_EXPERIMENTS = ", ".join(notebook.deploy_experiment for notebook in LAB_NOTEBOOKS)


class Output:
    """What one invocation prints: its lines, and its log records, with every token it knows replaced by ***."""

    def __init__(self, secrets: list[str]):
        self.secrets = secrets

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def say(self, *lines: str, err: bool = False) -> None:
        for line in lines:
            print(self.redact(line), file=sys.stderr if err else sys.stdout, flush=True)


class _RedactingFilter(logging.Filter):
    def __init__(self, output: Output):
        super().__init__()
        self.output = output

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.output.redact(record.getMessage()), None
        return True


@contextmanager
def _log_to_stderr(verbose: bool, output: Output):
    """The SDK's log (its HTTP calls with --verbose, else its warnings) on stderr, redacted, for this call only."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RedactingFilter(output))
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


# --- the command line -------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--profile",
        action="append",
        metavar="NAME",
        help="a ~/.databrickscfg profile; repeat it for several workspaces, handled in turn "
        "(default: DATABRICKS_HOST/DATABRICKS_TOKEN)",
    )
    common.add_argument(
        "--folder", type=_workspace_path, help=f"workspace folder of the lab (default: /Users/<you>/{LAB_FOLDER})"
    )
    common.add_argument("--dry-run", action="store_true", help="print the calls it would make; send nothing")
    common.add_argument("--verbose", action="store_true", help="log the SDK's HTTP calls to stderr (never the token)")
    common.add_argument(
        "--connect-timeout",
        type=_positive_int,
        default=connection.CONNECT_TIMEOUT_SECONDS,
        metavar="S",
        help="seconds a workspace may take to answer at all before it is "
        "reported unreachable (default: %(default)s; more for a slow link)",
    )
    learners = argparse.ArgumentParser(add_help=False)
    who = learners.add_mutually_exclusive_group()
    who.add_argument(
        "--learners",
        metavar="FILE",
        help=f"a class: one learner's e-mail a line (# comments); each gets /Users/<learner>/{LAB_FOLDER}",
    )
    who.add_argument("--group", metavar="NAME", help="a class: the members of this workspace group")
    language = argparse.ArgumentParser(add_help=False)
    language.add_argument(
        "--lang",
        choices=[*LANGUAGES, "all"],
        default=SOURCE_LANGUAGE,
        help=f"the notebooks' language: en into {LAB_FOLDER}, ja (notebooks/ja/) into "
        f"{lab_folder('ja')}, all both (default: %(default)s)",
    )

    main = argparse.ArgumentParser(
        prog="deploy.py",
        description=DESCRIPTION,
        epilog="Run `deploy.py <command> --help` for a command's options; docs/deploy.md has the details.",
    )
    commands = main.add_subparsers(dest="command", required=True, metavar="{deploy,run,clean-up}")
    deploy_command = commands.add_parser(
        "deploy",
        parents=[common, learners, language],
        help="import the notebooks and the lab's data (an edited copy is kept)",
    )
    deploy_command.add_argument(
        "--force",
        action="store_true",
        help="replace notebooks edited in the workspace since they were deployed, each "
        "after saving it beside as '<name> (backup <time>)' (default: keep them)",
    )

    run_command = commands.add_parser("run", parents=[common], help="run the lab notebooks once and wait for them")
    run_command.add_argument(
        "--runtime",
        type=_runtimes,
        metavar="LIST",
        help=f"the matrix: one task per LTS ML runtime, each on its own cluster, at once "
        f"({','.join(LTS_ML_RUNTIMES)} or all); prints a table",
    )
    run_command.add_argument("--cluster-id", help="run on this existing cluster instead of a new job cluster")
    run_command.add_argument(
        "--node-type",
        help="VM type of the new cluster (default: by cloud, "
        + ", ".join(f"{cloud} {node}" for cloud, node in NODE_TYPES.items())
        + ")",
    )
    run_command.add_argument(
        "--num-workers",
        type=_workers,
        default=0,
        metavar="N",
        help="workers of the Spark ML notebook's new cluster, for data beyond one machine "
        "(default: 0, a single-node cluster, as the scikit-learn notebook's)",
    )
    run_command.add_argument(
        "--experiment-name",
        metavar="NAME",
        help=f"the first notebook's MLflow experiment; the Spark ML notebook's is NAME-spark-ml "
        f"(default: /Users/<you>/{_DEPLOY_EXPERIMENTS})",
    )
    run_command.add_argument(
        "--max-parallel",
        type=_positive_count,
        default=MAX_PARALLEL,
        metavar="N",
        help="new clusters running at once; the run says how many clusters and vCPUs it "
        "starts (default: %(default)s, which fits a trial subscription's vCPU quota)",
    )
    run_command.add_argument(
        "--serverless",
        action="store_true",
        help="run the tasks on serverless compute, with no cluster (Databricks Free Edition "
        f"has nothing else): environment version {SERVERLESS_ENVIRONMENT_VERSION}",
    )
    run_command.add_argument("--data-path", help="the notebook's data_path parameter (default: blank)")
    run_command.add_argument(
        "--volume",
        metavar="CATALOG.SCHEMA.VOLUME",
        help="the Unity Catalog volume the Spark ML notebook passes model files through on "
        "serverless compute (its volume parameter; default: blank, the notebook's own "
        "volume in the current catalog and schema, created if need be)",
    )
    run_command.add_argument(
        "--catalog",
        metavar="NAME",
        help="the Unity Catalog catalog the Managing Models notebooks register their models in "
        "(their catalog parameter; default: blank, the session's current catalog)",
    )
    run_command.add_argument(
        "--schema",
        metavar="NAME",
        help="the schema of their models (their schema parameter; default: blank, the "
        f"session's current schema, {models.DEFAULT_SCHEMA})",
    )
    run_command.add_argument(
        "--timeout",
        type=_positive_int,
        default=3600,
        help="seconds to wait for the run before cancelling it (default: 3600)",
    )
    run_command.add_argument("--poll-seconds", type=float, default=15.0, help=argparse.SUPPRESS)

    clean = commands.add_parser(
        "clean-up", parents=[common, learners, language], help="delete the folder and the runs of `run`"
    )
    clean.add_argument("--delete-experiment", action="store_true", help="also delete the lab's MLflow experiment(s)")
    clean.add_argument(
        "--experiment-name",
        metavar="NAME",
        help="the --experiment-name `run` was given: its experiments are deleted (default: /Users/"
        f"<you>/{_DEPLOY_EXPERIMENTS}, their -<runtime> ones)",
    )
    clean.add_argument(
        "--delete-models",
        action="store_true",
        help="also delete the registered models of the Managing Models notebooks in Unity Catalog "
        f"(with their versions and aliases): {models.LAB_UC_MODEL}_<your short user name> and the "
        f"same with {models.SPARK_ML_SUFFIX}, the notebooks' defaults (and `run`'s), and each with "
        f"_ja or {models.MATRIX_SUFFIX}<runtime> (15_4, ...), the bundle's Japanese jobs' and the "
        "runtime matrix's; no other model (one that was never created is skipped)",
    )
    clean.add_argument(
        "--catalog",
        metavar="NAME",
        help="the catalog of --delete-models' models (default: the "
        "workspace's default catalog, a notebook's current one: workspace on Free Edition)",
    )
    clean.add_argument(
        "--schema", metavar="NAME", help=f"the schema of --delete-models' models (default: {models.DEFAULT_SCHEMA})"
    )
    clean.add_argument("--poll-seconds", type=float, default=5.0, help=argparse.SUPPRESS)
    return main


def _runtimes(value: str) -> str:
    try:
        matrix.parse_runtimes(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def _workspace_path(value: str) -> str:
    if not value.startswith("/"):
        raise argparse.ArgumentTypeError(f"{value!r} is not an absolute workspace path like /Users/you@example.com/lab")
    return value.rstrip("/")


def _workers(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of workers (0: a single-node cluster)")
    return int(value)


def _positive_count(value: str) -> int:
    if not value.isdigit() or int(value) == 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of clusters")
    return int(value)


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) == 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of seconds")
    return int(value)


def _name_problem(args: argparse.Namespace) -> str | None:
    """The first option that names a Unity Catalog object as Unity Catalog would refuse it, as "--option: why"."""
    for option in ("volume", "catalog", "schema"):  # each option is the kind of object it names
        value = getattr(args, option, None)
        problem = name_problem(value, option) if value is not None else None
        if problem:
            return f"--{option}: {problem}"
    return None


def options_of(args: argparse.Namespace) -> Options:
    """The command's own options, typed and frozen: all the workspace modules read (never the namespace)."""
    if args.command == "deploy":
        return DeployOptions(
            folder=args.folder, lang=args.lang, learners=args.learners, group=args.group, force=args.force
        )
    if args.command == "run":
        return RunOptions(
            folder=args.folder,
            runtime=args.runtime,
            cluster_id=args.cluster_id,
            node_type=args.node_type,
            num_workers=args.num_workers,
            max_parallel=args.max_parallel,
            experiment_name=args.experiment_name,
            data_path=args.data_path,
            volume=args.volume,
            catalog=args.catalog,
            schema=args.schema,
            timeout=args.timeout,
            poll_seconds=args.poll_seconds,
            serverless=args.serverless,
        )
    return CleanUpOptions(
        folder=args.folder,
        lang=args.lang,
        learners=args.learners,
        group=args.group,
        delete_experiment=args.delete_experiment,
        experiment_name=args.experiment_name,
        delete_models=args.delete_models,
        catalog=args.catalog,
        schema=args.schema,
        poll_seconds=args.poll_seconds,
    )


def main(argv: list[str] | None = None) -> int:
    """The exit status of `deploy.py ARGV` (argparse exits with 2 on bad options, 0 after --help)."""
    cli = parser()
    args = cli.parse_args(argv)
    if getattr(args, "lang", None) == "all" and args.folder:
        cli.error("--lang all puts each language in its own folder; --folder names one: give --lang en or ja")
    if args.command == "clean-up" and (args.catalog or args.schema) and not args.delete_models:
        cli.error("--catalog and --schema say where --delete-models' models are: add --delete-models")
    if args.command == "clean-up" and args.delete_models and (args.learners or args.group):
        cli.error("--delete-models deletes your own models: each learner's are theirs (leave out --learners/--group)")
    problem = _name_problem(args)
    if problem:  # one line naming the option, before anything is contacted (argparse would add its usage)
        print(f"deploy.py {args.command}: {problem}", file=sys.stderr, flush=True)
        return 2
    profiles = args.profile or [None]
    output = Output(connection.tokens(profiles))  # known before anything is contacted or printed
    say = output.say
    options = options_of(args)

    def open_workspace(profile: str | None):
        """The workspace of `profile`: contacted (it says which host, from where), or a dry run that prints calls."""
        if args.dry_run:
            target = connection.find(profile)
            return DryRunWorkspace(target.host if target else None, print_fn=say)
        ws = Workspace(profile, timeout=args.connect_timeout, say=say)
        if ws.client.config.token:
            output.secrets.append(ws.client.config.token)  # e.g. from another credential source
        return ws

    with _log_to_stderr(args.verbose, output):
        try:
            if args.dry_run:
                say(f"Dry run: the calls `{args.command}` would make. Nothing is sent; no credentials are needed.")
            if getattr(options, "learners", None) or getattr(options, "group", None):
                return CLASS_COMMANDS[args.command](open_workspace, profiles, options, say)
            return commands.in_each_workspace(open_workspace, profiles, COMMANDS[args.command], options, say)
        except DeployError as error:
            say(f"deploy.py {args.command}: {error}", err=True)
            return 1
        except KeyboardInterrupt:
            say(f"deploy.py {args.command}: interrupted; a submitted run keeps running (see its run page)", err=True)
            return 130
