"""Adding a lab notebook touches exactly the files of CHECKLIST, and nothing else names one.

The notebook list has one owner, `LAB_NOTEBOOKS` in scripts/labtools/lab.py. This test holds the checklist that
ARCHITECTURE.md's "Where to add" gives for a notebook, and proves it three ways:
- every declared notebook is in every file of the checklist (so each file is needed);
- no code outside lab.py names a lab notebook or its experiment in a string (so no other file is needed): the
  scripts, the bundle's root, CI, and the tests that count or enumerate the notebooks;
- a notebook declared in a copy of notebooks/ is picked up by every reader of the list (runner, deploy, its
  experiments, the archive), and an undeclared file there is a one-line error naming it and lab.py.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

from labtools import lab
from labtools.notebook import dbsource
from labtools.workspace import classroom, commands, spec
from labtools.workspace.client import DryRunWorkspace
from labtools.workspace.errors import DeployError
from labtools.workspace.options import CleanUpOptions, DeployOptions, RunOptions

PROJECT = lab.PROJECT
# The files a new notebook <stem> touches, and why; ARCHITECTURE.md's "Where to add" names exactly these.
CHECKLIST = {
    "scripts/labtools/lab.py": "its declaration, a line in LAB_NOTEBOOKS (file, default experiment, engine)",
    "notebooks/<stem>.py": "the notebook, ending with dbutils.notebook.exit(lab_summary(...))",
    "locales/ja/notebooks.po": "its units' translations (scripts/localize.py extract, then translate)",
    "notebooks/ja/<stem>.py": "its Japanese edition, built by scripts/localize.py build",
    "resources/lab_job.yml": "its tasks in lab_notebook, lab_matrix (one per runtime) and lab_notebook_ja",
    "resources/lab_serverless.yml": "its tasks in lab_serverless and lab_serverless_ja",
    "resources/lab_experiment.yml": "its experiment, and lab_matrix's one per runtime",
}


def mentions(notebook: lab.LabNotebook) -> dict[str, list[str]]:
    """What each file of the checklist must hold for `notebook`."""
    experiment = f"/{notebook.experiment}"
    return {
        "scripts/labtools/lab.py": [],  # declared: LAB_NOTEBOOKS holds it
        "notebooks/<stem>.py": [dbsource.HEADER + "\n", "dbutils.notebook.exit(lab_summary("],
        "locales/ja/notebooks.po": [f'msgctxt "{notebook.stem}.py|'],
        "notebooks/ja/<stem>.py": [dbsource.HEADER + "\n"],
        "resources/lab_job.yml": [f"../notebooks/{notebook.stem}.py", f"../notebooks/ja/{notebook.stem}.py"],
        "resources/lab_serverless.yml": [f"../notebooks/{notebook.stem}.py", f"../notebooks/ja/{notebook.stem}.py"],
        "resources/lab_experiment.yml": [
            f"{experiment}\n",
            *(f"{experiment}-matrix-{runtime}\n" for runtime in lab.LTS_ML_RUNTIMES),
        ],
    }


@pytest.mark.parametrize("notebook", lab.LAB_NOTEBOOKS, ids=lambda notebook: notebook.stem)
def test_every_declared_notebook_is_in_every_file_of_the_checklist(notebook):
    """(test_bundle.py checks the tasks and experiments themselves; here: that each file of the list is needed.)"""
    for template, needed in mentions(notebook).items():
        assert template in CHECKLIST
        path = PROJECT / template.replace("<stem>", notebook.stem)
        assert path.is_file(), f"{path.relative_to(PROJECT)}: missing, yet lab.py declares {notebook.stem}"
        text = path.read_text(encoding="utf-8")
        for what in needed:
            assert what in text, f"{path.relative_to(PROJECT)}: no {what.strip()!r} for {notebook.stem}"
    assert set(mentions(notebook)) == set(CHECKLIST)


def test_the_repositorys_notebooks_are_exactly_the_declared_ones():
    for lang in lab.LANGUAGES:
        assert [path.stem for path in lab.lab_notebook_files(lang)] == [notebook.stem for notebook in lab.LAB_NOTEBOOKS]


def test_architecture_md_gives_exactly_the_checklist():
    text = (PROJECT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    where_to_add = text[text.index("## Where to add") :]
    bullet = re.search(r"^- \*\*A notebook\*\*(.*?)(?=^- \*\*|^#)", where_to_add, re.MULTILINE | re.DOTALL)
    assert bullet, "ARCHITECTURE.md: no '- **A notebook**' item under '## Where to add'"
    named = re.findall(r"`([\w.\-<>]+/[\w.\-<>/]+)`", bullet.group(1))
    assert sorted(set(named)) == sorted(CHECKLIST), f"ARCHITECTURE.md's notebook checklist names {named}"


# Where code that reads the list would live, and so where a notebook's name in a string means a second list: every
# script and module but lab.py, the bundle's root and CI, and the tests that measure or check every notebook.
SCANNED = sorted(
    [path for path in (PROJECT / "scripts").rglob("*.py") if path != PROJECT / "scripts/labtools/lab.py"]
    + [PROJECT / "bundle.yml", PROJECT / ".ci/run", *sorted((PROJECT / ".github/workflows").glob("*.yml"))]
    # Developer-only code (the benchmark, the bundle's offline checks), wherever the layout puts it.
    + sorted((PROJECT / "devtools").rglob("*.py"))
    + [PROJECT / "tests" / "bundle_check.py"]
    + [
        PROJECT / "tests" / name
        for name in (
            "test_notebook_length.py",
            "test_bundle.py",
            "test_layout.py",
            "test_adding_a_notebook.py",
            "lab_expected.py",
            "test_deploy.py",
            "test_matrix.py",
            "test_classroom.py",
            "test_archive.py",
        )
    ]
)


def _names() -> list[str]:
    return [name for notebook in lab.LAB_NOTEBOOKS for name in (notebook.stem, notebook.experiment)]


def _strings(path: Path) -> list[tuple[int, str]]:
    """`(line, text)` of each string a file holds as data: a Python file's literals other than docstrings (which
    may give an example), another file's lines other than comments."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return [(number, line) for number, line in enumerate(text.splitlines(), 1) if not line.lstrip().startswith("#")]
    tree = ast.parse(text)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_code_but_lab_py_names_a_lab_notebook_or_its_experiment():
    found = sorted(
        f"{path.relative_to(PROJECT)}:{line}: {name}"
        for path in SCANNED
        if path.is_file()
        for line, text in _strings(path)
        for name in _names()
        if name in text
    )
    assert found == [], "the notebook list's owner is scripts/labtools/lab.py; derive from it:\n" + "\n".join(found)


def test_the_scan_sees_a_hard_coded_notebook(tmp_path):
    """The scan above would catch a module listing a notebook, but not a docstring's example."""
    module = tmp_path / "module.py"
    stem = lab.LAB_NOTEBOOKS[-1].stem
    module.write_text(f'"""E.g. {stem}."""\n\nNOTEBOOKS = ["{stem}.py"]\n', encoding="utf-8")
    assert [(line, text) for line, text in _strings(module) if stem in text] == [(3, f"{stem}.py")]


@pytest.fixture
def copied_notebooks(tmp_path, monkeypatch):
    """A copy of notebooks/ (English and Japanese) that labtools.lab reads instead of the repository's."""
    copy = tmp_path / "notebooks"
    shutil.copytree(lab.NOTEBOOKS, copy, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    monkeypatch.setattr(lab, "NOTEBOOKS", copy)
    return copy


NEW = lab.LabNotebook("09-a-new-notebook", "dp090-a-new-notebook", "spark")


def test_a_declared_notebook_is_picked_up_by_every_reader_of_the_list(copied_notebooks, monkeypatch):
    for folder in (copied_notebooks, copied_notebooks / "ja"):
        shutil.copy(lab.LAB_NOTEBOOKS[0].path(), folder / f"{NEW.stem}.py")
    monkeypatch.setattr(lab, "LAB_NOTEBOOKS", (*lab.LAB_NOTEBOOKS, NEW))
    # The runner's default, in each language.
    assert lab.lab_notebook_files()[-1] == copied_notebooks / f"{NEW.stem}.py"
    assert lab.lab_notebook_files("ja")[-1] == copied_notebooks / "ja" / f"{NEW.stem}.py"
    # deploy.py run: a task, its cluster's workers from the engine, its experiments (clean-up's too).
    deployed = spec.deployed_notebooks("/Users/me/lab")[-1]
    assert (deployed.workspace_path, deployed.task_key, deployed.uses_spark, NEW.needs) == (
        f"/Users/me/lab/{NEW.stem}",
        "a_new_notebook",
        True,
        {"java", "pyspark"},
    )
    assert spec.Experiments("/Users/me").of(deployed) == f"/Users/me/{NEW.experiment}-deploy-py"
    assert f"/Users/me/{NEW.experiment}-deploy-py-18" in spec.Experiments("/Users/me").every([deployed])
    # With --experiment-name NAME: NAME plus its default, which is not named after the first notebook's.
    assert spec.Experiments(None, "/Shared/class").of(deployed) == f"/Shared/class-{NEW.experiment}"
    # The archive and deploy's copy (every notebook file, includes too).
    assert copied_notebooks / f"{NEW.stem}.py" in lab.notebook_files(copied_notebooks)
    assert lab.lab_notebook(NEW.stem) == NEW and lab.default_experiments()[NEW.stem] == NEW.experiment


def test_an_undeclared_notebook_is_a_one_line_error_naming_it_and_lab_py(copied_notebooks):
    (copied_notebooks / f"{NEW.stem}.py").write_text(lab.LAB_NOTEBOOKS[0].path().read_text(encoding="utf-8"))
    with pytest.raises(lab.NotebookListError) as refused:
        lab.lab_notebook_files()
    message = str(refused.value)
    assert "\n" not in message and f"{NEW.stem}.py" in message and "scripts/labtools/lab.py" in message
    with pytest.raises(DeployError, match=re.escape(message)):
        spec.check_notebook_list()
    # deploy.py deploy, run and clean-up refuse it before any call to the workspace (a dry run prints each call).
    for command, options in [
        (commands.deploy, DeployOptions()),
        (commands.run, RunOptions()),
        (commands.clean_up, CleanUpOptions()),
    ]:
        calls = []
        with pytest.raises(DeployError, match=re.escape(message)):
            command(DryRunWorkspace(None, calls.append), options, print)
        assert calls == [], command.__name__
    with pytest.raises(DeployError, match=re.escape(message)):  # a class: before any workspace is opened
        classroom.deploy(lambda profile: pytest.fail(f"opened {profile}"), [None], DeployOptions(), print)


def test_a_declared_notebook_without_its_file_is_a_one_line_error(copied_notebooks, monkeypatch):
    monkeypatch.setattr(lab, "LAB_NOTEBOOKS", (*lab.LAB_NOTEBOOKS, NEW))
    with pytest.raises(lab.NotebookListError, match=rf"^\S*ja/{NEW.stem}\.py: no such file, .*lab\.py.*build\)$"):
        shutil.copy(lab.LAB_NOTEBOOKS[0].path(), copied_notebooks / f"{NEW.stem}.py")
        lab.lab_notebook_files("ja")


def test_a_declaration_refuses_an_unknown_engine():
    with pytest.raises(ValueError, match="scripts/labtools/lab.py: 09-x: engine 'torch'"):
        lab.LabNotebook("09-x", "dp090-x", "torch")
