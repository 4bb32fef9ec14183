"""Settle a pull or rollback from the workspace's state, never from one read of the events.

Events are searchable 1 to 5 s after they happen, and a gateway 408 or ``{processing: true}`` leaves
the work running on the server. So the truth is the workspace itself, read again with backoff until
a deadline: its ``lastPull`` (version and time), its live version, and its write lock. The
``workspaces.imported`` event is a fallback for instances whose API does not return ``lastPull``
(native versions in particular), and its detail (files imported) is welcome but never required.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tui.core import errors as E
from tui.core.api import retry
from tui.core.api.client import PrismeClient
from tui.core.api.models import Event, PullResult, PushInfo, Workspace

BUSY_LOCKS = ("pull_in_progress", "push_in_progress", "import_in_progress", "bulk_in_progress")
FIRST_PAUSE = 0.5
MAX_PAUSE = 5.0
PAUSE_FACTOR = 1.6  # each read of the workspace or its events waits longer than the last, up to MAX_PAUSE
EVENT_RESERVE = 2  # event searches left for others (the TUI's history, the activity screen)
# A pull that looks done is read once more after this pause: a second pull queued behind ours (two
# operators rolling back at once) shows by then, and then ours is not reported as the final state.
CONFIRM_PAUSE = 1.0
# A pull still running (408) on an instance that records no pulls and whose events are down: nothing will
# ever report it; after this long the caller compares the content (it may be done by then).
UNTRACKED_WAIT = 60.0
REPORT_WAIT = 12.0  # the platform's events are searchable 1 to 5 s late; twice that, and more


@dataclass
class Settled:
    """What the workspace says after the pull: ``confirmed`` only if it really is at the version."""

    confirmed: bool
    workspace: Workspace
    detail: str
    event: Event | None = None
    conflict: bool = False
    waited: float = 0.0
    untracked: bool = False  # the instance records no lastPull and its events are unreadable: check content
    # The workspace's files as exported to compare them (untracked only): what reads its content next
    # (its config, on an instance without the config route) reads these, not another export of the same state.
    content: dict[str, bytes] | None = None


def records_pulls(ws: Workspace) -> bool:
    """Whether the instance records pulls on the workspace (2024 did not: no lastPull, no dirty)."""
    return "lastPull" in ws.raw or "lastPush" in ws.raw or "dirty" in ws.raw


def events_down(client: PrismeClient, exc: E.PrismeError) -> None:
    """Events are detail, never proof: an unreadable events service is said once in the outcome."""
    why = client.caps.get("events").evidence or exc.message
    client.note_once(
        f"events could not be read ({why}): progress steps and the platform's import report were not checked"
    )


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def fresh_pull(ws: Workspace, before: PushInfo | None, since: str) -> PushInfo | None:
    """The workspace's lastPull if it happened during this operation (after ``since``, or changed)."""
    pull = ws.last_pull
    if pull is None:
        return None
    at, start = _time(pull.created_at), _time(since)
    if at is not None and start is not None and at >= start:
        return pull
    return pull if before is not None and pull != before else None


def describe(ws: Workspace) -> str:
    lock = f", locked ({ws.write_lock.reason})" if ws.write_lock else ""
    pull = ws.last_pull
    last = f", last pull {pull.version} at {pull.created_at}" if pull else ""
    return f"live version {ws.live_version or 'unknown'}{last}{lock}"


async def settle_pull(
    client: PrismeClient,
    ws: Workspace,
    version: str,
    *,
    since: str,
    answered: PullResult,
    deadline: float,
    on_wait: Callable[[str], object] | None = None,
) -> Settled:
    """Read the workspace (and, as fallback, its imported events) until it is at ``version``.

    ``version`` "latest" is confirmed by any pull recorded after ``since``. A pull recorded after
    ours with another version, once nothing runs on the workspace, means another operation won: not
    confirmed. At the deadline, the result says exactly what the workspace reports."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    end = start + deadline
    pause = FIRST_PAUSE
    before = ws.last_pull
    wanted = None if version == "latest" else version
    current = ws
    candidate: PushInfo | None = None  # a pull that looked done at the previous read
    while True:
        current = await client.get_workspace(ws.id)
        lock = current.write_lock.reason if current.write_lock else None
        if lock == "merge_conflict":
            return Settled(False, current, "merge conflict: the workspace is locked", conflict=True)
        busy = lock in BUSY_LOCKS
        pull = fresh_pull(current, before, since)
        if pull is not None and not busy:
            if wanted is None or (pull.version == wanted and current.live_version == wanted):
                if pull == candidate:
                    return Settled(True, current, describe(current), waited=loop.time() - start)
                candidate = pull
                if loop.time() + CONFIRM_PAUSE > end:
                    break  # pulls landing at every read (another operator's): the deadline still holds
                await asyncio.sleep(CONFIRM_PAUSE)
                continue
            if not answered.pending:
                return Settled(
                    False, current, f"another pull landed after ours: {describe(current)}", waited=loop.time() - start
                )
        if pull is None and not busy:
            event = await _imported_event(client, ws.id, wanted, since)
            if event is not None:
                return Settled(True, current, describe(current), event, waited=loop.time() - start)
            waited_enough = not answered.pending or loop.time() - start >= UNTRACKED_WAIT
            if waited_enough and not records_pulls(current) and client.caps.missing("events"):
                # Nothing here will ever tell: the caller compares the content with the version's.
                detail = "no record of pulls on this instance, and its events cannot be read"
                return Settled(False, current, detail, waited=loop.time() - start, untracked=True)
        if loop.time() + pause > end:
            break
        if on_wait is not None and loop.time() - start >= 2 * FIRST_PAUSE:
            on_wait(f"waiting for {ws.slug} to report {version}: {describe(current)}")
        await asyncio.sleep(pause)
        pause = min(pause * PAUSE_FACTOR, MAX_PAUSE)
    return Settled(False, current, describe(current), waited=loop.time() - start)


async def import_report(
    client: PrismeClient, workspace_id: str, version: str, *, since: str, deadline: float = REPORT_WAIT
) -> Event | None:
    """The workspaces.imported event of a pull already confirmed from state, waited for (events are
    searchable seconds late): after a 408 it is the only place the pull's per-file ``errors`` (a
    SlugAlreadyInUse) can be read. None when it is not searchable by ``deadline`` or the budget is low."""
    wanted = None if version == "latest" else version
    return await retry.poll(
        lambda: _imported_event(client, workspace_id, wanted, since),
        first=FIRST_PAUSE,
        factor=PAUSE_FACTOR,
        cap=MAX_PAUSE,
        seconds=deadline,
        worth_it=lambda: client.budget.room("events") > EVENT_RESERVE,
    )


async def _imported_event(client: PrismeClient, workspace_id: str, version: str | None, since: str) -> Event | None:
    """The workspaces.imported event of this pull, if searchable yet (and if the budget allows a search)."""
    if client.budget.room("events") <= EVENT_RESERVE or client.caps.missing("events"):
        return None
    try:
        found = await client.events(workspace_id, types=["workspaces.imported"], after_date=since, limit=20)
    except E.EventsUnavailable as exc:  # detail, never proof: the state decides (said in the outcome)
        events_down(client, exc)
        return None
    for event in found:
        name = (event.payload.get("version") or {}).get("name")
        if version is None or name == version:
            return event
    return None
