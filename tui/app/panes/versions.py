"""Pane 4: the version history of the selected workspace (API, publish events and git tags, merged)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.content import Content
from textual.reactive import var

from tui.app.widgets.virtual_table import Column, VirtualTable
from tui.core.text import one_line

if TYPE_CHECKING:
    from tui.core.api.models import Version, Workspace

COLUMNS = (
    Column("live", "", 1),
    Column("name", "version", 15),
    Column("date", "date", 16),
    Column("repo", "repository", 10),
    Column("changes", "changes", 18),
    Column("desc", "description", 40),
)
Row = tuple[str, ...]  # (key, *cells): the version's name, then what is drawn


@dataclass(frozen=True)
class VersionsView:
    workspace: Workspace
    versions: Sequence[Version]
    label_line: str  # the version label and whether the content is that version, in words
    changes: Mapping[str, str] = field(default_factory=dict)
    why_empty: str = ""  # said instead of an empty list
    selected: str | None = None  # the version the cursor stays on when it is still listed


def _key(row: Row) -> str:
    return row[0]


def _cells(row: Row) -> Row:
    return row[1:]


class VersionTable(VirtualTable[Row]):
    view: var[VersionsView | None] = var(None, init=False, always_update=True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(COLUMNS, key=_key, cells=_cells, **kwargs)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.border_title = "4 Versions"

    def watch_view(self, view: VersionsView | None) -> None:
        if view is None:
            self.clear()
            self.border_title = "4 Versions"
            self.border_subtitle = ""
            return
        live = view.workspace.live_version
        rows = [
            (
                version.name,
                "*" if version.name == live else "",
                version.name,
                (version.created_at or "")[:16],
                version.source,
                view.changes.get(version.name, ""),
                version.description,
            )
            for version in view.versions
        ]
        self.set_rows(rows, keep=view.selected)
        self.border_title = Content(one_line(f"4 Versions · {view.workspace.slug}"))  # a str would be markup
        self.border_subtitle = Content(one_line(view.why_empty or view.label_line))
