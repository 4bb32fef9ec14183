"""A table that draws only the rows on screen: 50,000 workspaces cost what 30 do.

Built on Textual's public Line API (``ScrollView`` + ``render_line`` returning ``Strip``s), as Toolong's
log view is. The table holds the caller's row objects as given (a list of ``Workspace``, of tuples…)
and asks ``cells(row)`` for the text of a row only when that row is drawn: setting 50,000 rows, or the
3,000 a filter keystroke leaves, is a list assignment, not 350,000 cells measured and styled (what made
DataTable cap the pane at 400 rows).

Cells are plain text drawn as one segment each (no markup is ever read: a workspace named ``[red]x``
shows literally; control characters are made visible), cut with "…" to fixed column widths. The look is
DataTable's (same CSS values, zebra stripes, cursor and hover colours, header): the SVG snapshots show it.

Keys: up/down, PageUp/PageDown, Home/End (first/last row), ctrl+Home/ctrl+End, left/right scroll
sideways, enter selects. Mouse: a click moves the cursor (a second click on it selects), a header click
posts ``HeaderClicked``, the wheel scrolls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size, Spacing
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.app.widgets.cells import cut
from tui.core.text import one_line

T = TypeVar("T")
HEADER = 1  # rows the header takes
PAD = 1  # cells of padding on each side of a cell


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int  # cells of text, padding excluded, when the pane has the room
    min_width: int = 6  # what it shrinks to (then "…") before a column is left out
    drop: int = 0  # left out when even the minimums do not fit, highest first (0: always shown)
    grow: bool = False  # takes the room left over


def fit_widths(columns: Sequence[Column], room: int) -> list[int]:
    """Each column's width in ``room`` cells: the widths asked for, shrunk (the column with the most to
    give first) down to their minimums, then optional columns left out (0): the table fits its pane, no
    horizontal scrollbar. Room left over goes to the growing column."""
    widths = [c.width for c in columns]
    floor = [min(c.min_width, c.width) for c in columns]

    def need(values: list[int]) -> int:
        return sum(w + 2 * PAD for w in values if w)

    for column in sorted((c for c in columns if c.drop), key=lambda c: -c.drop):
        if need([f for f, w in zip(floor, widths, strict=True) if w]) <= room:
            break
        widths[columns.index(column)] = 0
    excess = need(widths) - room
    while excess > 0:
        slack, index = max((w - f, i) for i, (w, f) in enumerate(zip(widths, floor, strict=True)) if w)
        if slack <= 0:
            break
        widths[index] -= 1
        excess -= 1
    grow = next((i for i, c in enumerate(columns) if c.grow and widths[i]), None)
    if excess < 0 and grow is not None:
        widths[grow] += -excess
    return widths


@dataclass(frozen=True)
class _Styles:
    """The component styles of one drawing pass (they change with focus, theme and CSS)."""

    base: Style
    header: Style
    even: Style
    odd: Style
    cursor: Style
    hover: Style


class VirtualTable(ScrollView, Generic[T], can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first_row", "First row", show=False),
        Binding("end,ctrl+end", "last_row", "Last row", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "vtable--header",
        "vtable--even-row",
        "vtable--odd-row",
        "vtable--cursor",
        "vtable--hover",
    }
    # DataTable's own values, so both look the same.
    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .vtable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .vtable--header { background-tint: $foreground 5%; }
        }
        &:dark > .vtable--even-row { background: $surface-darken-1 40%; }
        & > .vtable--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .vtable--header { background: ansi_bright_blue; color: ansi_default; }
        & > .vtable--even-row { background: $surface-lighten-1 50%; }
        & > .vtable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .vtable--hover { background: $block-hover-background; }
    }
    """

    cursor_row: reactive[int] = reactive(0, always_update=False, repaint=False, init=False)

    class Highlighted(Message):
        """The cursor is on a row (after a move, or after new rows were set)."""

        def __init__(self, table: VirtualTable[Any], key: str, index: int) -> None:
            super().__init__()
            self.table, self.key, self.index = table, key, index

        @property
        def control(self) -> VirtualTable[Any]:
            return self.table

    class Selected(Message):
        """Enter on a row, or a click on the row under the cursor."""

        def __init__(self, table: VirtualTable[Any], key: str, index: int) -> None:
            super().__init__()
            self.table, self.key, self.index = table, key, index

        @property
        def control(self) -> VirtualTable[Any]:
            return self.table

    class HeaderClicked(Message):
        def __init__(self, table: VirtualTable[Any], column: Column) -> None:
            super().__init__()
            self.table, self.column = table, column

        @property
        def control(self) -> VirtualTable[Any]:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        key: Callable[[T], str],
        cells: Callable[[T], Sequence[str]],
        zebra_stripes: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = list(columns)
        self.row_key = key
        self.row_cells = cells
        self.zebra_stripes = zebra_stripes
        self.rows: Sequence[T] = []
        self.sorted_by: tuple[str, bool] | None = None  # (column key, descending) of the last sort
        self._hover: int | None = None  # the row under the mouse, None when the keyboard was used last
        self._lines: dict[tuple[int, int, int], Strip] = {}  # (row or -1, scroll_x, width) -> drawn line
        self._styles: _Styles | None = None
        self._widths = [c.width for c in self.columns]
        self._width = sum(c.width + 2 * PAD for c in self.columns)
        self.virtual_size = Size(self._width, HEADER)

    # ------------------------------------------------------------------ the rows
    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def cursor_key(self) -> str | None:
        return self.row_key(self.rows[self.cursor_row]) if 0 <= self.cursor_row < len(self.rows) else None

    def set_rows(self, rows: Sequence[T], *, keep: str | None = None) -> None:
        """Show ``rows`` (kept as given, not copied: do not mutate the sequence afterwards). The cursor goes
        to the row keyed ``keep`` when it is there, else to the first row; a ``Highlighted`` message follows
        for the row under it (as DataTable does when rows are added)."""
        self.rows = rows
        index = self.index_of(keep) if keep is not None else None
        self._set_cursor(index or 0, post=False)
        self._set_height(len(rows))
        self._changed()
        self._scroll_cursor_into_view()
        self._post_highlighted()

    def clear(self) -> None:
        self.rows = []
        self._set_cursor(0, post=False)
        self._set_height(0)
        self._changed()

    def index_of(self, key: str) -> int | None:
        row_key = self.row_key
        for index, row in enumerate(self.rows):
            if row_key(row) == key:
                return index
        return None

    def get_row_index(self, key: str) -> int:
        index = self.index_of(key)
        if index is None:
            raise KeyError(key)
        return index

    def get_row(self, key: str) -> list[str]:
        """The row's cells as drawn (before cutting to the column width)."""
        return [one_line(text) for text in self.row_cells(self.rows[self.get_row_index(key)])]

    def get_cell(self, key: str, column_key: str) -> str:
        return self.get_row(key)[next(n for n, c in enumerate(self.columns) if c.key == column_key)]

    def move_cursor(self, *, row: int) -> None:
        self.cursor_row = row

    def move_to_key(self, key: str) -> bool:
        """Put the cursor on the row keyed ``key`` (posting ``Highlighted``); False when it is not shown."""
        index = self.index_of(key)
        if index is None:
            return False
        self.cursor_row = index
        return True

    def refresh_rows(self) -> None:
        """Draw again: what ``cells`` returns has changed (a mark, a state)."""
        self._changed()

    def sort(self, column_key: str, *, descending: bool | None = None) -> None:
        """Order the rows by a column's text (a second sort on the same column reverses it); the cursor
        stays on its row."""
        position = next(n for n, c in enumerate(self.columns) if c.key == column_key)
        if descending is None:
            descending = self.sorted_by == (column_key, False)
        keep = self.cursor_key
        cells = self.row_cells
        self.rows = sorted(self.rows, key=lambda row: str(cells(row)[position]), reverse=descending)
        self.sorted_by = (column_key, descending)
        index = self.index_of(keep) if keep is not None else None
        self._set_cursor(index or 0, post=False)
        self._changed()
        self._scroll_cursor_into_view()

    def _set_height(self, rows: int) -> None:
        """The scrollable height. Setting ``virtual_size`` lays out the whole screen again (30 ms at 120x40,
        most of a filter keystroke) though a table whose height the CSS fixes keeps its size: then only the
        scrollbars change."""
        size = Size(self._width, rows + HEADER)
        if size == self.virtual_size:
            return
        height = self.styles.height
        if not self.is_mounted or height is None or height.is_auto or not self.size:
            self.virtual_size = size
            return
        update = getattr(self, "_scroll_update", None)  # Widget's own step of a layout (private: checked)
        if update is None:
            self.virtual_size = size
            return
        self.set_reactive(ScrollView.virtual_size, size)
        update(size)  # what a layout does for this widget: scrollbars, scroll bounds (tests check both)

    # ------------------------------------------------------------------ cursor
    def _set_cursor(self, index: int, *, post: bool) -> None:
        index = max(0, min(index, len(self.rows) - 1))
        if post:
            self.cursor_row = index
        else:
            self.set_reactive(VirtualTable.cursor_row, index)

    def validate_cursor_row(self, value: int) -> int:
        return max(0, min(value, len(self.rows) - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._refresh_row(old)
        self._refresh_row(new)
        self._scroll_cursor_into_view()
        self._post_highlighted()

    def _post_highlighted(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Highlighted(self, key, self.cursor_row))

    def _scroll_cursor_into_view(self) -> None:
        if not self.rows or not self.size.height:
            return
        region = Region(int(self.scroll_x), self.cursor_row + HEADER, max(self.size.width, 1), 1)
        self.scroll_to_region(region, spacing=Spacing(HEADER, 0, 0, 0), animate=False, force=True, x_axis=False)

    def _on_resize(self, event: events.Resize) -> None:
        # A resize (a theme or a pane change too) keeps the selected row on screen: it stays the target.
        self._fit()
        self.call_after_refresh(self._scroll_cursor_into_view)

    def _fit(self) -> None:
        """Columns to the pane's width (a vertical scrollbar's room kept): never wider than the pane."""
        room = self.size.width - self.styles.scrollbar_size_vertical
        if room <= 0:
            return
        widths = fit_widths(self.columns, room)
        if widths != self._widths:
            self._widths = widths
            self._width = sum(w + 2 * PAD for w in widths if w)
            self.virtual_size = Size(self._width, self.virtual_size.height)
            self._changed()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.call_after_refresh(self._cursor_into_view)

    def _cursor_into_view(self) -> None:
        """After the wheel or the scrollbar moved the rows, the cursor follows onto a row that is shown:
        what an action applies to is always a row the user can see."""
        if not self.rows or not self.size.height:
            return
        first = int(self.scroll_y)
        last = first + self._page() - 1
        if not first <= self.cursor_row <= last:
            self.cursor_row = min(max(self.cursor_row, first), last, len(self.rows) - 1)

    def _page(self) -> int:
        return max(self.scrollable_content_region.height - HEADER, 1)

    def _keyboard(self) -> None:
        if self._hover is not None:
            row, self._hover = self._hover, None
            self._refresh_row(row)

    def action_cursor_up(self) -> None:
        self._keyboard()
        self.cursor_row -= 1

    def action_cursor_down(self) -> None:
        self._keyboard()
        self.cursor_row += 1

    def action_page_up(self) -> None:
        self._keyboard()
        self.cursor_row -= self._page()

    def action_page_down(self) -> None:
        self._keyboard()
        self.cursor_row += self._page()

    def action_first_row(self) -> None:
        self._keyboard()
        self.cursor_row = 0

    def action_last_row(self) -> None:
        self._keyboard()
        self.cursor_row = len(self.rows) - 1

    def action_select_cursor(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key, self.cursor_row))

    # ------------------------------------------------------------------ mouse
    def _at(self, event: events.MouseEvent) -> tuple[int, int] | None:
        """(row, column) under the mouse: row -1 is the header, column -1 beyond the last column."""
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        x = offset.x + int(self.scroll_x)
        row = -1 if offset.y < HEADER else offset.y - HEADER + int(self.scroll_y)
        column, edge = -1, 0
        for index, width in enumerate(self._widths):
            if not width:
                continue
            edge += width + 2 * PAD
            if x < edge:
                column = index
                break
        return row, column

    async def _on_click(self, event: events.Click) -> None:
        found = self._at(event)
        if found is None:
            return
        row, column = found
        if row == -1:
            if column >= 0:
                self.post_message(self.HeaderClicked(self, self.columns[column]))
            return
        if row >= len(self.rows):
            return
        event.stop()
        if row == self.cursor_row:
            self.action_select_cursor()
        else:
            self.cursor_row = row

    def _on_mouse_move(self, event: events.MouseMove) -> None:
        found = self._at(event)
        row = found[0] if found and 0 <= found[0] < len(self.rows) else None
        if row != self._hover:
            old, self._hover = self._hover, row
            self._refresh_row(old)
            self._refresh_row(row)

    def _on_leave(self, event: events.Leave) -> None:
        if self._hover is not None:
            row, self._hover = self._hover, None
            self._refresh_row(row)

    # ------------------------------------------------------------------ drawing
    def _changed(self) -> None:
        self._lines.clear()
        self.refresh()

    def _refresh_row(self, row: int | None) -> None:
        if row is None:
            return
        self._lines.pop((row, int(self.scroll_x), self.size.width), None)
        y = row + HEADER - int(self.scroll_y)
        if HEADER <= y < self.size.height:
            self.refresh_line(row + HEADER)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._lines.clear()

    def _on_focus(self, event: events.Focus) -> None:
        self._styles = None
        self._lines.clear()

    def _on_blur(self, event: events.Blur) -> None:
        self._styles = None
        self._lines.clear()

    def _get_styles(self) -> _Styles:
        if self._styles is None:
            get = self.get_component_rich_style
            self._styles = _Styles(
                self.rich_style,
                get("vtable--header"),
                get("vtable--even-row"),
                get("vtable--odd-row"),
                get("vtable--cursor"),
                get("vtable--hover"),
            )
        return self._styles

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = int(self.scroll_x), int(self.scroll_y)
        width = self.size.width
        row = -1 if y < HEADER else y - HEADER + scroll_y
        key = (row, scroll_x, width)
        line = self._lines.get(key)
        if line is None:
            styles = self._get_styles()
            if row >= len(self.rows):
                line = Strip.blank(width, styles.base)
            else:
                line = self._draw(row, styles).crop(scroll_x, scroll_x + width)
                line = line.adjust_cell_length(width, styles.base).simplify()
            if len(self._lines) > 4 * max(self.size.height, 1):
                self._lines.clear()  # a scroll or a resize: the old lines will not come back
            self._lines[key] = line
        return line

    def _draw(self, row: int, styles: _Styles) -> Strip:
        """One whole row (or the header, row -1), as wide as the table or the widget if wider."""
        if row == -1:
            texts: Sequence[str] = [c.label for c in self.columns]
            style = fill = styles.header
        else:
            texts = self.row_cells(self.rows[row])
            row_style = (styles.odd if row % 2 else styles.even) if self.zebra_stripes else styles.base
            over = Style()
            if row == self._hover:
                over += styles.hover
            if row == self.cursor_row:
                over += styles.cursor
            # What DataTable does: the cursor's colours win over the cell's own (cursor priority "css").
            post = Style.from_color(over.color, over.bgcolor)
            style = row_style + over + post
            fill = row_style + over
        pad = " " * PAD
        segments = []
        for index, (room, text) in enumerate(zip(self._widths, texts, strict=False)):
            if not room:
                continue  # left out: the pane is too narrow for it
            value = cut(one_line(text), room)
            # The cell's place as meta (as DataTable's): a segment per cell, like DataTable draws it.
            meta = Style.from_meta({"row": row, "column": index})
            segments.append(Segment(pad + set_cell_size(value, room) + pad, style + meta))
        meta = Style.from_meta({"row": row, "column": 0, "out_of_bounds": True})
        segments.append(Segment(" " * max(0, self.size.width - self._width), fill + meta))
        return Strip(segments)
