"""Offline checks of the bundle (bundle.yml and the files it includes) that the JSON schema cannot make.

The schema (`../shared/tools/validate_bundle_schema.py`) checks each file's keys and types. These
checks look across files and into the notebooks, as `databricks bundle deploy` would only find out
in a workspace:

- each job parses with `databricks.bundles.jobs.Job.from_dict`, which rejects unknown keys;
- each `notebook_path` is a local file whose first line is `# Databricks notebook source`, inside
  the folders the bundle syncs;
- each parameter a job passes is a widget its notebook declares, and each widget whose default is
  blank is passed: a blank default defers to the environment at run time, and a deployed job
  should say what it runs against;
- each `${resources.<type>.<key>...}` reference names a resource the bundle declares, and each
  `${var.<name>}` a variable it declares;
- each task's `depends_on` names a task of the same job.

`check(root_file)` returns `Problem`s; `str(problem)` reads `<file>: <key path>: <message>`.
"""

from __future__ import annotations

import copy
import glob
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..notebook import dbsource, widgets

# The Databricks CLI whose bundle schema the offline checks use (../shared/schemas, `databricks bundle schema`
# of that version): the CI workflow (.github/workflows/lab.yml) installs this one, so that what the tests
# accept is what CI's CLI accepts. tests/test_workflow.py checks that the three agree.
SCHEMA_CLI_VERSION = "1.13.0"

RESOURCE_REFERENCE = re.compile(r"\$\{resources\.([\w-]+)\.([\w-]+)(?:\.[\w.\[\]-]+)?\}")
VARIABLE_REFERENCE = re.compile(r"\$\{var\.([\w-]+)")


@dataclass
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


def jobs(files: list[BundleFile]) -> list[tuple[BundleFile, str, dict]]:
    """`(file, job key, job)` for each job under `resources.jobs` of any file."""
    found = []
    for file in files:
        for key, job in ((file.document.get("resources") or {}).get("jobs") or {}).items():
            found.append((file, key, job or {}))
    return found


def notebook_tasks(job: dict) -> list[tuple[int, dict]]:
    return [(index, task) for index, task in enumerate(job.get("tasks") or []) if task.get("notebook_task")]


def notebook_file(file: BundleFile, notebook_path: str) -> Path:
    """A task's notebook path is relative to the file that declares it, as the CLI resolves it."""
    return (file.path.parent / notebook_path).resolve()


def check(root_file: str | Path) -> list[Problem]:
    files = load(root_file)
    root = Path(root_file).resolve().parent
    sync_paths = [(root / p).resolve() for p in ((files[0].document.get("sync") or {}).get("paths") or ["."])]
    declared = {
        (kind, key)
        for file in files
        for kind, resources in (file.document.get("resources") or {}).items()
        for key in resources or {}
    }
    variables = {name for file in files for name in file.document.get("variables") or {}}
    problems = []
    for file in files:
        problems += _check_references(file, declared, variables)
    for file, key, job in jobs(files):
        problems += _check_job(file, key, job, sync_paths)
    return problems


def _check_references(file: BundleFile, declared: set[tuple[str, str]], variables: set[str]) -> list[Problem]:
    problems = []
    for where, value in _strings(file.document, ""):
        for kind, key in RESOURCE_REFERENCE.findall(value):
            if (kind, key) not in declared:
                message = f"refers to resources.{kind}.{key}, which no file declares"
                problems.append(Problem(str(file.path), where, message))
        for name in VARIABLE_REFERENCE.findall(value):
            if name not in variables:
                problems.append(Problem(str(file.path), where, f"refers to var.{name}, which no file declares"))
    return problems


def _strings(value, where: str):
    """`(key path, text)` for every string in a parsed YAML document (comments are not in it)."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")


def _check_job(file: BundleFile, key: str, job: dict, sync_paths: list[Path]) -> list[Problem]:
    from databricks.bundles.jobs import Job  # imported here: only the bundle checks need it

    where = f"resources.jobs.{key}"
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
            problems.append(Problem(str(file.path), f"{task_where}", f"passes parameter {name!r}, which "
                                    f"{notebook_path} does not declare (widgets: {sorted(declared)})"))  # fmt: skip
        for name in sorted(name for name, default in declared.items() if default == "" and name not in passed):
            problems.append(Problem(str(file.path), f"{task_where}", f"does not pass parameter {name!r}, "
                                    f"which {notebook_path} declares with a blank default"))  # fmt: skip
    return problems
