"""The Releases view (issues 16, 29): releases × environments now, and a time cursor over what ran where.

``[`` and ``]`` step to the previous and next recorded change (an import event, a snapshot), ``t`` takes a
typed time, ``n`` comes back to now. The record is read once, by a worker, the first time the cursor
moves; stepping is then local. The table at T is workspaces × environments (``tui.app.releases.at_table``).

Every environment stays on screen at 80 columns: the widest cells give way first, cut with "…" (never
silently), and the line under the table spells out the cursor's row in full, every environment named.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Label, Static
from textual.worker import Worker, WorkerState

from tui.app import actions
from tui.app.screens.activity import TableScreen
from tui.app.widgets.cells import cut
from tui.app.widgets.virtual_table import Column, fit_widths
from tui.core.text import one_line, terminal_safe

if TYPE_CHECKING:
    from tui.core.ops.at import Timeline

CURSOR_NOTE = "[ ] previous/next change · t a time · n now. ● deployed at this instant; * later imports unknown."
MIN_WIDTH = 8  # a cell gives way down to this ("deployed", "REJECTED" still whole), then "…"
DROP = {"created": 1}  # left out first where even cut cells do not fit (the line under the table has it)
DIALOG_FRAME = 4  # the dialog's border and padding, both sides (before the table is laid out)


def fitted(labels: list[str], rows: list[list[str]], room: int) -> list[int]:
    """Each column's cells: its widest text (the label's included), shrunk to fit ``room``."""
    natural = [
        max(cell_len(one_line(cell)) for cell in [label, *(r[i] for r in rows if i < len(r))])
        for i, label in enumerate(labels)
    ]
    columns = [Column(str(i), "", w, MIN_WIDTH, DROP.get(labels[i], 0)) for i, w in enumerate(natural)]
    return fit_widths(columns, room)


def clip(text: str, width: int) -> str:
    """``text`` made one line, in ``width`` cells: cut as every table cuts (tui.app.widgets.cells)."""
    return cut(one_line(text), width)


def named(label: str, cell: str) -> str:
    """A cell named by its column, unless it names it already ("not head", "HEAD": not "head not head")."""
    return cell if label and label.lower() in cell.lower().split() else f"{label} {cell}"


class ReleasesScreen(TableScreen, inherit_bindings=False):
    SCOPE = "releases"
    BINDINGS = actions.bindings("releases")
    DEFAULT_CSS = """
    #time-input { display: none; height: 3; } #time-input.-open { display: block; }
    #row-detail { height: auto; max-height: 3; color: $text-muted; }
    ReleasesScreen #help { width: 100%; }  /* a column per environment: all the width there is */
    """

    def __init__(
        self,
        columns: list[str],
        rows: list[list[str]],
        note: str,
        *,
        selectable: bool,
        load: Callable[[], Awaitable[Timeline]],
        table_at: Callable[[Timeline, dt.datetime], tuple[list[str], list[list[str]]]],
        refused: Callable[[str], bool] | None = None,
        reread: Callable[[], Awaitable[tuple[list[str], list[list[str]]]]] | None = None,
    ) -> None:
        super().__init__("Releases", columns, rows, note, selectable=selectable)
        self.now_view = (columns, rows, note)
        self.load, self.table_at = load, table_at
        self.refused = refused  # says why a release cannot be rolled out (True), the view staying open
        self.reread = reread  # the releases and their verdicts, read again (ctrl+r)
        self.widths: list[int] = []  # each column's cells, as last fitted
        self.overflow = False  # the columns, even cut, are wider than the table
        self.timeline: Timeline | None = None
        self.cursor: dt.datetime | None = None  # None: now (the releases)
        self._then: Callable[[], None] | None = None  # what to do once the record is read
        self._told_earliest: tuple[dt.datetime | None] | None = None  # (the cursor) "No earlier record" was said at

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Label(one_line(self.title_text), id="dialog-title", markup=False)
            yield Static(terminal_safe(self.note), id="table-note", markup=False)
            yield Input(placeholder="time: 2h ago, yesterday 14:00, 2026-12-07T14:00 (enter)", id="time-input")
            yield Input(placeholder="filter: any text (release, workspace, version…)", id="table-filter")
            yield DataTable(cursor_type="row", zebra_stripes=True, id="table")
            yield Static("", id="row-detail", markup=False)

    # ----------------------------------------------------------------------------------- the table
    def _room(self) -> int:
        """Cells the columns' text may take: the table's width, less a vertical scrollbar and each
        column's padding. Before the first layout, from the terminal's width (the dialog's: all of it)."""
        table = self.query_one(DataTable)
        width = table.size.width or self.app.size.width - DIALOG_FRAME
        return width - table.styles.scrollbar_size_vertical

    def _fill(self, needle: str) -> None:
        """The rows matching ``needle``, every column fitted to the room (the widest give way first)."""
        table = self.query_one(DataTable)
        self.shown = [row for row in self.rows if not needle or needle.lower() in " ".join(row).lower()]
        rows = self.shown or [self._nothing()]
        room = self._room()
        self.widths = fitted(self.columns, self.rows or rows, room)  # not the filter's: columns stay put
        self.overflow = sum(w + 2 for w in self.widths if w) > room  # even cut, too many columns: they scroll
        kept = [(i, w) for i, w in enumerate(self.widths) if w]  # a column left out (0) is not drawn at all
        table.clear(columns=True)
        table.add_columns(*(Text(clip(self.columns[i], w)) for i, w in kept))
        # DataTable reads a str cell as markup: server text goes in as Text, control characters visible.
        table.add_rows([[Text(clip(row[i] if i < len(row) else "", w)) for i, w in kept] for row in rows])
        self._detail(table.cursor_row)

    def _nothing(self) -> list[str]:
        return ["(nothing)"] + [""] * (len(self.columns) - 1)

    def _refit(self) -> None:
        table = self.query_one(DataTable)
        if table.size.width and fitted(self.columns, self.rows or [self._nothing()], self._room()) != self.widths:
            row = table.cursor_row
            self._fill(self.query_one("#table-filter", Input).value)
            table.move_cursor(row=row)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail(event.cursor_row)

    def _detail(self, index: int) -> None:
        """The cursor's row in full, each cell named by its column: what a cut cell hides is read here."""
        row = self.shown[index] if 0 <= index < len(self.shown) else None
        cells = zip(self.columns[1:], row[1:], strict=False) if row else ()
        text = f"{row[0]}: " + " · ".join(named(label, cell) for label, cell in cells) if row else ""
        if self.overflow:  # said, not left to a scrollbar the eye may miss
            text = "←/→ more columns. " + text
        self.query_one("#row-detail", Static).update(Text(one_line(text)))

    # ----------------------------------------------------------------------------------- the cursor
    def action_time_step(self, step: int) -> None:
        self._with_record(lambda: self._step(step))

    def action_time_type(self) -> None:
        field = self.query_one("#time-input", Input)
        field.add_class("-open")
        field.focus()

    def action_time_now(self) -> None:
        self.cursor = None
        columns, rows, note = self.now_view
        self._show("Releases", columns, rows, note)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.prevent_default()  # TableScreen's handler would filter on the time being typed too
        if event.input.id == "table-filter":
            self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "table-filter":  # the filter typed: back to the rows it left
            self.query_one(DataTable).focus()
            return
        if event.input.id != "time-input":
            return
        from tui.core import errors as E
        from tui.core.ops.at import parse_time

        try:
            when = parse_time(event.value)
        except E.PrismeError as exc:
            self.app.notify(exc.message, title="Time", severity="error")
            return
        event.input.remove_class("-open")
        self.query_one(DataTable).focus()
        self._with_record(lambda: self._go(when))

    def action_refresh(self) -> None:
        """The releases read again (another shell may have accepted or rejected one since the view opened);
        the record the time cursor steps through is read again on its next move."""
        if self.reread is None:
            return
        self.timeline = None
        if self.cursor is None:  # at a time, the title keeps naming it
            self.query_one("#dialog-title", Label).update("Releases: reading them again…")
        self.run_worker(self.reread(), group="reread", exclusive=True, exit_on_error=False)

    def _reread(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.SUCCESS and event.worker.result is not None:
            columns, rows = event.worker.result
            self.now_view = (columns, rows, self.now_view[2])
            if self.cursor is None:  # at a time, shown when n comes back to now
                self._show("Releases", columns, rows, self.now_view[2])
        elif event.state == WorkerState.ERROR:
            if self.cursor is None:
                self.query_one("#dialog-title", Label).update("Releases")
            error = f"the releases could not be read: {event.worker.error}"
            self.app.notify(error, title="Releases", severity="error", markup=False)

    def _with_record(self, then: Callable[[], None]) -> None:
        if self.timeline is not None:
            then()
            return
        self._then = then
        self.query_one("#dialog-title", Label).update("Releases: reading the import events and manifests…")
        self.run_worker(self.load(), group="timeline", exclusive=True, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "reread":
            self._reread(event)
            return
        if event.worker.group != "timeline":
            return
        if event.state == WorkerState.SUCCESS:
            self.timeline = event.worker.result
            then, self._then = self._then, None
            if then:
                then()
        elif event.state == WorkerState.ERROR:
            self.query_one("#dialog-title", Label).update("Releases")
            self.app.notify(f"the record could not be read: {event.worker.error}", title="Time", severity="error")

    def _step(self, step: int) -> None:
        assert self.timeline is not None
        here = self.cursor or dt.datetime.now(dt.UTC)
        instants = self.timeline.instants()
        if step < 0:
            earlier = [i for i in instants if i < here]
            if not earlier:  # said once at this instant (the header says it too): a held [ stacks no toasts
                if self._told_earliest != (self.cursor,):
                    self._told_earliest = (self.cursor,)
                    self.app.notify("No earlier record: before it, what ran is unknown.", title="Time")
                return
            self._go(earlier[-1])
            return
        later = [i for i in instants if i > here] if self.cursor else []
        if later:
            self._go(later[0])
        else:
            self.action_time_now()

    def _go(self, when: dt.datetime) -> None:
        from tui.core.ops.at import shown

        assert self.timeline is not None
        self.cursor = when
        columns, rows = self.table_at(self.timeline, when)
        instants = self.timeline.instants()
        # Records of one second each read apart (milliseconds): a step never looks like it went nowhere.
        title = f"At {shown(when, instants)}"
        if instants and when == instants[0]:
            title += " · the earliest record"
        elif instants and when < instants[0]:
            title += " · before the earliest record: unknown"
        self._show(title, columns, rows, CURSOR_NOTE)

    def _show(self, title: str, columns: list[str], rows: list[list[str]], note: str) -> None:
        self.columns, self.rows = columns, rows
        self.query_one("#dialog-title", Label).update(one_line(title))
        self.query_one("#table-note", Static).update(terminal_safe(note))
        self._fill(self.query_one("#table-filter", Input).value)  # its columns too, fitted to the width

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if self.cursor is not None:  # at T the rows are workspaces: enter rolls out releases only
            event.prevent_default()  # (TableScreen's handler, run next otherwise, returns the row)
            return
        row = self.shown[event.cursor_row] if self.selectable and 0 <= event.cursor_row < len(self.shown) else None
        if row and self.refused and self.refused(str(row[0])):  # said; the view stays open on it
            event.prevent_default()

    # ----------------------------------------------------------------------------------- the keys
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A rollout: absent where none is offered (--read-only); dimmed at a time (the rows are then
        workspaces) or with no release shown."""
        if action != "rollout":
            return True
        if not self.selectable:
            return False
        return None if self.cursor is not None or not self.shown else True

    def action_rollout(self) -> None:
        """Enter's work wherever it is asked (the palette): the table selects its cursor's row, and the
        row goes where enter on the table sends it (refused, or the rollout's dialog)."""
        table = self.query_one(DataTable)
        table.focus()
        table.action_select_cursor()

    def action_filter(self) -> None:
        self.query_one("#table-filter", Input).focus()

    def action_close(self) -> None:
        self.dismiss(None)
