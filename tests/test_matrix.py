"""`deploy.py run --runtime ...`: the lab on several runtimes of one workspace, as one run.

No Databricks workspace is reachable from here: deploy.py runs in a process of its own against
tests/workspace_stub.py, which lists runtimes as a workspace does (clusters/spark-versions), runs each
task by its script, and returns the lab notebook's summary as a successful task's output.
"""

from __future__ import annotations

import pytest
from deploy_cli import TOKEN, run_deploy, workspace
from lab_expected import NOTEBOOKS, REGISTRY, SPARK, model_name, number
from workspace_stub import SPARK_VERSIONS

from labtools.workspace import matrix

USER = "learner@example.com"
# Every lab notebook (lab.LAB_NOTEBOOKS, through tests/lab_expected.py) as deployed, and its experiment of `run`.
PATHS = {notebook: f"/Users/{USER}/dp090-mlflow-lab/{notebook.stem}" for notebook in NOTEBOOKS}
EXPERIMENTS = {notebook: f"/Users/{USER}/{notebook.deploy_experiment}" for notebook in NOTEBOOKS}
SPARK_NOTEBOOK = PATHS[SPARK]
NUMBERS = [number(notebook) for notebook in NOTEBOOKS]  # the table's second column, in the tasks' order
FAST = ["--poll-seconds", "0.01"]
KEYS = {
    "15.4": "15.4.x-cpu-ml-scala2.12",
    "16.4": "16.4.x-cpu-ml-scala2.12",
    "17.3": "17.3.x-cpu-ml-scala2.13",
    "18": "18.x-cpu-ml-scala2.13",
}


@pytest.fixture
def stub():
    with workspace(TOKEN, USER) as started:
        # As deploy would have: the notebooks' own source, which decides what a task returns.
        for notebook, path in PATHS.items():
            started.put_notebook(path, notebook.path().read_bytes())
        yield started


def table_rows(stdout: str) -> dict[tuple[str, str], str]:
    """(runtime, notebook number) -> its row of the printed table."""
    lines = stdout.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("runtime ")) + 2
    return {tuple(line.split()[:2]): line for line in lines[start:] if line[:1].isdigit()}


def test_all_runtimes_in_one_run_each_on_its_own_cluster(stub, home):
    result = run_deploy("run", "--runtime", "all", *FAST, host=stub.url, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    [submit] = stub.calls("POST", "/jobs/runs/submit")
    tasks = submit.body["tasks"]
    # A task per runtime and notebook. The keys are the workspace's, resolved from its list (not the GPU,
    # non-LTS or standard builds).
    assert [
        (
            task["task_key"],
            task["new_cluster"]["spark_version"],
            task["notebook_task"]["notebook_path"],
            task["notebook_task"]["base_parameters"]["experiment_name"],
        )
        for task in tasks
    ] == [
        (f"{notebook.task_key}_{runtime.replace('.', '_')}", key, PATHS[notebook], f"{EXPERIMENTS[notebook]}-{runtime}")
        for runtime, key in KEYS.items()
        for notebook in NOTEBOOKS
    ]
    assert all(
        task["new_cluster"]["num_workers"] == 0
        and task["new_cluster"]["node_type_id"] == "Standard_D4ds_v5"
        and task["new_cluster"]["spark_conf"]["spark.databricks.cluster.profile"] == "singleNode"
        for task in tasks
    )
    assert len(stub.calls("GET", "/clusters/spark-versions")) == 1
    count = len(KEYS) * len(NOTEBOOKS)
    assert f"{count} tasks, one per runtime (15.4, 16.4, 17.3, 18) and notebook ({', '.join(NUMBERS)})" in result.stdout

    rows = table_rows(result.stdout)
    assert list(rows) == [(runtime, notebook) for runtime in KEYS for notebook in NUMBERS]
    # Each notebook's own summary (the stub's, by engine: tests/workspace_stub.py's RUN_METRICS, SPARK_RUN_METRICS).
    r2 = {
        number(notebook): ["0.873", "0.884", "0.875"] if notebook.uses_spark else ["0.864", "0.857", "0.731"]
        for notebook in NOTEBOOKS
    }
    for runtime, mlflow_version, sklearn_version, spark_version in [
        ("15.4", "2.13.1", "1.3.0", "3.5.0"),
        ("16.4", "2.21.3", "1.4.2", "3.5.2"),
        ("17.3", "3.0.1", "1.6.1", "4.0.0"),
        ("18", "3.8.1", "1.6.1", "4.1.0"),
    ]:
        first = len(NOTEBOOKS) * list(KEYS).index(runtime)
        for numbered, task in zip(NUMBERS, tasks[first:][: len(NOTEBOOKS)], strict=True):
            row = rows[runtime, numbered].split()
            assert row[2:6] == [mlflow_version, sklearn_version, spark_version, "SUCCESS"], rows[runtime, numbered]
            assert row[6] == "4:00" and row[7:10] == r2[numbered]
            run_id = stub.task_runs(max(stub.runs))[task["task_key"]]["run_id"]
            assert row[10] == f"{stub.url}/jobs/runs/{run_id}"
    assert len(stub.calls("GET", "/jobs/runs/get-output")) == count


def test_each_runtimes_managing_models_tasks_register_a_model_of_their_own(stub, home):
    """The runtimes run at once: on one model, each would move the aliases another is checking. So each runtime's
    task of a notebook that registers a model gets its own name (models.lab_model_name, `_matrix_<runtime>`), in
    the workspace's default catalog, or --catalog and --schema; the other notebooks get no model_name."""
    assert REGISTRY
    result = run_deploy("run", "--runtime", "all", *FAST, host=stub.url, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    [submit] = stub.calls("POST", "/jobs/runs/submit")
    names = {
        task["task_key"]: task["notebook_task"]["base_parameters"].get("model_name") for task in submit.body["tasks"]
    }
    assert names == {
        f"{notebook.task_key}_{runtime.replace('.', '_')}": model_name(USER, notebook, runtime=runtime)
        if notebook in REGISTRY
        else None
        for runtime in KEYS
        for notebook in NOTEBOOKS
    }
    assert "workspace.default.dp090_nyc_taxi_learner_matrix_15_4" in names.values()
    given = [name for name in names.values() if name]
    assert len(given) == len(set(given)) == len(KEYS) * len(REGISTRY)

    stub.requests.clear()
    result = run_deploy(
        "run", "--runtime", "18", "--catalog", "main", "--schema", "lab", *FAST, host=stub.url, home=home
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [submit] = stub.calls("POST", "/jobs/runs/submit")
    assert sorted(
        name for task in submit.body["tasks"] if (name := task["notebook_task"]["base_parameters"].get("model_name"))
    ) == sorted(model_name(USER, notebook, runtime="18", catalog="main", schema="lab") for notebook in REGISTRY)
    assert stub.calls("GET", "/current-metastore-assignment") == []  # the catalog was given


def test_a_matrix_in_a_workspace_without_a_default_catalog_asks_for_one(stub, home):
    stub.default_catalog = ""  # the metastore assignment names none
    result = run_deploy("run", "--runtime", "18", *FAST, host=stub.url, home=home)
    assert result.returncode == 1
    assert "no default catalog" in result.stderr and "--catalog" in result.stderr
    assert stub.calls("POST", "/jobs/runs/submit") == []


def test_a_notebook_that_does_not_exit_with_its_summary_is_a_row_without_one(stub, home):
    """A workspace returns a task's notebook_output.result only when the notebook called dbutils.notebook.exit:
    the row of a notebook without that call shows no versions and no runs, only that it succeeded."""
    source = SPARK.path().read_text()
    without_exit = source.rsplit("# COMMAND ----------", 1)[0]
    assert "dbutils.notebook.exit(" in source and "dbutils.notebook.exit(" not in without_exit
    stub.put_notebook(SPARK_NOTEBOOK, without_exit.encode())
    result = run_deploy("run", "--runtime", "17.3", *FAST, host=stub.url, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = table_rows(result.stdout)
    assert list(rows) == [("17.3", numbered) for numbered in NUMBERS]
    for notebook in NOTEBOOKS:
        if notebook != SPARK:
            assert rows["17.3", number(notebook)].split()[2:6] == ["3.0.1", "1.6.1", "4.0.0", "SUCCESS"]
    spark_row = rows["17.3", number(SPARK)]
    assert spark_row.split()[2:6] == ["SUCCESS", "4:00", "(no", "summary)"]
    assert "3.0.1" not in spark_row and "0.8" not in spark_row


def test_workers_go_to_the_spark_notebooks_tasks_only(stub, home):
    result = run_deploy("run", "--runtime", "15.4,18", "--num-workers", "2", *FAST, host=stub.url, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    [submit] = stub.calls("POST", "/jobs/runs/submit")
    clusters = {task["task_key"]: task["new_cluster"] for task in submit.body["tasks"]}
    assert len(clusters) == 2 * len(NOTEBOOKS)
    for runtime, key in [("15_4", KEYS["15.4"]), ("18", KEYS["18"])]:
        for notebook in NOTEBOOKS:
            if notebook.uses_spark:
                assert clusters[f"{notebook.task_key}_{runtime}"] == {
                    "spark_version": key,
                    "node_type_id": "Standard_D4ds_v5",
                    "num_workers": 2,
                    "data_security_mode": "SINGLE_USER",
                }
            else:
                assert clusters[f"{notebook.task_key}_{runtime}"]["num_workers"] == 0
    assert clusters[f"{SPARK.task_key}_18"]["num_workers"] == 2


def test_one_runtime_failing_is_a_row_with_the_failing_cells_error(stub, home):
    stub.outcome_by_spark_version = {KEYS["16.4"]: "FAILED", KEYS["18"]: "NO_CLUSTER"}
    result = run_deploy("run", "--runtime", "15.4,16.4,18", *FAST, host=stub.url, home=home)
    assert result.returncode == 1
    rows = table_rows(result.stdout)
    for notebook in NUMBERS:
        assert "SUCCESS" in rows["15.4", notebook] and "RUN_EXECUTION_ERROR" in rows["16.4", notebook]
        assert "CLOUD_FAILURE" in rows["18", notebook]
    errors = result.stderr.splitlines()
    for notebook in NOTEBOOKS:
        assert (
            f"16.4 {notebook.stem}: LabDataError: /dbfs/missing.csv: no such file. Check the data_path "
            "parameter." in errors
        )
    cluster_errors = [line for line in errors if line.startswith("18 ")]
    assert [line.split(":")[0] for line in cluster_errors] == [f"18 {notebook.stem}" for notebook in NOTEBOOKS]
    assert all("QuotaExceeded" in line for line in cluster_errors) and "get the output" not in result.stderr


def test_one_notebook_failing_on_one_runtime_is_its_row_only(stub, home):
    stub.outcome_by_notebook = {SPARK_NOTEBOOK: "FAILED"}
    result = run_deploy("run", "--runtime", "17.3", *FAST, host=stub.url, home=home)
    assert result.returncode == 1
    rows = table_rows(result.stdout)
    assert list(rows) == [("17.3", numbered) for numbered in NUMBERS]
    for notebook in NOTEBOOKS:
        assert ("RUN_EXECUTION_ERROR" if notebook == SPARK else "SUCCESS") in rows["17.3", number(notebook)]
    assert "SUCCESS" not in rows["17.3", number(SPARK)]
    assert result.stderr.splitlines() == [
        f"17.3 {SPARK.stem}: LabDataError: /dbfs/missing.csv: no such file. Check the data_path parameter."
    ]


def test_a_runtime_the_workspace_lacks_is_named_and_the_others_run(stub, home):
    stub.spark_versions = [version for version in SPARK_VERSIONS if not version["key"].startswith("18.")]
    result = run_deploy("run", "--runtime", "17.3,18", *FAST, host=stub.url, home=home)
    assert result.returncode == 1
    assert f"{stub.url} does not offer the LTS ML runtime 18 (it offers 15.4, 16.4, 17.3)" in result.stderr
    [submit] = stub.calls("POST", "/jobs/runs/submit")
    assert [task["new_cluster"]["spark_version"] for task in submit.body["tasks"]] == [KEYS["17.3"]] * len(NOTEBOOKS)
    rows = table_rows(result.stdout)
    assert list(rows) == [(runtime, numbered) for runtime in ("17.3", "18") for numbered in NUMBERS]
    assert all("SUCCESS" in rows["17.3", numbered] and "NOT OFFERED" in rows["18", numbered] for numbered in NUMBERS)


def test_a_workspace_with_none_of_them_submits_nothing(stub, home):
    stub.spark_versions = [version for version in SPARK_VERSIONS if version["key"].startswith("17.3")]
    result = run_deploy("run", "--runtime", "15.4,18", *FAST, host=stub.url, home=home)
    assert result.returncode == 1
    assert "offers none of the runtimes asked for (15.4,18)" in result.stderr
    assert stub.calls("POST", "/jobs/runs/submit") == []


def test_dry_run_shows_the_matrix_without_credentials(stub, home):
    result = run_deploy("run", "--runtime", "all", "--dry-run", host=stub.url, home=home, token=None)
    assert result.returncode == 0, result.stderr
    # What it would start, before anything starts: a single-node cluster of 4 vCPUs per runtime and notebook (8 for
    # two notebooks), 2 at a time by default.
    count = len(KEYS) * len(NOTEBOOKS)
    assert (
        f"Starts {count} clusters ({count} nodes of Standard_D4ds_v5, 4 vCPUs each: {4 * count} vCPUs in all), "
        "at most 2 at once (8 vCPUs; --max-parallel 2)"
    ) in result.stdout
    assert "GET /api/2.1/clusters/spark-versions" in result.stdout
    [submit] = [line for line in result.stdout.splitlines() if "POST /api/2.2/jobs/runs/submit" in line]
    assert all(f"<{runtime} LTS ML key>" in submit for runtime in KEYS)
    assert stub.requests == []


@pytest.mark.parametrize("value", ["14.3", "17.3,13", "", "latest"])
def test_an_unsupported_runtime_is_refused_before_any_call(stub, home, value):
    result = run_deploy("run", "--runtime", value, host=stub.url, home=home)
    assert result.returncode == 2 and "not an LTS ML runtime the lab supports" in result.stderr
    assert stub.requests == []


def test_resolve_takes_the_lts_cpu_ml_build_of_each_runtime():
    listed = [(version["key"], version["name"]) for version in SPARK_VERSIONS]
    listed += [
        ("18.1.x-cpu-ml-scala2.13", "18.1 LTS ML (includes Apache Spark 4.1.0, Scala 2.13)"),
        ("16.3.x-cpu-ml-scala2.13", "16.3 ML (includes Apache Spark 3.5.2, Scala 2.13)"),
    ]
    assert matrix.resolve("18", listed) == "18.1.x-cpu-ml-scala2.13"  # the newest 18.x LTS
    assert matrix.resolve("16.4", listed) == "16.4.x-cpu-ml-scala2.12"  # 16.4's default Scala
    assert matrix.resolve("17.3", listed) == "17.3.x-cpu-ml-scala2.13"  # not the GPU build
    assert matrix.resolve("16.3", listed) is None  # not LTS
    assert matrix.offered(listed) == ["15.4", "16.4", "17.3", "18", "18.1"]


def test_resolve_takes_both_key_forms():
    """A release named "18 LTS" is listed as 18.x-...; a maintenance release of a major one as N.M.x-...."""
    short = [("18.x-cpu-ml-scala2.13", "18 LTS ML (includes Apache Spark 4.1.0, Scala 2.13)")]
    assert matrix.resolve("18", short) == "18.x-cpu-ml-scala2.13"
    assert matrix.offered(short) == ["18"]
    long = [("18.0.x-cpu-ml-scala2.13", "18.0 LTS ML (includes Apache Spark 4.1.0, Scala 2.13)")]
    assert matrix.resolve("18", long) == "18.0.x-cpu-ml-scala2.13"
    # Both listed: the release's own key, which follows its maintenance releases.
    assert matrix.resolve("18", short + long) == "18.x-cpu-ml-scala2.13"
    assert matrix.resolve("17.3", [("17.x-cpu-ml-scala2.13", "17 LTS ML")]) is None  # 17.3 is not "17"
    assert matrix.resolve("18", [("18.x-gpu-ml-scala2.13", "18 LTS ML (GPU)"), ("18.x-scala2.13", "18 LTS")]) is None


def test_verbose_logs_the_matrix_calls_but_never_the_token(stub, home):
    stub.outcome_by_spark_version = {KEYS["15.4"]: "FAILED"}
    result = run_deploy("run", "--runtime", "15.4,17.3", "--verbose", *FAST, host=stub.url, home=home)
    assert result.returncode == 1
    assert "/api/2.1/clusters/spark-versions" in result.stderr and "/jobs/runs/get-output" in result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert any(request.authorized for request in stub.requests)  # the stub did get the token


def test_max_parallel_chains_the_tasks_so_that_no_more_clusters_run_at_once(stub, home):
    """Eight 4-vCPU clusters at once exceed a trial subscription's quota: by default two run at a time, each
    task after the one two places before it, whatever that one's result (run_if ALL_DONE)."""
    stub.outcome_by_spark_version = {KEYS["15.4"]: "FAILED"}
    result = run_deploy("run", "--runtime", "all", *FAST, host=stub.url, home=home)
    assert result.returncode == 1  # 15.4 failed; the others still ran
    [submit] = stub.calls("POST", "/jobs/runs/submit")
    tasks = submit.body["tasks"]
    for index, task in enumerate(tasks):
        if index < 2:
            assert "depends_on" not in task
        else:
            assert task["depends_on"] == [{"task_key": tasks[index - 2]["task_key"]}] and task["run_if"] == "ALL_DONE"
    rows = table_rows(result.stdout)
    assert all("SUCCESS" in rows[runtime, notebook] for runtime in ["16.4", "17.3", "18"] for notebook in NUMBERS)
    assert "at most 2 at once" in result.stdout
    # Never more than two tasks of the run were running at once.
    assert stub.most_tasks_running_at_once == 2

    stub.requests.clear()
    wide = run_deploy("run", "--runtime", "all", "--max-parallel", "8", *FAST, host=stub.url, home=home)
    assert wide.returncode == 1
    [submit] = stub.calls("POST", "/jobs/runs/submit")
    assert not any("depends_on" in task for task in submit.body["tasks"][:8])
    assert [task["depends_on"] for task in submit.body["tasks"][8:]] == [
        [{"task_key": task["task_key"]}] for task in submit.body["tasks"][:-8]
    ]  # none for two notebooks' 8 tasks
    assert "at most 8 at once (32 vCPUs; --max-parallel 8)" in wide.stdout


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_max_parallel_must_be_a_positive_number(stub, home, value):
    result = run_deploy("run", "--runtime", "all", "--max-parallel", value, host=stub.url, home=home)
    assert result.returncode == 2 and "argument --max-parallel: " in result.stderr
    assert stub.requests == []


def test_each_submit_carries_an_idempotency_token_so_a_retry_cannot_start_a_second_run(stub, home):
    result = run_deploy("run", "--runtime", "17.3", *FAST, host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    again = run_deploy("run", "--runtime", "17.3", *FAST, host=stub.url, home=home)
    assert again.returncode == 0, again.stderr
    tokens = [request.body["idempotency_token"] for request in stub.calls("POST", "/jobs/runs/submit")]
    assert len(tokens) == 2 and tokens[0] != tokens[1] and all(0 < len(token) <= 64 for token in tokens)
    # The same request sent twice (as the SDK retries it) is one run, as the jobs service promises.
    body = stub.calls("POST", "/jobs/runs/submit")[0].body
    before = len(stub.runs)
    assert stub.submit(dict(body))["run_id"] == stub.submit(dict(body))["run_id"] and len(stub.runs) == before
