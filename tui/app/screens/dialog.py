"""The frame every dialog shares: centred, tier-coloured border and badge, buttons bottom right.

Its CSS lives here rather than in app.tcss, so it is parsed when the first dialog opens, not before the
first frame (bench/: start-up).
"""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen

ResultT = TypeVar("ResultT")


class Dialog(ModalScreen[ResultT]):
    DEFAULT_CSS = """
    Dialog { align: center middle; }
    #dialog { width: 76; max-width: 100%; height: auto; max-height: 100%; border: thick $primary; background: $surface;
              padding: 0 1; }
    #dialog.-tier-production { border: thick ansi_red; }
    #dialog.-tier-staging { border: thick ansi_yellow; }
    #dialog-badge { background: $primary; color: $text; text-style: bold; }
    #dialog.-tier-production #dialog-badge { background: ansi_red; color: ansi_bright_white; }
    #dialog.-tier-staging #dialog-badge { background: ansi_yellow; color: ansi_black; }
    #dialog.-tier-development #dialog-badge { background: ansi_green; color: ansi_black; }
    #dialog-title { text-style: bold; padding: 0 0 1 0; width: 100%; }
    #dialog-body { height: auto; max-height: 14; }
    #dialog-summary { padding: 0 0 1 0; }
    #dialog-details { padding: 0 0 1 0; color: $text-muted; }

    .field-label { padding: 1 0 0 0; color: $text-muted; }
    .field-error { color: $error; height: auto; }
    .warning { color: $warning; text-style: bold; }
    #confirm-hint { padding: 1 0 0 0; color: $warning; }
    #dialog SelectionList { height: auto; max-height: 6; }
    #dialog-buttons { height: 3; align: right middle; padding: 1 0 0 0; }
    #dialog-buttons Button { margin: 0 0 0 2; }
    #help { width: 100; max-width: 100%; height: 90%; border: thick $primary; background: $surface; padding: 0 1; }
    #help Markdown { height: 1fr; overflow-y: auto; }
    #help DataTable { height: 1fr; }
    #table-filter { height: 3; }
    """
