"""The lab's data loading and input checks (notebooks/includes/setup.py).

Downloads are served by a local HTTP server on 127.0.0.1 standing in for the
lab's public file host, which this machine cannot reach.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import shutil
import socket
import sys
import threading
import types
from pathlib import Path

import pandas as pd
import pytest
from conftest import REAL_DATA

from labtools.local import synthetic
from labtools.local.errors import UsageError
from labtools.local.synthetic import synthetic_trips


@pytest.fixture
def file_server(tmp_path):
    """Serve `tmp_path/www` on 127.0.0.1; yields the base URL."""
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def write_csv(path, frame):
    frame.to_csv(path, index=False)
    return path


def test_synthetic_trips_have_the_lab_columns_and_plausible_fares(setup_notebook):
    trips = synthetic_trips(rows=5000, seed=1)
    setup_notebook["validate_trips"](trips, "synthetic")
    assert list(trips.columns) == list(setup_notebook["TRIP_COLUMNS"])
    fares = trips.dropna(subset=["totalAmount"])
    # Fare grows with distance.
    assert fares["totalAmount"].corr(fares["tripDistance"]) > 0.8
    # Deterministic for a seed.
    assert trips.equals(synthetic_trips(rows=5000, seed=1))


def test_the_real_data_passes_validation(setup_notebook):
    trips, source = setup_notebook["load_trips"](str(REAL_DATA))
    assert len(trips) == 11734 and source == str(REAL_DATA)
    assert setup_notebook["sha256_of"](REAL_DATA) == setup_notebook["LAB_DATA_SHA256"]


@pytest.fixture
def clone_without_data(setup_notebook, monkeypatch, tmp_path):
    """A notebook folder (tmp/repo/notebooks/ja) as the working directory, with no data/ above it and no cache."""
    folder = tmp_path / "repo" / "notebooks" / "ja"
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)
    monkeypatch.setitem(setup_notebook, "LAB_DATA_CACHE", tmp_path / "cache" / "nyc-taxi.csv")
    return tmp_path / "repo"


def test_the_lab_data_beside_the_notebooks_is_found_from_a_nested_notebook_folder(setup_notebook, clone_without_data):
    (clone_without_data / "data").mkdir()
    shutil.copy(REAL_DATA, clone_without_data / "data" / "nyc-taxi.csv")
    trips, source = setup_notebook["load_trips"]("")
    assert len(trips) == 11734
    assert source == f"{clone_without_data / 'data' / 'nyc-taxi.csv'} (the lab's data, checksum verified)"


class WorkspaceContext:
    """`dbutils.notebook.entry_point.getDbutils().notebook().getContext()` of a workspace notebook at `path`."""

    def __init__(self, path):
        self.path = path
        self.entry_point = self

    @property
    def notebook(self):  # dbutils.notebook, and getDbutils().notebook() (called): the same object here
        return self

    def __call__(self):
        return self

    def getDbutils(self):  # noqa: N802 (Databricks' names)
        return self

    def getContext(self):  # noqa: N802
        return self

    def notebookPath(self):  # noqa: N802
        return self

    def get(self):
        return self.path


def test_in_a_workspace_the_data_is_found_from_the_notebooks_path_not_the_working_directory(
    setup_notebook, clone_without_data, monkeypatch
):
    """Serverless compute does not promise that a notebook's working directory is its folder."""
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "client.4.9")
    monkeypatch.setitem(setup_notebook, "dbutils", WorkspaceContext("/Users/someone@example.com/lab/notebooks/ja/01"))
    assert setup_notebook["notebook_folder"]() == Path("/Workspace/Users/someone@example.com/lab/notebooks/ja")
    # Without a context (an older runtime): the working directory, as before.
    monkeypatch.setitem(setup_notebook, "dbutils", object())
    assert setup_notebook["notebook_folder"]() == clone_without_data / "notebooks" / "ja"


class ReplContext:
    """What `dbruntime.databricks_repl_context.get_context()` returns in a workspace notebook: an object with the
    notebook's path as its attribute `notebookPath` (the attribute MLflow reads: mlflow/utils/databricks_utils.py,
    `_use_repl_context_if_available("notebookPath")` on `get_notebook_path`)."""

    def __init__(self, path):
        self.notebookPath = path  # noqa: N815 (Databricks' name)


def repl_context_module(path):
    """A `dbruntime` package whose `databricks_repl_context.get_context()` knows the notebook at `path`."""
    package, module = types.ModuleType("dbruntime"), types.ModuleType("dbruntime.databricks_repl_context")
    module.get_context = lambda: ReplContext(path)
    package.databricks_repl_context = module
    return {"dbruntime": package, "dbruntime.databricks_repl_context": module}


class ForbiddenContext(WorkspaceContext):
    """dbutils' context where the access mode does not allow it (standard access mode forbids some methods)."""

    def getContext(self):  # noqa: N802
        raise RuntimeError("py4j.security.Py4JSecurityException: Method public ... getContext() is not whitelisted")


def test_in_a_workspace_the_notebook_path_comes_from_the_repl_context_first(
    setup_notebook, clone_without_data, monkeypatch
):
    """As MLflow finds it: dbruntime's REPL context, then dbutils' entry point, then the working directory."""
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "client.5.1")
    for name, module in repl_context_module("/Users/someone@example.com/lab/notebooks/01").items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setitem(setup_notebook, "dbutils", WorkspaceContext("/Users/someone@example.com/other/02"))
    assert setup_notebook["notebook_folder"]() == Path("/Workspace/Users/someone@example.com/lab/notebooks")
    # dbutils' context not allowed: the REPL context still answers.
    monkeypatch.setitem(setup_notebook, "dbutils", ForbiddenContext("/Users/someone@example.com/other/02"))
    assert setup_notebook["notebook_folder"]() == Path("/Workspace/Users/someone@example.com/lab/notebooks")
    # A path that already starts with /Workspace is not given a second one.
    for name, module in repl_context_module("/Workspace/Users/someone@example.com/lab/notebooks/ja/01").items():
        monkeypatch.setitem(sys.modules, name, module)
    assert setup_notebook["notebook_folder"]() == Path("/Workspace/Users/someone@example.com/lab/notebooks/ja")
    # Neither context: the working directory.
    monkeypatch.delitem(sys.modules, "dbruntime.databricks_repl_context")
    monkeypatch.setitem(sys.modules, "dbruntime", None)  # import fails, as outside a workspace
    assert setup_notebook["notebook_folder"]() == clone_without_data / "notebooks" / "ja"


def test_a_changed_data_file_beside_the_notebooks_is_refused(setup_notebook, clone_without_data):
    (clone_without_data / "data").mkdir()
    changed = clone_without_data / "data" / "nyc-taxi.csv"
    changed.write_bytes(REAL_DATA.read_bytes().replace(b"\n", b"\r\n"))  # what a CRLF checkout would do
    with pytest.raises(setup_notebook["LabDataError"], match=f"^{changed}: not the lab's data \\(its SHA-256 is"):
        setup_notebook["load_trips"]("")


def test_without_a_data_folder_the_verified_download_is_used_and_kept(
    setup_notebook, clone_without_data, file_server, monkeypatch
):
    root, url = file_server
    shutil.copy(REAL_DATA, root / "nyc-taxi.csv")
    monkeypatch.setitem(setup_notebook, "LAB_DATA_URL", f"{url}/nyc-taxi.csv")
    trips, source = setup_notebook["load_trips"]("")
    assert len(trips) == 11734 and source == f"{url}/nyc-taxi.csv (checksum verified)"
    (root / "nyc-taxi.csv").unlink()  # the second time, the download kept in the cache is used
    trips, source = setup_notebook["load_trips"]("")
    assert len(trips) == 11734 and "downloaded earlier, checksum verified" in source


def test_without_data_or_network_the_error_says_what_to_pass(setup_notebook, clone_without_data, monkeypatch):
    monkeypatch.setitem(setup_notebook, "LAB_DATA_URL", "http://127.0.0.1:9/nyc-taxi.csv")
    with pytest.raises(setup_notebook["LabDataError"], match="pass the CSV's path as data_path.$"):
        setup_notebook["load_trips"]("")


# SHA-256 of synthetic_trips(1000) as CSV, as the setup notebook made them before they moved to the runner
# (commit a24bc47): the same trips, so runs on them compare with earlier ones.
SYNTHETIC_1000_SHA256 = "2f8f5522109fdacca25f39afaee7301020425610ecfbaf02f2cd76d96284c30e"


def test_the_synthetic_trips_are_those_the_notebook_made_before():
    csv = synthetic_trips(1000).to_csv(index=False).encode()
    assert hashlib.sha256(csv).hexdigest() == SYNTHETIC_1000_SHA256


def test_the_runner_reads_synthetic_rows_from_a_data_path():
    assert synthetic.rows_of("synthetic:500") == 500 and synthetic.rows_of("/tmp/trips.csv") is None
    for bad in ("synthetic:", "synthetic:0", "synthetic:ten"):
        with pytest.raises(UsageError, match=f"^data_path '{bad}': expected synthetic:ROWS"):
            synthetic.rows_of(bad)


def test_the_runner_writes_synthetic_trips_to_a_csv_named_synthetic(tmp_path):
    path = synthetic.write_csv(20, tmp_path)
    assert path == tmp_path / "SYNTHETIC-trips-20.csv"
    assert pd.read_csv(path).equals(pd.read_csv(io.StringIO(synthetic_trips(20).to_csv(index=False))))


def test_the_notebook_makes_up_no_trips(setup_notebook):
    """Made-up trips are the runner's (run_lab.py --synthetic): to the notebook, synthetic:ROWS names no file."""
    assert not [name for name in setup_notebook if "synthetic" in name.lower()]
    with pytest.raises(setup_notebook["LabDataError"], match="^synthetic:500: no such file. Check the data_path"):
        setup_notebook["load_trips"]("synthetic:500")


def test_a_missing_file_is_named(setup_notebook, tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(setup_notebook["LabDataError"], match=f"^{missing}: no such file. Check the data_path"):
        setup_notebook["load_trips"](str(missing))


def test_an_empty_file_is_named(setup_notebook, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(setup_notebook["LabDataError"], match=f"^{empty}: the file is empty"):
        setup_notebook["load_trips"](str(empty))


def test_a_missing_column_is_named(setup_notebook, tmp_path):
    path = write_csv(tmp_path / "t.csv", synthetic_trips(50).drop(columns=["tripDistance"]))
    with pytest.raises(setup_notebook["LabDataError"], match=f"^{path}: missing column\\(s\\) tripDistance;"):
        setup_notebook["load_trips"](str(path))


def test_a_mistyped_column_is_named(setup_notebook, tmp_path):
    trips = synthetic_trips(50)
    trips["temperature"] = "warm"
    path = write_csv(tmp_path / "t.csv", trips)
    with pytest.raises(setup_notebook["LabDataError"], match=f"^{path}: column temperature should hold number values"):
        setup_notebook["load_trips"](str(path))


def test_a_bad_value_in_a_csv_column_names_the_column_and_its_type(setup_notebook, tmp_path):
    """One 'abc' among numbers: pandas reads the column as text, and the message says so."""
    trips = synthetic_trips(50).astype({"tripDistance": object})
    trips.loc[2, "tripDistance"] = "abc"
    path = write_csv(tmp_path / "t.csv", trips)
    with pytest.raises(setup_notebook["LabDataError"]) as raised:
        setup_notebook["load_trips"](str(path))
    read_as = pd.read_csv(path)["tripDistance"].dtype  # object, or str with pandas 3
    assert str(raised.value) == f"{path}: column tripDistance should hold number values, but is of type {read_as}"


def test_a_bad_value_in_a_table_names_the_column_and_its_type(setup_notebook):
    """Trips that are not a CSV file (the nyc_taxi table, read with toPandas())."""
    trips = synthetic_trips(10).astype({"isPaidTimeOff": object})
    trips.loc[3, "isPaidTimeOff"] = "maybe"
    with pytest.raises(setup_notebook["LabDataError"]) as raised:
        setup_notebook["validate_trips"](trips, "the nyc_taxi table")
    assert (
        str(raised.value) == "the nyc_taxi table: column isPaidTimeOff should hold boolean values, but is of "
        "type object"
    )


def test_a_text_column_of_numbers_and_an_empty_column_are_named(setup_notebook):
    trips = synthetic_trips(10)
    trips["normalizeHolidayName"] = 0.0
    with pytest.raises(setup_notebook["LabDataError"]) as raised:
        setup_notebook["validate_trips"](trips, "t")
    assert str(raised.value) == "t: column normalizeHolidayName should hold text values, but is of type float64"
    trips = synthetic_trips(10)
    trips["snowDepth"] = None
    with pytest.raises(setup_notebook["LabDataError"]) as raised:
        setup_notebook["validate_trips"](trips, "t")
    assert str(raised.value) == "t: column snowDepth should hold number values, but has no values at all"


def test_a_csv_with_a_header_and_no_rows_says_so(setup_notebook, tmp_path):
    path = write_csv(tmp_path / "t.csv", synthetic_trips(10).iloc[:0])
    with pytest.raises(setup_notebook["LabDataError"]) as raised:
        setup_notebook["load_trips"](str(path))
    assert str(raised.value) == f"{path}: the lab's columns, but no rows: there are no trips to train on"


def test_all_labels_missing_is_named(setup_notebook, tmp_path):
    trips = synthetic_trips(50)
    trips["totalAmount"] = float("nan")
    path = write_csv(tmp_path / "t.csv", trips)
    message = f"^{path}: column totalAmount \\(the label\\) has no values"
    with pytest.raises(setup_notebook["LabDataError"], match=message):
        setup_notebook["load_trips"](str(path))


def test_a_verified_download_is_kept(setup_notebook, file_server, tmp_path):
    root, url = file_server
    content = synthetic_trips(20).to_csv(index=False).encode()
    (root / "nyc-taxi.csv").write_bytes(content)
    destination = tmp_path / "cache" / "nyc-taxi.csv"
    saved = setup_notebook["download_lab_data"](
        url=f"{url}/nyc-taxi.csv", destination=destination, sha256=hashlib.sha256(content).hexdigest()
    )
    assert saved == destination and destination.read_bytes() == content
    assert list(destination.parent.iterdir()) == [destination]


def test_a_checksum_mismatch_saves_nothing(setup_notebook, file_server, tmp_path):
    root, url = file_server
    (root / "nyc-taxi.csv").write_text("<html>a proxy's login page</html>")
    destination = tmp_path / "cache" / "nyc-taxi.csv"
    with pytest.raises(setup_notebook["LabDataError"], match="its SHA-256 is [0-9a-f]{64}, not 0{64}"):
        setup_notebook["download_lab_data"](url=f"{url}/nyc-taxi.csv", destination=destination, sha256="0" * 64)
    assert list(destination.parent.iterdir()) == []


def test_no_network_is_a_clear_error(setup_notebook, tmp_path):
    # Nothing listens on port 9 (discard) of the loopback interface: the connection is refused at once.
    url = "http://127.0.0.1:9/nyc-taxi.csv"
    message = f"^Could not download {url} .*pass the CSV's path as data_path"
    with pytest.raises(setup_notebook["LabDataError"], match=message):
        setup_notebook["download_lab_data"](url=url, destination=tmp_path / "x.csv", timeout=5)
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("then", ["stall", "close"])
def test_a_download_cut_short_is_a_clear_error_and_leaves_no_partial_file(setup_notebook, tmp_path, then):
    """The host sends the first bytes, then nothing (the download times out) or it closes the connection
    (http.client's IncompleteRead, not an OSError): one clear error either way, and nothing kept."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def send_the_start_only():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npassengerCount,tripDistance\n")
            if then == "stall":
                done.wait(60)

    threading.Thread(target=send_the_start_only, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/nyc-taxi.csv"
    destination = tmp_path / "cache" / "nyc-taxi.csv"
    try:
        with pytest.raises(setup_notebook["LabDataError"], match=f"^Could not download {url} .*pass the CSV's path"):
            setup_notebook["download_lab_data"](url=url, destination=destination, timeout=1)
    finally:
        done.set()
        listener.close()
    assert list(destination.parent.iterdir()) == [], "the part that arrived is not kept"


def test_a_corrupt_cache_is_not_used(setup_notebook, clone_without_data):
    cache = setup_notebook["LAB_DATA_CACHE"]
    cache.parent.mkdir()
    cache.write_text("passengerCount\n1\n")
    with pytest.raises(setup_notebook["LabDataError"], match=f"^{cache}: not the lab's data"):
        setup_notebook["load_trips"]("")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((1.5, 0.3, 50), "elastic_net_param must be between 0 \\(L2\\) and 1 \\(L1\\), not 1.5"),
        ((-0.1, 0.3, 50), "elastic_net_param must be between 0"),
        ((0.5, -1, 50), "reg_param must be 0 or more, not -1"),
        ((0.5, "0.3", 50), "reg_param must be a number, not '0.3'"),
        ((0.5, 0.3, 0), "max_iter must be a whole number of at least 1, not 0"),
        ((0.5, 0.3, 2.5), "max_iter must be a whole number of at least 1, not 2.5"),
    ],
)
def test_bad_hyperparameters_are_named(setup_notebook, arguments, message):
    with pytest.raises(ValueError, match=message):
        setup_notebook["check_hyperparameters"](*arguments)


def test_good_hyperparameters_pass(setup_notebook):
    for arguments in [(0.0, 0.0, 1), (1.0, 0.3, 50), (0.5, 0.9, 1000)]:
        setup_notebook["check_hyperparameters"](*arguments)


def test_pinned_requirements_skip_what_is_not_installed(setup_notebook):
    pinned = setup_notebook["pinned_requirements"](["pandas", "no-such-package-here"])
    assert pinned == [f"pandas=={pd.__version__}"]
