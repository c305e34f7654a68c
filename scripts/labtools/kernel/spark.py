"""A local Spark session for notebooks that use `spark`, as a Databricks cluster provides one.

On a cluster every notebook starts with `spark` defined. Locally, starting a JVM costs seconds and
memory that the scikit-learn notebook never needs, so `spark` is a stand-in that starts the real
session on first use: local mode on this machine's cores, no Spark UI, quiet logs, its warehouse
and scratch space under the runner's output folder. The lab's data file is registered as the
`nyc_taxi` table, as the course's first lab creates it in a workspace.

With `serverless=True` (`run_lab.py --serverless`) the session is what serverless compute gives a
notebook: a Spark Connect session (`pyspark.sql.connect`), so `spark.sparkContext` and `.rdd` fail as
they do there; `cache()` and `persist()` fail with serverless' own error; volumes, the current catalog, schema
and user are a small Unity Catalog stand-in's (`unity_catalog.py`, folders under `/Volumes`). As on serverless
compute, the notebook's Python has no JVM: the runner starts one Spark Connect server for the run's notebooks
(`local/connect_server.py` starts `labtools.spark_server` in a process of its own, on a free port), and the session
is a client of it.

What serverless mode cannot reproduce, so a local run that passes may still fail on serverless compute:
- egress: Free Edition reaches only trusted domains; locally the lab's download works if the network does;
- quotas: 5 concurrent job tasks on Free Edition, serverless usage limits, and the 100 MB cap on a Spark ML
  model (1 GB of models per session) are not enforced;
- the environment's library versions: the kernel runs this machine's (requirements.txt), not those of an
  environment version; `DATABRICKS_RUNTIME_VERSION` says environment 4, whose cache() rule is the one kept;
- Unity Catalog beyond what `unity_catalog.py` keeps (its docstring says what that is);
- the notebook context: it knows no notebook path, job or workspace (standins.NotebookContext).

This module runs inside the notebook's kernel (through `standins.install`, which hands it the runner's
`KernelConfig`); pyspark is imported only when the session starts, so a kernel without pyspark runs every
notebook that does not touch it. The JVM is built as the Spark Connect server builds its own (`spark_session.py`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path

from ..kernel_config import UnityCatalogSettings
from ..spark_session import build_session
from .unity_catalog import CatalogView, UnityCatalog

LAB_TABLE = "nyc_taxi"
# The lab's file's columns and the types Spark's inferSchema finds in them (tests/test_local_spark.py checks both):
# given, the table is registered without inference's two reads of the file, seconds of a cold JVM.
LAB_COLUMNS = (
    "passengerCount DOUBLE, tripDistance DOUBLE, hour_of_day INT, day_of_week INT, month_num INT, "
    "normalizeHolidayName STRING, isPaidTimeOff BOOLEAN, snowDepth DOUBLE, precipTime DOUBLE, "
    "precipDepth DOUBLE, temperature DOUBLE, totalAmount DOUBLE"
)
# What serverless compute (environment 4) says to cache() and persist(), word for word, as users report it (e.g.
# capitalone/datacompy issue 407); the exception class, AnalysisException, is from such reports too.
SERVERLESS_PERSIST_ERROR = "PERSIST TABLE is not supported on serverless compute."


class LocalSpark:
    """Behaves as `spark` does in a notebook; the first attribute looked up starts the session."""

    def __init__(
        self,
        work_dir: str | Path,
        lab_data: str | Path | None = None,
        serverless: bool = False,
        connect_url: str | None = None,
        java_problem: str | None = None,
        unity_catalog: UnityCatalogSettings | None = None,
    ):
        self._work_dir = Path(work_dir)
        self._lab_data = Path(lab_data) if lab_data else None
        self._serverless = serverless
        # Serverless: the runner's Spark Connect server (`sc://host:port`), shared by the run's notebooks; None
        # where the runner could not start one, for want of Java (`java_problem`, the runner's one check, says so).
        self._connect_url = connect_url
        self._java_problem = java_problem
        # Serverless: the workspace's Unity Catalog, as the runner's KernelConfig describes it (unity_catalog.py).
        self._unity_catalog = UnityCatalog(unity_catalog or UnityCatalogSettings()) if serverless else None
        self._session = None
        self._starting: Future | None = None  # the JVM's session, started in a thread (start_in_background)

    def __getattr__(self, name: str):
        if name.startswith("_"):  # not a session attribute: e.g. copy or pickle probing the stand-in
            raise AttributeError(name)
        return getattr(self.session(), name)

    def __repr__(self) -> str:
        return repr(self._session) if self._session else "<local SparkSession, started on first use>"

    def session(self):
        if self._session is None:
            if self._starting is not None:  # started in the background: wait for it, and fail as it failed
                starting, self._starting = self._starting, None
                jvm_session = starting.result()
            elif self._serverless:
                jvm_session = None  # the server is the runner's, in a process of its own
            else:
                jvm_session = self._start_jvm()
            self._session = self._ready(jvm_session)
        return self._session

    @property
    def catalog(self):
        """`spark.catalog`; on serverless, its current catalog and schema are the Unity Catalog stand-in's."""
        catalog = self.session().catalog
        return CatalogView(catalog, self._unity_catalog) if self._unity_catalog else catalog

    def connect_to(self, url: str) -> None:
        """Serverless: use the Spark Connect server at `url` from now on (the runner's, when it moved to another
        port after this kernel was told where it was). Only before the session starts: a started one stays."""
        if self._session is not None:
            raise RuntimeError(f"the Spark session is already connected; it cannot move to {url}")
        self._connect_url = url

    def sql(self, query: str, *args, **kwargs):
        """`spark.sql`; on serverless, volume statements and `SELECT current_user()` & co. go to the Unity Catalog
        stand-in first."""
        session = self.session()
        if self._unity_catalog:
            if self._unity_catalog.statement(query):
                return session.range(0).select()  # what a DDL statement returns: no rows, no columns
            query = self._unity_catalog.select_current(query) or query
        return session.sql(query, *args, **kwargs)

    def start_in_background(self) -> None:
        """Start the JVM in a thread, while the kernel imports the lab's libraries on the machine's other core.

        Only the JVM: the session becomes the notebook's in `session()`, in the notebook's thread (pyspark's
        active session is per thread, and pyspark.ml looks for it). The runner's injected cell calls this first
        and `session()` last, so a failure shows in that cell.
        """

        def start(starting: Future):
            try:
                starting.set_result(self._start_jvm())
            except BaseException as error:  # handed to session(), in the notebook's thread
                starting.set_exception(error)

        if self._session is None and self._starting is None and not self._serverless:
            # pyspark's SQL modules imported here first, in this thread: the kernel's own imports, meanwhile (mlflow
            # imports pyspark), then find them whole, never half-initialized by the other thread.
            with contextlib.suppress(ImportError):  # without pyspark, the thread fails, and session() says why
                import pyspark.sql  # noqa: F401

            self._starting = Future()
            threading.Thread(target=start, args=(self._starting,), name="local-spark-start", daemon=True).start()

    def _start_jvm(self):
        if self._java_problem:
            raise RuntimeError(self._java_problem)
        self._work_dir.mkdir(parents=True, exist_ok=True)
        # The JVM's own start-up lines (log4j's configuration, the hostname, native libraries, incubator modules) are
        # for whoever runs Spark, not for a learner: it writes them to the file descriptor it inherits, so it
        # inherits a log file. The kernel's own output is back on fd 2 as soon as the JVM has started. (Started in the
        # background, the redirection covers the injected cell's imports too: their warnings go to that log.)
        with open(self._work_dir / "driver.log", "ab") as log, _stderr_to(log):
            session = build_session(self._work_dir)
        session.sparkContext.setLogLevel("ERROR")
        return session

    def _ready(self, jvm_session):
        """The notebook's session, active in this thread, with the lab's table."""
        if self._serverless:
            if not self._connect_url:
                raise RuntimeError(
                    self._java_problem
                    or "serverless mode has no Spark Connect server to connect to (run_lab.py --serverless starts one)"
                )
            session = _connect(self._connect_url)
            self._unity_catalog.make_current_schema()  # as a workspace comes with its default schema
        else:
            from pyspark.sql import SparkSession

            session = SparkSession.builder.getOrCreate()  # the same session, made this thread's active one
        if self._lab_data and self._lab_data.is_file():
            known = _columns_of(self._lab_data) == [column.split()[0] for column in LAB_COLUMNS.split(", ")]
            types = {"schema": LAB_COLUMNS} if known else {"inferSchema": True}  # an edited file: inferred
            trips = session.read.csv(str(self._lab_data), header=True, **types)
            trips.createOrReplaceTempView(LAB_TABLE)
        return session


def _connect(url: str):
    """A Spark Connect session to the server at `url`, as serverless compute gives one.

    From here on the kernel is in pyspark's Connect mode (SPARK_CONNECT_MODE_ENABLED, as pyspark sets it for its
    own local Connect sessions): `pyspark.ml` sends its work to the server, and MLflow takes its Connect paths.
    """
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"
    session = ConnectSession.builder.remote(url).getOrCreate()
    _refuse_persist()
    return session


def _refuse_persist():
    """Make cache() and persist() of Connect DataFrames fail as serverless compute makes them fail."""
    from pyspark.errors.exceptions.connect import AnalysisException
    from pyspark.sql.connect.dataframe import DataFrame

    def refused(self, *args, **kwargs):
        raise AnalysisException(
            message=f"[NOT_SUPPORTED_WITH_SERVERLESS] {SERVERLESS_PERSIST_ERROR} SQLSTATE: 0A000",
            errorClass="NOT_SUPPORTED_WITH_SERVERLESS",
            sql_state="0A000",
        )

    DataFrame.cache = refused
    DataFrame.persist = refused


def _columns_of(csv_file: Path) -> list[str]:
    with open(csv_file, encoding="utf-8") as file:
        return file.readline().strip().split(",")


@contextmanager
def _stderr_to(log):
    saved = os.dup(2)
    try:
        os.dup2(log.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def is_spark_dataframe(value) -> bool:
    return type(value).__module__.startswith("pyspark.sql") and hasattr(value, "limit") and hasattr(value, "columns")


def first_rows(frame, rows: int = 20):
    """The first rows of a Spark DataFrame as a pandas one, for display.

    Through `collect`, not `toPandas`: pyspark 4.0's `toPandas` warns under pandas 3, and display needs
    no more than a few rows anyway.
    """
    import pandas as pd

    collected = frame.limit(rows).collect()
    return pd.DataFrame([row.asDict() for row in collected], columns=frame.columns)
