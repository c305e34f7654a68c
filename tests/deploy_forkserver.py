"""deploy.py in a process of its own, without paying for the Databricks SDK's import each time.

`import databricks.sdk` takes about a second, most of what one deploy.py invocation against the local stub
costs, and the suite makes about a hundred. So each pytest worker keeps one helper process (this file, run as a
script) that imports the SDK once and then forks a child per invocation: the child takes the invocation's
arguments, environment, working directory and standard streams, and runs deploy.py as `__main__`, as
`python scripts/deploy.py ...` would. Its exit status and output reach the test as a subprocess's do.

What differs from a new interpreter (nothing deploy.py looks at): the SDK's modules are already imported,
under the environment the worker had when it started the helper (the SDK reads its settings when a client is
made, not on import); the child's parent is the helper.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run_child(request: dict) -> None:
    """In the forked child: become `python DEPLOY ARGS` and exit as it would."""
    import runpy
    import traceback

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path, mode in ((0, os.devnull, os.O_RDONLY), (1, request["stdout"], os.O_WRONLY),
                           (2, request["stderr"], os.O_WRONLY)):  # fmt: skip
        os.dup2(os.open(path, mode), fd)
    sys.argv = [request["script"], *request["args"]]
    sys.path[0] = str(Path(request["script"]).parent)  # as for `python scripts/deploy.py`
    code = 0
    try:
        runpy.run_path(request["script"], run_name="__main__")
    except SystemExit as end:  # as the interpreter ends on it: sys.exit("message") prints it and is status 1
        if end.code is None or isinstance(end.code, int):
            code = end.code or 0
        else:
            print(end.code, file=sys.stderr)
            code = 1
    except BaseException:  # what the interpreter would print, and its status
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def serve() -> None:
    """The helper: one JSON request per line on stdin; answers a line, the child's exit status or "timeout"."""
    import databricks.sdk  # noqa: F401  the import every child is spared
    import databricks.sdk.service.jobs  # noqa: F401
    import databricks.sdk.service.workspace  # noqa: F401

    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing else may write into the answers
    print("ready", file=answers)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _run_child(request)
        deadline = time.monotonic() + request["timeout"]
        while (ended := os.waitpid(pid, os.WNOHANG)) == (0, 0) and time.monotonic() < deadline:
            time.sleep(0.01)
        if ended == (0, 0):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            print("timeout", file=answers)
        else:
            print(os.waitstatus_to_exitcode(ended[1]), file=answers)


class Forkserver:
    """The client side, in a pytest worker: `run(script, args, env, timeout)` -> CompletedProcess."""

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, env=os.environ.copy())  # fmt: skip
        said = self.process.stdout.readline().strip()
        if said != "ready":  # it could not import the SDK, say: its traceback is in the test's captured output
            raise RuntimeError(f"tests/deploy_forkserver.py did not start (it said {said!r} and exited)")

    def run(self, script: Path, args: list[str], env: dict, timeout: float) -> subprocess.CompletedProcess:
        with tempfile.TemporaryDirectory() as folder:
            out, err = Path(folder, "stdout"), Path(folder, "stderr")
            out.touch()
            err.touch()
            request = {"script": str(script), "args": [str(a) for a in args], "env": env, "cwd": os.getcwd(),
                       "stdout": str(out), "stderr": str(err), "timeout": timeout}  # fmt: skip
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            status = self.process.stdout.readline().strip()
            command = [sys.executable, str(script), *args]
            if status == "timeout":
                raise subprocess.TimeoutExpired(command, timeout)
            return subprocess.CompletedProcess(command, int(status), out.read_text(), err.read_text())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(10)


if __name__ == "__main__":
    serve()
