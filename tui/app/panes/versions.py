"""Pane 4: the version history of the selected workspace (API, publish events and git tags, merged)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from textual.content import Content
from textual.reactive import var

from tui.app.widgets.virtual_table import HEADER, Column, VirtualTable
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
Row = tuple[str, ...]  # (key, *cells): the version's name, then what is drawn (the date as ISO: aged when drawn)
DATE = 2  # the date's place among the cells
AGE_EVERY = 30.0  # seconds between two looks at the ages ("7 min ago" moves on while the app stays open)


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
    clock: Callable[[], datetime] | None = None  # the app's clock, read at each draw (wins over ``now``)


def _key(row: Row) -> str:
    return row[0]


def _cells(row: Row) -> Row:
    return row[1:]


class VersionTable(VirtualTable[Row]):
    view: var[VersionsView | None] = var(None, init=False, always_update=True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(COLUMNS, key=_key, cells=self._cells, **kwargs)  # type: ignore[arg-type]
        self.marked: str | None = None  # the version marked (space) for a two-version diff
        self._ages: dict[str, str] = {}  # version -> the age last drawn

    def _now(self) -> datetime:
        view = self.view
        if view is not None and view.clock is not None:
            return view.clock().astimezone()
        return ((view.now if view else None) or datetime.now()).astimezone()

    def _cells(self, row: Row) -> Row:
        cells = _cells(row)
        age = self._ages[row[0]] = history.ago(cells[DATE] or None, self._now())
        cells = (*cells[:DATE], age, *cells[DATE + 1 :])
        if self.marked is not None and row[0] == self.marked:
            return (cells[0], f"▶ {cells[1]}", *cells[2:])  # the marked version, said in text
        return cells

    def on_mount(self) -> None:
        self.border_title = "4 Versions"
        self.set_interval(AGE_EVERY, self.refresh_ages)

    def refresh_ages(self) -> None:
        """Redraw the rows on screen whose age has moved on ("7 min ago" → "8 min ago"), those alone: the
        bytes written to the terminal stay a few lines, not the pane. Rows off screen are aged when drawn."""
        now, top = self._now(), int(self.scroll_y)
        for row in range(top, min(len(self.rows), top + max(0, self.size.height - HEADER))):
            key, iso = self.rows[row][0], _cells(self.rows[row])[DATE]
            if history.ago(iso or None, now) != self._ages.get(key):
                self._refresh_row(row)
        # Lines kept for rows off screen would come back with their old age: drawn again when shown.
        for cached in [k for k in self._lines if k[0] >= 0 and not top <= k[0] < top + self.size.height]:
            del self._lines[cached]

    def watch_view(self, view: VersionsView | None) -> None:
        if view is None:
            self.clear()
            self.border_title = "4 Versions"
            self.border_subtitle = ""
            return
        live = view.workspace.live_version
        mark = "~" if view.content_of else "*"
        rows = [
            (
                version.name,
                mark if version.name == live else "",
                version.name,
                version.created_at or "",  # aged when drawn (``_cells``), so that the age moves on
                version.source,
                view.changes.get(version.name, ""),
                version.description,
            )
            for version in view.versions
        ]
        self.set_rows(rows, keep=view.selected)
        self.border_title = Content(one_line(f"4 Versions · {view.workspace.slug}"))  # a str would be markup
        self.border_subtitle = Content(one_line(view.why_empty or view.label_line))
