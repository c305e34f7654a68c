"""scripts/deploy.py against a local stand-in for a Databricks workspace.

No Databricks workspace is reachable from here, so tests/workspace_stub.py serves the workspace's
REST API on 127.0.0.1 and deploy.py runs as a real subprocess against it, through the Databricks
SDK, with DATABRICKS_HOST=http://127.0.0.1:<port> and a recognisable fake DATABRICKS_TOKEN. The
SDK takes an http:// host as given (it only adds https:// to a host without a scheme), so nothing
in deploy.py or the SDK is patched: the requests the stub records are the ones a workspace would get.
"""

from __future__ import annotations

import base64
import socket
from pathlib import Path

import pytest
import yaml
from deploy_cli import ROOT, TOKEN, one_line, run_deploy, workspace, write_profiles
from workspace_stub import EXISTING_CLUSTER

from labtools.workspace import client as workspace_deploy
from labtools.workspace import spec

USER = "learner@example.com"
FOLDER = f"/Users/{USER}/dp090-mlflow-lab"
NOTEBOOK = f"{FOLDER}/01-using-mlflow-to-track-experiments"
# deploy.py's own experiment; the notebook's default (a learner's runs, the bundle's prod target) is another.
EXPERIMENT = f"/Users/{USER}/dp090-using-mlflow-to-track-experiments-deploy-py"
NOTEBOOK_EXPERIMENT = f"/Users/{USER}/dp090-using-mlflow-to-track-experiments"
NOTEBOOK_FILES = {
    f"{FOLDER}/01-using-mlflow-to-track-experiments": ROOT / "notebooks" / "01-using-mlflow-to-track-experiments.py",
    f"{FOLDER}/includes/setup": ROOT / "notebooks" / "includes" / "setup.py",
}
FAST = ["--poll-seconds", "0.01"]


@pytest.fixture
def stub():
    with workspace(TOKEN, USER) as started:
        yield started


@pytest.fixture
def silent_port():
    """A port on 127.0.0.1 that accepts connections (the kernel completes them) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.fixture
def refusing_port():
    """A port on 127.0.0.1 where nothing listens: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return port


# --- without a workspace ------------------------------------------------------------------------


def test_help_and_dry_run_work_without_credentials(home):
    help_text = run_deploy("--help", home=home, token=None)
    assert help_text.returncode == 0
    for command in ["deploy", "run", "clean-up"]:
        assert command in help_text.stdout

    dry = run_deploy("deploy", "--dry-run", home=home, token=None)
    assert dry.returncode == 0, dry.stderr
    imports = [line for line in dry.stdout.splitlines() if "POST /api/2.0/workspace/import" in line]
    assert len(imports) == len(NOTEBOOK_FILES)
    assert all('"format": "SOURCE"' in line and '"language": "PYTHON"' in line for line in imports)
    assert any("/dp090-mlflow-lab/includes/setup" in line for line in imports)


@pytest.mark.parametrize(
    ("command", "expected_call"),
    [
        (["deploy"], "POST /api/2.0/workspace/import"),
        (["run"], "POST /api/2.2/jobs/runs/submit"),
        (["clean-up", "--delete-experiment"], "POST /api/2.0/mlflow/experiments/delete"),
    ],
)
def test_dry_run_sends_no_request(stub, home, command, expected_call):
    result = run_deploy(*command, "--dry-run", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    assert expected_call in result.stdout
    assert stub.requests == []


def test_no_credentials_is_a_one_line_error(home):
    result = run_deploy("deploy", home=home, token=None)
    assert result.returncode != 0
    assert "no Databricks credentials" in one_line(result.stderr) and "DATABRICKS_TOKEN" in result.stderr

    with_profile = run_deploy("deploy", "--profile", "lab-workspace", home=home, token=None)
    assert with_profile.returncode != 0
    assert "profile 'lab-workspace'" in one_line(with_profile.stderr)


# --- a host that does not answer ------------------------------------------------------------------


def test_a_host_that_never_answers_is_named_with_its_variable(home, silent_port):
    host = f"http://127.0.0.1:{silent_port}"
    result = run_deploy("deploy", "--connect-timeout", "1", host=host, home=home)
    assert result.returncode == 1
    assert f"Contacting {host} (from DATABRICKS_HOST)" in result.stdout
    line = one_line(result.stderr)
    assert f"{host} (from DATABRICKS_HOST) did not answer within 1 s" in line
    assert "--connect-timeout" in line


def test_a_host_that_refuses_is_named_with_its_profile(home, refusing_port):
    host = f"http://127.0.0.1:{refusing_port}"
    write_profiles(home, {"class-a": (host, TOKEN)})
    result = run_deploy("deploy", "--profile", "class-a", home=home, token=None)
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert f"cannot reach {host} (from profile 'class-a' of {home / '.databrickscfg'})" in line
    assert "refused" in line


def test_the_connect_timeout_must_be_a_positive_number(home):
    result = run_deploy("deploy", "--connect-timeout", "0", home=home)
    assert result.returncode == 2 and "--connect-timeout: '0' is not a positive number" in result.stderr


# --- deploy -----------------------------------------------------------------------------------


def test_deploy_imports_every_notebook_as_python_source(stub, home):
    result = run_deploy("deploy", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr

    imports = stub.calls("POST", "/workspace/import")
    assert {request.body["path"] for request in imports} == set(NOTEBOOK_FILES)
    for request in imports:
        assert request.body["format"] == "SOURCE"
        assert request.body["language"] == "PYTHON"
        assert request.body["overwrite"] is True
        assert base64.b64decode(request.body["content"]) == NOTEBOOK_FILES[request.body["path"]].read_bytes()
    # The includes folder exists before setup is imported into it, so `%run ./includes/setup` finds it.
    order = [(r.path, (r.body or {}).get("path")) for r in stub.requests]
    assert order.index(("/api/2.0/workspace/mkdirs", f"{FOLDER}/includes")) < order.index(
        ("/api/2.0/workspace/import", f"{FOLDER}/includes/setup")
    )
    assert stub.objects[f"{FOLDER}/includes/setup"]["object_type"] == "NOTEBOOK"
    assert f"{stub.url}/browse/folders/{stub.objects[FOLDER]['object_id']}" in result.stdout

    again = run_deploy("deploy", host=stub.url, home=home)  # overwrite: deploying twice is fine
    assert again.returncode == 0, again.stderr
    assert len(stub.calls("POST", "/workspace/import")) == 2 * len(NOTEBOOK_FILES)


def test_deploy_to_two_workspaces_goes_on_past_one_that_fails(stub, home):
    second_token = "dapi-FAKE-second-token-never-print-me"
    with workspace(second_token, USER) as second:
        second.deny(FOLDER)
        write_profiles(home, {"a": (stub.url, TOKEN), "b": (second.url, second_token)})
        result = run_deploy("deploy", "--profile", "b", "--profile", "a", home=home, token=None,
                            secrets=[second_token])  # fmt: skip
    assert result.returncode == 1
    assert "== profile b" in result.stdout and "== profile a" in result.stdout
    assert "deploy.py deploy: profile b: create folder" in result.stderr and "HTTP 403" in result.stderr
    assert {request.body["path"] for request in stub.calls("POST", "/workspace/import")} == set(NOTEBOOK_FILES)
    assert "== 1 of 2 workspaces done; failed: b" in result.stdout


def test_deploy_to_another_folder(stub, home):
    result = run_deploy("deploy", "--folder", "/Shared/dp090/", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    paths = {request.body["path"] for request in stub.calls("POST", "/workspace/import")}
    assert paths == {"/Shared/dp090/01-using-mlflow-to-track-experiments", "/Shared/dp090/includes/setup"}
    assert stub.calls("GET", "/scim/v2/Me") == []  # the user name is not needed


def test_401_says_the_token_is_invalid_or_expired(stub, home):
    stub.token = "dapi-the-token-the-workspace-now-expects"
    result = run_deploy("deploy", host=stub.url, home=home)
    assert result.returncode != 0
    line = one_line(result.stderr)
    assert "authentication failed (HTTP 401)" in line and "invalid or expired" in line
    assert not stub.calls("POST", "/workspace/import")


def test_403_names_the_path_and_the_permission(stub, home):
    stub.deny(FOLDER)
    result = run_deploy("deploy", host=stub.url, home=home)
    assert result.returncode != 0
    line = one_line(result.stderr)
    assert f"create folder {FOLDER}: permission denied (HTTP 403)" in line
    assert "You need CAN_MANAGE" in line and "--folder" in line
    assert "Config:" not in line  # the SDK's configuration dump is left out


# --- run --------------------------------------------------------------------------------------


def test_run_submits_the_lab_and_polls_until_success(stub, home):
    assert run_deploy("deploy", host=stub.url, home=home).returncode == 0
    result = run_deploy("run", *FAST, host=stub.url, home=home)
    assert result.returncode == 0, result.stderr

    [submit] = stub.calls("POST", "/jobs/runs/submit")
    [task] = submit.body["tasks"]
    assert task["notebook_task"] == {"notebook_path": NOTEBOOK, "base_parameters": {"experiment_name": EXPERIMENT}}
    cluster = task["new_cluster"]
    assert "-ml-" in cluster["spark_version"] and cluster["num_workers"] == 0
    assert cluster["node_type_id"] == "Standard_D4ds_v5"  # the stub says it is an Azure workspace
    assert submit.body["run_name"] == workspace_deploy.RUN_NAME

    run_id = max(stub.runs)
    lines = result.stdout.splitlines()
    states = [next(i for i, line in enumerate(lines) if state in line)
              for state in ["PENDING", "RUNNING", "TERMINATED SUCCESS"]]  # fmt: skip
    assert states == sorted(states)
    assert f"{stub.url}/jobs/runs/{run_id}" in result.stdout
    assert "Final state: TERMINATED SUCCESS" in result.stdout
    assert len(stub.calls("GET", "/jobs/runs/get")) == len(stub.runs[run_id]["tasks"][0]["script"])
    assert stub.calls("GET", "/jobs/runs/get-output") == []


def test_run_on_an_existing_cluster(stub, home):
    stub.put_notebook(NOTEBOOK)  # as deploy would have
    result = run_deploy("run", "--cluster-id", EXISTING_CLUSTER, *FAST, host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    [submit] = stub.calls("POST", "/jobs/runs/submit")
    assert submit.body["tasks"][0]["existing_cluster_id"] == EXISTING_CLUSTER
    assert "new_cluster" not in submit.body["tasks"][0]


@pytest.mark.parametrize("status", [404, 400])
def test_run_on_a_missing_cluster_says_so(stub, home, status):
    stub.missing_cluster_status = status  # 400 "Cluster ... does not exist" is what some workspaces send
    stub.put_notebook(NOTEBOOK)  # as deploy would have
    result = run_deploy("run", "--cluster-id", "0000-000000-gone", host=stub.url, home=home)
    assert result.returncode != 0
    assert "cluster 0000-000000-gone does not exist" in one_line(result.stderr)
    assert stub.calls("POST", "/jobs/runs/submit") == []


def test_run_before_deploy_says_to_deploy_first(stub, home):
    result = run_deploy("run", host=stub.url, home=home)
    assert result.returncode != 0
    assert f"no notebook at {NOTEBOOK}: deploy it first" in one_line(result.stderr)


def run_ending(outcome: str, stub, home, *args):
    """`deploy.py run` of the deployed notebook, the stub's runs ending as `outcome` says."""
    stub.put_notebook(NOTEBOOK)  # as deploy would have
    stub.run_outcome = outcome
    return run_deploy("run", *(args or FAST), host=stub.url, home=home)


def test_a_failed_run_prints_the_notebooks_error(stub, home):
    result = run_ending("FAILED", stub, home)
    assert result.returncode == 1
    assert "Final state: TERMINATED RUN_EXECUTION_ERROR" in result.stdout
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"run {max(stub.runs)} failed (TERMINATED RUN_EXECUTION_ERROR): {NOTEBOOK}: LabDataError:")
    assert "load_trips(data_path)" in result.stderr and "\x1b[" not in result.stderr
    # The output is asked for the task's run, not the parent run (which a workspace refuses).
    [output] = stub.calls("GET", "/jobs/runs/get-output")
    assert int(output.query["run_id"]) == stub.runs[max(stub.runs)]["tasks"][0]["run_id"]


def test_a_run_that_never_finishes_is_cancelled_at_the_timeout(stub, home):
    result = run_ending("HANG", stub, home, "--timeout", "1", "--poll-seconds", "0.05")
    assert result.returncode != 0
    line = one_line(result.stderr)
    run_id = max(stub.runs)
    assert f"run {run_id} did not finish within --timeout 1 s (still RUNNING)" in line and "cancelled" in line
    assert [int(r.body["run_id"]) for r in stub.calls("POST", "/jobs/runs/cancel")] == [run_id]
    assert stub.runs[run_id]["tasks"][0]["script"][-1].result == "CANCELED"
    assert stub.calls("POST", "/jobs/runs/submit")[0].body["timeout_seconds"] == 1


def test_a_run_whose_cluster_never_started_reports_its_state_message(stub, home):
    result = run_ending("NO_CLUSTER", stub, home)
    assert result.returncode == 1
    assert "Final state: TERMINATED CLOUD_FAILURE" in result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith(f"run {max(stub.runs)} failed (TERMINATED CLOUD_FAILURE): {NOTEBOOK}: Cluster ")
    assert "QuotaExceeded" in line and "get the output" not in line


def test_run_follows_the_status_not_the_deprecated_state(stub, home):
    stub.put_notebook(NOTEBOOK)  # as deploy would have
    stub.sends_deprecated_state = False
    result = run_deploy("run", "--timeout", "60", *FAST, host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    assert "Final state: TERMINATED SUCCESS" in result.stdout


def test_run_logs_to_its_own_experiment_which_clean_up_may_delete(stub, home):
    """Not the notebook's default experiment, which a learner's own runs and a prod bundle use."""
    stub.experiments[NOTEBOOK_EXPERIMENT] = {"experiment_id": "77", "name": NOTEBOOK_EXPERIMENT,
                                             "lifecycle_stage": "active"}  # fmt: skip
    stub.put_notebook(NOTEBOOK)  # as deploy would have
    assert run_deploy("run", *FAST, host=stub.url, home=home).returncode == 0
    [submit] = stub.calls("POST", "/jobs/runs/submit")
    assert submit.body["tasks"][0]["notebook_task"]["base_parameters"]["experiment_name"] == EXPERIMENT
    result = run_deploy("clean-up", "--delete-experiment", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    assert stub.experiments[EXPERIMENT]["lifecycle_stage"] == "deleted"
    assert stub.experiments[NOTEBOOK_EXPERIMENT]["lifecycle_stage"] == "active"


# --- clean-up ---------------------------------------------------------------------------------


def test_clean_up_removes_what_deploy_and_run_made_and_is_idempotent(stub, home):
    assert run_deploy("deploy", host=stub.url, home=home).returncode == 0
    assert run_deploy("run", *FAST, host=stub.url, home=home).returncode == 0
    lab_run = max(stub.runs)
    someone_elses = stub.add_run("nightly", "/Users/other@example.com/etl")
    same_name_other_folder = stub.add_run(workspace_deploy.RUN_NAME, "/Shared/elsewhere/01-using-mlflow")
    assert stub.experiments[EXPERIMENT]["lifecycle_stage"] == "active"

    first = run_deploy("clean-up", "--delete-experiment", host=stub.url, home=home)
    assert first.returncode == 0, first.stderr
    assert f"deleted run {lab_run}" in first.stdout
    assert f"deleted folder {FOLDER}" in first.stdout
    assert f"deleted experiment {EXPERIMENT}" in first.stdout
    assert not [path for path in stub.objects if path.startswith(FOLDER)]
    assert set(stub.runs) == {someone_elses, same_name_other_folder}
    assert stub.experiments[EXPERIMENT]["lifecycle_stage"] == "deleted"
    assert len(stub.calls("GET", "/jobs/runs/list")) >= 2  # it read every page

    second = run_deploy("clean-up", "--delete-experiment", host=stub.url, home=home)
    assert second.returncode == 0, second.stderr
    assert "Nothing was left to clean up" in second.stdout
    assert len(stub.calls("POST", "/workspace/delete")) == 1  # the second clean-up found nothing to delete


def test_clean_up_keeps_the_experiment_unless_asked(stub, home):
    stub.put_notebook(NOTEBOOK)  # as deploy would have
    assert run_deploy("run", *FAST, host=stub.url, home=home).returncode == 0
    result = run_deploy("clean-up", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    assert stub.experiments[EXPERIMENT]["lifecycle_stage"] == "active"
    assert "--delete-experiment" in result.stdout
    assert stub.calls("POST", "/mlflow/experiments/delete") == []


def test_clean_up_cancels_an_active_run_before_deleting_it(stub, home):
    stub.put_notebook(NOTEBOOK)  # as deploy would have
    active = stub.add_run(workspace_deploy.RUN_NAME, NOTEBOOK, life_cycle_state="RUNNING")
    result = run_deploy("clean-up", "--poll-seconds", "0.01", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    calls = [(r.path.rsplit("/", 1)[-1], int(r.body["run_id"])) for r in stub.requests
             if r.method == "POST" and "/jobs/runs/" in r.path]  # fmt: skip
    assert calls == [("cancel", active), ("delete", active)]
    assert active not in stub.runs


# --- the token --------------------------------------------------------------------------------


def test_the_token_appears_in_no_output_or_log(stub, home):
    """With --verbose the SDK logs every HTTP call; the log shows the calls but never the token."""
    outputs = [run_deploy("deploy", "--verbose", host=stub.url, home=home)]
    stub.run_outcome = "FAILED"
    outputs.append(run_deploy("run", "--verbose", *FAST, host=stub.url, home=home))
    stub.token = "dapi-rotated"
    outputs.append(run_deploy("clean-up", "--verbose", host=stub.url, home=home))
    assert "/api/2.0/workspace/import" in outputs[0].stderr  # the log is there
    assert outputs[2].returncode != 0
    for result in outputs:
        assert TOKEN not in result.stdout + result.stderr
    # Nor in any file deploy.py or the SDK wrote (a cache, a log) under the home folder.
    for file in home.rglob("*"):
        if file.is_file():
            assert TOKEN.encode() not in file.read_bytes(), file
    # The stub did receive it: the check above is not vacuous.
    assert any(request.authorized for request in stub.requests)


# --- the pieces, directly -----------------------------------------------------------------------


def test_the_run_cluster_is_the_bundles_job_cluster():
    """deploy.py run and `databricks bundle run` use the same runtime and single-node settings."""
    bundle = yaml.safe_load((ROOT / "bundle.yml").read_text())
    job = yaml.safe_load((ROOT / "resources" / "lab_job.yml").read_text())["resources"]["jobs"]["lab_notebook"]
    bundle_cluster = dict(job["job_clusters"][0]["new_cluster"])
    bundle_cluster["spark_version"] = bundle["variables"]["spark_version"]["default"]
    bundle_cluster["node_type_id"] = bundle["variables"]["node_type_id"]["default"]
    assert spec.single_node_cluster(spec.NODE_TYPES["azure"]) == bundle_cluster


def test_local_notebooks_names_a_file_that_is_not_a_notebook(tmp_path):
    (tmp_path / "includes").mkdir()
    (tmp_path / "lab.py").write_text("# Databricks notebook source\nprint(1)\n")
    (tmp_path / "includes" / "helper.py").write_text("print('no header')\n")
    with pytest.raises(workspace_deploy.DeployError, match=r"helper\.py:1: first line must be exactly"):
        workspace_deploy.local_notebooks(tmp_path)


def test_folders_to_create_lists_parents_first():
    notebooks = [workspace_deploy.LocalNotebook(Path("x"), name, b"") for name in ["lab", "includes/deep/setup"]]
    assert workspace_deploy.folders_to_create("/Users/me/lab", notebooks) == [
        "/Users/me/lab", "/Users/me/lab/includes", "/Users/me/lab/includes/deep",
    ]  # fmt: skip
