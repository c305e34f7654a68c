"""What a workspace's REST API accepts and answers, read from the Databricks SDK's own source.

No Databricks workspace is reachable from here, so tests/workspace_stub.py stands in for one. To keep
the stand-in from accepting what a workspace would reject, each endpoint it serves is described by
the SDK method that calls it (`databricks.sdk.service.*`), and this module reads from that method:

- the HTTP verb and path template (`self._api.do("GET", f"/api/2.0/.../{id}", ...)`);
- where the parameters go: the query string (GET) or a JSON body (POST), never both;
- each parameter's wire name (`query["startIndex"] = start_index`) and type (the signature's
  annotations: enums, dataclasses, lists of them), and which are required (no default);
- the response type (`return Run.from_dict(res)`, `yield User.from_dict(v)` from `json["Resources"]`).

A dataclass value is checked field by field as its `from_dict` reads it (wire names such as
`userName`, nested dataclasses, enums): an unknown key, a missing required field (a dataclass field
without a default, e.g. `SubmitTask.task_key`, `NotebookTask.notebook_path`) or a value of the wrong
type is a problem. `from_dict` itself ignores all three, which is why it is not enough on its own.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import typing
from dataclasses import dataclass
from functools import cache

_DO = re.compile(r'self\._api\.do\(\s*"(?P<verb>[A-Z]+)",\s*f?"(?P<path>[^"]+)"(?P<rest>[^)]*)\)')
_ASSIGN = re.compile(r'if (?P<param>\w+) is not None:\s*\n\s*(?P<where>query|body)\["(?P<key>[^"]+)"\]\s*=')
_RETURNS = re.compile(r"(?:return |yield |response=)(?P<type>\w+)\.from_dict\((?P<arg>\w+)\)")
_ITEMS = re.compile(r'for v in json\["(?P<key>\w+)"\]')
_FROM_DICT_FIELD = re.compile(r'(?P<field>\w+)=(?:d\.get\(|_\w+\(d,\s*)"(?P<key>[^"]+)"')


@dataclass(frozen=True)
class Endpoint:
    """One REST endpoint as an SDK method calls it."""

    method: typing.Callable
    verb: str
    template: str
    pattern: re.Pattern
    parameters_in: str  # "query", "body" or "" (none)
    fields: dict  # wire name -> (parameter name, type)
    required: frozenset  # wire names (path parameters included) without a default
    response: type | None
    items_key: str | None  # for a listing: the key of the page's items, each of type `response`

    def __str__(self) -> str:
        return f"{self.verb} {self.template}"


def endpoint(method: typing.Callable) -> Endpoint:
    source = inspect.getsource(method)
    match = _DO.search(source)
    assert match, f"{method.__qualname__}: no self._api.do(...) call found in the SDK's source"
    template = match["path"]
    path_parameters = re.findall(r"\{(\w+)\}", template)
    pattern = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")
    hints = typing.get_type_hints(method)
    signature = inspect.signature(method)
    fields, where = {}, ""
    for assignment in _ASSIGN.finditer(source):
        fields[assignment["key"]] = (assignment["param"], hints[assignment["param"]])
        where = assignment["where"]
    required = {
        name
        for name, parameter in signature.parameters.items()
        if name != "self" and parameter.default is inspect.Parameter.empty
    }
    wire = {param: key for key, (param, _) in fields.items()}
    returned = _RETURNS.search(source)
    response = getattr(inspect.getmodule(method), returned["type"]) if returned else None
    items = _ITEMS.search(source)
    return Endpoint(
        method,
        match["verb"],
        template,
        pattern,
        where,
        fields,
        frozenset(wire.get(name, name) for name in required) | frozenset(path_parameters),
        response,
        items["key"] if items else None,
    )


def problems_of_request(point: Endpoint, query: dict, body: dict | None, path_values: dict) -> tuple[str, list[str]]:
    """`(error_code, messages)` for a request the workspace would reject; `("", [])` if it fits."""
    if point.verb == "GET" and body:
        return "MALFORMED_REQUEST", [f"{point}: a GET request carries no body; its parameters go in the query string"]
    if point.verb != "GET" and query:
        return "MALFORMED_REQUEST", [f"{point}: parameters go in the JSON body, not the query string ({sorted(query)})"]
    given = dict(query if point.verb == "GET" else body or {})
    unknown = sorted(set(given) - set(point.fields))
    if unknown:
        return "INVALID_PARAMETER_VALUE", [f"Unknown field(s) {unknown}; {point} accepts {sorted(point.fields)}"]
    missing = sorted(key for key in point.required if key not in given and key not in path_values)
    if missing:
        return "INVALID_PARAMETER_VALUE", [f"Missing required field: {key}" for key in missing]
    found = []
    for key, value in given.items():
        found += problems_of_value(point.fields[key][1], value, key, in_query=point.verb == "GET")
    return ("INVALID_PARAMETER_VALUE", found) if found else ("", [])


def problems_of_response(point: Endpoint, answer: dict) -> list[str]:
    """What in the stub's answer the SDK's response type does not have (a bug of the stub)."""
    if point.response is None:
        return [] if answer == {} else [f"{point} answers nothing, but the stub sent {sorted(answer)}"]
    if point.items_key:
        return [
            problem
            for index, item in enumerate(answer.get(point.items_key) or [])
            for problem in problems_of_value(point.response, item, f"{point.items_key}[{index}]")
        ]
    return problems_of_value(point.response, answer, "response")


def problems_of_value(kind, value, where: str, in_query: bool = False) -> list[str]:
    kind = _unwrap_optional(kind)
    origin = typing.get_origin(kind)
    if origin in (list, typing.List):  # noqa: UP006 (the SDK's annotations)
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {type(value).__name__}"]
        [item] = typing.get_args(kind)
        return [p for index, element in enumerate(value) for p in problems_of_value(item, element, f"{where}[{index}]")]
    if origin in (dict, typing.Dict):  # noqa: UP006
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        _, item = typing.get_args(kind)
        return [p for key, element in value.items() for p in problems_of_value(item, element, f"{where}.{key}")]
    if inspect.isclass(kind) and dataclasses.is_dataclass(kind):
        return _problems_of_dataclass(kind, value, where)
    if inspect.isclass(kind) and issubclass(kind, enum.Enum):
        allowed = [member.value for member in kind]
        return [] if value in allowed else [f"{where}: {value!r} is not one of {allowed}"]
    if kind is bool:
        ok = value in ("true", "false") if in_query else isinstance(value, bool)
    elif kind is int:
        ok = bool(re.fullmatch(r"-?\d+", value)) if in_query else isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind is str:
        ok = isinstance(value, str)
    else:
        ok = True  # Any, and the few special types (durations, field masks) the lab does not use
    return [] if ok else [f"{where}: {value!r} is not a valid {getattr(kind, '__name__', kind)}"]


def _problems_of_dataclass(kind: type, value, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected an object ({kind.__name__}), got {type(value).__name__}"]
    wire, required = _wire_fields(kind)
    hints = _hints(kind)
    found = [f"{where}: unknown field {key!r} ({kind.__name__})" for key in value if key not in wire]
    found += [f"{where}: missing required field {key!r} ({kind.__name__})" for key in required if key not in value]
    for key, element in value.items():
        if key in wire:
            found += problems_of_value(hints[wire[key]], element, f"{where}.{key}")
    return found


@cache
def _wire_fields(kind: type) -> tuple[dict, frozenset]:
    """`({wire name: field name}, required wire names)` of an SDK dataclass, as its `from_dict` reads it."""
    wire = {match["key"]: match["field"] for match in _FROM_DICT_FIELD.finditer(inspect.getsource(kind.from_dict))}
    by_field = {field: key for key, field in wire.items()}
    required = frozenset(
        by_field.get(field.name, field.name)
        for field in dataclasses.fields(kind)
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    )
    return wire, required


@cache
def _hints(kind: type) -> dict:
    return typing.get_type_hints(kind)


def _unwrap_optional(kind):
    if typing.get_origin(kind) is typing.Union:
        arguments = [argument for argument in typing.get_args(kind) if argument is not type(None)]
        if len(arguments) == 1:
            return arguments[0]
    return kind
