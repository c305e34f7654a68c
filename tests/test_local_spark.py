"""The local Spark session the runner gives notebooks that use `spark` (scripts/labtools/local/spark.py).

Real parts: a real local SparkSession (pyspark, Java), a real kernel, a real `mlflow server`. The
notebooks here are small; the lab's Spark ML notebook is exercised in test_spark_lab.py.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import PROJECT, run_lab
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


@needs_spark
def test_spark_sql_and_display_run_locally_and_a_plain_notebook_starts_no_session(tmp_path):
    spark_notebook = notebook(tmp_path, "uses-spark.py", *SPARK_CELLS)
    plain_notebook = notebook(tmp_path, "plain.py", PLAIN_CELL)
    out = tmp_path / "out"
    result = run_lab(str(spark_notebook), str(plain_notebook), "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr

    table, sql = outputs(out / "executed" / "uses-spark.ipynb")
    # display() of a Spark DataFrame shows its rows as a table, as a workspace does.
    assert [line.split() for line in table.splitlines()[:3]] == [["n", "s", "twice"], ["0", "1", "a", "2"],
                                                                 ["1", "2", "b", "4"]]  # fmt: skip
    if LAB_DATA.is_file():
        assert "nyc_taxi registered: True" in table
        assert sql.split() == ["trips", "0", "11734"]
    # The notebook that never touched `spark` never started it.
    [plain] = outputs(out / "executed" / "plain.ipynb")
    assert "spark is <local SparkSession, started on first use>" in plain
    # Spark's scratch space and warehouse are under --out, nowhere else.
    assert (out / "spark" / "tmp").is_dir()


def test_without_java_a_named_spark_notebook_is_skipped_in_one_line_and_the_others_run(tmp_path):
    spark_notebook = notebook(tmp_path, "uses-spark.py", *SPARK_CELLS)
    plain_notebook = notebook(tmp_path, "plain.py", PLAIN_CELL)
    # A PATH with this Python's folder only: no `java` on it, and no JAVA_HOME.
    env = {key: value for key, value in os.environ.items() if key != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)
    assert shutil.which("java", path=env["PATH"]) is None
    result = run_lab(str(spark_notebook), str(plain_notebook), "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == 5, result.stdout + result.stderr
    skipped = [line for line in result.stderr.splitlines() if line.startswith("Skipping")]
    assert len(skipped) == 1 and "uses-spark.py" in skipped[0] and "Java" in skipped[0], result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "out" / "executed" / "plain.ipynb").is_file()
    assert not (tmp_path / "out" / "executed" / "uses-spark.ipynb").exists()


@needs_spark
def test_the_spark_notebooks_data_check_names_the_bad_value_and_an_empty_file(tmp_path):
    """The Spark ML notebook's check (includes/spark_setup.py), on CSVs Spark reads as a learner's would be read."""
    shutil.copytree(PROJECT / "notebooks" / "includes", tmp_path / "includes")
    header = LAB_DATA.read_text().splitlines()[0]
    rows = LAB_DATA.read_text().splitlines()[1:6]
    columns = header.split(",")
    distance = columns.index("tripDistance")
    bad = [row.split(",") for row in rows]
    bad[2][distance] = "abc"
    (tmp_path / "abc.csv").write_text("\n".join([header, *(",".join(row) for row in bad)]) + "\n")
    (tmp_path / "header-only.csv").write_text(header + "\n")
    path = notebook(tmp_path, "check.py", "# MAGIC %run ./includes/spark_setup", f"""
        for name in ["abc.csv", "header-only.csv"]:
            try:
                load_spark_trips({str(tmp_path)!r} + "/" + name)
            except LabDataError as error:
                print("refused:", error)
        """)  # fmt: skip
    result = run_lab(str(path), "--out", str(tmp_path / "out"), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    text = "\n".join(outputs(tmp_path / "out" / "executed" / "check.ipynb"))
    assert (f"refused: {tmp_path}/abc.csv: column tripDistance should hold number values, but is of type string "
            "and holds 'abc'\n") in text  # fmt: skip
    no_rows = "the lab's columns, but no rows: there are no trips to train on"
    assert f"refused: {tmp_path}/header-only.csv: {no_rows}" in text
