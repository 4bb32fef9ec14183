"""On-disk state of one sandbox instance, kept in memory for speed and written through.

Layout of the data folder (it survives restarts):
- ``workspaces/<id>/meta.json``  labels, dirty, lastPush/lastPull, writeLock, versions, git sync points
- ``workspaces/<id>/current/``   the DSUL YAML files of the working state
- ``workspaces/<id>/versions/<name>/``  native (Prismeai) version snapshots
- ``events.jsonl``               every event, one JSON object a line
- ``git/<repoId>/``              this instance's working clone of each platform repository
- ``platform.env``               WORKSPACES_STORAGE_GIT_PLATFORM_* / WORKSPACES_GROUP_* settings
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.sandbox import clock, dsul

PLATFORM_ID = "platform"
# The x-correlation-id of the request being served: events it causes carry it in source.correlationId,
# even when the work goes on after the answer (a 408, {processing: true}, a bulk operation).
REQUEST_CORRELATION: ContextVar[str | None] = ContextVar("request_correlation", default=None)


def now_iso() -> str:
    return clock.now_iso()


def new_id() -> str:
    return secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")


class SandboxError(Exception):
    """An API error: HTTP status, the server's error class, a message and details."""

    def __init__(self, status: int, error: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"error": self.error, "message": self.message}
        if self.details is not None:
            data["details"] = self.details
        return data


def atomic_write(path: Path, data: bytes, mode: int = 0o666) -> None:
    """Write whole, then rename; ``mode`` from the first byte (0o600 for secrets: never readable by
    others while written, whatever the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as fh:
        if mode != 0o666:
            os.fchmod(fh.fileno(), mode)  # a leftover temporary file keeps its old mode: set it before any byte
        fh.write(data)
    os.replace(tmp, path)


@dataclass
class EventRecord:
    data: dict[str, Any]

    @property
    def workspace_id(self) -> str:
        return str(self.data["source"].get("workspaceId"))


class Store:
    def __init__(self, root: Path, *, event_lag: Callable[[], float] | None = None) -> None:
        self.root = root
        self.lock = threading.RLock()
        self.meta: dict[str, dict[str, Any]] = {}
        self.generation = 0  # bumped by every change of self.meta: caches of it (the listing order) check it
        self.events: list[dict[str, Any]] = []
        # The events service indexes late: an event is searchable only from this monotonic time on.
        # Not persisted: after a restart every stored event is visible, as it would be in Elasticsearch.
        self._event_lag = event_lag or (lambda: 0.0)
        self._visible_at: dict[str, float] = {}
        self._events_fh: Any = None
        root.mkdir(parents=True, exist_ok=True)
        self._load()

    # -- persistence -------------------------------------------------------------------------------
    def _load(self) -> None:
        ws_root = self.root / "workspaces"
        if ws_root.is_dir():
            for folder in ws_root.iterdir():
                meta_file = folder / "meta.json"
                if meta_file.is_file():
                    meta = json.loads(meta_file.read_text(encoding="utf-8"))
                    self.meta[meta["id"]] = meta
        events_file = self.root / "events.jsonl"
        if events_file.is_file():
            with open(events_file, encoding="utf-8") as fh:
                for line in fh:
                    line = line.strip()
                    if line:
                        try:
                            self.events.append(json.loads(line))
                        except json.JSONDecodeError:
                            continue  # a torn last line after a crash: skip it, keep the rest
        if PLATFORM_ID not in self.meta:
            self.create_workspace(name="Platform", slug=PLATFORM_ID, workspace_id=PLATFORM_ID, files=None)

    def close(self) -> None:
        if self._events_fh:
            self._events_fh.close()
            self._events_fh = None

    def ws_dir(self, workspace_id: str) -> Path:
        try:
            return dsul.safe_join(self.root / "workspaces", workspace_id)
        except dsul.UnsafePath as exc:
            raise SandboxError(400, "BadParametersError", str(exc)) from exc

    def _version_dir(self, workspace_id: str, version: str) -> Path:
        if version == "current":
            return self.ws_dir(workspace_id) / "current"
        try:
            return dsul.safe_join(self.ws_dir(workspace_id) / "versions", version)
        except dsul.UnsafePath as exc:
            raise SandboxError(400, "BadParametersError", str(exc)) from exc

    def save_meta(self, meta: dict[str, Any]) -> None:
        with self.lock:
            meta["updatedAt"] = meta.get("updatedAt") or now_iso()
            self.meta[meta["id"]] = meta
            self.generation += 1
            atomic_write(self.ws_dir(meta["id"]) / "meta.json", json.dumps(meta, indent=1).encode())

    # -- workspaces ---------------------------------------------------------------------------------
    def get(self, workspace_id: str) -> dict[str, Any]:
        meta = self.meta.get(workspace_id)
        if meta is None:
            raise SandboxError(
                404,
                "ObjectNotFoundError",
                f"Workspace '{workspace_id}' not found",
                {"workspaceId": workspace_id},
            )
        return meta

    def by_slug(self, slug: str) -> dict[str, Any] | None:
        for meta in self.meta.values():
            if meta.get("slug") == slug:
                return meta
        return None

    def create_workspace(
        self,
        *,
        name: str,
        slug: str,
        labels: list[str] | None = None,
        files: dsul.Files | None = None,
        workspace_id: str | None = None,
        description: str | dict[str, str] = "",
    ) -> dict[str, Any]:
        with self.lock:
            if self.by_slug(slug):
                raise SandboxError(400, "AlreadyUsedError", f"Slug '{slug}' is already used", {"slug": slug})
            wid = workspace_id or new_id()
            stamp = now_iso()
            meta = {
                "id": wid,
                "slug": slug,
                "name": name,
                "labels": list(labels or []),
                "description": description,
                "dirty": True,
                "lastPush": None,
                "lastPull": None,
                "writeLock": None,
                "versions": [],
                "git": {},
                "importState": None,
                "createdAt": stamp,
                "updatedAt": stamp,
                "createdBy": "sandbox",
            }
            if files is None:
                files = {
                    "index.yml": dsul.dump_yaml({"name": name, "slug": slug, "labels": list(labels or [])}),
                    "security.yml": dsul.dump_yaml({"authorizations": {"roles": {"owner": {}}}}),
                }
            self.write_files(wid, files)
            self.save_meta(meta)
            return meta

    def delete_workspace(self, workspace_id: str) -> None:
        with self.lock:
            self.get(workspace_id)
            shutil.rmtree(self.ws_dir(workspace_id), ignore_errors=True)
            self.meta.pop(workspace_id, None)
            self.generation += 1

    def read_files(self, workspace_id: str, version: str = "current") -> dsul.Files:
        return dsul.content(dsul.read_tree(self._version_dir(workspace_id, version)))

    def write_files(self, workspace_id: str, files: dsul.Files, version: str = "current") -> None:
        try:
            dsul.write_tree(self._version_dir(workspace_id, version), dsul.content(files))
        except dsul.UnsafePath as exc:
            raise SandboxError(400, "BadParametersError", str(exc)) from exc

    def drop_version_files(self, workspace_id: str, version: str) -> None:
        shutil.rmtree(self._version_dir(workspace_id, version), ignore_errors=True)

    # -- events -------------------------------------------------------------------------------------
    def emit(
        self,
        workspace_id: str,
        event_type: str,
        payload: dict[str, Any],
        *,
        user_id: str = "sandbox-admin",
        correlation_id: str | None = None,
    ) -> dict[str, Any]:
        event = {
            "id": uuid.uuid4().hex,
            "type": event_type,
            "createdAt": now_iso(),
            "size": 0,
            "source": {
                "workspaceId": workspace_id,
                **({"userId": user_id} if user_id else {}),  # a platform run (startup import) has none
                "correlationId": correlation_id or REQUEST_CORRELATION.get() or uuid.uuid4().hex,
                "host": {"service": "workspaces"},
            },
            "payload": payload,
        }
        line = json.dumps(event)
        event["size"] = len(line)
        lag = self._event_lag()
        with self.lock:
            self.events.append(event)
            if lag > 0:
                self._visible_at[str(event["id"])] = time.monotonic() + lag
            if self._events_fh is None:
                self._events_fh = open(self.root / "events.jsonl", "a", encoding="utf-8")  # noqa: SIM115
            self._events_fh.write(line + "\n")
            self._events_fh.flush()
        return event

    def query_events(
        self,
        workspace_id: str,
        *,
        types: list[str] | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int = 50,
        page: int = 0,
        sort: str = "desc",
        filters: dict[str, list[str]] | None = None,
    ) -> list[dict[str, Any]]:
        wanted = set(types or [])
        selected = []
        for event in self.visible_events(workspace_id):
            if wanted and event["type"] not in wanted:
                continue
            if after and event["createdAt"] <= after:
                continue
            if before and event["createdAt"] >= before:
                continue
            if filters and not all(str(dig(event, k)) in v for k, v in filters.items()):
                continue
            selected.append(event)
        if sort != "asc":
            selected.reverse()
        return selected[page * limit : (page + 1) * limit]

    def visible_events(self, workspace_id: str) -> list[dict[str, Any]]:
        """A workspace's events that the events service has indexed by now, oldest first."""
        now = time.monotonic()
        with self.lock:
            snapshot = list(self.events)
            if self._visible_at:  # forget the events indexed by now: the map only holds pending ones
                self._visible_at = {k: v for k, v in self._visible_at.items() if v > now}
            pending = dict(self._visible_at)
        return [e for e in snapshot if e["source"].get("workspaceId") == workspace_id and e["id"] not in pending]


def dig(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data
