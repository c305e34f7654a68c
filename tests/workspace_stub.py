"""A local stand-in for a Databricks workspace's REST API, for tests/test_deploy.py.

No Databricks workspace is reachable from here (the network reaches only package registries), so
this HTTP server on 127.0.0.1 stands in for one. It answers the endpoints scripts/deploy.py calls
through the Databricks SDK, with a workspace's request and response shapes and error codes, and
keeps its state in memory:

- /.well-known/databricks-config (the SDK's discovery probe, no authentication);
- /api/2.0/preview/scim/v2/Me;
- /api/2.0/workspace/mkdirs, import, get-status, list, delete;
- /api/2.1|2.2/jobs/runs/submit, get, get-output, list, cancel, delete;
- /api/2.1/clusters/get;
- /api/2.0/mlflow/experiments/get-by-name and delete.

It records every request, and can be told to fail the ways a workspace does: a token it rejects
(401), folders the user may not write to (403), an unknown cluster (404, or the 400 "does not
exist" some workspaces send), a run that ends FAILED with an error in its output, and a run that
never finishes. A run moves PENDING -> RUNNING -> TERMINATED one step per `runs/get`, and "runs
the notebook" by creating the experiment named in its parameters, as the lab notebook would.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

EXISTING_CLUSTER = "0101-120000-lab01abc"

RUN_SCRIPTS = {
    "SUCCESS": [("PENDING", None, "Waiting for cluster"), ("RUNNING", None, "In run"), ("RUNNING", None, "In run"),
                ("TERMINATED", "SUCCESS", "")],
    "FAILED": [("PENDING", None, "Waiting for cluster"), ("RUNNING", None, "In run"),
               ("TERMINATED", "FAILED", "Workload failed, see run output for details")],
    "HANG": [("PENDING", None, "Waiting for cluster"), ("RUNNING", None, "In run")],
}  # fmt: skip
NOTEBOOK_ERROR = "LabDataError: /dbfs/missing.csv: no such file. Check the data_path parameter."
NOTEBOOK_TRACE = (
    "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m\n"
    "LabDataError                              Traceback (most recent call last)\n"
    'File <command-1>, line 1\n----> 1 trips, trips_source = load_trips(data_path)\n'
    "LabDataError: /dbfs/missing.csv: no such file. Check the data_path parameter."
)


class ApiError(Exception):
    def __init__(self, status: int, error_code: str, message: str):
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message


@dataclass
class Request:
    method: str
    path: str
    query: dict
    body: dict | None
    authorized: bool


class WorkspaceStub:
    def __init__(self, token: str, user: str = "learner@example.com"):
        self.token = token  # the token the workspace accepts; change it to make the client's "expired"
        self.user = user
        self.requests: list[Request] = []
        self.objects: dict[str, dict] = {}
        self._next_id = 1000
        for folder in ["/", "/Users", f"/Users/{user}", "/Shared"]:
            self._put(folder, "DIRECTORY")
        self.clusters = {EXISTING_CLUSTER: {"cluster_id": EXISTING_CLUSTER, "cluster_name": "lab", "state": "RUNNING"}}
        self.runs: dict[int, dict] = {}
        self.experiments: dict[str, dict] = {}
        # Faults to inject.
        self.denied_prefixes: list[str] = []
        self.run_outcome = "SUCCESS"
        self.missing_cluster_status = 404
        self.page_size = 2  # small, so that listing runs takes several pages
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.stub = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle ---

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> WorkspaceStub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- helpers for tests ---

    def deny(self, path_prefix: str) -> None:
        """Writes (mkdirs, import, delete) at or under `path_prefix` get 403."""
        self.denied_prefixes.append(path_prefix)

    def calls(self, method: str, suffix: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    def put_notebook(self, path: str, content: bytes = b"# Databricks notebook source\n") -> None:
        """A notebook already in the workspace (as if deployed), with its folders."""
        self.mkdirs({"path": path.rsplit("/", 1)[0]})
        self._put(path, "NOTEBOOK", content, "PYTHON")

    def add_run(self, run_name: str, notebook_path: str, life_cycle_state: str = "TERMINATED") -> int:
        """A one-time run made elsewhere (another user, the UI), to check what clean-up leaves alone."""
        run_id = self._new_run({"run_name": run_name, "tasks": [{"task_key": "t", "notebook_task": {
            "notebook_path": notebook_path}}]})  # fmt: skip
        run = self.runs[run_id]
        run["script"] = [(life_cycle_state, "SUCCESS" if life_cycle_state == "TERMINATED" else None, "")]
        run["step"] = 0
        return run_id

    # --- request handling ---

    def handle(self, method: str, raw_path: str, headers, body: bytes) -> tuple[int, dict]:
        url = urlsplit(raw_path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        try:
            payload = json.loads(body) if body else None
        except json.JSONDecodeError:
            return 400, {"error_code": "MALFORMED_REQUEST", "message": "Invalid JSON given in the body of the request"}
        authorized = headers.get("Authorization") == f"Bearer {self.token}"
        with self._lock:
            self.requests.append(Request(method, url.path, query, payload, authorized))
            if url.path == "/.well-known/databricks-config":
                return 200, {"workspace_id": "1234567890123456", "cloud": "AZURE", "oidc_endpoint": f"{self.url}/oidc"}
            if not authorized:
                return 401, {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."}
            # The SDK calls jobs through API 2.2; the 2.1 paths answer the same.
            path = re.sub(r"^/api/2\.[12]/jobs/", "/api/jobs/", url.path)
            route = ROUTES.get((method, path))
            if route is None:
                return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for '{method} {url.path}'"}
            try:
                return 200, route(self, {**query, **(payload or {})})
            except ApiError as error:
                return error.status, {"error_code": error.error_code, "message": error.message}

    def _put(self, path: str, object_type: str, content: bytes = b"", language: str | None = None) -> dict:
        self._next_id += 1
        entry = {"path": path, "object_type": object_type, "object_id": self._next_id}
        if language:
            entry["language"] = language
        self.objects[path] = {**entry, "content": content}
        return entry

    def _check_write(self, path: str) -> None:
        for prefix in self.denied_prefixes:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                raise ApiError(403, "PERMISSION_DENIED", f"{self.user} does not have Manage permissions on {path}. "
                               "Please contact the owner or an administrator for access.")  # fmt: skip

    def _object(self, path: str) -> dict:
        if path not in self.objects:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
        return self.objects[path]

    # --- endpoints ---

    def me(self, _):
        return {"id": "4242", "userName": self.user, "displayName": "Lab Learner", "active": True}

    def mkdirs(self, request):
        path = request["path"].rstrip("/")
        self._check_write(path)
        parts = path.split("/")
        for depth in range(2, len(parts) + 1):
            folder = "/".join(parts[:depth])
            existing = self.objects.get(folder)
            if existing and existing["object_type"] != "DIRECTORY":
                raise ApiError(400, "RESOURCE_ALREADY_EXISTS", f"Path ({folder}) already exists and is not a folder.")
            if not existing:
                self._put(folder, "DIRECTORY")
        return {}

    def import_(self, request):
        path = request["path"]
        self._check_write(path)
        parent = path.rsplit("/", 1)[0] or "/"
        if self.objects.get(parent, {}).get("object_type") != "DIRECTORY":
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"The parent folder ({parent}) does not exist.")
        if path in self.objects and not request.get("overwrite"):
            raise ApiError(400, "RESOURCE_ALREADY_EXISTS", f"Path ({path}) already exists.")
        if request.get("format") == "SOURCE" and not request.get("language"):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "The language field is required to import a single file.")
        content = base64.b64decode(request.get("content", ""), validate=True)
        self._put(path, "NOTEBOOK", content, request.get("language"))
        return {}

    def get_status(self, request):
        entry = self._object(request["path"])
        return {key: value for key, value in entry.items() if key != "content"}

    def list(self, request):
        folder = self._object(request["path"])["path"].rstrip("/")
        children = [
            {key: value for key, value in entry.items() if key != "content"}
            for path, entry in sorted(self.objects.items())
            if path != folder and path.rsplit("/", 1)[0] == folder
        ]
        return {"objects": children} if children else {}

    def delete(self, request):
        path = request["path"].rstrip("/")
        self._check_write(path)
        entry = self._object(path)
        inside = [other for other in self.objects if other.startswith(path + "/")]
        if entry["object_type"] == "DIRECTORY" and inside and not _true(request.get("recursive")):
            raise ApiError(400, "DIRECTORY_NOT_EMPTY", f"Folder ({path}) is not empty.")
        for other in [path, *inside]:
            del self.objects[other]
        return {}

    def cluster(self, request):
        cluster_id = request.get("cluster_id")
        if cluster_id not in self.clusters:
            if self.missing_cluster_status == 400:
                raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Cluster {cluster_id} does not exist")
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Cluster {cluster_id} does not exist")
        return self.clusters[cluster_id]

    def submit(self, request):
        tasks = request.get("tasks") or []
        if not tasks:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "A run needs at least one task.")
        for task in tasks:
            if not (task.get("new_cluster") or task.get("existing_cluster_id")):
                raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Task {task.get('task_key')}: no compute given.")
            if task.get("existing_cluster_id") and task["existing_cluster_id"] not in self.clusters:
                raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Cluster {task['existing_cluster_id']} does not exist")
        return {"run_id": self._new_run(request)}

    def _new_run(self, request) -> int:
        self._next_id += 1
        run_id = self._next_id
        tasks = []
        for task in request["tasks"]:
            self._next_id += 1
            tasks.append({**task, "run_id": self._next_id})
        # "step" is the index in "script" of the state the last runs/get showed.
        self.runs[run_id] = {"run_id": run_id, "run_name": request.get("run_name", "Untitled"), "tasks": tasks,
                             "script": RUN_SCRIPTS[self.run_outcome], "step": -1}  # fmt: skip
        return run_id

    def _run(self, run_id) -> dict:
        run = self.runs.get(int(run_id))
        if run is None:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Run {run_id} does not exist.")
        return run

    def _state(self, run) -> dict:
        life, result, message = run["script"][max(run["step"], 0)]
        state = {"life_cycle_state": life, "state_message": message}
        if result:
            state["result_state"] = result
        return state

    def _describe(self, run, with_tasks=True) -> dict:
        state = self._state(run)
        described = {"run_id": run["run_id"], "run_name": run["run_name"], "run_type": "SUBMIT_RUN", "state": state,
                     "run_page_url": f"{self.url}/jobs/runs/{run['run_id']}"}  # fmt: skip
        if with_tasks:
            described["tasks"] = [{**task, "state": state} for task in run["tasks"]]
        return described

    def get_run(self, request):
        run = self._run(request["run_id"])
        run["step"] = min(run["step"] + 1, len(run["script"]) - 1)  # one step per poll
        if self._state(run)["life_cycle_state"] == "RUNNING":
            # The notebook runs: its mlflow.set_experiment creates the experiment.
            for task in run["tasks"]:
                name = (task["notebook_task"].get("base_parameters") or {}).get("experiment_name")
                if name and self.experiments.get(name, {}).get("lifecycle_stage") != "active":
                    self._next_id += 1
                    self.experiments[name] = {"experiment_id": str(self._next_id), "name": name,
                                              "lifecycle_stage": "active"}  # fmt: skip
        return self._describe(run)

    def get_output(self, request):
        run_id = int(request["run_id"])
        if run_id in self.runs:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "Retrieving the output of runs with multiple tasks is not "
                           "supported. Please retrieve the output of each individual task run instead.")  # fmt: skip
        for run in self.runs.values():
            for task in run["tasks"]:
                if task["run_id"] == run_id:
                    output = {"metadata": {**task, "state": self._state(run)}}
                    if self._state(run).get("result_state") == "FAILED":
                        output.update(error=NOTEBOOK_ERROR, error_trace=NOTEBOOK_TRACE)
                    return output
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Run {run_id} does not exist.")

    def list_runs(self, request):
        runs = sorted(self.runs.values(), key=lambda run: run["run_id"], reverse=True)
        if request.get("run_type"):
            runs = [run for run in runs if request["run_type"] == "SUBMIT_RUN"]  # every run here is one-time
        offset = int(request.get("page_token") or 0)
        page = runs[offset : offset + self.page_size]
        answer = {"runs": [self._describe(run, with_tasks=_true(request.get("expand_tasks"))) for run in page]}
        answer["has_more"] = offset + self.page_size < len(runs)
        if answer["has_more"]:
            answer["next_page_token"] = str(offset + self.page_size)
        return answer if page else {"has_more": False}

    def cancel(self, request):
        run = self._run(request["run_id"])
        if self._state(run)["life_cycle_state"] not in {"TERMINATED", "SKIPPED", "INTERNAL_ERROR"}:
            run["script"], run["step"] = [("TERMINATED", "CANCELED", "Run cancelled.")], 0
        return {}

    def delete_run(self, request):
        run = self._run(request["run_id"])
        if self._state(run)["life_cycle_state"] not in {"TERMINATED", "SKIPPED", "INTERNAL_ERROR"}:
            raise ApiError(400, "INVALID_STATE", f"Run {run['run_id']} is active and cannot be deleted.")
        del self.runs[run["run_id"]]
        return {}

    def experiment_by_name(self, request):
        experiment = self.experiments.get(request.get("experiment_name"))
        if experiment is None:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST",
                           f"Could not find experiment with name {request.get('experiment_name')}")  # fmt: skip
        return {"experiment": experiment}

    def delete_experiment(self, request):
        for experiment in self.experiments.values():
            if experiment["experiment_id"] == request.get("experiment_id"):
                experiment["lifecycle_stage"] = "deleted"  # MLflow keeps it until it is purged
                return {}
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"No experiment with id {request.get('experiment_id')}")


def _true(value) -> bool:
    return value is True or str(value).lower() == "true"


ROUTES = {
    ("GET", "/api/2.0/preview/scim/v2/Me"): WorkspaceStub.me,
    ("POST", "/api/2.0/workspace/mkdirs"): WorkspaceStub.mkdirs,
    ("POST", "/api/2.0/workspace/import"): WorkspaceStub.import_,
    ("GET", "/api/2.0/workspace/get-status"): WorkspaceStub.get_status,
    ("GET", "/api/2.0/workspace/list"): WorkspaceStub.list,
    ("POST", "/api/2.0/workspace/delete"): WorkspaceStub.delete,
    ("GET", "/api/2.1/clusters/get"): WorkspaceStub.cluster,
    ("POST", "/api/jobs/runs/submit"): WorkspaceStub.submit,
    ("GET", "/api/jobs/runs/get"): WorkspaceStub.get_run,
    ("GET", "/api/jobs/runs/get-output"): WorkspaceStub.get_output,
    ("GET", "/api/jobs/runs/list"): WorkspaceStub.list_runs,
    ("POST", "/api/jobs/runs/cancel"): WorkspaceStub.cancel,
    ("POST", "/api/jobs/runs/delete"): WorkspaceStub.delete_run,
    ("GET", "/api/2.0/mlflow/experiments/get-by-name"): WorkspaceStub.experiment_by_name,
    ("POST", "/api/2.0/mlflow/experiments/delete"): WorkspaceStub.delete_experiment,
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects

    def _answer(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, payload = self.server.stub.handle(method, self.path, self.headers, body)
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (the name http.server looks up)
        self._answer("GET")

    def do_POST(self):  # noqa: N802
        self._answer("POST")

    def log_message(self, format, *args):  # noqa: A002 - keep test output clean
        pass
