"""Workspace groups as the server knows them: the platform workspace's repositories list the groups they
can push or pull (`WorkspaceRepository.groups`). The app shows them without copying
`WORKSPACES_GROUP_*` into the configuration; `[groups.*]` in the config still adds its own, with the
labels that make them filterable (the server never exposes a group's labels).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from rich.text import Text

if TYPE_CHECKING:  # the models load with the first answer, not at start-up (bench/: start-up)
    from tui.core.api.models import Repository
    from tui.core.config import Group


def from_server(repositories: Iterable[Repository]) -> dict[str, list[str]]:
    """Group name -> the repositories that list it, in the server's order."""
    groups: dict[str, list[str]] = {}
    for repo in repositories:
        for name in repo.groups:
            groups.setdefault(str(name), []).append(repo.id)
    return groups


def server_only(config_groups: Mapping[str, Group], repositories: Iterable[Repository]) -> dict[str, list[str]]:
    return {name: repos for name, repos in from_server(repositories).items() if name not in config_groups}


def options(config_groups: Mapping[str, Group], repositories: Iterable[Repository]) -> list[tuple[Any, str]]:
    """Choices for bulk push and import: the config's groups (with labels), then the server's others.
    Labels are Text: a name that came from a server is shown as it is, never read as markup."""
    repositories = list(repositories)
    known = from_server(repositories)
    choices: list[tuple[Any, str]] = []
    for group in config_groups.values():
        mark = "" if not known or group.name in known else ", not on the server"
        choices.append((Text(f"{group.name} ({', '.join(group.labels)}{mark})"), group.name))
    for name, repos in server_only(config_groups, repositories).items():
        choices.append((Text(f"{name} (server: {', '.join(repos)})"), name))
    return choices
