"""The lab's registered models in Unity Catalog: the one place their names are made.

The "Managing Models" notebooks register `<catalog>.<schema>.dp090_nyc_taxi_<short user name>` (the Spark ML
notebook: the same with `_spark_ml`) when their `model_name` parameter is blank, in the session's current
catalog and schema (notebooks/includes/registry_setup.py). A deployment that runs them where another deployment
may run them at the same time passes a name of its own, the default with a suffix, so that two runs never move
the aliases of one model: `_ja` for the Japanese notebooks (whose code cells, and so whose default, are the
English ones), `_matrix_<runtime>` for a runtime of the matrix (`_matrix_15_4`). `lab_model_name` makes each
name; `lab_model_names` lists every one a deployment can create, which `deploy.py clean-up --delete-models`
deletes, and no other: a model named by hand (`model_name`) is yours to delete.

`deploy.py run` (the matrix), the bundle's tests (tests/bundle_check.py) and the help read these; the bundle
spells the same names in YAML, and tests/bundle_check.py holds it to them.
"""

from __future__ import annotations

import re

from .. import lab

# Written in both places: notebooks/includes/registry_setup.py's LAB_UC_MODEL (the notebooks import nothing from
# scripts/); tests/test_deploy_models.py compares them.
LAB_UC_MODEL = "dp090_nyc_taxi"
SPARK_ML_SUFFIX = "_spark_ml"
MATRIX_SUFFIX = "_matrix_"
DEFAULT_SCHEMA = "default"  # a session's current schema when nothing sets another


def short_user_name(user_name: str) -> str:
    """The Databricks CLI's short name of a user, as registry_setup's `short_user_name` (databricks/cli
    libs/iamutil/user.go): the part before "@", lowercased, every other character than a letter or a decimal
    digit "_", runs of "_" one, none at either end."""
    local = user_name.split("@", 1)[0]
    text = "".join(c.lower()[0] if (c.isalpha() or c.isdecimal()) else "_" for c in local)
    return re.sub("_+", "_", text).strip("_")


def runtime_suffix(runtime: str) -> str:
    """`_matrix_15_4` for the runtime 15.4: a Unity Catalog name has no period (spec.UC_NAME_REFUSED)."""
    return MATRIX_SUFFIX + runtime.replace(".", "_")


def lab_model_name(
    user_name: str, catalog: str, schema: str, spark_ml: bool, runtime: str | None = None, lang: str | None = None
) -> str:
    """The full name of the model a deployed Managing Models notebook registers for `user_name`.

    `spark_ml`: the Spark ML notebook's; `lang` a translation's (None or "en": the English notebook's);
    `runtime` one of lab.LTS_ML_RUNTIMES for a task of the runtime matrix. With neither, the notebook's own
    default (registry_setup's default_model_name) in `catalog`.`schema`."""
    if lang not in (None, lab.SOURCE_LANGUAGE, *lab.TRANSLATIONS):
        raise ValueError(f"no notebooks in {lang!r}; the languages are {', '.join(lab.LANGUAGES)}")
    if runtime is not None and runtime not in lab.LTS_ML_RUNTIMES:
        raise ValueError(f"{runtime!r} is not one of the lab's runtimes {', '.join(lab.LTS_ML_RUNTIMES)}")
    name = f"{catalog}.{schema}.{LAB_UC_MODEL}_{short_user_name(user_name)}"
    name += SPARK_ML_SUFFIX if spark_ml else ""
    name += f"_{lang}" if lang and lang != lab.SOURCE_LANGUAGE else ""
    return name + (runtime_suffix(runtime) if runtime else "")


def lab_model_names(user_name: str, catalog: str, schema: str) -> list[str]:
    """Every model a deployment of the lab can register for `user_name` in `catalog`.`schema`: for each engine,
    the notebook's default, each translation's, and each runtime's of the matrix."""
    names = []
    for spark_ml in (False, True):
        names += [lab_model_name(user_name, catalog, schema, spark_ml, lang=lang) for lang in lab.LANGUAGES]
        names += [
            lab_model_name(user_name, catalog, schema, spark_ml, runtime=runtime) for runtime in lab.LTS_ML_RUNTIMES
        ]
    return names
