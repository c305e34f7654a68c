# Databricks notebook source
# MAGIC %md
# MAGIC # Spark ML ノートブックのラボのセットアップ
# MAGIC
# MAGIC > **注:** このノートブックのコード セルは英語版と同じです。そのため、セルの出力とウィジェットのラベルは英語で表示されます。
# MAGIC
# MAGIC ラボの Spark ML 版は、`%run ./includes/spark_setup` でこのノートブックを実行します。このノートブックは、まずラボのセットアップ ノートブック (`./setup`。`TRIP_COLUMNS`、`LabDataError`、`load_trips()`、`check_hyperparameters()` などのヘルパーを定義します) を実行し、続いて次のものを定義します。
# MAGIC
# MAGIC - `load_spark_trips(data_path)`: NYC タクシーの乗車データを Spark DataFrame として読み込みます。指定した CSV ファイル (ボリューム、DBFS、またはワークスペース ファイルのパス) から読み込み、ファイルを指定しない場合はコースの最初のラボで作成する `nyc_taxi` テーブルを使用し、テーブルもなければ、`load_trips()` が scikit-learn 版のノートブックのために見つけるのと同じ方法でラボのデータ ファイルを使用します。
# MAGIC - `validate_spark_trips(trips, source)`: DataFrame の Spark スキーマと照らし合わせ、欠けている列や型が正しくない列があれば、その列の名前を示すエラーで停止します。
# MAGIC - `cache_if_supported(df)`: コンピューティングが許す場合は `df.cache()`、それ以外は `df` をそのまま返します (サーバーレス コンピューティングは、環境バージョン 5 より前ではキャッシュを拒否します)。
# MAGIC - `spark_model_volume(volume)`: サーバーレス コンピューティングと標準アクセス モードで `mlflow.spark` がモデルのファイルに必要とする Unity Catalog ボリュームのフォルダー (なければ作成します。空欄の場合は、現在のカタログとスキーマにある自分用のボリューム)。ほかのコンピューティングでは None を返します。
# MAGIC - `spark_model_requirements()`: ログに記録した Spark ML のモデルに必要な、バージョンを固定したパッケージを返します。
# MAGIC - `spark_share_predicted_high_on_cheap_rides(predictions, label_column)`: セットアップ ノートブックの `share_predicted_high_on_cheap_rides` の Spark 版で、データのある場所で計算します。

# COMMAND ----------

# MAGIC %run ./setup

# COMMAND ----------

import logging
import re
import warnings

from pyspark.sql import functions as F  # noqa: N812 (PySpark's usual names)
from pyspark.sql import types as T  # noqa: N812

# infer_signature warns ("Hint: Inferred schema contains integer column(s)") that integer columns cannot hold
# missing values. day_of_week, month_num and isPaidTimeOff are whole numbers on purpose: StringIndexer indexes
# a value's text, and "4.0" is not "4". Silence that hint.
warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column", category=UserWarning)
# mlflow.spark logs at INFO level where it copies a model from and to (URI ... does not point to the current
# DFS, ... not found on DFS, will attempt to upload); keep its warnings only.
logging.getLogger("mlflow.spark").setLevel(logging.WARNING)

# The Spark types that hold each kind of value in TRIP_COLUMNS (setup).
SPARK_KINDS = {
    "number": (T.NumericType,),
    "text": (T.StringType,),
    "boolean": (T.BooleanType, T.NumericType),  # a number column passes if it holds only 0 and 1
}


def spark_path(path):
    """The path as Spark reads it: DBFS and workspace files as a cluster's local paths name them."""
    if path.startswith("/dbfs/"):
        return "dbfs:/" + path[len("/dbfs/") :]
    if path.startswith("/Workspace/"):
        return "file:" + path  # workspace files are files of the driver, not of DBFS
    return path  # dbfs:/..., /Volumes/..., cloud storage URLs; locally, a file of this machine


def first_line(error):
    """The first informative line of an error's message; a Java error's starts with "An error occurred"."""
    lines = [line.strip(": \t") for line in str(error).splitlines() if line.strip(": \t")]
    useful = [line for line in lines if not line.startswith("An error occurred while calling")]
    return (useful or lines or [type(error).__name__])[0]


def read_spark_trips_csv(path):
    try:
        # inferSchema reads the file twice, once to find each column's type; on data much larger than
        # the lab's, pass a schema instead (spark.read.csv(path, header=True, schema="passengerCount DOUBLE, ...")).
        trips = spark.read.csv(spark_path(path), header=True, inferSchema=True)  # noqa: F821 (defined by Databricks)
    except Exception as error:  # e.g. [PATH_NOT_FOUND], or no file system for the path's scheme
        raise LabDataError(f"{path}: could not read it ({first_line(error)}). Check the data_path parameter.") from None
    if not trips.columns:
        raise LabDataError(f"{path}: the file is empty. Pass the lab's nyc-taxi.csv as data_path.")
    return trips


def validate_spark_trips(trips, source):
    """Stop before training if a column the lab needs is missing or holds the wrong kind of values."""
    missing = [column for column in TRIP_COLUMNS if column not in trips.columns]
    if missing:
        raise LabDataError(f"{source}: missing column(s) {', '.join(missing)}; the lab needs {list(TRIP_COLUMNS)}")
    if trips.limit(1).count() == 0:
        raise LabDataError(f"{source}: the lab's columns, but no rows: there are no trips to train on")
    types = {field.name: field.dataType for field in trips.schema.fields}
    for column, kind in TRIP_COLUMNS.items():
        if isinstance(types[column], SPARK_KINDS[kind]):
            if kind == "boolean" and isinstance(types[column], T.NumericType):
                wrong = trips.filter(~F.col(column).isin(0, 1))  # nulls pass, as in setup
            else:
                continue
        elif kind == "number":
            # A CSV column of numbers with one "abc" is read as text: the culprits are the values that are not numbers.
            # try_cast: a plain cast fails on "abc" under ANSI SQL (Spark 4), where try_cast gives null.
            wrong = trips.filter(F.col(column).isNotNull() & F.expr(f"try_cast(`{column}` AS DOUBLE)").isNull())
        else:
            # A column without any value has no type to check (a CSV reader calls it text), as in setup.
            wrong = trips.filter(F.col(column).isNotNull())
        culprits = wrong.select(column).limit(1).collect()
        if not culprits and kind == "number":  # each value reads as a number, but the column is text (quoted)
            wrong = trips.filter(F.col(column).isNotNull())
            culprits = wrong.select(column).limit(1).collect()
        if culprits:
            count = wrong.count()
            more = f" (and {count - 1:,} more rows like it)" if count > 1 else ""
            raise LabDataError(f"{source}: column {column} should hold {kind} values, but is of type "
                               f"{types[column].simpleString()} and holds {culprits[0][0]!r}{more}")
    if trips.filter(F.col("totalAmount").isNotNull()).limit(1).count() == 0:
        raise LabDataError(f"{source}: column totalAmount (the label) has no values, so there is nothing to learn")
    return trips


def cache_if_supported(df):
    """`df.cache()`, or `df` itself where the compute refuses caching (serverless, before environment 5).

    Caching only saves time: the lab's results are the same either way. Serverless compute says no with the
    error class NOT_SUPPORTED_WITH_SERVERLESS (environment 4), or CACHE_REQUIRES_NEWER_CLIENT_ON_SERVERLESS_GC
    (a newer environment with an older client); any other error is a real one and is raised.
    """
    try:
        return df.cache()
    except Exception as error:
        if "NOT_SUPPORTED_WITH_SERVERLESS" in str(error) or "CACHE_REQUIRES_NEWER_CLIENT" in str(error):
            return df
        raise


# The volume for Spark ML model files when the volume parameter is blank: this prefix and the user's short name,
# in the session's current catalog and schema (on Databricks Free Edition, catalog `workspace`, schema
# `default`). One per user, so that two users of a workspace never share or drop each other's volume.
LAB_VOLUME_PREFIX = "dp090_mlflow_lab_"


class LabVolumeError(ValueError):
    """The volume parameter names no volume this notebook can create or use."""


def user_short_name(user_name):
    """`ada_lovelace` for `Ada.Lovelace@example.com`: the user's short name as the Databricks CLI computes
    `${workspace.current_user.short_name}` for a bundle (databricks/cli libs/iamutil/user.go and
    libs/textutil/textutil.go): the part before the @, lowercased, each run of characters other than letters
    and digits made one `_`, none at either end. So the notebook's default volume and a bundle's agree."""
    local = user_name.split("@", 1)[0]
    # lower()[0]: a letter whose lowercase is two characters (İ) keeps one, as Go's unicode.ToLower does.
    kept = "".join(c.lower()[0] if c.isalpha() or c.isdecimal() else "_" for c in local)
    return re.sub("_+", "_", kept).strip("_")


def volume_parts(volume):
    """`[catalog, schema, volume]` of the volume parameter's `catalog.schema.volume`, checked before any SQL."""
    parts = volume.split(".")
    if len(parts) != 3 or not all(part.strip() for part in parts):
        raise LabVolumeError(f"volume {volume!r}: expected catalog.schema.volume, e.g. "
                             f"workspace.default.{LAB_VOLUME_PREFIX}<your short name>")
    return parts


def volume_error_line(volume, error, default=False):
    """The one line that ends the Parameters cell when `CREATE VOLUME` fails: the volume, the service's own
    first line (the catalog is hive_metastore, which has no volumes; no CREATE VOLUME privilege; no such
    schema), and the parameter to set instead."""
    what = f"{volume}, the default in your current catalog and schema" if default else volume
    return (f"volume: cannot create {what} ({first_line(error)}); set the notebook's volume parameter to a "
            f"catalog.schema.volume you may write, e.g. workspace.default.{volume.split('.')[-1]}")


def spark_model_volume(volume=""):
    """The folder that `mlflow.spark` stages model files in, as its `dfs_tmpdir`; None where it needs none.

    On serverless compute and standard access mode, mlflow.spark saves and loads a Spark ML model through a
    Unity Catalog volume (`/Volumes/<catalog>/<schema>/<volume>`); elsewhere it uses the cluster's own
    storage. `volume` is `catalog.schema.volume`, or blank for LAB_VOLUME_PREFIX and your short name in the
    current catalog and schema. A volume that cannot be created stops the notebook with one line saying so.
    """
    if not (running_on_databricks() and spark_connect_mode()):
        return None
    default = not volume
    if default:
        user = spark.sql("SELECT current_user()").first()[0]  # noqa: F821 (defined by Databricks)
        catalog, schema = spark.catalog.currentCatalog(), spark.catalog.currentDatabase()  # noqa: F821
        volume = f"{catalog}.{schema}.{LAB_VOLUME_PREFIX}{user_short_name(user)}"
    parts = volume_parts(volume)
    try:
        spark.sql(f"CREATE VOLUME IF NOT EXISTS {'.'.join(f'`{part}`' for part in parts)}")  # noqa: F821
    except Exception as error:  # whatever the service raises: its first line says why
        raise LabVolumeError(volume_error_line(volume, error, default)) from None
    return "/Volumes/" + "/".join(parts) + "/mlflow-tmp"


def load_spark_trips(data_path=""):
    """The lab's trips as a Spark DataFrame, and a sentence saying where they came from."""
    if data_path:
        trips, source = read_spark_trips_csv(data_path), data_path
    elif spark.catalog.tableExists(LAB_TABLE):  # noqa: F821
        trips, source = spark.table(LAB_TABLE), f"the {LAB_TABLE} table"  # noqa: F821
    else:
        # The lab's CSV file as the scikit-learn notebook finds it (beside the notebooks, or downloaded and
        # checked, or a copy downloaded earlier), read by pandas and handed to Spark.
        pandas_trips, source = load_trips("")
        pandas_trips = pandas_trips.copy()
        # pandas reads the holiday name "None" (no holiday) as missing; Spark's CSV reader and the course's
        # table keep it as the text "None".
        pandas_trips["normalizeHolidayName"] = pandas_trips["normalizeHolidayName"].fillna("None")
        trips = spark.createDataFrame(pandas_trips)  # noqa: F821
    validate_spark_trips(trips, source)
    return trips, source


def spark_model_requirements():
    """A Spark ML model's pip requirements: pyspark at the cluster's version (found the way MLflow finds it), and
    the libraries MLflow loads it with, at their installed versions. Passing them saves MLflow a few seconds per
    run that it would otherwise spend working them out."""
    import mlflow.spark

    return mlflow.spark.get_default_pip_requirements() + pinned_requirements(["mlflow", "pandas", "numpy"])


def spark_share_predicted_high_on_cheap_rides(predictions, label_column):
    """The share of the cheapest quarter of rides (by actual fare) whose predicted fare is above the actual one.

    The Spark version of the setup notebook's `share_predicted_high_on_cheap_rides`: `predictions` is a
    DataFrame with the label and a `prediction` column. Spark computes the quartile (approxQuantile with a
    relative error of 0, so exact) and the share (the average of a true/false column cast to 0 and 1) where
    the data is.
    """
    cheap_fare = predictions.approxQuantile(label_column, [0.25], 0.0)[0]
    cheap = predictions.filter(F.col(label_column) <= cheap_fare)
    predicted_high = (F.col("prediction") > F.col(label_column)).cast("double")
    return cheap.select(F.avg(predicted_high)).first()[0]
