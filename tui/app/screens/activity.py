"""Activity (events) of a workspace or of the platform, and the local audit journal."""

from __future__ import annotations

from dataclasses import replace

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Label, Static

from tui.app import actions
from tui.app.screens.dialog import Dialog
from tui.app.widgets.cells import cut
from tui.app.widgets.virtual_table import Column, fit_widths
from tui.core.text import one_line, terminal_safe

KEY_WIDTH = 28  # the first column is never cut below this (a snapshot id, a release, a time)


class TableScreen(Dialog[str | None]):
    """A table in a dialog (events, audit, snapshots). With ``selectable``, enter returns the row's first cell."""

    SCOPE = "activity"
    BINDINGS = actions.bindings("activity")

    def __init__(
        self, title: str, columns: list[str], rows: list[list[str]], note: str = "", selectable: bool = False
    ) -> None:
        super().__init__()
        self.title_text, self.columns, self.rows, self.note = title, columns, rows, note
        self.selectable = selectable
        self.shown = rows
        self.fitted: list[int] = []  # the columns' widths as drawn

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Label(one_line(self.title_text), id="dialog-title", markup=False)
            if self.note:
                yield Static(terminal_safe(self.note), markup=False)
            yield Input(placeholder="filter: any text (environment, action, workspace, outcome…)", id="table-filter")
            yield DataTable(cursor_type="row", zebra_stripes=True, id="table")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(DataTable).focus()
        self.call_after_refresh(self._refit)  # the table's width is known once it is laid out

    def on_resize(self) -> None:
        self.call_after_refresh(self._refit)

    def _widths(self) -> list[int]:
        """Each column's width: its widest cell (of every row, so a filter never moves them), fitted to the
        table's width; a column cut below its widest cell shows "…" where a value is cut."""
        table = self.query_one(DataTable)
        columns = [  # the same rule as the main tables': the column with the most to give shrinks first
            Column(
                str(i),
                name,
                max(
                    [cell_len(one_line(row[i])) for row in [*self.rows, self._nothing()] if i < len(row)]
                    + [cell_len(name)]
                ),
            )
            for i, name in enumerate(self.columns)
        ]
        # The first column names the row (what enter returns): kept whole while it is a name, not a paragraph.
        columns[0] = replace(columns[0], min_width=min(columns[0].width, KEY_WIDTH))
        width = table.scrollable_content_region.width or min(self.app.size.width, 100) - 6  # not laid out yet
        return fit_widths(columns, width)

    def _refit(self) -> None:
        if self.is_mounted and self._widths() != self.fitted:
            self._fill(self.query_one("#table-filter", Input).value)

    def _fill(self, needle: str) -> None:
        table = self.query_one(DataTable)
        cursor, self.fitted = table.cursor_row, self._widths()
        table.clear(columns=True)
        for name, width in zip(self.columns, self.fitted, strict=True):
            table.add_column(Text(cut(one_line(name), width)), width=width)
        self.shown = [row for row in self.rows if not needle or needle.lower() in " ".join(row).lower()]
        rows = self.shown or [self._nothing()]
        # DataTable reads a str cell as markup: server text goes in as Text, control characters visible,
        # cut to its column with "…" (a cut value never reads as a whole one).
        fitted = [
            [Text(cut(one_line(cell), width)) for cell, width in zip(row, self.fitted, strict=False)] for row in rows
        ]
        table.add_rows(fitted)
        table.move_cursor(row=min(cursor, len(rows) - 1))

    def _nothing(self) -> list[str]:
        return ["(nothing)"] + [""] * (len(self.columns) - 1)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if self.selectable and self.shown:
            self.dismiss(str(self.shown[event.cursor_row][0]))

    def action_close(self) -> None:
        self.dismiss(None)


class TextScreen(Dialog[None]):
    """Lines read in full: wrapped, inert text (log lines carry server messages), scrollable."""

    SCOPE = "text"
    BINDINGS = actions.bindings("text")

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__()
        self.title_text, self.lines = title, lines

    def compose(self) -> ComposeResult:
        from textual.containers import VerticalScroll
        from textual.content import Content

        with Vertical(id="help"):
            yield Label(self.title_text, id="dialog-title")
            with VerticalScroll(id="text-body"):
                yield Static(Content("\n".join(self.lines) or "(nothing shown)"), id="text-lines")

    def on_mount(self) -> None:
        self.query_one("#text-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
