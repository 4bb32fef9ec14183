"""F1 / ? help: every key (from the one action registry, with the user's keymap) and what each pane shows."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, Markdown

from tui.app.bindings import ACTIONS
from tui.app.screens.dialog import Dialog

PANES = """
## Panes
- **1 Environments**: tier, URL and health (UP, DOWN, TOKEN?, LOGIN, NOT READY), refreshed in the background.
- **2 Groups**: platform repositories (mode, branch) and workspace groups with member counts.
- **3 Workspaces**: slug, labels, dirty, write lock, live version, last push. `/` filters, click a header to sort.
- **4 Versions**: history of the selected workspace; `*` marks the live version; `r` rolls back to the selection.
- **5 Log**: live progress of operations; scroll up to read, it stops following until you return to the end.

## Safety
Every mutating action opens a dialog with focus on **Cancel**. On a protected environment the confirm button stays
disabled until you type the workspace slug (or the environment name for bulk operations). Read-only environments
and `--read-only` hide mutating actions entirely.
"""


def help_markdown(keymap: dict[str, str]) -> str:
    rows = ["| Key | Action | Id |", "|---|---|---|"]
    for action in ACTIONS:
        keys = keymap.get(action.id, action.keys).replace("question_mark", "?").replace("slash", "/")
        rows.append(f"| `{keys}` | {action.help}{' (mutating)' if action.mutating else ''} | `{action.id}` |")
    return (
        "# prisme-deploy keys\n\n" + "\n".join(rows) + "\n\nRebind any key in the configuration: "
        '`[keymap]` then `rollback = "R"`.\n' + PANES
    )


class HelpScreen(Dialog[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]

    def __init__(self, keymap: dict[str, str]) -> None:
        super().__init__()
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Label("Help  (esc to close)", id="dialog-title")
            yield Markdown(help_markdown(self.keymap))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
