"""Activity (events) of a workspace or of the platform, and the local audit journal."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Label, Static

from tui.app import actions
from tui.app.screens.dialog import Dialog
from tui.core.text import one_line, terminal_safe


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

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Label(one_line(self.title_text), id="dialog-title", markup=False)
            if self.note:
                yield Static(terminal_safe(self.note), markup=False)
            yield Input(placeholder="filter: any text (environment, action, workspace, outcome…)", id="table-filter")
            yield DataTable(cursor_type="row", zebra_stripes=True, id="table")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*self.columns)
        self._fill("")
        table.focus()

    def _fill(self, needle: str) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.shown = [row for row in self.rows if not needle or needle.lower() in " ".join(row).lower()]
        rows = self.shown or [["(nothing)"] + [""] * (len(self.columns) - 1)]
        # DataTable reads a str cell as markup: server text goes in as Text, control characters visible.
        table.add_rows([[Text(one_line(cell)) for cell in row] for row in rows])

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
