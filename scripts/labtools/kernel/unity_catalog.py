"""A small Unity Catalog stand-in for serverless mode: catalogs, schemas, volumes, one privilege, the current user.

Serverless compute (Databricks Free Edition has nothing else) answers `spark.sql` with Unity Catalog behind it.
Locally, `spark.sql` goes to a plain Spark Connect server, which knows none of that; `LocalSpark` (spark.py) hands
the statements below to this stand-in first, and `spark.catalog.currentCatalog()` / `currentDatabase()` to
`current_catalog` / `current_schema` here. What it holds:

- catalogs: `workspace`, Free Edition's, whose schema `default` exists; and `hive_metastore`, the legacy catalog of
  an older workspace, which has no volumes. The session starts in `workspace.default`, as on Free Edition.
- schemas: those of `workspace` are the folders `/Volumes/workspace/<schema>` (volumes.py); the session's current
  one is made at start, as a workspace comes with its default schema.
- volumes: `CREATE VOLUME [IF NOT EXISTS] name [COMMENT '...']` and `DROP VOLUME [IF EXISTS] name`, with `name`
  one, two or three parts (the rest from the current catalog and schema); a volume is the folder
  `/Volumes/<catalog>/<schema>/<volume>`, so the names in a schema are unique and last as long as the folder.
- one privilege, CREATE VOLUME on the schema, which a test can withhold.
- `SELECT current_user()`, `current_catalog()`, `current_database()`, `current_schema()` (alone or several in
  one SELECT, optionally `AS name`): the stand-in's values, so a test can play two learners in one workspace.

Test-only knobs of the workspace it plays: the runner reads them once from its environment
(`kernel_config.UnityCatalogSettings.from_environ()`, a bad value is a one-line error before any kernel starts) and
hands them to each kernel in its `KernelConfig`, so `DP090_UC_USER=b@example.com run_lab.py --serverless ...` works:

| variable                 | default   | meaning                                                                |
|--------------------------|-----------|------------------------------------------------------------------------|
| DP090_UC_CURRENT_CATALOG | workspace | the session's current catalog (`hive_metastore`: an older workspace's) |
| DP090_UC_CURRENT_SCHEMA  | default   | the session's current schema                                           |
| DP090_UC_USER            | (unset)   | what `current_user()` answers; unset: what local Spark says (OS login) |
| DP090_UC_WITHHOLD        | (unset)   | privileges the user lacks, comma-separated; known: CREATE_VOLUME       |

Each rule, the error it raises (a pyspark AnalysisException with its error class and SQLSTATE, as Spark Connect
raises a server's), and where that comes from. "Unsourced" where no primary source gave the exact text: the message
is then minimal, and a test should match no more than its error class, if any.

| rule                                       | error class, SQLSTATE           | source                                |
|--------------------------------------------|---------------------------------|---------------------------------------|
| a volume in a catalog other than the two   | NO_SUCH_CATALOG_EXCEPTION, none | [1] class; text unsourced             |
| a volume in `hive_metastore`               | none                            | [2] "Volumes can only be created in   |
|                                            |                                 | Unity Catalog schemas"; the class and |
|                                            |                                 | text a workspace returns: unsourced   |
| a volume in a schema that does not exist   | SCHEMA_NOT_FOUND, 42704         | [3] word for word                     |
| CREATE VOLUME, name taken in the schema    | VOLUME_ALREADY_EXISTS, 42000    | [2] class; [4] text                   |
| CREATE VOLUME IF NOT EXISTS, name taken    | (nothing happens)               | [2]; checked before the privilege, as |
|                                            |                                 | Spark's CREATE TABLE checks existence |
|                                            |                                 | first (order unverified for volumes)  |
| CREATE VOLUME without CREATE VOLUME on the | INSUFFICIENT_PERMISSIONS, 42501 | [5] privilege; [6] text, the template |
| schema ("User does not have CREATE VOLUME  |                                 | Databricks returns for USE SCHEMA and |
| on Schema 'workspace.default'.")           |                                 | USE CATALOG                           |
| DROP VOLUME of a missing volume            | none                            | [7] "raises an error"; class and text |
|                                            |                                 | unsourced                             |
| DROP VOLUME IF EXISTS of a missing volume  | (nothing happens)               | [7]                                   |
| names are stored in lower case             | -                               | [8]                                   |
| a name with a period, space, slash or a    | none                            | [8] "not allowed" ("even with back    |
| control character, or over 255 characters  |                                 | ticks"); class and text unsourced     |

[1] Databricks SQL reference, USE CATALOG: "If the catalog does not exist, a NO_SUCH_CATALOG_EXCEPTION is thrown."
[2] Databricks SQL reference, CREATE VOLUME (docs.databricks.com/sql/language-manual/sql-ref-syntax-ddl-create-volume).
[3] Spark 4.0.1's error-conditions.json (in pyspark's jars/spark-common-utils_2.13-4.0.1.jar).
[4] A Databricks notebook's error output pasted into a public repository (found by the text "[VOLUME_ALREADY_EXISTS]").
[5] Databricks, "What are the privileges for volumes?" (docs.databricks.com/aws/en/volumes/privileges).
[6] mosaicml/llm-foundry tests/a_scripts/data_prep/test_convert_delta_to_json.py and apache/superset pull request 41945,
    both quoting "[INSUFFICIENT_PERMISSIONS] Insufficient privileges: User does not have USE ... on ... '...'.
    SQLSTATE: 42501" as Databricks returns it.
[7] Databricks SQL reference, DROP VOLUME: "If the volume cannot be found Databricks raises an error."
[8] Databricks SQL reference, Names (docs.databricks.com/sql/language-manual/sql-ref-names): the limits on all object
    names in Unity Catalog, and "Unity Catalog stores all object names as lowercase."

What it does not do: ownership (only a volume's owner may drop it), USE CATALOG / USE SCHEMA privileges, CREATE
SCHEMA, EXTERNAL volumes and LOCATION, USE CATALOG statements, `current_user()` inside a larger query (local Spark
answers it: the OS login), and tables: they still live in local Spark's own `spark_catalog`.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ..kernel_config import CATALOGS, LEGACY_CATALOG, UnityCatalogSettings
from . import volumes

# One name part: `any text` in backticks (doubled backticks inside) or a plain identifier.
_PART = r"(?:`(?:[^`]|``)+`|\w+)"
_NAME = rf"(?P<name>{_PART}(?:\s*\.\s*{_PART}){{0,2}})"
_CREATE_VOLUME = re.compile(
    rf"^\s*CREATE\s+VOLUME\s+(?P<if_not_exists>IF\s+NOT\s+EXISTS\s+)?{_NAME}(?:\s+COMMENT\s+'(?:[^'\\]|\\.)*')?\s*;?\s*$",
    re.IGNORECASE,
)
_DROP_VOLUME = re.compile(rf"^\s*DROP\s+VOLUME\s+(?P<if_exists>IF\s+EXISTS\s+)?{_NAME}\s*;?\s*$", re.IGNORECASE)
# SELECT current_user(), current_catalog() AS c, ... : only these functions, nothing else in the statement.
_FUNCTIONS = {  # function -> the column name Spark 4 gives it
    "current_user": "current_user()",
    "current_catalog": "current_catalog()",
    "current_database": "current_schema()",
    "current_schema": "current_schema()",
}
_ITEM = (
    r"(?P<function>current_user|current_catalog|current_database|current_schema)\s*\(\s*\)"
    r"(?:\s+AS\s+(?P<alias>\w+))?"
)
_SELECT_ITEM = re.compile(_ITEM, re.IGNORECASE)
_ANY_ITEM = _ITEM.replace("?P<function>", "?:").replace("?P<alias>", "?:")  # the same, without named groups
_SELECT_CURRENT = re.compile(rf"^\s*SELECT\s+{_ANY_ITEM}(?:\s*,\s*{_ANY_ITEM})*\s*;?\s*$", re.IGNORECASE)


class UnityCatalog:
    """The stand-in: `statement(query)` carries out a statement it knows, `select_current(query)` answers one."""

    def __init__(self, settings: UnityCatalogSettings, root: Path = volumes.VOLUMES):
        self.settings = settings
        self.root = Path(root)

    def make_current_schema(self) -> None:
        """The session's current schema exists, as a workspace's default one does (a Unity Catalog one only)."""
        if self.settings.current_catalog != LEGACY_CATALOG:
            volumes.make_schema(self.settings.current_catalog, self.settings.current_schema, self.root)

    def statement(self, query: str) -> bool:
        """Carry out `query` if it is a CREATE VOLUME or DROP VOLUME statement, and say whether it was one."""
        if match := _CREATE_VOLUME.match(query):
            self._create_volume(self._resolve(match["name"]), bool(match["if_not_exists"]))
        elif match := _DROP_VOLUME.match(query):
            self._drop_volume(self._resolve(match["name"]), bool(match["if_exists"]))
        else:
            return False
        return True

    def select_current(self, query: str) -> str | None:
        """`query` with the stand-in's values in place of current_user() & co., if it selects only those, else None.

        The result is still a query for the Spark server (`SELECT 'a@b.c' AS `current_user()``), so the notebook
        gets a real DataFrame with the columns Spark would name.
        """
        if not _SELECT_CURRENT.match(query):
            return None
        values = {
            "current_user": self.settings.user,
            "current_catalog": self.settings.current_catalog,
            "current_database": self.settings.current_schema,
            "current_schema": self.settings.current_schema,
        }
        items = []
        for item in _SELECT_ITEM.finditer(query):
            function = item["function"].lower()
            value = values[function]
            expression = f"'{value.replace(chr(39), chr(39) * 2)}'" if value is not None else f"{function}()"
            items.append(f"{expression} AS `{item['alias'] or _FUNCTIONS[function]}`")
        return "SELECT " + ", ".join(items)

    # -- the rules ------------------------------------------------------------------------------------------------

    def _resolve(self, name: str) -> tuple[str, str, str]:
        parts = [part.strip() for part in re.findall(_PART, name)]
        parts = [(part[1:-1].replace("``", "`") if part.startswith("`") else part).lower() for part in parts]
        for part in parts:
            if len(part) > 255 or any(c in "./ " or ord(c) < 0x20 or ord(c) == 0x7F for c in part):
                raise _analysis_error(
                    f"Invalid name {part!r}: names in Unity Catalog cannot contain a period, a "
                    "space, a forward slash or a control character, nor exceed 255 characters."
                )
        current = (self.settings.current_catalog, self.settings.current_schema)
        return (*current[: 3 - len(parts)], *parts)  # schema.volume: the current catalog's; volume: the schema's

    def _schema_folder(self, catalog: str, schema: str) -> Path:
        if catalog not in CATALOGS:
            raise no_such_catalog(catalog)
        if catalog == LEGACY_CATALOG:
            raise no_volumes_in_hive_metastore(catalog, schema)
        folder = self.root / catalog / schema
        if not folder.is_dir():
            raise schema_not_found(f"`{catalog}`.`{schema}`")
        return folder

    def _create_volume(self, name: tuple[str, str, str], if_not_exists: bool) -> None:
        catalog, schema, volume = name
        folder = self._schema_folder(catalog, schema) / volume
        if folder.is_dir():
            if if_not_exists:
                return
            raise volume_already_exists(name)
        if "CREATE_VOLUME" in self.settings.withheld:
            raise insufficient_permissions("CREATE VOLUME", "Schema", f"{catalog}.{schema}")
        folder.mkdir()

    def _drop_volume(self, name: tuple[str, str, str], if_exists: bool) -> None:
        catalog, schema, volume = name
        folder = self._schema_folder(catalog, schema) / volume
        if not folder.is_dir():
            if if_exists:
                return
            raise _analysis_error(f"The volume {_quoted(name)} cannot be found.")
        shutil.rmtree(folder)  # a managed volume's files go with it


# -- the errors, as Spark Connect raises a server's AnalysisException ---------------------------------------------


def _quoted(parts) -> str:
    return ".".join(f"`{part}`" for part in parts)


def _analysis_error(text: str, error_class: str | None = None, sql_state: str | None = None) -> Exception:
    from pyspark.errors.exceptions.connect import AnalysisException

    message = (f"[{error_class}] " if error_class else "") + text + (f" SQLSTATE: {sql_state}" if sql_state else "")
    return AnalysisException(message=message, errorClass=error_class, sql_state=sql_state)


def schema_not_found(name: str) -> Exception:
    """Spark's own SCHEMA_NOT_FOUND error (its text from Spark 4.0's error-conditions.json)."""
    return _analysis_error(
        f"The schema {name} cannot be found. Verify the spelling and correctness of the schema and catalog. If you "
        "did not qualify the name with a catalog, verify the current_schema() output, or qualify the name with the "
        "correct catalog. To tolerate the error on drop use DROP SCHEMA IF EXISTS.",
        "SCHEMA_NOT_FOUND",
        "42704",
    )


def no_such_catalog(catalog: str) -> Exception:
    return _analysis_error(f"The catalog `{catalog}` was not found.", "NO_SUCH_CATALOG_EXCEPTION")


def no_volumes_in_hive_metastore(catalog: str, schema: str) -> Exception:
    return _analysis_error(
        f"Volumes can only be created in Unity Catalog schemas; {_quoted((catalog, schema))} is in "
        "the legacy Hive metastore."
    )


def volume_already_exists(name: tuple[str, str, str]) -> Exception:
    return _analysis_error(
        f"Cannot create volume {_quoted(name)} because it already exists.\nChoose a different name, drop or replace "
        "the existing object, or add the IF NOT EXISTS clause to tolerate pre-existing objects.",
        "VOLUME_ALREADY_EXISTS",
        "42000",
    )


def insufficient_permissions(privilege: str, kind: str, securable: str) -> Exception:
    return _analysis_error(
        f"Insufficient privileges: User does not have {privilege} on {kind} '{securable}'.",
        "INSUFFICIENT_PERMISSIONS",
        "42501",
    )


class CatalogView:
    """`spark.catalog` whose currentCatalog() and currentDatabase() are the stand-in's; the rest is local Spark's."""

    def __init__(self, catalog, unity_catalog: UnityCatalog):
        self._catalog = catalog
        self._settings = unity_catalog.settings

    def __getattr__(self, name: str):
        return getattr(self._catalog, name)

    def currentCatalog(self) -> str:  # noqa: N802 (pyspark's name)
        return self._settings.current_catalog

    def currentDatabase(self) -> str:  # noqa: N802 (pyspark's name)
        return self._settings.current_schema
