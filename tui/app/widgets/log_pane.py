"""The operations log: Textual's ``Log`` fed in batches, a progress bar and a summary that stays.

Lines are buffered and flushed every 100 ms with ``write_lines`` (one refresh per batch, not per event);
``Log.write_lines`` only follows the tail when the view is already at the end, so scrolling up to read
history is never yanked back. The log is bounded (``max_lines``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Log, ProgressBar


class LogPane(Vertical):
    DEFAULT_CSS = """
    LogPane { height: 1fr; }
    LogPane Log { height: 1fr; }
    LogPane #op-line { height: 1; }
    LogPane #op-line ProgressBar { width: 24; }
    LogPane #op-title { width: 1fr; padding: 0 1; }
    LogPane #op-summary { height: auto; padding: 0 1; }
    """

    def __init__(
        self, *, max_lines: int = 20_000, id: str | None = None, clock: Callable[[], datetime] = datetime.now
    ) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.clock = clock
        self._pending: list[str] = []

    def compose(self) -> ComposeResult:
        log = Log(max_lines=self.max_lines, id="log", highlight=False)
        log.can_focus = True
        yield log
        with Horizontal(id="op-line"):
            yield Label("idle", id="op-title")
            yield ProgressBar(total=1, show_eta=False, id="op-bar")
        yield Label("", id="op-summary")

    def on_mount(self) -> None:
        self.set_interval(0.1, self.flush)

    def add(self, *lines: str) -> None:
        stamp = self.clock().strftime("%H:%M:%S")
        self._pending.extend(f"{stamp} {line}" for line in lines)

    def flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.query_one(Log).write_lines(batch)

    def progress(self, title: str, current: int | None = None, total: int | None = None) -> None:
        self.query_one("#op-title", Label).update(title)
        bar = self.query_one(ProgressBar)
        if title == "idle":
            bar.update(total=1, progress=0)  # a still bar: an indeterminate one animates forever
        else:
            bar.update(total=total if total else None, progress=current or 0)

    def summary(self, text: str, *, ok: bool | None = None) -> None:
        label = self.query_one("#op-summary", Label)
        label.update(text)
        label.set_class(ok is False, "-failed")
        label.set_class(ok is True, "-ok")
