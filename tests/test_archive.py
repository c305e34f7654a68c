"""The `.dbc` archive: our reader understands the original course archive, and our writer builds one
in the same format that gives back our notebooks' cells exactly, byte-identical from build to build."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lab_expected import INCLUDES, NOTEBOOKS, lab_files

from labtools import lab
from labtools.notebook import archive, dbc, dbsource

ROOT = Path(__file__).resolve().parent.parent
ORIGINAL = ROOT.parent / "shared" / "data" / "dp090-03-managing-experiments-and-models.dbc"
ORIGINAL_SHA256 = "ff4762752e1f5a99d09f7056ab03936e987fe36ef9ab8f7c3fa763df433ad03e"
TOP = lab.LAB_FOLDER

needs_original = pytest.mark.skipif(
    not ORIGINAL.is_file(), reason=f"{ORIGINAL} is absent (shared reference data exists only beside the repo)"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    dbc_path, zip_path = archive.build(out)
    return dbc_path, zip_path


@pytest.fixture(scope="module", params=lab.LANGUAGES)
def each_language(request, tmp_path_factory):
    """`(notebooks folder, top folder, (dbc, zip))` for each language's archives: notebooks/ and notebooks/ja/."""
    lang = request.param
    return lab.notebooks_dir(lang), lab.lab_folder(lang), archive.build_language(tmp_path_factory.mktemp(lang), lang)


@pytest.fixture(scope="module")
def original():
    assert hashlib.sha256(ORIGINAL.read_bytes()).hexdigest() == ORIGINAL_SHA256, f"{ORIGINAL} is not the known file"
    return {notebook.name: notebook for notebook in dbc.read(ORIGINAL)}


@needs_original
def test_reader_parses_the_original_course_archive(original):
    assert sorted(original) == ["01 - Using MLflow to Track Experiments", "02 - Managing Models"]
    lab = original["01 - Using MLflow to Track Experiments"]
    assert lab.entry == "03 - Managing Experiments and Models/01 - Using MLflow to Track Experiments.python"
    assert lab.language == "python"

    # The figures come from the archive's JSON, read here without our reader.
    with zipfile.ZipFile(ORIGINAL) as archive:
        for notebook in original.values():
            raw = json.loads(archive.read(notebook.entry))
            assert len(notebook.commands) == len(raw["commands"])
            assert [c.command for c in notebook.commands] == [
                c["command"] for c in sorted(raw["commands"], key=lambda c: c["position"])
            ]

    def magics(notebook):
        counts = {}
        for command in notebook.commands:
            counts[command.magic] = counts.get(command.magic, 0) + 1
        return counts

    assert len(lab.commands) == 36
    assert magics(lab) == {"md": 18, None: 16, "fs": 1, "python": 1}
    assert lab.commands[0].command.startswith("%md # Using MLflow to Track Experiments")
    assert [c.command for c in lab.commands if c.magic == "fs"] == ["%fs rm -r dbfs:/mlflow/taxi_total_amount"]
    models = original["02 - Managing Models"]
    assert len(models.commands) == 52
    assert magics(models) == {"md": 26, None: 25, "fs": 1}
    positions = [c.position for c in lab.commands]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)


@needs_original
def test_our_archive_has_the_original_document_shape(built, original):
    """Same keys in every notebook and command document as the workspace export, so an import sees what it expects."""
    with zipfile.ZipFile(ORIGINAL) as archive:
        reference = json.loads(archive.read(original["01 - Using MLflow to Track Experiments"].entry))
        manifest = json.loads(archive.read("manifest.mf"))
    with zipfile.ZipFile(built[0]) as archive:
        ours = json.loads(archive.read(f"{TOP}/{lab.LAB_NOTEBOOK}.python"))  # the first lab notebook
        our_manifest = json.loads(archive.read("manifest.mf"))
    assert list(ours) == list(reference)
    assert {tuple(command) for command in ours["commands"]} == {tuple(reference["commands"][0])}
    assert ours["version"] == "NotebookV1" and ours["language"] == "python"
    assert {c["version"] for c in ours["commands"]} == {"CommandV1"}
    assert set(our_manifest) == set(manifest) and our_manifest["version"] == "Manifest"


# The English archive's entries: every lab notebook (lab.LAB_NOTEBOOKS, through tests/lab_expected.py) and their
# includes, in this order.
ENGLISH_ENTRIES = [
    "manifest.mf",
    f"{TOP}/",
    *(f"{TOP}/{notebook.stem}.python" for notebook in sorted(NOTEBOOKS, key=lambda notebook: notebook.stem)),
    f"{TOP}/includes/",
    *(f"{TOP}/includes/{name}.python" for name in INCLUDES),
]


# Where each %run of the English notebooks leads, inside the archive: each %run line of each notebook source (a lab
# notebook's setup includes and, last, job_summary; spark_setup runs setup), resolved against its folder.
def _source_runs() -> set[tuple[str, str]]:
    runs = set()
    for path in lab.notebook_files():
        entry = f"{TOP}/{path.relative_to(lab.NOTEBOOKS).with_suffix('').as_posix()}"
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.match(r"^(# MAGIC )?%run ", line):
                target = line.split("%run ", 1)[1].split()[0]
                runs.add((entry, f"{entry.rsplit('/', 1)[0]}/{target[2:]}"))
    return runs


ENGLISH_RUNS = _source_runs()


def test_entry_paths_keep_the_folder_layout(each_language):
    notebooks_dir, top, (dbc_path, _) = each_language
    with zipfile.ZipFile(dbc_path) as archive:
        names = archive.namelist()
        folder = json.loads(archive.read(f"{top}/includes/"))
    # The English archive holds no ja/ folder: the Japanese notebooks are an archive of their own, with the
    # English layout under its own top folder, less any notebook not translated yet.
    expected = [name.replace(TOP, top, 1) for name in ENGLISH_ENTRIES]
    if notebooks_dir != lab.NOTEBOOKS:
        expected = [
            name
            for name in expected
            if not name.endswith(".python") or (notebooks_dir / name.split("/", 1)[1]).with_suffix(".py").is_file()
        ]
    assert names == expected
    assert folder["version"] == "FolderV1" and folder["name"] == "includes"


def test_the_english_archive_holds_every_lab_notebook_and_their_includes(built):
    dbc_path, zip_path = built
    assert zipfile.ZipFile(dbc_path).namelist() == ENGLISH_ENTRIES
    assert len(ENGLISH_ENTRIES) == len(lab.notebook_files()) + 3  # the manifest and the two folders
    assert zipfile.ZipFile(zip_path).namelist() == [f"{TOP}/{name}.py" for name in lab_files()]
    runs = {
        (notebook.path, f"{notebook.path.rsplit('/', 1)[0]}/{command.command.split()[1][2:]}")
        for notebook in dbc.read(dbc_path)
        for command in notebook.commands
        if command.magic == "run"
    }
    assert runs == ENGLISH_RUNS


def test_the_archives_are_named_by_language(each_language):
    notebooks_dir, top, paths = each_language
    assert top == (TOP if notebooks_dir == lab.NOTEBOOKS else f"{TOP}-ja")
    assert [path.name for path in paths] == [f"{top}.dbc", f"{top}-source.zip"]


def test_every_run_magic_finds_its_notebook_inside_the_archive(each_language):
    notebooks = dbc.read(each_language[2][0])
    paths = {notebook.path for notebook in notebooks}
    runs = 0
    for notebook in notebooks:
        folder = notebook.path.rsplit("/", 1)[0]
        for command in notebook.commands:
            if command.magic == "run":
                target = command.command.split()[1]
                assert target.startswith("./"), f"{notebook.entry}: %run {target} is not relative"
                assert f"{folder}/{target[2:]}" in paths, f"{notebook.entry}: %run {target} has no notebook"
                runs += 1
    assert runs >= 1  # the lab notebook runs its setup


def test_archive_read_back_gives_our_notebooks_cells_exactly(each_language):
    notebooks_dir, top, (dbc_path, _) = each_language
    archived = {notebook.path: notebook for notebook in dbc.read(dbc_path)}
    files = lab.notebook_files(notebooks_dir)
    assert len(archived) == len(files)
    for file in files:
        source = dbsource.read(file)
        notebook = archived[archive.archive_path(file, notebooks_dir, top)]
        assert [(c.source, c.title, c.is_magic_text) for c in notebook.cells()] == [
            (c.source, c.title, c.is_magic_text) for c in source.cells
        ], file
        # And the canonical source text written from the archive is the file itself.
        assert dbsource.dumps(dbsource.Notebook(str(file), notebook.cells())) == file.read_text(encoding="utf-8")


def test_source_zip_holds_the_files_byte_for_byte(each_language):
    notebooks_dir, top, (_, zip_path) = each_language
    with zipfile.ZipFile(zip_path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    expected = {
        f"{top}/{file.relative_to(notebooks_dir).as_posix()}": file.read_bytes()
        for file in lab.notebook_files(notebooks_dir)
    }
    assert contents == expected


def test_building_twice_gives_identical_bytes(tmp_path):
    first = archive.build(tmp_path / "one")
    second = archive.build(tmp_path / "two")
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_guids_follow_the_content(tmp_path):
    """Derived ids change with a cell's text, so two different notebooks never share ids."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "lab.py").write_text("# Databricks notebook source\nprint(1)\n", encoding="utf-8")
    one = json.loads(zipfile.ZipFile(archive.build(tmp_path / "a", notebooks)[0]).read(f"{TOP}/lab.python"))
    (notebooks / "lab.py").write_text("# Databricks notebook source\nprint(2)\n", encoding="utf-8")
    two = json.loads(zipfile.ZipFile(archive.build(tmp_path / "b", notebooks)[0]).read(f"{TOP}/lab.python"))
    assert one["commands"][0]["guid"] != two["commands"][0]["guid"]
    assert one["guid"] == two["guid"]  # same path, same notebook


def test_build_names_a_file_that_is_not_a_notebook(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "helper.py").write_text("print('no header')\n", encoding="utf-8")
    with pytest.raises(dbsource.NotebookFormatError) as error:
        archive.build(tmp_path / "out", notebooks)
    assert str(error.value).startswith(f"{notebooks / 'helper.py'}:1:")


def test_reader_orders_commands_by_position_not_by_their_order_in_the_document(tmp_path):
    """An export may list commands in any order (the original course archive happens to list them in order)."""
    path = tmp_path / "shuffled.dbc"
    commands = [
        {"command": "third", "position": 3.0},
        {"command": "first", "position": 1.0},
        {"command": "second", "position": 2.0},
        {"command": "also second", "position": 2.0},
    ]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.mf", "{}")
        archive.writestr("top/lab.python", json.dumps({"version": "NotebookV1", "commands": commands}))
    [notebook] = dbc.read(path)
    # Equal positions keep the document's order.
    assert [c.command for c in notebook.commands] == ["first", "second", "also second", "third"]


def test_reader_names_the_archive_and_entry_at_fault(tmp_path):
    no_manifest = tmp_path / "no-manifest.dbc"
    with zipfile.ZipFile(no_manifest, "w") as archive:
        archive.writestr("top/lab.python", "{}")
    with pytest.raises(dbc.DbcFormatError, match=r"no-manifest\.dbc: manifest\.mf: missing"):
        dbc.read(no_manifest)

    bad_json = tmp_path / "bad-json.dbc"
    with zipfile.ZipFile(bad_json, "w") as archive:
        archive.writestr("manifest.mf", "{}")
        archive.writestr("top/lab.python", "{not json")
    with pytest.raises(dbc.DbcFormatError, match=r"bad-json\.dbc: top/lab\.python: not a JSON document"):
        dbc.read(bad_json)

    not_zip = tmp_path / "plain.dbc"
    not_zip.write_text("hello", encoding="utf-8")
    with pytest.raises(dbc.DbcFormatError, match=r"plain\.dbc: not a \.dbc \(zip\) archive"):
        dbc.read(not_zip)


def test_command_line_writes_both_archives_in_each_language(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_archive.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    names = [f"{top}{suffix}" for top in (TOP, f"{TOP}-ja") for suffix in (".dbc", "-source.zip")]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(names)
    assert [line.split()[1].rsplit("/", 1)[1] for line in result.stdout.splitlines()] == names


def test_command_line_builds_one_language(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_archive.py"), "--lang", "ja", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == [f"{TOP}-ja-source.zip", f"{TOP}-ja.dbc"]
