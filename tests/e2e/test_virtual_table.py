"""The virtual table on its own: keys, mouse, messages, drawing (inert text, DataTable's look), scale."""

from __future__ import annotations

from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input

from tui.app.widgets.virtual_table import Column, VirtualTable

COLUMNS = [Column("slug", "slug", 10), Column("name", "name", 8), Column("n", "n", 4)]
Row = tuple[str, str, str]


def rows(count: int) -> list[Row]:
    return [(f"ws-{n:05d}", f"Name {n}", str(n % 7)) for n in range(count)]


class Host(App[None]):
    def __init__(self, zebra: bool = True) -> None:
        super().__init__()
        self.zebra = zebra
        self.seen: list[Any] = []

    def compose(self) -> ComposeResult:
        yield VirtualTable(COLUMNS, key=lambda r: r[0], cells=lambda r: r, zebra_stripes=self.zebra, id="t")

    def on_virtual_table_highlighted(self, message: VirtualTable.Highlighted) -> None:
        self.seen.append(("highlighted", message.key, message.index))

    def on_virtual_table_selected(self, message: VirtualTable.Selected) -> None:
        self.seen.append(("selected", message.key, message.index))

    def on_virtual_table_header_clicked(self, message: VirtualTable.HeaderClicked) -> None:
        self.seen.append(("header", message.column.key))
        message.table.sort(message.column.key)


def drawn(widget: Any) -> list[str]:
    return [widget.render_line(y).text for y in range(widget.size.height)]


async def test_keys_move_the_cursor_over_fifty_thousand_rows_and_post_highlighted() -> None:
    app = Host()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.focus()
        table.set_rows(rows(50_000))
        await pilot.pause()
        assert table.row_count == 50_000 and table.virtual_size.height == 50_001  # every row, header included
        assert app.seen[-1] == ("highlighted", "ws-00000", 0)
        await pilot.press("down", "down")
        assert table.cursor_key == "ws-00002"
        await pilot.press("pagedown")
        page = table.scrollable_content_region.height - 1
        assert table.cursor_row == 2 + page
        await pilot.press("pageup", "up")
        assert table.cursor_row == 1
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_key == "ws-49999" and app.seen[-1] == ("highlighted", "ws-49999", 49_999)
        assert "ws-49999" in drawn(table)[-2] or "ws-49999" in "\n".join(drawn(table))  # scrolled into view
        await pilot.press("down")
        assert table.cursor_row == 49_999  # stays on the last row
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_row == 0 and table.scroll_y == 0 and "ws-00000" in drawn(table)[1]
        await pilot.press("enter")
        await pilot.pause()
        assert app.seen[-1] == ("selected", "ws-00000", 0)


async def test_new_rows_keep_the_cursor_on_its_row_when_it_is_still_there() -> None:
    app = Host()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(VirtualTable)
        everything = rows(1000)
        table.set_rows(everything)
        table.move_to_key("ws-00500")
        await pilot.pause()
        table.set_rows([r for r in everything if "5" in r[0]], keep="ws-00500")
        await pilot.pause()
        assert table.cursor_key == "ws-00500" and app.seen[-1][1] == "ws-00500"
        assert "ws-00500" in "\n".join(drawn(table))  # on screen, not scrolled away
        table.set_rows([r for r in everything if "7" in r[0]], keep="ws-00500")
        await pilot.pause()
        assert table.cursor_key == "ws-00007" and app.seen[-1] == ("highlighted", "ws-00007", 0)
        table.set_rows([], keep="ws-00007")
        assert table.cursor_key is None and table.row_count == 0


async def test_cells_are_inert_text_cut_with_an_ellipsis() -> None:
    app = Host()
    async with app.run_test(size=(40, 6)) as pilot:
        table = app.query_one(VirtualTable)
        table.set_rows([("[red]x[/]", "\x1b[2Jb", "1"), ("a-very-long-slug", "n", "2")])
        await pilot.pause()
        lines = drawn(table)
        assert lines[1].startswith(" [red]x[/] ")  # markup shown as written
        assert "\x1b" not in lines[1] and "\\x1b" in lines[1]  # control characters made visible
        assert lines[2].startswith(" a-very-lo… ")  # cut to the column with "…"


async def test_a_click_moves_the_cursor_a_second_selects_and_a_header_click_sorts() -> None:
    app = Host()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.set_rows(rows(30))
        await pilot.pause()
        await pilot.click(table, offset=(2, 3))  # header is line 0: line 3 is row 2
        await pilot.pause()
        assert table.cursor_key == "ws-00002"
        await pilot.click(table, offset=(2, 3))
        await pilot.pause()
        assert app.seen[-1] == ("selected", "ws-00002", 2)
        await pilot.click(table, offset=(23, 0))  # the "n" header (slug 12 cells, name 10)
        await pilot.pause()
        assert ("header", "n") in app.seen
        assert [table.row_key(r) for r in table.rows[:3]] == ["ws-00000", "ws-00007", "ws-00014"]  # by n, stable
        assert table.cursor_key == "ws-00002"  # the cursor stays on its row
        await pilot.click(table, offset=(23, 0))
        await pilot.pause()
        assert table.sorted_by == ("n", True) and table.rows[0][2] == "6"  # a second click reverses


async def test_the_mouse_highlights_the_row_under_it_until_a_key_is_pressed() -> None:
    app = Host(zebra=False)
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.focus()
        table.set_rows(rows(30))
        await pilot.pause()
        plain = first_style(table.render_line(4))
        await pilot.hover(table, offset=(2, 4))
        await pilot.pause()
        hovered = first_style(table.render_line(4))
        assert hovered != plain and hovered is not None and hovered.bgcolor == table._get_styles().hover.bgcolor
        await pilot.press("down")
        await pilot.pause()
        assert first_style(table.render_line(4)) == plain


class Both(App[None]):
    """The same rows in a DataTable and in a VirtualTable in one app (one theme, one CSS)."""

    CSS = "DataTable, VirtualTable { height: 8; width: 60; }"

    def compose(self) -> ComposeResult:
        yield Input(id="elsewhere")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="d")
        yield VirtualTable(COLUMNS, key=lambda r: r[0], cells=lambda r: r, zebra_stripes=True, id="v")


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light", "nord"])
async def test_it_draws_exactly_what_a_datatable_draws(theme: str) -> None:
    """Differential: same rows, same widths; every cell's character and style equal, focused or not, cursor
    on the first row or moved. A Textual upgrade that changes DataTable's look fails here (then copy its new
    CSS values into VirtualTable)."""
    app = Both()
    async with app.run_test(size=(80, 20)) as pilot:
        app.theme = theme
        data, virtual = app.query_one(DataTable), app.query_one(VirtualTable)
        for column in COLUMNS:
            data.add_column(column.label, key=column.key, width=column.width)
        table_rows = [*rows(12), ("[red]x[/]", "Ünïcødé wide 漢字", "1")]
        for row in table_rows:
            data.add_row(*(Text(cell, no_wrap=True, overflow="ellipsis", end="") for cell in row), key=row[0])
        virtual.set_rows(table_rows)

        async def looks(widget: Any) -> list[list[tuple[str, str]]]:
            await pilot.pause()
            return [_look(widget.render_line(y)) for y in range(widget.size.height)]

        for cursor in (0, 3, 12):
            data.move_cursor(row=cursor)
            virtual.move_cursor(row=cursor)
            app.query_one("#elsewhere").focus()
            blurred = await looks(data)
            assert blurred == await looks(virtual), cursor
            data.focus()
            focused = await looks(data)
            virtual.focus()
            assert focused == await looks(virtual), cursor
            assert focused != blurred  # the comparison sees focus


def first_style(strip: Any) -> Any:
    return next(iter(strip)).style


def _look(strip: Any) -> list[tuple[str, str]]:
    """(character, style) per cell, meta left out: what the terminal shows."""
    return [(char, str(segment.style or "")) for segment in strip for char in segment.text]


async def test_the_scroll_range_and_scrollbar_follow_the_rows_without_a_layout() -> None:
    app = Host()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.styles.height = 10  # fixed by CSS, as in the app: the rows do not change the widget's size
        await pilot.pause()
        table.set_rows(rows(50_000))
        await pilot.pause()
        assert table.show_vertical_scrollbar and table.max_scroll_y == 50_001 - table.scrollable_content_region.height
        await pilot.press("end")
        await pilot.pause()
        assert table.scroll_y == table.max_scroll_y
        table.set_rows(rows(3))
        await pilot.pause()
        assert table.max_scroll_y == 0 and table.scroll_y == 0 and not table.show_vertical_scrollbar
        assert drawn(table)[1].startswith(" ws-00000") and drawn(table)[4].strip() == ""
        table.set_rows(rows(100))
        await pilot.pause()
        assert table.show_vertical_scrollbar and table.max_scroll_y == 101 - table.scrollable_content_region.height


class Boxed(App[None]):
    def compose(self) -> ComposeResult:
        from tui.app.widgets.filter_box import FilterBox

        yield FilterBox(id="filter")


async def test_typing_in_the_filter_box_keeps_its_virtual_size_until_the_text_outgrows_it() -> None:
    """Input resizes its virtual width on every edit, which lays the whole screen out again (most of a
    filter keystroke's cost): the box keeps it while the text fits, and still scrolls when it does not."""
    app = Boxed()
    async with app.run_test(size=(40, 6)) as pilot:
        box = app.query_one("#filter", Input)
        box.focus()
        await pilot.press("w")
        await pilot.pause()
        assert box.virtual_size.width == box.scrollable_content_region.width  # not the text's 2 cells
        await pilot.press(*"s-001")
        await pilot.pause()
        assert box.value == "ws-001" and box.virtual_size.width == box.scrollable_content_region.width
        await pilot.press(*("x" * 60))
        await pilot.pause()
        assert box.virtual_size.width == 67 and box.scroll_x > 0  # the cursor stays in view
