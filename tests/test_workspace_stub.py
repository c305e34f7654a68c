"""The workspace stand-in rejects what a workspace rejects, the way a workspace does.

No Databricks workspace is reachable from here, so tests/workspace_stub.py stands in for one; a deploy
the stub accepts must be one a workspace would accept. These tests send raw HTTP requests (urllib, no
SDK) that a workspace refuses, and check the stub answers with the service's status and error body
(`{"error_code": ..., "message": ...}`), never by dropping the connection.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest
from workspace_stub import WorkspaceStub

TOKEN = "dapi-stub-test"
NOTEBOOK = "/Users/learner@example.com/lab/01-lab"
CLUSTER = {"spark_version": "17.3.x-cpu-ml-scala2.13", "node_type_id": "Standard_D4ds_v5", "num_workers": 0}


@pytest.fixture
def stub():
    with WorkspaceStub(TOKEN) as workspace:
        workspace.put_notebook(NOTEBOOK)
        yield workspace
    assert workspace.contract_problems == []


def call(stub, method: str, path: str, query: str = "", body=None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    url = f"{stub.url}{path}{'?' + query if query else ''}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def task(**changes) -> dict:
    base = {"task_key": "lab", "notebook_task": {"notebook_path": NOTEBOOK}, "new_cluster": dict(CLUSTER)}
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def assert_rejected(answer, status: int, error_code: str, *words: str) -> None:
    code, body = answer
    assert (code, body.get("error_code")) == (status, error_code), body
    for word in words:
        assert word in body["message"], body["message"]


# --- the REST rules --------------------------------------------------------------------------------


def test_a_get_with_a_body_is_refused(stub):
    answer = call(stub, "GET", "/api/2.0/workspace/get-status", body={"path": NOTEBOOK})
    assert_rejected(answer, 400, "MALFORMED_REQUEST", "query string")


def test_a_post_with_its_parameters_in_the_query_is_refused(stub):
    answer = call(stub, "POST", "/api/2.0/workspace/mkdirs", query="path=/Users/learner@example.com/x")
    assert_rejected(answer, 400, "MALFORMED_REQUEST", "JSON body")


def test_a_missing_required_field_is_a_400_not_a_dropped_connection(stub):
    assert_rejected(call(stub, "POST", "/api/2.0/workspace/delete", body={"recursive": True}),
                    400, "INVALID_PARAMETER_VALUE", "Missing required field: path")  # fmt: skip
    assert_rejected(call(stub, "GET", "/api/2.2/jobs/runs/get"), 400, "INVALID_PARAMETER_VALUE", "run_id")


def test_unknown_fields_and_wrong_types_are_refused(stub):
    assert_rejected(call(stub, "POST", "/api/2.0/workspace/mkdirs", body={"path": "/Users/x", "recurse": True}),
                    400, "INVALID_PARAMETER_VALUE", "recurse")  # fmt: skip
    assert_rejected(call(stub, "POST", "/api/2.0/workspace/import", body={"path": NOTEBOOK, "overwrite": "yes"}),
                    400, "INVALID_PARAMETER_VALUE", "overwrite")  # fmt: skip
    assert_rejected(call(stub, "POST", "/api/2.0/workspace/import", body={"path": NOTEBOOK, "format": "PY"}),
                    400, "INVALID_PARAMETER_VALUE", "'PY' is not one of")  # fmt: skip


def test_a_missing_path_is_404_resource_does_not_exist(stub):
    answer = call(stub, "GET", "/api/2.0/workspace/get-status", query="path=/Users/nobody/lab")
    assert_rejected(answer, 404, "RESOURCE_DOES_NOT_EXIST", "/Users/nobody/lab")


# --- import ------------------------------------------------------------------------------------------


def test_import_refuses_more_than_10_mb(stub):
    # The limit is stated here, not read from the stub: 10 MiB of base64 content, as the workspace API documents.
    ten_mb = 10 * 1024 * 1024
    header = b"# Databricks notebook source\n"

    def body(size: int) -> dict:  # a notebook of `size` bytes: 4 characters of base64 for each 3
        content = base64.b64encode(header + b"x" * (size - len(header))).decode()
        return {"path": NOTEBOOK, "content": content, "format": "SOURCE", "language": "PYTHON", "overwrite": True}

    over = body(ten_mb // 4 * 3 + 1)  # one byte more: 4 characters of base64 over the limit
    assert len(over["content"]) == ten_mb + 4
    assert_rejected(call(stub, "POST", "/api/2.0/workspace/import", body=over), 400, "MAX_NOTEBOOK_SIZE_EXCEEDED")
    assert stub.objects[NOTEBOOK]["content"] == header
    at_the_limit = body(ten_mb // 4 * 3)
    assert len(at_the_limit["content"]) == ten_mb
    assert call(stub, "POST", "/api/2.0/workspace/import", body=at_the_limit) == (200, {})
    assert len(stub.objects[NOTEBOOK]["content"]) == ten_mb // 4 * 3


def test_import_does_not_replace_a_folder_with_a_notebook(stub):
    folder = NOTEBOOK.rsplit("/", 1)[0]
    body = {"path": folder, "content": base64.b64encode(b"# Databricks notebook source\n").decode(),
            "format": "SOURCE", "language": "PYTHON", "overwrite": True}  # fmt: skip
    assert_rejected(call(stub, "POST", "/api/2.0/workspace/import", body=body), 400, "RESOURCE_ALREADY_EXISTS")
    assert stub.objects[folder]["object_type"] == "DIRECTORY" and NOTEBOOK in stub.objects


# --- runs/submit ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tasks", "words"),
    [
        ([task(task_key=None)], ["task_key"]),
        ([task(notebook_task=None)], ["no task type"]),
        ([task(notebook_task={"base_parameters": {}})], ["notebook_path"]),
        ([task(existing_cluster_id="0101-120000-lab01abc")], ["at most one of", "existing_cluster_id"]),
        ([task(new_cluster=None, environment_key="lab")], ["environment_key", "'lab'"]),
        ([task(new_cluster={**CLUSTER, "spark_version": "17.3.x-scala2.13-ml"})], ["spark_version"]),
        ([task(new_cluster={k: v for k, v in CLUSTER.items() if k != "node_type_id"})], ["node_type_id"]),
        ([task(), task()], ["unique"]),
        ([task(task_key="lab 15.4")], ["task_key"]),
    ],
    ids=["no task_key", "no notebook_task", "no notebook_path", "two clusters", "undeclared environment",
         "bad spark_version", "no node type", "same task_key twice", "task_key with a space"],
)  # fmt: skip
def test_submit_refuses_what_the_jobs_service_refuses(stub, tasks, words):
    answer = call(stub, "POST", "/api/2.2/jobs/runs/submit", body={"run_name": "lab", "tasks": tasks})
    assert_rejected(answer, 400, "INVALID_PARAMETER_VALUE", *words)
    assert stub.runs == {}


def test_a_serverless_task_has_no_cluster_and_may_name_an_environment_of_the_run(stub):
    """A notebook task with no cluster runs on serverless compute (the jobs API: no new_cluster,
    existing_cluster_id or job_cluster_key), in the run's environment its environment_key names."""
    environment = {"environment_key": "lab", "spec": {"environment_version": "5", "dependencies": ["mlflow==3.8.1"]}}
    for tasks, environments in [([task(new_cluster=None)], []),
                                ([task(new_cluster=None, environment_key="lab")], [environment])]:  # fmt: skip
        code, body = call(stub, "POST", "/api/2.2/jobs/runs/submit",
                          body={"run_name": "lab", "tasks": tasks, "environments": environments})  # fmt: skip
        assert code == 200, body


def test_a_run_of_a_notebook_that_does_not_exist_fails(stub):
    missing = NOTEBOOK + "-gone"
    code, body = call(stub, "POST", "/api/2.2/jobs/runs/submit",
                      body={"run_name": "lab", "tasks": [task(notebook_task={"notebook_path": missing})]})  # fmt: skip
    assert code == 200
    states = [call(stub, "GET", "/api/2.2/jobs/runs/get", query=f"run_id={body['run_id']}")[1] for _ in range(3)]
    final = states[-1]
    assert final["state"]["result_state"] == "FAILED" and missing in final["state"]["state_message"]
    assert final["status"]["termination_details"]["code"] == "RESOURCE_NOT_FOUND"


def test_a_cancelled_run_is_terminating_for_a_while(stub):
    code, body = call(stub, "POST", "/api/2.2/jobs/runs/submit", body={"run_name": "lab", "tasks": [task()]})
    run = f"run_id={body['run_id']}"
    assert call(stub, "GET", "/api/2.2/jobs/runs/get", query=run)[1]["status"]["state"] == "PENDING"
    assert call(stub, "POST", "/api/2.2/jobs/runs/cancel", body={"run_id": body["run_id"]})[0] == 200
    seen = [call(stub, "GET", "/api/2.2/jobs/runs/get", query=run)[1]["status"]["state"] for _ in range(4)]
    assert seen == ["TERMINATING", "TERMINATING", "TERMINATED", "TERMINATED"]


def test_an_active_run_cannot_be_deleted(stub):
    code, body = call(stub, "POST", "/api/2.2/jobs/runs/submit", body={"run_name": "lab", "tasks": [task()]})
    call(stub, "POST", "/api/2.2/jobs/runs/cancel", body={"run_id": body["run_id"]})
    call(stub, "GET", "/api/2.2/jobs/runs/get", query=f"run_id={body['run_id']}")  # TERMINATING
    answer = call(stub, "POST", "/api/2.2/jobs/runs/delete", body={"run_id": body["run_id"]})
    assert_rejected(answer, 400, "INVALID_STATE", "active")


def test_a_task_has_a_result_only_if_its_notebook_ends_with_dbutils_notebook_exit():
    """What decides whether the stub returns a summary: the notebook's own last cell, as in a workspace."""
    from workspace_stub import exits_with_a_result

    header = b"# Databricks notebook source\n"
    assert exits_with_a_result(header + b"x = 1\n\n# COMMAND ----------\n\ndbutils.notebook.exit('{}')\n")
    assert not exits_with_a_result(header + b"dbutils.notebook.exit('{}')\n\n# COMMAND ----------\n\nprint(1)\n")
    assert not exits_with_a_result(header + b"# dbutils.notebook.exit('{}') is commented out\n")


def test_a_serverless_tasks_summary_names_its_environment_and_no_library_it_cannot_know(stub):
    """client.<version>: DATABRICKS_RUNTIME_VERSION on serverless; MLflow of the environment, the job's pins on top."""
    environment = {"environment_version": "5", "dependencies": ["scikit-learn==1.6.1", "matplotlib==3.10.0"]}
    summary = stub.summary({"run_id": 7, "environment": environment,
                            "notebook_task": {"notebook_path": NOTEBOOK, "base_parameters": {}}})  # fmt: skip
    assert summary["runtime"] == "client.5.x"
    assert summary["libraries"] == {"mlflow": "3.8.1", "scikit-learn": "1.6.1", "pandas": None, "numpy": None,
                                    "spark": None}  # fmt: skip


def test_the_stubs_docstring_lists_its_known_differences_from_a_workspace():
    """Each way the stand-in is known to differ is written down, with what a test would miss because of it."""
    import workspace_stub

    block = workspace_stub.__doc__.split("Known differences from a real workspace", 1)[1]
    header, rule = [line for line in block.splitlines() if " | " in line][:2]
    assert [cell.strip() for cell in header.split(" | ")] == ["the stub", "a real workspace", "what a test would miss"]
    rows = block.split(rule, 1)[1].strip().split("\n\n")  # a blank line between rows
    assert len(rows) >= 6
    for row in rows:  # three columns on every line, none of them empty over the row
        assert all(line.count("|") == 2 for line in row.splitlines()), row
        assert all(" ".join(line.split("|")[column] for line in row.splitlines()).strip() for column in range(3)), row
    text = " ".join(" ".join(row.split()) for row in rows)
    for topic in ["QUEUED", "BLOCKED", "runs/get-output", "entitlement", "quota", "home folder"]:
        assert topic in text, topic
