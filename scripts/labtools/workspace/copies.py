"""One copy of the lab in a workspace folder, deployed so that deploying again never loses anyone's work.

A folder gets the notebooks of one language, the lab's data (`data/nyc-taxi.csv`, a workspace file beside
them: the notebooks look for `data/nyc-taxi.csv` in their folder and above, so no cluster needs internet
access) and a small manifest, `.dp090-deployed.json`: the SHA-256 of each object as the workspace exported
it right after the deploy.

Deploying again exports each object and compares it with the manifest:

- the same: nobody changed it since, so it is replaced by the current version ("updated");
- different: someone (a learner) edited it: it is kept, and the result says so. With `force`, it is first
  saved beside, as `<name> (backup <UTC time>)`, and only then replaced;
- no record of it (a folder deployed before the manifest existed, or by hand): it counts as unchanged only
  if it is already what would be deployed; otherwise it is kept, as an edit would be;
- not there: deployed.

The hashes are of the workspace's own export, not of the local file, so that however a workspace renders
an imported notebook's source, an untouched copy compares equal to its record.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePosixPath

from .. import lab
from .client import LocalNotebook, folders_to_create
from .errors import DeployError

MANIFEST = ".dp090-deployed.json"
DATA_RELATIVE = "data/nyc-taxi.csv"  # where the notebooks look for the lab's data, below their folder


@dataclass(frozen=True)
class LabObject:
    """One thing deployed into the lab's folder: a notebook, or a workspace file (the data)."""

    relative: str  # below the folder: "includes/setup", "data/nyc-taxi.csv"
    content: bytes
    source: str  # the local file, as the messages name it
    notebook: bool


def lab_objects(notebooks: list[LocalNotebook]) -> list[LabObject]:
    """What a folder gets: the notebooks of one language, and the lab's data."""
    objects = [
        LabObject(notebook.relative, notebook.content, str(notebook.file.relative_to(lab.PROJECT)), True)
        for notebook in notebooks
    ]
    try:
        data = lab.LAB_DATA.read_bytes()
    except OSError as error:
        raise DeployError(f"{lab.LAB_DATA}: cannot be read ({error.strerror}); the learners' copies need it") from None
    return [*objects, LabObject(DATA_RELATIVE, data, str(lab.LAB_DATA.relative_to(lab.PROJECT)), False)]


@dataclass
class Deployed:
    """What deploying one folder did, object by object (relative paths)."""

    folder: str
    existed: bool
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # edited since deployed, left as they are
    saved: list[tuple[str, str]] = field(default_factory=list)  # (edited, its backup's path), then replaced

    def notebooks(self, objects: list[LabObject]) -> int:
        """How many notebooks are now the deployed version."""
        done = {*self.new, *self.updated, *(relative for relative, _ in self.saved)}
        return sum(1 for thing in objects if thing.notebook and thing.relative in done)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def backup_name(relative: str, stamp: str) -> str:
    """`01-lab` -> `01-lab (backup 2026-12-02T153000Z)`; a file keeps its extension after the stamp."""
    path = PurePosixPath(relative)
    return str(path.with_name(f"{path.stem} (backup {stamp}){path.suffix}"))


def deploy_folder(ws, folder: str, objects: list[LabObject], force: bool = False) -> Deployed:
    """Deploy `objects` into `folder` without losing an edit made there since the last deploy (see above)."""
    done = Deployed(folder, existed=ws.status(folder) is not None)
    recorded = _read_manifest(ws, folder) if done.existed else {}
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
    for path in folders_to_create(folder, objects):
        ws.mkdirs(path)
    manifest = {}
    for thing in objects:
        target = f"{folder}/{thing.relative}"
        there = ws.export(target, notebook=thing.notebook) if done.existed else None
        if there is not None and not _unchanged(there, thing, recorded.get(thing.relative)):
            if not force:
                done.kept.append(thing.relative)
                if thing.relative in recorded:  # still what was deployed: it stays an edit next time too
                    manifest[thing.relative] = recorded[thing.relative]
                continue
            # Saved first, and never over another object: if this fails, nothing has been replaced.
            backup = f"{folder}/{backup_name(thing.relative, stamp)}"
            _import(ws, backup, there, thing, overwrite=False)
            done.saved.append((thing.relative, backup))
        elif there is not None:
            done.updated.append(thing.relative)
        else:
            done.new.append(thing.relative)
        _import(ws, target, thing.content, thing, overwrite=True)
        if not ws.dry_run:
            manifest[thing.relative] = sha256(ws.export(target, notebook=thing.notebook) or b"")
    record = {"written by": "scripts/deploy.py deploy", "sha256 of each object as exported": manifest}
    ws.import_file(f"{folder}/{MANIFEST}", json.dumps(record, indent=1, sort_keys=True).encode(), source=MANIFEST)
    return done


def _import(ws, path: str, content: bytes, thing: LabObject, overwrite: bool) -> None:
    if thing.notebook:
        ws.import_notebook(path, content, source=thing.source, overwrite=overwrite)
    else:
        ws.import_file(path, content, source=thing.source, overwrite=overwrite)


def _unchanged(there: bytes, thing: LabObject, recorded: str | None) -> bool:
    """Whether what is in the workspace is what was deployed there (no edit to lose)."""
    if recorded is not None:
        return sha256(there) == recorded
    # No record: only a copy that already is what we deploy can be replaced without losing anything.
    return there.rstrip() == thing.content.rstrip()


def _read_manifest(ws, folder: str) -> dict[str, str]:
    """The hashes recorded by the last deploy into `folder`; {} if there are none (or they are unreadable)."""
    text = ws.export(f"{folder}/{MANIFEST}", notebook=False)
    if not text:
        return {}
    try:
        hashes = json.loads(text).get("sha256 of each object as exported", {})
    except (ValueError, AttributeError):
        return {}  # a manifest someone broke: no record, so every differing object is kept
    return {key: value for key, value in hashes.items() if isinstance(value, str)} if isinstance(hashes, dict) else {}
