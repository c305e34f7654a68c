"""The Spark ML notebook's volume for model files (notebooks/includes/spark_setup.py): its default name, one per
user, and the one line that ends the Parameters cell when the volume cannot be created.

The functions are run as the include defines them (conftest's notebook_namespace); what the notebook does with a
real session is run_lab.py --serverless's (test_serverless.py).
"""

from __future__ import annotations

import pytest
from conftest import PROJECT, notebook_namespace

pytest.importorskip("pyspark")  # the include imports pyspark's API


@pytest.fixture(scope="module")
def spark_setup() -> dict:
    return notebook_namespace(PROJECT / "notebooks" / "includes" / "spark_setup.py", root=PROJECT)


# The CLI's own examples (databricks/cli libs/iamutil/user_test.go), and two more.
@pytest.mark.parametrize(
    ("user", "short"),
    [
        ("first.last@example.com", "first_last"),
        ("test.user.1234@example.com", "test_user_1234"),
        ("first+tag@email.com", "first_tag"),
        ("tést.üser@example.com", "tést_üser"),
        ('"_quoted"@domain.com', "quoted"),
        ("name-o'mally@website.org", "name_o_mally"),
        ("John.Doe@COMPANY.COM", "john_doe"),
        ("ada@example.com", "ada"),
        # A service principal's current_user() is its application id (the CLI uses its display name, if any).
        ("1706906c-c0a2-4c25-9f57-3a7aa3cb8123", "1706906c_c0a2_4c25_9f57_3a7aa3cb8123"),
    ],
)
def test_the_short_name_is_the_clis(spark_setup, user, short):
    assert spark_setup["user_short_name"](user) == short


def test_the_default_volume_is_the_users_own(spark_setup):
    short_name = spark_setup["user_short_name"]("ada@example.com")
    assert spark_setup["LAB_VOLUME_PREFIX"] + short_name == "dp090_mlflow_lab_ada"


def test_a_volume_that_cannot_be_created_ends_with_one_line_naming_the_parameter(spark_setup):
    from labtools.kernel import unity_catalog

    error = unity_catalog.schema_not_found("`hive_metastore`.`default`")  # the local stand-in's real Spark error
    line = spark_setup["volume_error_line"]("hive_metastore.default.dp090_mlflow_lab_ada", error, default=True)
    assert "\n" not in line
    assert line.startswith(
        "volume: cannot create hive_metastore.default.dp090_mlflow_lab_ada, the default in "
        "your current catalog and schema ([SCHEMA_NOT_FOUND] The schema "
        "`hive_metastore`.`default` cannot be found."
    )
    assert line.endswith(
        "; set the notebook's volume parameter to a catalog.schema.volume you may write, "
        "e.g. workspace.default.dp090_mlflow_lab_ada"
    )


def test_the_error_line_keeps_the_services_first_line_only(spark_setup):
    # A Java error through py4j (a classic cluster) starts with a line about the call, then the service's (its
    # wording here is illustrative: the line is kept as it is, whatever it says).
    error = RuntimeError(
        "An error occurred while calling o71.sql.\n: [PERMISSION_DENIED] User does not have "
        "CREATE VOLUME on Schema 'main.default'. SQLSTATE: 42501\n\tat com.databricks..."
    )
    line = spark_setup["volume_error_line"]("main.default.models", error)
    assert line == (
        "volume: cannot create main.default.models ([PERMISSION_DENIED] User does not have CREATE VOLUME "
        "on Schema 'main.default'. SQLSTATE: 42501); set the notebook's volume parameter to a "
        "catalog.schema.volume you may write, e.g. workspace.default.models"
    )


@pytest.mark.parametrize("value", ["workspace.default", "workspace..lab", "a.b.c.d", "workspace.default. "])
def test_a_malformed_volume_parameter_is_refused_before_any_sql(spark_setup, value):
    with pytest.raises(spark_setup["LabVolumeError"]) as raised:
        spark_setup["volume_parts"](value)
    assert str(raised.value) == (
        f"volume {value!r}: expected catalog.schema.volume, e.g. workspace.default.dp090_mlflow_lab_<your short name>"
    )


def test_a_well_formed_volume_parameter_is_split(spark_setup):
    assert spark_setup["volume_parts"]("workspace.default.models") == ["workspace", "default", "models"]
