"""The drift matrix screen: select two cells (enter, enter) to diff them; ``p`` promotes the marked cell
into the cell under the cursor."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Label

from tui.app import actions
from tui.app.screens.help_key import HelpKey
from tui.app.widgets.key_bar import KeyBar
from tui.core.ops.format import MATRIX_LEGEND
from tui.core.ops.matrix import Cell, Matrix
from tui.core.text import one_line


class MatrixScreen(HelpKey, Screen[None]):
    DEFAULT_CSS = """
    #matrix-legend { width: 100%; height: auto; max-height: 3; color: $text-muted; padding: 0 1; }  /* wraps at 80x24 */
    #matrix { height: 1fr; }
    """
    SCOPE = "matrix"
    BINDINGS = actions.bindings("matrix")

    @dataclass
    class DiffRequested(Message):
        source: str
        target: str

    @dataclass
    class PromoteRequested(Message):
        source: str
        target: str

    @dataclass
    class ParityRequested(Message):
        """The parity matrix of the same workspaces and environments (issue 17)."""

        envs: list[str]
        slugs: list[str]

    def __init__(self, title: str, matrix: Matrix, labels: tuple[str, ...] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.matrix = matrix
        self.labels = labels  # what it was built from: built again after an action taken from it
        self.marked: tuple[str, str] | None = None

    def compose(self) -> ComposeResult:
        yield Label(one_line(self.title_text), id="diff-title", markup=False)
        yield Label(MATRIX_LEGEND, id="matrix-legend", markup=False)
        yield DataTable(id="matrix", cursor_type="cell", zebra_stripes=True)
        yield KeyBar()

    def on_mount(self) -> None:
        self.show(self.matrix)
        self.query_one(DataTable).focus()

    def show(self, matrix: Matrix) -> None:
        """Draw ``matrix`` (again, after an action taken from here: the cursor stays on its cell)."""
        self.matrix = matrix
        table = self.query_one(DataTable)
        cursor = table.cursor_coordinate
        table.clear(columns=True)
        table.add_column("workspace", key="slug")
        for env in matrix.envs:
            table.add_column(env, key=env)
        for slug in matrix.slugs:
            cells = [self._cell(matrix.cell(slug, env)) for env in matrix.envs]
            table.add_row(Text(one_line(slug)), *cells, key=slug)  # a str cell would be read as markup
        table.cursor_coordinate = cursor

    @staticmethod
    def _cell(cell: Cell) -> Text:
        """Real drift (content differs from the left) is the loud one; content that is not its label is a
        warning; the platform's dirty flag alone is neutral."""
        if cell.error or cell.differs_from_left:
            style = "bold red"
        elif cell.label_differs or (cell.dirty and cell.label_differs is None):
            style = "yellow"
        else:
            style = ""
        return Text(one_line(cell.text), style=style)

    @on(DataTable.CellSelected)
    def _enter(self, event: DataTable.CellSelected) -> None:
        event.stop()
        self.action_mark()  # DataTable takes enter first: enter marks (a second enter diffs)

    def _cursor(self) -> tuple[str, str] | None:
        table = self.query_one(DataTable)
        row, column = table.cursor_coordinate
        if column == 0 or row >= len(self.matrix.slugs):
            return None
        return self.matrix.slugs[row], self.matrix.envs[column - 1]

    def action_mark(self) -> None:
        here = self._cursor()
        if here is None:
            return
        if self.marked is None or self.marked == here:
            self.marked = here
            self.notify(f"Marked {here[1]}:{here[0]}; select another cell and press enter to diff.")
            return
        source, self.marked = self.marked, None
        self.post_message(self.DiffRequested(f"{source[1]}:{source[0]}", f"{here[1]}:{here[0]}"))

    def action_diff(self) -> None:
        """The highlighted cell against the marked one, else against its left neighbour (the first
        environment against the second)."""
        here = self._cursor()
        if here is None:
            self.notify("Move to an environment's column first.", severity="warning")
            return
        slug, env = here
        if self.marked is not None and self.marked != here:
            source, self.marked = self.marked, None
            self.post_message(self.DiffRequested(f"{source[1]}:{source[0]}", f"{env}:{slug}"))
            return
        index = self.matrix.envs.index(env)
        if len(self.matrix.envs) < 2:
            return
        if index == 0:
            self.post_message(self.DiffRequested(f"{env}:{slug}", f"{self.matrix.envs[1]}:{slug}"))
        else:
            self.post_message(self.DiffRequested(f"{self.matrix.envs[index - 1]}:{slug}", f"{env}:{slug}"))

    def action_promote(self) -> None:
        here = self._cursor()
        if here is None or self.marked is None:
            self.notify("Mark the source cell (enter), move to the target cell, then press p.", severity="warning")
            return
        self.post_message(self.PromoteRequested(f"{self.marked[1]}:{self.marked[0]}", f"{here[1]}:{here[0]}"))

    def action_parity(self) -> None:
        self.post_message(self.ParityRequested(list(self.matrix.envs), list(self.matrix.slugs)))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Promote writes to an environment: absent when none of the columns is writable (--read-only)."""
        writable = getattr(getattr(self.app, "ctx", None), "writable", None)
        hidden = action in actions.MUTATING and writable and not any(writable(env) for env in self.matrix.envs)
        return not hidden

    def action_close(self) -> None:
        self.dismiss(None)
