"""`deploy.py run --runtime 15.4,16.4,17.3,18|all`: the lab on several runtimes of one workspace, at once.

One run, with a task per runtime and lab notebook, each on its own single-node job cluster (the Spark ML
notebook's with `--num-workers` workers, if given), so the runtimes go on side by side. Each runtime's
`spark_version` key comes from the workspace's own list (clusters API, `spark-versions`), not from a
string written here: keys differ between clouds and change with maintenance releases. A runtime the
workspace does not offer is a row saying so; the others still run. A notebook that registers a model (Managing
Models) registers one of its own per runtime (models.lab_model_name, `..._matrix_15_4`), so that the runtimes,
running at once, never move each other's aliases.

Each lab notebook ends by returning a JSON summary (`dbutils.notebook.exit`): the library versions it
met and the runs it logged, with their metrics. The matrix reads it back from each task's output and
prints one row per task: runtime, MLflow / scikit-learn / Spark versions, result, duration, the runs'
r2, the run page; under the table, each failing task's error. A task whose notebook does not end with that
call has no result in a workspace: its row says "(no summary)" and shows nothing the notebook did not say.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .. import lab
from ..text import format_table
from . import models, runs, spec
from .errors import DeployError
from .experiments import restore_deleted, restored_line
from .options import RunOptions


def parse_runtimes(text: str) -> list[str]:
    """`15.4,18` or `all` -> the runtimes, in the project's order; anything else is a one-line error."""
    if text.strip() == "all":
        return list(lab.LTS_ML_RUNTIMES)
    asked = [word.strip() for word in text.split(",") if word.strip()]
    unknown = [word for word in asked if word not in lab.LTS_ML_RUNTIMES]
    if unknown or not asked:
        raise ValueError(
            f"{', '.join(unknown) or repr(text)}: not an LTS ML runtime the lab supports; "
            f"give some of {','.join(lab.LTS_ML_RUNTIMES)}, or all"
        )
    return [runtime for runtime in lab.LTS_ML_RUNTIMES if runtime in asked]


# A CPU ML runtime's key (GPU builds say gpu-ml, standard runtimes no ml), in either of the two forms a
# workspace lists: "17.3.x-cpu-ml-scala2.13" (a release with a minor version) and "18.x-cpu-ml-scala2.13"
# (a release named by its major version alone, "18 LTS").
ML_KEY = re.compile(r"^(?P<major>\d+)\.(?:(?P<minor>\d+)\.)?x-cpu-ml-scala(?P<scala>[\d.]+)$")


def _lts_ml(versions: list[tuple[str, str]]):
    """Each LTS CPU ML runtime of the list, as (its version "17.3" or "18", the key's match, the key)."""
    for key, name in versions:
        match = ML_KEY.match(key)
        if match and " LTS " in f" {name} ":
            yield (f"{match['major']}.{match['minor']}" if match["minor"] else match["major"]), match, key


def resolve(runtime: str, versions: list[tuple[str, str]]) -> str | None:
    """The workspace's key for the LTS ML runtime `runtime` ("16.4", or "18": any 18.x LTS), or None.

    `versions` is the workspace's list, `(key, name)` each. Only LTS builds count (the name says "LTS").
    Where one runtime comes in two Scala builds (16.4: 2.12 and 2.13), the lower is its default; the
    notebooks are Python and run on either. For a major version ("18"), the newest of its LTS releases:
    "18.1.x-..." before "18.x-..." (the release's own key, 18.0), which comes before "18.0.x-...".
    """
    found = []
    for version, match, key in _lts_ml(versions):
        if version == runtime or ("." not in runtime and match["major"] == runtime):
            newest_first = -int(match["minor"] or 0)
            own_key_first = match["minor"] is not None  # False (N.x) sorts before True (N.0.x)
            found.append((newest_first, own_key_first, [int(part) for part in match["scala"].split(".")], key))
    return min(found)[-1] if found else None


def offered(versions: list[tuple[str, str]]) -> list[str]:
    """The LTS ML runtimes a workspace offers, as "17.3" or "18", for the message when one is missing."""
    found = {version for version, _, _ in _lts_ml(versions)}
    return sorted(found, key=lambda version: [int(part) for part in version.split(".")])


# The runs' r2 column of a task that succeeded without returning a summary.
NO_SUMMARY = "(no summary)"


@dataclass
class Row:
    runtime: str
    notebook: str
    spark_version: str = ""
    versions: tuple[str, str, str] = ("", "", "")  # MLflow, scikit-learn, Spark
    result: str = ""
    duration: str = ""
    r2: str = ""
    url: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.result == "SUCCESS"


def run(ws, options: RunOptions, say, notebooks: list[spec.DeployedNotebook], experiments: spec.Experiments) -> int:
    if options.cluster_id:
        raise DeployError("--runtime runs each runtime on a new job cluster of its own; leave out --cluster-id")
    runtimes = parse_runtimes(options.runtime)
    listed = ws.spark_versions()
    keys = {
        runtime: resolve(runtime, listed) if listed is not None else f"<{runtime} LTS ML key>" for runtime in runtimes
    }
    missing = [runtime for runtime, key in keys.items() if not key]
    if missing:
        say(
            f"{ws.host} does not offer the LTS ML runtime {', '.join(missing)} (it offers "
            f"{', '.join(offered(listed)) or 'none'}): the matrix runs without it",
            err=True,
        )
    if len(missing) == len(runtimes):
        raise DeployError(f"{ws.host} offers none of the runtimes asked for ({options.runtime})")
    node_type = options.node_type or spec.NODE_TYPES[ws.cloud()]
    model_name = _model_namer(ws, options, notebooks)
    tasks, rows = [], {}
    for runtime, key in keys.items():
        for notebook in notebooks:
            row = rows[_task_key(notebook, runtime)] = Row(runtime, notebook.stem, key or "")
            if not key:
                row.result, row.error = "NOT OFFERED", f"{ws.host} has no {runtime} LTS ML runtime"
                continue
            parameters = spec.notebook_parameters(
                experiments.of(notebook, runtime),
                options.data_path,
                options.volume,
                model_name=model_name(notebook, runtime),
            )
            cluster = spec.cluster(node_type, key, workers=options.num_workers if notebook.uses_spark else 0)
            tasks.append(spec.notebook_task(_task_key(notebook, runtime), notebook, parameters, cluster))
    names = [experiments.of(notebook, runtime) for runtime, key in keys.items() if key for notebook in notebooks]
    for name in restore_deleted(ws, names):
        say(restored_line(name))
    submitted = spec.run_spec(tasks, options.timeout, options.max_parallel)
    say(spec.compute(submitted["tasks"], options.max_parallel))
    run_id = ws.submit(submitted)
    if ws.dry_run:
        say(
            f"  then GET /api/2.2/jobs/runs/get every {options.poll_seconds:g} s until the run ends, and "
            "GET /api/2.2/jobs/runs/get-output of each task (the notebook's summary, or its error)"
        )
        return 0
    offered_runtimes = ", ".join(runtime for runtime, key in keys.items() if key)
    say(
        f"Submitted run {run_id}: {len(tasks)} tasks, one per runtime ({offered_runtimes}) and notebook "
        f"({', '.join(notebook.stem.split('-')[0] for notebook in notebooks)})"
    )
    ended = runs.wait(ws, run_id, options.timeout, options.poll_seconds, say)
    for task in ended.tasks or []:
        _fill(rows[task.task_key], runs.outcome(ws, task), task)
    say(*table(list(rows.values())).splitlines())
    failed = [row for row in rows.values() if not row.ok]
    for row in failed:
        say(f"{row.runtime} {row.notebook}: {row.error}", err=True)
    return 1 if failed else 0


def _model_namer(ws, options: RunOptions, notebooks: list[spec.DeployedNotebook]):
    """`name(notebook, runtime)`: the model a matrix task of `notebook` registers (None if it registers none).

    Each runtime's its own (models.lab_model_name's `_matrix_<runtime>`): the runtimes run at once, and on one
    model each would move the aliases the others are checking. A full name, in --catalog (default: the
    workspace's default catalog, a notebook's current one) and --schema (default: default)."""
    if not any(notebook.registers_model for notebook in notebooks):
        return lambda notebook, runtime: None
    catalog = options.catalog or ws.default_catalog()
    if not catalog:
        raise DeployError(
            "--runtime: this workspace has no default catalog (no Unity Catalog metastore?) for the "
            "Managing Models notebooks' models: name one with --catalog"
        )
    user, schema = ws.current_user(), options.schema or models.DEFAULT_SCHEMA

    def name(notebook: spec.DeployedNotebook, runtime: str) -> str | None:
        if not notebook.registers_model:
            return None
        return models.lab_model_name(user, catalog, schema, notebook.uses_spark, runtime=runtime)

    return name


def _task_key(notebook: spec.DeployedNotebook, runtime: str) -> str:
    return f"{notebook.task_key}_{runtime.replace('.', '_')}"


def _fill(row: Row, told: runs.TaskOutcome, task) -> None:
    row.result = told.progress.result or told.progress.life
    row.url = task.run_page_url or ""
    milliseconds = (
        task.run_duration
        or task.execution_duration
        or ((task.end_time - task.start_time) if task.end_time and task.start_time else 0)
    )
    row.duration = f"{milliseconds // 60000}:{milliseconds // 1000 % 60:02d}" if milliseconds else ""
    if told.result:
        try:
            summary = read_summary(told.result)
        except ValueError as error:
            row.error = f"the notebook's summary is not what the lab returns: {error}"
            row.result = "BAD SUMMARY"
            return
        libraries = summary["libraries"]
        row.versions = tuple(libraries.get(name) or "" for name in ("mlflow", "scikit-learn", "spark"))
        row.r2 = " ".join(f"{run['metrics']['r2']:.3f}" for run in summary["runs"] if "r2" in run.get("metrics", {}))
    elif row.ok:
        # The task succeeded but returned nothing: its notebook does not end with dbutils.notebook.exit, and
        # nothing is shown that the notebook itself did not say.
        row.r2 = NO_SUMMARY
    if not row.ok:
        row.error = told.error or f"ended {told.progress}"


def read_summary(text: str) -> dict:
    """The JSON a lab notebook passes to dbutils.notebook.exit (notebooks/includes/job_summary.py, lab_summary)."""
    summary = json.loads(text)
    if (
        not isinstance(summary, dict)
        or not isinstance(summary.get("libraries"), dict)
        or not isinstance(summary.get("runs"), list)
    ):
        raise ValueError(f"expected an object with 'libraries' and 'runs', got {text[:80]!r}")
    return summary


def table(rows: list[Row]) -> str:
    header = ["runtime", "notebook", "MLflow", "scikit-learn", "Spark", "result", "duration", "runs' r2", "run page"]
    return format_table(
        header,
        [
            [row.runtime, row.notebook.split("-")[0], *row.versions, row.result, row.duration, row.r2, row.url]
            for row in rows
        ],
    )
