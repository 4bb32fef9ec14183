"""The one JSON shape of each type the CLI prints, found in one registry (as gh's
``pkg/cmdutil/json_flags.go``): ``export(obj)`` is what `--json` prints for ``obj``.

Where a type's JSON is its fields, the type declares it (``tui.core.jsonshape.Exported``: Health,
Snapshot, AuditEntry...); types with a shape of their own keep their ``to_json`` (Outcome, Matrix, a
bulk run's summary...). The types that have neither, a server's workspace, event and version, the
configuration's environment and a bulk stream's line, are exported here, once.
tests/unit/test_json_shapes.py checks the shapes the README documents against what ``export`` emits.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import singledispatch
from typing import Any

from tui.core.api.bulk import BulkEvent, BulkTally
from tui.core.api.models import Event, Version, Workspace
from tui.core.config import Environment


@singledispatch
def export(obj: Any) -> Any:
    """``obj`` as `--json` prints it: its registered exporter, else its own ``to_json``; a list or a
    mapping item by item; JSON values as they are."""
    if hasattr(obj, "to_json"):
        return obj.to_json()
    if isinstance(obj, (list, tuple)):
        return [export(item) for item in obj]
    if isinstance(obj, Mapping):
        return {key: export(value) for key, value in obj.items()}
    return obj


@export.register
def environment(env: Environment, token_source: str | None = None) -> dict[str, Any]:
    """`envs --json`: ``tokenSource`` "environment" for a token from a variable; the keyring's only with
    --tokens (else null: not looked up)."""
    return {
        "name": env.name,
        "url": env.url,
        "tier": env.tier,
        "protected": env.protected,
        "readOnly": env.read_only,
        "tokenSource": token_source,
    }


@export.register
def workspace(ws: Workspace) -> dict[str, Any]:
    """`workspaces --json`."""
    return {
        "id": ws.id,
        "slug": ws.slug,
        "name": ws.name,
        "labels": list(ws.labels),
        "dirty": ws.dirty if ws.dirty_known else None,  # null: the instance does not track it (unknown)
        "writeLock": ws.write_lock.reason if ws.write_lock else None,
        "liveVersion": ws.live_version,
        "lastPush": ws.raw.get("lastPush"),
        "lastPull": ws.raw.get("lastPull"),
    }


@export.register
def version(
    v: Version, *, live: str | None = None, changes: Mapping[str, str] | None = None, events: bool = True
) -> dict[str, Any]:
    """`versions --json`: one entry of the merged history (tui.core.ops.history). Without readable events
    there is no ``changes`` key (unknown, not "no change")."""
    entry = {
        "name": v.name,
        "createdAt": v.created_at,
        "description": v.description,
        "repository": v.source,
        "live": v.name == live,
    }
    if events:
        entry["changes"] = (changes or {}).get(v.name)
    return entry


@export.register
def event(e: Event) -> dict[str, Any]:
    """`events --json`: one platform event per line."""
    return {"id": e.id, "type": e.type, "createdAt": e.created_at, "payload": e.payload, "source": e.source}


@export.register
def bulk_event(event: BulkEvent, tally: BulkTally | None = None) -> dict[str, Any]:
    """A line of a `bulk-push` / `bulk-import` stream: the server's event payload, labelled. A bulk push's
    ``completed`` line names the workspaces skipped for a write lock (only its ``started`` event did)."""
    line: dict[str, Any] = {
        "kind": event.kind,
        "operation": event.operation,
        "group": event.group,
        "message": event.message,
        "payload": event.payload,
    }
    if event.kind == "completed" and event.operation == "push":
        line["skippedWhileLocked"] = list(tally.locked) if tally else []
    return line
