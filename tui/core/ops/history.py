"""A workspace's version history: what the instance knows (native and pushed versions) plus the
platform repository's tags (versions pushed from other instances, which the API does not list)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the app draws its first frame before the models are loaded
    from collections.abc import Mapping

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
    from tui.core.api.errors import EventsUnavailable

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


def stamp(info: PushInfo | None) -> str:
    """A last push or pull for the table: "v1.2.0 03-02 09:10"."""
    if info is None:
        return ""
    when = info.created_at or ""
    return f"{info.version} {when[5:10]} {when[11:16]}".strip()


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
