"""The operations log: a bounded ring of lines on Textual's Line API, a progress line and a summary that stays.

Lines are buffered and flushed every 100 ms (one refresh per batch, not per event). A bulk stream's
progress events go in as they are and become text only when drawn (``add_deferred``): at 200,000
events only the twenty-odd lines on screen are ever formatted (bench/: ingest).
Follow mode is explicit and named in the pane's title: following, new lines scroll into view; scrolling
up pauses it (history is never yanked back) and the title counts the new lines below; ``f`` (or End)
follows again. Lines do not wrap (one event a line): enter opens what the pane shows, wrapped, to read
long lines in full. The log is a ring of the last ``max_lines`` lines (older ones are dropped). The
progress line is one widget that draws its own bar (Textual's ProgressBar is four, each styled and laid
out at start-up and on every update while 50,000 events stream in).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from tui.app.widgets.cells import cut
from tui.core.text import one_line, terminal_safe

BAR = 24  # cells
PULSE = 6  # cells of the moving block while the total is unknown


class OpLine(Widget):
    """The running operation's title, then a bar and a percentage (a moving block when the total is unknown)."""

    DEFAULT_CSS = "OpLine { height: 1; padding: 0 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = "idle"
        self.current = 0
        self.total: int | None = 0
        self._frame = 0
        self._pulse: Timer | None = None

    def show(self, title: str, current: int = 0, total: int | None = 0) -> None:
        """``total`` 0: nothing running (an empty bar); None: running, size unknown (the block moves)."""
        self.title, self.current, self.total = one_line(title), current, total
        if total is None and self._pulse is None:
            self._pulse = self.set_interval(0.15, self._step)
        elif total is not None and self._pulse is not None:
            self._pulse.stop()
            self._pulse = None
        self.refresh()

    def _step(self) -> None:
        self._frame += 1
        self.refresh()

    def render(self) -> Content:
        room = max(self.size.width - BAR - 6, 1)  # title, space, bar, space, "100%"
        title = cut(self.title, room)
        if self.total is None:
            start = self._frame % (BAR + PULSE) - PULSE
            cells = [start <= i < start + PULSE for i in range(BAR)]
            percent = "    "
        else:
            done = min(self.current, self.total) / self.total if self.total else 0.0
            cells = [i < round(done * BAR) for i in range(BAR)]
            percent = f"{round(done * 100):3d}%" if self.total else "    "
        bar = Content("").join(Content.styled("━", "$accent" if on else "$surface-lighten-2") for on in cells)
        return Content.assemble(title + " " * (room - cell_len(title)), " ", bar, " ", percent)


# A line as stored: its text, or (stamp, render, item) turned into text when first drawn.
Entry = str | tuple[str, Callable[[Any], str], Any]


class LogView(ScrollView, can_focus=True):
    """The lines: a ring (``deque(maxlen=...)``) drawn a visible line at a time (``render_line``), as
    Toolong's log view does; Textual's ``Log`` measured every line written and started a thread to do it."""

    DEFAULT_CSS = """
    /* No horizontal scrollbar: it took one of the two rows the log has at 80x24; enter reads a long line. */
    LogView { background: $surface; color: $text; overflow-x: hidden; overflow-y: scroll; }
    LogView:focus { background-tint: $foreground 5%; }
    """

    BINDINGS = [Binding("end", "follow", "Follow", show=False)]  # over ScrollView's own End: End follows

    def __init__(self, max_lines: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._entries: deque[Entry] = deque(maxlen=max_lines)
        self._widest = 0  # cells of the widest line drawn or written as text so far
        self.end_y = 0.0  # where following last put the view: the reader scrolled up when above it

    def action_follow(self) -> None:
        pane = self.parent
        if isinstance(pane, LogPane):
            pane.set_following(True)

    def to_end(self) -> None:
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.end_y = self.max_scroll_y

    def scrolled_up(self) -> bool:
        """Above where following left it (a resize that grows the view lowers the end, not the reader)."""
        return self.scroll_y < min(self.end_y, self.max_scroll_y)

    def _on_resize(self) -> None:
        # z, a resize, a theme: the view changes size; the pane keeps following (or keeps the reader's place).
        pane = self.parent
        if isinstance(pane, LogPane) and pane.following:
            self.call_after_refresh(self.to_end)

    @property
    def line_count(self) -> int:
        return len(self._entries)

    def extend(self, entries: list[Entry]) -> None:
        self._entries.extend(entries)
        widest = max((cell_len(entry) for entry in entries if entry.__class__ is str), default=0)
        self._widest = max(self._widest, widest)
        self.virtual_size = Size(self._widest, len(self._entries))
        self.refresh()

    def line(self, index: int) -> str:
        """The text of line ``index`` (formatted now if it came in deferred, and kept as text)."""
        entry = self._entries[index]
        if isinstance(entry, str):
            return entry
        stamp, render, item = entry
        text = f"{stamp} {one_line(render(item))}"
        self._entries[index] = text
        return text

    @property
    def lines(self) -> list[str]:
        return [self.line(index) for index in range(len(self._entries))]

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index, width, style = scroll_y + y, self.size.width, self.rich_style
        if index >= len(self._entries):
            return Strip.blank(width, style)
        text = self.line(index)
        cells = cell_len(text)
        if cells > self._widest:  # a deferred line wider than any so far: let it scroll into view
            self._widest = cells
            self.virtual_size = Size(cells, len(self._entries))
        line = Text(text, no_wrap=True)  # text, never markup: the line is server text made one-line safe
        line.stylize(style)
        strip = Strip(line.render(self.app.console), cells).crop_extend(scroll_x, scroll_x + width, style)
        return strip.apply_offsets(scroll_x, index)  # as Textual's Log: offsets for the mouse


class LogPane(Vertical):
    DEFAULT_CSS = """
    LogPane { height: 1fr; }
    LogPane LogView { height: 1fr; }
    LogPane #op-summary { height: auto; padding: 0 1; }
    """
    BINDINGS = [
        Binding("enter", "read", "Read in full", show=False),
        Binding("end", "follow", "Follow", show=False),
    ]

    def __init__(
        self, *, max_lines: int = 20_000, id: str | None = None, clock: Callable[[], datetime] = datetime.now
    ) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.clock = clock
        self._pending: list[Entry] = []
        self.label = "Log"
        self.following = True
        self.unseen = 0  # lines written below the view while paused
        self._paused_at = 0.0  # the view's place when following stopped

    def compose(self) -> ComposeResult:
        yield LogView(self.max_lines, id="log")
        yield OpLine(id="op-line")
        yield Static("", id="op-summary")

    def on_mount(self) -> None:
        self._title()
        self.set_interval(0.1, self.flush)

    def set_label(self, label: str) -> None:
        self.label = label
        self._title()

    def _title(self) -> None:
        if self.following:
            state = "following · f pauses"
        elif self.unseen:
            state = f"PAUSED · {self.unseen} new line(s) below · f follows"
        else:
            state = "paused · f follows"
        self.border_title = f"{self.label} · {state}"

    def add(self, *lines: str) -> None:
        """Lines of server text, shown as text: a line break starts another log line, every other
        control character is made visible (``\x1b``), so nothing reaches the terminal."""
        stamp = self.clock().strftime("%H:%M:%S")
        self._pending.extend(f"{stamp} {one_line(part)}" for line in lines for part in str(line).split("\n"))

    def add_deferred(self, render: Callable[[Any], str], items: Iterable[Any]) -> None:
        """One line per item, ``render(item)`` made into text only when the line is drawn or read.
        ``render`` must give one line (its text is made safe like ``add``'s) from the item alone."""
        stamp = self.clock().strftime("%H:%M:%S")
        self._pending.extend((stamp, render, item) for item in items)

    def lines(self) -> list[str]:
        """Every line the log holds, as text (what a reader scrolling it would see)."""
        self.flush()
        return self.query_one(LogView).lines

    def flush(self) -> None:
        log = self.query_one(LogView)
        if self.following and log.scrolled_up():
            self.following = False  # the reader scrolled up: stay where they read
            self._paused_at = log.scroll_y
            self._title()
        elif not self.following and log.scroll_y > self._paused_at and log.is_vertical_scroll_end:
            self.set_following(True)  # the reader scrolled back down to the last line: follow again
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        log.extend(batch)
        if self.following:
            log.to_end()
        else:
            self.unseen += len(batch)
            self._title()

    def set_following(self, following: bool) -> None:
        self.following = following
        log = self.query_one(LogView)
        if following:
            self.unseen = 0
            log.to_end()
        self._paused_at = log.scroll_y  # f pauses where the view is: only scrolling down from it resumes
        self._title()

    def action_follow(self) -> None:
        self.set_following(True)

    def visible_lines(self) -> list[str]:
        log = self.query_one(LogView)
        top = int(log.scroll_y)
        return [log.line(index) for index in range(top, min(top + max(log.size.height, 1), log.line_count))]

    def action_read(self) -> None:
        """The lines the pane shows, wrapped: a long line (an error, a path) read in full."""
        from tui.app.screens.activity import TextScreen

        self.app.push_screen(TextScreen(f"{self.label} · the lines shown, in full", self.visible_lines()))

    def progress(self, title: str, current: int | None = None, total: int | None = None) -> None:
        """A title with no total: running, size unknown. "idle": nothing running."""
        line = self.query_one(OpLine)
        if title == "idle":
            line.show("idle")  # a still, empty bar: an indeterminate one would move forever
        else:
            line.show(title, current or 0, total if total else None)

    def progress_done(self, ok: bool = True, outcome: str | None = None) -> None:
        """The operation ended: a line with counts keeps its title and counts (what a glance after a bulk
        run reads); one without says the ``outcome``'s title, never the words of a step still running
        ("staging: rollout of r1…", a rate-limit wait). Marked done (or failed), still; ``idle`` is for a
        session where nothing ran yet."""
        line = self.query_one(OpLine)
        if line.title == "idle" and outcome is None:
            return
        title = line.title.removesuffix(" · done").removesuffix(" · failed")
        if outcome is not None and not line.total:
            title = outcome
        line.show(f"{title} · {'done' if ok else 'failed'}", line.current if line.total else 0, line.total or 0)

    def summary(self, text: str, *, ok: bool | None = None) -> None:
        label = self.query_one("#op-summary", Static)
        label.update(Content(terminal_safe(text)))  # server text: never markup
        label.set_class(ok is False, "-failed")
        label.set_class(ok is True, "-ok")
