"""The Releases view (issues 16, 29): releases × environments now, and a time cursor over what ran where.

``[`` and ``]`` step to the previous and next recorded change (an import event, a snapshot), ``t`` takes a
typed time, ``n`` comes back to now. The record is read once, by a worker, the first time the cursor
moves; stepping is then local. The table at T is workspaces × environments (``tui.app.releases.at_table``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Label, Static
from textual.worker import Worker, WorkerState

from tui.app import actions
from tui.app.screens.activity import TableScreen
from tui.core.text import one_line, terminal_safe

if TYPE_CHECKING:
    from tui.core.ops.at import Timeline

CURSOR_NOTE = "[ ] previous/next change · t a time · n now. ● changed at this instant; * later imports unknown."


class ReleasesScreen(TableScreen, inherit_bindings=False):
    SCOPE = "releases"
    BINDINGS = actions.bindings("releases")
    DEFAULT_CSS = "#time-input { display: none; height: 3; } #time-input.-open { display: block; }"

    def __init__(
        self,
        columns: list[str],
        rows: list[list[str]],
        note: str,
        *,
        selectable: bool,
        load: Callable[[], Awaitable[Timeline]],
        table_at: Callable[[Timeline, dt.datetime], tuple[list[str], list[list[str]]]],
    ) -> None:
        super().__init__("Releases", columns, rows, note, selectable=selectable)
        self.now_view = (columns, rows, note)
        self.load, self.table_at = load, table_at
        self.timeline: Timeline | None = None
        self.cursor: dt.datetime | None = None  # None: now (the releases)
        self._then: Callable[[], None] | None = None  # what to do once the record is read

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Label(one_line(self.title_text), id="dialog-title", markup=False)
            yield Static(terminal_safe(self.note), id="table-note", markup=False)
            yield Input(placeholder="time: 2h ago, yesterday 14:00, 2026-12-07T14:00 (enter)", id="time-input")
            yield Input(placeholder="filter: any text (release, workspace, version…)", id="table-filter")
            yield DataTable(cursor_type="row", zebra_stripes=True, id="table")

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

    def _with_record(self, then: Callable[[], None]) -> None:
        if self.timeline is not None:
            then()
            return
        self._then = then
        self.query_one("#dialog-title", Label).update("Releases: reading the import events and manifests…")
        self.run_worker(self.load(), group="timeline", exclusive=True, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
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
            if not earlier:
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
        self._show(f"At {shown(when)}", columns, rows, CURSOR_NOTE)

    def _show(self, title: str, columns: list[str], rows: list[list[str]], note: str) -> None:
        self.columns, self.rows = columns, rows
        self.query_one("#dialog-title", Label).update(one_line(title))
        self.query_one("#table-note", Static).update(terminal_safe(note))
        self._fill(self.query_one("#table-filter", Input).value)  # its columns too, fitted to the width

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if self.cursor is not None:  # at T the rows are workspaces: enter rolls out releases only
            event.prevent_default()  # (TableScreen's handler, run next otherwise, returns the row)

    def action_close(self) -> None:
        self.dismiss(None)
