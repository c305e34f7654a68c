"""scripts/deploy.py against a local stand-in for a Databricks workspace.

No Databricks workspace is reachable from here, so tests/workspace_stub.py serves the workspace's
REST API on 127.0.0.1 and deploy.py runs in a process of its own against it (deploy_cli.py), through the Databricks
SDK, with DATABRICKS_HOST=http://127.0.0.1:<port> and a recognisable fake DATABRICKS_TOKEN. The
SDK takes an http:// host as given (it only adds https:// to a host without a scheme), so nothing
in deploy.py or the SDK is patched: the requests the stub records are the ones a workspace would get.
"""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import pytest
import yaml
from deploy_cli import ROOT, TOKEN, one_line, run_deploy, workspace, write_profiles
from lab_expected import NOTEBOOKS, REGISTRY, SKLEARN, SPARK, lab_files, named_after
from workspace_stub import EXISTING_CLUSTER

from labtools import lab
from labtools.workspace import client as workspace_deploy
from labtools.workspace import runs, spec

USER = "learner@example.com"
FOLDER = f"/Users/{USER}/dp090-mlflow-lab"
# The lab's notebooks as deployed (tests/lab_expected.py: all of them, from lab.LAB_NOTEBOOKS); the first of each
# engine stands for its kind where they differ (workers, the volume, one notebook failing).
NOTEBOOK, SPARK_NOTEBOOK = f"{FOLDER}/{SKLEARN.stem}", f"{FOLDER}/{SPARK.stem}"
TASK, SPARK_TASK = SKLEARN.task_key, SPARK.task_key
PATHS = {notebook: f"{FOLDER}/{notebook.stem}" for notebook in NOTEBOOKS}
# deploy.py's own experiments, one per notebook; the notebooks' defaults (a learner's runs, the bundle's prod
# target) are others.
EXPERIMENTS = {notebook: f"/Users/{USER}/{notebook.deploy_experiment}" for notebook in NOTEBOOKS}
DEFAULT_EXPERIMENTS = {notebook: f"/Users/{USER}/{notebook.experiment}" for notebook in NOTEBOOKS}
EXPERIMENT, SPARK_EXPERIMENT = EXPERIMENTS[SKLEARN], EXPERIMENTS[SPARK]
NOTEBOOK_FILES = {f"{FOLDER}/{name}": ROOT / "notebooks" / f"{name}.py" for name in lab_files()}
# The Japanese notebooks (notebooks/ja/, `deploy --lang ja`), in a folder of their own beside the English one.
JA_FOLDER = f"/Users/{USER}/dp090-mlflow-lab-ja"
JA_NOTEBOOK_FILES = {f"{JA_FOLDER}/{name}": ROOT / "notebooks" / "ja" / f"{name}.py" for name in lab_files()}
# What `deploy` says it deployed to one folder: every file of notebook_files(), includes too.
DEPLOYED = f"Deployed {len(lab.notebook_files())} notebooks"
SINGLE_NODE = {
    "spark_version": "17.3.x-cpu-ml-scala2.13",
    "node_type_id": "Standard_D4ds_v5",
    "num_workers": 0,
    "spark_conf": {"spark.databricks.cluster.profile": "singleNode", "spark.master": "local[*, 4]"},
    "custom_tags": {"ResourceClass": "SingleNode"},
    "data_security_mode": "SINGLE_USER",
}
FAST = ["--poll-seconds", "0.01"]


@pytest.fixture
def stub():
    with workspace(TOKEN, USER) as started:
        yield started


def put_lab_notebooks(stub) -> None:
    """Every lab notebook in the workspace, as deploy would have put them."""
    for path in PATHS.values():
        stub.put_notebook(path)


def tasks_of(submit) -> dict[str, dict]:
    """A runs/submit request's tasks by task key."""
    return {task["task_key"]: task for task in submit.body["tasks"]}


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
    imports = [
        json.loads(line.split("POST /api/2.0/workspace/import ", 1)[1])
        for line in dry.stdout.splitlines()
        if "POST /api/2.0/workspace/import" in line
    ]
    files = [body["path"] for body in imports if body["format"] == "AUTO"]
    assert files == [f"/Users/<you>/dp090-mlflow-lab/{name}" for name in ["data/nyc-taxi.csv", ".dp090-deployed.json"]]
    imports = [body for body in imports if body["format"] == "SOURCE"]
    assert [body["path"] for body in imports] == [f"/Users/<you>/dp090-mlflow-lab/{name}" for name in lab_files()]
    assert all(body["format"] == "SOURCE" and body["language"] == "PYTHON" for body in imports)
    assert (
        "<base64 of notebooks/includes/spark_setup.py, "
        in imports[lab_files().index("includes/spark_setup")]["content"]
    )


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

    imports = notebook_imports(stub)
    assert {request.body["path"] for request in imports} == set(NOTEBOOK_FILES)
    for request in imports:
        assert request.body["format"] == "SOURCE"
        assert request.body["language"] == "PYTHON"
        assert request.body["overwrite"] is True
        assert base64.b64decode(request.body["content"]) == NOTEBOOK_FILES[request.body["path"]].read_bytes()
    # The includes folder exists before setup is imported into it, so `%run ./includes/setup` finds it.
    order = [(r.path, (r.body or {}).get("path")) for r in stub.requests]
    for include in ["setup", "spark_setup"]:
        assert order.index(("/api/2.0/workspace/mkdirs", f"{FOLDER}/includes")) < order.index(
            ("/api/2.0/workspace/import", f"{FOLDER}/includes/{include}")
        )
        assert stub.objects[f"{FOLDER}/includes/{include}"]["object_type"] == "NOTEBOOK"
    assert f"{DEPLOYED} to {FOLDER}" in result.stdout
    assert f"{stub.url}/browse/folders/{stub.objects[FOLDER]['object_id']}" in result.stdout

    # Beside them, the lab's data (a workspace file) and the manifest of what was deployed.
    files = {
        request.body["path"]: request.body
        for request in stub.calls("POST", "/workspace/import")
        if request.body["format"] == "AUTO"
    }
    assert set(files) == {f"{FOLDER}/data/nyc-taxi.csv", f"{FOLDER}/.dp090-deployed.json"}
    data = (ROOT / "data" / "nyc-taxi.csv").read_bytes()
    assert base64.b64decode(files[f"{FOLDER}/data/nyc-taxi.csv"]["content"]) == data
    assert stub.objects[f"{FOLDER}/data/nyc-taxi.csv"]["object_type"] == "FILE"

    again = run_deploy("deploy", host=stub.url, home=home)  # unchanged since: deploying twice updates them
    assert again.returncode == 0, again.stderr
    assert len(notebook_imports(stub)) == 2 * len(NOTEBOOK_FILES)
    assert f"{DEPLOYED} to {FOLDER}" in again.stdout and "kept" not in again.stdout


def test_deploying_again_keeps_an_edited_notebook_unless_forced_and_then_saves_it_first(stub, home):
    """Your own copy, in each language: an edit made in the workspace survives a second deploy."""
    assert run_deploy("deploy", "--lang", "all", host=stub.url, home=home).returncode == 0
    assert stub.objects[f"{FOLDER}/data/nyc-taxi.csv"]["content"] == (ROOT / "data" / "nyc-taxi.csv").read_bytes()
    edited = [f"{FOLDER}/includes/setup", f"{JA_FOLDER}/{NOTEBOOKS[0].stem}"]
    for path in edited:
        stub.objects[path]["content"] += b"\n# COMMAND ----------\n\nprint('changed here')\n"
    mine = {path: stub.objects[path]["content"] for path in edited}

    again = run_deploy("deploy", "--lang", "all", host=stub.url, home=home)
    assert again.returncode == 0, again.stderr
    assert {path: stub.objects[path]["content"] for path in edited} == mine
    for path in edited:
        assert f"kept {path}: edited since it was deployed; --force replaces it after saving a copy" in again.stdout
    assert f"Deployed {len(lab.notebook_files()) - 1} notebooks to {FOLDER}" in again.stdout

    forced = run_deploy("deploy", "--lang", "all", "--force", host=stub.url, home=home)
    assert forced.returncode == 0, forced.stderr
    for path in edited:
        [backup] = [other for other in stub.objects if other.startswith(path + " (backup ")]
        assert stub.objects[backup]["content"] == mine[path]
        assert f"saved {path} as {backup}" in forced.stdout
    assert stub.objects[edited[0]]["content"] == NOTEBOOK_FILES[f"{FOLDER}/includes/setup"].read_bytes()
    assert stub.objects[edited[1]]["content"] == JA_NOTEBOOK_FILES[edited[1]].read_bytes()


def test_deploy_to_two_workspaces_goes_on_past_one_that_fails(stub, home):
    second_token = "dapi-FAKE-second-token-never-print-me"
    with workspace(second_token, USER) as second:
        second.deny(FOLDER)
        write_profiles(home, {"a": (stub.url, TOKEN), "b": (second.url, second_token)})
        result = run_deploy("deploy", "--profile", "b", "--profile", "a", home=home, token=None, secrets=[second_token])
    assert result.returncode == 1
    assert "== profile b" in result.stdout and "== profile a" in result.stdout
    assert "deploy.py deploy: profile b: create folder" in result.stderr and "HTTP 403" in result.stderr
    assert set(imported(stub)) == set(NOTEBOOK_FILES)
    assert "== 1 of 2 workspaces done; failed: b" in result.stdout


def test_deploy_to_another_folder(stub, home):
    result = run_deploy("deploy", "--folder", "/Shared/dp090/", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    paths = set(imported(stub))
    assert paths == {f"/Shared/dp090/{name}" for name in lab_files()}
    assert stub.calls("GET", "/scim/v2/Me") == []  # the user name is not needed


def imported(stub) -> dict[str, bytes]:
    """What deploy imported as notebooks: each workspace path and the content it sent."""
    return {request.body["path"]: base64.b64decode(request.body["content"]) for request in notebook_imports(stub)}


def notebook_imports(stub) -> list:
    """The import requests of notebooks (SOURCE); the lab's data and the manifest are workspace files (AUTO)."""
    return [request for request in stub.calls("POST", "/workspace/import") if request.body["format"] == "SOURCE"]


def test_deploy_lang_ja_imports_exactly_the_japanese_notebooks_into_their_own_folder(stub, home):
    result = run_deploy("deploy", "--lang", "ja", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    assert sorted(imported(stub)) == [f"/Users/learner@example.com/dp090-mlflow-lab-ja/{name}" for name in lab_files()]
    assert imported(stub) == {path: file.read_bytes() for path, file in JA_NOTEBOOK_FILES.items()}
    first = imported(stub)[f"{JA_FOLDER}/{NOTEBOOKS[0].stem}"]
    assert first != NOTEBOOK_FILES[f"{FOLDER}/{NOTEBOOKS[0].stem}"].read_bytes()  # not the English
    assert "実験" in first.decode("utf-8")
    assert f"{DEPLOYED} to {JA_FOLDER}\n" in result.stdout

    dry = run_deploy("deploy", "--lang", "ja", "--dry-run", home=home, token=None)
    assert dry.returncode == 0, dry.stderr
    assert [
        body["path"]
        for line in dry.stdout.splitlines()
        if "POST /api/2.0/workspace/import" in line
        if (body := json.loads(line.split("POST /api/2.0/workspace/import ", 1)[1]))["format"] == "SOURCE"
    ] == [f"/Users/<you>/dp090-mlflow-lab-ja/{name}" for name in lab_files()]
    assert "<base64 of notebooks/ja/includes/spark_setup.py, " in dry.stdout


def test_deploy_lang_all_imports_both_languages_each_into_its_folder(stub, home):
    result = run_deploy("deploy", "--lang", "all", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    expected = {**NOTEBOOK_FILES, **JA_NOTEBOOK_FILES}
    assert len(expected) == 2 * len(lab.notebook_files())
    assert imported(stub) == {path: file.read_bytes() for path, file in expected.items()}
    assert f"{DEPLOYED} to {FOLDER}\n" in result.stdout
    assert f"{DEPLOYED} to {JA_FOLDER}\n" in result.stdout
    assert len(stub.calls("GET", "/scim/v2/Me")) == 1  # the user name is asked once


def test_deploy_lang_en_is_the_default(stub, home):
    result = run_deploy("deploy", "--lang", "en", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    assert imported(stub) == {path: file.read_bytes() for path, file in NOTEBOOK_FILES.items()}
    # Without --lang: the English notebooks, and nothing else (not the Japanese folder too).
    stub.requests.clear()
    default = run_deploy("deploy", host=stub.url, home=home)
    assert default.returncode == 0, default.stderr
    assert imported(stub) == {path: file.read_bytes() for path, file in NOTEBOOK_FILES.items()}


def test_lang_all_with_one_folder_is_refused_before_any_call(stub, home):
    result = run_deploy("deploy", "--lang", "all", "--folder", "/Shared/dp090", host=stub.url, home=home)
    assert result.returncode == 2 and "--folder names one: give --lang en or ja" in result.stderr
    assert stub.requests == []


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

    # One run, a task per lab notebook, each with its own experiment, each on a single-node cluster of its own
    # (Standard_D4ds_v5: the stub says it is an Azure workspace).
    [submit] = stub.calls("POST", "/jobs/runs/submit")
    assert [task["task_key"] for task in submit.body["tasks"]] == [notebook.task_key for notebook in NOTEBOOKS]
    # Two clusters at once by default (--max-parallel 2): a third notebook's task waits for the first's to end.
    assert tasks_of(submit) == {
        notebook.task_key: {
            "task_key": notebook.task_key,
            "new_cluster": SINGLE_NODE,
            "notebook_task": {
                "notebook_path": PATHS[notebook],
                "base_parameters": {"experiment_name": EXPERIMENTS[notebook]},
            },
            **(
                {"depends_on": [{"task_key": NOTEBOOKS[index - 2].task_key}], "run_if": "ALL_DONE"}
                if index >= 2
                else {}
            ),
        }
        for index, notebook in enumerate(NOTEBOOKS)
    }
    assert submit.body["run_name"] == workspace_deploy.RUN_NAME
    count = len(NOTEBOOKS)
    assert (
        f"Starts {count} clusters ({count} nodes of Standard_D4ds_v5, 4 vCPUs each: {4 * count} vCPUs in all), "
        f"at most {min(2, count)} at once"
    ) in result.stdout

    run_id = max(stub.runs)
    lines = result.stdout.splitlines()
    states = [
        next(i for i, line in enumerate(lines) if state in line)
        for state in ["PENDING", "RUNNING", "TERMINATED SUCCESS"]
    ]
    assert states == sorted(states)
    assert f"{stub.url}/jobs/runs/{run_id}" in result.stdout
    assert "Final state: TERMINATED SUCCESS" in result.stdout
    # Every notebook is reported, each with the experiment that holds its runs.
    for notebook in NOTEBOOKS:
        assert f"  {PATHS[notebook]} -> experiment {EXPERIMENTS[notebook]}" in lines
    assert lines[-len(NOTEBOOKS) :] == [
        f"  {notebook.stem}: SUCCESS; its runs are in the MLflow experiment {EXPERIMENTS[notebook]}"
        for notebook in NOTEBOOKS
    ]
    assert {name for name, experiment in stub.experiments.items() if experiment["lifecycle_stage"] == "active"} == set(
        EXPERIMENTS.values()
    )
    # One poll per step of the run: its tasks' scripts, a task that waited for another starting after it.
    assert len(stub.calls("GET", "/jobs/runs/get")) == max(
        task["first_step"] + len(task["script"]) for task in stub.runs[run_id]["tasks"]
    )
    assert stub.runs[run_id]["tasks"][0]["first_step"] == 0
    assert stub.calls("GET", "/jobs/runs/get-output") == []


def test_run_serverless_submits_tasks_with_no_cluster_in_the_job_environment(stub, home):
    """Databricks Free Edition has serverless compute only: run --serverless asks for no cluster."""
    put_lab_notebooks(stub)
    result = run_deploy("run", "--serverless", *FAST, host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    [submit] = stub.calls("POST", "/jobs/runs/submit")
    tasks = tasks_of(submit)
    assert set(tasks) == {notebook.task_key for notebook in NOTEBOOKS}
    for task in tasks.values():
        assert task["environment_key"] == "lab"
        assert not {"new_cluster", "existing_cluster_id", "job_cluster_key"} & set(task), task
    assert submit.body["environments"] == [
        {"environment_key": "lab", "spec": {"environment_version": "5", "dependencies": ["scikit-learn", "matplotlib"]}}
    ]
    assert (
        f"Starts no cluster: {len(NOTEBOOKS)} tasks on serverless compute (environment version 5), at most "
        f"{min(2, len(NOTEBOOKS))} at once"
    ) in result.stdout
    assert "each a task on serverless compute (environment version 5)" in result.stdout
    assert "Final state: TERMINATED SUCCESS" in result.stdout


def test_run_serverless_dry_run_shows_the_tasks_without_a_cluster_and_their_environment(home):
    result = run_deploy("run", "--serverless", "--dry-run", home=home, token=None)
    assert result.returncode == 0, result.stderr
    [submit_line] = [line for line in result.stdout.splitlines() if "POST /api/2.2/jobs/runs/submit" in line]
    body = json.loads(submit_line.split("runs/submit", 1)[1])
    assert [task.get("environment_key") for task in body["tasks"]] == ["lab"] * len(NOTEBOOKS)
    assert not any("new_cluster" in task or "existing_cluster_id" in task for task in body["tasks"])
    assert body["environments"][0]["spec"]["environment_version"] == "5"


def test_run_serverless_runs_on_free_edition_and_a_classic_run_is_refused_there_in_one_line(home):
    """Against a stand-in of Databricks Free Edition (serverless compute only, 5 tasks at once): --serverless
    passes its rules; a run that asks for a cluster gets the workspace's refusal, said in one line."""
    with workspace(TOKEN, USER, free_edition=True) as free:
        put_lab_notebooks(free)
        result = run_deploy("run", "--serverless", *FAST, host=free.url, home=home)
        assert result.returncode == 0, result.stderr
        assert "Final state: TERMINATED SUCCESS" in result.stdout
        classic = run_deploy("run", "--node-type", "Standard_D4ds_v5", *FAST, host=free.url, home=home)
        assert classic.returncode == 1
        assert "serverless compute only" in one_line(classic.stderr)
        assert len(free.runs) == 1


def test_run_serverless_volume_is_the_spark_ml_notebooks_volume_parameter(stub, home):
    """--volume names the volume mlflow.spark passes model files through: the Spark ML notebook's `volume`
    widget, and no other notebook's (the scikit-learn notebook declares none)."""
    put_lab_notebooks(stub)
    result = run_deploy(
        "run", "--serverless", "--volume", "workspace.default.lab_models", *FAST, host=stub.url, home=home
    )
    assert result.returncode == 0, result.stderr
    tasks = tasks_of(stub.calls("POST", "/jobs/runs/submit")[0])
    for notebook in NOTEBOOKS:  # the Spark ML notebooks' widget; the others declare none
        parameters = tasks[notebook.task_key]["notebook_task"]["base_parameters"]
        assert parameters.get("volume") == ("workspace.default.lab_models" if notebook.uses_spark else None)
    assert tasks[SPARK_TASK]["notebook_task"]["base_parameters"]["volume"] == "workspace.default.lab_models"


def test_run_without_volume_leaves_the_notebook_its_own_default(stub, home):
    put_lab_notebooks(stub)
    assert run_deploy("run", "--serverless", *FAST, host=stub.url, home=home).returncode == 0
    tasks = tasks_of(stub.calls("POST", "/jobs/runs/submit")[0])
    assert all("volume" not in task["notebook_task"]["base_parameters"] for task in tasks.values())


def test_run_dry_run_shows_the_volume(home):
    result = run_deploy("run", "--serverless", "--volume", "main.lab.models", "--dry-run", home=home, token=None)
    assert result.returncode == 0, result.stderr
    [submit_line] = [line for line in result.stdout.splitlines() if "POST /api/2.2/jobs/runs/submit" in line]
    body = json.loads(submit_line.split("runs/submit", 1)[1])
    assert [task["notebook_task"]["base_parameters"].get("volume") for task in body["tasks"]] == [
        "main.lab.models" if notebook.uses_spark else None for notebook in NOTEBOOKS
    ]
    assert "main.lab.models" in [task["notebook_task"]["base_parameters"].get("volume") for task in body["tasks"]]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("dp090_mlflow_lab", "'dp090_mlflow_lab' is not a volume's full name catalog.schema.volume"),
        ("workspace..models", "is not a volume's full name"),
        ("a.b.c.d", "is not a volume's full name"),
        ("workspace.default.my models", "'my models': a Unity Catalog name has no space"),
        ("workspace.default/x.models", "a Unity Catalog name has no space, '/'"),
        ("workspace.default." + "v" * 256, "a Unity Catalog name has at most 255 characters"),
    ],
)
def test_a_malformed_volume_is_a_one_line_error_naming_the_option(home, value, message):
    """Refused before anything is contacted: no host, no token needed."""
    result = run_deploy("run", "--serverless", "--volume", value, home=home, token=None)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith("deploy.py run: --volume: ") and message in line, line


def test_run_catalog_and_schema_go_to_the_notebooks_that_register_a_model(stub, home):
    """--catalog and --schema are the Managing Models notebooks' registry parameters, and no other notebook's;
    without them those notebooks keep their defaults (the session's current catalog and schema)."""
    assert REGISTRY and set(REGISTRY) != set(NOTEBOOKS)
    put_lab_notebooks(stub)
    result = run_deploy("run", "--catalog", "main", "--schema", "lab", *FAST, host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    tasks = tasks_of(stub.calls("POST", "/jobs/runs/submit")[0])
    for notebook in NOTEBOOKS:
        parameters = tasks[notebook.task_key]["notebook_task"]["base_parameters"]
        registry = {"catalog": "main", "schema": "lab"} if notebook in REGISTRY else {}
        assert {key: parameters[key] for key in ("catalog", "schema") if key in parameters} == registry, notebook
        assert "model_name" not in parameters  # blank: the notebook's default name, in that catalog and schema
    stub.requests.clear()
    assert run_deploy("run", *FAST, host=stub.url, home=home).returncode == 0
    tasks = tasks_of(stub.calls("POST", "/jobs/runs/submit")[0])
    assert not any({"catalog", "schema"} & set(task["notebook_task"]["base_parameters"]) for task in tasks.values())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "--catalog", "my catalog"],
            "deploy.py run: --catalog: 'my catalog': a Unity Catalog name has no space",
        ),
        (
            ["run", "--schema", "default.lab"],
            "deploy.py run: --schema: 'default.lab': a Unity Catalog name has no space, '/', period",
        ),
        (["run", "--catalog", ""], "deploy.py run: --catalog: a catalog needs a name"),
        (
            ["run", "--runtime", "18", "--schema", "s" * 256],
            "--schema: 'ssssssssssssssssssss'...: a Unity Catalog name has at most 255 characters",
        ),
        (
            ["clean-up", "--delete-models", "--catalog", "main/x"],
            "deploy.py clean-up: --catalog: 'main/x': a Unity Catalog name has no space, '/'",
        ),
    ],
)
def test_a_malformed_catalog_or_schema_is_a_one_line_error_naming_the_option(home, args, message):
    """The same Unity Catalog naming rules as --volume's (spec.name_problem), before anything is contacted."""
    result = run_deploy(*args, home=home, token=None)
    assert result.returncode == 2
    assert message in one_line(result.stderr), result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--runtime", "all"], "--runtime: serverless compute has no runtime matrix"),
        (["--cluster-id", EXISTING_CLUSTER], "--serverless runs the tasks without a cluster: leave out --cluster-id"),
        (
            ["--num-workers", "2", "--node-type", "m5d.xlarge"],
            "--serverless runs the tasks without a cluster: leave out --num-workers, --node-type",
        ),
    ],
)
def test_run_serverless_refuses_what_needs_a_cluster_in_one_line(stub, home, args, message):
    put_lab_notebooks(stub)
    result = run_deploy("run", "--serverless", *args, host=stub.url, home=home)
    assert result.returncode == 1
    assert message in one_line(result.stderr)
    assert stub.calls("POST", "/jobs/runs/submit") == []


def test_run_on_an_existing_cluster(stub, home):
    put_lab_notebooks(stub)
    result = run_deploy("run", "--cluster-id", EXISTING_CLUSTER, *FAST, host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    [submit] = stub.calls("POST", "/jobs/runs/submit")
    tasks = tasks_of(submit)
    assert set(tasks) == {notebook.task_key for notebook in NOTEBOOKS}
    for task in tasks.values():
        assert task["existing_cluster_id"] == EXISTING_CLUSTER and "new_cluster" not in task


def test_run_with_workers_puts_only_the_spark_notebook_on_them(stub, home):
    """--num-workers N: the Spark ML notebook's cluster has N workers and none of the single-node settings."""
    put_lab_notebooks(stub)
    result = run_deploy("run", "--num-workers", "3", *FAST, host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    tasks = tasks_of(stub.calls("POST", "/jobs/runs/submit")[0])
    workers = {
        "spark_version": "17.3.x-cpu-ml-scala2.13",
        "node_type_id": "Standard_D4ds_v5",
        "num_workers": 3,
        "data_security_mode": "SINGLE_USER",
    }
    assert tasks[SPARK_TASK]["new_cluster"] == workers
    assert tasks[TASK]["new_cluster"] == SINGLE_NODE  # scikit-learn would leave workers idle
    assert {key: task["new_cluster"] for key, task in tasks.items()} == {
        notebook.task_key: workers if notebook.uses_spark else SINGLE_NODE for notebook in NOTEBOOKS
    }
    assert "the Spark ML notebook's with 3 workers" in result.stdout


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--num-workers", "two"], 2, "--num-workers: 'two' is not a number of workers (0: a single-node cluster)"),
        (["--num-workers", "-1"], 2, "--num-workers: '-1' is not a number of workers"),
        (
            ["--num-workers", "2", "--cluster-id", EXISTING_CLUSTER],
            1,
            "--num-workers sizes the new cluster of the Spark ML notebook; with --cluster-id",
        ),
    ],
)
def test_bad_workers_are_refused_before_any_run(stub, home, args, status, message):
    put_lab_notebooks(stub)
    result = run_deploy("run", *args, host=stub.url, home=home)
    assert result.returncode == status
    assert message in result.stderr.strip().splitlines()[-1]
    if status == 1:
        one_line(result.stderr)
    assert stub.calls("POST", "/jobs/runs/submit") == []


def test_run_with_an_experiment_name_gives_the_spark_notebook_its_own(stub, home):
    put_lab_notebooks(stub)
    result = run_deploy("run", "--experiment-name", "/Shared/dp090-class", *FAST, host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    tasks = tasks_of(stub.calls("POST", "/jobs/runs/submit")[0])
    given = {
        notebook.task_key: {"experiment_name": named_after("/Shared/dp090-class", notebook)} for notebook in NOTEBOOKS
    }
    assert {key: task["notebook_task"]["base_parameters"] for key, task in tasks.items()} == given
    assert given[NOTEBOOKS[0].task_key] == {"experiment_name": "/Shared/dp090-class"}  # the first's is NAME itself
    assert given[SPARK_TASK] == {"experiment_name": "/Shared/dp090-class-spark-ml"}  # as --help says
    cleaned = run_deploy(
        "clean-up", "--experiment-name", "/Shared/dp090-class", "--delete-experiment", host=stub.url, home=home
    )
    assert cleaned.returncode == 0, cleaned.stderr
    for parameters in given.values():
        assert f"deleted experiment {parameters['experiment_name']}\n" in cleaned.stdout
    assert {experiment["lifecycle_stage"] for experiment in stub.experiments.values()} == {"deleted"}


@pytest.mark.parametrize("status", [404, 400])
def test_run_on_a_missing_cluster_says_so(stub, home, status):
    stub.missing_cluster_status = status  # 400 "Cluster ... does not exist" is what some workspaces send
    put_lab_notebooks(stub)
    result = run_deploy("run", "--cluster-id", "0000-000000-gone", host=stub.url, home=home)
    assert result.returncode != 0
    assert "cluster 0000-000000-gone does not exist" in one_line(result.stderr)
    assert stub.calls("POST", "/jobs/runs/submit") == []


def test_run_before_deploy_says_to_deploy_first(stub, home):
    result = run_deploy("run", host=stub.url, home=home)
    assert result.returncode != 0
    first, second = (PATHS[notebook] for notebook in NOTEBOOKS[:2])
    assert f"no notebook at {first}: deploy it first" in one_line(result.stderr)
    # A copy deployed before the second notebook existed: deploy again, and nothing is submitted till then.
    stub.put_notebook(first)
    result = run_deploy("run", host=stub.url, home=home)
    assert result.returncode != 0
    assert f"no notebook at {second}: deploy it first (python scripts/deploy.py deploy)" in one_line(result.stderr)
    assert stub.calls("POST", "/jobs/runs/submit") == []


def run_ending(outcome: str, stub, home, *args):
    """`deploy.py run` of the deployed notebooks, the stub's runs ending as `outcome` says."""
    put_lab_notebooks(stub)
    stub.run_outcome = outcome
    return run_deploy("run", *(args or FAST), host=stub.url, home=home)


def test_a_failed_run_prints_the_notebooks_error(stub, home):
    result = run_ending("FAILED", stub, home)
    assert result.returncode == 1
    assert "Final state: TERMINATED RUN_EXECUTION_ERROR" in result.stdout
    run_id = max(stub.runs)
    firsts = [line for line in result.stderr.splitlines() if line.startswith(f"run {run_id} failed")]
    assert [line.split(": LabDataError:")[0] for line in firsts] == [
        f"run {run_id} failed (TERMINATED RUN_EXECUTION_ERROR): {PATHS[notebook]}" for notebook in NOTEBOOKS
    ]
    assert "load_trips(data_path)" in result.stderr and "\x1b[" not in result.stderr
    # The output is asked for each task's run, not the parent run (which a workspace refuses).
    asked = [int(output.query["run_id"]) for output in stub.calls("GET", "/jobs/runs/get-output")]
    assert asked == [task["run_id"] for task in stub.runs[run_id]["tasks"]]


def test_one_notebook_failing_is_reported_by_name_and_the_other_succeeds(stub, home):
    stub.outcome_by_notebook = {SPARK_NOTEBOOK: "FAILED"}
    result = run_ending("SUCCESS", stub, home)
    assert result.returncode == 1
    run_id = max(stub.runs)
    assert "Final state: TERMINATED RUN_EXECUTION_ERROR" in result.stdout
    assert result.stdout.splitlines()[-len(NOTEBOOKS) :] == [
        f"  {notebook.stem}: RUN_EXECUTION_ERROR"
        if notebook == SPARK
        else f"  {notebook.stem}: SUCCESS; its runs are in the MLflow experiment {EXPERIMENTS[notebook]}"
        for notebook in NOTEBOOKS
    ]
    assert result.stderr.splitlines()[0] == (
        f"run {run_id} failed (TERMINATED RUN_EXECUTION_ERROR): {SPARK_NOTEBOOK}: "
        "LabDataError: /dbfs/missing.csv: no such file. Check the data_path "
        "parameter."
    )
    assert NOTEBOOK + ":" not in result.stderr
    [output] = stub.calls("GET", "/jobs/runs/get-output")  # only the failed task's output is read
    assert int(output.query["run_id"]) == stub.task_runs(run_id)[SPARK_TASK]["run_id"]


def test_a_run_that_never_finishes_is_cancelled_at_the_timeout(stub, home):
    result = run_ending("HANG", stub, home, "--timeout", "1", "--poll-seconds", "0.05")
    assert result.returncode != 0
    line = one_line(result.stderr)
    run_id = max(stub.runs)
    assert f"run {run_id} did not finish within --timeout 1 s (still RUNNING)" in line and "cancelled" in line
    assert [int(r.body["run_id"]) for r in stub.calls("POST", "/jobs/runs/cancel")] == [run_id]
    assert [task["script"][-1].result for task in stub.runs[run_id]["tasks"]] == ["CANCELED"] * len(NOTEBOOKS)
    assert stub.calls("POST", "/jobs/runs/submit")[0].body["timeout_seconds"] == 1


def test_a_run_whose_cluster_never_started_reports_its_state_message(stub, home):
    result = run_ending("NO_CLUSTER", stub, home)
    assert result.returncode == 1
    # The run of a task per notebook failed as a whole; each task says why: its cluster never started.
    assert "Final state: TERMINATED RUN_EXECUTION_ERROR" in result.stdout
    assert result.stdout.splitlines()[-len(NOTEBOOKS) :] == [
        f"  {notebook.stem}: CLOUD_FAILURE" for notebook in NOTEBOOKS
    ]
    lines = result.stderr.splitlines()
    assert [line.split(": Cluster ")[0] for line in lines] == [
        f"run {max(stub.runs)} failed (TERMINATED RUN_EXECUTION_ERROR): {PATHS[notebook]}" for notebook in NOTEBOOKS
    ]
    assert all("QuotaExceeded" in line and "get the output" not in line for line in lines)


def test_run_follows_the_status_not_the_deprecated_state(stub, home):
    put_lab_notebooks(stub)
    stub.sends_deprecated_state = False
    result = run_deploy("run", "--timeout", "60", *FAST, host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    assert "Final state: TERMINATED SUCCESS" in result.stdout


def test_run_logs_to_its_own_experiment_which_clean_up_may_delete(stub, home):
    """Not the notebooks' default experiments, which a learner's own runs and a prod bundle use."""
    for number, name in enumerate(DEFAULT_EXPERIMENTS.values()):
        stub.experiments[name] = {"experiment_id": f"7{number}", "name": name, "lifecycle_stage": "active"}
    put_lab_notebooks(stub)
    assert run_deploy("run", *FAST, host=stub.url, home=home).returncode == 0
    tasks = tasks_of(stub.calls("POST", "/jobs/runs/submit")[0])
    for notebook in NOTEBOOKS:
        assert (
            tasks[notebook.task_key]["notebook_task"]["base_parameters"]["experiment_name"]
            == EXPERIMENTS[notebook]
            != DEFAULT_EXPERIMENTS[notebook]
        )
    result = run_deploy("clean-up", "--delete-experiment", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    for notebook in NOTEBOOKS:
        assert stub.experiments[EXPERIMENTS[notebook]]["lifecycle_stage"] == "deleted"
        assert stub.experiments[DEFAULT_EXPERIMENTS[notebook]]["lifecycle_stage"] == "active"


# --- clean-up ---------------------------------------------------------------------------------


def test_a_run_into_a_deleted_experiment_fails_as_mlflow_refuses_it(stub, home):
    """MLflow keeps a deleted experiment (30 days, until purged) and refuses set_experiment on it; so does the stub."""
    put_lab_notebooks(stub)
    stub.experiments[EXPERIMENT] = {"experiment_id": "70", "name": EXPERIMENT, "lifecycle_stage": "deleted"}
    run_id = stub.submit(
        {
            "run_name": "by hand",
            "tasks": [
                {
                    "task_key": "t",
                    "existing_cluster_id": EXISTING_CLUSTER,
                    "notebook_task": {"notebook_path": NOTEBOOK, "base_parameters": {"experiment_name": EXPERIMENT}},
                }
            ],
        }
    )["run_id"]
    while stub.get_run({"run_id": run_id})["status"]["state"] != "TERMINATED":
        pass
    [task] = stub.runs[run_id]["tasks"]
    output = stub.get_output({"run_id": task["run_id"]})
    assert output["error"] == (
        f"MlflowException: Cannot set a deleted experiment '{EXPERIMENT}' as the active "
        "experiment. You can restore the experiment, or permanently delete the experiment to "
        "create a new one."
    )
    assert stub.experiments[EXPERIMENT]["lifecycle_stage"] == "deleted"  # not made anew


def test_clean_up_with_its_experiments_then_deploy_and_run_again_works(stub, home):
    assert run_deploy("deploy", host=stub.url, home=home).returncode == 0
    assert run_deploy("run", *FAST, host=stub.url, home=home).returncode == 0
    ids = {name: stub.experiments[name]["experiment_id"] for name in EXPERIMENTS.values()}
    assert run_deploy("clean-up", "--delete-experiment", host=stub.url, home=home).returncode == 0
    assert run_deploy("deploy", host=stub.url, home=home).returncode == 0
    again = run_deploy("run", *FAST, host=stub.url, home=home)
    assert again.returncode == 0, again.stdout + again.stderr
    for name, experiment_id in ids.items():
        assert stub.experiments[name] == {"experiment_id": experiment_id, "name": name, "lifecycle_stage": "active"}
        assert f"Restored the MLflow experiment {name}" in again.stdout
    assert [request.body for request in stub.calls("POST", "/mlflow/experiments/restore")] == [
        {"experiment_id": experiment_id} for experiment_id in ids.values()
    ]


def test_clean_up_removes_what_deploy_and_run_made_and_is_idempotent(stub, home):
    assert run_deploy("deploy", host=stub.url, home=home).returncode == 0
    assert run_deploy("run", *FAST, host=stub.url, home=home).returncode == 0
    lab_run = max(stub.runs)
    someone_elses = stub.add_run("nightly", "/Users/other@example.com/etl")
    same_name_other_folder = stub.add_run(workspace_deploy.RUN_NAME, "/Shared/elsewhere/01-using-mlflow")
    assert stub.experiments[EXPERIMENT]["lifecycle_stage"] == "active"
    assert stub.experiments[SPARK_EXPERIMENT]["lifecycle_stage"] == "active"

    first = run_deploy("clean-up", "--delete-experiment", host=stub.url, home=home)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[1:] == [
        f"deleted run {lab_run}",
        f"deleted folder {FOLDER}",
        *(f"deleted experiment {name}" for name in EXPERIMENTS.values()),
    ]
    assert not [path for path in stub.objects if path.startswith(FOLDER)]
    assert set(stub.runs) == {someone_elses, same_name_other_folder}
    assert {name: experiment["lifecycle_stage"] for name, experiment in stub.experiments.items()} == {
        name: "deleted" for name in EXPERIMENTS.values()
    }
    assert len(stub.calls("GET", "/jobs/runs/list")) >= 2  # it read every page

    second = run_deploy("clean-up", "--delete-experiment", host=stub.url, home=home)
    assert second.returncode == 0, second.stderr
    assert "Nothing was left to clean up" in second.stdout
    assert len(stub.calls("POST", "/workspace/delete")) == 1  # the second clean-up found nothing to delete


def test_clean_up_lang_ja_removes_the_japanese_folder_only(stub, home):
    assert run_deploy("deploy", "--lang", "all", host=stub.url, home=home).returncode == 0
    result = run_deploy("clean-up", "--lang", "ja", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    assert [request.body["path"] for request in stub.calls("POST", "/workspace/delete")] == [JA_FOLDER]
    assert not [path for path in stub.objects if path.startswith(JA_FOLDER)]
    assert {path for path in stub.objects if path.startswith(FOLDER + "/")} >= set(NOTEBOOK_FILES)  # English kept
    assert f"deleted folder {JA_FOLDER}" in result.stdout

    both = run_deploy("clean-up", "--lang", "all", host=stub.url, home=home)
    assert both.returncode == 0, both.stderr
    assert [request.body["path"] for request in stub.calls("POST", "/workspace/delete")] == [JA_FOLDER, FOLDER]
    assert not [path for path in stub.objects if path.startswith(FOLDER)]


def test_clean_up_keeps_the_experiments_unless_asked(stub, home):
    put_lab_notebooks(stub)
    assert run_deploy("run", *FAST, host=stub.url, home=home).returncode == 0
    result = run_deploy("clean-up", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    assert all(stub.experiments[name]["lifecycle_stage"] == "active" for name in EXPERIMENTS.values())
    assert f"Kept the MLflow experiments {' and '.join(EXPERIMENTS.values())} (if any" in result.stdout
    assert "--delete-experiment" in result.stdout
    assert stub.calls("POST", "/mlflow/experiments/delete") == []


def test_clean_up_cancels_an_active_run_before_deleting_it(stub, home):
    stub.put_notebook(NOTEBOOK)  # as deploy would have
    active = stub.add_run(workspace_deploy.RUN_NAME, NOTEBOOK, life_cycle_state="RUNNING")
    result = run_deploy("clean-up", "--poll-seconds", "0.01", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    calls = [
        (r.path.rsplit("/", 1)[-1], int(r.body["run_id"]))
        for r in stub.requests
        if r.method == "POST" and "/jobs/runs/" in r.path
    ]
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


def bundle_clusters(num_workers: int) -> dict[str, dict]:
    """lab_notebook's job clusters by key, with the bundle's variables as `--var` would set them."""
    variables = {
        name: variable["default"]
        for name, variable in yaml.safe_load((ROOT / "bundle.yml").read_text())["variables"].items()
    }
    variables["num_workers"] = num_workers
    # The classic jobs are the classic targets' (dev's, shared with ci and prod by an anchor), not top-level.
    jobs = yaml.safe_load((ROOT / "resources" / "lab_job.yml").read_text())["targets"]["dev"]["resources"]["jobs"]
    job = jobs["lab_notebook"]
    return {
        cluster["job_cluster_key"]: {
            key: variables[value[6:-1]] if str(value).startswith("${var.") else value
            for key, value in cluster["new_cluster"].items()
        }
        for cluster in job["job_clusters"]
    }


def test_the_run_cluster_is_the_bundles_job_cluster():
    """deploy.py run and `databricks bundle run` use the same runtime and single-node settings."""
    assert spec.single_node_cluster(spec.NODE_TYPES["azure"]) == bundle_clusters(0)["single_node_ml"] == SINGLE_NODE
    assert spec.cluster(spec.NODE_TYPES["azure"], workers=0) == SINGLE_NODE


def test_the_spark_notebooks_workers_are_the_bundles_workers_cluster():
    """--num-workers 4 and --var="num_workers=4" give the Spark ML notebook the same cluster."""
    assert (
        spec.cluster(spec.NODE_TYPES["azure"], workers=4)
        == bundle_clusters(4)["spark_ml_workers"]
        == {
            "spark_version": "17.3.x-cpu-ml-scala2.13",
            "node_type_id": "Standard_D4ds_v5",
            "num_workers": 4,
            "data_security_mode": "SINGLE_USER",
        }
    )


def test_every_lab_notebook_has_its_own_experiment_for_run():
    notebooks = spec.deployed_notebooks("/Users/me/lab")
    assert [(notebook.task_key, notebook.uses_spark, notebook.workspace_path) for notebook in notebooks] == [
        (notebook.task_key, notebook.uses_spark, f"/Users/me/lab/{notebook.stem}") for notebook in NOTEBOOKS
    ]
    default = spec.Experiments("/Users/me")
    assert default.every(notebooks) == [
        f"/Users/me/{notebook.experiment}-deploy-py{runtime}"
        for notebook in NOTEBOOKS
        for runtime in ["", "-15.4", "-16.4", "-17.3", "-18"]
    ]
    assert len(set(default.every(notebooks))) == 5 * len(NOTEBOOKS)  # no two notebooks share one
    assert [spec.Experiments(None, "/Shared/x").of(notebook, "18") for notebook in notebooks] == [
        f"{named_after('/Shared/x', notebook)}-18" for notebook in NOTEBOOKS
    ]
    assert spec.Experiments(None, "/Shared/x").of(notebooks[NOTEBOOKS.index(SPARK)], "18") == "/Shared/x-spark-ml-18"


def test_local_notebooks_names_a_file_that_is_not_a_notebook(tmp_path):
    (tmp_path / "includes").mkdir()
    (tmp_path / "lab.py").write_text("# Databricks notebook source\nprint(1)\n")
    (tmp_path / "includes" / "helper.py").write_text("print('no header')\n")
    with pytest.raises(workspace_deploy.DeployError, match=r"helper\.py:1: first line must be exactly"):
        workspace_deploy.local_notebooks(tmp_path)


def test_folders_to_create_lists_parents_first():
    notebooks = [workspace_deploy.LocalNotebook(Path("x"), name, b"") for name in ["lab", "includes/deep/setup"]]
    assert workspace_deploy.folders_to_create("/Users/me/lab", notebooks) == [
        "/Users/me/lab",
        "/Users/me/lab/includes",
        "/Users/me/lab/includes/deep",
    ]


def test_a_failed_tasks_error_is_read_without_colour_codes():
    """A notebook's error and stack trace may come coloured (ANSI codes, as the notebook shows them): the one-line
    error and the trace deploy.py prints are plain text."""
    from databricks.sdk.service import jobs

    ended = {"code": "RUN_EXECUTION_ERROR", "message": "Workload failed"}
    task = jobs.RunTask.from_dict(
        {"task_key": "lab", "run_id": 7, "status": {"state": "TERMINATED", "termination_details": ended}}
    )
    red, plain = "\x1b[0;31m", "\x1b[0m"

    class Workspace:
        def output(self, task_run_id):
            assert task_run_id == 7
            error = f"{red}LabDataError{plain}: /dbfs/missing.csv: no such file."
            trace = f"{red}LabDataError{plain} Traceback\n----> 1 x"
            return jobs.RunOutput.from_dict({"error": error, "error_trace": trace})

    told = runs.outcome(Workspace(), task)
    assert told.error == "LabDataError: /dbfs/missing.csv: no such file."
    assert told.trace == ["LabDataError Traceback", "----> 1 x"]


def test_the_guides_cluster_policy_for_learners_fixes_the_labs_own_cluster():
    """The policy docs/deploy.md gives an instructor allows exactly the cluster `run` and the bundle use."""
    import re

    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = guide.split("### What each learner needs to run the notebooks", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```json\n(.*?)```", section, re.DOTALL)
    policy = json.loads(block)
    fixed = {key: rule["value"] for key, rule in policy.items() if rule["type"] == "fixed"}
    flat = {}
    for key, value in spec.single_node_cluster(spec.NODE_TYPES["azure"]).items():
        nested = isinstance(value, dict)  # spark_conf, custom_tags: the policy names their keys with a dot
        flat.update({f"{key}.{inner}": item for inner, item in value.items()} if nested else {key: value})
    assert fixed == flat
    assert policy["autotermination_minutes"]["type"] == "range"  # a learner's cluster stops by itself
    assert "allow-cluster-create" in section and "Dedicated" in section and "Serverless" in section


def test_the_workspace_modules_get_typed_frozen_options_not_the_argparse_namespace():
    """The command line builds each command's options once; the workspace side never reads the namespace."""
    import dataclasses

    from labtools.workspace import cli

    parser = cli.parser()
    run = cli.options_of(parser.parse_args(["run", "--runtime", "all", "--max-parallel", "3", "--num-workers", "2"]))
    assert (type(run).__name__, run.runtime, run.max_parallel, run.num_workers, run.timeout) == (
        "RunOptions",
        "all",
        3,
        2,
        3600,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.timeout = 1
    deploy = cli.options_of(parser.parse_args(["deploy", "--learners", "class.txt", "--force", "--lang", "all"]))
    assert (type(deploy).__name__, deploy.learners, deploy.force, deploy.lang) == (
        "DeployOptions",
        "class.txt",
        True,
        "all",
    )
    clean = cli.options_of(parser.parse_args(["clean-up", "--delete-experiment"]))
    assert (type(clean).__name__, clean.delete_experiment, clean.command) == ("CleanUpOptions", True, "clean-up")
    for module in (ROOT / "scripts" / "labtools" / "workspace").glob("*.py"):
        if module.name == "cli.py":  # the command line, which makes the options
            continue
        assert "args." not in module.read_text(encoding="utf-8"), f"{module.name} reads the argparse namespace"
