"""How this project builds a local Spark session, in the two processes that run one.

- the notebook's kernel, in classic local mode (`kernel/spark.py`): Spark in the notebook's own process, as on a
  cluster's driver;
- serverless mode's Spark Connect server (`spark_server/`): a session with Spark Connect's plugin, in a process
  of its own, which the kernels are clients of, as on serverless compute.

Shared by those two kinds of process, it sits beside `lab.py` and imports nothing of the project; pyspark is
imported only when a session is built, so importing this costs nothing.
"""

from __future__ import annotations

import os
from pathlib import Path


def build_session(work_dir: Path, connect_port: int | None = None):
    """A classic local session; with `connect_port`, also the Spark Connect server on that port."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # this machine's own address: no hostname lookup
    builder = SparkSession.builder
    if connect_port:
        # The Spark Connect server, as pyspark's own local Connect mode starts it (SparkConnectPlugin and
        # artifact isolation), but on a port of the caller's: pyspark's mode always takes port 15002.
        builder = (
            builder.config("spark.plugins", "org.apache.spark.sql.connect.SparkConnectPlugin")
            .config("spark.connect.grpc.binding.address", "127.0.0.1")
            .config("spark.connect.grpc.binding.port", str(connect_port))
            .config("spark.sql.artifact.isolation.enabled", "true")
            .config("spark.sql.artifact.isolation.alwaysApplyClassloader", "true")
        )
    return (
        builder.master(f"local[{os.cpu_count() or 1}]")
        .appName("dp090-mlflow-lab")
        .config("spark.ui.enabled", "false")  # no web server on this machine's ports
        # Spark's default driver heap, 1 GB, is sized for a cluster's driver; locally the driver does all the
        # work, so it gets a quarter of the machine, as the JVM would give itself by default.
        .config("spark.driver.memory", f"{_quarter_of_memory_mib()}m")
        .config("spark.ui.showConsoleProgress", "false")  # no progress bars in cell output
        .config("spark.sql.warehouse.dir", str(work_dir / "warehouse"))
        .config("spark.local.dir", str(work_dir / "tmp"))
        # The lab's data is small: fewer shuffle partitions than the default 200 save seconds per stage.
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        # pandas <-> Spark through Arrow: createDataFrame from pandas takes a third of the time.
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )


def _quarter_of_memory_mib() -> int:
    return max(1024, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4 // (1 << 20))
