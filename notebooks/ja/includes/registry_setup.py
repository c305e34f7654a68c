# Databricks notebook source
# MAGIC %md
# MAGIC # モデル レジストリのノートブック用のラボのセットアップ
# MAGIC
# MAGIC > **注:** このノートブックのコード セルは英語版と同じです。そのため、セルの出力とウィジェットのラベルは英語で表示されます。
# MAGIC
# MAGIC 「Managing Models」のノートブックは、ラボのセットアップ ノートブック (`./setup` または `./spark_setup`) の後に、`%run ./includes/registry_setup` でこのノートブックを実行します。このノートブックは、レッスンで見せる必要のない名前を定義します。
# MAGIC
# MAGIC - `short_user_name(user_name)`: Databricks CLI が短縮するのと同じように短縮したユーザー名です (`first.last@example.com` は `first_last` になります)。これにより、受講者ごとのモデルが独自の名前を持ちます。
# MAGIC - `default_model_name(catalog, schema)`: `model_name` パラメーターが空白のときの登録済みモデルの名前です。Databricks では Unity Catalog の名前 `<catalog>.<schema>.dp090_nyc_taxi_<short user name>` (空白のカタログやスキーマはセッションの現在のもの。Free Edition では `workspace.default`)、それ以外では追跡サーバー自身のレジストリの名前 `dp090-nyc-taxi` です (Spark ML のノートブックのモデルは、同じ名前に `_spark_ml` または `-spark-ml` を付けたもの)。
# MAGIC - `default_registry_experiment_name()`: `experiment_name` が空白のときの、このラボの実行の実験です。
# MAGIC - `lab_registry_uri()`: ラボが使うレジストリです。ワークスペースでは Unity Catalog (`databricks-uc`)、それ以外では追跡サーバー自身のレジストリです。
# MAGIC - `registry_description()`: このノートブックが使うモデル レジストリを短く説明します。

# COMMAND ----------

import re

LAB_MODEL = "dp090-nyc-taxi"
# Unity Catalog names: letters, digits and underscores keep the name usable in SQL without quotes.
LAB_UC_MODEL = "dp090_nyc_taxi"
LAB_REGISTRY_EXPERIMENT = "dp090-managing-models"


def short_user_name(user_name):
    """The Databricks CLI's short name of a user (its `${workspace.current_user.short_name}`).

    The part before "@", lowercased; every character that is not a letter or a decimal digit becomes "_";
    runs of "_" become one, and leading or trailing "_" go (databricks/cli libs/iamutil/user.go)."""
    local = user_name.split("@", 1)[0]
    text = "".join(c.lower()[0] if (c.isalpha() or c.isdecimal()) else "_" for c in local)
    return re.sub("_+", "_", text).strip("_")


def current_user_name():
    return spark.sql("SELECT current_user()").first()[0]  # noqa: F821 (defined by Databricks)


def default_model_name(catalog="", schema="", spark_ml=False):
    """The registered model's name when the `model_name` parameter is blank (see above).

    The Spark ML notebook's model has a name of its own (`..._spark_ml`, `...-spark-ml`), so that its
    versions do not mix with the scikit-learn notebook's."""
    if not running_on_databricks():  # noqa: F821 (setup)
        return f"{LAB_MODEL}-spark-ml" if spark_ml else LAB_MODEL
    if not catalog or not schema:
        current_catalog, current_schema = spark.sql("SELECT current_catalog(), current_schema()").first()  # noqa: F821
        catalog, schema = catalog or current_catalog, schema or current_schema
    name = f"{catalog}.{schema}.{LAB_UC_MODEL}_{short_user_name(current_user_name())}"
    return f"{name}_spark_ml" if spark_ml else name


def default_registry_experiment_name():
    """Where the runs go when the `experiment_name` parameter is blank."""
    if running_on_databricks():  # noqa: F821 (setup)
        return f"/Users/{current_user_name()}/{LAB_REGISTRY_EXPERIMENT}"
    return LAB_REGISTRY_EXPERIMENT


def lab_registry_uri():
    """`databricks-uc` where MLflow tracks to a Databricks workspace, else the tracking server's own registry.

    MLflow 3 makes `databricks-uc` the default registry of the tracking URI "databricks"; MLflow 2 (ML runtimes
    15.4 and 16.4) keeps the workspace registry, so the lab names Unity Catalog itself. Elsewhere the registry is
    named too: MLflow 3 takes any compute that calls itself serverless (DATABRICKS_RUNTIME_VERSION "client.*")
    for Databricks', and would pick Unity Catalog even for a tracking server of your own (an http(s) URI)."""
    import mlflow

    tracking_uri = mlflow.get_tracking_uri()
    if running_on_databricks() and not tracking_uri.startswith(("http://", "https://")):  # noqa: F821 (setup)
        return "databricks-uc"
    return tracking_uri


def registry_description():
    """Which model registry MLflow uses now, in a few words."""
    import mlflow

    uri = mlflow.get_registry_uri()
    if uri == "databricks-uc" or uri.startswith("databricks-uc:"):
        return "Unity Catalog (registry URI databricks-uc)"
    if uri.startswith("databricks"):
        return f"the workspace model registry (registry URI {uri})"
    return f"the tracking server's model registry at {uri}"
