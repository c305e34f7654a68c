"""Runtimes: one virtual environment per Databricks ML runtime's library versions.

A runtime is a requirements file, `runtimes/<name>.txt`, that pins the versions
of the lab's libraries one Databricks ML runtime ships (mlflow, scikit-learn,
pandas, numpy, matplotlib) plus the notebook kernel; `latest` pins what
requirements.txt does. `run_lab.py --runtime <name>` (`15.4`, `16.4`, `17.3`,
`18`, `latest`, or a file's stem such as `15.4-lts-ml`) runs the tracking server
and the notebook kernel from that runtime's own virtual environment, so the
notebooks meet the library versions learners meet on that runtime.

Environments are built once and kept under `.venvs/<name>-<hash>/`. The hash
covers the runtime file's text (and every file it includes with `-r`/`-c`) and
the Python version, so editing a pin or changing the interpreter builds a new
environment instead of reusing a stale one. A `.complete` marker, written
last, tells a finished environment from one whose build was interrupted.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..lab import PROJECT
from ..text import format_table
from .errors import RuntimeVersionsError

RUNTIMES_DIR = PROJECT / "runtimes"
# The suffix of an LTS ML runtime's file, which `--runtime` may leave out: `15.4` is `15.4-lts-ml`.
LTS_ML_SUFFIX = "-lts-ml"
VENVS_DIR = PROJECT / ".venvs"
COMPLETE_MARKER = ".complete"

# `name==version`, optionally followed by a comment; extras and markers are not used in runtimes/.
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")
INCLUDE = re.compile(r"^(-r|-c|--requirement|--constraint)\s*=?\s*(\S+)")


def normalize(name: str) -> str:
    """A package name as pip compares it (PEP 503): `Scikit_Learn` and `scikit-learn` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def available(runtimes_dir: Path = RUNTIMES_DIR) -> list[str]:
    return sorted(path.stem for path in runtimes_dir.glob("*.txt"))


@dataclass(frozen=True)
class Runtime:
    name: str
    path: Path

    def files(self) -> list[Path]:
        """The runtime's file and every file it includes, in the order pip reads them."""
        return _files(self.path, [])

    def pins(self) -> dict[str, str]:
        """`{normalized package name: version}` for every `name==version` line, includes followed."""
        pins = {}
        for path in self.files():
            for line in path.read_text().splitlines():
                match = PIN.match(line.strip())
                if match:
                    pins[normalize(match.group(1))] = match.group(2)
        return pins

    @property
    def mlflow_version(self) -> str:
        try:
            return self.pins()["mlflow"]
        except KeyError:
            raise RuntimeVersionsError(f"{self.path}: no `mlflow==<version>` line; a runtime must pin mlflow") from None

    def content_hash(self) -> str:
        """12 hex digits over the runtime's files and the Python version that builds its environment."""
        digest = hashlib.sha256(f"python {sys.version_info.major}.{sys.version_info.minor}\n".encode())
        for path in self.files():
            digest.update(f"--- {path.name}\n".encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()[:12]

    def venv_dir(self, venvs_dir: Path = VENVS_DIR) -> Path:
        return venvs_dir / f"{self.name}-{self.content_hash()}"


def short_name(name: str) -> str:
    """What `--runtime` accepts for a runtime file's stem: `15.4` for `15.4-lts-ml`, `latest` for `latest`."""
    return name.removesuffix(LTS_ML_SUFFIX)


def load(name: str, runtimes_dir: Path = RUNTIMES_DIR) -> Runtime:
    """The runtime named `name`, a file's stem (`15.4-lts-ml`, `latest`) or an LTS ML runtime's version (`15.4`)."""
    path = runtimes_dir / f"{name}.txt"
    if name and "/" not in name and not path.is_file() and (runtimes_dir / f"{name}{LTS_ML_SUFFIX}.txt").is_file():
        name, path = f"{name}{LTS_ML_SUFFIX}", runtimes_dir / f"{name}{LTS_ML_SUFFIX}.txt"
    if not name or "/" in name or not path.is_file():
        names = ", ".join(short_name(stem) for stem in available(runtimes_dir)) or "(none)"
        raise RuntimeVersionsError(f"unknown runtime {name!r}: no {path}; available runtimes: {names}")
    return Runtime(name, path)


def _files(path: Path, seen: list[Path], includer: Path | None = None) -> list[Path]:
    path = path.resolve()
    if path in seen:
        return []
    if not path.is_file():
        raise RuntimeVersionsError(f"{includer}: includes {path}, which does not exist" if includer else f"no {path}")
    files = [path]
    for line in path.read_text().splitlines():
        match = INCLUDE.match(line.strip())
        if match:
            files += _files(path.parent / match.group(2), [*seen, *files], includer=path)
    return files


@dataclass(frozen=True)
class Venv:
    path: Path
    built_seconds: float | None  # None: an environment built earlier was reused

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")


def ensure_venv(runtime: Runtime, venvs_dir: Path = VENVS_DIR, log=print) -> Venv:
    """The runtime's virtual environment, built now unless a complete one exists."""
    path = runtime.venv_dir(venvs_dir)
    if (path / COMPLETE_MARKER).exists():
        return Venv(path, None)
    venvs_dir.mkdir(parents=True, exist_ok=True)
    # Two runs of the same runtime at once (a test and a user, say) build it once.
    with open(venvs_dir / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (path / COMPLETE_MARKER).exists():
            return Venv(path, None)
        started = time.monotonic()
        shown = path.relative_to(PROJECT) if path.is_relative_to(PROJECT) else path
        log(
            f"Building the {runtime.name} environment in {shown} from {runtime.path.name} (later runs reuse it)...",
            flush=True,
        )
        shutil.rmtree(path, ignore_errors=True)  # what an interrupted build left
        try:
            _run([sys.executable, "-m", "venv", str(path)], runtime, "create the virtual environment")
            venv = Venv(path, None)
            _run(
                [venv.python, "-m", "pip", "install", "--quiet", "-r", str(runtime.path)],
                runtime,
                f"install {runtime.path.name}",
            )
            _check_mlflow(venv, runtime)
        except RuntimeVersionsError:
            shutil.rmtree(path, ignore_errors=True)  # a half-built environment is of no use, and large
            raise
        (path / COMPLETE_MARKER).write_text(f"{runtime.path.name} {runtime.content_hash()}\n")
        _remove_outdated(runtime, path)
        seconds = time.monotonic() - started
        log(f"Built the {runtime.name} environment in {seconds:.0f} s.", flush=True)
        return Venv(path, seconds)


def _remove_outdated(runtime: Runtime, current: Path) -> None:
    """Environments built from earlier versions of the runtime's file: about 1 GB each, and never used again."""
    for other in current.parent.glob(f"{runtime.name}-*"):
        if other != current and re.fullmatch(re.escape(runtime.name) + r"-[0-9a-f]{12}", other.name):
            shutil.rmtree(other, ignore_errors=True)


def installed_version(python: str, package: str) -> str:
    result = subprocess.run(
        [python, "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def _check_mlflow(venv: Venv, runtime: Runtime) -> None:
    """pip honours `==`, but a runtime that includes another file could pin mlflow twice."""
    found = installed_version(venv.python, "mlflow")
    if found != runtime.mlflow_version:
        raise RuntimeVersionsError(
            f"{runtime.path}: pins mlflow=={runtime.mlflow_version}, but its environment {venv.path} has "
            f"mlflow {found or '(none)'}"
        )


def _run(command: list[str], runtime: Runtime, what: str) -> None:
    # pip's own log is long; keep it, and show its end only when it fails.
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode:
        lines = (result.stdout + result.stderr).splitlines()
        shown = [line for line in lines if line.startswith("ERROR")] or lines[-25:]
        raise RuntimeVersionsError(f"runtime {runtime.name}: could not {what} ({runtime.path}):\n" + "\n".join(shown))


# --- `run_lab.py --runtime all`: every runtime in turn, then a summary table ------------------------


@dataclass
class RuntimeResult:
    name: str
    mlflow_version: str
    returncode: int
    seconds: float
    failure: str  # the runner's `error:` line, naming the cell that failed; "" when the run passed


def run_all(script: Path, argv: list[str], out: Path, runtimes_dir: Path = RUNTIMES_DIR) -> list[RuntimeResult]:
    """Run `script ARGV --runtime NAME --out OUT/NAME` for every runtime, each a full run of its own."""
    results = []
    for name in available(runtimes_dir):
        print(f"\n=== Runtime {name} ===", flush=True)
        started = time.monotonic()
        command = [sys.executable, str(script), *argv, "--runtime", name, "--out", str(out / name)]
        # stderr is shown as it comes and kept, to name the failing cell in the summary.
        process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        errors = []
        for line in process.stderr:
            sys.stderr.write(line)
            errors.append(line.rstrip("\n"))
        returncode = process.wait()
        failure = next((line for line in reversed(errors) if line.startswith("error:")), "")
        if returncode and not failure:
            failure = errors[-1] if errors else f"exit status {returncode}"
        results.append(
            RuntimeResult(name, _mlflow_pin(name, runtimes_dir), returncode, time.monotonic() - started, failure)
        )
    return results


def without_options(argv: list[str], options: list[str]) -> list[str]:
    """`argv` less each of `options` and its value, written `--opt value` or `--opt=value`."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in options:
            skip = True
        elif not any(arg.startswith(option + "=") for option in options):
            kept.append(arg)
    return kept


def _mlflow_pin(name: str, runtimes_dir: Path) -> str:
    try:
        return load(name, runtimes_dir).mlflow_version
    except RuntimeVersionsError:
        return "?"


def format_results(results: list[RuntimeResult]) -> str:
    rows = [[r.name, r.mlflow_version, "pass" if r.returncode == 0 else "FAIL", f"{r.seconds:.0f} s"] for r in results]
    lines = [format_table(["runtime", "mlflow", "result", "wall time"], rows)]
    lines += [f"{r.name}: {r.failure}" for r in results if r.returncode]
    return "\n".join(lines)
