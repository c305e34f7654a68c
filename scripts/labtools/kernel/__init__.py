"""Code that runs inside a notebook's Jupyter kernel, and nowhere else: the workspace stand-ins.

The runner's injected first cell imports `standins` and calls `standins.install(globals())`, which reads the
runner's `KernelConfig` (`labtools/kernel_config.py`) from the kernel's environment and defines `dbutils`,
`display` and `spark` (`spark.py`: the local Spark session; `volumes.py`: serverless mode's Unity Catalog volumes).

Imports: this package uses only `labtools.kernel_config` and `labtools.spark_session` of the project; the runner
(`local/`) never imports it, it only names it in the injected cell (`local/prelude.py`).
"""
