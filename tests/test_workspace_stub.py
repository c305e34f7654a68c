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
from pathlib import Path

import pytest
from workspace_stub import WorkspaceStub

ROOT = Path(__file__).resolve().parent.parent

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
    assert_rejected(
        call(stub, "POST", "/api/2.0/workspace/delete", body={"recursive": True}),
        400,
        "INVALID_PARAMETER_VALUE",
        "Missing required field: path",
    )
    assert_rejected(call(stub, "GET", "/api/2.2/jobs/runs/get"), 400, "INVALID_PARAMETER_VALUE", "run_id")


def test_unknown_fields_and_wrong_types_are_refused(stub):
    assert_rejected(
        call(stub, "POST", "/api/2.0/workspace/mkdirs", body={"path": "/Users/x", "recurse": True}),
        400,
        "INVALID_PARAMETER_VALUE",
        "recurse",
    )
    assert_rejected(
        call(stub, "POST", "/api/2.0/workspace/import", body={"path": NOTEBOOK, "overwrite": "yes"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "overwrite",
    )
    assert_rejected(
        call(stub, "POST", "/api/2.0/workspace/import", body={"path": NOTEBOOK, "format": "PY"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "'PY' is not one of",
    )


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
    body = {
        "path": folder,
        "content": base64.b64encode(b"# Databricks notebook source\n").decode(),
        "format": "SOURCE",
        "language": "PYTHON",
        "overwrite": True,
    }
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
    ids=[
        "no task_key",
        "no notebook_task",
        "no notebook_path",
        "two clusters",
        "undeclared environment",
        "bad spark_version",
        "no node type",
        "same task_key twice",
        "task_key with a space",
    ],
)
def test_submit_refuses_what_the_jobs_service_refuses(stub, tasks, words):
    answer = call(stub, "POST", "/api/2.2/jobs/runs/submit", body={"run_name": "lab", "tasks": tasks})
    assert_rejected(answer, 400, "INVALID_PARAMETER_VALUE", *words)
    assert stub.runs == {}


def test_a_serverless_task_has_no_cluster_and_may_name_an_environment_of_the_run(stub):
    """A notebook task with no cluster runs on serverless compute (the jobs API: no new_cluster,
    existing_cluster_id or job_cluster_key), in the run's environment its environment_key names."""
    environment = {"environment_key": "lab", "spec": {"environment_version": "5", "dependencies": ["mlflow==3.8.1"]}}
    for tasks, environments in [
        ([task(new_cluster=None)], []),
        ([task(new_cluster=None, environment_key="lab")], [environment]),
    ]:
        code, body = call(
            stub,
            "POST",
            "/api/2.2/jobs/runs/submit",
            body={"run_name": "lab", "tasks": tasks, "environments": environments},
        )
        assert code == 200, body


def test_a_run_of_a_notebook_that_does_not_exist_fails(stub):
    missing = NOTEBOOK + "-gone"
    code, body = call(
        stub,
        "POST",
        "/api/2.2/jobs/runs/submit",
        body={"run_name": "lab", "tasks": [task(notebook_task={"notebook_path": missing})]},
    )
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
    summary = stub.summary(
        {"run_id": 7, "environment": environment, "notebook_task": {"notebook_path": NOTEBOOK, "base_parameters": {}}}
    )
    assert summary["runtime"] == "client.5.x"
    assert summary["libraries"] == {
        "mlflow": "3.8.1",
        "scikit-learn": "1.6.1",
        "pandas": None,
        "numpy": None,
        "spark": None,
    }


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


# --- serverless environments (the rules table of workspace_stub's docstring) -----------------------------


def submit(stub, tasks, environments=None, **run) -> tuple[int, dict]:
    body = {"run_name": "lab", "tasks": tasks, **run}
    if environments is not None:
        body["environments"] = environments
    return call(stub, "POST", "/api/2.2/jobs/runs/submit", body=body)


def serverless(**changes) -> dict:
    return task(new_cluster=None, environment_key="lab", **changes)


def environment(key="lab", **spec) -> dict:
    return {"environment_key": key, "spec": spec or {"environment_version": "5"}}


def test_undeclared_environment_key(stub):
    answer = submit(stub, [serverless()], [environment("other")])
    assert_rejected(answer, 400, "INVALID_PARAMETER_VALUE", "environment_key 'lab'", "['other']")


def test_environment_key_used_twice(stub):
    answer = submit(stub, [serverless()], [environment(), environment(environment_version="4")])
    assert_rejected(answer, 400, "INVALID_PARAMETER_VALUE", "'lab'", "unique within a job")


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"dependencies": ["scikit-learn"]}, ["either environment_version or base_environment needs to be provided"]),
        ({"client": "1"}, ["needs to be provided"]),
        (
            {"environment_version": "5", "base_environment": "workspace-base-environments/databricks_ml_v5"},
            ["not both"],
        ),
    ],
)
def test_environment_version_xor_base(stub, spec, words):
    assert_rejected(submit(stub, [serverless()], [environment(**spec)]), 400, "INVALID_PARAMETER_VALUE", *words)
    assert stub.runs == {}
    ml_v5 = "workspace-base-environments/databricks_ml_v5"  # env 5's ML base environment (Beta)
    for accepted in [{"environment_version": "5"}, {"base_environment": ml_v5}]:
        code, body = submit(stub, [serverless()], [environment(**accepted)])
        assert code == 200, body


@pytest.mark.parametrize("version", ["6", "5.0", "v5", "latest", "0"])
def test_unknown_environment_version(stub, version):
    answer = submit(stub, [serverless()], [environment(environment_version=version)])
    assert_rejected(answer, 400, "INVALID_PARAMETER_VALUE", f"environment_version {version!r}", "1, 2, 3, 4, 5")


def test_base_environment_forms(stub):
    for base in [
        "/Workspace/Users/learner@example.com/env.yaml",
        "/Volumes/workspace/default/envs/ml.yml",
        "workspace-base-environments/dbe_b849b66e-b31a-4cb5-b161-1f2b10877fb7",
    ]:
        code, body = submit(stub, [serverless()], [environment(base_environment=base)])
        assert code == 200, (base, body)
    for base in ["databricks_ml_v5", "/tmp/env.yaml", "ML"]:
        answer = submit(stub, [serverless()], [environment(base_environment=base)])
        assert_rejected(answer, 400, "INVALID_PARAMETER_VALUE", f"base_environment {base!r}")


@pytest.mark.parametrize(
    "line",
    [
        "",
        "   ",
        "scikit-learn matplotlib",
        "scikit-learn==",
        "mlflow>=3,,<4",
        "# a comment",
        "--no-such-option",
        "scikit-learn\nmatplotlib",
    ],
)
def test_malformed_dependency_lines(stub, line):
    answer = submit(stub, [serverless()], [environment(environment_version="5", dependencies=["mlflow", line])])
    assert_rejected(answer, 400, "INVALID_PARAMETER_VALUE", f"dependency {line!r}", "pip requirements-file line")


def test_well_formed_dependency_lines_pass(stub):
    lines = [
        "scikit-learn",
        "matplotlib==3.10.0",
        "mlflow[databricks]>=3.1,<4",
        "numpy; python_version >= '3.10'",
        "/Volumes/workspace/default/wheels/lab-0.1-py3-none-any.whl",
        "git+https://github.com/org/repo.git@v1",
        "https://example.com/lab-0.1.tar.gz",
        "-r /Workspace/Shared/requirements.txt",
        "--index-url https://pypi.org/simple",
    ]
    code, body = submit(stub, [serverless()], [environment(environment_version="5", dependencies=lines)])
    assert code == 200, body


def test_relative_notebook_path_refused(stub):
    """At submit, as the jobs API documents the field, not when the task would open the notebook."""
    answer = submit(stub, [task(notebook_task={"notebook_path": "lab/01-lab"})])
    assert_rejected(answer, 400, "INVALID_PARAMETER_VALUE", "'lab/01-lab'", "absolute")
    assert stub.runs == {}
    # In a Git repository, the other way round.
    git = {"git_url": "https://github.com/org/repo", "git_provider": "gitHub", "git_branch": "main"}
    answer = submit(stub, [task(notebook_task={"notebook_path": NOTEBOOK})], git_source=git)
    assert_rejected(answer, 400, "INVALID_PARAMETER_VALUE", "relative")
    code, body = submit(stub, [task(notebook_task={"notebook_path": "notebooks/01-lab"})], git_source=git)
    assert code == 200, body


# --- Free Edition ------------------------------------------------------------------------------------


@pytest.fixture
def free_edition():
    with WorkspaceStub(TOKEN, free_edition=True) as workspace:
        workspace.put_notebook(NOTEBOOK)
        yield workspace
    assert workspace.contract_problems == []


@pytest.mark.parametrize(
    "cluster",
    [{"new_cluster": CLUSTER}, {"existing_cluster_id": "0101-120000-lab01abc"}],
    ids=["new_cluster", "existing_cluster_id"],
)
def test_free_edition_refuses_clusters(free_edition, cluster):
    answer = submit(free_edition, [task(**{"new_cluster": None, **cluster})])
    assert_rejected(answer, 400, "INVALID_PARAMETER_VALUE", "serverless compute only", next(iter(cluster)))
    code, body = submit(free_edition, [serverless()], [environment()])
    assert code == 200, body


def test_free_edition_queues_past_five(free_edition):
    """Seven tasks at once (a run of four, then a run of three): five start, two wait QUEUED with the queue's
    code until tasks end; over the whole, never more than five run at once."""
    runs = [
        submit(free_edition, [serverless(task_key=f"t{i}") for i in range(count)], [environment()])[1]["run_id"]
        for count in (4, 3)
    ]

    def poll(run_id):
        return call(free_edition, "GET", "/api/2.2/jobs/runs/get", query=f"run_id={run_id}")[1]

    first, second = poll(runs[0]), poll(runs[1])
    assert [t["status"]["state"] for t in first["tasks"]] == ["PENDING"] * 4
    assert [t["status"]["state"] for t in second["tasks"]] == ["PENDING", "QUEUED", "QUEUED"]
    queued = second["tasks"][1]["status"]
    assert queued["queue_details"]["code"] == "ACTIVE_RUNS_LIMIT_REACHED"
    assert second["tasks"][1]["state"]["life_cycle_state"] == "QUEUED"
    for _ in range(12):
        for run_id in runs:
            poll(run_id)
    assert free_edition.most_tasks_active_at_once == 5  # seven without the limit
    assert [poll(run_id)["status"]["state"] for run_id in runs] == ["TERMINATED", "TERMINATED"]
    assert all(t["status"]["termination_details"]["code"] == "SUCCESS" for r in runs for t in poll(r)["tasks"])


def test_a_workspace_that_is_not_free_edition_queues_nothing(stub):
    runs = [
        submit(stub, [serverless(task_key=f"t{i}") for i in range(4)], [environment()])[1]["run_id"] for _ in range(2)
    ]
    for run_id in runs:
        answer = call(stub, "GET", "/api/2.2/jobs/runs/get", query=f"run_id={run_id}")[1]
        assert {t["status"]["state"] for t in answer["tasks"]} == {"PENDING"}


# --- Unity Catalog volumes ---------------------------------------------------------------------------

VOLUMES = "/api/2.1/unity-catalog/volumes"


def create_volume(stub, name, catalog="workspace", schema="default", **more) -> tuple[int, dict]:
    body = {"catalog_name": catalog, "schema_name": schema, "name": name, "volume_type": "MANAGED", **more}
    return call(stub, "POST", VOLUMES, body=body)


def test_existing_volume_not_created(stub):
    code, body = create_volume(stub, "dp090_mlflow_lab_learner")
    assert code == 200 and body["full_name"] == "workspace.default.dp090_mlflow_lab_learner", body
    assert_rejected(
        create_volume(stub, "DP090_mlflow_lab_learner"),
        409,
        "RESOURCE_ALREADY_EXISTS",
        "Volume 'workspace.default.dp090_mlflow_lab_learner' already exists",
    )


def test_volume_names_follow_uc_rules(stub):
    for name in ["lab volume", "lab.volume", "lab/volume", "lab\tvolume", "", "v" * 256]:
        assert_rejected(create_volume(stub, name), 400, "INVALID_PARAMETER_VALUE", "Invalid name")
    code, body = create_volume(stub, "Lab-Models_" + "v" * 200)
    assert code == 200 and body["name"] == "lab-models_" + "v" * 200  # kept in lower case


def test_volume_in_missing_schema(stub):
    assert_rejected(
        create_volume(stub, "lab", schema="lab"),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Schema 'workspace.lab' does not exist.",
    )
    assert_rejected(
        create_volume(stub, "lab", catalog="main"), 404, "RESOURCE_DOES_NOT_EXIST", "Catalog 'main' does not exist."
    )


def test_missing_volume_is_404(stub):
    assert_rejected(
        call(stub, "GET", f"{VOLUMES}/workspace.default.gone"),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Volume 'workspace.default.gone' does not exist.",
    )
    create_volume(stub, "lab")
    assert call(stub, "GET", f"{VOLUMES}/workspace.default.lab")[1]["volume_type"] == "MANAGED"
    assert call(stub, "DELETE", f"{VOLUMES}/workspace.default.lab")[0] == 200
    assert call(stub, "DELETE", f"{VOLUMES}/workspace.default.lab")[0] == 404


def test_managed_volume_no_location(stub):
    answer = create_volume(stub, "lab", storage_location="abfss://c@a.dfs.core.windows.net/lab")
    assert_rejected(answer, 400, "INVALID_PARAMETER_VALUE", "storage_location can not be provided")


# --- the CLI's names ---------------------------------------------------------------------------------


def test_short_name_is_the_clis():
    """databricks/cli libs/iamutil/user_test.go's cases, and the lab's own example."""
    from workspace_stub import short_name

    cases = {
        "first.last@example.com": "first_last",
        "test.user.1234@example.com": "test_user_1234",
        "tést.üser@example.com": "tést_üser",
        "test$.user@example.com": "test_user",
        "jöhn.dœ@domain.com": "jöhn_dœ",
        "first+tag@email.com": "first_tag",
        "email@sub.domain.com": "email",
        '"_quoted"@domain.com': "quoted",
        "name-o'mally@website.org": "name_o_mally",
        "user%domain@external.com": "user_domain",
        "long.name.with.dots@domain.net": "long_name_with_dots",
        "me&you@together.com": "me_you",
        "user!def!xyz@domain.org": "user_def_xyz",
        "admin@ιντερνετ.com": "admin",
        "John.Doe@COMPANY.COM": "john_doe",
    }
    assert {user: short_name(user) for user in cases} == cases
    principal = "1706906c-c0a2-4c25-9f57-3a7aa3cb8123"
    assert short_name(principal, "my-service-principal") == "my_service_principal"
    assert short_name(principal) == "1706906c_c0a2_4c25_9f57_3a7aa3cb8123"
    assert short_name("first.last@example.com", "First Last") == "first_last"  # a user's display name is not used


def test_dev_mode_names_but_not_volumes():
    from workspace_stub import development_name

    assert development_name("jobs", "dp090 lab (serverless)", "first_last") == "[dev first_last] dp090 lab (serverless)"
    assert (
        development_name("experiments", "/Users/first.last@example.com/dp090-lab", "first_last")
        == "/Users/first.last@example.com/[dev first_last] dp090-lab"
    )
    assert development_name("schemas", "lab", "first_last") == "dev_first_last_lab"
    assert development_name("registered_models", "lab", "first_last") == "dev_first_last_lab"
    assert development_name("volumes", "dp090_mlflow_lab", "first_last") == "dp090_mlflow_lab"
    with pytest.raises(ValueError, match="no rule here for resources.widgets"):
        development_name("widgets", "x", "first_last")


def test_two_learners_deploy_the_serverless_bundle_after_running_notebook_02_by_hand(stub):
    """`bundle deploy -t serverless` played for two learners of one workspace: the bundle's volume name (its
    ${workspace.current_user.short_name} resolved per learner) is created for each, although the first already
    made the by-hand volume of notebook 02; a bundle volume named the same for everyone would collide."""
    import yaml
    from workspace_stub import short_name

    bundle = yaml.safe_load((ROOT / "resources" / "lab_serverless.yml").read_text(encoding="utf-8"))
    name = bundle["targets"]["serverless"]["resources"]["volumes"]["lab_volume"]["name"]
    stub.put_volume(f"workspace.default.dp090_mlflow_lab_{short_name('first.last@example.com')}")  # by hand
    for learner in ["first.last@example.com", "second.learner@example.com"]:
        resolved = name.replace("${workspace.current_user.short_name}", short_name(learner))
        resolved = resolved.replace("${bundle.target}", "serverless")
        code, body = create_volume(stub, resolved)
        assert code == 200, body
    assert sorted(stub.volumes) == [
        "workspace.default.dp090_mlflow_lab_first_last",
        "workspace.default.dp090_mlflow_lab_first_last_serverless",
        "workspace.default.dp090_mlflow_lab_second_learner_serverless",
    ]
    assert create_volume(stub, "dp090_mlflow_lab")[0] == 200
    assert create_volume(stub, "dp090_mlflow_lab")[0] == 409  # the old, shared name: the second deploy fails


def test_every_rule_in_the_stubs_table_has_its_test():
    """The test column of the rules table names tests of this file: none renamed away or missing."""
    import workspace_stub

    table = workspace_stub.__doc__.split("The service's rules it holds", 1)[1].split("\n\n")[1]
    named = {line.rsplit("|", 1)[1].strip() for line in table.splitlines()[2:]} - {""}
    assert len(named) >= 15
    assert named <= set(globals()), sorted(named - set(globals()))


# --- Unity Catalog registered models ----------------------------------------------------------------

MODELS = "/api/2.1/unity-catalog/models"
LAB_MODEL = "workspace.default.dp090_nyc_taxi_learner"


def test_model_name_needs_three_levels(stub):
    for name in ["default.dp090_nyc_taxi_learner", "dp090_nyc_taxi_learner", "a.b.c.d"]:
        for method, path in [
            ("GET", f"{MODELS}/{name}"),
            ("DELETE", f"{MODELS}/{name}"),
            ("DELETE", f"{MODELS}/{name}/aliases/champion"),
        ]:
            assert_rejected(call(stub, method, path), 400, "INVALID_PARAMETER_VALUE", "please specify all three levels")


def test_missing_model_is_404(stub):
    assert_rejected(
        call(stub, "GET", f"{MODELS}/{LAB_MODEL}"),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        f"Routine or Model '{LAB_MODEL}' does not exist.",
    )
    assert call(stub, "DELETE", f"{MODELS}/{LAB_MODEL}")[0] == 404
    stub.put_model(LAB_MODEL)
    code, body = call(stub, "GET", f"{MODELS}/{LAB_MODEL.upper()}")  # UC names are not case-sensitive
    assert code == 200 and body["full_name"] == LAB_MODEL, body


def test_model_delete_takes_versions(stub):
    stub.put_model(LAB_MODEL, versions=2, aliases={"champion": 2, "challenger": 1})
    assert call(stub, "DELETE", f"{MODELS}/{LAB_MODEL}") == (200, {})  # versions and aliases still there
    assert stub.registered_models == {}
    assert call(stub, "DELETE", f"{MODELS}/{LAB_MODEL}/versions/1")[0] == 404  # its versions went with it


def test_model_delete_needs_ownership(stub):
    stub.put_model(LAB_MODEL, owner="someone.else@example.com")
    code, body = call(stub, "DELETE", f"{MODELS}/{LAB_MODEL}")
    assert (code, body["error_code"]) == (403, "PERMISSION_DENIED"), body
    assert LAB_MODEL in stub.registered_models


def test_model_aliases_only_when_asked(stub):
    stub.put_model(LAB_MODEL, versions=2, aliases={"champion": 2})
    assert "aliases" not in call(stub, "GET", f"{MODELS}/{LAB_MODEL}")[1]
    code, body = call(stub, "GET", f"{MODELS}/{LAB_MODEL}", "include_aliases=true")
    assert code == 200 and body["aliases"] == [{"alias_name": "champion", "version_num": 2}], body
    assert call(stub, "DELETE", f"{MODELS}/{LAB_MODEL}/aliases/champion")[0] == 200
    assert call(stub, "GET", f"{MODELS}/{LAB_MODEL}", "include_aliases=true")[1]["aliases"] == []
    assert call(stub, "DELETE", f"{MODELS}/{LAB_MODEL}/aliases/champion")[0] == 404


def test_version_delete_takes_aliases(stub):
    stub.put_model(LAB_MODEL, versions=2, aliases={"champion": 2, "challenger": 1})
    assert call(stub, "DELETE", f"{MODELS}/{LAB_MODEL}/versions/1")[0] == 200
    assert stub.registered_models[LAB_MODEL]["aliases"] == {"champion": 2}
    assert sorted(stub.registered_models[LAB_MODEL]["versions"]) == [2]
