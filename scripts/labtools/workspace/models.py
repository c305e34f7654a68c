"""The lab's registered models in Unity Catalog: their names, for `deploy.py clean-up --delete-models`.

The "Managing Models" notebooks register `<catalog>.<schema>.dp090_nyc_taxi_<short user name>` (the Spark ML
notebook: the same with `_spark_ml`) when their `model_name` parameter is blank, in the session's current
catalog and schema (notebooks/includes/registry_setup.py). `deploy.py run` leaves it blank, and its job runs as
you, so these names are also those of `run`'s models. Clean-up deletes exactly these names and no other: a
model named by hand (`model_name`) is yours to delete.
"""

from __future__ import annotations

import re

# Written in both places: notebooks/includes/registry_setup.py's LAB_UC_MODEL (the notebooks import nothing from
# scripts/); tests/test_deploy_models.py compares them.
LAB_UC_MODEL = "dp090_nyc_taxi"
SPARK_ML_SUFFIX = "_spark_ml"
DEFAULT_SCHEMA = "default"  # a session's current schema when nothing sets another


def short_user_name(user_name: str) -> str:
    """The Databricks CLI's short name of a user, as registry_setup's `short_user_name` (databricks/cli
    libs/iamutil/user.go): the part before "@", lowercased, every other character than a letter or a decimal
    digit "_", runs of "_" one, none at either end."""
    local = user_name.split("@", 1)[0]
    text = "".join(c.lower()[0] if (c.isalpha() or c.isdecimal()) else "_" for c in local)
    return re.sub("_+", "_", text).strip("_")


def lab_model_names(user_name: str, catalog: str, schema: str) -> list[str]:
    """The full names of the two notebooks' default models for `user_name` in `catalog`.`schema`."""
    name = f"{catalog}.{schema}.{LAB_UC_MODEL}_{short_user_name(user_name)}"
    return [name, name + SPARK_ML_SUFFIX]
