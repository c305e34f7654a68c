"""The layout ARCHITECTURE.md describes: imports run one way, each folder's code runs in one kind of process,
and the map names paths that exist.

- the modules at `labtools/`'s top (`lab`, `text`, `kernel_config`, `spark_session`) import nothing else of the
  project: every kind of process may use them;
- `notebook/` imports only them (and itself);
- `local/` (the runner) and `workspace/` (deploy.py) may use `notebook/`, never each other;
- `kernel/` (the Jupyter kernel) and `spark_server/` (serverless mode's Spark Connect server) use only the top;
  the runner names them to start their processes, never imports them;
- no import circle among the package's modules;
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
    "kernel": {"base", "kernel"},
    "spark_server": {"base", "spark_server"},
}
# The kind of process that runs each part's code. `base` and `notebook` are libraries the others share.
PROCESS = {
    "base": "any of the processes below",
    "notebook": "the command-line scripts (run_lab.py, deploy.py, build_archive.py, localize.py, bench.py)",
    "local": "the local runner, scripts/run_lab.py",
    "workspace": "scripts/deploy.py",
    "kernel": "a notebook's Jupyter kernel, started by the runner (local/execute.py)",
    "spark_server": "serverless mode's Spark Connect server, started by the runner (local/connect_server.py)",
}
# The parts each command-line script's process may load; what a kernel and the Spark Connect server load is
# checked from their entry points below.
SCRIPT_PARTS = {
    "run_lab": {"base", "notebook", "local"},
    "bench": {"base", "notebook", "local"},
    "deploy": {"base", "notebook", "workspace"},
    "build_archive": {"base", "notebook"},
    "localize": {"base", "notebook"},
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
            # `from . import convert` imports the module convert of that package; `from .x import y`, module x and
            # whatever y is (`package_imports` keeps the longest name that is a module).
            found += [(node.lineno, f"{module}.{alias.name}" if module else alias.name) for alias in node.names]
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    """`scripts/labtools/local/convert.py` -> `labtools.local.convert`; a package's `__init__.py` -> the package."""
    parts = path.relative_to(PROJECT / "scripts").with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_path(module: str) -> Path | None:
    """The file of a module of the package, or None if `module` is none (e.g. `labtools.lab.PROJECT`)."""
    base = PROJECT / "scripts" / Path(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def package_imports(path: Path) -> set[str]:
    """The package's modules that the module at `path` imports (a name imported from a module counts as it)."""
    found = set()
    for _, name in imported_modules(path):
        if name.split(".")[0] != "labtools":
            continue
        while name and module_path(name) is None:
            name = name.rpartition(".")[0]
        if name:
            found.add(name)
    return found


def loaded_from(*modules: str) -> set[str]:
    """Every module of the package that importing `modules` loads: theirs, their packages', and so on."""
    seen, todo = set(), list(modules)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:end]) for end in range(1, len(parts))]  # importing a.b.c runs a and a.b first
        todo += package_imports(module_path(module))
    return seen


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


@pytest.mark.parametrize(
    ("offender", "line", "caught"),
    [
        ("local/convert.py", "from ..workspace import client", "local code imports labtools.workspace"),
        ("local/local_run.py", "from ..kernel import spark", "local code imports labtools.kernel"),
        ("kernel/spark.py", "from ..local import errors", "kernel code imports labtools.local"),
        ("kernel/standins.py", "from labtools.notebook import widgets", "kernel code imports labtools.notebook"),
    ],
)
def test_the_checker_sees_a_forbidden_import(monkeypatch, offender, line, caught):
    """The import test above would catch one part importing another it may not (relative or absolute)."""
    offender = PACKAGE / offender
    text = offender.read_text(encoding="utf-8") + f"\n{line}\n"
    monkeypatch.setattr(
        Path,
        "read_text",
        lambda self, encoding=None: text if self == offender else Path.read_bytes(self).decode(encoding or "utf-8"),
    )
    with pytest.raises(AssertionError, match=caught):
        test_imports_run_one_way(offender)


def import_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of imports in `graph` (module -> the modules it imports), as `a -> b -> a`, or None."""
    done, path = set(), []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return path[path.index(module) :] + [module]
        if module in done:
            return None
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            circle = visit(imported)
            if circle:
                return circle
        path.pop()
        done.add(module)
        return None

    return next(filter(None, map(visit, sorted(graph))), None)


def test_no_import_circle_among_the_packages_modules():
    graph = {module_name(path): package_imports(path) - {module_name(path)} for path in MODULES}
    assert len(graph) > 30 and import_circle(graph) is None, " -> ".join(import_circle(graph) or [])
    assert import_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]  # it sees one


def test_every_part_of_the_package_says_which_process_runs_it():
    parts = {part_of(module_name(path)) for path in MODULES}
    assert parts == set(ALLOWED) == set(PROCESS), "a folder of labtools/ needs its row in ALLOWED and PROCESS"


@pytest.mark.parametrize("script", sorted(SCRIPT_PARTS))
def test_a_command_line_script_loads_only_its_own_parts_of_the_package(script):
    """The runner loads no kernel or Spark server code (it names them to start their processes), deploy.py no
    runner code, and so on: each folder's code runs in its one kind of process."""
    path = PROJECT / "scripts" / f"{script}.py"
    loaded = loaded_from(*package_imports(path))
    wrong = sorted(module for module in loaded if part_of(module) not in SCRIPT_PARTS[script])
    assert loaded and wrong == [], f"{path.relative_to(PROJECT)} loads {wrong}, run by: " + "; ".join(
        PROCESS[part_of(module)] for module in wrong
    )


def test_the_kernel_loads_the_kernel_package_and_shared_modules_only():
    """The injected cell imports `labtools.kernel.standins`; nothing of the runner's (its errors, servers,
    nbclient's users), of notebook/ or of workspace/ enters the kernel."""
    from labtools.local import prelude

    injected = re.findall(r"^from (labtools\.\S+) import (\w+)", prelude._STAND_INS, re.MULTILINE)
    assert injected == [(prelude.KERNEL_PACKAGE, "standins")]
    loaded = loaded_from(f"{prelude.KERNEL_PACKAGE}.standins")
    assert {part_of(module) for module in loaded} == {"base", "kernel"}, loaded
    assert {
        "labtools.kernel.spark",
        "labtools.kernel.volumes",
        "labtools.kernel.unity_catalog",
        "labtools.kernel_config",
    } <= loaded


def test_the_spark_connect_server_loads_its_own_package_and_shared_modules_only():
    """Serverless mode's Spark Connect server: `python -m labtools.spark_server`, as the runner starts it."""
    from labtools.local import connect_server

    assert module_path(f"{connect_server.SERVER_MODULE}.__main__") is not None
    loaded = loaded_from(f"{connect_server.SERVER_MODULE}.__main__")
    assert {part_of(module) for module in loaded} == {"base", "spark_server"}, loaded


def test_only_the_spark_connect_server_is_a_program_inside_the_package():
    """A process starts at a command-line script or at `labtools.spark_server`; no other module of the package
    is a program (`__main__`), so none runs in a process of its own kind."""
    programs = sorted(
        str(path.relative_to(PACKAGE))
        for path in MODULES
        if path.name == "__main__.py"
        or re.search(r"^if __name__ == .__main__.:", path.read_text(encoding="utf-8"), re.MULTILINE)
    )
    assert programs == ["spark_server/__main__.py"]


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
    # Each declared notebook's default experiment is the one its code falls back to (deploy.py names its own after it):
    # a setup notebook's default (the first lab's, setup.py; the registry lab's, registry_setup.py) plus a suffix.
    registry_setup = (lab.NOTEBOOKS / "includes" / "registry_setup.py").read_text(encoding="utf-8")
    registry_experiment = re.search(r'^LAB_REGISTRY_EXPERIMENT = "([^"]+)"$', registry_setup, re.MULTILINE)
    assert registry_experiment, "notebooks/includes/registry_setup.py: no LAB_REGISTRY_EXPERIMENT"
    defaults = {
        "default_experiment_name()": lab.LAB_EXPERIMENT,
        "default_registry_experiment_name()": registry_experiment.group(1),
    }
    for notebook in lab.LAB_NOTEBOOKS:
        code = notebook.path().read_text(encoding="utf-8")
        fallbacks = [
            f'dbutils.widgets.get("experiment_name") or {function}'
            + (f' + "{notebook.experiment.removeprefix(base)}"' if notebook.experiment != base else "")
            + "\n"
            for function, base in defaults.items()
            if notebook.experiment.startswith(base)
        ]
        assert any(fallback in code for fallback in fallbacks), notebook.stem


LOCAL = PACKAGE / "local"


def test_local_errors_imports_no_other_local_module():
    """errors.py holds the exceptions; the modules that raise them import it, never the reverse (no cycle)."""
    errors = LOCAL / "errors.py"
    local_imports = [(line, module) for line, module in imported_modules(errors) if module.startswith("labtools.local")]
    assert local_imports == [], f"{errors.relative_to(PROJECT)} imports {local_imports}"


@pytest.mark.parametrize("path", sorted(set(LOCAL.glob("*.py")) - {LOCAL / "errors.py"}), ids=lambda p: p.name)
def test_every_exception_class_of_the_runner_is_defined_in_errors(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defined = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(getattr(base, "id", getattr(base, "attr", "")).endswith(("Error", "Exception")) for base in node.bases)
    ]
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
    said = re.compile(
        r"\b(\d+) (?:done|a cell|bad input|the tracking server|tracking server|a Jupyter kernel|kernel|"
        r"a notebook you named|interrupted)"
    )
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
