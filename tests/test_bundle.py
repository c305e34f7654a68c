"""Offline checks of the Databricks bundle: bundle.yml and resources/*.yml.

No workspace or Databricks CLI is available here, so the bundle is checked against the CLI's JSON
schema (shared tool), against the `databricks-bundles` Python models, and against the notebooks
it runs (tests/bundle_check.py).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import bundle_check
import pytest
import yaml
from databricks.bundles.jobs import Job

from labtools import lab
from labtools.notebook import dbsource, widgets
from labtools.workspace import spec

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "bundle.yml"
SCHEMA_TOOL = ROOT.parent / "shared" / "tools" / "validate_bundle_schema.py"
# Where the bundle's experiments are (each lab notebook's default experiment, under its user's folder).
USER_FOLDER = "/Users/${workspace.current_user.userName}/"


def bundle_path(notebook: lab.LabNotebook, lang: str = lab.SOURCE_LANGUAGE) -> str:
    """A declared notebook's path as a task in resources/ names it: `../notebooks/[ja/]<stem>.py`."""
    return "../" + notebook.path(lang).relative_to(ROOT).as_posix()


# The lab's first notebook (scikit-learn) and its Spark ML one, which some checks below are about.
FIRST, SPARK = lab.lab_notebook(lab.LAB_NOTEBOOK), lab.lab_notebook(lab.LAB_SPARK_NOTEBOOK)
NOTEBOOK, SPARK_NOTEBOOK = bundle_path(FIRST), bundle_path(SPARK)
EXPERIMENT_PATH, SPARK_EXPERIMENT_PATH = USER_FOLDER + FIRST.experiment, USER_FOLDER + SPARK.experiment
CLASSIC_TARGETS = ["dev", "ci", "prod"]
CLASSIC_JOBS = {"lab_notebook", "lab_matrix", "lab_notebook_ja"}
SERVERLESS_JOBS = {"lab_serverless", "lab_serverless_ja"}
VOLUME = (
    "${resources.volumes.lab_volume.catalog_name}.${resources.volumes.lab_volume.schema_name}."
    "${resources.volumes.lab_volume.name}"
)
SCHEMA = ROOT.parent / "shared" / "schemas" / "databricks-bundle-config.schema.json"

needs_schema_tool = pytest.mark.skipif(
    not SCHEMA_TOOL.is_file(), reason=f"{SCHEMA_TOOL} is absent (shared tools exist only beside the repo)"
)


@pytest.fixture(scope="module")
def files():
    return bundle_check.load(BUNDLE)


@pytest.fixture(scope="module")
def config(files):
    """The files merged the simple way the checks need: variables, targets and the root's other keys."""
    merged = dict(files[0].document)
    merged["variables"] = {
        name: variable for file in files for name, variable in (file.document.get("variables") or {}).items()
    }
    merged["targets"] = {}
    for file in files:  # a target's settings from bundle.yml, its resources from resources/*.yml
        for name, target in (file.document.get("targets") or {}).items():
            merged["targets"].setdefault(name, {}).update(
                {key: value for key, value in (target or {}).items() if key != "resources"}
            )
    return merged


def deployed(files, target: str) -> dict[str, dict]:
    """A target's resources by kind, as `bundle deploy -t <target>` deploys them: every file's top-level
    resources, then every file's `targets.<target>.resources` over them (written here, not taken from the
    code under test)."""
    resources: dict[str, dict] = {}
    sections = [file.document.get("resources") for file in files] + [
        ((file.document.get("targets") or {}).get(target) or {}).get("resources") for file in files
    ]
    for section in sections:
        for kind, items in (section or {}).items():
            resources.setdefault(kind, {}).update(items or {})
    return resources


@pytest.fixture(scope="module")
def dev(files):
    """What the default target, dev, deploys; ci and prod deploy the same resources."""
    return deployed(files, "dev")


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
    document["targets"]["dev"]["resources"]["jobs"]["lab_notebook"]["max_concurent_runs"] = 1
    job_file.write_text(yaml.safe_dump(document, sort_keys=False))
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
    # Each job once, the classic ones (shared by the classic targets' anchors) at dev's key path.
    assert {job.key: job.where for job in found} == {
        **{key: f"targets.dev.resources.jobs.{key}" for key in CLASSIC_JOBS},
        **{key: f"targets.serverless.resources.jobs.{key}" for key in SERVERLESS_JOBS},
    }
    for job in found:
        parsed = Job.from_dict(dict(job.job))
        assert parsed.tasks, f"{job.file.path}: {job.where} has no tasks"


def test_the_job_runs_the_lab_on_a_single_node_lts_ml_cluster(config, dev):
    job = dev["jobs"]["lab_notebook"]
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
    # Every lab notebook its own task, keyed as labtools.lab says (deploy.py's too); the Spark ML notebook's
    # twice (below); the scikit-learn one always on the single-node cluster.
    tasks = {task["task_key"]: task for task in job["tasks"]}
    assert {notebook.task_key for notebook in lab.LAB_NOTEBOOKS} <= set(tasks)
    first = tasks[FIRST.task_key]
    assert (first["job_cluster_key"], first["notebook_task"]["notebook_path"]) == ("single_node_ml", NOTEBOOK)
    assert "depends_on" not in first  # the notebooks are independent of each other


def test_the_spark_notebook_runs_on_the_single_node_cluster_or_on_num_workers(config, dev):
    """num_workers 0 (the default): the Spark ML notebook's task on the single-node cluster; more: on a cluster of
    that many workers without the single-node settings. An if/else task picks; the other task is excluded."""
    job = dev["jobs"]["lab_notebook"]
    assert config["variables"]["num_workers"]["default"] == 0
    clusters = {cluster["job_cluster_key"]: cluster["new_cluster"] for cluster in job["job_clusters"]}
    assert clusters["spark_ml_workers"] == {
        "spark_version": "${var.spark_version}",
        "node_type_id": "${var.node_type_id}",
        "data_security_mode": "SINGLE_USER",
        "num_workers": "${var.num_workers}",
    }
    tasks = {task["task_key"]: task for task in job["tasks"]}
    assert tasks["num_workers_above_0"] == {
        "task_key": "num_workers_above_0",
        "condition_task": {"op": "GREATER_THAN", "left": "${var.num_workers}", "right": "0"},
    }
    spark_ml = {
        "notebook_path": SPARK_NOTEBOOK,
        "base_parameters": {"experiment_name": "${resources.experiments.spark_ml_experiment.name}", "volume": ""},
    }
    for key, outcome, cluster in [
        (SPARK.task_key, "false", "single_node_ml"),
        (f"{SPARK.task_key}_on_workers", "true", "spark_ml_workers"),
    ]:
        assert tasks[key] == {
            "task_key": key,
            "job_cluster_key": cluster,
            "notebook_task": spark_ml,
            "max_retries": 0,
            "depends_on": [{"task_key": "num_workers_above_0", "outcome": outcome}],
        }


def test_each_notebook_logs_to_its_own_experiment_resource_whose_deployed_name_its_task_passes(dev):
    experiments = dev["experiments"]
    assert experiments["lab_experiment"]["name"] == EXPERIMENT_PATH
    assert experiments["spark_ml_experiment"]["name"] == SPARK_EXPERIMENT_PATH
    job = dev["jobs"]["lab_notebook"]
    # A reference, not the path again: development mode prefixes the experiment's name. Per task, not a job
    # parameter, which would override every task's own.
    passed = {
        task["notebook_task"]["notebook_path"]: task["notebook_task"]["base_parameters"]["experiment_name"]
        for task in job["tasks"]
        if "notebook_task" in task
    }
    assert (passed[NOTEBOOK], passed[SPARK_NOTEBOOK]) == (
        "${resources.experiments.lab_experiment.name}",
        "${resources.experiments.spark_ml_experiment.name}",
    )
    assert [parameter["name"] for parameter in job["parameters"]] == ["data_path"]


def test_the_japanese_job_runs_the_japanese_notebooks_on_the_lab_jobs_cluster_into_the_same_experiments(config, dev):
    jobs = dev["jobs"]
    job = jobs["lab_notebook_ja"]
    english_experiment = {
        task["notebook_task"]["notebook_path"]: task["notebook_task"]["base_parameters"]["experiment_name"]
        for task in jobs["lab_notebook"]["tasks"]
        if "notebook_task" in task
    }
    assert [
        (
            task["task_key"],
            task["job_cluster_key"],
            task["notebook_task"]["notebook_path"],
            task["notebook_task"]["base_parameters"]["experiment_name"],
        )
        for task in job["tasks"]
    ] == [
        (
            f"{notebook.task_key}_ja",
            "single_node_ml",
            bundle_path(notebook, "ja"),
            english_experiment[bundle_path(notebook)],
        )
        for notebook in lab.LAB_NOTEBOOKS
    ]
    # lab_notebook's single-node cluster itself (the anchor), and its job parameters.
    base = {cluster["job_cluster_key"]: cluster["new_cluster"] for cluster in jobs["lab_notebook"]["job_clusters"]}
    assert job["job_clusters"] == [{"job_cluster_key": "single_node_ml", "new_cluster": base["single_node_ml"]}]
    assert job["parameters"] == jobs["lab_notebook"]["parameters"]
    # Each task is its English task's notebook in notebooks/ja/, which the bundle syncs.
    english = {
        task["notebook_task"]["notebook_path"] for task in jobs["lab_notebook"]["tasks"] if "notebook_task" in task
    }
    assert {path.replace("../notebooks/", "../notebooks/ja/") for path in english} == {
        bundle_path(notebook, "ja") for notebook in lab.LAB_NOTEBOOKS
    }
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
    tasks = [
        (found.file, task) for found in bundle_check.jobs(files) for _, task in bundle_check.notebook_tasks(found.job)
    ]
    assert tasks
    for file, task in tasks:
        path = bundle_check.notebook_file(file, task["notebook_task"]["notebook_path"])
        assert path.is_file(), path
        assert path.read_text(encoding="utf-8").split("\n", 1)[0] == dbsource.HEADER, path


# What each lab notebook declares (all blank by default; the Spark ML notebook also the volume mlflow.spark
# stages model files in on serverless compute), stated here rather than derived with the code under test
# (tests/bundle_check.py).
LAB_WIDGETS = {"data_path": "", "experiment_name": ""}
SPARK_WIDGETS = {**LAB_WIDGETS, "volume": ""}


def widgets_of_engine(notebook_path: str) -> dict:
    """The widgets every lab notebook of the engine of the one at a task's `notebook_path` declares (labtools.lab)."""
    engine = lab.lab_notebook(Path(notebook_path).stem).engine
    return SPARK_WIDGETS if engine == "spark" else LAB_WIDGETS


def widgets_of_notebook(notebook_path: str) -> dict:
    """The widgets the lab notebook at a task's `notebook_path` declares: its engine's, and its own (the Managing
    Models notebooks' model_name, catalog, schema, keep_model)."""
    return widgets.widgets_of_file(lab.lab_notebook(Path(notebook_path).stem).path())


@pytest.mark.parametrize("notebook", lab.LAB_NOTEBOOKS, ids=lambda notebook: notebook.stem)
def test_every_lab_notebook_declares_the_lab_parameters(notebook):
    declared = widgets.widgets_of_file(notebook.path())
    engine = widgets_of_engine(bundle_path(notebook))
    assert {name: declared.get(name) for name in engine} == engine
    if notebook.engine != "spark":
        assert "volume" not in declared  # the volume is for mlflow.spark's model files


def test_every_notebook_task_gets_exactly_its_notebooks_parameters(files, config):
    for target in config["targets"]:
        for key, job in deployed(files, target)["jobs"].items():
            job_parameters = {parameter["name"] for parameter in job.get("parameters", [])}
            tasks = [task for task in job["tasks"] if "notebook_task" in task]
            assert tasks, key
            for task in tasks:
                passed = job_parameters | set(task["notebook_task"].get("base_parameters", {}))
                expected = widgets_of_notebook(task["notebook_task"]["notebook_path"])
                assert passed == set(expected), f"{target}: {key}.{task['task_key']} passes {sorted(passed)}"


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


def _edit_job(copy: Path, edit, job="lab_notebook", target="dev", file="lab_job.yml") -> Path:
    """Edits a job of a target in the copy. The classic targets share their jobs (a YAML anchor, one object
    once parsed, written back as an anchor again), so an edit of dev's is an edit of ci's and prod's."""
    job_file = copy / "resources" / file
    document = yaml.safe_load(job_file.read_text())
    edit(document["targets"][target]["resources"]["jobs"][job])
    job_file.write_text(yaml.safe_dump(document, sort_keys=False))
    return job_file


def _problems(copy: Path) -> list[str]:
    return [str(problem) for problem in bundle_check.check(copy / "bundle.yml")]


def test_check_reports_an_unknown_key(tmp_path):
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(copy, lambda job: job["tasks"][0]["notebook_task"].update(notebok_params={"a": "b"}))
    [problem] = _problems(copy)
    assert problem.startswith(f"{job_file}: targets.dev.resources.jobs.lab_notebook: ")
    assert "notebok_params" in problem


def test_check_reports_a_notebook_path_that_does_not_exist(tmp_path):
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(
        copy, lambda job: job["tasks"][0]["notebook_task"].update(notebook_path="../notebooks/01-missing.py")
    )
    [problem] = _problems(copy)
    assert problem == (
        f"{job_file}: targets.dev.resources.jobs.lab_notebook.tasks[0].notebook_task.notebook_path: "
        "no notebook at ../notebooks/01-missing.py"
    )


def test_check_reports_a_file_that_is_not_a_notebook(tmp_path):
    copy = _copy_bundle(tmp_path)
    (copy / "notebooks" / "plain.py").write_text("print('no header')\n")
    job_file = _edit_job(
        copy, lambda job: job["tasks"][0]["notebook_task"].update(notebook_path="../notebooks/plain.py")
    )
    [problem] = _problems(copy)
    where = "targets.dev.resources.jobs.lab_notebook.tasks[0].notebook_task.notebook_path"
    assert problem.startswith(f"{job_file}: {where}: ")
    assert "plain.py:1: first line must be exactly '# Databricks notebook source'" in problem


def test_check_reports_a_notebook_outside_the_synced_paths(tmp_path):
    """A notebook the bundle does not upload (sync.paths: notebooks, data) would be missing in the workspace."""
    copy = _copy_bundle(tmp_path)
    (copy / "extra").mkdir()
    shutil.copy(copy / "notebooks" / f"{FIRST.stem}.py", copy / "extra" / "lab.py")
    job_file = _edit_job(copy, lambda job: job["tasks"][0]["notebook_task"].update(notebook_path="../extra/lab.py"))
    assert _problems(copy) == [
        f"{job_file}: targets.dev.resources.jobs.lab_notebook.tasks[0].notebook_task.notebook_path: "
        "../extra/lab.py is outside the synced paths, so it would not be uploaded"
    ]


def test_check_reports_a_parameter_the_notebook_does_not_declare(tmp_path):
    """A job parameter reaches every task: each notebook task that does not declare it is a problem."""
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(copy, lambda job: job["parameters"].append({"name": "learning_rate", "default": "0.1"}))
    problems = _problems(copy)
    assert [problem.split(": passes parameter 'learning_rate', which ")[0] for problem in problems] == [
        f"{job_file}: targets.dev.resources.jobs.lab_notebook.tasks[{index}].notebook_task"
        for index, _ in _notebook_tasks(job_file)
    ]


def test_check_reports_a_parameter_only_the_spark_notebook_lacks(tmp_path):
    """The Spark ML notebook declares its own widgets: a job parameter must be a widget of both notebooks."""
    copy = _copy_bundle(tmp_path)
    spark_notebook = copy / "notebooks" / f"{SPARK.stem}.py"
    spark_notebook.write_text(
        spark_notebook.read_text().replace('dbutils.widgets.text("data_path", ', 'dbutils.widgets.text("trips_path", ')
    )
    job_file = copy / "resources" / "lab_job.yml"
    problems = _problems(copy)
    passes = [p for p in problems if ".lab_notebook." in p and "passes parameter 'data_path'" in p]
    assert [problem.split(": passes")[0] for problem in passes] == [
        f"{job_file}: targets.dev.resources.jobs.lab_notebook.tasks[{index}].notebook_task" for index in (2, 3)
    ]
    widgets_declared = "does not declare (widgets: ['experiment_name', 'trips_path', 'volume'])"
    assert all(widgets_declared in problem for problem in passes)


def test_check_reports_a_blank_default_widget_the_job_does_not_pass(tmp_path):
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(
        copy, lambda job: job.update(parameters=[p for p in job["parameters"] if p["name"] != "data_path"])
    )
    assert _problems(copy) == [
        f"{job_file}: targets.dev.resources.jobs.lab_notebook.tasks[{index}].notebook_task: does not pass parameter "
        f"'data_path', which {path} declares with a blank default"
        for index, path in _notebook_tasks(job_file)
    ]
    assert [path for _, path in _notebook_tasks(job_file)][:3] == [NOTEBOOK, SPARK_NOTEBOOK, SPARK_NOTEBOOK]


def _notebook_tasks(job_file: Path, job: str = "lab_notebook") -> list[tuple[int, str]]:
    """`(index, notebook_path)` of each notebook task of a dev job in `job_file`, in the job's order."""
    tasks = yaml.safe_load(job_file.read_text())["targets"]["dev"]["resources"]["jobs"][job]["tasks"]
    return [
        (index, task["notebook_task"]["notebook_path"]) for index, task in enumerate(tasks) if "notebook_task" in task
    ]


def test_check_reports_a_reference_to_an_undeclared_resource(tmp_path):
    copy = _copy_bundle(tmp_path)
    experiment_file = copy / "resources" / "lab_experiment.yml"
    document = yaml.safe_load(experiment_file.read_text())
    experiments = document["resources"]["experiments"]
    experiments["renamed"] = experiments.pop("lab_experiment")
    experiment_file.write_text(yaml.safe_dump(document))
    # Every job that logs to it (the English and the Japanese, classic and serverless) is named, each at its
    # task; the classic ones once, at dev's key path, though ci and prod deploy them too.
    assert _problems(copy) == [
        f"{copy / 'resources' / file}: "
        f"targets.{target}.resources.jobs.{job}.tasks[0].notebook_task.base_parameters.experiment_name: "
        "refers to resources.experiments.lab_experiment, which no file declares"
        for file, target, job in [
            ("lab_job.yml", "dev", "lab_notebook"),
            ("lab_job.yml", "dev", "lab_notebook_ja"),
            ("lab_serverless.yml", "serverless", "lab_serverless"),
            ("lab_serverless.yml", "serverless", "lab_serverless_ja"),
        ]
    ]


def test_check_reports_a_reference_to_an_undeclared_variable(tmp_path):
    copy = _copy_bundle(tmp_path)
    document = yaml.safe_load((copy / "bundle.yml").read_text())
    del document["variables"]["num_workers"]
    (copy / "bundle.yml").write_text(yaml.safe_dump(document))
    job_file = copy / "resources" / "lab_job.yml"
    assert _problems(copy) == [
        f"{job_file}: targets.dev.resources.jobs.lab_notebook.job_clusters[0].new_cluster.num_workers: "
        "refers to var.num_workers, which no file declares",
        f"{job_file}: targets.dev.resources.jobs.lab_notebook.tasks[1].condition_task.left: "
        "refers to var.num_workers, which no file declares",
    ]


def test_check_reports_a_dependency_on_a_task_the_job_lacks(tmp_path):
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(copy, lambda job: job["tasks"][4]["depends_on"][0].update(task_key="workers_above_0"))
    assert _problems(copy) == [
        f"{job_file}: targets.dev.resources.jobs.lab_notebook.tasks[4].depends_on: "
        "depends on task 'workers_above_0', which the job does not have"
    ]


# The runtime matrix job: the lab on each LTS ML runtime, each on the single-node cluster of lab_notebook.


def test_the_matrix_job_runs_both_notebooks_on_each_lts_ml_runtime_on_the_lab_jobs_cluster(config, dev):
    from labtools.lab import LTS_ML_RUNTIMES

    jobs = dev["jobs"]
    variables = {name: variable.get("default") for name, variable in config["variables"].items()}
    base = {cluster["job_cluster_key"]: cluster["new_cluster"] for cluster in jobs["lab_notebook"]["job_clusters"]}
    matrix = jobs["lab_matrix"]
    clusters = {cluster["job_cluster_key"]: cluster["new_cluster"] for cluster in matrix["job_clusters"]}
    runtimes = []
    for cluster in clusters.values():
        # The same settings as lab_notebook's single-node cluster (merged in by the YAML anchor); only the
        # runtime differs.
        assert {k: v for k, v in cluster.items() if k != "spark_version"} == {
            k: v for k, v in base["single_node_ml"].items() if k != "spark_version"
        }
        key = variables[cluster["spark_version"].removeprefix("${var.").removesuffix("}")]
        assert "-cpu-ml-" in key, key
        runtimes.append(key.split(".x-")[0].removesuffix(".0"))
    assert runtimes == list(LTS_ML_RUNTIMES)
    # Each cluster its own runtime's variable, not spark_version (lab_notebook's, which --var may change).
    assert [cluster["spark_version"] for cluster in clusters.values()] == [
        f"${{var.spark_version_{runtime}}}" for runtime in ["15_4", "16_4", "17_3", "18"]
    ]
    # Each runtime's cluster runs every lab notebook, each task logging to an experiment of its own (the
    # notebook's default experiment, `-matrix-<runtime>`), each a resource of the bundle (destroy deletes it);
    # no job-level one, which would override them all.
    assert [
        (
            task["job_cluster_key"],
            task["notebook_task"]["notebook_path"],
            experiment_of(dev, task["notebook_task"]["base_parameters"]["experiment_name"]),
        )
        for task in matrix["tasks"]
    ] == [
        (
            f"lts_ml_{runtime.replace('.', '_')}",
            bundle_path(notebook),
            f"{USER_FOLDER}{notebook.experiment}-matrix-{runtime}",
        )
        for runtime in LTS_ML_RUNTIMES
        for notebook in lab.LAB_NOTEBOOKS
    ]
    assert len({task["task_key"] for task in matrix["tasks"]}) == len(matrix["tasks"])
    assert "experiment_name" not in {parameter["name"] for parameter in matrix.get("parameters", [])}
    assert variables["spark_version"] == variables["spark_version_17_3"]


def test_every_experiment_the_jobs_use_is_named_for_its_notebook_and_runtime(files):
    """Each classic target: each lab notebook's default experiment (labtools.lab) and the matrix's, one per runtime;
    the serverless target (no runtime matrix): the defaults only. Nothing else."""
    defaults = {notebook.experiment for notebook in lab.LAB_NOTEBOOKS}
    matrix = {
        f"{notebook.experiment}-matrix-{runtime}" for notebook in lab.LAB_NOTEBOOKS for runtime in lab.LTS_ML_RUNTIMES
    }
    for target, expected in [*((t, defaults | matrix) for t in CLASSIC_TARGETS), ("serverless", defaults)]:
        names = [experiment["name"] for experiment in deployed(files, target)["experiments"].values()]
        assert sorted(names) == sorted(USER_FOLDER + name for name in expected), target


def experiment_of(resources: dict, reference: str) -> str:
    """The name of the experiment `${resources.experiments.<key>.name}` refers to, in a target's resources."""
    key = reference.removeprefix("${resources.experiments.").removesuffix(".name}")
    assert reference == f"${{resources.experiments.{key}.name}}", reference
    return resources["experiments"][key]["name"]


def test_every_job_runs_every_declared_lab_notebook_and_logs_to_its_experiment(files, config):
    """The notebook list has one owner, labtools.lab: in every target, every job that runs lab notebooks runs each
    declared one in one language (per runtime, for a matrix), passing the experiment resource named after the
    notebook's default experiment (`-matrix-<runtime>` added for a matrix's task), and runs nothing else."""
    for target in config["targets"]:
        resources = deployed(files, target)
        for key, job in resources["jobs"].items():
            seen, langs, runtimes = set(), set(), {None}
            for task in job["tasks"]:
                if "notebook_task" not in task:
                    continue
                path = Path(task["notebook_task"]["notebook_path"])
                lang = path.parent.name if path.parent.name in lab.TRANSLATIONS else lab.SOURCE_LANGUAGE
                notebook = lab.lab_notebook(path.stem)  # an undeclared notebook fails here, naming its file
                assert task["notebook_task"]["notebook_path"] == bundle_path(notebook, lang), (target, key, path)
                experiment = experiment_of(resources, task["notebook_task"]["base_parameters"]["experiment_name"])
                suffix = experiment.removeprefix(USER_FOLDER + notebook.experiment)
                runtime = suffix.removeprefix("-matrix-") if suffix else None
                assert runtime is None or runtime in lab.LTS_ML_RUNTIMES, f"{target}: {key}.{task['task_key']}"
                seen.add((notebook.stem, runtime))
                langs.add(lang)
                runtimes = runtimes - {None} | {runtime} if runtime else runtimes
            assert len(langs) == 1, f"{target}: {key} mixes languages {sorted(langs)}"
            expected = {(notebook.stem, runtime) for notebook in lab.LAB_NOTEBOOKS for runtime in runtimes}
            assert seen == expected, f"{target}: {key} lacks {sorted(expected - seen, key=str)}"


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


# The serverless target (resources/lab_serverless.yml): Databricks Free Edition has serverless compute only.


def _asks_for_a_cluster(job: dict) -> bool:
    cluster_keys = ("job_cluster_key", "new_cluster", "existing_cluster_id")
    return bool(job.get("job_clusters")) or any(key in task for task in job["tasks"] for key in cluster_keys)


def test_the_serverless_target_deploys_no_job_with_a_cluster_and_the_classic_targets_the_classic_jobs(files, config):
    assert list(config["targets"]) == [*CLASSIC_TARGETS, "serverless"]
    serverless = deployed(files, "serverless")
    assert set(serverless["jobs"]) == SERVERLESS_JOBS
    for key, job in serverless["jobs"].items():
        assert not _asks_for_a_cluster(job), key
        assert all("environment_key" in task for task in job["tasks"]), key
    assert set(serverless["volumes"]) == {"lab_volume"}
    for target in CLASSIC_TARGETS:
        classic = deployed(files, target)
        assert set(classic["jobs"]) == CLASSIC_JOBS, target
        assert all(_asks_for_a_cluster(job) for job in classic["jobs"].values()), target
        assert "volumes" not in classic, target  # the volume is serverless' alone
    # The classic targets deploy the very same jobs: one anchor, not three copies that could drift.
    jobs_file = next(file for file in files if file.path.name == "lab_job.yml").document
    assert (
        jobs_file["targets"]["dev"]["resources"]
        is jobs_file["targets"]["ci"]["resources"]
        is jobs_file["targets"]["prod"]["resources"]
    )


def _defaults(config) -> dict:
    return {name: variable.get("default") for name, variable in config["variables"].items()}


def _resolve(value, variables: dict):
    """A value with each `${var.<name>}` that is a whole string replaced by the variable's default."""
    if isinstance(value, dict):
        return {key: _resolve(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, variables) for item in value]
    if isinstance(value, str) and value.startswith("${var.") and value.endswith("}"):
        return variables[value[len("${var.") : -1]]
    return value


def test_the_serverless_jobs_run_in_deploy_pys_environment_and_pass_the_volume(files, config):
    """`databricks bundle run lab_serverless` and `deploy.py run --serverless` run the same environment; every
    task names it; the Spark ML notebook gets the volume (catalog.schema.name) mlflow.spark needs there."""
    jobs = deployed(files, "serverless")["jobs"]
    for key in sorted(SERVERLESS_JOBS):
        job = jobs[key]
        assert _resolve(job["environments"], _defaults(config)) == [spec.serverless_environment()], key
        environments = {environment["environment_key"] for environment in job["environments"]}
        assert {task["environment_key"] for task in job["tasks"]} <= environments, key
        spark = [
            task
            for task in job["tasks"]
            if lab.lab_notebook(Path(task["notebook_task"]["notebook_path"]).stem).uses_spark
        ]
        assert len(spark) == sum(notebook.uses_spark for notebook in lab.LAB_NOTEBOOKS) >= 1, key
        assert all(task["notebook_task"]["base_parameters"]["volume"] == VOLUME for task in spark), key


@pytest.mark.skipif(not SCHEMA.is_file(), reason=f"{SCHEMA} is absent (shared schemas exist only beside the repo)")
def test_the_volume_has_the_keys_the_schema_requires_and_is_managed(files):
    import json

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    definition = schema["$defs"]["github.com"]["databricks"]["cli"]["bundle"]["config"]["resources.Volume"]
    required = set(definition["oneOf"][0]["required"])
    assert required == {"catalog_name", "schema_name", "name"}
    volume = deployed(files, "serverless")["volumes"]["lab_volume"]
    assert required <= set(volume), sorted(required - set(volume))
    assert volume["volume_type"] == "MANAGED"  # Unity Catalog keeps its files: destroy deletes them
    assert (volume["catalog_name"], volume["schema_name"]) == ("${var.catalog}", "${var.schema}")


def test_the_volume_is_the_deploying_users_own_and_not_the_one_notebook_02_makes_by_hand(files):
    """Development mode prefixes no volume (databricks/cli apply_presets.go), so the name carries the CLI's short
    name of the user, and the target: not dp090_mlflow_lab_<short name>, the volume notebook 02 creates when run by
    hand with its volume blank (a learner who did that can still deploy), nor another user's."""
    name = deployed(files, "serverless")["volumes"]["lab_volume"]["name"]
    assert name == "dp090_mlflow_lab_${workspace.current_user.short_name}_${bundle.target}"

    def resolved(short_name: str) -> str:
        return name.replace("${workspace.current_user.short_name}", short_name).replace(
            "${bundle.target}", "serverless"
        )

    assert resolved("first_last") == "dp090_mlflow_lab_first_last_serverless"
    assert resolved("first_last") not in {"dp090_mlflow_lab_first_last", resolved("other_user")}


def test_check_reports_a_development_targets_volume_named_the_same_for_every_user(tmp_path):
    copy = _copy_bundle(tmp_path)
    path = copy / "resources" / "lab_serverless.yml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["targets"]["serverless"]["resources"]["volumes"]["lab_volume"]["name"] = "dp090_mlflow_lab"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    assert _problems(copy) == [
        f"{path}: targets.serverless.resources.volumes.lab_volume.name: volume name 'dp090_mlflow_lab' is the same "
        "for every user: development mode prefixes no volume (databricks/cli apply_presets.go), so put "
        "${workspace.current_user.short_name} in it, or two users' deploys share one volume and one's destroy "
        "deletes it"
    ]


def test_the_volumes_catalog_and_schema_default_to_free_editions_workspace_catalog(config):
    """Free Edition gives every user the catalog `workspace` and its schema `default`."""
    variables = _defaults(config)
    assert (variables["catalog"], variables["schema"]) == ("workspace", "default")


def test_check_reports_an_environment_key_the_job_does_not_declare(tmp_path):
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(
        copy,
        lambda job: job["tasks"][1].update(environment_key="labs"),
        job="lab_serverless",
        target="serverless",
        file="lab_serverless.yml",
    )
    assert _problems(copy) == [
        f"{job_file}: targets.serverless.resources.jobs.lab_serverless.tasks[1]."
        "environment_key: environment_key 'labs' names none of the job's environments "
        "(['lab'])"
    ]


def test_check_reports_a_job_cluster_key_the_job_does_not_declare(tmp_path):
    """Reported once, at dev's key path, though ci and prod deploy the same job."""
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(copy, lambda job: job["tasks"][0].update(job_cluster_key="single_node"))
    assert _problems(copy) == [
        f"{job_file}: targets.dev.resources.jobs.lab_notebook.tasks[0].job_cluster_key: "
        "job_cluster_key 'single_node' names none of the job's job_clusters "
        "(['spark_ml_workers', 'single_node_ml'])"
    ]


def test_check_reports_a_serverless_target_that_could_run_more_than_free_editions_tasks_at_once(tmp_path):
    """Free Edition runs at most 5 job tasks at once. Without its depends_on, lab_serverless runs its 2 tasks at
    once; 2 runs at once of it and 1 task of lab_serverless_ja make 5, which fits; 3 runs make 7, which do not."""
    assert spec.FREE_EDITION_CONCURRENT_TASKS == 5
    copy = _copy_bundle(tmp_path)

    def parallel(runs):
        def edit(job):
            job["tasks"][1].pop("depends_on", None)
            job["max_concurrent_runs"] = runs

        return edit

    def tasks_at_once():  # two runs at once of a job also register its models twice at once: another check's
        return [problem for problem in _problems(copy) if "register" not in problem]

    _edit_job(copy, parallel(2), job="lab_serverless", target="serverless", file="lab_serverless.yml")
    assert tasks_at_once() == []
    job_file = _edit_job(copy, parallel(3), job="lab_serverless", target="serverless", file="lab_serverless.yml")
    assert tasks_at_once() == [
        f"{job_file}: targets.serverless.resources.jobs: target serverless runs its jobs on serverless compute "
        "only, and they could run 7 tasks at once (lab_serverless 2 x 3 runs, lab_serverless_ja 1 x 1 runs); "
        "Databricks Free Edition runs at most 5 job tasks at once: chain tasks with depends_on or lower "
        "max_concurrent_runs"
    ]


def test_check_reports_a_serverless_job_referring_to_a_resource_only_the_classic_targets_declare(tmp_path):
    """The matrix's experiments exist in the classic targets only: a serverless job cannot log to them."""
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(
        copy,
        lambda job: job["tasks"][0]["notebook_task"]["base_parameters"].update(
            experiment_name="${resources.experiments.matrix_experiment_18.name}"
        ),
        job="lab_serverless",
        target="serverless",
        file="lab_serverless.yml",
    )
    assert _problems(copy) == [
        f"{job_file}: targets.serverless.resources.jobs.lab_serverless.tasks[0].notebook_task.base_parameters."
        "experiment_name: refers to resources.experiments.matrix_experiment_18, which target serverless does not "
        "declare"
    ]


# Registered models: no two tasks that can run at once on one model (each would move the other's aliases).

ADVICE = (
    "so one would move the aliases the other is checking; give each its own model_name "
    "(models.lab_model_name: _ja, _matrix_<runtime>)"
)


def test_the_japanese_jobs_register_models_of_their_own_which_clean_up_deletes(files):
    """lab_notebook_ja and lab_serverless_ja may run while the English jobs do: their Managing Models tasks register
    `_ja` models (models.lab_model_name), in var.catalog.var.schema, the English parameters otherwise."""
    from labtools.workspace import models

    for target, job_key, english_key in [
        ("dev", "lab_notebook_ja", "lab_notebook"),
        ("serverless", "lab_serverless_ja", "lab_serverless"),
    ]:
        jobs = deployed(files, target)["jobs"]
        english = {
            task["notebook_task"]["notebook_path"].replace("/notebooks/", "/notebooks/ja/"): task["notebook_task"][
                "base_parameters"
            ]
            for task in jobs[english_key]["tasks"]
            if "model_name" in task.get("notebook_task", {}).get("base_parameters", {})
        }
        registering = [
            task for task in jobs[job_key]["tasks"] if "model_name" in task["notebook_task"].get("base_parameters", {})
        ]
        assert len(registering) == len(english) == 2, (target, job_key)
        for task in registering:
            parameters = task["notebook_task"]["base_parameters"]
            notebook = lab.lab_notebook(Path(task["notebook_task"]["notebook_path"]).stem)
            expected = models.lab_model_name("u@x", "${var.catalog}", "${var.schema}", notebook.uses_spark, lang="ja")
            assert parameters["model_name"] == expected.replace("_u_", "_${workspace.current_user.short_name}_")
            english_parameters = english[task["notebook_task"]["notebook_path"]]
            assert {**parameters, "model_name": ""} == {**english_parameters, "model_name": ""}, task["task_key"]


def test_check_reports_two_jobs_that_register_one_model(tmp_path):
    """Without a model_name, a Japanese notebook registers the English one's default model (the same code)."""
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(
        copy,
        lambda job: job["tasks"][2]["notebook_task"]["base_parameters"].update(model_name=""),
        job="lab_serverless_ja",
        target="serverless",
        file="lab_serverless.yml",
    )
    assert _problems(copy) == [
        f"{job_file}: targets.serverless.resources.jobs.lab_serverless_ja.tasks[2]: "
        "lab_serverless_ja.managing_models_ja can run at the same time as lab_serverless.managing_models: both "
        "register the model "
        f"workspace.default.dp090_nyc_taxi_first_last, {ADVICE}"
    ]


def test_check_reports_two_tasks_of_one_job_with_no_path_between_them(tmp_path):
    """Two runtimes of the matrix on one model: their tasks wait for no one another. A blank catalog (the session's
    current one) may be any catalog, so a default name there meets the same name in var.catalog too."""
    copy = _copy_bundle(tmp_path)

    def same_model(job):
        fifteen = job["tasks"][2]["notebook_task"]["base_parameters"]["model_name"]
        job["tasks"][6]["notebook_task"]["base_parameters"]["model_name"] = fifteen

    job_file = _edit_job(copy, same_model, job="lab_matrix")
    assert _problems(copy) == [
        f"{job_file}: targets.dev.resources.jobs.lab_matrix.tasks[6]: lab_matrix.managing_models_on_16_4 can run at "
        "the same time as lab_matrix.managing_models_on_15_4: both register the model "
        f"workspace.default.dp090_nyc_taxi_first_last_matrix_15_4, {ADVICE}"
    ]

    (tmp_path / "blank").mkdir()
    copy = _copy_bundle(tmp_path / "blank")
    _edit_job(
        copy,
        lambda job: job["tasks"][2]["notebook_task"]["base_parameters"].update(
            model_name="${var.catalog}.${var.schema}.dp090_nyc_taxi_${workspace.current_user.short_name}"
        ),
        job="lab_notebook_ja",
    )
    [problem] = _problems(copy)
    assert (
        "can run at the same time as lab_notebook.managing_models: both register the model "
        "workspace.default.dp090_nyc_taxi_first_last," in problem
    )


def test_check_holds_tasks_in_order_or_on_two_branches_apart_but_not_two_runs_at_once(tmp_path):
    """Tasks one after the other, or on the two outcomes of one condition (lab_notebook's Spark ML notebook on a
    single node or on workers), never run together; with max_concurrent_runs 2 every task may meet itself."""
    copy = _copy_bundle(tmp_path)
    assert _problems(copy) == []
    job_file = _edit_job(copy, lambda job: job.update(max_concurrent_runs=2))
    problems = _problems(copy)
    assert (
        f"{job_file}: targets.dev.resources.jobs.lab_notebook.tasks[4]: lab_notebook.managing_models can run in "
        "two runs at once (max_concurrent_runs), each registering the model <current catalog>.<current schema>."
        f"dp090_nyc_taxi_first_last, {ADVICE}" in problems
    )
    assert len(problems) == 3 + 1  # its 3 registering tasks with themselves; the two Spark ML ones with each other


def test_check_reports_a_model_clean_up_would_not_delete(tmp_path):
    copy = _copy_bundle(tmp_path)
    job_file = _edit_job(
        copy,
        lambda job: job["tasks"][-1]["notebook_task"]["base_parameters"].update(
            model_name="${var.catalog}.${var.schema}.nyc_taxi_18"
        ),
        job="lab_matrix",
    )
    assert _problems(copy) == [
        f"{job_file}: targets.dev.resources.jobs.lab_matrix.tasks[15]: registers workspace.default.nyc_taxi_18, which "
        "`deploy.py clean-up --delete-models` would not delete: name it as scripts/labtools/workspace/models.py's "
        "lab_model_name does"
    ]
    job_file = _edit_job(
        copy,
        lambda job: job["tasks"][-1]["notebook_task"]["base_parameters"].update(
            model_name="dp090_nyc_taxi_${workspace.current_user.short_name}"
        ),
        job="lab_matrix",
    )
    assert _problems(copy) == [
        f"{job_file}: targets.dev.resources.jobs.lab_matrix.tasks[15]: model_name 'dp090_nyc_taxi_first_last' is not "
        "a model's full name catalog.schema.model, which Unity Catalog needs"
    ]


def test_most_tasks_at_once_is_the_largest_set_of_tasks_none_waiting_for_another():
    """Against brute force: every subset of tasks, none of which depends, directly or not, on another."""
    from itertools import combinations

    def job(edges: dict[str, list[str]]) -> dict:
        return {
            "tasks": [
                {"task_key": key, "depends_on": [{"task_key": need} for need in needs]} for key, needs in edges.items()
            ]
        }

    def brute_force(edges):
        def before(key, seen=()):
            return {
                need for direct in edges[key] if direct not in seen for need in {direct} | before(direct, (*seen, key))
            }

        return max(
            len(subset)
            for size in range(len(edges) + 1)
            for subset in combinations(edges, size)
            if not any(a in before(b) for a in subset for b in subset)
        )

    cases = {
        "chain": ({"a": [], "b": ["a"], "c": ["b"]}, 1),
        "independent": ({"a": [], "b": [], "c": []}, 3),
        "diamond": ({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}, 2),
        # d waits for a only through b: a and d never run together though no edge joins them.
        "indirect": ({"a": [], "b": ["a"], "c": [], "d": ["b"], "e": ["c"]}, 2),
        "lab_notebook's shape": ({"first": [], "if": [], "else_1": ["if"], "else_2": ["if"]}, 3),
        "wide": ({"root": [], **{f"leaf{i}": ["root"] for i in range(5)}, "end": ["leaf0"]}, 5),
    }
    for name, (edges, expected) in cases.items():
        assert bundle_check.most_tasks_at_once(job(edges)) == brute_force(edges) == expected, name
