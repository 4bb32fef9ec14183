"""A workspace's version history: what the instance knows (native and pushed versions) plus the
platform repository's tags (versions pushed from other instances, which the API does not list)."""

from __future__ import annotations

from tui.core.api.models import Version, Workspace
from tui.core.config import Config, Environment
from tui.core.gitsource import GitHistory, GitSourceError


def git_versions(config: Config, env: Environment, slug: str) -> list[Version]:
    """Tags of ``slug`` in every configured repository this environment uses (blocking: call in a thread)."""
    found: list[Version] = []
    for repo_id in env.repositories or tuple(config.repositories):
        source = config.repositories.get(repo_id)
        if source is None:
            continue
        try:
            found.extend(GitHistory(source).versions(slug))
        except GitSourceError:
            continue  # an unreachable repository must not hide the instance's own history
    return found


def merge(api_versions: list[Version], git: list[Version]) -> list[Version]:
    """Instance versions first, then git tags they do not already cover, newest first."""
    seen = {(v.name, v.repository_id) for v in api_versions}
    merged = list(api_versions) + [v for v in git if (v.name, v.repository_id) not in seen]
    return sorted(merged, key=lambda v: v.created_at or "", reverse=True)


def last_sync(ws: Workspace) -> str:
    """The most recent of last push and last pull, as "push v1.2 11-28" for the table."""
    events = [("push", ws.last_push), ("pull", ws.last_pull)]
    present = [(kind, info) for kind, info in events if info is not None]
    if not present:
        return ""
    kind, info = max(present, key=lambda item: item[1].created_at or "")
    return f"{kind} {info.version} {(info.created_at or '')[5:10]}"
