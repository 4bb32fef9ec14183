"""Typed bulk push / bulk import progress, classified by payload (SSE event names are unconfirmed).

The server's SSE framing for bulk push is only partly documented: the last ``data:`` line is the
completed summary, the others are most likely started/progress payloads. So we never trust the
``event:`` name; we look at the keys, as api-contract.md section 5.2 recommends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["started", "progress", "completed", "failure", "processing", "notice", "unknown"]

SUMMARY_KEYS = (
    "pushedWorkspaceIds",
    "mergeConflictWorkspaceIds",
    "alreadyPushedWorkspaceIds",
    "createdWorkspaceIds",
    "updatedWorkspaceIds",
    "skippedWorkspaceIds",
)


@dataclass(frozen=True)
class BulkEvent:
    """One step of a bulk operation, whatever transport it came from (SSE, events polling)."""

    kind: Kind
    payload: dict[str, Any] = field(default_factory=dict)
    operation: str = "push"  # push | import
    group: str | None = None
    message: str | None = None

    # -- progress accessors --------------------------------------------------------------------
    @property
    def slug(self) -> str:
        return str(self.payload.get("workspaceSlug") or self.payload.get("slug") or "")

    @property
    def status(self) -> str:
        return str(self.payload.get("status") or "")

    @property
    def current(self) -> int:
        return int(self.payload.get("current") or 0)

    @property
    def total(self) -> int:
        return int(self.payload.get("total") or 0)

    @property
    def errors(self) -> list[dict[str, Any]]:
        errs = self.payload.get("errors") or []
        return list(errs) if isinstance(errs, list) else [{"message": str(errs)}]

    # -- summary accessors ---------------------------------------------------------------------
    def ids(self, key: str) -> list[str]:
        value = self.payload.get(key) or []
        return list(value) if isinstance(value, list) else []

    @property
    def failed(self) -> bool:
        """The guide's CI check: any error or merge conflict fails the job."""
        if self.kind == "failure":
            return True
        if self.kind != "completed":
            return False
        errors = self.payload.get("errors") or []
        return bool(errors) or bool(self.ids("mergeConflictWorkspaceIds"))


def classify(payload: Any, operation: str = "push") -> BulkEvent:
    """Classify one decoded SSE ``data:`` payload or an event payload by its keys."""
    if not isinstance(payload, dict):
        return BulkEvent("unknown", {"value": payload}, operation)
    if payload.get("processing") is True:
        return BulkEvent("processing", payload, operation, message=str(payload.get("message") or ""))
    if any(k in payload for k in SUMMARY_KEYS) or (
        "duration" in payload and "groups" in payload and "current" not in payload
    ):
        return BulkEvent("completed", payload, operation)
    if "percentage" in payload or "current" in payload:
        return BulkEvent("progress", payload, operation)
    if isinstance(payload.get("workspaces"), list) and "repositoryId" in payload:
        return BulkEvent("started", payload, operation)
    if "error" in payload and "message" in payload:
        return BulkEvent("failure", payload, operation, message=str(payload.get("message")))
    return BulkEvent("unknown", payload, operation)


def classify_data(data: str, operation: str = "push") -> BulkEvent:
    try:
        payload = json.loads(data)
    except json.JSONDecodeError:
        return BulkEvent("unknown", {"text": data}, operation)
    return classify(payload, operation)


def event_type_kind(event_type: str) -> Kind:
    """Map a platform event type (workspaces.bulkPush.progress...) to our kind."""
    tail = event_type.rsplit(".", 1)[-1]
    return tail if tail in ("started", "progress", "completed") else "unknown"  # type: ignore[return-value]


def locked_slugs(event: BulkEvent) -> list[str]:
    """Workspaces a bulk push's started event names as skipped for a write lock: no summary id lists them."""
    if event.kind != "started" or event.operation != "push":
        return []
    named = event.payload.get("workspaces") or []
    return [str(w.get("slug")) for w in named if isinstance(w, dict) and w.get("status") == "inProgress"]


@dataclass
class BulkTally:
    """Running counts for a progress bar and a summary panel, fed with BulkEvents."""

    total: int = 0
    current: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)  # candidate / alreadyPushed / inProgress...
    summary: BulkEvent | None = None
    locked: list[str] = field(default_factory=list)  # named by the push, skipped: a write lock (inProgress)

    def feed(self, event: BulkEvent) -> None:
        if event.kind == "started":
            workspaces = event.payload.get("workspaces") or []
            self.locked += [s for s in locked_slugs(event) if s not in self.locked]  # a recovery replays it
            for item in workspaces:
                status = str(item.get("status") or "candidate")
                self.categories[status] = self.categories.get(status, 0) + 1
            candidates = [w for w in workspaces if w.get("status") in ("candidate", None)]
            self.total = max(self.total, len(candidates) if event.operation == "push" else len(workspaces))
        elif event.kind == "progress":
            self.total = max(self.total, event.total)
            self.current = max(self.current, event.current)
            self.by_status[event.status] = self.by_status.get(event.status, 0) + 1
        elif event.kind == "completed":
            self.summary = event
            if self.total and self.current < self.total and not event.failed:
                self.current = self.total

    @property
    def fraction(self) -> float:
        return (self.current / self.total) if self.total else (1.0 if self.summary else 0.0)
