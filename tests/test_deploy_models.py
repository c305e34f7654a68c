"""`deploy.py clean-up --delete-models`: the Managing Models notebooks' registered models, and no other.

Against tests/workspace_stub.py (its Unity Catalog model endpoints), as tests/test_deploy.py does for the rest.
"""

from __future__ import annotations

import re

import pytest
from deploy_cli import ROOT, TOKEN, one_line, run_deploy, workspace
from lab_expected import REGISTRY, model_name

from labtools import lab
from labtools.workspace import models

USER = "First.Last@example.com"
MINE = ["workspace.default.dp090_nyc_taxi_first_last", "workspace.default.dp090_nyc_taxi_first_last_spark_ml"]
NOT_MINE = [
    "workspace.default.dp090_nyc_taxi_other_learner",  # another learner's
    "workspace.default.dp090_nyc_taxi_first_last_v2",  # a name given by hand (model_name)
    "workspace.default.nyc_taxi_model",  # not the lab's
    "main.default.dp090_nyc_taxi_first_last",  # another catalog than the one cleaned up
    "workspace.default.dp090_nyc_taxi_first_last_matrix_13_3",  # not a runtime of the matrix
]
# What the bundle's Japanese jobs and the runtime matrix (bundle and `run --runtime`) register besides.
DEPLOYMENTS = [model_name(USER, notebook, lang="ja") for notebook in REGISTRY] + [
    model_name(USER, notebook, runtime=runtime) for notebook in REGISTRY for runtime in lab.LTS_ML_RUNTIMES
]


@pytest.fixture
def stub():
    with workspace(TOKEN, USER) as started:
        yield started


def model_calls(stub) -> list[str]:
    return [f"{r.method} {r.path}" for r in stub.requests if "/unity-catalog/models" in r.path]


def test_delete_models_deletes_the_callers_lab_models_with_their_versions_and_nothing_else(stub, home):
    stub.put_model(MINE[0], versions=2, aliases={"champion": 2})
    stub.put_model(MINE[1], versions=1)
    for name in NOT_MINE:
        stub.put_model(name, versions=1, aliases={"champion": 1})
    result = run_deploy("clean-up", "--delete-models", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    assert sorted(stub.registered_models) == sorted(NOT_MINE)
    assert f"deleted registered model {MINE[0]} (@champion -> version 2)" in result.stdout
    assert f"deleted registered model {MINE[1]}\n" in result.stdout
    # one DELETE per model, the versions with it (the service deletes them: sdk-py RegisteredModelsAPI.delete)
    assert [call for call in model_calls(stub) if call.startswith("DELETE")] == [
        f"DELETE /api/2.1/unity-catalog/models/{name}" for name in MINE
    ]


def test_lab_model_name_spells_each_deployments_model_as_the_bundle_does():
    """The names, written out: the notebooks' defaults (registry_setup), `_ja` for a Japanese job, and the matrix's
    `_matrix_<runtime>` after `_spark_ml`, as resources/lab_job.yml spells them."""
    name = models.lab_model_name
    assert name(USER, "workspace", "default", False) == MINE[0]
    assert name(USER, "workspace", "default", True) == MINE[1]
    assert name(USER, "workspace", "default", False, lang="en") == MINE[0]
    assert name(USER, "main", "lab", False, lang="ja") == "main.lab.dp090_nyc_taxi_first_last_ja"
    assert name(USER, "workspace", "default", True, lang="ja") == f"{MINE[1]}_ja"
    assert name(USER, "c", "s", False, runtime="15.4") == "c.s.dp090_nyc_taxi_first_last_matrix_15_4"
    assert name(USER, "c", "s", True, runtime="18") == "c.s.dp090_nyc_taxi_first_last_spark_ml_matrix_18"
    for bad in [{"runtime": "13.3"}, {"lang": "fr"}]:
        with pytest.raises(ValueError):
            name(USER, "c", "s", False, **bad)
    every = models.lab_model_names(USER, "workspace", "default")
    assert sorted(every) == sorted([*MINE, *DEPLOYMENTS])
    assert len(every) == 2 * (len(lab.LANGUAGES) + len(lab.LTS_ML_RUNTIMES)) == len(set(every))


def test_delete_models_deletes_the_japanese_and_the_matrix_models_too_and_skips_those_never_created(stub, home):
    """Every name a deployment can create is tried; those never created (most) are 404s, skipped without a word."""
    for name in [*MINE[:1], *DEPLOYMENTS[:3], *NOT_MINE]:
        stub.put_model(name)
    result = run_deploy("clean-up", "--delete-models", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert sorted(stub.registered_models) == sorted(NOT_MINE)
    assert [line for line in result.stdout.splitlines() if "registered model" in line] == [
        f"deleted registered model {name}"
        for name in sorted(
            [MINE[0], *DEPLOYMENTS[:3]], key=lambda n: models.lab_model_names(USER, "workspace", "default").index(n)
        )
    ]
    asked = [r.path.rsplit("/", 1)[1] for r in stub.calls("GET", "") if "/unity-catalog/models/" in r.path]
    assert sorted(asked) == sorted([*MINE, *DEPLOYMENTS])


def test_a_model_that_cannot_be_deleted_is_one_line_after_the_others_are_deleted(stub, home):
    """Another user's model under one of your names (say, shared by hand) is a 403: said in one line, exit 1;
    the other models are deleted all the same."""
    stub.put_model(MINE[0], owner="someone.else@example.com")
    stub.put_model(DEPLOYMENTS[0])
    stub.put_model(DEPLOYMENTS[-1], owner="someone.else@example.com")
    result = run_deploy("clean-up", "--delete-models", host=stub.url, home=home)
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert line.startswith(
        "deploy.py clean-up: --delete-models: 2 of the lab's models not deleted: "
        f"delete registered model {MINE[0]}: permission denied (HTTP 403)"
    ), line
    assert f"; delete registered model {DEPLOYMENTS[-1]}: permission denied (HTTP 403)" in line
    assert f"deleted registered model {DEPLOYMENTS[0]}\n" in result.stdout
    assert sorted(stub.registered_models) == sorted([MINE[0], DEPLOYMENTS[-1]])


def test_delete_models_in_the_catalog_and_schema_given(stub, home):
    elsewhere = [name.replace("workspace.default.", "main.lab.") for name in MINE]
    for name in [*MINE, *elsewhere]:
        stub.put_model(name)
    result = run_deploy("clean-up", "--delete-models", "--catalog", "main", "--schema", "lab", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    assert sorted(stub.registered_models) == MINE
    assert stub.calls("GET", "/current-metastore-assignment") == []  # the catalog was given


def test_the_default_catalog_is_the_workspaces(stub, home):
    stub.default_catalog = "adb_1234"
    stub.put_model(f"adb_1234.default.{models.LAB_UC_MODEL}_first_last")
    stub.put_model(MINE[0])
    assert run_deploy("clean-up", "--delete-models", host=stub.url, home=home).returncode == 0
    assert sorted(stub.registered_models) == [MINE[0]]


def test_without_delete_models_no_model_is_touched_and_none_found_is_said(stub, home):
    stub.put_model(MINE[0])
    assert run_deploy("clean-up", host=stub.url, home=home).returncode == 0
    assert model_calls(stub) == [] and sorted(stub.registered_models) == [MINE[0]]
    stub.registered_models.clear()
    result = run_deploy("clean-up", "--delete-models", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    assert "no registered model of the lab" in result.stdout


def test_dry_run_shows_the_model_calls(stub, home):
    result = run_deploy("clean-up", "--delete-models", "--dry-run", host=stub.url, home=home)
    assert result.returncode == 0, result.stderr
    assert "GET /api/2.1/unity-catalog/current-metastore-assignment" in result.stdout
    assert "DELETE /api/2.1/unity-catalog/models/<default catalog>.default.dp090_nyc_taxi_" in result.stdout
    assert stub.requests == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--catalog", "main"], "add --delete-models"),
        (["--delete-models", "--group", "class"], "leave out --learners/--group"),
    ],
)
def test_misused_model_options_are_refused_before_any_call(stub, home, args, words):
    result = run_deploy("clean-up", *args, host=stub.url, home=home)
    assert result.returncode == 2 and words in result.stderr, result.stderr
    assert stub.requests == []


def test_help_names_the_models_it_deletes(home):
    result = run_deploy("clean-up", "--help", home=home, token=None)
    assert "--delete-models" in result.stdout and "dp090_nyc_taxi_<your short user name>" in result.stdout


def test_the_names_are_the_notebooks_defaults():
    """models.py writes what notebooks/includes/registry_setup.py defines (the notebooks import nothing of ours)."""
    source = (ROOT / "notebooks" / "includes" / "registry_setup.py").read_text()
    assert f'LAB_UC_MODEL = "{models.LAB_UC_MODEL}"' in source
    assert f'f"{{name}}{models.SPARK_ML_SUFFIX}" if spark_ml' in source
    function = re.search(r"^def short_user_name.*?(?=^def )", source, re.MULTILINE | re.DOTALL)[0]
    namespace = {"re": re}
    exec(function, namespace)  # the notebook's own function, beside ours
    for user in ["First.Last@example.com", "a--b__c@x", "Ünïcode.User+tag@x", "x1.2y@x", "__x__@x"]:
        assert models.short_user_name(user) == namespace["short_user_name"](user), user


def test_the_deploy_guide_says_what_delete_models_deletes():
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert "`--delete-models`" in guide and "dp090_nyc_taxi_<your short user name>" in guide and "`--catalog`" in guide
