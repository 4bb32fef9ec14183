"""Pane 2: the configured groups with their counts, the server's own groups, the platform repositories and
the selected workspace's own repositories."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.content import Content
from textual.reactive import var
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.app import server_groups
from tui.core.ops.filter import ALL, group_counts
from tui.core.text import one_line

if TYPE_CHECKING:
    from tui.core.api.models import Repository, Workspace

__all__ = ["ALL", "GroupList", "GroupsView"]


@dataclass(frozen=True)
class GroupsView:
    groups: Mapping[str, Any]  # name -> config Group (its labels)
    workspaces: Sequence[Workspace]
    repositories: Mapping[str, Repository]
    current: str = ALL
    own: Mapping[str, Repository] | None = None  # the selected workspace's own repositories
    own_of: str = ""  # that workspace's slug


class GroupList(OptionList):
    view: var[GroupsView | None] = var(None, init=False, always_update=True)

    def watch_view(self, view: GroupsView | None) -> None:
        if view is None:
            return
        self.clear_options()
        self.add_option(Option(Content(f"All workspaces ({len(view.workspaces)})"), id=ALL))
        for name, count in group_counts(view.groups, view.workspaces).items():
            self.add_option(Option(Content(one_line(f"{name} ({count})")), id=f"group:{name}"))
        for name in server_groups.server_only(view.groups, view.repositories.values()):
            # From the server: no labels to filter with (add [groups.NAME] labels for that); bulk ops take it.
            self.add_option(Option(Text(one_line(f"{name} · server"), style="italic"), id=f"srv:{name}", disabled=True))
        if view.repositories:
            self.add_option(None)
            for repo in view.repositories.values():
                text = one_line(f"⎇ {repo.id} {repo.mode} {repo.branch or repo.type}")  # server text
                self.add_option(Option(Content(text), id=f"repo:{repo.id}", disabled=True))
        if view.own:
            self.add_option(None)
            for repo in view.own.values():  # the workspace's own (its repositories field): one workspace each
                text = one_line(f"⎇ {repo.id} {repo.mode} {repo.branch or repo.type} · {view.own_of}'s own")
                self.add_option(Option(Content(text), id=f"own:{repo.id}", disabled=True))
        ids = [ALL] + [f"group:{n}" for n in view.groups]
        current = ALL if view.current == ALL else f"group:{view.current}"
        self.highlighted = ids.index(current) if current in ids else 0
