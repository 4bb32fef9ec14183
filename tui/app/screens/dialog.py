"""The frame every dialog shares: centred, tier-coloured border and badge, buttons bottom right.

Its CSS lives here rather than in app.tcss, so it is parsed when the first dialog opens, not before the
first frame (bench/: start-up).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from textual.screen import ModalScreen

from tui.app.screens.help_key import HelpKey

ResultT = TypeVar("ResultT")


class Dialog(HelpKey, ModalScreen[ResultT]):
    """Every dialog: its scope's ``?``/F1 opens that scope's help (HelpKey)."""

    # ctrl+s in a plan dialog (issue 28): set by the controller that computed the plan shown
    plan_saver: Callable[[], object] | None = None

    def action_save_plan(self) -> None:
        if self.plan_saver is None:
            self.notify("This dialog shows no plan that can be saved.", severity="warning")
        else:
            self.plan_saver()

    DEFAULT_CSS = """
    /* No veil: the screen behind stays legible (4.5:1: a dimmed cursor row read 3.6:1); the dialog's thick
       tier-coloured border sets it apart. */
    Dialog { align: center middle; background: $background 0%; }
    #dialog { width: 76; max-width: 100%; height: auto; max-height: 100%; border: thick $primary; background: $surface;
              padding: 0 1; }
    #dialog.-tier-production { border: thick #d70000; }
    #dialog.-tier-staging { border: thick #d7af00; }
    #dialog-badge { background: $primary; color: $text; text-style: bold; }
    #dialog.-tier-production #dialog-badge { background: #d70000; color: #ffffff; }
    #dialog.-tier-staging #dialog-badge { background: #d7af00; color: #000000; }
    #dialog.-tier-development #dialog-badge { background: #00af00; color: #000000; }
    #dialog-title { text-style: bold; width: 100%; }
    #dialog-summary { padding: 1 0 0 0; }
    #dialog-warnings { height: auto; }
    #dialog-body { height: auto; max-height: 14; margin: 1 0 0 0; }
    #dialog-details { color: $text-muted; }
    #dialog-details.-empty { display: none; }
    #dialog-rails { height: auto; }
    #dialog-acks { height: auto; }
    #dialog-rails .field-label { padding: 0; }

    .field-label { padding: 1 0 0 0; color: $text-muted; }
    .field-error { color: $error; height: auto; }
    .warning { color: $warning; text-style: bold; width: 100%; }
    #confirm-hint { padding: 1 0 0 0; color: $warning; }
    /* compact inputs (one row: the confirmation fits at 80x24) still read as boxes to type in */
    #dialog Input.-textual-compact { background: $boost; padding: 0 1; }
    #dialog Input.-textual-compact:focus { background: $primary 25%; }
    #dialog SelectionList { height: auto; max-height: 6; }
    #dialog-buttons { height: 2; align: right bottom; }
    #dialog-buttons Button { margin: 0 0 0 2; }
    /* disabled (nothing typed yet): neutral and italic, still readable (Textual dims it to 2.5:1) */
    #dialog-buttons Button:disabled { background: $panel; color: $foreground 80%; text-opacity: 1; text-style: italic; }
    #help { width: 100; max-width: 100%; height: 90%; border: thick $primary; background: $surface; padding: 0 1; }
    #help Markdown { height: 1fr; overflow-y: auto; }
    #help DataTable { height: 1fr; }
    #table-filter { height: 3; }
    """
