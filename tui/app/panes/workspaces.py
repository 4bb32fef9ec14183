"""Pane 3: the workspaces of the environment, filtered: every match, drawn a screenful at a time.

The table is a ``VirtualTable`` (the public Line API): setting 50,000 rows is a list assignment and only
the rows on screen are drawn, asking ``cells`` for each, so a mark or a filter keystroke costs what a
screenful does (bench/: filter keystroke). ``view`` goes down, ``VirtualTable.Highlighted`` goes up.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from textual.content import Content
from textual.reactive import var

from tui.app.widgets.virtual_table import Column, VirtualTable
from tui.core.ops import history
from tui.core.text import one_line

if TYPE_CHECKING:
    from tui.core.api.models import Workspace

MARK = "● "  # before the slug of a marked workspace (Space; the marked set is the Marks controller's)
COLUMNS = (  # widths when there is room; narrower panes shrink them (then "…") and leave out the last ones
    Column("slug", "slug", 18, min_width=14),
    Column("state", "state", 12, min_width=5),
    Column("live", "live", 8),
    Column("name", "name", 18, min_width=12),
    Column("labels", "labels", 20, min_width=8, drop=1),
    Column("push", "last push", 25, min_width=25, drop=3),  # "v1.2.0 20 min ago · 09:10": whole or left out
    Column("pull", "last pull", 25, min_width=25, drop=2),
)


@dataclass(frozen=True)
class WorkspacesView:
    matching: Sequence[Workspace]  # what the group and the filter let through, in order
    total: int  # workspaces of the environment
    filter_text: str = ""
    marked: Container[str] = field(default_factory=frozenset)
    selected: str | None = None
    contents: Mapping[str, str] = field(default_factory=dict)  # slug -> "content of X" (not its label's version)
    now: datetime | None = None  # for "2 h ago"; None: now


def workspace_row(ws: Workspace, content_of: str | None = None, now: datetime | None = None) -> tuple[str, ...]:
    # An instance that does not track dirty (2024): "unknown", never "clean".
    dirty = ["dirty"] if ws.dirty else [] if ws.dirty_known else ["unknown"]
    state = dirty + ([f"locked:{ws.write_lock.reason}"] if ws.write_lock else [])
    now = (now or datetime.now()).astimezone()
    return (
        ws.slug,
        " ".join(state) or "clean",
        content_of or ws.live_version or "-",  # the label no longer names the content: say where it came from
        ws.name,
        ",".join(ws.labels),
        history.stamp(ws.last_push, now),
        history.stamp(ws.last_pull, now),
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
        view = self.view
        marked = view is not None and ws.slug in view.marked
        content_of = view.contents.get(ws.slug) if view is not None else None
        slug = f"{MARK}{ws.slug}" if marked else ws.slug
        return (slug, *workspace_row(ws, content_of, view.now if view else None)[1:])

    def watch_view(self, view: WorkspacesView | None) -> None:
        if view is None:
            self.clear()
            return
        self.set_rows(view.matching, keep=view.selected)
        text = f"{len(view.matching)}/{view.total}"
        self.border_subtitle = Content(one_line(f"{text} · filter: {view.filter_text}" if view.filter_text else text))

    def show_loading(self, count: int) -> None:
        self.border_subtitle = f"loading… {count} so far"
