"""A platform repository's workspaces at a ref, as a plan and a release read them: each one's files, the
version its ``.import.yml`` names and its groups. Its own module: plans, releases and sticky imports read it,
and a release also refuses plans (one place each, no import circle)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from tui.core import errors as E
from tui.core.api.models import strings
from tui.core.diff import Files
from tui.core.gitsource import GitHistory
from tui.core.ops.context import Context


@dataclass(frozen=True)
class RepoWorkspace:
    slug: str
    version: str | None
    groups: tuple[str, ...]
    files: Files


def read_repository(
    ctx: Context, repository: str, ref: str = "latest", *, only: list[str] | None = None
) -> list[RepoWorkspace]:
    """Every workspace of the repository at ``ref`` (or ``only`` these), with its ``.import.yml`` version and groups."""
    source = ctx.config.repositories.get(repository)
    if source is None:
        raise E.UsageError(
            f"No local copy of repository {repository!r} is configured: a plan reads its content from git.",
            hint=f'Add [repositories.{repository}] with path = "/path/to/clone" (or url) to the config.',
        )
    history = GitHistory(source)
    names = history.slugs(ref)  # one ls-tree: a workspace missing from the repository is simply not listed
    return [_workspace_at(history, slug, ref) for slug in names if only is None or slug in only]


def _workspace_at(history: GitHistory, slug: str, ref: str) -> RepoWorkspace:
    files = history.files(slug, ref)
    meta = safe_yaml(files.get(".import.yml", b""))
    version = (meta.get("version") or {}).get("name") if isinstance(meta.get("version"), dict) else None
    groups = strings(meta.get("groups"))  # `groups: 5` from a repository: none, never a traceback
    return RepoWorkspace(slug, str(version) if version else None, groups, files)


def safe_yaml(data: bytes) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(data.decode("utf-8", "replace")) if data else None
    except yaml.YAMLError:
        return {}
    return doc if isinstance(doc, dict) else {}
