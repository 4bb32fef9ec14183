"""``?`` and F1 on every screen: one ``action_help`` that every screen (and dialog) inherits.

A modal screen's keys never reach the App (Textual stops a modal's binding chain at the screen), so the
App's own ``?`` binding cannot serve a dialog: each scope binds ``<scope>.help`` (tui/app/actions.py) and
runs this action, which opens the help of the screen it is pressed on.
"""

from __future__ import annotations

from typing import Any


class HelpKey:
    def action_help(self: Any) -> None:
        from tui.app.screens.help import open_help  # help imports the dialog frame: imported when asked

        open_help(self)
