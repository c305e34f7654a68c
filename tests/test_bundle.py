"""Offline checks of the Databricks bundle: bundle.yml and resources/*.yml.

No workspace or Databricks CLI is available here, so the bundle is checked against the CLI's JSON
schema (shared tool), against the `databricks-bundles` Python models, and against the notebooks
it runs (labtools.workspace.bundle_check).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from databricks.bundles.jobs import Job

from labtools.notebook import dbsource, widgets
from labtools.workspace import bundle_check

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "bundle.yml"
SCHEMA_TOOL = ROOT.parent / "shared" / "tools" / "validate_bundle_schema.py"
EXPERIMENT_PATH = "/Users/${workspace.current_user.userName}/dp090-using-mlflow-to-track-experiments"

needs_schema_tool = pytest.mark.skipif(
    not SCHEMA_TOOL.is_file(), reason=f"{SCHEMA_TOOL} is absent (shared tools exist only beside the repo)"
)


@pytest.fixture(scope="module")
def files():
    return bundle_check.load(BUNDLE)


@pytest.fixture(scope="module")
def config(files):
    """The files merged the simple way the checks need: resources and the root's other keys."""
    merged = dict(files[0].document)
    merged["resources"] = {}
    for file in files:
        for kind, resources in (file.document.get("resources") or {}).items():
            merged["resources"].setdefault(kind, {}).update(resources)
    return merged


@needs_schema_tool
def test_every_bundle_file_fits_the_official_schema():
    result = subprocess.run(
        [sys.executable, str(SCHEMA_TOOL), "bundle.yml"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    checked = {line.split(":")[0] for line in result.stdout.splitlines() if line.endswith(": ok")}
    expected = {"bundle.yml"} | {f"resources/{path.name}" for path in (ROOT / "resources").glob("*.yml")}
    assert checked == expected and len(expected) >= 3


@needs_schema_tool
def test_the_schema_check_catches_an_unknown_key(tmp_path):
    """The schema check is not vacuous: a misspelt key in an included file fails it, naming file and key."""
    copy = _copy_bundle(tmp_path)
    job_file = copy / "resources" / "lab_job.yml"
    document = yaml.safe_load(job_file.read_text())
    document["resources"]["jobs"]["lab_notebook"]["max_concurent_runs"] = 1
    job_file.write_text(yaml.safe_dump(document))
    result = subprocess.run(
        [sys.executable, str(SCHEMA_TOOL), "bundle.yml"], cwd=copy, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "resources/lab_job.yml" in result.stdout and "max_concurent_runs" in result.stdout


def test_the_root_file_is_bundle_yml_and_includes_resources():
    assert BUNDLE.is_file()
    assert not (ROOT / "databricks.yml").exists(), "ship bundle.yml or databricks.yml, never both"
    assert yaml.safe_load(BUNDLE.read_text())["include"] == ["resources/*.yml"]


def test_sync_uploads_only_the_notebooks_and_their_data(config):
    sync = config["sync"]
    assert sync["paths"] == ["notebooks", "data"]
    synced = [(ROOT / path).resolve() for path in sync["paths"]]
    for local_only in ["tests", "scripts", "docs", ".lab-output", "dist", ".test-output", ".venv"]:
        assert not any((ROOT / local_only).resolve().is_relative_to(path) for path in synced), local_only


def test_all_bundle_checks_pass():
    assert [str(problem) for problem in bundle_check.check(BUNDLE)] == []


def test_every_job_parses_with_the_databricks_bundles_models(files):
    found = bundle_check.jobs(files)
    assert found, "the bundle declares no job"
    for file, key, job in found:
        parsed = Job.from_dict(dict(job))
        assert parsed.tasks, f"{file.path}: resources.jobs.{key} has no tasks"


def test_the_job_runs_the_lab_on_a_single_node_lts_ml_cluster(config):
    job = config["resources"]["jobs"]["lab_notebook"]
    [cluster] = job["job_clusters"]
    spec = cluster["new_cluster"]
    spark_version = spec["spark_version"]
    if spark_version.startswith("${var."):
        spark_version = config["variables"][spark_version[len("${var.") : -1]]["default"]
    assert "-ml-" in spark_version, f"{spark_version} is not an ML runtime"
    assert spark_version.split(".x")[0] in {"16.4", "17.3"}, f"{spark_version} is not 16.4 or 17.3 LTS"
    assert spec["node_type_id"] == "${var.node_type_id}" and config["variables"]["node_type_id"]["default"]
    assert spec["num_workers"] == 0 and spec["spark_conf"]["spark.databricks.cluster.profile"] == "singleNode"
    [task] = job["tasks"]
    assert task["job_cluster_key"] == cluster["job_cluster_key"]
    assert Path(task["notebook_task"]["notebook_path"]).name == "01-using-mlflow-to-track-experiments.py"


def test_the_experiment_is_a_resource_whose_deployed_name_the_job_passes(config):
    key, experiment = "lab_experiment", config["resources"]["experiments"]["lab_experiment"]
    assert experiment["name"] == EXPERIMENT_PATH
    parameters = {p["name"]: p["default"] for p in config["resources"]["jobs"]["lab_notebook"]["parameters"]}
    # A reference, not the path again: development mode prefixes the experiment's name.
    assert parameters["experiment_name"] == f"${{resources.experiments.{key}.name}}"


def test_targets_dev_by_default_and_prod_with_root_path_and_permissions(config):
    targets = config["targets"]
    assert targets["dev"]["mode"] == "development" and targets["dev"]["default"] is True
    assert [name for name, target in targets.items() if target.get("default")] == ["dev"]
    prod = targets["prod"]
    assert prod["mode"] == "production"
    assert prod["workspace"]["root_path"].startswith("/Workspace/Users/${workspace.current_user.userName}/")
    levels = {entry["level"] for entry in prod["permissions"]}
    assert "CAN_MANAGE" in levels and all(
        "user_name" in entry or "group_name" in entry or "service_principal_name" in entry
        for entry in prod["permissions"]
    )


def test_notebook_paths_resolve_to_databricks_notebooks(files):
    tasks = [(file, task) for file, _, job in bundle_check.jobs(files) for _, task in bundle_check.notebook_tasks(job)]
    assert tasks
    for file, task in tasks:
        path = bundle_check.notebook_file(file, task["notebook_task"]["notebook_path"])
        assert path.is_file(), path
        assert path.read_text(encoding="utf-8").split("\n", 1)[0] == dbsource.HEADER, path


def test_job_parameters_are_the_notebooks_widgets(files):
    for file, _, job in bundle_check.jobs(files):
        passed = {parameter["name"] for parameter in job.get("parameters", [])}
        for _, task in bundle_check.notebook_tasks(job):
            passed |= set(task["notebook_task"].get("base_parameters", {}))
            notebook = bundle_check.notebook_file(file, task["notebook_task"]["notebook_path"])
            declared = widgets.widgets_of_file(notebook)
            assert declared, f"{notebook} declares no widgets"
            assert passed <= declared.keys()
            assert {name for name, default in declared.items() if default == ""} <= passed


# The checks must report what is wrong, naming the file and the key or path.


def _copy_bundle(tmp_path: Path) -> Path:
    copy = tmp_path / "bundle"
    copy.mkdir()
    shutil.copy(BUNDLE, copy / "bundle.yml")
    shutil.copytree(ROOT / "resources", copy / "resources")
    for notebook in (ROOT / "notebooks").rglob("*.py"):  # only the notebooks: a running kernel leaves sockets there
        target = copy / notebook.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(notebook, target)
    return copy


def _edit_job(copy: Path, edit) -> Path:
    job_file = copy / "resources" / "lab_job.yml"
    document = yaml.safe_load(job_file.read_text())
    edit(document["resources"]["jobs"]["lab_notebook"])
    job_file.write_text(yaml.safe_dump(document))
    return job_file


def _problems(copy: Path) -> list[str]:
    return [str(problem) for problem in bundle_check.check(copy / "bundle.yml")]


def test_check_reports_an_unknown_key(tmp_path):
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(copy, lambda job: job["tasks"][0]["notebook_task"].update(notebok_params={"a": "b"}))
    [problem] = _problems(copy)
    assert problem.startswith(f"{job_file}: resources.jobs.lab_notebook: ")
    assert "notebok_params" in problem


def test_check_reports_a_notebook_path_that_does_not_exist(tmp_path):
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(
        copy, lambda job: job["tasks"][0]["notebook_task"].update(notebook_path="../notebooks/01-missing.py")
    )
    [problem] = _problems(copy)
    assert problem == (
        f"{job_file}: resources.jobs.lab_notebook.tasks[0].notebook_task.notebook_path: "
        "no notebook at ../notebooks/01-missing.py"
    )


def test_check_reports_a_file_that_is_not_a_notebook(tmp_path):
    copy = _copy_bundle(tmp_path)
    (copy / "notebooks" / "plain.py").write_text("print('no header')\n")
    job_file = _edit_job(
        copy, lambda job: job["tasks"][0]["notebook_task"].update(notebook_path="../notebooks/plain.py")
    )
    [problem] = _problems(copy)
    assert problem.startswith(f"{job_file}: resources.jobs.lab_notebook.tasks[0].notebook_task.notebook_path: ")
    assert "plain.py:1: first line must be exactly '# Databricks notebook source'" in problem


def test_check_reports_a_parameter_the_notebook_does_not_declare(tmp_path):
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(copy, lambda job: job["parameters"].append({"name": "learning_rate", "default": "0.1"}))
    [problem] = _problems(copy)
    assert problem.startswith(f"{job_file}: resources.jobs.lab_notebook.tasks[0].notebook_task: ")
    assert "passes parameter 'learning_rate'" in problem


def test_check_reports_a_blank_default_widget_the_job_does_not_pass(tmp_path):
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(
        copy, lambda job: job.update(parameters=[p for p in job["parameters"] if p["name"] != "data_path"])
    )
    [problem] = _problems(copy)
    assert problem.startswith(f"{job_file}: resources.jobs.lab_notebook.tasks[0].notebook_task: ")
    assert "does not pass parameter 'data_path'" in problem


def test_check_reports_a_reference_to_an_undeclared_resource(tmp_path):
    copy = _copy_bundle(tmp_path)
    experiment_file = copy / "resources" / "lab_experiment.yml"
    document = yaml.safe_load(experiment_file.read_text())
    experiments = document["resources"]["experiments"]
    experiments["renamed"] = experiments.pop("lab_experiment")
    experiment_file.write_text(yaml.safe_dump(document))
    [problem] = _problems(copy)
    assert problem == (
        f"{copy / 'resources' / 'lab_job.yml'}: resources.jobs.lab_notebook.parameters[0].default: "
        "refers to resources.experiments.lab_experiment, which no file declares"
    )


# The runtime matrix job: the lab on each LTS ML runtime, each on the single-node cluster of lab_notebook.


def test_the_matrix_job_runs_each_lts_ml_runtime_on_the_lab_jobs_cluster(config):
    from labtools.lab import LTS_ML_RUNTIMES

    jobs = config["resources"]["jobs"]
    variables = {name: variable.get("default") for name, variable in config["variables"].items()}
    [base] = jobs["lab_notebook"]["job_clusters"]
    matrix = jobs["lab_matrix"]
    clusters = {cluster["job_cluster_key"]: cluster["new_cluster"] for cluster in matrix["job_clusters"]}
    runtimes = []
    for task in matrix["tasks"]:
        cluster = clusters[task["job_cluster_key"]]
        # The same settings as lab_notebook's cluster (merged in by the YAML anchor); only the runtime differs.
        assert {k: v for k, v in cluster.items() if k != "spark_version"} == \
            {k: v for k, v in base["new_cluster"].items() if k != "spark_version"}  # fmt: skip
        key = variables[cluster["spark_version"].removeprefix("${var.").removesuffix("}")]
        assert "-cpu-ml-" in key, key
        runtimes.append(key.split(".x-")[0].removesuffix(".0"))
        assert Path(task["notebook_task"]["notebook_path"]).name == "01-using-mlflow-to-track-experiments.py"
    assert runtimes == list(LTS_ML_RUNTIMES)
    # One experiment per task, each a resource of the bundle (destroy deletes it); no job-level one,
    # which would override them all.
    names = [task["notebook_task"]["base_parameters"]["experiment_name"] for task in matrix["tasks"]]
    assert len(set(names)) == len(names)
    assert all(name.startswith("${resources.experiments.matrix_experiment_") for name in names)
    assert "experiment_name" not in {parameter["name"] for parameter in matrix.get("parameters", [])}
    assert variables["spark_version"] == variables["spark_version_17_3"]


def test_the_matrix_shares_the_cluster_through_an_anchor_not_copies():
    text = (ROOT / "resources" / "lab_job.yml").read_text(encoding="utf-8")
    assert text.count("&single_node_ml_cluster") == 1
    assert text.count("<<: *single_node_ml_cluster") == 4
    assert text.count("spark.databricks.cluster.profile") == 1  # the settings are written once
