"""The layout ARCHITECTURE.md describes: imports run one way, and the map names paths that exist.

- `labtools/lab.py` and `labtools/text.py` import nothing of the project;
- `notebook/` imports only them (and itself);
- `local/` and `workspace/` may use `notebook/`, never each other;
- nothing under scripts/ or tests/ imports a command-line script (run_lab, deploy, build_archive, bench).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
PACKAGE = PROJECT / "scripts" / "labtools"
CLI_SCRIPTS = {path.stem for path in (PROJECT / "scripts").glob("*.py")}
# What each part of the package may import from the package.
ALLOWED = {
    "base": {"base"},
    "notebook": {"base", "notebook"},
    "local": {"base", "notebook", "local"},
    "workspace": {"base", "notebook", "workspace"},
}


def part_of(module: str) -> str:
    """`labtools.local.convert` -> `local`; `labtools.lab` -> `base`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else "base"


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """`(line, absolute module name)` for each import in the module at `path`."""
    inside = path.is_relative_to(PROJECT / "scripts")
    package = ".".join(path.relative_to(PROJECT / "scripts").with_suffix("").parts[:-1]) if inside else ""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from . import convert` imports the module convert of that package.
            found += [(node.lineno, f"{module}.{alias.name}" if not node.module else module) for alias in node.names]
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path):
    here = part_of(".".join(path.relative_to(PROJECT / "scripts").with_suffix("").parts))
    for line, module in imported_modules(path):
        if module.split(".")[0] != "labtools":
            continue
        assert part_of(module) in ALLOWED[here], (
            f"{path.relative_to(PROJECT)}:{line}: {here} code imports {module}; {here} may use {sorted(ALLOWED[here])}"
        )


@pytest.mark.parametrize("path", MODULES + sorted((PROJECT / "tests").glob("*.py")), ids=lambda p: p.name)
def test_nothing_imports_a_command_line_script(path):
    for line, module in imported_modules(path):
        assert module.split(".")[0] not in CLI_SCRIPTS, (
            f"{path.relative_to(PROJECT)}:{line}: imports the script {module}; move what it needs into labtools/"
        )


def test_the_checker_sees_a_forbidden_import(tmp_path, monkeypatch):
    """The import test above would catch `local/` importing `workspace/` (relative or absolute)."""
    offender = PACKAGE / "local" / "convert.py"
    text = offender.read_text(encoding="utf-8") + "\nfrom ..workspace import client\n"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: text if self == offender else
                        Path.read_bytes(self).decode(encoding or "utf-8"))  # fmt: skip
    with pytest.raises(AssertionError, match="local code imports labtools.workspace"):
        test_imports_run_one_way(offender)


def test_architecture_map_names_paths_that_exist():
    text = (PROJECT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    paths = {p.rstrip("/") for p in re.findall(r"`([\w.\-]+(?:/[\w.\-]+)+/?)`", text) if "<" not in p}
    assert paths, "ARCHITECTURE.md names no paths"
    missing = sorted(p for p in paths if not (PROJECT / p).exists())
    assert not missing, f"ARCHITECTURE.md names paths that do not exist: {missing}"
    for module in MODULES:
        if module.name != "__init__.py":
            assert module.relative_to(PROJECT / "scripts").parts[-2] in text, f"ARCHITECTURE.md does not map {module}"


def test_the_notebooks_use_the_labs_names(setup_notebook):
    """The notebooks cannot import labtools.lab (a workspace runs them without scripts/): same names, checked here."""
    from labtools import lab

    assert setup_notebook["LAB_EXPERIMENT"] == lab.LAB_EXPERIMENT == lab.LAB_NOTEBOOKS[0].experiment
    # Each declared notebook's default experiment is the one its code falls back to (deploy.py names its own after it).
    for notebook in lab.LAB_NOTEBOOKS:
        code = notebook.path().read_text(encoding="utf-8")
        suffix = notebook.experiment.removeprefix(lab.LAB_EXPERIMENT)
        added = f' + "{suffix}"' if suffix else ""
        assert f'dbutils.widgets.get("experiment_name") or default_experiment_name(){added}\n' in code, notebook.stem


LOCAL = PACKAGE / "local"
# standins.py runs inside the kernel, alone, and raises Databricks' own exception (InputWidgetNotDefined).
KERNEL_SIDE = {"standins.py"}


def test_local_errors_imports_no_other_local_module():
    """errors.py holds the exceptions; the modules that raise them import it, never the reverse (no cycle)."""
    errors = LOCAL / "errors.py"
    local_imports = [(line, module) for line, module in imported_modules(errors) if module.startswith("labtools.local")]
    assert local_imports == [], f"{errors.relative_to(PROJECT)} imports {local_imports}"


@pytest.mark.parametrize("path", sorted(set(LOCAL.glob("*.py")) - {LOCAL / "errors.py"}), ids=lambda p: p.name)
def test_every_exception_class_of_the_runner_is_defined_in_errors(path):
    if path.name in KERNEL_SIDE:
        pytest.skip("runs in the kernel, apart from the runner")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defined = [node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
               and any(getattr(base, "id", getattr(base, "attr", "")).endswith(("Error", "Exception"))
                       for base in node.bases)]  # fmt: skip
    assert defined == [], f"{path.relative_to(PROJECT)} defines {defined}: define them in local/errors.py"


EXIT_ROW = re.compile(r"^\|\s*(\d+)\s*\|")


def exit_codes_in(text: str) -> set[int]:
    return {int(match.group(1)) for line in text.splitlines() if (match := EXIT_ROW.match(line.strip()))}


def test_the_exit_code_tables_match_the_constants_in_errors():
    """errors.py's docstring table, README's list and ARCHITECTURE.md's list name exactly the codes errors.py has."""
    from labtools.local import errors

    constants = {value for name, value in vars(errors).items() if name.isupper() and isinstance(value, int)}
    assert {0, 1, 2, 3, 4, 5, 130} <= constants  # the constants are found at all
    assert exit_codes_in(errors.__doc__) == constants, "errors.py's docstring table"
    said = re.compile(r"\b(\d+) (?:done|a cell|bad input|the tracking server|tracking server|a Jupyter kernel|kernel|"
                      r"a notebook you named|interrupted)")  # fmt: skip
    for document in ["README.md", "ARCHITECTURE.md"]:
        text = (PROJECT / document).read_text(encoding="utf-8")
        # The one list of exit statuses each document has, its line breaks made spaces.
        sentence = " ".join(text[text.index("0 done") :][:600].split())
        assert {int(code) for code in said.findall(sentence)} == constants, f"{document}: {sentence[:300]}"


# "profile" is deploy.py's word, a section of ~/.databrickscfg; what run_lab.py runs in is a runtime (runtimes/).
# Python's profiler, cProfile, is another word.
PROFILE_WORD = re.compile(r"(?<!c)profile", re.IGNORECASE)
# run_lab.py's old name for --runtime, still accepted with a note: the one place the word stays.
DEPRECATED_OPTION = 'OLD_RUNTIME_OPTION = "--profile"'


def test_the_local_runner_says_runtime_not_profile():
    found = []
    for path in [*sorted(LOCAL.glob("*.py")), PROJECT / "scripts" / "run_lab.py"]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if PROFILE_WORD.search(line) and line.strip() != DEPRECATED_OPTION:
                found.append(f"{path.relative_to(PROJECT)}:{number}: {line.strip()}")
    assert found == [], "\n".join(found)
    assert DEPRECATED_OPTION in (PROJECT / "scripts" / "run_lab.py").read_text(encoding="utf-8")


def test_the_kernel_runs_standins_spark_and_volumes_of_ours_and_nothing_else():
    """What ARCHITECTURE.md says: the injected cell imports `labtools.local.standins`, which imports `spark` and
    `volumes`; nothing else of the package (the runner's errors, the server, nbclient's users) enters the kernel."""
    from labtools.local import prelude

    injected = re.findall(r"^from (labtools\.\S+) import (\w+)", prelude._STAND_INS, re.MULTILINE)
    assert injected == [("labtools.local", "standins")]
    seen, todo = set(), ["labtools.local.standins"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = PROJECT / "scripts" / Path(*module.split(".")).with_suffix(".py")
        todo += [name for _, name in imported_modules(path) if name.startswith("labtools.")]
    assert seen == {"labtools.local.standins", "labtools.local.spark", "labtools.local.volumes",
                    "labtools.local.unity_catalog"}
