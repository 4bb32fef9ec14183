"""The workspaces filter box: each edit goes straight to the app.

Input's own ``Changed`` bubbles through every container between the box and the app, one message
queue each; the screen usually paints the echoed character in between and the filtered table a frame
later. Posting to the app directly puts both in the same frame (bench/: filter keystroke). The app
mounts the box the first time ``/`` is pressed, so start-up does not pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message
from textual.widgets import Input


class FilterBox(Input):
    @dataclass
    class Edited(Message):
        value: str

    class Done(Message):
        """Enter: back to the table."""

    @property
    def content_width(self) -> int:
        """Input makes its virtual size this wide on every edit, and a new virtual size lays the whole
        screen out again (20 ms at 120x40, most of a filter keystroke on 50,000 rows). As wide as the box at
        least, it changes only when the text outgrows the box (then the box scrolls as Input's does)."""
        return max(super().content_width, self.scrollable_content_region.width)

    def watch_value(self, value: str) -> None:
        self.app.post_message(self.Edited(value))

    async def action_submit(self) -> None:
        self.post_message(self.Done())  # bubbles to the screen that holds the box (no hurry: one per Enter)
