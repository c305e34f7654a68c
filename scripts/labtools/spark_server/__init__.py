"""Serverless mode's Spark Connect server: `python -m labtools.spark_server WORK_DIR PORT READY_FILE`.

Its own folder because its own kind of process: the runner starts it (`local/connect_server.py`), one for a
whole `run_lab.py --serverless` run, and the kernels connect to it (`kernel/spark.py`). It imports neither
side, only the session builder it shares with the kernel's classic mode (`labtools/spark_session.py`).
"""
