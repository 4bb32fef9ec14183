"""Pane 3: the workspaces of the environment, filtered: every match, drawn a screenful at a time.

The table is a ``VirtualTable`` (the public Line API): setting 50,000 rows is a list assignment and only
the rows on screen are drawn, asking ``cells`` for each, so a mark or a filter keystroke costs what a
screenful does (bench/: filter keystroke). ``view`` goes down, ``VirtualTable.Highlighted`` goes up.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.content import Content
from textual.reactive import var

from tui.app.marks import label as mark_label
from tui.app.widgets.virtual_table import Column, VirtualTable
from tui.core.ops import history
from tui.core.text import one_line

if TYPE_CHECKING:
    from tui.core.api.models import Workspace

COLUMNS = (  # fixed widths: no column jitter, and stable screenshots
    Column("slug", "slug", 18),
    Column("state", "state", 12),
    Column("live", "live", 8),
    Column("name", "name", 18),
    Column("labels", "labels", 20),
    Column("push", "last push", 15),
    Column("pull", "last pull", 15),
)


@dataclass(frozen=True)
class WorkspacesView:
    matching: Sequence[Workspace]  # what the group and the filter let through, in order
    total: int  # workspaces of the environment
    filter_text: str = ""
    marked: Container[str] = field(default_factory=frozenset)
    selected: str | None = None


def workspace_row(ws: Workspace) -> tuple[str, ...]:
    # An instance that does not track dirty (2024): "unknown", never "clean".
    dirty = ["dirty"] if ws.dirty else [] if ws.dirty_known else ["unknown"]
    state = dirty + ([f"locked:{ws.write_lock.reason}"] if ws.write_lock else [])
    return (
        ws.slug,
        " ".join(state) or "clean",
        ws.live_version or "-",
        ws.name,
        ",".join(ws.labels),
        history.stamp(ws.last_push),
        history.stamp(ws.last_pull),
    )


def _slug_of(ws: Workspace) -> str:
    return ws.slug


class WorkspaceTable(VirtualTable["Workspace"]):
    view: var[WorkspacesView | None] = var(None, init=False, always_update=True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(COLUMNS, key=_slug_of, cells=self._cells, zebra_stripes=True, **kwargs)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.border_title = "3 Workspaces"

    def _cells(self, ws: Workspace) -> tuple[str, ...]:
        """A row as drawn, asked for the rows on screen only (a mark changes it: ``refresh_rows``)."""
        marked = self.view is not None and ws.slug in self.view.marked
        return (mark_label(ws.slug, marked), *workspace_row(ws)[1:])

    def watch_view(self, view: WorkspacesView | None) -> None:
        if view is None:
            self.clear()
            return
        self.set_rows(view.matching, keep=view.selected)
        text = f"{len(view.matching)}/{view.total}"
        self.border_subtitle = Content(one_line(f"{text} · filter: {view.filter_text}" if view.filter_text else text))

    def show_loading(self, count: int) -> None:
        self.border_subtitle = f"loading… {count} so far"
