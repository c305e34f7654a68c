"""A class in one command: `deploy.py deploy|clean-up --learners FILE | --group NAME [--profile P ...]`.

No Databricks workspace is reachable from here: deploy.py runs in a process of its own against one or more
tests/workspace_stub.py servers, each standing in for a workspace with its users and groups.
"""

from __future__ import annotations

import base64
import socket

import pytest
from deploy_cli import ROOT, TOKEN, one_line, run_deploy, workspace, write_profiles
from lab_expected import NOTEBOOKS, lab_files
from workspace_stub import WorkspaceStub

INSTRUCTOR = "instructor@example.com"
LEARNERS = ["ana@example.com", "bo@example.com"]
# What each learner's lab folder holds (tests/lab_expected.py: every notebook lab.LAB_NOTEBOOKS declares, and the
# includes); FIRST, the first lab notebook, is the one a learner edits here.
LAB_FILES = set(lab_files())
FIRST = NOTEBOOKS[0]
OTHER_TOKEN = "dapi-FAKE-second-workspace-token-never-print-me"


@pytest.fixture
def stub():
    with workspace(TOKEN, INSTRUCTOR) as started:
        for learner in LEARNERS:
            started.add_user(learner)
        yield started


@pytest.fixture
def learners_file(home):
    path = home / "class.txt"
    path.write_text("# DP-090, Monday\nana@example.com\n\nBo@Example.com   # arrives late\nnobody@example.com\n")
    return path


def lab_files(stub, learner: str, lab_folder: str = "dp090-mlflow-lab") -> set[str]:
    folder = f"/Users/{learner}/{lab_folder}/"
    return {
        path[len(folder) :]
        for path, entry in stub.objects.items()
        if path.startswith(folder) and entry["object_type"] == "NOTEBOOK"
    }


def rows(stdout: str) -> dict[str, str]:
    """The table's rows: learner -> the whole line."""
    lines = stdout.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("workspace")) + 2
    return {line.split()[1]: line for line in lines[start:] if line.strip() and " of " not in line.split("  ")[0]}


def test_deploy_gives_each_learner_a_copy_and_reports_each(stub, home, learners_file):
    stub.deny("/Users/bo@example.com/dp090-mlflow-lab")
    result = run_deploy("deploy", "--learners", str(learners_file), host=stub.url, home=home)
    assert result.returncode == 1, result.stderr  # a row failed
    table = rows(result.stdout)
    assert set(table) == {"ana@example.com", "bo@example.com", "nobody@example.com"}
    assert f"deployed ({len(LAB_FILES)} notebooks and the lab's data)" in table["ana@example.com"]
    assert "/Users/ana@example.com/dp090-mlflow-lab" in table["ana@example.com"]
    assert "permission denied (HTTP 403)" in table["bo@example.com"]
    assert "has no user nobody@example.com" in table["nobody@example.com"]
    assert "1 of 3 done; 2 failed" in result.stdout
    assert lab_files(stub, "ana@example.com") == LAB_FILES
    assert lab_files(stub, "bo@example.com") == set()
    assert lab_files(stub, INSTRUCTOR) == set()  # the instructor's own folder is not touched
    # The learner is looked up by user name, with the service's SCIM filter, in the query string.
    filters = [request.query.get("filter") for request in stub.calls("GET", "/scim/v2/Users")]
    assert 'userName eq "Bo@Example.com"' in filters


def test_deploying_again_is_safe_and_says_what_was_there(stub, home, learners_file):
    learners_file.write_text("\n".join(LEARNERS) + "\n")
    first = run_deploy("deploy", "--learners", str(learners_file), host=stub.url, home=home)
    assert first.returncode == 0, first.stdout + first.stderr
    before = {path: entry["object_id"] for path, entry in stub.objects.items() if entry["object_type"] == "DIRECTORY"}
    second = run_deploy("deploy", "--learners", str(learners_file), host=stub.url, home=home)
    assert second.returncode == 0, second.stdout + second.stderr
    for learner in LEARNERS:
        assert "updated: it was already there" in rows(second.stdout)[learner]
        assert lab_files(stub, learner) == LAB_FILES
    # No folder was made twice.
    assert {
        path: entry["object_id"] for path, entry in stub.objects.items() if entry["object_type"] == "DIRECTORY"
    } == before


def test_a_group_means_its_members_nested_groups_included(stub, home):
    carla = "carla@example.com"
    stub.add_user(carla)
    stub.add_group("late-joiners", [carla])
    stub.add_group("dp090-monday", ["ana@example.com"], groups=["late-joiners"])
    result = run_deploy("deploy", "--group", "dp090-monday", host=stub.url, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(rows(result.stdout)) == {"ana@example.com", carla}
    assert lab_files(stub, carla) == LAB_FILES and lab_files(stub, "bo@example.com") == set()


def test_an_unknown_group_is_one_row_naming_it(stub, home):
    result = run_deploy("deploy", "--group", "dp090-tuesday", host=stub.url, home=home)
    assert result.returncode == 1
    assert "no group 'dp090-tuesday'" in result.stdout
    assert not stub.calls("POST", "/workspace/import")


def test_a_caller_who_is_not_an_admin_gets_one_line_and_no_writes(home, learners_file):
    with WorkspaceStub(TOKEN, INSTRUCTOR, admin=False) as stub:
        for learner in LEARNERS:
            stub.add_user(learner)
        result = run_deploy("deploy", "--learners", str(learners_file), host=stub.url, home=home)
    assert result.returncode == 1
    [line] = [line for line in result.stdout.splitlines() if "admin" in line]
    assert "writing to other users' folders needs workspace admin rights" in line and INSTRUCTOR in line
    assert not stub.calls("POST", "/workspace/mkdirs") and not stub.calls("POST", "/workspace/import")


def test_two_workspaces_in_one_command(stub, home, learners_file):
    learners_file.write_text("ana@example.com\n")
    with WorkspaceStub(OTHER_TOKEN, INSTRUCTOR) as second:
        second.add_user("ana@example.com")
        write_profiles(home, {"monday": (stub.url, TOKEN), "tuesday": (second.url, OTHER_TOKEN)})
        result = run_deploy(
            "deploy",
            "--learners",
            str(learners_file),
            "--profile",
            "monday",
            "--profile",
            "tuesday",
            home=home,
            token=None,
            secrets=[OTHER_TOKEN],
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert lab_files(stub, "ana@example.com") == LAB_FILES == lab_files(second, "ana@example.com")
        hosts = [line.split()[0] for line in result.stdout.splitlines() if "ana@example.com" in line]
        assert hosts == [stub.url.removeprefix("http://"), second.url.removeprefix("http://")]
        assert f"Contacting {stub.url} (from profile 'monday'" in result.stdout
    assert all(request.authorized for request in second.requests if request.path.startswith("/api/"))


def test_a_workspace_that_cannot_be_reached_is_a_row_and_the_others_go_on(stub, home, learners_file):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{probe.getsockname()[1]}"
    write_profiles(home, {"gone": (gone, OTHER_TOKEN), "here": (stub.url, TOKEN)})
    learners_file.write_text("ana@example.com\n")
    result = run_deploy(
        "deploy",
        "--learners",
        str(learners_file),
        "--profile",
        "gone",
        "--profile",
        "here",
        home=home,
        token=None,
        secrets=[OTHER_TOKEN],
    )
    assert result.returncode == 1
    [row] = [line for line in result.stdout.splitlines() if line.startswith("gone ")]
    assert f"not reached: cannot reach {gone}" in row
    assert lab_files(stub, "ana@example.com") == LAB_FILES


def test_dry_run_lists_every_call_for_every_learner_without_credentials(stub, home, learners_file):
    result = run_deploy("deploy", "--learners", str(learners_file), "--dry-run", host=stub.url, home=home, token=None)
    assert result.returncode == 0, result.stderr
    assert stub.requests == []
    for learner in ["ana@example.com", "Bo@Example.com", "nobody@example.com"]:
        folder = f"/Users/{learner}/dp090-mlflow-lab/"
        imports = [
            line for line in result.stdout.splitlines() if "POST /api/2.0/workspace/import" in line and folder in line
        ]
        assert len(imports) == len(LAB_FILES) + 2, learner  # the notebooks, the lab's data, the manifest
        assert sum(f"{folder}data/nyc-taxi.csv" in line for line in imports) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ana@example.com\nnot an address\n", "class.txt:2: 'not an address' is not an e-mail address"),
        ("# nobody yet\n\n", "class.txt: no learners in it"),
    ],
)
def test_a_bad_learners_file_is_one_line_naming_file_and_line(stub, home, learners_file, text, expected):
    learners_file.write_text(text)
    result = run_deploy("deploy", "--learners", str(learners_file), host=stub.url, home=home)
    assert result.returncode == 1
    assert expected in one_line(result.stderr)
    assert stub.requests == []


def test_clean_up_removes_the_copies_and_only_with_the_option_the_experiments(stub, home, learners_file):
    learners_file.write_text("\n".join(LEARNERS) + "\n")
    assert run_deploy("deploy", "--learners", str(learners_file), host=stub.url, home=home).returncode == 0
    for index, learner in enumerate(LEARNERS):  # each learner ran every notebook: their own experiments exist
        for notebook in NOTEBOOKS:
            name = f"/Users/{learner}/{notebook.experiment}"
            stub.experiments[name] = {
                "experiment_id": f"9{index}{notebook.stem}",
                "name": name,
                "lifecycle_stage": "active",
            }
    someone_elses = f"/Users/ana@example.com/{FIRST.deploy_experiment}"
    stub.experiments[someone_elses] = {"experiment_id": "80", "name": someone_elses, "lifecycle_stage": "active"}

    kept = run_deploy("clean-up", "--learners", str(learners_file), host=stub.url, home=home)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert all(lab_files(stub, learner) == set() for learner in LEARNERS)
    assert all(experiment["lifecycle_stage"] == "active" for experiment in stub.experiments.values())
    assert "kept the experiments (--delete-experiment deletes them)" in rows(kept.stdout)["ana@example.com"]

    removed = run_deploy("clean-up", "--learners", str(learners_file), "--delete-experiment", host=stub.url, home=home)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert sorted(
        name for name, experiment in stub.experiments.items() if experiment["lifecycle_stage"] == "deleted"
    ) == sorted(f"/Users/{learner}/{notebook.experiment}" for learner in LEARNERS for notebook in NOTEBOOKS)
    assert stub.experiments[someone_elses]["lifecycle_stage"] == "active"  # deploy.py run's is not the learner's
    assert f"deleted {len(NOTEBOOKS)} experiments" in rows(removed.stdout)["bo@example.com"]

    again = run_deploy("clean-up", "--learners", str(learners_file), "--delete-experiment", host=stub.url, home=home)
    assert again.returncode == 0 and "nothing was there" in rows(again.stdout)["ana@example.com"]


def test_lang_ja_gives_each_learner_the_japanese_notebooks_and_takes_them_away(stub, home, learners_file):
    learners_file.write_text("\n".join(LEARNERS) + "\n")
    result = run_deploy("deploy", "--learners", str(learners_file), "--lang", "ja", host=stub.url, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    for learner in LEARNERS:
        assert lab_files(stub, learner, "dp090-mlflow-lab-ja") == LAB_FILES
        assert lab_files(stub, learner) == set()  # no English copy
        assert f"/Users/{learner}/dp090-mlflow-lab-ja " in rows(result.stdout)[learner]
    sent = {request.body["path"]: request.body["content"] for request in stub.calls("POST", "/workspace/import")}
    ja = FIRST.path("ja").read_bytes()
    first = f"/Users/ana@example.com/dp090-mlflow-lab-ja/{FIRST.stem}"
    assert base64.b64decode(sent[first]) == ja

    both = run_deploy("deploy", "--learners", str(learners_file), "--lang", "all", host=stub.url, home=home)
    assert both.returncode == 0, both.stdout + both.stderr
    assert "4 of 4 done" in both.stdout  # a row per learner and language
    assert all(lab_files(stub, learner) == LAB_FILES for learner in LEARNERS)

    removed = run_deploy("clean-up", "--learners", str(learners_file), "--lang", "ja", host=stub.url, home=home)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert all(lab_files(stub, learner, "dp090-mlflow-lab-ja") == set() for learner in LEARNERS)
    assert all(lab_files(stub, learner) == LAB_FILES for learner in LEARNERS)  # the English copies stay


def documented_deploy_commands() -> list[list[str]]:
    """Every `python scripts/deploy.py ...` line in a code block of the deploy guide and the lab guides."""
    import re
    import shlex

    from deploy_cli import ROOT

    found = []
    for doc in ["docs/deploy.md", "docs/lab-guide.md", "docs/lab-guide.ja.md"]:
        for block in re.findall(r"```bash\n(.*?)```", (ROOT / doc).read_text(encoding="utf-8"), re.DOTALL):
            found += [
                shlex.split(line, comments=True)[2:]
                for line in block.splitlines()
                if line.startswith("python scripts/deploy.py ")
            ]
    return found


def test_the_documented_commands_are_accepted_as_written(home):
    """Each deploy.py command the docs show parses and, as a dry run (no credentials), goes through."""
    commands = documented_deploy_commands()
    assert ["deploy", "--learners", "class.txt"] in commands and ["run", "--runtime", "all"] in commands
    assert any("--group" in words for words in commands) and any(words[0] == "clean-up" for words in commands)
    (home / "class.txt").write_text("ana@example.com\n")
    for words in commands:
        words = [str(home / "class.txt") if word == "class.txt" else word for word in words]
        result = run_deploy(*words, *(["--dry-run"] if "--dry-run" not in words else []), home=home, token=None)
        assert result.returncode == 0, f"deploy.py {' '.join(words)}: {result.stderr}"


def test_verbose_logs_the_class_calls_but_never_a_token(stub, home, learners_file):
    with WorkspaceStub(OTHER_TOKEN, INSTRUCTOR) as second:
        write_profiles(home, {"monday": (stub.url, TOKEN), "tuesday": (second.url, OTHER_TOKEN)})
        result = run_deploy(
            "deploy",
            "--verbose",
            "--learners",
            str(learners_file),
            "--profile",
            "monday",
            "--profile",
            "tuesday",
            home=home,
            token=None,
            secrets=[OTHER_TOKEN],
        )
    assert "/api/2.0/preview/scim/v2/Users" in result.stderr  # the log is there (run_deploy checked the tokens)
    for file in home.rglob("*"):
        if file.is_file() and file.name != ".databrickscfg":
            assert TOKEN.encode() not in file.read_bytes() and OTHER_TOKEN.encode() not in file.read_bytes(), file


def test_deploying_again_keeps_a_learners_edit_and_force_replaces_it_after_a_backup(stub, home, learners_file):
    """Re-running the class deploy after class has begun: a notebook a learner changed is kept (their row says
    so), the unchanged ones are updated; --force replaces the edited one only after saving it beside."""
    learners_file.write_text("\n".join(LEARNERS) + "\n")
    assert run_deploy("deploy", "--learners", str(learners_file), host=stub.url, home=home).returncode == 0
    lab_notebook = FIRST.path()
    edited = f"/Users/ana@example.com/dp090-mlflow-lab/{FIRST.stem}"
    assert stub.objects[edited]["content"] == lab_notebook.read_bytes()
    # Ana adds a cell in the workspace's editor.
    stub.objects[edited]["content"] += b"\n# COMMAND ----------\n\nprint('my own cell')\n"
    mine = stub.objects[edited]["content"]

    imports_before = len(stub.calls("POST", "/workspace/import"))
    again = run_deploy("deploy", "--learners", str(learners_file), host=stub.url, home=home)
    assert again.returncode == 0, again.stdout + again.stderr
    assert stub.objects[edited]["content"] == mine  # the edit is still there
    ana = rows(again.stdout)["ana@example.com"]
    assert f"kept {FIRST.stem} (edited since it was deployed" in ana and "--force" in ana
    assert f"updated {len(LAB_FILES) - 1} notebooks" in ana
    assert "updated: it was already there" in rows(again.stdout)["bo@example.com"]
    replaced = {request.body["path"] for request in stub.calls("POST", "/workspace/import")[imports_before:]}
    assert edited not in replaced and f"/Users/bo@example.com/dp090-mlflow-lab/{FIRST.stem}" in replaced

    forced = run_deploy("deploy", "--learners", str(learners_file), "--force", host=stub.url, home=home)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    [backup] = [path for path in stub.objects if path.startswith(edited + " (backup ")]
    assert stub.objects[backup]["content"] == mine and stub.objects[backup]["object_type"] == "NOTEBOOK"
    assert stub.objects[edited]["content"] == lab_notebook.read_bytes()
    assert f"saved the edited {FIRST.stem} as '{backup.rsplit('/', 1)[1]}'" in rows(forced.stdout)["ana@example.com"]

    # What --force deployed counts as deployed: the next run updates it without asking.
    last = run_deploy("deploy", "--learners", str(learners_file), host=stub.url, home=home)
    assert "updated: it was already there" in rows(last.stdout)["ana@example.com"]


def test_each_learner_gets_the_labs_data_beside_the_notebooks(stub, home, learners_file):
    """So that the notebooks' search for data/nyc-taxi.csv in their folder finds it: no cluster needs internet."""
    learners_file.write_text("ana@example.com\n")
    result = run_deploy("deploy", "--learners", str(learners_file), "--lang", "all", host=stub.url, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    for folder in ["dp090-mlflow-lab", "dp090-mlflow-lab-ja"]:
        data = stub.objects[f"/Users/ana@example.com/{folder}/data/nyc-taxi.csv"]
        assert data["object_type"] == "FILE" and data["content"] == (ROOT / "data" / "nyc-taxi.csv").read_bytes()


def test_deploying_after_clean_up_with_experiments_restores_the_learners_deleted_ones(stub, home, learners_file):
    """A learner runs the notebook by hand into their default experiment: deleted, MLflow would refuse it."""
    learners_file.write_text("ana@example.com\n")
    name = f"/Users/ana@example.com/{FIRST.experiment}"
    stub.experiments[name] = {"experiment_id": "91", "name": name, "lifecycle_stage": "active"}
    assert run_deploy("deploy", "--learners", str(learners_file), host=stub.url, home=home).returncode == 0
    assert (
        run_deploy(
            "clean-up", "--learners", str(learners_file), "--delete-experiment", host=stub.url, home=home
        ).returncode
        == 0
    )
    assert stub.experiments[name]["lifecycle_stage"] == "deleted"
    again = run_deploy("deploy", "--learners", str(learners_file), host=stub.url, home=home)
    assert again.returncode == 0, again.stdout + again.stderr
    assert stub.experiments[name]["lifecycle_stage"] == "active"
    assert f"restored the deleted experiment {FIRST.experiment}" in rows(again.stdout)["ana@example.com"]
