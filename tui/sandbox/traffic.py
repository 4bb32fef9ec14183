"""Synthetic automation traffic: the ``runtime.automations.executed`` and ``error`` events a real instance
writes while users hit a workspace, so that a rollout's error gate has a signal to read.

Shapes, as published: ``ExecutedAutomation`` in /work/shared/prismeai/swagger.yml (components/schemas:
``payload.{slug, trigger, payload, output, duration, startedAt, break}`` and ``payload.error
{error, message}`` "set when the automation execution failed with an uncaught error"), the same
interface in the 2024 sources (packages/types/index.d.ts ``ExecutedAutomation``), and ``GenericErrorEvent``
(``type: error``, ``payload.{type, message, details}``) for the error the runtime emits alongside.

Nothing is stored: the events of a time range are generated when a search asks for it (one execution
every ``60 / traffic_per_minute`` seconds of the server's clock, aligned on the epoch, so two searches
of one range see the same events), deterministic from ``traffic_seed``, the workspace and the instant.
The fault ``error_rate=SLUG:FRACTION`` describes content, as a bug does: the workspace's next import
brings faulty content, whose executions fail at that rate whenever it runs. An import of other content (a
rollback) ends the failure; the same content imported again (the release rolled out a second time) fails
again, until the fault is cleared (``POST /sandbox/faults`` with the slug left out).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

EXECUTED = "runtime.automations.executed"
ERROR = "error"
MAX_EVENTS = 20_000  # per search: a range too wide for the rate is cut to its newest events
DEFAULT_SPAN = 900.0  # seconds read when a search names no time range


@dataclass
class Period:
    """The workspace's automations fail at ``rate`` from ``start`` until ``end`` (epoch seconds, server clock)."""

    start: float
    rate: float
    end: float | None = None

    def covers(self, at: float) -> bool:
        return self.start <= at and (self.end is None or at < self.end)


def _epoch(text: Any) -> float | None:
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text) / 1000 if text > 1e11 else float(text)  # epoch milliseconds, as ES takes them
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def digest(files: dict[str, bytes]) -> str:
    """What a set of files holds, as one digest (names and bytes): the same content, the same digest."""
    hashed = hashlib.sha256()
    for name in sorted(files):
        hashed.update(name.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(files[name]).digest())
    return hashed.hexdigest()


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def time_range(query: Any) -> tuple[float | None, float | None]:
    """The narrowest ``range`` on ``@timestamp`` or ``createdAt`` the query requires (bool must/filter)."""
    low: float | None = None
    high: float | None = None
    if not isinstance(query, dict):
        return low, high
    for kind, clause in query.items():
        if kind == "range" and isinstance(clause, dict):
            for name, bounds in clause.items():
                if name in ("@timestamp", "createdAt") and isinstance(bounds, dict):
                    for op in ("gt", "gte"):
                        if (value := _epoch(bounds.get(op))) is not None:
                            low = value if low is None else max(low, value)
                    for op in ("lt", "lte"):
                        if (value := _epoch(bounds.get(op))) is not None:
                            high = value if high is None else min(high, value)
        elif kind == "bool" and isinstance(clause, dict):
            for key in ("must", "filter"):
                parts = clause.get(key) or []
                for part in parts if isinstance(parts, list) else [parts]:
                    sub_low, sub_high = time_range(part)
                    if sub_low is not None:
                        low = sub_low if low is None else max(low, sub_low)
                    if sub_high is not None:
                        high = sub_high if high is None else min(high, sub_high)
    return low, high


def asks_for_executions(query: Any) -> bool:
    """False when the query requires a ``type`` that is neither an execution nor an error (``term`` or
    ``terms`` in bool must/filter): then no execution is generated for it (an import search, say)."""
    if not isinstance(query, dict):
        return True
    for kind, clause in query.items():
        if kind in ("term", "terms") and isinstance(clause, dict) and set(clause) == {"type"}:
            value = clause["type"]
            value = value.get("value") if kind == "term" and isinstance(value, dict) else value
            if not {EXECUTED, ERROR} & {str(v) for v in (value if isinstance(value, list) else [value])}:
                return False
        elif kind == "bool" and isinstance(clause, dict):
            for key in ("must", "filter"):
                parts = clause.get(key) or []
                if not all(asks_for_executions(p) for p in (parts if isinstance(parts, list) else [parts])):
                    return False
    return True


def _draw(seed: int, workspace_id: str, tick: int) -> float:
    """A number in [0, 1) fixed by the seed, the workspace and the instant."""
    digest = hashlib.blake2b(f"{seed}:{workspace_id}:{tick}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def events(
    workspace_id: str,
    automations: list[str],
    start: float,
    end: float,
    *,
    per_minute: float,
    seed: int,
    periods: list[Period],
) -> list[dict[str, Any]]:
    """The executions (and errors) of ``workspace_id`` in [start, end], oldest first."""
    if per_minute <= 0 or end < start:
        return []
    step = 60.0 / per_minute
    first, last = math.ceil(start / step), math.floor(end / step)
    first = max(first, last - MAX_EVENTS + 1)
    names = automations or ["default"]
    found: list[dict[str, Any]] = []
    for tick in range(first, last + 1):
        at = tick * step
        draw = _draw(seed, workspace_id, tick)
        slug = names[tick % len(names)]
        rate = next((p.rate for p in reversed(periods) if p.covers(at)), 0.0)
        failed = draw < rate
        found.append(_executed(workspace_id, slug, at, tick, draw, failed))
        if failed:
            found.append(_error(workspace_id, slug, at, tick))
    return found


def _source(workspace_id: str, slug: str, tick: int) -> dict[str, Any]:
    return {
        "workspaceId": workspace_id,
        "automationSlug": slug,
        "correlationId": f"synthetic-{workspace_id}-{tick}",
        "host": {"service": "runtime"},
    }


def _executed(workspace_id: str, slug: str, at: float, tick: int, draw: float, failed: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "slug": slug,
        "trigger": {"type": "endpoint", "value": slug},
        "payload": {},
        "output": None if failed else {"status": "ok"},
        "duration": 20 + int(draw * 200),
        "startedAt": iso(at),
        "break": False,
    }
    if failed:
        payload["error"] = {"error": "Error", "message": f"{slug} failed (sandbox fault error_rate)"}
    return {
        "id": f"exec-{workspace_id}-{tick}",
        "type": EXECUTED,
        "createdAt": iso(at),
        "size": 0,
        "source": _source(workspace_id, slug, tick),
        "payload": payload,
    }


def _error(workspace_id: str, slug: str, at: float, tick: int) -> dict[str, Any]:
    return {
        "id": f"error-{workspace_id}-{tick}",
        "type": ERROR,
        "createdAt": iso(at),
        "size": 0,
        "source": _source(workspace_id, slug, tick),
        "payload": {"type": "Error", "message": f"{slug} failed (sandbox fault error_rate)", "details": {}},
    }
