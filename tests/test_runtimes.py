"""Runtimes (runtimes/*.txt): the lab in each Databricks ML runtime's library versions.

The unit tests check scripts/labtools/local/runtimes.py on small runtime files in a
temporary folder, and the real runtimes' pins.

The tests marked `runtime` run the lab as a user does, `python scripts/run_lab.py
--runtime NAME`, for `latest` (requirements.txt), the oldest LTS ML runtime
(15.4) and the newest (18). Each run builds the runtime's virtual environment
under .venvs/ the first time (one to three minutes) and reuses it afterwards;
the tracking server and the notebook kernel run from it. The checks then start
that environment's own `mlflow server` on the run's store and query it with that
environment's own mlflow, in a subprocess: model formats and client APIs differ
between the versions, so each is read by the version that wrote it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import LAB_NOTEBOOK, PROJECT, REAL_DATA_METRICS, real_trips, run_lab

from labtools.local import runtimes
from labtools.local.tracking_server import TrackingServer

E2E_RUNTIMES = ["latest", "15.4-lts-ml", "18-lts-ml"]
LAB_HYPERPARAMETERS = [["0.0", "0.0", "1"], ["1.0", "0.3", "50"], ["0.5", "0.9", "1000"]]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Databricks' MLflow compatibility matrix (release notes): the mlflow each LTS ML runtime ships.
RUNTIME_MLFLOW = {"15.4-lts-ml": "2.13.1", "16.4-lts-ml": "2.21.3", "17.3-lts-ml": "3.0.1", "18-lts-ml": "3.8.1"}
LAB_LIBRARIES = ["mlflow", "scikit-learn", "pandas", "numpy", "matplotlib", "ipykernel"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- runtimes.py --------------------------------------------------------------------------------


def test_hash_is_keyed_by_content_not_location(tmp_path):
    one = runtimes.Runtime("p", write(tmp_path / "a" / "p.txt", "mlflow==2.13.1\n"))
    same = runtimes.Runtime("p", write(tmp_path / "b" / "p.txt", "mlflow==2.13.1\n"))
    assert one.content_hash() == same.content_hash()
    write(one.path, "mlflow==2.13.1\nnumpy==1.23.5\n")
    assert one.content_hash() != same.content_hash()
    assert re.fullmatch(r"[0-9a-f]{12}", one.content_hash())


def test_hash_covers_included_files(tmp_path):
    base = write(tmp_path / "requirements.txt", "mlflow==3.17.2\n")
    runtime = runtimes.Runtime("latest", write(tmp_path / "runtimes" / "latest.txt", "-r ../requirements.txt\n"))
    before = runtime.content_hash()
    write(base, "mlflow==3.17.3\n")
    assert runtime.content_hash() != before
    assert runtime.files() == [runtime.path.resolve(), base.resolve()]


def test_venv_dir_is_named_by_runtime_and_changes_with_its_content(tmp_path):
    runtime = runtimes.Runtime("15.4-lts-ml", write(tmp_path / "15.4-lts-ml.txt", "mlflow==2.13.1\n"))
    first = runtime.venv_dir(tmp_path / "venvs")
    assert first.parent == tmp_path / "venvs"
    assert re.fullmatch(r"15\.4-lts-ml-[0-9a-f]{12}", first.name), first.name
    assert runtime.venv_dir(tmp_path / "venvs") == first  # the same content, the same environment
    write(runtime.path, "mlflow==2.13.1\npyspark==3.5.0\n")
    assert runtime.venv_dir(tmp_path / "venvs") != first  # an edited pin, a new environment


def test_mlflow_pin_is_parsed_past_comments_spacing_and_case(tmp_path):
    # A commented-out pin before and after the real one: neither counts, wherever it stands.
    text = (
        "# mlflow==1.0.0 is not a pin\nMLflow == 2.13.1   # the runtime's\nscikit_learn==1.3.0\n# was mlflow==2.9.2\n"
    )
    runtime = runtimes.Runtime("p", write(tmp_path / "p.txt", text))
    assert runtime.mlflow_version == "2.13.1"
    assert runtime.pins()["scikit-learn"] == "1.3.0"


def test_mlflow_pin_is_found_through_an_include(tmp_path):
    write(tmp_path / "requirements.txt", "pandas==3.1.1\nmlflow==3.17.2\n")
    runtime = runtimes.Runtime("latest", write(tmp_path / "runtimes" / "latest.txt", "-r ../requirements.txt\n"))
    assert runtime.mlflow_version == "3.17.2"


def test_a_runtime_without_an_mlflow_pin_is_a_clear_error(tmp_path):
    runtime = runtimes.Runtime("p", write(tmp_path / "p.txt", "mlflow>=2\n"))
    with pytest.raises(runtimes.RuntimeVersionsError, match=r"p\.txt: no `mlflow==<version>` line"):
        runtime.mlflow_version  # noqa: B018


def test_a_missing_include_names_the_including_file(tmp_path):
    runtime = runtimes.Runtime("p", write(tmp_path / "p.txt", "-r missing.txt\n"))
    with pytest.raises(runtimes.RuntimeVersionsError, match=r"p\.txt: includes .*missing\.txt, which does not exist"):
        runtime.files()


def test_an_unknown_runtime_lists_the_available_ones(tmp_path):
    write(tmp_path / "15.4-lts-ml.txt", "mlflow==2.13.1\n")
    write(tmp_path / "latest.txt", "mlflow==3.17.2\n")
    for name in ["14.3-lts-ml", "14.3"]:
        with pytest.raises(runtimes.RuntimeVersionsError) as error:
            runtimes.load(name, tmp_path)
        assert f"unknown runtime '{name}'" in str(error.value)
        assert "available runtimes: 15.4, latest" in str(error.value)


def test_an_lts_runtime_is_named_by_its_version_or_its_files_stem(tmp_path):
    path = write(tmp_path / "15.4-lts-ml.txt", "mlflow==2.13.1\n")
    write(tmp_path / "latest.txt", "mlflow==3.17.2\n")
    assert (
        runtimes.load("15.4", tmp_path)
        == runtimes.load("15.4-lts-ml", tmp_path)
        == runtimes.Runtime("15.4-lts-ml", path)
    )
    assert runtimes.load("latest", tmp_path).name == "latest"
    for name in ["", "15", "15.4-lts", "../15.4-lts-ml", "latest-lts-ml"]:
        with pytest.raises(runtimes.RuntimeVersionsError):
            runtimes.load(name, tmp_path)


def test_a_complete_environment_is_reused_without_building(tmp_path):
    runtime = runtimes.Runtime("p", write(tmp_path / "p.txt", "mlflow==2.13.1\n"))
    venv_dir = runtime.venv_dir(tmp_path / "venvs")
    write(venv_dir / runtimes.COMPLETE_MARKER, "")
    venv = runtimes.ensure_venv(runtime, tmp_path / "venvs", log=pytest.fail)
    assert venv.path == venv_dir and venv.built_seconds is None
    assert venv.python == str(venv_dir / "bin" / "python")


def test_an_environment_whose_build_was_interrupted_is_built_again(tmp_path, monkeypatch):
    """A folder without the `.complete` marker (a build cut short by Ctrl-C) is not reused, but replaced."""
    runtime = runtimes.Runtime("p", write(tmp_path / "p.txt", "mlflow==2.13.1\n"))
    venv_dir = runtime.venv_dir(tmp_path / "venvs")
    write(venv_dir / "bin" / "python", "")  # what the interrupted build got as far as
    steps = []

    def record(command, runtime, what):  # the build's steps recorded, not run: what matters is that they are taken
        steps.append(what)
        if command[1:3] == ["-m", "venv"]:
            Path(command[3]).mkdir(parents=True)  # what `python -m venv` makes, in short

    monkeypatch.setattr(runtimes, "_run", record)
    monkeypatch.setattr(runtimes, "_check_mlflow", lambda venv, runtime: None)
    venv = runtimes.ensure_venv(runtime, tmp_path / "venvs", log=lambda *args, **kwargs: None)
    assert steps == ["create the virtual environment", "install p.txt"]
    assert venv.path == venv_dir and venv.built_seconds is not None
    assert not (venv_dir / "bin" / "python").exists(), "the interrupted build's files are removed first"
    assert (venv_dir / runtimes.COMPLETE_MARKER).is_file()


def test_a_pin_pip_cannot_install_names_the_runtime_and_leaves_no_environment(tmp_path):
    runtime = runtimes.Runtime("broken", write(tmp_path / "broken.txt", "mlflow==0.0.404\n"))
    with pytest.raises(runtimes.RuntimeVersionsError) as error:
        runtimes.ensure_venv(runtime, tmp_path / "venvs", log=lambda *args, **kwargs: None)
    message = str(error.value)
    assert f"runtime broken: could not install broken.txt ({runtime.path})" in message
    assert "mlflow==0.0.404" in message  # pip's own words about the pin
    assert not runtime.venv_dir(tmp_path / "venvs").exists()


def test_outdated_environments_of_the_runtime_are_removed(tmp_path):
    runtime = runtimes.Runtime("15.4-lts-ml", write(tmp_path / "15.4-lts-ml.txt", "mlflow==2.13.1\n"))
    venvs = tmp_path / "venvs"
    current, outdated = runtime.venv_dir(venvs), venvs / "15.4-lts-ml-0123456789ab"
    other_runtime = venvs / "15.4-lts-ml-extra-0123456789ab"
    for folder in (current, outdated, other_runtime):
        folder.mkdir(parents=True)
    runtimes._remove_outdated(runtime, current)
    assert current.exists() and other_runtime.exists() and not outdated.exists()


def test_without_options_drops_options_and_their_values():
    argv = ["nb.py", "--runtime", "all", "--out=/tmp/x", "--param", "a=b", "--out", "y", "--timings"]
    assert runtimes.without_options(argv, ["--runtime", "--out"]) == ["nb.py", "--param", "a=b", "--timings"]


def test_results_table_names_each_runtime_and_the_failing_cell():
    failure = 'error: runtime 18-lts-ml: x.py:12 (cell 3 "Train") failed: ValueError: bad'
    results = [
        runtimes.RuntimeResult("15.4-lts-ml", "2.13.1", 0, 61.2, ""),
        runtimes.RuntimeResult("18-lts-ml", "3.8.1", 1, 75.0, failure),
    ]
    table = runtimes.format_results(results)
    lines = table.splitlines()
    assert lines[0].split() == ["runtime", "mlflow", "result", "wall", "time"]
    assert lines[2].split() == ["15.4-lts-ml", "2.13.1", "pass", "61", "s"]
    assert lines[3].split() == ["18-lts-ml", "3.8.1", "FAIL", "75", "s"]
    # Under the table, a line for each runtime that failed, and none for one that passed.
    assert lines[4:] == [f"18-lts-ml: {failure}"]


# --- the real runtimes ---------------------------------------------------------------------------


def test_each_lts_runtime_has_a_file_and_so_does_latest():
    assert set(runtimes.available()) == {*RUNTIME_MLFLOW, "latest"}


@pytest.mark.parametrize("name", sorted(RUNTIME_MLFLOW))
def test_lts_runtimes_pin_the_runtimes_mlflow(name):
    assert runtimes.load(name).mlflow_version == RUNTIME_MLFLOW[name]
    assert runtimes.load(runtimes.short_name(name)).mlflow_version == RUNTIME_MLFLOW[name]  # `--runtime 15.4`


@pytest.mark.parametrize("name", [*sorted(RUNTIME_MLFLOW), "latest"])
def test_each_runtime_pins_every_lab_library(name):
    pins = runtimes.load(name).pins()
    assert [library for library in LAB_LIBRARIES if library not in pins] == []


def test_latest_pins_what_requirements_txt_pins():
    requirements = runtimes.Runtime("requirements", PROJECT / "requirements.txt").pins()
    latest = runtimes.load("latest")
    assert latest.pins() == requirements
    # Through its include only: a pin of latest.txt's own would be a second pin of the package, which pins()
    # hides (the last one wins) and pip, given two versions, refuses.
    assert latest.files() == [latest.path.resolve(), (PROJECT / "requirements.txt").resolve()]
    assert [line for line in latest.path.read_text().splitlines() if runtimes.PIN.match(line.strip())] == []


def test_run_lab_names_the_available_runtimes_for_an_unknown_one():
    result = run_lab("--runtime", "14.3-lts-ml", timeout=120)
    assert result.returncode == 2
    assert "unknown runtime '14.3-lts-ml'" in result.stderr
    assert all(runtimes.short_name(name) in result.stderr for name in runtimes.available())


def test_run_lab_refuses_a_runtime_with_another_tracking_server():
    result = run_lab("--runtime", "latest", "--tracking-uri", "http://127.0.0.1:9", timeout=120)
    assert result.returncode == 2
    assert "--runtime starts the tracking server" in result.stderr


def test_run_lab_still_accepts_the_old_profile_option_and_says_it_is_now_runtime():
    """`--profile` was --runtime's name (the word now means only deploy.py's ~/.databrickscfg profile): it still
    works, with one line of note first, and then fails exactly as --runtime does."""
    new, old = (run_lab(option, "nosuch", timeout=120) for option in ["--runtime", "--profile"])
    assert new.returncode == old.returncode == 2
    note, *rest = old.stderr.splitlines()
    assert note.startswith("note: --profile is now --runtime (") and "note" not in new.stderr
    assert rest == new.stderr.splitlines() and len(rest) == 1
    assert rest[0].startswith("error: runtime nosuch: unknown runtime 'nosuch'")
    # An error about the option names the option as the user typed it.
    old = run_lab("--profile", "latest", "--tracking-uri", "http://127.0.0.1:9", timeout=120)
    assert old.returncode == 2
    assert old.stderr.splitlines()[1:] == [
        "error: runtime latest: --profile starts the tracking server from the "
        "runtime's environment; drop --tracking-uri"
    ]


# --- the lab, run in a runtime's environment -----------------------------------------------------

# Runs in the runtime's environment: what its tracking server holds about the lab's runs, as JSON.
CHECK_RUNS = r"""
import json, sys, tempfile
import numpy as np, pandas as pd
import mlflow, mlflow.sklearn
from mlflow.tracking import MlflowClient

experiment_name = sys.argv[1]
client = MlflowClient()
experiment = client.get_experiment_by_name(experiment_name)
runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"]) if experiment else []
# The lab's first real trips (conftest.real_trips), as pandas' "split" JSON: the model predicts their fares.
trips = pd.read_json(open(sys.argv[2]), orient="split", dtype=False)
trips = trips.astype({column: float for column in trips.columns if column != "normalizeHolidayName"})
found = []
for run in runs:
    run_id = run.info.run_id
    artifacts = [artifact.path for artifact in client.list_artifacts(run_id)]
    png_head = ""
    pngs = [path for path in artifacts if path.endswith(".png")]
    if pngs:
        local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=pngs[0], dst_path=tempfile.mkdtemp())
        png_head = open(local, "rb").read(8).hex()
    model = mlflow.sklearn.load_model(f"runs:/{run_id}/model")
    found.append({
        "run_id": run_id, "status": run.info.status, "params": run.data.params, "metrics": run.data.metrics,
        "artifacts": artifacts, "png_head": png_head, "predictions": [float(x) for x in model.predict(trips)],
    })
print(json.dumps({"client_mlflow": mlflow.__version__, "runs": found}))
"""


@dataclass
class RuntimeLab:
    name: str
    python: str
    pin: str
    out: Path
    experiment_name: str
    server_version: str
    client_mlflow: str
    runs: list[dict]

    def executed_notebook(self) -> nbformat.NotebookNode:
        return nbformat.read(self.out / "executed" / f"{LAB_NOTEBOOK.stem}.ipynb", as_version=4)


# One xdist group per runtime: a runtime's tests share one run on one worker, and two runtimes run at once.
@pytest.fixture(
    scope="session",
    params=[pytest.param(name, marks=pytest.mark.xdist_group(f"runtime-{name}")) for name in E2E_RUNTIMES],
)
def runtime_lab(request, tmp_path_factory) -> RuntimeLab:
    """The lab run once per runtime by `run_lab.py --runtime`, then its store read back in that runtime."""
    name = request.param
    runtime = runtimes.load(name)
    out = tmp_path_factory.mktemp(f"runtime-{name}")
    experiment_name = f"test-runtime-{uuid.uuid4().hex[:8]}"
    # Building an environment takes minutes the first time; later runs reuse it (.venvs/, keyed by content).
    result = run_lab(
        str(LAB_NOTEBOOK),
        "--runtime",
        name,
        "--out",
        str(out),
        "--param",
        f"experiment_name={experiment_name}",
        timeout=1800,
    )
    assert result.returncode == 0, f"run_lab.py --runtime {name} failed:\n{result.stdout}\n{result.stderr}"
    python = runtimes.ensure_venv(runtime).python
    with TrackingServer(out / "mlflow", python=python) as server:
        with urllib.request.urlopen(f"{server.uri}/version", timeout=10) as response:
            server_version = response.read().decode().strip()
        trips_json = out / "trips.json"
        trips_json.write_text(real_trips()[0].to_json(orient="split"))
        check = subprocess.run(
            [python, "-c", CHECK_RUNS, experiment_name, str(trips_json)],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=out,
            env=_plain_env(MLFLOW_TRACKING_URI=server.uri),
        )
    assert check.returncode == 0, f"reading the runs back in {name} failed:\n{check.stderr}"
    state = json.loads(check.stdout.strip().splitlines()[-1])
    return RuntimeLab(
        name,
        python,
        runtime.mlflow_version,
        out,
        experiment_name,
        server_version,
        state["client_mlflow"],
        state["runs"],
    )


def _plain_env(**settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABRICKS_", "MLFLOW_"))}
    # As run_lab.py sets for the kernel: mlflow 3.8 first asks for `runs:/<id>/model` as a run artifact, which
    # a local server answers with an error, and by default retries that for minutes before it looks elsewhere.
    return {**env, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", **settings}


def all_output_text(notebook: nbformat.NotebookNode) -> list[tuple[int, str]]:
    texts = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            parts = [output.get("text", "")] + [str(value) for value in output.get("data", {}).values()]
            parts += output.get("traceback", [])
            texts.append((index, "\n".join(parts)))
    return texts


@pytest.mark.runtime
def test_runtime_logs_exactly_the_three_lab_runs(runtime_lab):
    runs = runtime_lab.runs
    assert len(runs) == 3, f"{runtime_lab.name}: {len(runs)} runs in {runtime_lab.experiment_name}"
    params = [[run["params"][key] for key in ("elastic_net_param", "reg_param", "max_iter")] for run in runs]
    assert params == LAB_HYPERPARAMETERS
    assert all(run["status"] == "FINISHED" for run in runs)


@pytest.mark.runtime
def test_runtime_runs_have_the_real_datas_metrics(runtime_lab):
    """The runtime's library versions give the course's numbers on the real data, as requirements.txt's do."""
    for run, (rmse, mae, r2) in zip(runtime_lab.runs, REAL_DATA_METRICS, strict=True):
        metrics = run["metrics"]
        assert metrics["rmse"] == pytest.approx(rmse, abs=0.01), (runtime_lab.name, run["params"])
        assert metrics["mae"] == pytest.approx(mae, abs=0.01), (runtime_lab.name, run["params"])
        assert metrics["r2"] == pytest.approx(r2, abs=0.01), (runtime_lab.name, run["params"])


@pytest.mark.runtime
def test_runtime_models_load_and_predict_fares_near_the_actual_ones(runtime_lab):
    # MLflow 3 keeps a model apart from its run's artifacts (a "logged model"); `runs:/<id>/model` finds it either way.
    fares = real_trips()[1].to_numpy()
    for run, (_, mae, _) in zip(runtime_lab.runs, REAL_DATA_METRICS, strict=True):
        # On the lab's first 200 trips a model errs about as on its test trips (that run's MAE), not twice as much.
        assert np.mean(np.abs(np.array(run["predictions"]) - fares)) < 2 * mae, (runtime_lab.name, run["params"])


@pytest.mark.runtime
def test_runtime_runs_log_a_png_plot(runtime_lab):
    for run in runtime_lab.runs:
        assert "LinearRegressionPrediction.png" in run["artifacts"]
        assert bytes.fromhex(run["png_head"]) == PNG_SIGNATURE


@pytest.mark.runtime
def test_runtime_runs_the_pinned_mlflow_in_server_client_and_notebook(runtime_lab):
    assert runtime_lab.server_version == runtime_lab.pin
    assert runtime_lab.client_mlflow == runtime_lab.pin
    printed = [text for _, text in all_output_text(runtime_lab.executed_notebook()) if "Loaded libraries:" in text]
    assert len(printed) == 1
    assert f"MLflow {runtime_lab.pin}," in printed[0]


# Besides deprecations: setuptools' warning about distutils, which MLflow 2.13's log_model sets off in a kernel
# unless the runner sets SETUPTOOLS_USE_DISTUTILS (local_run.py). A UserWarning, a learner sees it all the same.
WARNINGS = ("DeprecationWarning", "FutureWarning", "Distutils was imported before Setuptools")


@pytest.mark.runtime
def test_runtime_notebook_shows_no_deprecation_or_future_warnings(runtime_lab):
    notebook = runtime_lab.executed_notebook()
    warned = [
        (index, notebook.cells[index].metadata.get("databricks", {}).get("line"), text[:300])
        for index, text in all_output_text(notebook)
        if any(warning in text for warning in WARNINGS)
    ]
    assert warned == [], f"{runtime_lab.name}: warnings in cell outputs (index, source line, text): {warned}"


# --- the Spark ML notebook on the oldest and newest LTS runtime's Spark and MLflow ----------------

SPARK_RUNTIMES = ["15.4-lts-ml", "18-lts-ml"]
SPARK_NOTEBOOK = PROJECT / "notebooks" / "02-using-mlflow-to-track-experiments-spark-ml.py"
# Measured on the real data with Spark 3.5.0 and 4.0.1 alike (tests/test_spark_lab.py): r2 of runs 1, 2, 3.
SPARK_R2 = [0.8731, 0.8836, 0.8747]

# Runs in the runtime's environment: the runs, and each model's flavors as its MLmodel file lists them.
CHECK_SPARK_RUNS = r"""
import json, sys, tempfile
import mlflow, yaml
from mlflow.tracking import MlflowClient

client = MlflowClient()
experiment = client.get_experiment_by_name(sys.argv[1])
runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"]) if experiment else []
found = []
for run in runs:
    mlmodel = client.download_artifacts(run.info.run_id, "model/MLmodel", tempfile.mkdtemp())
    found.append({"params": run.data.params, "metrics": run.data.metrics, "status": run.info.status,
                  "flavors": sorted(yaml.safe_load(open(mlmodel))["flavors"]),
                  "artifacts": [a.path for a in client.list_artifacts(run.info.run_id)]})
print(json.dumps(found))
"""


@pytest.mark.runtime
@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.xdist_group(f"runtime-{name}")) for name in SPARK_RUNTIMES]
)
def test_the_spark_notebook_runs_on_the_runtimes_spark_and_mlflow(name, tmp_path):
    data = PROJECT / "data" / "nyc-taxi.csv"
    if not data.is_file():
        pytest.skip(f"the lab's data is not at {data}")
    experiment_name = f"test-spark-runtime-{uuid.uuid4().hex[:8]}"
    result = run_lab(
        str(SPARK_NOTEBOOK),
        "--runtime",
        name,
        "--out",
        str(tmp_path),
        "--param",
        f"experiment_name={experiment_name}",
        timeout=1800,
    )
    assert result.returncode == 0, f"run_lab.py --runtime {name} failed:\n{result.stdout}\n{result.stderr}"
    runtime = runtimes.load(name)
    python = runtimes.ensure_venv(runtime).python
    assert runtimes.installed_version(python, "pyspark") == runtime.pins()["pyspark"]
    with TrackingServer(tmp_path / "mlflow", python=python) as server:
        check = subprocess.run(
            [python, "-c", CHECK_SPARK_RUNS, experiment_name],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
            env=_plain_env(MLFLOW_TRACKING_URI=server.uri),
        )
    assert check.returncode == 0, f"reading the runs back in {name} failed:\n{check.stderr}"
    runs = json.loads(check.stdout.strip().splitlines()[-1])
    params = [[run["params"][key] for key in ("elastic_net_param", "reg_param", "max_iter")] for run in runs]
    assert params == LAB_HYPERPARAMETERS
    for run, r2 in zip(runs, SPARK_R2, strict=True):
        assert run["status"] == "FINISHED"
        assert run["metrics"]["r2"] == pytest.approx(r2, abs=0.01)
        assert {"spark", "python_function"} <= set(run["flavors"])
        assert "LinearRegressionPrediction.png" in run["artifacts"]
