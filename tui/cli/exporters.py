"""One JSON exporter per type the CLI prints that has no ``to_json`` of its own (as gh's
``pkg/cmdutil/json_flags.go``): the shapes the README documents, written once. Types of the core that
own their shape (Health, Outcome, Matrix, Snapshot, Plan...) keep their ``to_json``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.core.api.models import Event, Version, Workspace
    from tui.core.config import Environment


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


def version(v: Version, *, live: str | None, changes: dict[str, str], events: bool = True) -> dict[str, Any]:
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
        entry["changes"] = changes.get(v.name)
    return entry


def event(e: Event) -> dict[str, Any]:
    """`events --json`: one platform event per line."""
    return {"id": e.id, "type": e.type, "createdAt": e.created_at, "payload": e.payload, "source": e.source}
