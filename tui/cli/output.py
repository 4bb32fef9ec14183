"""Human or JSON output. JSON shapes are stable and documented in the README; streams are JSON lines."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from tui.core.ops import format as fmt
from tui.core.text import json_safe, one_line, terminal_safe

if TYPE_CHECKING:
    from tui.core.api.budget import Wait
    from tui.core.api.bulk import BulkEvent, BulkTally

WAIT_LINE_EVERY = 10  # seconds between two lines of a wait on a stderr that is not a terminal


class Printer:
    def __init__(
        self, *, json_mode: bool, out: TextIO | None = None, err: TextIO | None = None, jq: str | None = None
    ) -> None:
        from tui.cli import jqfilter

        self.json_mode = json_mode or bool(jq)
        self.jq = jqfilter.compile_filter(jq) if jq else None
        self.pager_tool: str | None = None  # a diff tool (`[diff] tool`) shown instead of the pager
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.tty = self.out.isatty() and not json_mode
        self._bar_shown = False
        self._last_wait_line: float | None = None
        self._wait_ends: float | None = None  # when the rate-limit wait last reported ends (monotonic)

    def data(self, payload: Any) -> None:
        """One JSON document: ``payload`` in its type's one shape (``exporters.export``)."""
        from tui.cli.exporters import export

        payload = export(payload)
        if self.jq is not None:
            for text in self.jq(payload):
                self.out.write(terminal_safe(text) + "\n")  # a raw string from jq goes to the terminal as is
        else:
            self.out.write(json_safe(json.dumps(payload, ensure_ascii=False, default=str)) + "\n")
        self.out.flush()

    def error(self, payload: Any) -> None:
        """An error document: never filtered by --jq, so a script always sees what went wrong."""
        self.jq = None
        self.data(payload)

    def line(self, text: str = "") -> None:
        """Every human line goes through the sanitiser: most of them carry server text."""
        self._clear_bar()
        self.out.write(terminal_safe(text) + "\n")
        self.out.flush()

    def note(self, text: str) -> None:
        self._clear_bar()
        self.err.write(terminal_safe(text) + "\n")
        self.err.flush()

    def wait(self, wait: Wait) -> None:
        """A rate-limit wait, live on stderr (JSON output included: stdout stays one document).

        On a terminal the line counts down in place; elsewhere a line every few seconds."""
        self._wait_ends = time.monotonic() + wait.seconds
        text = f"{wait.env}: {wait.text}" if wait.env else wait.text
        if self.err.isatty():
            self.err.write("\r" + text.ljust(70) + "\r")
            self.err.flush()
            self._bar_shown = True
            return
        if wait.first or self._last_wait_line is None or self._last_wait_line - wait.seconds >= WAIT_LINE_EVERY:
            self._last_wait_line = wait.seconds
            self.err.write(text + "\n")
            self.err.flush()

    def in_rate_wait(self) -> bool:
        """A rate-limit wait is running now: the request it holds back has not been sent."""
        return self._wait_ends is not None and time.monotonic() < self._wait_ends

    def raw(self, text: str) -> None:
        """A block of text (a patch) written as it is, control characters made visible."""
        self._clear_bar()
        self.out.write(terminal_safe(text))
        self.out.flush()

    def table(self, rows: list[list[str]], headers: list[str]) -> None:
        rows = [[one_line(cell) for cell in row] for row in rows]  # a newline in a cell would break the columns
        widths = (
            [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
            if rows
            else [len(h) for h in headers]
        )
        self.line("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
        for row in rows:
            self.line("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())

    # -- bulk progress -----------------------------------------------------------------------------
    def bulk_event(self, event: BulkEvent, tally: BulkTally) -> None:
        if self.json_mode and event.kind == "notice":  # our own words: stderr, the stream stays documents
            self.note(fmt.bulk_line(event, tally))
            return
        if self.json_mode:
            from tui.cli.exporters import bulk_event

            self.data(bulk_event(event, tally))
            return
        if event.kind == "completed":
            self.summary(event, tally.locked)
            return
        text = fmt.bulk_line(event, tally)  # the words of the app's log (tui.core.ops.format)
        if event.kind in ("notice", "processing"):
            self.note(text)
        elif text:
            self.line(text)
        if event.kind == "progress":
            self._bar(tally)

    def _bar(self, tally: BulkTally) -> None:
        if not self.tty or not tally.total:
            return
        width = 30
        filled = int(width * tally.fraction)
        self.err.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {tally.current}/{tally.total}")
        self.err.flush()
        self._bar_shown = True

    def _clear_bar(self) -> None:
        if self._bar_shown:
            self.err.write("\r" + " " * 80 + "\r")
            self._bar_shown = False

    def summary(self, event: BulkEvent, locked: list[str] | None = None) -> None:
        for text in fmt.summary_lines(event, locked):
            self.line(text)
