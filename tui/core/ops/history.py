"""A workspace's version history: what the instance knows (native and pushed versions) plus the
platform repository's tags (versions pushed from other instances, which the API does not list)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the app draws its first frame before the models are loaded
    from collections.abc import Iterable, Mapping

    from tui.core.api.client import PrismeClient
    from tui.core.api.models import Event, PushInfo, Repository, Version, Workspace
    from tui.core.config import Config, Environment
    from tui.core.ops.context import Context


OPTIONAL_RESERVE = 6  # event searches a nicety never spends (operations' verifications need them)


@dataclass
class History:
    """What the app's version pane and ``prisme-deploy versions`` both show."""

    workspace: Workspace
    versions: list[Version]
    changes: dict[str, str] = field(default_factory=dict)  # version name -> "3 files +10 -2"
    why_empty: str = ""  # said instead of an empty list
    events_note: str = ""  # the events could not be read: no +/- column, and why


async def load(ctx: Context, env: str, slug: str) -> History:
    """The instance's versions, its publish events and the repository clones' tags, merged."""
    from tui.core.errors import EventsUnavailable

    note = ""
    async with ctx.client(env) as client:
        ws = await client.find_workspace(slug)
        versions = await client.list_versions(ws.id)
        # The +/- column is a nicety: skipped when the event-search budget runs low (browsing the list
        # fast must not use up what a rollback's verification needs), or when events cannot be read.
        published: list[Event] = []
        if client.budget.room("events") > OPTIONAL_RESERVE:
            try:
                published = await client.events(ws.id, types=["workspaces.versions.published"], limit=100)
            except EventsUnavailable:
                why = client.caps.get("events").evidence or "no answer"
                note = f"events could not be read ({why}): versions are listed without their +/- column"
    tags = await asyncio.to_thread(git_versions, ctx.config, ctx.env(env), slug, own=ws.own_repositories)
    merged = merge(versions, tags)
    return History(
        ws,
        merged,
        changes_by_version(published),
        "" if merged else why_empty(ctx.config, ctx.env(env), ws.own_repositories),
        events_note=note,
    )


async def live_versions(client: PrismeClient, workspaces: Iterable[Workspace]) -> dict[str, str | None]:
    """What each workspace runs, by slug: the newer of its ``lastPull`` and ``lastPush`` where the list gives a
    ``lastPull``; else the newer of its ``lastPush`` and its last ``workspaces.imported`` event (no 2026 source
    promises ``lastPull`` on list items). None is UNKNOWN: a rollback to or from it cannot be claimed.
    One event search per workspace listed without ``lastPull``; none once the budget is spent (those stay
    unknown rather than wait)."""
    found: dict[str, str | None] = {}
    for ws in workspaces:
        found[ws.slug] = ws.live_version if ws.last_pull is not None else await _from_events(client, ws)
    return found


async def _from_events(client: PrismeClient, ws: Workspace) -> str | None:
    from tui.core.errors import PrismeError

    try:
        imported = await client.last_import(ws.id)
    except PrismeError:
        return None  # the events service unreadable (a 500 when it is down): unknown
    push = ws.last_push
    if imported is None:
        # Nothing searchable: never imported (then the last push says it), or no budget left (unknown).
        return push.version if push and client.budget.room("events") > 0 else None
    if push and (push.created_at or "") > (imported.created_at or ""):
        return push.version
    return imported.version


def why_empty(config: Config, env: Environment, own: Mapping[str, Repository] | None = None) -> str:
    """Why a history is empty: what the instance and the configuration could not tell. The workspace's own
    repositories (``own``) are named first: they are where its git versions are."""
    own = own or {}
    wanted = list(dict.fromkeys([*own, *(env.repositories or tuple(config.repositories))]))
    missing = [r for r in wanted if r not in config.repositories]
    if missing:
        clone = f" (a clone of {own[missing[0]].url})" if missing[0] in own and own[missing[0]].url else ""
        return (
            f"No versions on {env.name}, and no repository clone configured to read git tags from: "
            f'add [repositories.{missing[0]}] path = "/path/to/clone"{clone}.'
        )
    if not wanted:
        return (
            f"No versions on {env.name}, and no repository to read git tags from: the workspace declares none, "
            'and no [repositories.<id>] path = "/path/to/clone" is configured.'
        )
    return f"No versions on {env.name}, and no tag for this workspace in {', '.join(wanted)}."


def git_versions(
    config: Config, env: Environment, slug: str, *, own: Mapping[str, Repository] | None = None
) -> list[Version]:
    """Tags of ``slug`` in every configured repository this environment uses, and in the clones of the
    workspace's own repositories (``own``: its ``repositories`` field, where the workspace sits at the
    repository root and every plain tag is its own): configured, or local. Blocking: call in a thread."""
    from tui.core.gitsource import GitHistory, GitSourceError
    from tui.core.ops.compare import local_clones

    own = own or {}
    local = {s.id: s for s in local_clones(dict(own))}
    found: list[Version] = []
    ids = list(dict.fromkeys([*(env.repositories or tuple(config.repositories)), *own]))
    for repo_id in ids:
        source = config.repositories.get(repo_id) or local.get(repo_id)
        if source is None:
            continue
        try:
            found.extend(GitHistory(source, root=repo_id in own).versions(slug))
        except GitSourceError:
            continue  # an unreachable repository must not hide the instance's own history
    return found


def merge(api_versions: list[Version], git: list[Version]) -> list[Version]:
    """Instance versions first, then git tags they do not already cover, newest first."""
    seen = {(v.name, v.repository_id) for v in api_versions}
    merged = list(api_versions) + [v for v in git if (v.name, v.repository_id) not in seen]
    return sorted(merged, key=lambda v: v.created_at or "", reverse=True)


def stamp(info: PushInfo | None, now: datetime | None = None) -> str:
    """A last push or pull for the table: "v1.2.0 2 h ago · 09:10" (local time)."""
    if info is None:
        return ""
    return f"{info.version} {ago(info.created_at, (now or datetime.now()).astimezone())}".strip()


def content_label(note: str) -> str:
    """The short form of a content note for a table cell: "content of staging:support-bot", "content of a
    snapshot" (the label names a version the content no longer is)."""
    origin = note.split(";", 1)[0].strip()
    if origin.startswith("content of "):
        return origin.removesuffix(" by archive")
    return "content of a snapshot" if "snapshot" in origin else origin


def ago(iso: str | None, now: datetime) -> str:
    """A date for a table: "2 h ago · 09:10", local time (``--json`` keeps ISO). ``now`` is aware."""
    if not iso:
        return ""
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso[:16]
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(now.tzinfo)
    seconds = (now - when).total_seconds()
    if seconds < 0:
        return f"{local:%m-%d %H:%M}"  # ahead of our clock: the date alone
    if seconds < 90:
        span = "now"
    elif seconds < 90 * 60:
        span = f"{round(seconds / 60)} min ago"
    elif seconds < 36 * 3600:
        span = f"{round(seconds / 3600)} h ago"
    else:
        return f"{round(seconds / 86400)} d ago · {local:%m-%d}"
    return f"{span} · {local:%H:%M}"


def changes_by_version(published: list[Event]) -> dict[str, str]:
    """+/- per version from workspaces.versions.published (where the instance recorded them)."""
    found: dict[str, str] = {}
    for event in published:
        name = (event.payload.get("version") or {}).get("name")
        summary = (event.payload.get("changes") or {}).get("summary")
        if name and summary and name not in found:
            found[name] = (
                f"{summary.get('changes', 0)} files +{summary.get('insertions', 0)} -{summary.get('deletions', 0)}"
            )
    return found
