"""The closing table's second part: the registered models a lab execution touched, read from the REST API.

A model counts as touched when one of its versions came from one of the execution's runs (a version's
`run_id`); as runs_table.py, it asks the server's REST API rather than importing the MLflow client. A model the
notebook deleted at its end (the Managing Models notebooks' `keep_model` = `no`) is gone from the server, so
it is not listed.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from ..text import format_table


@dataclass
class RegisteredModel:
    name: str
    latest_version: str  # the highest version number the model has now, "" if it has none
    aliases: dict[str, str]  # alias -> version


def _get(tracking_uri: str, endpoint: str, query: dict, timeout: float = 30) -> dict:
    url = f"{tracking_uri.rstrip('/')}/api/2.0/mlflow/{endpoint}?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def _versions(tracking_uri: str, filter_string: str) -> list[dict]:
    """Every model version the filter matches (GET model-versions/search, page by page)."""
    versions, token = [], None
    while True:
        query = {"filter": filter_string, "max_results": 1000, **({"page_token": token} if token else {})}
        page = _get(tracking_uri, "model-versions/search", query)
        versions += page.get("model_versions", [])
        if not (token := page.get("next_page_token")):
            return versions


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


def models_of(tracking_uri: str, run_ids: list[str]) -> list[RegisteredModel]:
    """The registered models with a version from one of `run_ids`, in the order of their first such version."""
    names: list[str] = []
    for run_id in run_ids:
        for version in _versions(tracking_uri, f"run_id = {_quoted(run_id)}"):
            if version["name"] not in names:
                names.append(version["name"])
    models = []
    for name in names:
        numbers = [int(version["version"]) for version in _versions(tracking_uri, f"name = {_quoted(name)}")]
        model = _get(tracking_uri, "registered-models/get", {"name": name}).get("registered_model", {})
        aliases = {alias["alias"]: alias["version"] for alias in model.get("aliases", [])}
        models.append(RegisteredModel(name, str(max(numbers)) if numbers else "", aliases))
    return models


def format_models(models: list[RegisteredModel]) -> str:
    rows = [
        [
            model.name,
            model.latest_version or "(none)",
            ", ".join(f"{alias} -> {version}" for alias, version in sorted(model.aliases.items())) or "(none)",
        ]
        for model in models
    ]
    return format_table(["registered model", "latest version", "aliases"], rows)


def summary(tracking_uri: str, run_ids: list[str]) -> str:
    """The closing table's registry part: a heading and the table, "" if no model has a version from these runs,
    or one line saying why the registry could not be read (the runs are logged; this is not worth a traceback)."""
    try:
        models = models_of(tracking_uri, run_ids)
    except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
        return f"Registered models: not read from {tracking_uri} ({getattr(error, 'reason', None) or error})"
    return f"Registered models with versions from these runs:\n{format_models(models)}" if models else ""
