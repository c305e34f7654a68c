"""The learner's path as a test: docs/lab-guide.md's "Path A: Databricks Free Edition", step by step, by two learners of
one workspace at the same time, one in English (docs/lab-guide.md) and one in Japanese (docs/lab-guide.ja.md).

The workspace is what can stand in for one here: ONE real `mlflow server` (the session's `tracking_server`, shared
by both learners as a workspace's tracking server is), ONE stub of its REST API in Free Edition mode
(tests/workspace_stub.py, `free_edition=True`: no clusters, at most 5 job tasks at once), and the local `/Volumes`
of `run_lab.py --serverless` with its Unity Catalog stand-in, whose `current_user()` is each learner's
(DP090_UC_USER). The learners' names carry a random suffix, so that test runs in parallel never share a name:
ada.lovelace+<id>@example.com works in English, grace.hopper+<id>@example.com in Japanese.

The guide's steps (its `###` headings under Path A, in both languages) and what each test plays for them;
`test_the_guides_path_a_steps_are_the_ones_played` fails when a guide's Path A steps change without this file:

| the guide's step (English / Japanese)          | test                                                          |
|------------------------------------------------|---------------------------------------------------------------|
| Prerequisites / 前提条件                       | the module's fixtures: the workspace above, and its two users |
| Get the notebooks / ノートブックを取り込む     | test_get_the_notebooks (a Git folder: the notebooks and data) |
|                                                | test_or_deploy_the_bundles_serverless_target (the "Or, from   |
|                                                | your computer, deploy the bundle's serverless target", and    |
|                                                | its jobs run)                                                 |
| Choose the compute / コンピューティングを選ぶ  | test_choose_the_compute (serverless compute for both)         |
| Run the notebooks / ノートブックを動かす       | test_run_the_notebooks (01 then 02, by hand, `volume` blank:  |
|                                                | each learner's own volume dp090_mlflow_lab_<short>)           |
| Review the runs / 実行を確認する               | test_review_the_runs (each learner's own two experiments)     |
| Clean up / クリーンアップ                      | test_clean_up (A deletes her volume, her two experiments and  |
|                                                | her bundle; B's are intact)                                   |

"By hand" is `run_lab.py --serverless` (a real kernel and a local Spark Connect server playing serverless compute),
the two learners' runners started together. The tests of the steps share one module-scoped play, in the guide's
order (pytest keeps a file's order; with xdist they share a group, so one worker plays it once).

The bundle is played as `databricks bundle deploy -t serverless` would for each learner, through the REST calls the
stub serves (workspace import, Unity Catalog volumes), its names resolved as the CLI resolves them
(`short_name`, `development_name`). The stub has no jobs/create or run-now: a job's tasks are submitted as one
one-time run (runs/submit), the same tasks, environments and parameters. Its experiments are the ones the stub's
tasks create when they run (the stub has no experiments/create either).

The by-hand play is also the suite's one run of the lab notebooks as serverless compute runs them: the tests after
the steps check that each learner's six runs are the classic local mode's to 1e-6, that the Spark ML models went
through her volume, what the store holds, and that one Spark Connect server served each learner's runner.
test_serverless.py has the serverless rules in a notebook of their own, and the notebook's guards.

The one-line error of notebook 02 when a learner's default volume cannot be created is in
tests/test_unity_catalog_standin.py.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from importlib.util import find_spec
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import CLASSIC_METRICS, PROJECT, SCRIPTS
from conftest import write_notebook as notebook
from mlflow.tracking import MlflowClient
from workspace_stub import WorkspaceStub, development_name, short_name

from labtools.local.local_run import CONFIG_METADATA
from labtools.local.prerequisites import volumes_problem

VOLUMES = Path("/Volumes")

pytestmark = [
    pytest.mark.skipif(
        shutil.which("java") is None or find_spec("pyspark") is None or find_spec("grpc") is None,
        reason="serverless mode needs Java and pyspark[connect] (.ci/run installs both; see README)",
    ),
    # The runner's own check, which makes /Volumes where it can (as root on CI): a bare "is it writable?" skipped
    # the whole path on a fresh machine, where /Volumes does not exist until the first serverless run.
    pytest.mark.skipif(volumes_problem() is not None, reason=f"serverless mode needs {VOLUMES}: {volumes_problem()}"),
    # One of the slowest tests (two learners' runners, about two minutes): one worker plays the path once.
    pytest.mark.xdist_group("learner-path"),
]

GUIDES = {"en": PROJECT / "docs" / "lab-guide.md", "ja": PROJECT / "docs" / "lab-guide.ja.md"}
PATH_A = {"en": "## Path A:", "ja": "## 進め方 A:"}
# The guide's Path A steps, in its order, as this file plays them (the module docstring's table).
STEPS = [
    ("Prerequisites", "前提条件"),
    ("Get the notebooks", "ノートブックを取り込む"),
    ("Choose the compute", "コンピューティングを選ぶ"),
    ("Run the notebooks", "ノートブックを動かす"),
    ("Review the runs", "実行を確認する"),
    ("Manage the model", "モデルを管理する"),
    ("Clean up", "クリーンアップ"),
]
# "Manage the model" (notebook 03 or 04, the registry and serving) is played by tests/test_managing_models.py and
# tests/test_managing_models_modes.py (--serverless, Japanese), not here: this test plays lab 1's steps.
NOTEBOOKS = ["01-using-mlflow-to-track-experiments", "02-using-mlflow-to-track-experiments-spark-ml"]
EXPERIMENTS = ["dp090-using-mlflow-to-track-experiments", "dp090-using-mlflow-to-track-experiments-spark-ml"]
# The catalog and schema Free Edition gives every user (the guide: "`workspace.default` on Free Edition").
SCHEMA = "workspace.default"
BUNDLE = yaml.safe_load((PROJECT / "resources" / "lab_serverless.yml").read_text(encoding="utf-8"))
BUNDLE_NAME = yaml.safe_load((PROJECT / "bundle.yml").read_text(encoding="utf-8"))["bundle"]["name"]


def path_a_steps(lang: str) -> list[str]:
    text = GUIDES[lang].read_text(encoding="utf-8")
    section = text.split(PATH_A[lang], 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^### (.+)$", section, re.MULTILINE)


def test_the_guides_path_a_steps_are_the_ones_played():
    assert path_a_steps("en") == [english for english, _ in STEPS]
    assert path_a_steps("ja") == [japanese for _, japanese in STEPS]


# --- the workspace and its two learners -------------------------------------------------------------------------


class Learner:
    def __init__(self, name: str, lang: str, tag: str):
        self.user = f"{name}+{tag}@example.com"
        self.short = short_name(self.user)  # the CLI's rule; the notebook's user_short_name is tested to agree
        self.lang = lang
        self.token = f"dapi-{name.split('.')[0]}-{tag}"
        folder = PROJECT / "notebooks" / ("ja" if lang == "ja" else "")
        self.notebooks = [folder / f"{stem}.py" for stem in NOTEBOOKS]
        # The notebooks' default experiments: `/Users/<current_user()>/...` on serverless compute
        # (notebooks/includes/setup.py default_experiment_name), and locally too, as --serverless sets
        # DATABRICKS_RUNTIME_VERSION and current_user() is DP090_UC_USER: per user already, so no experiment_name
        # is passed, as the guide has a learner leave it blank.
        self.experiments = [f"/Users/{self.user}/{name}" for name in EXPERIMENTS]
        self.volume = f"{SCHEMA}.dp090_mlflow_lab_{self.short}"  # the by-hand one (DECISIONS.md section 1)
        self.env = {**os.environ, "DP090_UC_USER": self.user}
        self.out = Path()  # the by-hand runner's --out, set when it runs

    @property
    def volume_folder(self) -> Path:
        return VOLUMES / self.volume.replace(".", "/")


class SharedWorkspace(WorkspaceStub):
    """The Free Edition stub with several users, each with a token of its own: a request is served as the user whose
    token it bears (the stub itself serves one user; its answers to `Me`, and the owner of what is created, follow)."""

    def __init__(self, learners: list[Learner]):
        super().__init__(learners[0].token, learners[0].user, free_edition=True)
        for learner in learners[1:]:
            self.add_user(learner.user)
        self.tokens = {learner.token: learner.user for learner in learners}
        self._as_one_user = threading.Lock()

    def handle(self, method, raw_path, headers, body):
        with self._as_one_user:  # the stub's requests one at a time, each as its caller
            token = (headers.get("Authorization") or "").removeprefix("Bearer ")
            if token in self.tokens:
                self.token, self.user = token, self.tokens[token]
            return super().handle(method, raw_path, headers, body)


def call(stub, learner: Learner, method: str, path: str, body=None, query: str = "") -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {learner.token}", "Content-Type": "application/json"}
    request = urllib.request.Request(f"{stub.url}{path}{'?' + query if query else ''}", data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def learners():
    tag = uuid.uuid4().hex[:8]
    pair = [Learner("ada.lovelace", "en", tag), Learner("grace.hopper", "ja", tag)]
    yield pair
    for learner in pair:
        shutil.rmtree(learner.volume_folder, ignore_errors=True)


def started(learner: Learner, tracking_uri: str, out: Path, *notebooks: Path) -> subprocess.Popen:
    args = [
        sys.executable,
        str(SCRIPTS / "run_lab.py"),
        "--serverless",
        "--tracking-uri",
        tracking_uri,
        "--out",
        str(out),
        *map(str, notebooks),
    ]
    return subprocess.Popen(
        args, cwd=PROJECT, env=learner.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finished(process: subprocess.Popen, timeout: float) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def by_hand(learners, tracking_server, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Both learners work through 01 then 02 at the same time, each with the volume parameter blank."""
    out = tmp_path_factory.mktemp("learner-path")
    for learner in learners:
        learner.out = out / learner.short
    running = {
        learner.user: started(learner, tracking_server.uri, learner.out, *learner.notebooks) for learner in learners
    }
    results = {}
    for user, process in running.items():
        results[user] = finished(process, timeout=900)
    return results


@pytest.fixture(scope="module")
def workspace(learners):
    with SharedWorkspace(learners) as stub:
        yield stub
    assert stub.contract_problems == []


# --- the steps --------------------------------------------------------------------------------------------------


def test_get_the_notebooks(learners):
    """A Git folder of the repository holds the notebooks, in notebooks/ (notebooks/ja/ in Japanese), and the lab's
    data file data/nyc-taxi.csv, which the notebooks find on their own."""
    for learner in learners:
        assert all(path.is_file() for path in learner.notebooks), learner.notebooks
    assert (PROJECT / "data" / "nyc-taxi.csv").is_file()


def test_choose_the_compute(learners, by_hand):
    """Serverless compute, for both notebooks of each learner."""
    for learner in learners:
        result = by_hand[learner.user]
        assert result.returncode == 0, f"{learner.user}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        assert "Serverless mode: Spark Connect" in result.stdout
        for stem in NOTEBOOKS:
            executed = nbformat.read(learner.out / "executed" / f"{stem}.ipynb", as_version=4)
            said = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
            assert "Compute: serverless compute" in said, (learner.user, stem)


def test_run_the_notebooks(learners, by_hand):
    """01 then 02, the volume parameter blank: each learner's own volume in workspace.default, named after her."""
    for learner in learners:
        result = by_hand[learner.user]
        assert result.returncode == 0, f"{learner.user}:\n{result.stderr[-3000:]}"
        assert learner.volume_folder.is_dir(), f"{learner.user}'s volume {learner.volume} was not created"
    a, b = learners
    assert a.volume != b.volume


def experiment_runs(client: MlflowClient, name: str) -> list:
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None and experiment.lifecycle_stage == "active", name
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])


def test_review_the_runs(learners, by_hand, tracking_server):
    """Each learner's two experiments hold her three runs each, from the notebooks of her language; the lab gives
    both learners the same figures."""
    client = MlflowClient(tracking_server.uri)
    figures = {}
    for learner in learners:
        assert by_hand[learner.user].returncode == 0
        for stem, name in zip(NOTEBOOKS, learner.experiments, strict=True):
            runs = experiment_runs(client, name)
            assert [run.info.status for run in runs] == ["FINISHED"] * 3, name
            sources = {Path(run.data.tags["mlflow.source.name"]) for run in runs}
            folder = "ja" if learner.lang == "ja" else "notebooks"
            assert {(source.parent.name, source.stem) for source in sources} == {(folder, stem)}, (name, sources)
            figures.setdefault(stem, []).append([round(run.data.metrics["r2"], 9) for run in runs])
    for stem, (english, japanese) in figures.items():
        assert english == japanese, stem


# --- what the by-hand runs are, as serverless compute's: the classic runs, the volume, the store, one server -------

HYPERPARAMETERS = [("0.0", "0.0", "1"), ("1.0", "0.3", "50"), ("0.5", "0.9", "1000")]


def said(learner: Learner, stem: str) -> str:
    executed = nbformat.read(learner.out / "executed" / f"{stem}.ipynb", as_version=4)
    return "\n".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_the_serverless_runs_are_the_classic_local_modes(learners, by_hand, tracking_server):
    """Spark Connect and the Unity Catalog stand-in change nothing the lab computes: each notebook's three runs
    have the classic local mode's hyperparameters and metrics (conftest.CLASSIC_METRICS) to 1e-6."""
    client = MlflowClient(tracking_server.uri)
    for learner in learners:
        for stem, name in zip(NOTEBOOKS, learner.experiments, strict=True):
            runs = experiment_runs(client, name)
            logged = [
                (r.data.params["elastic_net_param"], r.data.params["reg_param"], r.data.params["max_iter"])
                for r in runs
            ]
            assert logged == HYPERPARAMETERS, (learner.user, stem)
            for run, expected in zip(runs, CLASSIC_METRICS[stem], strict=True):
                got = run.data.metrics
                assert (got["rmse"], got["mae"], got["r2"]) == pytest.approx(expected, abs=1e-6), (learner.user, stem)
        # The closing table lists all six, each row ending with its r2.
        r2_values = {f"{metrics[2]:.4f}" for all_metrics in CLASSIC_METRICS.values() for metrics in all_metrics}
        stdout = by_hand[learner.user].stdout
        rows = [line for line in stdout.splitlines() if line.split() and line.split()[-1] in r2_values]
        assert len(rows) == 6, stdout


def test_the_spark_models_pass_through_her_volume_and_the_store_holds_models_and_plots(
    learners, by_hand, tracking_server
):
    """Each notebook names serverless compute; the Spark ML models' files went through the learner's own volume
    (`dfs_tmpdir`); the server's artifact store holds each run's plot and model, of the notebook's flavor."""
    client = MlflowClient(tracking_server.uri)
    for learner in learners:
        for stem in NOTEBOOKS:
            assert "Compute: serverless compute, environment version 4 (Spark Connect)" in said(learner, stem)
        assert f"Model files pass through {learner.volume_folder}/mlflow-tmp" in said(learner, NOTEBOOKS[1])
        for name, flavor in zip(learner.experiments, ["sklearn", "spark"], strict=True):
            experiment = client.get_experiment_by_name(name)
            # The server proxies artifacts (mlflow-artifacts:/<experiment id>) into its --artifacts-destination.
            artifacts = tracking_server.store / "artifacts" / experiment.experiment_id
            assert len(list(artifacts.rglob("LinearRegressionPrediction.png"))) == 3, name
            # A model's MLmodel, not the copy MLflow keeps in its metadata/ folder.
            mlmodels = [path for path in artifacts.rglob("MLmodel") if path.parent.name != "metadata"]
            flavors = [set(yaml.safe_load(path.read_text())["flavors"]) for path in mlmodels]
            assert len(flavors) == 3 and all({flavor, "python_function"} <= found for found in flavors), flavors


def connected_to(executed) -> str:
    """The Spark Connect server a kernel used: the one its configuration named, or, where that server's port was taken
    (two runners started at once can pick the same free port), the one the runner's added cell moved it to."""
    for cell in executed.cells[:3]:
        moved = re.match(r"_standins\.spark\.connect_to\('([^']+)'\)", cell.source)
        if moved:
            return moved.group(1)
    return executed.metadata[CONFIG_METADATA]["spark_connect_url"]


def test_one_spark_connect_server_served_each_runner_and_stopped_with_it(learners, by_hand):
    """One server for a runner's notebooks, as one serverless compute serves a learner's; one per learner; gone
    when her runner ended (its process group stopped)."""
    servers = {}
    for learner in learners:
        urls = set()
        for stem in NOTEBOOKS:
            executed = nbformat.read(learner.out / "executed" / f"{stem}.ipynb", as_version=4)
            assert executed.metadata[CONFIG_METADATA]["serverless"] is True  # what its kernel was told
            urls.add(connected_to(executed))
        assert len(urls) == 1 and re.fullmatch(r"sc://127\.0\.0\.1:\d+", *urls), urls
        servers[learner.user] = urls.pop()
    assert len(set(servers.values())) == 2, servers
    for url in servers.values():
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", int(url.rsplit(":", 1)[1])))  # nothing listens there any more


# The bundle, as `databricks bundle deploy -t serverless` resolves it for a learner.


def bundle_root(learner: Learner) -> str:
    # Development mode's default root_path, ~/.bundle/<bundle name>/<target> (the workspace API's paths carry no
    # /Workspace prefix).
    return f"/Users/{learner.user}/.bundle/{BUNDLE_NAME}/serverless"


def bundle_volume(learner: Learner) -> dict:
    volume = dict(BUNDLE["targets"]["serverless"]["resources"]["volumes"]["lab_volume"])
    names = {
        "${var.catalog}": BUNDLE["variables"]["catalog"]["default"],
        "${var.schema}": BUNDLE["variables"]["schema"]["default"],
        "${workspace.current_user.short_name}": learner.short,
        "${bundle.target}": "serverless",
    }
    for key in ("catalog_name", "schema_name", "name"):
        for variable, value in names.items():
            volume[key] = volume[key].replace(variable, value)
    return volume


def bundle_experiments(learner: Learner) -> dict[str, str]:
    """The bundle's experiments by resource key, as development mode names them."""
    return {
        key: development_name("experiments", f"/Users/{learner.user}/{name}", learner.short)
        for key, name in zip(["lab_experiment", "spark_ml_experiment"], EXPERIMENTS, strict=True)
    }


def job_run(learner: Learner, job_key: str) -> dict:
    """runs/submit's body for the bundle's job `job_key`: its tasks, environments and parameters, resolved."""
    job = BUNDLE["targets"]["serverless"]["resources"]["jobs"][job_key]
    volume = bundle_volume(learner)
    resolved = {f"${{resources.experiments.{key}.name}}": name for key, name in bundle_experiments(learner).items()}
    resolved["${resources.volumes.lab_volume.catalog_name}"] = volume["catalog_name"]
    resolved["${resources.volumes.lab_volume.schema_name}"] = volume["schema_name"]
    resolved["${resources.volumes.lab_volume.name}"] = volume["name"]
    tasks = []
    for task in job["tasks"]:
        notebook_task = dict(task["notebook_task"])
        # ../notebooks/x.py, relative to resources/: the notebook synced to <root>/files/notebooks/x.
        notebook_task["notebook_path"] = f"{bundle_root(learner)}/files/" + notebook_task["notebook_path"].removeprefix(
            "../"
        ).removesuffix(".py")
        parameters = {}
        for key, value in notebook_task["base_parameters"].items():
            for variable, name in resolved.items():
                value = value.replace(variable, name)
            parameters[key] = value
        notebook_task["base_parameters"] = parameters
        tasks.append(
            {
                key: value
                for key, value in {**task, "notebook_task": notebook_task}.items()
                if key in ("task_key", "environment_key", "depends_on", "notebook_task")
            }
        )
    return {
        "run_name": development_name("jobs", job["name"], learner.short),
        "tasks": tasks,
        "environments": job["environments"],
    }


def deploy_bundle(stub, learner: Learner) -> None:
    """What `bundle deploy -t serverless` does with the lab's resources: the synced notebooks, the volume."""
    root = bundle_root(learner)
    for source in sorted((PROJECT / "notebooks").rglob("*.py")):
        target = f"{root}/files/{source.relative_to(PROJECT).with_suffix('').as_posix()}"
        assert call(stub, learner, "POST", "/api/2.0/workspace/mkdirs", {"path": target.rsplit("/", 1)[0]})[0] == 200
        content = base64.b64encode(source.read_bytes()).decode("ascii")
        code, body = call(
            stub,
            learner,
            "POST",
            "/api/2.0/workspace/import",
            {"path": target, "format": "SOURCE", "language": "PYTHON", "content": content, "overwrite": True},
        )
        assert code == 200, body
    volume = bundle_volume(learner)
    fields = {key: volume[key] for key in ("catalog_name", "schema_name", "name", "volume_type", "comment")}
    code, body = call(stub, learner, "POST", "/api/2.1/unity-catalog/volumes", fields)
    assert code == 200, f"{learner.user}'s bundle volume: {body}"


def destroy_bundle(stub, learner: Learner) -> None:
    """`bundle destroy -t serverless`: its experiments, its volume, its files."""
    for name in bundle_experiments(learner).values():
        code, body = call(
            stub,
            learner,
            "GET",
            "/api/2.0/mlflow/experiments/get-by-name",
            query=f"experiment_name={urllib.parse.quote(name)}",
        )
        if code == 200:
            experiment_id = body["experiment"]["experiment_id"]
            assert (
                call(stub, learner, "POST", "/api/2.0/mlflow/experiments/delete", {"experiment_id": experiment_id})[0]
                == 200
            )
    volume = bundle_volume(learner)
    full_name = f"{volume['catalog_name']}.{volume['schema_name']}.{volume['name']}"
    assert call(stub, learner, "DELETE", f"/api/2.1/unity-catalog/volumes/{full_name}")[0] == 200
    assert (
        call(stub, learner, "POST", "/api/2.0/workspace/delete", {"path": bundle_root(learner), "recursive": True})[0]
        == 200
    )


def test_or_deploy_the_bundles_serverless_target(learners, by_hand, workspace):
    """Each learner deploys the serverless target after running 02 by hand, and runs its job in her language: both
    jobs at once, on serverless compute only (Free Edition refuses a cluster), at most 5 tasks at once."""
    for learner in learners:
        workspace.put_volume(learner.volume)  # what 02 made by hand, in the workspace's catalog too
        deploy_bundle(workspace, learner)
    submitted = {}
    for learner in learners:
        body = job_run(learner, "lab_serverless_ja" if learner.lang == "ja" else "lab_serverless")
        code, answer = call(workspace, learner, "POST", "/api/2.2/jobs/runs/submit", body)
        assert code == 200, f"{learner.user}: {answer}"
        submitted[learner.user] = answer["run_id"]
    states = {}
    for _ in range(30):
        for learner in learners:
            states[learner.user] = call(
                workspace, learner, "GET", "/api/2.2/jobs/runs/get", query=f"run_id={submitted[learner.user]}"
            )[1]
        if all(state["status"]["state"] == "TERMINATED" for state in states.values()):
            break
    for user, state in states.items():
        job_key = "lab_serverless_ja" if user == learners[1].user else "lab_serverless"
        count = len(BUNDLE["targets"]["serverless"]["resources"]["jobs"][job_key]["tasks"])
        assert [task["status"]["termination_details"]["code"] for task in state["tasks"]] == ["SUCCESS"] * count, user
    assert workspace.most_tasks_active_at_once <= 5
    for learner in learners:
        spark_ml = job_run(learner, "lab_serverless")["tasks"][1]["notebook_task"]["base_parameters"]["volume"]
        assert spark_ml == f"{SCHEMA}.dp090_mlflow_lab_{learner.short}_serverless" != learner.volume
        assert set(bundle_experiments(learner).values()) <= set(workspace.experiments)
    assert sorted(workspace.volumes) == sorted(
        [learner.volume for learner in learners]
        + [f"{SCHEMA}.dp090_mlflow_lab_{learner.short}_serverless" for learner in learners]
    )


def drop_volume(learner: Learner, tracking_uri: str, folder: Path) -> subprocess.CompletedProcess:
    """The learner deletes her volume (the guide: in Catalog Explorer), here with DROP VOLUME on serverless compute."""
    path = notebook(
        folder,
        "drop_volume.py",
        f"""
        from pyspark.sql import functions  # noqa: F401 (a Spark notebook: the runner starts Spark Connect)
        spark.sql("DROP VOLUME {learner.volume}")
        """,
    )
    result = finished(started(learner, tracking_uri, folder / "out", path), timeout=600)  # her runner, as for 01, 02
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def test_clean_up(learners, by_hand, workspace, tracking_server, tmp_path):
    """A deletes her volume, her two experiments and her bundle; what B made is all still there."""
    a, b = learners
    client = MlflowClient(tracking_server.uri)
    drop_volume(a, tracking_server.uri, tmp_path)
    for name in a.experiments:
        experiment = client.get_experiment_by_name(name)
        assert experiment is not None, name
        client.delete_experiment(experiment.experiment_id)
    destroy_bundle(workspace, a)

    assert not a.volume_folder.exists()
    assert [client.get_experiment_by_name(name).lifecycle_stage for name in a.experiments] == ["deleted"] * 2
    a_bundle = bundle_volume(a)
    assert f"{a_bundle['catalog_name']}.{a_bundle['schema_name']}.{a_bundle['name']}" not in workspace.volumes
    assert not any(path.startswith(bundle_root(a)) for path in workspace.objects)
    assert {workspace.experiments[name]["lifecycle_stage"] for name in bundle_experiments(a).values()} == {"deleted"}

    assert b.volume_folder.is_dir(), "B's volume went with A's clean-up"
    for name in b.experiments:
        assert len(experiment_runs(client, name)) == 3, name
    b_bundle = bundle_volume(b)
    assert f"{b_bundle['catalog_name']}.{b_bundle['schema_name']}.{b_bundle['name']}" in workspace.volumes
    assert b.volume in workspace.volumes
    assert f"{bundle_root(b)}/files/notebooks/ja/{NOTEBOOKS[1]}" in workspace.objects
    assert {workspace.experiments[name]["lifecycle_stage"] for name in bundle_experiments(b).values()} == {"active"}
