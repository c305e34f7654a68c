"""Read and write `.dbc` notebook archives, the format a workspace exports folders in.

A `.dbc` file is a zip archive. As the original DP-090 course archive shows, it holds:

- `manifest.mf`: `{"version": "Manifest", "guid": ..., "origId": -1, "name": "manifest.mf"}`;
- one entry per folder, named `<folder>/`, holding `{"version": "FolderV1", "name": ..., ...}`;
- one entry per notebook, named `<folder>/<notebook name>.python` (the extension is the language),
  holding a JSON document `{"version": "NotebookV1", "name": ..., "language": "python", "commands": [...]}`.

Each command is one cell: `command` is the cell's text as the workspace editor shows it, a magic
inline (`"%md # Title"`, `"%run ./includes/setup"`), `position` orders the cells, `commandTitle`
and `showCommandTitle` carry a `# DBTITLE`. The other keys are editor state (results, widths,
comments); they are written with the neutral values an export of a fresh notebook has.

`read()` returns the notebooks of an archive; `write()` builds one from `dbsource` notebooks,
deterministically: sorted entries, fixed timestamps, and ids derived from the entry path and
cell text, so the same notebooks always give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .dbsource import Cell, Notebook

MANIFEST = "manifest.mf"
LANGUAGE_EXTENSIONS = {"python": ".python", "sql": ".sql", "scala": ".scala", "r": ".r"}
# The earliest time a zip entry can carry: a fixed timestamp makes builds byte-identical.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
# uuid5 namespace for the guids of our archives (any fixed uuid would do).
GUID_NAMESPACE = uuid.UUID("5d0c1a4e-8f0b-4b8a-9a43-0d1f0c0de090")


class DbcFormatError(ValueError):
    """The archive is not a readable `.dbc`; `str()` names the archive and the entry at fault."""

    def __init__(self, archive: str, entry: str, message: str):
        self.archive, self.entry, self.message = archive, entry, message
        super().__init__(f"{archive}: {entry}: {message}" if entry else f"{archive}: {message}")


@dataclass
class Command:
    """One cell of an archived notebook."""

    command: str
    position: float
    title: str | None = None

    @property
    def magic(self) -> str | None:
        """`"md"` for `"%md ..."`, None for plain code."""
        if not self.command.startswith("%"):
            return None
        return self.command[1:].split(None, 1)[0] if len(self.command) > 1 else None

    def to_cell(self) -> Cell:
        """The cell as `dbsource` represents it (a leading `%` makes it a magic cell)."""
        return Cell(source=self.command, title=self.title, is_magic_text=self.command.startswith("%"))


@dataclass
class ArchivedNotebook:
    entry: str  # e.g. "03 - Managing Experiments and Models/01 - Using MLflow to Track Experiments.python"
    name: str
    language: str
    commands: list[Command] = field(default_factory=list)

    @property
    def path(self) -> str:
        """The notebook's path inside the archive, without the language extension."""
        return self.entry.rsplit(".", 1)[0]

    def cells(self) -> list[Cell]:
        return [command.to_cell() for command in self.commands]


def read(path: str | Path) -> list[ArchivedNotebook]:
    """The notebooks of the archive at `path`, in entry order, each with its commands in position order."""
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise DbcFormatError(str(path), "", f"not a .dbc (zip) archive: {error}") from None
    notebooks = []
    with archive:
        names = archive.namelist()
        if MANIFEST not in names:
            raise DbcFormatError(str(path), MANIFEST, "missing; a workspace export always has one")
        for entry in names:
            if entry == MANIFEST or entry.endswith("/"):
                continue  # folders hold no cells
            document = _load_json(archive, entry, str(path))
            if document.get("version") != "NotebookV1":
                raise DbcFormatError(str(path), entry, f"version is {document.get('version')!r}, not 'NotebookV1'")
            notebooks.append(_notebook(document, entry, str(path)))
    return notebooks


def _load_json(archive: zipfile.ZipFile, entry: str, archive_name: str) -> dict:
    try:
        document = json.loads(archive.read(entry).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DbcFormatError(archive_name, entry, f"not a JSON document: {error}") from None
    if not isinstance(document, dict):
        raise DbcFormatError(archive_name, entry, "not a JSON object")
    return document


def _notebook(document: dict, entry: str, archive_name: str) -> ArchivedNotebook:
    commands = []
    for index, raw in enumerate(document.get("commands", [])):
        if not isinstance(raw.get("command"), str) or not isinstance(raw.get("position"), (int, float)):
            raise DbcFormatError(archive_name, entry, f"command {index} lacks a 'command' text or a 'position'")
        title = raw.get("commandTitle") or ""
        show = raw.get("showCommandTitle", bool(title))
        commands.append(Command(raw["command"], float(raw["position"]), title if show else None))
    commands.sort(key=lambda command: command.position)  # stable: equal positions keep file order
    return ArchivedNotebook(entry, document.get("name", ""), document.get("language", ""), commands)


def write(destination: str | Path, notebooks: dict[str, Notebook], language: str = "python") -> Path:
    """Write a `.dbc` holding `notebooks`, keyed by their path in the archive ("top/includes/setup").

    Folders along those paths get their own entries, as in a workspace export.
    """
    destination = Path(destination)
    extension = LANGUAGE_EXTENSIONS[language]
    entries = {}
    for notebook_path, notebook in notebooks.items():
        parts = notebook_path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth]) + "/"
            entries[folder] = _folder_document(folder)
        entry = notebook_path + extension
        entries[entry] = _notebook_document(entry, parts[-1], language, notebook)

    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        manifest = {"version": "Manifest", "guid": _guid(MANIFEST), "origId": -1, "name": MANIFEST}
        _write_entry(archive, MANIFEST, manifest)
        for entry in sorted(entries):
            _write_entry(archive, entry, entries[entry])
    return destination


def zip_entry(name: str) -> zipfile.ZipInfo:
    """A zip entry whose bytes depend on nothing but its name and content: fixed time, system and mode."""
    info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever system builds it, so the bytes do not depend on it
    info.external_attr = 0o644 << 16
    return info


def _write_entry(archive: zipfile.ZipFile, name: str, document: dict) -> None:
    # Compact separators, as a workspace export writes them.
    archive.writestr(zip_entry(name), json.dumps(document, separators=(",", ":")).encode("utf-8"))


def _folder_document(folder: str) -> dict:
    name = folder.rstrip("/").rsplit("/", 1)[-1]
    return {"version": "FolderV1", "origId": _orig_id(folder), "name": name, "guid": "", "children": []}


def _notebook_document(entry: str, name: str, language: str, notebook: Notebook) -> dict:
    commands = [_command_document(entry, index, cell) for index, cell in enumerate(notebook.cells)]
    return {
        "version": "NotebookV1",
        "origId": _orig_id(entry),
        "name": name,
        "language": language,
        "commands": commands,
        "dashboards": [],
        "guid": _guid(entry),
        "globalVars": {},
        "iPythonMetadata": None,
        "inputWidgets": {},
        "notebookMetadata": {"pythonIndentUnit": 4},
        "reposExportFormat": "SOURCE",
    }


def _command_document(entry: str, index: int, cell: Cell) -> dict:
    """One command with the keys, in the order, of the original course archive's commands."""
    key = f"{entry}#{index}\n{cell.source}"
    return {
        "version": "CommandV1",
        "origId": _orig_id(key),
        "guid": _guid(key),
        "subtype": "command",
        "commandType": "auto",
        "position": float(index + 1),
        "command": cell.source,
        "commandVersion": 0,
        "state": "finished",
        "results": None,
        "resultDbfsStatus": "INLINED_IN_TREE",
        "resultDbfsErrorMessage": None,
        "errorSummary": None,
        "errorTraceType": None,
        "error": None,
        "workflows": [],
        "startTime": 0,
        "submitTime": 0,
        "finishTime": 0,
        "collapsed": False,
        "bindings": {},
        "inputWidgets": {},
        "displayType": "table",
        "width": "auto",
        "height": "auto",
        "xColumns": None,
        "yColumns": None,
        "pivotColumns": None,
        "pivotAggregation": None,
        "useConsistentColors": False,
        "customPlotOptions": {},
        "commentThread": [],
        "commentsVisible": False,
        "parentHierarchy": [],
        "diffInserts": [],
        "diffDeletes": [],
        "globalVars": {},
        "latestUser": "",
        "latestUserId": None,
        "commandTitle": cell.title or "",
        "showCommandTitle": cell.title is not None,
        "hideCommandCode": False,
        "hideCommandResult": False,
        "isLockedInExamMode": False,
        "iPythonMetadata": None,
        "metadata": {},
        "streamStates": {},
        "datasetPreviewNameToCmdIdMap": {},
        "tableResultIndex": None,
        "listResultMetadata": None,
        "subcommandOptions": None,
        "contentSha256Hex": None,
        "nuid": _guid("nuid:" + key),
    }


def _guid(key: str) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, key))


def _orig_id(key: str) -> int:
    # A positive id below 2**52, like a workspace object id; the workspace assigns new ids on import.
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:13], 16)
