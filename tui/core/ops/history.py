"""A workspace's version history: what the instance knows (native and pushed versions) plus the
platform repository's tags (versions pushed from other instances, which the API does not list)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the app draws its first frame before the models are loaded
    from tui.core.api.models import Event, PushInfo, Version
    from tui.core.config import Config, Environment


def git_versions(config: Config, env: Environment, slug: str) -> list[Version]:
    """Tags of ``slug`` in every configured repository this environment uses (blocking: call in a thread)."""
    from tui.core.gitsource import GitHistory, GitSourceError

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
