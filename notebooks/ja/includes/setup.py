# Databricks notebook source
# MAGIC %md
# MAGIC # ラボのセットアップ
# MAGIC
# MAGIC > **注:** このノートブックのコード セルは英語版と同じです。そのため、セルの出力とウィジェットのラベルは英語で表示されます。
# MAGIC
# MAGIC ラボのノートブックは、`%run ./includes/setup` でこのノートブックを実行します。このノートブックには、レッスンで見せる必要のない処理がまとめられています。そうすることで、ラボ自体は MLflow の内容に集中できます。
# MAGIC
# MAGIC - `running_on_databricks()`、`compute_description()`、`default_experiment_name()`、および `pinned_requirements(packages)`。
# MAGIC - `load_trips(data_path)`: 指定した CSV ファイルから NYC タクシーの乗車データを読み込みます。ファイルを指定しない場合は、(ワークスペースでは) コースの最初のラボで作成する `nyc_taxi` テーブルを使用し、なければノートブックのフォルダーかその上位のフォルダー (Git フォルダー、バンドル) にあるラボのファイル `data/nyc-taxi.csv`、それもなければダウンロードしたラボの公開 CSV を使用します。ラボのファイルは SHA-256 チェックサムで確認します。
# MAGIC - `validate_trips(trips, source)`: 欠けている列があればその列の名前を、型が正しくない列があればその列の名前と型を示すエラーで停止します。
# MAGIC - `check_hyperparameters(...)`: 範囲外のハイパーパラメーターを指定したトレーニングの呼び出しを、MLflow の実行を開始する前に停止します。
# MAGIC - `spark_like_penalty(...)`: 同じハイパーパラメーターで Spark ML の `LinearRegression` が適用するペナルティに最も近い、scikit-learn の `ElasticNet` のペナルティを求めます。
# MAGIC - `sklearn_model_options()`: MLflow 2 と MLflow 3 で異なる `mlflow.sklearn.log_model` の引数と、バージョンを固定したモデルの要件を返します。
# MAGIC - `compare_runs(...)` と `share_predicted_high_on_cheap_rides(...)`: ラボが各実行の後に出力する比較です。`quoted(text)`: MLflow の検索フィルターで使う文字列を返します。

# COMMAND ----------

import hashlib
import http.client
import importlib.metadata
import os
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

LAB_DATA_URL = "https://raw.githubusercontent.com/MicrosoftLearning/dp-090-databricks-ml/master/data/nyc-taxi.csv"
LAB_DATA_SHA256 = "a8b019952bbaf8317a959231d38b55602db43b0edf6090930db4628481124fb0"
LAB_DATA_CACHE = Path.home() / ".cache" / "dp090-mlflow-lab" / "nyc-taxi.csv"
# Where the repository keeps the lab's file, relative to a folder at or above the notebook's own.
LAB_DATA_FILE = Path("data") / "nyc-taxi.csv"
LAB_TABLE = "nyc_taxi"
LAB_EXPERIMENT = "dp090-using-mlflow-to-track-experiments"

# The columns the lab uses, and the kind of values each must hold.
TRIP_COLUMNS = {
    "passengerCount": "number",
    "tripDistance": "number",
    "hour_of_day": "number",
    "day_of_week": "number",
    "month_num": "number",
    "normalizeHolidayName": "text",
    "isPaidTimeOff": "boolean",
    "snowDepth": "number",
    "precipTime": "number",
    "precipDepth": "number",
    "temperature": "number",
    "totalAmount": "number",
}


class LabDataError(ValueError):
    """The lab's data could not be loaded, or is not the shape the lab needs."""

# COMMAND ----------

def running_on_databricks():
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def running_on_serverless():
    """Serverless compute sets DATABRICKS_RUNTIME_VERSION to "client." and its environment version."""
    return os.environ.get("DATABRICKS_RUNTIME_VERSION", "").startswith("client.")


def spark_connect_mode():
    """Whether `spark` is a Spark Connect session: on serverless and on standard access mode clusters."""
    # importlib, not an import statement: the local runner starts Spark for a notebook that imports from
    # pyspark's API, and the scikit-learn notebook, which runs this, needs no Spark (nor Java).
    try:
        is_remote = importlib.import_module("pyspark.sql.utils").is_remote
    except ImportError:
        return False
    return running_on_serverless() or is_remote()


def compute_description():
    """The kind of compute running this notebook, in a few words."""
    version = os.environ.get("DATABRICKS_RUNTIME_VERSION")
    if version is None:
        return "this machine, outside Databricks"
    if running_on_serverless():
        return f"serverless compute, environment version {version.split('.')[1]} (Spark Connect)"
    if spark_connect_mode():
        return f"a cluster in standard access mode (Spark Connect), Databricks Runtime {version}"
    return f"a cluster in dedicated access mode, Databricks Runtime {version}"


def default_experiment_name():
    """Where the runs go when the `experiment_name` widget is left blank."""
    if running_on_databricks():
        # Experiment names in a workspace are workspace paths.
        user = spark.sql("SELECT current_user()").first()[0]  # noqa: F821 (defined by Databricks)
        return f"/Users/{user}/{LAB_EXPERIMENT}"
    return LAB_EXPERIMENT



def pinned_requirements(packages):
    """`package==version` for each of `packages` that is installed, as a model's pip requirements."""
    pinned = []
    for package in packages:
        try:
            pinned.append(f"{package}=={importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            pass  # e.g. skops, which only the newest MLflow releases use
    return pinned


def quoted(text):
    """`text` quoted for an MLflow search filter, with the kind of quote it does not contain.

    A ' inside '...' would end the filter's string early. Experiment names in a workspace are paths as the
    tracking server stores them (without a /Workspace prefix)."""
    return f'"{text}"' if "'" in text else f"'{text}'"


def sklearn_model_options():
    """The keyword arguments the lab passes to `mlflow.sklearn.log_model` besides the model and its signature.

    - The model's name in the run, "model": MLflow 3 (ML runtime 17.3 LTS and later) takes it as `name=`,
      MLflow 2 (15.4 and 16.4 LTS) as `artifact_path=`. Either way `runs:/<run_id>/model` names the model later:
      MLflow 3 keeps it as a logged model linked to the run, MLflow 2 in the run's artifacts.
    - Recent MLflow releases save a scikit-learn model outside Databricks in the safe skops format, which loads
      only the types it is told to trust. The lab's pipeline (its imputer) holds a `numpy.dtype`, so that type is
      named as trusted where MLflow has the `skops_trusted_types` argument; older releases pickle the model.
    - `pip_requirements`: the packages the model needs, at the versions that trained it, which saves MLflow a few
      seconds per run that it would otherwise spend working them out.
    """
    import inspect

    import mlflow
    import mlflow.sklearn

    options = {"name": "model"} if int(mlflow.__version__.split(".")[0]) >= 3 else {"artifact_path": "model"}
    if "skops_trusted_types" in inspect.signature(mlflow.sklearn.log_model).parameters:
        options["skops_trusted_types"] = ["numpy.dtype"]
    options["pip_requirements"] = pinned_requirements(["mlflow", "scikit-learn", "pandas", "numpy", "cloudpickle",
                                                       "skops"])
    return options


def compare_runs(new, old, new_name, old_name):
    """Print each metric of two runs' results (dicts with rmse, mae, r2) and which run is better at it."""
    for metric, better in [("rmse", "lower"), ("mae", "lower"), ("r2", "higher")]:
        change = new[metric] - old[metric]
        if change == 0:
            verdict = "the same"
        elif (change < 0) == (better == "lower"):
            verdict = "better"
        else:
            verdict = "worse"
        print(f"{metric.upper():>4}: {old_name} {old[metric]:.4f}, {new_name} {new[metric]:.4f} "
              f"({change:+.4f}: {new_name} is {verdict})")


def share_predicted_high_on_cheap_rides(predicted, actual):
    """The share of the cheapest quarter of rides (by actual fare) whose predicted fare is above the actual one."""
    actual = np.asarray(actual)
    cheap = actual <= np.quantile(actual, 0.25)
    return float(np.mean(np.asarray(predicted)[cheap] > actual[cheap]))

# COMMAND ----------

def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_lab_data(url=LAB_DATA_URL, destination=LAB_DATA_CACHE, sha256=LAB_DATA_SHA256, timeout=30):
    """Download the lab's CSV to `destination`, keeping it only if its checksum matches."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as file:
            file.write(response.read())
    except (OSError, http.client.HTTPException) as error:  # e.g. no network, a timeout, a connection cut short
        partial.unlink(missing_ok=True)
        raise LabDataError(
            f"Could not download {url} ({error}). Check the network, or pass the CSV's path as data_path."
        ) from None
    actual = sha256_of(partial)
    if actual != sha256:
        partial.unlink()
        raise LabDataError(
            f"{url} downloaded, but its SHA-256 is {actual}, not {sha256}: the file is not the lab's data "
            "(a proxy page or a changed file). Nothing was saved; download it by hand and pass data_path."
        )
    partial.replace(destination)
    return destination


def notebook_folder():
    """The running notebook's folder as a file path: `/Workspace/...` in a workspace, else the working directory.

    Serverless compute does not promise that a notebook's working directory is its folder, so in a workspace
    the folder comes from the notebook's context (the notebook that `%run` this one), asked as MLflow asks it
    (mlflow/utils/databricks_utils.py, `get_notebook_path`): first the REPL context of `dbruntime`, then
    dbutils' entry point, whose context some access modes do not allow. Outside a workspace the working
    directory is the notebook's folder, as the local runner starts its kernel there.
    """
    if running_on_databricks():
        for notebook_path in (_repl_context_notebook_path, _entry_point_notebook_path):
            try:
                path = notebook_path()
            except Exception:  # not on this runtime or environment, or not allowed: ask the next one
                continue
            if path:
                return Path(path if path.startswith("/Workspace/") else "/Workspace" + path).parent
    return Path(os.getcwd())


def _repl_context_notebook_path():
    from dbruntime.databricks_repl_context import get_context  # a module of Databricks' Python REPL

    return get_context().notebookPath


def _entry_point_notebook_path():
    return dbutils.notebook.entry_point.getDbutils().notebook().getContext().notebookPath().get()  # noqa: F821


def lab_data_beside_notebooks(start=None):
    """`data/nyc-taxi.csv` in the notebook's folder or the nearest folder above it that has one, else None.

    So notebooks/ and notebooks/ja/ of a Git folder or a bundle (whose files include data/) both find the
    repository's data/ without knowing how deep they are. An imported archive has no data/.
    """
    folder = Path(start or notebook_folder()).resolve()
    for parent in [folder, *folder.parents]:
        if (parent / LAB_DATA_FILE).is_file():
            return parent / LAB_DATA_FILE
    return None


def read_lab_data(path):
    """The lab's own CSV at `path`, refused if its checksum says it is some other file."""
    actual = sha256_of(path)
    if actual != LAB_DATA_SHA256:
        raise LabDataError(
            f"{path}: not the lab's data (its SHA-256 is {actual}, not {LAB_DATA_SHA256}). Restore or delete "
            "the file, or pass a CSV's path as data_path."
        )
    return read_trips_csv(path)


def read_trips_csv(path):
    path = str(path)
    if path.startswith("dbfs:/"):
        path = "/dbfs/" + path[len("dbfs:/") :]  # DBFS as a cluster's local file system sees it
    if not os.path.isfile(path):
        raise LabDataError(f"{path}: no such file. Check the data_path parameter.")
    if os.path.getsize(path) == 0:
        raise LabDataError(f"{path}: the file is empty. Pass the lab's nyc-taxi.csv as data_path.")
    try:
        trips = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise LabDataError(f"{path}: not a readable CSV file ({error}).") from None
    return trips


def validate_trips(trips, source):
    """Stop before training if a column the lab needs is missing or holds the wrong kind of values."""
    missing = [column for column in TRIP_COLUMNS if column not in trips.columns]
    if missing:
        raise LabDataError(f"{source}: missing column(s) {', '.join(missing)}; the lab needs {list(TRIP_COLUMNS)}")
    if trips.empty:
        raise LabDataError(f"{source}: the lab's columns, but no rows: there are no trips to train on")
    for column, kind in TRIP_COLUMNS.items():
        values = trips[column].dropna()
        if kind == "number":
            ok = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        elif kind == "boolean":
            ok = pd.api.types.is_bool_dtype(values) or values.isin([0, 1]).all()
        else:
            ok = not pd.api.types.is_numeric_dtype(values) or values.empty
        if not ok:
            # The type is enough to look for the culprit: a number column read as text holds some text.
            found = f"is of type {trips[column].dtype}" if len(values) else "has no values at all"
            raise LabDataError(f"{source}: column {column} should hold {kind} values, but {found}")
    if trips["totalAmount"].isna().all():
        raise LabDataError(f"{source}: column totalAmount (the label) has no values, so there is nothing to learn")
    return trips


def check_hyperparameters(elastic_net_param, reg_param, max_iter):
    """Reject values Spark ML's LinearRegression would reject, naming the parameter."""
    for name, value in [("elastic_net_param", elastic_net_param), ("reg_param", reg_param)]:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ValueError(f"{name} must be a number, not {value!r}")
    if not 0 <= elastic_net_param <= 1:
        raise ValueError(f"elastic_net_param must be between 0 (L2) and 1 (L1), not {elastic_net_param}")
    if reg_param < 0:
        raise ValueError(f"reg_param must be 0 or more, not {reg_param}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a whole number of at least 1, not {max_iter!r}")


def spark_like_penalty(elastic_net_param, reg_param, label_std):
    """`(alpha, l1_ratio)` for scikit-learn's ElasticNet that penalize as Spark ML's LinearRegression does.

    scikit-learn minimizes  1/(2n) |y - Xw|^2 + alpha * l1_ratio * |w|_1 + alpha * (1 - l1_ratio) / 2 * |w|^2.
    Spark (with standardization, as the lab has it) fits the label divided by its standard deviation `s`,
    with regParam / s as the penalty. Written back in the label's units, that is the objective above with
        L1 strength  reg_param * elastic_net_param          (as scikit-learn has it), and
        L2 strength  reg_param * (1 - elastic_net_param) / s (weaker than scikit-learn's by the factor s).
    Spark takes `s` with n - 1 in the denominator (pandas' default). Other differences between the two
    pipelines (e.g. Spark's one-hot encoder drops a category) remain, so the match is approximate.
    """
    if reg_param <= 0:
        raise ValueError(f"reg_param must be above 0 for a penalty, not {reg_param}")
    l1_strength = reg_param * elastic_net_param
    l2_strength = reg_param * (1 - elastic_net_param) / label_std
    alpha = l1_strength + l2_strength
    return alpha, l1_strength / alpha

# COMMAND ----------

def load_trips(data_path=""):
    """The lab's trips and a sentence saying where they came from."""
    if data_path:
        trips, source = read_trips_csv(data_path), data_path
    elif running_on_databricks() and spark.catalog.tableExists(LAB_TABLE):  # noqa: F821
        trips, source = spark.table(LAB_TABLE).toPandas(), f"the {LAB_TABLE} table"  # noqa: F821
    elif (beside := lab_data_beside_notebooks()) is not None:
        trips, source = read_lab_data(beside), f"{beside} (the lab's data, checksum verified)"
    else:
        # No data/ folder beside the notebooks (an imported archive): a verified download, once.
        cache = Path(tempfile.gettempdir()) / "nyc-taxi.csv" if running_on_databricks() else LAB_DATA_CACHE
        if cache.is_file():
            trips, source = read_lab_data(cache), f"{cache} (the lab's data, downloaded earlier, checksum verified)"
        else:
            downloaded = download_lab_data(LAB_DATA_URL, cache)
            trips, source = read_trips_csv(downloaded), f"{LAB_DATA_URL} (checksum verified)"
    validate_trips(trips, source)
    return trips, source
