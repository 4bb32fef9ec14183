"""Pane 3: the workspaces of the environment, filtered; rows are added a frame's worth at a time.

The table is the pane's one inner widget behind a small interface: ``view`` (the rows to show),
``show_loading`` (the border), and ``DataTable.RowHighlighted`` going up. Another table
(a virtual one for 50,000 rows) can replace the base class without the screen noticing.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.content import Content
from textual.reactive import var

from tui.app.marks import label as mark_label
from tui.app.widgets.fixed_table import FixedTable
from tui.core.ops import history
from tui.core.text import one_line

if TYPE_CHECKING:
    from tui.core.api.models import Workspace

MAX_ROWS = 400
FIRST_ROWS = 20  # rows added before the frame at least (more if the pane is taller)
ROWS_PER_FRAME = 120
COLUMNS = (
    ("slug", "slug", 18),
    ("state", "state", 12),
    ("live", "live", 8),
    ("name", "name", 18),
    ("labels", "labels", 20),
    ("last push", "push", 15),
    ("last pull", "pull", 15),
)


@dataclass(frozen=True)
class WorkspacesView:
    matching: Sequence[Workspace]  # what the group and the filter let through, in order
    total: int  # workspaces of the environment
    filter_text: str = ""
    marked: Container[str] = field(default_factory=frozenset)
    selected: str | None = None


def shown(matching: Sequence[Workspace]) -> Sequence[Workspace]:
    """The rows the table shows: DataTable's cost grows with rows, so the first MAX_ROWS matches."""
    return matching[:MAX_ROWS]


def workspace_row(ws: Workspace) -> tuple[str, ...]:
    state = (["dirty"] if ws.dirty else []) + ([f"locked:{ws.write_lock.reason}"] if ws.write_lock else [])
    return (
        ws.slug,
        " ".join(state) or "clean",
        ws.live_version or "-",
        ws.name,
        ",".join(ws.labels),
        history.stamp(ws.last_push),
        history.stamp(ws.last_pull),
    )


class WorkspaceTable(FixedTable):
    view: var[WorkspacesView | None] = var(None, init=False, always_update=True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._generation = 0  # bumped by every view: chunks of an older one are dropped
        for label, key, width in COLUMNS:  # fixed widths: no column jitter while rows stream in
            self.add_column(label, key=key, width=width)

    def on_mount(self) -> None:
        self.border_title = "3 Workspaces"

    def watch_view(self, view: WorkspacesView | None) -> None:
        """The rows that fill the pane go in now, the rest after the frame is painted, a chunk per refresh:
        a keystroke in the filter is on screen within one frame (bench/: filter keystroke)."""
        self.clear()
        if view is None:
            return
        rows = shown(view.matching)
        self._generation += 1
        self._add_rows(self._generation, view, rows, max(self.size.height, FIRST_ROWS))
        text = f"{len(rows)}/{view.total}"
        if len(view.matching) > len(rows):
            text = f"first {len(rows)} of {len(view.matching)} matching · / to narrow"
        self.border_subtitle = Content(one_line(f"{text} · filter: {view.filter_text}" if view.filter_text else text))

    def show_loading(self, count: int) -> None:
        self.border_subtitle = f"loading… {count} so far"

    def _add_rows(self, generation: int, view: WorkspacesView, rows: Sequence[Workspace], count: int) -> None:
        if generation != self._generation or not self.is_attached:
            return  # the filter changed since (or the screen is gone): these rows are stale
        start = self.row_count
        chunk = rows[start : start + count]
        for ws in chunk:
            row = workspace_row(ws)
            self.add_text_row(mark_label(ws.slug, ws.slug in view.marked), *row[1:], key=ws.slug)
        if view.selected and any(ws.slug == view.selected for ws in chunk):
            self.move_cursor(row=self.get_row_index(view.selected))
        if self.row_count < len(rows):
            self.call_after_refresh(self._add_rows, generation, view, rows, ROWS_PER_FRAME)
