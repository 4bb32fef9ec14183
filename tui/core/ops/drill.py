"""Rollback drill (issue 29): roll a workspace back to its previous version and restore the current one,
each leg verified from the workspace's state, and measure how long recovering takes.

A leg is timed from its first request to the state that proves it (``actions.pull`` verifies the live
version, the pull and the lock). The result goes to the audit journal and to ``drills.json`` in the data
folder (the newest first, bounded), which ``drill --latest`` and the README's figures read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core import errors as E
from tui.core import paths
from tui.core.ops.context import Context
from tui.core.ops.requests import Request

KEEP = 100  # drills kept in drills.json


@dataclass
class Leg:
    name: str  # "rollback" | "restore"
    version: str
    seconds: float = 0.0  # the operation's own time: the rate-limit waits are apart (``waited``)
    ok: bool = False
    message: str = ""
    waited: float = 0.0  # seconds waiting for the gateway's limits (another job may have spent them)

    def to_json(self) -> dict[str, Any]:
        return {"leg": self.name, "version": self.version, "seconds": round(self.seconds, 2),
                "waitedSeconds": round(self.waited, 2), "ok": self.ok, "message": self.message}  # fmt: skip

    def state(self) -> str:
        """What the leg did, in words: "Rolled back to v1, verified", "Restored v2, verified", or FAILED."""
        if not self.ok:
            return "FAILED"
        return (
            f"Rolled back to {self.version}, verified"
            if self.name == "rollback"
            else f"Restored {self.version}, verified"
        )


@dataclass
class Drill:
    env: str
    workspace: str
    current: str
    previous: str
    started_at: str = ""
    legs: list[Leg] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return len(self.legs) == 2 and all(leg.ok for leg in self.legs)

    @property
    def total(self) -> float:
        return sum(leg.seconds for leg in self.legs)

    @property
    def waited(self) -> float:
        return sum(leg.waited for leg in self.legs)

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "workspace": self.workspace,
            "current": self.current,
            "previous": self.previous,
            "startedAt": self.started_at,
            "ok": self.ok,
            "totalSeconds": round(self.total, 2),
            "waitedSeconds": round(self.waited, 2),
            "legs": [leg.to_json() for leg in self.legs],
        }


async def prepare(ctx: Context, env: str, slug: str, *, discard_local_changes: bool = False) -> Drill:
    """What the drill will do: the version running now (known, or refused) and the one before it."""
    from tui.core.ops import history

    ctx.require_writable(env)
    async with ctx.client(env) as client:
        ws = await client.find_workspace(slug)
        current = (await history.live_versions(client, [ws]))[slug]
        edits = await _edits(client, ws)
    if current is None:
        raise E.UsageError(
            f"{env}:{slug} runs a version nobody can name: a drill could not restore it.",
            hint=f"Push it first (prisme-deploy push {slug} --env {env} --name NAME), then drill.",
        )
    if edits != "none" and not discard_local_changes:
        said = "has" if edits == "some" else "may have (the instance does not say)"
        raise E.UsageError(
            f"{env}:{slug} {said} edits since {current}: the drill restores {current}, and they would be lost.",
            hint="Push them first, or --discard-local-changes to drill anyway.",
        )
    found = await history.load(ctx, env, slug)
    names = [v.name for v in found.versions]
    older = names[names.index(current) + 1 :] if current in names else []
    previous = next((name for name in older if name != current), None)
    if previous is None:
        raise E.UsageError(f"{env}:{slug} has no version before {current} to roll back to.")
    return Drill(env, slug, current, previous)


async def _edits(client: Any, ws: Any) -> str:
    """Edits since the import: "some", "none", or "unknown" (treated as some). The status says which; where
    the instance has none, the ``dirty`` flag (a maybe), and without it nothing is known."""
    try:
        return "some" if (await client.status(ws.id)).get("changes") else "none"
    except E.PrismeError:
        if ws.dirty_known:
            return "some" if ws.dirty else "none"
        return "unknown"


def _repository(found: Any, name: str) -> str | None:
    return next((v.repository_id for v in found.versions if v.name == name), None)


async def run(ctx: Context, drill: Drill, *, on_step: Any = None, request: Request | None = None) -> Drill:
    """Both legs, timed; the restore runs even when the rollback failed half way (never left rolled back).
    ``request``: its reason and broken glass reach both pulls and the journal."""
    from tui.core.api import budget
    from tui.core.ops import history

    found = await history.load(ctx, drill.env, drill.workspace)
    drill.started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    reason = request.reason if request is not None else None
    with ctx.audit.record(
        "drill", drill.env, targets=[drill.workspace], version=drill.previous, reason=reason
    ) as entry:
        # Both legs are pulls of a named version (journalled as rollbacks); the second one restores, and says so.
        legs = (("rollback", drill.previous, "Rolled back"), ("restore", drill.current, "Restored"))
        for name, version, verb in legs:
            leg = Leg(name, version)
            drill.legs.append(leg)
            start = time.monotonic()
            with budget.waits_counted() as waits:
                outcome = await _leg(ctx, drill, leg, found, verb, on_step, request)
            # The leg's time is the operation's: a rate-limit wait (the 3 imports a minute) is said apart.
            leg.waited = waits.seconds
            leg.seconds = max(0.0, time.monotonic() - start - waits.seconds)
            if outcome is None:  # failed: its message says why (a failed rollback leg still gets its restore)
                continue
            live = outcome.workspace.live_version if outcome.workspace else None
            leg.ok = outcome.ok and live == leg.version  # from the state the verification read, not the answer
            leg.message = outcome.message if leg.ok else f"{outcome.message} (runs {live or 'unknown'})"
        entry.details.update(drill.to_json())
        if not drill.ok:
            entry.outcome = "failed"
    save(drill)
    return drill


async def _leg(
    ctx: Context, drill: Drill, leg: Leg, found: Any, verb: str, on_step: Any, request: Request | None
) -> Any:
    """One leg's pull of its version: the outcome, or None with the error in ``leg.message``."""
    from tui.core.ops import actions

    try:
        return await actions.pull(
            ctx,
            drill.env,
            drill.workspace,
            version=leg.version,
            repository=_repository(found, leg.version),
            action="rollback",
            on_step=on_step,
            request=request,
            verb=verb,
        )
    except E.PrismeError as exc:
        leg.message = exc.message
        return None


def _file() -> Path:
    return paths.data_dir() / "drills.json"


def history_of() -> list[dict[str, Any]]:
    """Every recorded drill, the newest first ([] when none, or the file is unreadable)."""
    try:
        data = json.loads(_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def save(drill: Drill) -> None:
    """Written whole or not at all (a crash mid-write keeps the previous file)."""
    target = _file()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    runs = [drill.to_json(), *history_of()][:KEEP]
    temp = target.with_name(f".drills.{os.getpid()}.tmp")
    try:
        temp.write_text(json.dumps(runs, indent=1), encoding="utf-8")
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
