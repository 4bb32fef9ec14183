"""A DataTable whose columns have fixed widths: adding rows measures nothing, drawing a cell is cheap.

DataTable measures every cell of every new row on idle, to size auto-width columns and auto-height
rows. The workspaces table has neither, yet refiltering 10,000 workspaces re-adds up to 400 rows and
that measuring (markup parsing and Rich measurement of 2,800 cells) delayed the next frame by 100 to
200 ms (bench/: filter keystroke). When no column is auto-width and no new row has a label or an auto
height, nothing depends on the measurement, so it is skipped; otherwise DataTable's own code runs.
Cells are passed as ``Text``, so user data (a workspace named ``[red]x``) is never read as markup.

Drawing: DataTable renders each cell through Rich (Padding inside Styled, then line rendering), about
0.3 ms a cell, so repainting the pane after a keystroke took 20 to 40 ms. A one-line cell of plain text
is one segment: the text cut (with "…") or padded to the column, the padding around it, and the same
styles Rich would combine (base and component styles under, the cursor's post style over). Anything
else (headers, styled text, taller rows) goes through DataTable's own code.

These override private DataTable methods: textual is pinned in pyproject.toml, and the SVG snapshots
in tests/ would show any difference from DataTable's own drawing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets._data_table import RowKey

from tui.core.text import one_line


class FixedTable(DataTable[Any]):
    # Home/End move the row cursor (DataTable scrolls sideways, hiding the first columns).
    BINDINGS = [
        Binding("home", "scroll_top", "First row", show=False),
        Binding("end", "scroll_bottom", "Last row", show=False),
    ]

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        keys = list(new_rows)
        if any(column.auto_width for column in self.columns.values()) or any(
            row.auto_height or row.label is not None for row in (self.rows.get(k) for k in keys) if row
        ):
            super()._update_dimensions(keys)
            return
        # What DataTable does once its measuring is done: the scrollable size from the column widths.
        width = sum(column.get_render_width(self) for column in self.columns.values()) + self._row_label_column_width
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(width, self._total_row_height + header)

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        if row_index < 0 or column_index < 0 or self.fixed_rows or self.fixed_columns:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        key = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._cell_render_cache.get(key)
        if cached is not None:
            return cached
        cell = self._get_row_renderables(row_index)[1][column_index]
        if not (isinstance(cell, Text) and not cell.spans and not cell.style and self.rows[row_key].height == 1):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        meta = Style.from_meta({"row": row_index, "column": column_index})
        style = base_style + meta + component_style + post_style
        room = max(width - 2 * self.cell_padding, 0)
        text = cell.plain
        if cell_len(text) > room:
            text = set_cell_size(text, room - 1) + "…" if room else ""
        pad = " " * self.cell_padding
        lines = [[Segment(pad + set_cell_size(text, room) + pad, style)]]
        self._cell_render_cache[key] = lines
        return lines

    def add_text_row(self, *cells: str, key: str) -> None:
        """A row of plain text cells (no markup, control characters made visible), cut with an ellipsis."""
        self.add_row(*(Text(one_line(cell), no_wrap=True, overflow="ellipsis", end="") for cell in cells), key=key)
