# Databricks notebook source
# MAGIC %md
# MAGIC # Lab setup for the model registry notebooks
# MAGIC
# MAGIC The "Managing Models" notebooks run this one with `%run ./includes/registry_setup`, after the lab's setup
# MAGIC notebook (`./setup` or `./spark_setup`). It defines the names the lesson does not need to show:
# MAGIC
# MAGIC - `short_user_name(user_name)`: your user name as the Databricks CLI shortens it (`first.last@example.com`
# MAGIC   becomes `first_last`), so that each learner's model has a name of its own;
# MAGIC - `default_model_name(catalog, schema)`: the registered model's name when the `model_name` parameter is
# MAGIC   blank: on Databricks, the Unity Catalog name `<catalog>.<schema>.dp090_nyc_taxi_<short user name>` (a blank
# MAGIC   catalog or schema is the session's current one: `workspace.default` on Free Edition); elsewhere
# MAGIC   `dp090-nyc-taxi`, a name in the tracking server's own registry (the Spark ML notebook's model: the same
# MAGIC   name with `_spark_ml` or `-spark-ml` added);
# MAGIC - `default_registry_experiment_name()`: the experiment of this lab's runs when `experiment_name` is blank;
# MAGIC - `lab_registry_uri()`: the registry the lab uses: Unity Catalog (`databricks-uc`) in a workspace, else the
# MAGIC   tracking server's own registry;
# MAGIC - `registry_description()`: which model registry this notebook uses, in a few words.

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
