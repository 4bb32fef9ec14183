"""Checkboxes that read without colour: ``[✓]`` ticked, ``[ ]`` not, in every theme and under NO_COLOR.

Textual draws both states as the same block (``▐X▌``) and tells them apart by the colour of the X, which
a theme, 16 colours or NO_COLOR can erase. These draw the state as text, in the label's own colours.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.content import Content
from textual.strip import Strip
from textual.widgets import Checkbox, OptionList, SelectionList
from textual.widgets.option_list import OptionDoesNotExist

TICKED, UNTICKED = "[✓]", "[ ]"


class TickBox(Checkbox):
    # As wide as its container, wrapping a long label rather than cutting it.
    DEFAULT_CSS = "TickBox { width: 1fr; height: auto; }"

    @property
    def _button(self) -> Content:
        return Content.styled(TICKED if self.value else UNTICKED, self.get_visual_style("toggle--label"))

    def render(self) -> Content:
        # The space ends the box's run (a leading one is dropped by SVG viewers: "[ ]Roll").
        style = self.get_visual_style("toggle--label")
        box = Content.styled(f"{TICKED if self.value else UNTICKED} ", style)
        return Content.assemble(box, self._label.stylize_before(style))


class TickList(SelectionList):
    def _get_left_gutter_width(self) -> int:
        return len(TICKED) + 1

    def render_line(self, y: int) -> Strip:
        line = OptionList.render_line(self, y)  # the prompt; the box in front of it is drawn here
        try:
            selection = self.get_option_at_index(int(self.scroll_offset.y) + y)
        except OptionDoesNotExist:
            return line
        style = next(iter(line)).style or self.rich_style
        box = TICKED if selection.value in self._selected else UNTICKED
        return Strip([Segment(f"{box} ", style), *line])
