"""Pane 4: the version history of the selected workspace (API, publish events and git tags, merged)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from textual.content import Content
from textual.reactive import var

from tui.app.widgets.virtual_table import Column, VirtualTable
from tui.core.ops import history
from tui.core.text import one_line

if TYPE_CHECKING:
    from tui.core.api.models import Version, Workspace

COLUMNS = (  # narrower panes shrink them (then "…") and leave out the last ones
    Column("live", "", 1, min_width=1),
    Column("name", "version", 15, min_width=8),
    Column("date", "date", 18, min_width=18),  # "20 min ago · 09:10"
    Column("repo", "repository", 10, min_width=7, drop=1),
    Column("changes", "changes", 18, min_width=8, drop=2),
    Column("desc", "description", 40, min_width=12, grow=True),
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
    # "content of X" when the content is not the label's version (archive promotion, restore): then the
    # label's row is marked "~", not "*" (live), and the subtitle says where the content came from.
    content_of: str | None = None
    now: datetime | None = None  # for "2 h ago"; None: now


def _key(row: Row) -> str:
    return row[0]


def _cells(row: Row) -> Row:
    return row[1:]


class VersionTable(VirtualTable[Row]):
    view: var[VersionsView | None] = var(None, init=False, always_update=True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(COLUMNS, key=_key, cells=self._cells, **kwargs)  # type: ignore[arg-type]
        self.marked: str | None = None  # the version marked (space) for a two-version diff

    def _cells(self, row: Row) -> Row:
        cells = _cells(row)
        if self.marked is not None and row[0] == self.marked:
            return (cells[0], f"▶ {cells[1]}", *cells[2:])  # the marked version, said in text
        return cells

    def on_mount(self) -> None:
        self.border_title = "4 Versions"

    def watch_view(self, view: VersionsView | None) -> None:
        if view is None:
            self.clear()
            self.border_title = "4 Versions"
            self.border_subtitle = ""
            return
        live = view.workspace.live_version
        mark = "~" if view.content_of else "*"
        now = (view.now or datetime.now()).astimezone()
        rows = [
            (
                version.name,
                mark if version.name == live else "",
                version.name,
                history.ago(version.created_at, now),
                version.source,
                view.changes.get(version.name, ""),
                version.description,
            )
            for version in view.versions
        ]
        self.set_rows(rows, keep=view.selected)
        self.border_title = Content(one_line(f"4 Versions · {view.workspace.slug}"))  # a str would be markup
        self.border_subtitle = Content(one_line(view.why_empty or view.label_line))
