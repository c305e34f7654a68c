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
SPARK_EXPERIMENT_PATH = "/Users/${workspace.current_user.userName}/dp090-using-mlflow-to-track-experiments-spark-ml"
NOTEBOOK = "../notebooks/01-using-mlflow-to-track-experiments.py"
SPARK_NOTEBOOK = "../notebooks/02-using-mlflow-to-track-experiments-spark-ml.py"
JA_NOTEBOOK = "../notebooks/ja/01-using-mlflow-to-track-experiments.py"
JA_SPARK_NOTEBOOK = "../notebooks/ja/02-using-mlflow-to-track-experiments-spark-ml.py"

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
    clusters = {cluster["job_cluster_key"]: cluster["new_cluster"] for cluster in job["job_clusters"]}
    assert list(clusters) == ["spark_ml_workers", "single_node_ml"]
    spec = clusters["single_node_ml"]
    spark_version = spec["spark_version"]
    if spark_version.startswith("${var."):
        spark_version = config["variables"][spark_version[len("${var.") : -1]]["default"]
    assert "-ml-" in spark_version, f"{spark_version} is not an ML runtime"
    assert spark_version.split(".x")[0] in {"16.4", "17.3"}, f"{spark_version} is not 16.4 or 17.3 LTS"
    assert spec["node_type_id"] == "${var.node_type_id}" and config["variables"]["node_type_id"]["default"]
    assert spec["num_workers"] == 0 and spec["spark_conf"]["spark.databricks.cluster.profile"] == "singleNode"
    # Both notebooks, each its own task; the scikit-learn one always on the single-node cluster.
    tasks = {task["task_key"]: task for task in job["tasks"]}
    assert list(tasks) == ["using_mlflow_to_track_experiments", "num_workers_above_0",
                           "using_mlflow_to_track_experiments_spark_ml",
                           "using_mlflow_to_track_experiments_spark_ml_on_workers"]  # fmt: skip
    first = tasks["using_mlflow_to_track_experiments"]
    assert (first["job_cluster_key"], first["notebook_task"]["notebook_path"]) == ("single_node_ml", NOTEBOOK)
    assert "depends_on" not in first  # the notebooks are independent of each other


def test_the_spark_notebook_runs_on_the_single_node_cluster_or_on_num_workers(config):
    """num_workers 0 (the default): the Spark ML notebook's task on the single-node cluster; more: on a cluster of
    that many workers without the single-node settings. An if/else task picks; the other task is excluded."""
    job = config["resources"]["jobs"]["lab_notebook"]
    assert config["variables"]["num_workers"]["default"] == 0
    clusters = {cluster["job_cluster_key"]: cluster["new_cluster"] for cluster in job["job_clusters"]}
    assert clusters["spark_ml_workers"] == {"spark_version": "${var.spark_version}",
                                            "node_type_id": "${var.node_type_id}", "data_security_mode": "SINGLE_USER",
                                            "num_workers": "${var.num_workers}"}  # fmt: skip
    tasks = {task["task_key"]: task for task in job["tasks"]}
    assert tasks["num_workers_above_0"] == {"task_key": "num_workers_above_0", "condition_task": {
        "op": "GREATER_THAN", "left": "${var.num_workers}", "right": "0"}}  # fmt: skip
    spark_ml = {"notebook_path": SPARK_NOTEBOOK,
                "base_parameters": {"experiment_name": "${resources.experiments.spark_ml_experiment.name}"}}
    for key, outcome, cluster in [
        ("using_mlflow_to_track_experiments_spark_ml", "false", "single_node_ml"),
        ("using_mlflow_to_track_experiments_spark_ml_on_workers", "true", "spark_ml_workers"),
    ]:  # fmt: skip
        assert tasks[key] == {"task_key": key, "job_cluster_key": cluster, "notebook_task": spark_ml, "max_retries": 0,
                              "depends_on": [{"task_key": "num_workers_above_0", "outcome": outcome}]}  # fmt: skip


def test_each_notebook_logs_to_its_own_experiment_resource_whose_deployed_name_its_task_passes(config):
    experiments = config["resources"]["experiments"]
    assert experiments["lab_experiment"]["name"] == EXPERIMENT_PATH
    assert experiments["spark_ml_experiment"]["name"] == SPARK_EXPERIMENT_PATH
    job = config["resources"]["jobs"]["lab_notebook"]
    # A reference, not the path again: development mode prefixes the experiment's name. Per task, not a job
    # parameter, which would override every task's own.
    passed = {task["notebook_task"]["notebook_path"]: task["notebook_task"]["base_parameters"]["experiment_name"]
              for task in job["tasks"] if "notebook_task" in task}  # fmt: skip
    assert passed == {NOTEBOOK: "${resources.experiments.lab_experiment.name}",
                      SPARK_NOTEBOOK: "${resources.experiments.spark_ml_experiment.name}"}  # fmt: skip
    assert [parameter["name"] for parameter in job["parameters"]] == ["data_path"]


def test_the_japanese_job_runs_the_japanese_notebooks_on_the_lab_jobs_cluster_into_the_same_experiments(config):
    jobs = config["resources"]["jobs"]
    job = jobs["lab_notebook_ja"]
    assert [(task["task_key"], task["job_cluster_key"], task["notebook_task"]["notebook_path"],
             task["notebook_task"]["base_parameters"]["experiment_name"]) for task in job["tasks"]] == [
        ("using_mlflow_to_track_experiments_ja", "single_node_ml", JA_NOTEBOOK,
         "${resources.experiments.lab_experiment.name}"),
        ("using_mlflow_to_track_experiments_spark_ml_ja", "single_node_ml", JA_SPARK_NOTEBOOK,
         "${resources.experiments.spark_ml_experiment.name}"),
    ]  # fmt: skip
    # lab_notebook's single-node cluster itself (the anchor), and its job parameters.
    base = {cluster["job_cluster_key"]: cluster["new_cluster"] for cluster in jobs["lab_notebook"]["job_clusters"]}
    assert job["job_clusters"] == [{"job_cluster_key": "single_node_ml", "new_cluster": base["single_node_ml"]}]
    assert job["parameters"] == jobs["lab_notebook"]["parameters"]
    # Each task is its English task's notebook in notebooks/ja/, which the bundle syncs.
    english = {task["notebook_task"]["notebook_path"] for task in jobs["lab_notebook"]["tasks"]
               if "notebook_task" in task}  # fmt: skip
    assert {path.replace("../notebooks/", "../notebooks/ja/") for path in english} == {JA_NOTEBOOK, JA_SPARK_NOTEBOOK}
    assert "notebooks" in config["sync"]["paths"]


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


# What each lab notebook declares (both the same two, blank by default), stated here rather than derived
# with the code under test (labtools.workspace.bundle_check).
LAB_WIDGETS = {"data_path": "", "experiment_name": ""}


def test_both_lab_notebooks_declare_the_two_lab_parameters():
    for name in ["01-using-mlflow-to-track-experiments", "02-using-mlflow-to-track-experiments-spark-ml"]:
        assert widgets.widgets_of_file(ROOT / "notebooks" / f"{name}.py") == LAB_WIDGETS, name


def test_every_notebook_task_gets_exactly_the_two_lab_parameters(config):
    for key, job in config["resources"]["jobs"].items():
        job_parameters = {parameter["name"] for parameter in job.get("parameters", [])}
        tasks = [task for task in job["tasks"] if "notebook_task" in task]
        assert tasks, key
        for task in tasks:
            passed = job_parameters | set(task["notebook_task"].get("base_parameters", {}))
            assert passed == set(LAB_WIDGETS), f"{key}.{task['task_key']} passes {sorted(passed)}"


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


def test_check_reports_a_notebook_outside_the_synced_paths(tmp_path):
    """A notebook the bundle does not upload (sync.paths: notebooks, data) would be missing in the workspace."""
    copy = _copy_bundle(tmp_path)
    (copy / "extra").mkdir()
    shutil.copy(copy / "notebooks" / "01-using-mlflow-to-track-experiments.py", copy / "extra" / "lab.py")
    job_file = _edit_job(copy, lambda job: job["tasks"][0]["notebook_task"].update(notebook_path="../extra/lab.py"))
    assert _problems(copy) == [
        f"{job_file}: resources.jobs.lab_notebook.tasks[0].notebook_task.notebook_path: "
        "../extra/lab.py is outside the synced paths, so it would not be uploaded"
    ]


def test_check_reports_a_parameter_the_notebook_does_not_declare(tmp_path):
    """A job parameter reaches every task: each notebook task that does not declare it is a problem."""
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(copy, lambda job: job["parameters"].append({"name": "learning_rate", "default": "0.1"}))
    problems = _problems(copy)
    assert [problem.split(": passes parameter 'learning_rate', which ")[0] for problem in problems] == [
        f"{job_file}: resources.jobs.lab_notebook.tasks[{index}].notebook_task" for index in (0, 2, 3)]


def test_check_reports_a_parameter_only_the_spark_notebook_lacks(tmp_path):
    """The Spark ML notebook declares its own widgets: a job parameter must be a widget of both notebooks."""
    copy = _copy_bundle(tmp_path)
    spark_notebook = copy / "notebooks" / "02-using-mlflow-to-track-experiments-spark-ml.py"
    spark_notebook.write_text(spark_notebook.read_text().replace('dbutils.widgets.text("data_path", ', 'dbutils.'
                              'widgets.text("trips_path", '))  # fmt: skip
    job_file = copy / "resources" / "lab_job.yml"
    problems = _problems(copy)
    passes = [p for p in problems if ".lab_notebook." in p and "passes parameter 'data_path'" in p]
    assert [problem.split(": passes")[0] for problem in passes] == [
        f"{job_file}: resources.jobs.lab_notebook.tasks[{index}].notebook_task" for index in (2, 3)]
    assert all("does not declare (widgets: ['experiment_name', 'trips_path'])" in problem for problem in passes)


def test_check_reports_a_blank_default_widget_the_job_does_not_pass(tmp_path):
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(
        copy, lambda job: job.update(parameters=[p for p in job["parameters"] if p["name"] != "data_path"])
    )
    assert _problems(copy) == [
        f"{job_file}: resources.jobs.lab_notebook.tasks[{index}].notebook_task: does not pass parameter "
        f"'data_path', which {path} declares with a blank default"
        for index, path in [(0, NOTEBOOK), (2, SPARK_NOTEBOOK), (3, SPARK_NOTEBOOK)]
    ]


def test_check_reports_a_reference_to_an_undeclared_resource(tmp_path):
    copy = _copy_bundle(tmp_path)
    experiment_file = copy / "resources" / "lab_experiment.yml"
    document = yaml.safe_load(experiment_file.read_text())
    experiments = document["resources"]["experiments"]
    experiments["renamed"] = experiments.pop("lab_experiment")
    experiment_file.write_text(yaml.safe_dump(document))
    # Both jobs that log to it (the English and the Japanese) are named, each at its task.
    assert _problems(copy) == [
        f"{copy / 'resources' / 'lab_job.yml'}: "
        f"resources.jobs.{job}.tasks[0].notebook_task.base_parameters.experiment_name: "
        "refers to resources.experiments.lab_experiment, which no file declares"
        for job in ["lab_notebook", "lab_notebook_ja"]
    ]


def test_check_reports_a_reference_to_an_undeclared_variable(tmp_path):
    copy = _copy_bundle(tmp_path)
    document = yaml.safe_load((copy / "bundle.yml").read_text())
    del document["variables"]["num_workers"]
    (copy / "bundle.yml").write_text(yaml.safe_dump(document))
    job_file = copy / "resources" / "lab_job.yml"
    assert _problems(copy) == [
        f"{job_file}: resources.jobs.lab_notebook.job_clusters[0].new_cluster.num_workers: "
        "refers to var.num_workers, which no file declares",
        f"{job_file}: resources.jobs.lab_notebook.tasks[1].condition_task.left: "
        "refers to var.num_workers, which no file declares",
    ]


def test_check_reports_a_dependency_on_a_task_the_job_lacks(tmp_path):
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(copy, lambda job: job["tasks"][2]["depends_on"][0].update(task_key="workers_above_0"))
    assert _problems(copy) == [f"{job_file}: resources.jobs.lab_notebook.tasks[2].depends_on: depends on task "
                               "'workers_above_0', which the job does not have"]  # fmt: skip


# The runtime matrix job: the lab on each LTS ML runtime, each on the single-node cluster of lab_notebook.


def test_the_matrix_job_runs_both_notebooks_on_each_lts_ml_runtime_on_the_lab_jobs_cluster(config):
    from labtools.lab import LTS_ML_RUNTIMES

    jobs = config["resources"]["jobs"]
    variables = {name: variable.get("default") for name, variable in config["variables"].items()}
    base = {cluster["job_cluster_key"]: cluster["new_cluster"] for cluster in jobs["lab_notebook"]["job_clusters"]}
    matrix = jobs["lab_matrix"]
    clusters = {cluster["job_cluster_key"]: cluster["new_cluster"] for cluster in matrix["job_clusters"]}
    runtimes = []
    for cluster in clusters.values():
        # The same settings as lab_notebook's single-node cluster (merged in by the YAML anchor); only the
        # runtime differs.
        assert {k: v for k, v in cluster.items() if k != "spark_version"} == \
            {k: v for k, v in base["single_node_ml"].items() if k != "spark_version"}  # fmt: skip
        key = variables[cluster["spark_version"].removeprefix("${var.").removesuffix("}")]
        assert "-cpu-ml-" in key, key
        runtimes.append(key.split(".x-")[0].removesuffix(".0"))
    assert runtimes == list(LTS_ML_RUNTIMES)
    # Each cluster its own runtime's variable, not spark_version (lab_notebook's, which --var may change).
    assert [cluster["spark_version"] for cluster in clusters.values()] == [
        f"${{var.spark_version_{runtime}}}" for runtime in ["15_4", "16_4", "17_3", "18"]]  # fmt: skip
    # Each runtime's cluster runs both notebooks, each task logging to an experiment of its own, each a
    # resource of the bundle (destroy deletes it); no job-level one, which would override them all.
    assert [(task["task_key"], task["job_cluster_key"], task["notebook_task"]["notebook_path"],
             task["notebook_task"]["base_parameters"]["experiment_name"]) for task in matrix["tasks"]] == [
        (f"{prefix}_on_{runtime}", f"lts_ml_{runtime}", notebook,
         f"${{resources.experiments.{experiment}_{runtime}.name}}")
        for runtime in ["15_4", "16_4", "17_3", "18"]
        for prefix, notebook, experiment in [("lab", NOTEBOOK, "matrix_experiment"),
                                             ("spark_ml", SPARK_NOTEBOOK, "matrix_spark_ml_experiment")]
    ]  # fmt: skip
    assert "experiment_name" not in {parameter["name"] for parameter in matrix.get("parameters", [])}
    assert variables["spark_version"] == variables["spark_version_17_3"]


def test_every_experiment_the_jobs_use_is_named_for_its_notebook_and_runtime(config):
    user = "/Users/${workspace.current_user.userName}/"
    names = {key: experiment["name"].removeprefix(user) for key, experiment in
             config["resources"]["experiments"].items()}  # fmt: skip
    lab = "dp090-using-mlflow-to-track-experiments"
    assert names == {
        "lab_experiment": lab, "spark_ml_experiment": f"{lab}-spark-ml",
        **{f"matrix_experiment_{r.replace('.', '_')}": f"{lab}-matrix-{r}" for r in ["15.4", "16.4", "17.3", "18"]},
        **{f"matrix_spark_ml_experiment_{r.replace('.', '_')}": f"{lab}-spark-ml-matrix-{r}"
           for r in ["15.4", "16.4", "17.3", "18"]},
    }  # fmt: skip


def test_the_clusters_share_their_settings_through_anchors_not_copies():
    text = (ROOT / "resources" / "lab_job.yml").read_text(encoding="utf-8")
    assert text.count("&ml_cluster") == 1 and text.count("<<: *ml_cluster") == 1
    assert text.count("&single_node_ml_cluster") == 1
    assert text.count("<<: *single_node_ml_cluster") == 4
    assert text.count("new_cluster: *single_node_ml_cluster") == 1  # lab_notebook_ja's, as it is
    assert text.count("spark.databricks.cluster.profile") == 1  # the settings are written once
    assert text.count("data_security_mode:") == 1 and text.count("node_type_id:") == 1
    # The CLI merges only an alias (`<<: *name`), not a mapping written in place (`<<: &name {...}`).
    assert "<<: &" not in text


def test_the_runtime_keys_are_variables_in_the_form_a_workspace_lists_and_the_guide_names_them(config):
    """Each runtime of the matrix is a variable a user overrides (--var), whose default the resolver of
    `deploy.py run --runtime` would take for that runtime; the deploy guide lists them, says which are
    unverified, and how to list a workspace's own keys."""
    from labtools.lab import LTS_ML_RUNTIMES
    from labtools.workspace import matrix

    variables = {name: variable.get("default") for name, variable in config["variables"].items()}
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for runtime in LTS_ML_RUNTIMES:
        key = variables[f"spark_version_{runtime.replace('.', '_')}"]
        assert matrix.resolve(runtime, [(key, f"{runtime} LTS ML (includes Apache Spark)")]) == key, key
        assert f"`{key}`" in guide, key
    assert variables["spark_version_18"] == "18.x-cpu-ml-scala2.13"  # the release is "18 LTS", not "18.0"
    assert "databricks clusters spark-versions" in guide and "unverified" in guide
