"""The error gate of a rollout stage (issue 29): what users hit after an import, read from the platform.

After an environment's import, the ``runtime.automations.executed`` events of the imported workspaces over
``watch`` seconds are compared with a baseline window of the same length ending when the import began.
An execution failed when its event carries ``payload.error`` (swagger ``ExecutedAutomation``: "set when
the automation execution failed with an uncaught error"); the runtime also writes an ``error`` event
(``GenericErrorEvent``). Either may be what an instance writes, so a window's errors are the larger of
the two counts: unknown is never safe.

One events search per workspace (``POST /v2/workspaces/{id}/search``, ``limit: 0``) answers both windows
with a keyed ``filters`` aggregation, so a stage of N workspaces spends N of the 20 searches a minute per
user (the client's budget paces them; a re-read for late-indexed events spends N more).

The gate fails closed: fewer than ``min_executions`` executions in the watch window, or events that
cannot be read, fail it and say what it needs; ``signal = "skip"`` on the stage lets a rollout through
without the gate (said in the journal). A baseline with too few executions counts as an error rate of 0
(the whole watched rate is the rise), and says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

from tui.core import errors as E

EXECUTED = "runtime.automations.executed"
ERROR = "error"
# The events service indexes an event 1-5 s after it happened (api-contract.md): executions of the end of
# the watch window may come late, so a window short of executions is read again until this much later.
INDEX_LAG = 6.0
REREAD_EVERY = 2.0


@dataclass(frozen=True)
class Spec:
    """A stage's error gate: ``watch`` seconds after the import, at most ``max_error_rate`` more errors
    (a fraction of executions) than the baseline, judged on at least ``min_executions`` executions."""

    watch: float
    max_error_rate: float = 0.05
    min_executions: int = 20
    mode: str = "required"  # "skip": not checked, said in the journal


@dataclass(frozen=True)
class Window:
    executions: int
    failed: int  # executed events carrying payload.error
    errors: int  # error events

    @property
    def error_count(self) -> int:
        return max(self.failed, min(self.errors, self.executions))

    @property
    def rate(self) -> float:
        return self.error_count / self.executions if self.executions else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"executions": self.executions, "errors": self.error_count, "rate": round(self.rate, 4)}


@dataclass(frozen=True)
class Reading:
    workspace: str
    baseline: Window
    watched: Window

    def to_json(self) -> dict[str, Any]:
        return {"workspace": self.workspace, "baseline": self.baseline.to_json(), "watched": self.watched.to_json()}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str
    readings: tuple[Reading, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "message": self.message, "readings": [r.to_json() for r in self.readings]}


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def query(
    baseline_start: datetime, import_start: datetime, watch_start: datetime, watch_end: datetime
) -> dict[str, Any]:
    """One search for both windows: executions and error events, counted per window, no documents."""

    def window(start: datetime, end: datetime) -> dict[str, Any]:
        return {"range": {"@timestamp": {"gte": _iso(start), "lt": _iso(end)}}}

    counts = {
        "types": {"terms": {"field": "type", "size": 5}},
        # exists, not a value_count: an instance's mapping may make payload.error.* text (no doc values)
        "failed": {"filter": {"exists": {"field": "payload.error"}}},
    }
    return {
        "query": {
            "bool": {
                "filter": [
                    {"terms": {"type": [EXECUTED, ERROR]}},
                    {"range": {"@timestamp": {"gte": _iso(baseline_start), "lt": _iso(watch_end)}}},
                ]
            }
        },
        "limit": 0,
        "aggs": {
            "windows": {
                "filters": {
                    "filters": {
                        "baseline": window(baseline_start, import_start),
                        "watched": window(watch_start, watch_end),
                    }
                },
                "aggs": counts,
            }
        },
    }


def _window(bucket: Any, name: str) -> Window:
    """A window's counts from its bucket; an answer without them is unreadable, never zero errors."""
    if not isinstance(bucket, dict):
        raise E.UnexpectedResponse(f"the search answered no {name} bucket (aggregations unsupported?)")
    listed = _dict(bucket.get("types")).get("buckets")
    types = {
        b["key"]: b["doc_count"]
        for b in (listed if isinstance(listed, list) else [])
        if isinstance(b, dict) and isinstance(b.get("key"), str) and _count(b.get("doc_count"))
    }
    failed = _dict(bucket.get("failed")).get("doc_count")
    if not _count(failed):
        raise E.UnexpectedResponse(f"the search answered no count of failed executions in the {name} window")
    return Window(int(types.get(EXECUTED) or 0), failed, int(types.get(ERROR) or 0))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> TypeGuard[int]:
    """A document count as a server may send it: a whole number of 0 or more (never a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


async def read(client: Any, slug: str, workspace_id: str, body: dict[str, Any]) -> Reading:
    answer = await client.search(workspace_id, body)
    buckets = _dict(_dict(_dict(answer).get("aggs")).get("windows")).get("buckets")
    if not isinstance(buckets, dict):
        raise E.UnexpectedResponse("the search answered no aggregations (the instance may not compute them)")
    return Reading(slug, _window(buckets.get("baseline"), "baseline"), _window(buckets.get("watched"), "watched"))


Sleep = Callable[[float], Awaitable[object]]


async def watch(
    client: Any,
    spec: Spec,
    workspaces: dict[str, str],
    import_start: str,
    watch_start: str,
    *,
    sleep: Sleep = asyncio.sleep,
) -> Verdict:
    """Wait out the watch window (server clock), read both windows of every workspace (slug -> id), judge.

    ``import_start`` / ``watch_start``: server times (ISO) when the import began and ended."""
    began, start = parse_time(import_start), parse_time(watch_start)
    end = start + timedelta(seconds=spec.watch)
    body = query(began - timedelta(seconds=spec.watch), began, start, end)
    await _until(client, end, sleep)
    try:
        readings = [await read(client, slug, wid, body) for slug, wid in sorted(workspaces.items())]
        while _short(readings, spec) and _behind(client, end) < INDEX_LAG:
            await sleep(REREAD_EVERY)  # late-indexed executions: read the short ones again
            readings = [
                await read(client, r.workspace, workspaces[r.workspace], body) if _short([r], spec) else r
                for r in readings
            ]
    except E.PrismeError as exc:
        return Verdict(
            False,
            f"error signal unknown: the events cannot be read ({exc.message}); failed closed. Give the token "
            'read access to the events, or set signal = "skip" on the stage to go on without the gate (journaled)',
        )
    return judge(spec, readings)


def _short(readings: list[Reading], spec: Spec) -> bool:
    return any(r.watched.executions < spec.min_executions for r in readings)


def _behind(client: Any, end: datetime) -> float:
    """Seconds the server's clock is past ``end``."""
    return (parse_time(client.server_now()) - end).total_seconds()


async def _until(client: Any, end: datetime, sleep: Sleep) -> None:
    while (left := -_behind(client, end)) > 0:
        await sleep(min(left, 5.0))


def judge(spec: Spec, readings: list[Reading]) -> Verdict:
    """Fail on the first workspace short of executions or whose error rate rose more than allowed."""
    notes: list[str] = []
    for r in readings:
        w, b = r.watched, r.baseline
        if w.executions < spec.min_executions:
            return Verdict(
                False,
                f"error signal unknown for {r.workspace}: {w.executions} executions in the {spec.watch:g} s watch, "
                f"{spec.min_executions} needed (min_executions); failed closed. Watch longer (watch), or lower "
                "min_executions where traffic is low",
                tuple(readings),
            )
        base = b.rate if b.executions >= spec.min_executions else 0.0
        if b.executions < spec.min_executions:
            notes.append(f"{r.workspace}: baseline of {b.executions} executions too small, counted as 0 % errors")
        if w.rate - base > spec.max_error_rate:
            return Verdict(
                False,
                f"{r.workspace}: {w.error_count}/{w.executions} executions failed ({w.rate:.0%}) in the "
                f"{spec.watch:g} s after the import, {base:.0%} before: above max_error_rate {spec.max_error_rate:g}",
                tuple(readings),
            )
    summary = ", ".join(f"{r.workspace} {r.watched.rate:.0%} of {r.watched.executions}" for r in readings)
    said = f"error rate within {spec.max_error_rate:g} of the baseline ({summary or 'nothing imported'})"
    return Verdict(True, said + (f"; {'; '.join(notes)}" if notes else ""), tuple(readings))
