"""The local Spark session the runner gives notebooks that use `spark` (scripts/labtools/kernel/spark.py).

Real parts: a real local SparkSession (pyspark, Java), a real kernel, a real `mlflow server` (the session's:
these notebooks log no run, so what a server of the runner's own would add is tested in test_runner.py). The
notebooks here are small; the lab's Spark ML notebook is exercised in test_spark_lab.py.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import PROJECT, built_once, run_lab
from conftest import write_notebook as notebook

LAB_DATA = PROJECT / "data" / "nyc-taxi.csv"

needs_spark = pytest.mark.skipif(
    shutil.which("java") is None or __import__("importlib").util.find_spec("pyspark") is None,
    reason="Spark needs Java and pyspark (.ci/run installs both; see README)",
)

SPARK_CELLS = [
    """\
    # DBTITLE 1,Use Spark
    from pyspark.sql import functions as F
    frame = spark.createDataFrame([(1, "a"), (2, "b")], ["n", "s"]).withColumn("twice", F.col("n") * 2)
    display(frame)
    print("nyc_taxi registered:", spark.catalog.tableExists("nyc_taxi"))
    """,
    """\
    # MAGIC %sql
    # MAGIC SELECT COUNT(*) AS trips FROM nyc_taxi
    """,
]
PLAIN_CELL = """\
# DBTITLE 1,No Spark here
print("spark is", repr(spark))
"""


def outputs(path: Path) -> list[str]:
    """The text of each cell's outputs, one string a cell, the injected cell left out."""
    executed = nbformat.read(path, as_version=4)
    texts = []
    for cell in executed.cells[1:]:
        parts = [o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", [])]
        texts.append("\n".join(parts))
    return texts


# The lab's data as the stand-in registers it (spark.LAB_COLUMNS, no inference), against what inference finds.
SCHEMA_CELL = f"""\
inferred = spark.read.csv({str(LAB_DATA)!r}, header=True, inferSchema=True).schema
print("nyc_taxi's schema is the inferred one:", spark.table("nyc_taxi").schema == inferred)
"""


def data_check_files(folder: Path) -> str:
    """Two CSVs the Spark ML notebook's check must refuse, and the cell that loads them; the cell's code."""
    header = LAB_DATA.read_text().splitlines()[0]
    rows = LAB_DATA.read_text().splitlines()[1:6]
    distance = header.split(",").index("tripDistance")
    bad = [row.split(",") for row in rows]
    bad[2][distance] = "abc"
    (folder / "abc.csv").write_text("\n".join([header, *(",".join(row) for row in bad)]) + "\n")
    (folder / "header-only.csv").write_text(header + "\n")
    return f"""
        for name in ["abc.csv", "header-only.csv"]:
            try:
                load_spark_trips({str(folder)!r} + "/" + name)
            except LabDataError as error:
                print("refused:", error)
        """


@pytest.fixture(scope="module")
def spark_notebooks(tracking_server, tmp_path_factory):
    """One runner execution, one JVM: a notebook using Spark (display, %sql, the lab table, the Spark ML
    notebook's data check) and a plain notebook beside it."""
    built_once(tmp_path_factory, "spark_notebooks")
    folder = tmp_path_factory.mktemp("local-spark")
    shutil.copytree(PROJECT / "notebooks" / "includes", folder / "includes")
    spark_notebook = notebook(
        folder,
        "uses-spark.py",
        *SPARK_CELLS,
        SCHEMA_CELL,
        "# MAGIC %run ./includes/spark_setup",
        data_check_files(folder),
    )
    plain_notebook = notebook(folder, "plain.py", PLAIN_CELL)
    out = folder / "out"
    result = run_lab(str(spark_notebook), str(plain_notebook), "--out", str(out), "--tracking-uri", tracking_server.uri)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder, out


@needs_spark
def test_spark_sql_and_display_run_locally_and_a_plain_notebook_starts_no_session(spark_notebooks):
    _, out = spark_notebooks
    table, sql, schema, *_ = outputs(out / "executed" / "uses-spark.ipynb")
    # display() of a Spark DataFrame shows its rows as a table, as a workspace does.
    assert [line.split() for line in table.splitlines()[:3]] == [
        ["n", "s", "twice"],
        ["0", "1", "a", "2"],
        ["1", "2", "b", "4"],
    ]
    assert "nyc_taxi registered: True" in table
    assert sql.split() == ["trips", "0", "11734"]
    assert "nyc_taxi's schema is the inferred one: True" in schema
    # The notebook that never touched `spark` never started it.
    [plain] = outputs(out / "executed" / "plain.ipynb")
    assert "spark is <local SparkSession, started on first use>" in plain
    # Spark's scratch space and warehouse are under --out, nowhere else.
    assert (out / "spark" / "tmp").is_dir()


def test_without_java_a_named_spark_notebook_is_skipped_in_one_line_and_the_others_run(tracking_server, tmp_path):
    spark_notebook = notebook(tmp_path, "uses-spark.py", *SPARK_CELLS)
    plain_notebook = notebook(tmp_path, "plain.py", PLAIN_CELL)
    # A PATH with this Python's folder only: no `java` on it, and no JAVA_HOME.
    env = {key: value for key, value in os.environ.items() if key != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)
    assert shutil.which("java", path=env["PATH"]) is None
    result = run_lab(
        str(spark_notebook),
        str(plain_notebook),
        "--out",
        str(tmp_path / "out"),
        "--tracking-uri",
        tracking_server.uri,
        env=env,
    )
    assert result.returncode == 5, result.stdout + result.stderr
    skipped = [line for line in result.stderr.splitlines() if line.startswith("Skipping")]
    assert len(skipped) == 1 and "uses-spark.py" in skipped[0] and "Java" in skipped[0], result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "out" / "executed" / "plain.ipynb").is_file()
    assert not (tmp_path / "out" / "executed" / "uses-spark.ipynb").exists()


@needs_spark
def test_the_spark_notebooks_data_check_names_the_bad_value_and_an_empty_file(spark_notebooks):
    """The Spark ML notebook's check (includes/spark_setup.py), on CSVs Spark reads as a learner's would be read."""
    folder, out = spark_notebooks
    text = "\n".join(outputs(out / "executed" / "uses-spark.ipynb"))
    assert (
        f"refused: {folder}/abc.csv: column tripDistance should hold number values, but is of type string "
        "and holds 'abc'\n"
    ) in text
    no_rows = "the lab's columns, but no rows: there are no trips to train on"
    assert f"refused: {folder}/header-only.csv: {no_rows}" in text
