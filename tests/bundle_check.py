"""Offline checks of the bundle (bundle.yml and the files it includes) that the JSON schema cannot make.

The schema (`../shared/tools/validate_bundle_schema.py`) checks each file's keys and types. These
checks look across files and into the notebooks, as `databricks bundle deploy` would only find out
in a workspace. Resources are read at the top level and under each target (`targets.<t>.resources`,
which the CLI adds to the top-level ones when it deploys target <t>); a job YAML anchors share among
targets is one object once parsed: it is checked once, and reported under the first target's key path.

- each job parses with `databricks.bundles.jobs.Job.from_dict`, which rejects unknown keys;
- each `notebook_path` is a local file whose first line is `# Databricks notebook source`, inside
  the folders the bundle syncs;
- each parameter a job passes is a widget its notebook declares, and each widget whose default is
  blank is passed: a blank default defers to the environment at run time, and a deployed job
  should say what it runs against;
- each `${resources.<type>.<key>...}` reference names a resource the bundle declares where it is used:
  a string under `targets.<t>.` one declared at the top level or in target <t>; a string outside the
  targets one declared at the top level or in every target. Each `${var.<name>}` names a variable it
  declares;
- each task's `depends_on` names a task of the same job, its `job_cluster_key` a cluster of the job's
  `job_clusters`, its `environment_key` an environment of the job's `environments`;
- in a target of `mode: development`, each volume's name holds `${workspace.current_user.short_name}`: that mode
  prefixes jobs, experiments, schemas and more with the user's name, but not volumes (databricks/cli
  bundle/config/mutator/resourcemutator/apply_presets.go has no case for them), so without it two users'
  deploys would make, and their `destroy` delete, one and the same volume;
- no two tasks of a target that can run at once register the same model (the Managing Models notebooks,
  `model_name`; blank: the notebook's default, which is the same in every language): tasks of two jobs, or of one
  job with no depends_on path between them and not on the two branches of one condition task, or any two of a job
  that may run more than once at a time. On one model, each would move the aliases the other is checking. And each
  model a task registers is one `deploy.py clean-up --delete-models` deletes (`models.lab_model_names`);
- a target whose jobs ask for no cluster at all (serverless compute only, as Databricks Free Edition
  has) could not run more than `spec.FREE_EDITION_CONCURRENT_TASKS` tasks at once: per job the most
  tasks of a run none of which waits for another (`most_tasks_at_once`), times its
  `max_concurrent_runs` (1 unless set), summed over the target's jobs.

`check(root_file)` returns `Problem`s; `str(problem)` reads `<file>: <key path>: <message>`.
"""

from __future__ import annotations

import copy
import glob
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from labtools import lab
from labtools.notebook import dbsource, widgets
from labtools.workspace import models
from labtools.workspace.spec import FREE_EDITION_CONCURRENT_TASKS

# The Databricks CLI whose bundle schema the offline checks use (../shared/schemas, `databricks bundle schema`
# of that version): the CI workflow (.github/workflows/lab.yml) installs this one, so that what the tests
# accept is what CI's CLI accepts. tests/test_workflow.py checks that the three agree.
SCHEMA_CLI_VERSION = "1.13.0"

# The CLI's short name of the deploying user (libs/iamutil/user.go GetShortUserName): what keeps a development
# target's volume apart from another user's.
SHORT_NAME = "${workspace.current_user.short_name}"
RESOURCE_REFERENCE = re.compile(r"\$\{resources\.([\w-]+)\.([\w-]+)(?:\.[\w.\[\]-]+)?\}")
VARIABLE_REFERENCE = re.compile(r"\$\{var\.([\w-]+)")
VARIABLE_VALUE = re.compile(r"\$\{var\.([\w-]+)\}")
# The deploying user, for comparing model names: the bundle's `${workspace.current_user.short_name}` is this user's
# short name, and a notebook's default name is made for this user (models.lab_model_name).
SAMPLE_USER = "first.last@example.com"
# A task that names any of these runs on a cluster; one with none of them runs on serverless compute.
CLUSTER_KEYS = ("job_cluster_key", "new_cluster", "existing_cluster_id")


@dataclass(frozen=True)
class Problem:
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}"


@dataclass
class BundleFile:
    path: Path
    document: dict


@dataclass
class FoundJob:
    """A job as declared: its file, its key path (`resources.jobs.<key>` or `targets.<t>.resources.jobs.<key>`,
    the first place it is declared), its key and its settings."""

    file: BundleFile
    where: str
    key: str
    job: dict


@dataclass
class Section:
    """One `resources` mapping: the top level's (target None) or a target's."""

    file: BundleFile
    target: str | None
    where: str
    resources: dict


def load(root_file: str | Path) -> list[BundleFile]:
    """The root file and every file its `include:` globs match, each parsed."""
    root_file = Path(root_file)
    files = [BundleFile(root_file, _load_yaml(root_file))]
    for pattern in files[0].document.get("include") or []:
        for match in sorted(glob.glob(str(root_file.parent / pattern))):
            files.append(BundleFile(Path(match), _load_yaml(Path(match))))
    return files


def _load_yaml(path: Path) -> dict:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(document, dict):
        raise ValueError(f"{path}: a bundle file must be a mapping of keys, not a {type(document).__name__}")
    return document


def targets(files: list[BundleFile]) -> list[str]:
    """Every target any file declares, in the order first declared."""
    return list(dict.fromkeys(name for file in files for name in file.document.get("targets") or {}))


def sections(files: list[BundleFile]) -> list[Section]:
    """Each file's top-level `resources`, then each of its targets' `resources`."""
    found = []
    for file in files:
        found.append(Section(file, None, "resources", file.document.get("resources") or {}))
        for name, target in (file.document.get("targets") or {}).items():
            resources = (target or {}).get("resources") or {}
            found.append(Section(file, name, f"targets.{name}.resources", resources))
    return found


def deployed(files: list[BundleFile], target: str) -> dict[str, dict[str, dict]]:
    """What `databricks bundle deploy -t <target>` deploys, by kind and key: the top-level resources, and the
    target's own over them (a key both declare: the target's settings, whole; the CLI would merge them)."""
    merged: dict[str, dict[str, dict]] = {}
    for section in sorted(sections(files), key=lambda section: section.target is not None):
        if section.target in (None, target):
            for kind, resources in section.resources.items():
                merged.setdefault(kind, {}).update(resources or {})
    return merged


def jobs(files: list[BundleFile]) -> list[FoundJob]:
    """Each job under `resources.jobs` or `targets.<t>.resources.jobs` of any file, once (anchors share one)."""
    found, seen = [], set()
    for section in sections(files):
        for key, job in (section.resources.get("jobs") or {}).items():
            if id(job) not in seen:
                seen.add(id(job))
                found.append(FoundJob(section.file, f"{section.where}.jobs.{key}", key, job or {}))
    return found


def notebook_tasks(job: dict) -> list[tuple[int, dict]]:
    return [(index, task) for index, task in enumerate(job.get("tasks") or []) if task.get("notebook_task")]


def notebook_file(file: BundleFile, notebook_path: str) -> Path:
    """A task's notebook path is relative to the file that declares it, as the CLI resolves it."""
    return (file.path.parent / notebook_path).resolve()


def asks_for_a_cluster(job: dict) -> bool:
    return bool(job.get("job_clusters")) or any(
        task.get(key) for task in job.get("tasks") or [] for key in CLUSTER_KEYS
    )


def _before(job: dict) -> dict[str, set[str]]:
    """Each task's tasks that must end before it starts, directly or not (the transitive closure of depends_on)."""
    keys = [task.get("task_key") for task in job.get("tasks") or []]
    needs = {
        task.get("task_key"): {d.get("task_key") for d in task.get("depends_on") or []} & set(keys)
        for task in job.get("tasks") or []
    }

    def ancestors(key: str) -> set[str]:
        found, stack = set(), [key]
        while stack:
            for need in needs.get(stack.pop(), set()) - found:
                found.add(need)
                stack.append(need)
        return found

    return {key: ancestors(key) for key in keys}


def most_tasks_at_once(job: dict) -> int:
    """The most tasks of one run of the job that can run at once: the largest set of its tasks none of which
    depends, directly or not, on another. By Dilworth's theorem, the tasks less a maximum matching of
    "runs before" (the transitive closure of depends_on) taken as a bipartite graph."""
    keys = [task.get("task_key") for task in job.get("tasks") or []]
    before = _before(job)

    def ancestors(key: str) -> set[str]:
        return before.get(key, set())

    later = {key: [other for other in keys if other != key and key in ancestors(other)] for key in keys}
    matched: dict[str, str] = {}  # a task on the right -> the task before it on the left

    def augment(key: str, visited: set[str]) -> bool:
        for other in later[key]:
            if other not in visited:
                visited.add(other)
                if other not in matched or augment(matched[other], visited):
                    matched[other] = key
                    return True
        return False

    return len(keys) - sum(augment(key, set()) for key in keys)


def check(root_file: str | Path) -> list[Problem]:
    files = load(root_file)
    root = Path(root_file).resolve().parent
    sync_paths = [(root / p).resolve() for p in ((files[0].document.get("sync") or {}).get("paths") or ["."])]
    declared: dict[str | None, set[tuple[str, str]]] = {None: set(), **{name: set() for name in targets(files)}}
    for section in sections(files):
        declared[section.target] |= {(kind, key) for kind, items in section.resources.items() for key in items or {}}
    variables = {name: variable for file in files for name, variable in (file.document.get("variables") or {}).items()}
    problems = []
    for file in files:
        problems += _check_references(file, declared, set(variables))
    for found in jobs(files):
        problems += _check_job(found, sync_paths)
    for target in targets(files):
        problems += _check_serverless_concurrency(files, target, variables)
        problems += _check_model_names(files, target, variables)
        problems += _check_development_volumes(files, target)
    return list(dict.fromkeys(problems))  # a shared object's problem once, under its first key path


def _check_references(
    file: BundleFile, declared: dict[str | None, set[tuple[str, str]]], variables: set[str]
) -> list[Problem]:
    everywhere = (
        set.intersection(*(declared[name] for name in declared if name is not None)) if len(declared) > 1 else set()
    )
    anywhere = set().union(*declared.values())
    seen: dict[int, str] = {}
    strings = [
        (None, where, value)
        for where, value in _strings({key: value for key, value in file.document.items() if key != "targets"}, "", seen)
    ]
    for name, target in (file.document.get("targets") or {}).items():
        strings += [(name, where, value) for where, value in _strings(target, f"targets.{name}", seen)]
    problems = []
    for target, where, value in strings:
        allowed = declared[None] | (declared[target] if target is not None else everywhere)
        for kind, key in dict.fromkeys(RESOURCE_REFERENCE.findall(value)):
            if (kind, key) in allowed:
                continue
            if (kind, key) not in anywhere:
                message = f"refers to resources.{kind}.{key}, which no file declares"
            elif target is not None:
                message = f"refers to resources.{kind}.{key}, which target {target} does not declare"
            else:
                message = f"refers to resources.{kind}.{key}, which not every target declares"
            problems.append(Problem(str(file.path), where, message))
        for name in dict.fromkeys(VARIABLE_REFERENCE.findall(value)):
            if name not in variables:
                problems.append(Problem(str(file.path), where, f"refers to var.{name}, which no file declares"))
    return problems


def _strings(value, where: str, seen: dict[int, str]):
    """`(key path, text)` for every string in a parsed YAML document (comments are not in it). A mapping or list
    met before (a YAML alias of it) keeps the key path it was first met at."""
    if isinstance(value, (dict, list)):
        where = seen.setdefault(id(value), where)
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}" if where else str(key), seen)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]", seen)


def _check_development_volumes(files: list[BundleFile], target: str) -> list[Problem]:
    """A development target's volumes must be named per user: development mode does not prefix volumes."""
    modes = [(file.document.get("targets") or {}).get(target) or {} for file in files]
    if not any(mode.get("mode") == "development" for mode in modes):
        return []
    problems = []
    for section in sections(files):
        if section.target != target and section.target is not None:
            continue
        for key, volume in (section.resources.get("volumes") or {}).items():
            name = (volume or {}).get("name", "")
            if SHORT_NAME not in name:
                message = (
                    f"volume name {name!r} is the same for every user: development mode prefixes no volume "
                    f"(databricks/cli apply_presets.go), so put {SHORT_NAME} in it, or two users' deploys "
                    "share one volume and one's destroy deletes it"
                )
                problems.append(Problem(str(section.file.path), f"{section.where}.volumes.{key}.name", message))
    return problems


def _check_serverless_concurrency(files: list[BundleFile], target: str, variables: dict) -> list[Problem]:
    """A target whose jobs all run on serverless compute must fit Free Edition's limit of tasks at once."""
    deployed_jobs = deployed(files, target).get("jobs") or {}
    if not deployed_jobs or any(asks_for_a_cluster(job or {}) for job in deployed_jobs.values()):
        return []
    counts = {}
    for key, job in deployed_jobs.items():
        runs = (job or {}).get("max_concurrent_runs", 1)
        variable = re.fullmatch(r"\$\{var\.([\w-]+)\}", runs) if isinstance(runs, str) else None
        if variable:  # --var may change it; the default is what a plain deploy gets
            runs = (variables.get(variable.group(1)) or {}).get("default", runs)
        try:
            counts[key] = (most_tasks_at_once(job or {}), int(runs))
        except (TypeError, ValueError):
            counts[key] = (most_tasks_at_once(job or {}), 1)  # not a number: the schema check reports it
    total = sum(tasks * runs for tasks, runs in counts.values())
    if total <= FREE_EDITION_CONCURRENT_TASKS:
        return []
    section = next((s for s in sections(files) if s.target == target and s.resources.get("jobs")), None) or next(
        s for s in sections(files) if s.target is None and s.resources.get("jobs")
    )
    each = ", ".join(f"{key} {tasks} x {runs} runs" for key, (tasks, runs) in counts.items())
    message = (
        f"target {target} runs its jobs on serverless compute only, and they could run {total} tasks at "
        f"once ({each}); Databricks Free Edition runs at most {FREE_EDITION_CONCURRENT_TASKS} job tasks "
        "at once: chain tasks with depends_on or lower max_concurrent_runs"
    )
    return [Problem(str(section.file.path), f"{section.where}.jobs", message)]


def _check_job(found: FoundJob, sync_paths: list[Path]) -> list[Problem]:
    from databricks.bundles.jobs import Job  # imported here: only the bundle checks need it

    file, where, job = found.file, found.where, found.job
    problems = []
    try:
        Job.from_dict(copy.deepcopy(job))  # from_dict may consume keys of what it is given
    except (ValueError, TypeError) as error:
        problems.append(Problem(str(file.path), where, f"not a valid job: {error}"))

    task_keys = {task.get("task_key") for task in job.get("tasks") or []}
    for index, task in enumerate(job.get("tasks") or []):
        for dependency in task.get("depends_on") or []:
            if dependency.get("task_key") not in task_keys:
                message = f"depends on task {dependency.get('task_key')!r}, which the job does not have"
                problems.append(Problem(str(file.path), f"{where}.tasks[{index}].depends_on", message))
    clusters = [cluster.get("job_cluster_key") for cluster in job.get("job_clusters") or []]
    environments = [environment.get("environment_key") for environment in job.get("environments") or []]
    for index, task in enumerate(job.get("tasks") or []):
        for field, names, of in [
            ("job_cluster_key", clusters, "job_clusters"),
            ("environment_key", environments, "environments"),
        ]:
            if field in task and task[field] not in names:
                message = f"{field} {task[field]!r} names none of the job's {of} ({names})"
                problems.append(Problem(str(file.path), f"{where}.tasks[{index}].{field}", message))

    passed_by_job = {parameter.get("name") for parameter in job.get("parameters") or []}
    for index, task in notebook_tasks(job):
        task_where = f"{where}.tasks[{index}].notebook_task"
        notebook_path = task["notebook_task"].get("notebook_path", "")
        path = notebook_file(file, notebook_path)
        if not path.is_file():
            problems.append(Problem(str(file.path), f"{task_where}.notebook_path", f"no notebook at {notebook_path}"))
            continue
        if not any(path.is_relative_to(sync) for sync in sync_paths):
            message = f"{notebook_path} is outside the synced paths, so it would not be uploaded"
            problems.append(Problem(str(file.path), f"{task_where}.notebook_path", message))
        try:
            declared = widgets.widgets_of_file(path)
        except dbsource.NotebookFormatError as error:
            problems.append(Problem(str(file.path), f"{task_where}.notebook_path", f"not a notebook: {error}"))
            continue
        passed = passed_by_job | set((task["notebook_task"].get("base_parameters") or {}).keys())
        for name in sorted(passed - declared.keys()):
            problems.append(
                Problem(
                    str(file.path),
                    f"{task_where}",
                    f"passes parameter {name!r}, which {notebook_path} does not declare (widgets: {sorted(declared)})",
                )
            )
        for name in sorted(name for name, default in declared.items() if default == "" and name not in passed):
            problems.append(
                Problem(
                    str(file.path),
                    f"{task_where}",
                    f"does not pass parameter {name!r}, which {notebook_path} declares with a blank default",
                )
            )
    return problems


@dataclass(frozen=True)
class Registration:
    """A task that registers a model: where it is declared, and the model, (catalog, schema, name), a catalog or
    schema None where the task leaves it to the notebook session's current one (unknown offline: any)."""

    job: FoundJob
    index: int
    task: dict
    model: tuple[str | None, str | None, str]

    @property
    def name(self) -> str:
        catalog, schema, model = self.model
        return f"{catalog or '<current catalog>'}.{schema or '<current schema>'}.{model}"

    def problem(self, message: str) -> Problem:
        return Problem(str(self.job.file.path), f"{self.job.where}.tasks[{self.index}]", message)


def _resolved(text: str, variables: dict) -> str:
    """A parameter's value as deployed for SAMPLE_USER: the user's short name and each variable's default put in."""
    text = text.replace(SHORT_NAME, models.short_user_name(SAMPLE_USER))
    return VARIABLE_VALUE.sub(lambda match: str((variables.get(match[1]) or {}).get("default", match[0])), text)


def _registrations(files: list[BundleFile], target: str, variables: dict) -> tuple[list[Registration], list[Problem]]:
    """The tasks of `target`'s jobs that register a model (their notebook declares `model_name`), with the model,
    and a problem for each model_name that is not a full name catalog.schema.model, as Unity Catalog needs."""
    declared_at = {id(found.job): found for found in jobs(files)}
    found, problems = [], []
    for job in (deployed(files, target).get("jobs") or {}).values():
        for index, task in notebook_tasks(job or {}):
            job_found = declared_at[id(job)]
            path = notebook_file(job_found.file, task["notebook_task"].get("notebook_path", ""))
            try:
                if "model_name" not in widgets.widgets_of_file(path):
                    continue
                notebook = lab.lab_notebook(path.stem)
            except (OSError, dbsource.NotebookFormatError, lab.NotebookListError):
                continue  # _check_job reports a task's notebook that is missing or not a notebook
            parameters = task["notebook_task"].get("base_parameters") or {}
            given = _resolved(str(parameters.get("model_name") or ""), variables)
            if given:
                parts = given.split(".")
                if len(parts) != 3 or not all(parts):
                    problems.append(
                        Registration(job_found, index, task, (None, None, given)).problem(
                            f"model_name {given!r} is not a model's full name catalog.schema.model, "
                            "which Unity Catalog needs"
                        )
                    )
                    continue
                model = tuple(parts)
            else:  # the notebook's default (registry_setup's default_model_name), in its catalog and schema
                default = models.lab_model_name(SAMPLE_USER, "c", "s", notebook.uses_spark).split(".")[2]
                model = (
                    _resolved(str(parameters.get("catalog") or ""), variables) or None,
                    _resolved(str(parameters.get("schema") or ""), variables) or None,
                    default,
                )
            found.append(Registration(job_found, index, task, model))
    return found, problems


def _branches(job: dict) -> dict[str, set[tuple[str, str]]]:
    """The condition outcomes each task runs on, as (condition task, "true" or "false"): its own depends_on's
    `outcome`s and, unless its run_if lets it run after an excluded task, those of the tasks before it."""
    before = _before(job)
    direct = {
        task.get("task_key"): {
            (d.get("task_key"), str(d["outcome"]).lower()) for d in task.get("depends_on") or [] if "outcome" in d
        }
        for task in job.get("tasks") or []
    }
    inherits = {
        task.get("task_key"): task.get("run_if", "ALL_SUCCESS") == "ALL_SUCCESS" for task in job.get("tasks") or []
    }
    return {
        key: direct[key].union(*(direct[other] for other in before[key])) if inherits[key] else direct[key]
        for key in direct
    }


def _at_once(a: Registration, b: Registration) -> bool:
    """Whether the two tasks can run at the same time."""
    if a.job.job is not b.job.job:
        return True
    job = a.job.job
    if str(job.get("max_concurrent_runs", 1)) != "1":
        return True  # two runs of the job: any two of its tasks, a task and itself too
    if a.task is b.task:
        return False
    key_a, key_b = a.task.get("task_key"), b.task.get("task_key")
    before = _before(job)
    if key_a in before[key_b] or key_b in before[key_a]:
        return False
    branches = _branches(job)
    return not any(
        (condition, "false" if outcome == "true" else "true") in branches[key_b]
        for condition, outcome in branches[key_a]
    )


def _same_model(a: Registration, b: Registration) -> bool:
    """The same model, or possibly: a catalog or schema left to the session's current one may be any."""
    return a.model[2] == b.model[2] and all(
        x is None or y is None or x == y for x, y in zip(a.model, b.model, strict=True)
    )


def _check_model_names(files: list[BundleFile], target: str, variables: dict) -> list[Problem]:
    """No two tasks of `target` that can run at once register one model; each model is one clean-up deletes."""
    registrations, problems = _registrations(files, target, variables)
    cleaned = {name.split(".", 2)[2] for name in models.lab_model_names(SAMPLE_USER, "c", "s")}
    for registration in registrations:
        if registration.model[2] not in cleaned:
            problems.append(
                registration.problem(
                    f"registers {registration.name}, which `deploy.py clean-up --delete-models` would not "
                    "delete: name it as scripts/labtools/workspace/models.py's lab_model_name does"
                )
            )
    for later, b in enumerate(registrations):
        for a in registrations[: later + 1]:
            if _same_model(a, b) and _at_once(a, b):
                task = f"{b.job.key}.{b.task.get('task_key')}"
                at_once = (
                    f"{task} can run in two runs at once (max_concurrent_runs), each registering"
                    if a is b
                    else f"{task} can run at the same time as {a.job.key}.{a.task.get('task_key')}: both register"
                )
                problems.append(
                    b.problem(
                        f"{at_once} the model {b.name}, so one would move the aliases the other is checking; give each "
                        "its own model_name (models.lab_model_name: _ja, _matrix_<runtime>)"
                    )
                )
    return problems
