"""`deploy.py run --runtime ...`: the lab on several runtimes of one workspace, as one run.

No Databricks workspace is reachable from here: deploy.py runs as a subprocess against
tests/workspace_stub.py, which lists runtimes as a workspace does (clusters/spark-versions), runs each
task by its script, and returns the lab notebook's summary as a successful task's output.
"""

from __future__ import annotations

import pytest
from deploy_cli import TOKEN, run_deploy, workspace
from workspace_stub import SPARK_VERSIONS

from labtools.workspace import matrix

USER = "learner@example.com"
NOTEBOOK = f"/Users/{USER}/dp090-mlflow-lab/01-using-mlflow-to-track-experiments"
EXPERIMENT = f"/Users/{USER}/dp090-using-mlflow-to-track-experiments-deploy-py"
FAST = ["--poll-seconds", "0.01"]
KEYS = {"15.4": "15.4.x-cpu-ml-scala2.12", "16.4": "16.4.x-cpu-ml-scala2.12", "17.3": "17.3.x-cpu-ml-scala2.13",
        "18": "18.0.x-cpu-ml-scala2.13"}  # fmt: skip


@pytest.fixture
def stub():
    with workspace(TOKEN, USER) as started:
        started.put_notebook(NOTEBOOK)  # as deploy would have
        yield started


def table_rows(stdout: str) -> dict[str, str]:
    """runtime -> its row of the printed table."""
    lines = stdout.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("runtime ")) + 2
    return {line.split()[0]: line for line in lines[start:] if line[:1].isdigit()}


def test_all_runtimes_in_one_run_each_on_its_own_cluster(stub, home):
    result = run_deploy("run", "--runtime", "all", *FAST, host=stub.url, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    [submit] = stub.calls("POST", "/jobs/runs/submit")
    tasks = submit.body["tasks"]
    # The keys are the workspace's, resolved from its list (not the GPU, non-LTS or standard builds).
    assert [task["new_cluster"]["spark_version"] for task in tasks] == list(KEYS.values())
    assert len({task["task_key"] for task in tasks}) == 4
    assert all(task["new_cluster"]["num_workers"] == 0 and task["new_cluster"]["node_type_id"] == "Standard_D4ds_v5"
               for task in tasks)  # fmt: skip
    experiments = [task["notebook_task"]["base_parameters"]["experiment_name"] for task in tasks]
    assert experiments == [f"{EXPERIMENT}-{runtime}" for runtime in KEYS]
    assert len(stub.calls("GET", "/clusters/spark-versions")) == 1

    rows = table_rows(result.stdout)
    assert list(rows) == list(KEYS)
    for runtime, mlflow_version, sklearn_version, spark_version in [
        ("15.4", "2.13.1", "1.3.0", "3.5.0"), ("16.4", "2.21.3", "1.4.2", "3.5.2"),
        ("17.3", "3.0.1", "1.6.1", "4.0.0"), ("18", "3.8.1", "1.6.1", "4.1.0"),
    ]:  # fmt: skip
        row = rows[runtime].split()
        assert row[2:6] == [mlflow_version, sklearn_version, spark_version, "SUCCESS"], rows[runtime]
        assert row[6] == "4:00" and row[7:10] == ["0.864", "0.857", "0.731"]
        run_id = stub.task_runs(max(stub.runs))[tasks[list(KEYS).index(runtime)]["task_key"]]["run_id"]
        assert row[10] == f"{stub.url}/jobs/runs/{run_id}"
    assert len(stub.calls("GET", "/jobs/runs/get-output")) == 4


def test_one_runtime_failing_is_a_row_with_the_failing_cells_error(stub, home):
    stub.outcome_by_spark_version = {KEYS["16.4"]: "FAILED", KEYS["18"]: "NO_CLUSTER"}
    result = run_deploy("run", "--runtime", "15.4,16.4,18", *FAST, host=stub.url, home=home)
    assert result.returncode == 1
    rows = table_rows(result.stdout)
    assert "SUCCESS" in rows["15.4"] and "RUN_EXECUTION_ERROR" in rows["16.4"] and "CLOUD_FAILURE" in rows["18"]
    errors = result.stderr.splitlines()
    assert "16.4 01-using-mlflow-to-track-experiments: LabDataError: /dbfs/missing.csv: no such file. " \
           "Check the data_path parameter." in errors  # fmt: skip
    [cluster_error] = [line for line in errors if line.startswith("18 ")]
    assert "QuotaExceeded" in cluster_error and "get the output" not in result.stderr


def test_a_runtime_the_workspace_lacks_is_named_and_the_others_run(stub, home):
    stub.spark_versions = [version for version in SPARK_VERSIONS if not version["key"].startswith("18.")]
    result = run_deploy("run", "--runtime", "17.3,18", *FAST, host=stub.url, home=home)
    assert result.returncode == 1
    assert f"{stub.url} does not offer the LTS ML runtime 18 (it offers 15.4, 16.4, 17.3)" in result.stderr
    [submit] = stub.calls("POST", "/jobs/runs/submit")
    assert [task["new_cluster"]["spark_version"] for task in submit.body["tasks"]] == [KEYS["17.3"]]
    rows = table_rows(result.stdout)
    assert "SUCCESS" in rows["17.3"] and "NOT OFFERED" in rows["18"]


def test_a_workspace_with_none_of_them_submits_nothing(stub, home):
    stub.spark_versions = [version for version in SPARK_VERSIONS if version["key"].startswith("17.3")]
    result = run_deploy("run", "--runtime", "15.4,18", *FAST, host=stub.url, home=home)
    assert result.returncode == 1
    assert "offers none of the runtimes asked for (15.4,18)" in result.stderr
    assert stub.calls("POST", "/jobs/runs/submit") == []


def test_dry_run_shows_the_matrix_without_credentials(stub, home):
    result = run_deploy("run", "--runtime", "all", "--dry-run", host=stub.url, home=home, token=None)
    assert result.returncode == 0, result.stderr
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
    listed += [("18.1.x-cpu-ml-scala2.13", "18.1 LTS ML (includes Apache Spark 4.1.0, Scala 2.13)"),
               ("16.3.x-cpu-ml-scala2.13", "16.3 ML (includes Apache Spark 3.5.2, Scala 2.13)")]  # fmt: skip
    assert matrix.resolve("18", listed) == "18.1.x-cpu-ml-scala2.13"  # the newest 18.x LTS
    assert matrix.resolve("16.4", listed) == "16.4.x-cpu-ml-scala2.12"  # 16.4's default Scala
    assert matrix.resolve("17.3", listed) == "17.3.x-cpu-ml-scala2.13"  # not the GPU build
    assert matrix.resolve("16.3", listed) is None  # not LTS
    assert matrix.offered(listed) == ["15.4", "16.4", "17.3", "18.0", "18.1"]


def test_verbose_logs_the_matrix_calls_but_never_the_token(stub, home):
    stub.outcome_by_spark_version = {KEYS["15.4"]: "FAILED"}
    result = run_deploy("run", "--runtime", "15.4,17.3", "--verbose", *FAST, host=stub.url, home=home)
    assert result.returncode == 1
    assert "/api/2.1/clusters/spark-versions" in result.stderr and "/jobs/runs/get-output" in result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert any(request.authorized for request in stub.requests)  # the stub did get the token
