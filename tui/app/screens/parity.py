"""The parity matrix screen (issue 17): per workspace of the group, every secret and config name it
declares; per environment ✓ set / ✗ missing / — workspace absent. Names only: no value is ever read."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Label

from tui.app import actions
from tui.app.screens.help_key import HelpKey
from tui.app.widgets.key_bar import KeyBar
from tui.core.ops.parity_matrix import ParityMatrix
from tui.core.text import one_line

STYLES = {"✓": "green", "✗": "bold red", "—": "dim"}


class ParityScreen(HelpKey, Screen[None]):
    DEFAULT_CSS = """
    #parity-legend { height: auto; color: $text-muted; padding: 0 1; }
    #parity { height: 1fr; }
    """
    SCOPE = "parity"
    BINDINGS = actions.bindings("parity")

    def __init__(self, title: str, matrix: ParityMatrix) -> None:
        super().__init__()
        self.title_text = title
        self.matrix = matrix

    def compose(self) -> ComposeResult:
        yield Label(one_line(self.title_text), id="diff-title", markup=False)
        missing = self.matrix.missing_required()
        legend = "✓ set   ✗ missing   — workspace absent   req: required (no default, not optional)"
        if missing:
            legend += f"   ·   {len(missing)} required name(s) missing"
        lines = [legend, *(f"! {one_line(e)}" for e in self.matrix.errors)]
        if not self.matrix.rows:
            lines.append("No workspace of this group declares a secret or a config key.")
        yield Label(Text("\n".join(lines)), id="parity-legend")
        yield DataTable(id="parity", cursor_type="row", zebra_stripes=True)
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("workspace", key="slug")
        table.add_column("name", key="name")
        table.add_column("req", key="req")
        for env in self.matrix.envs:
            table.add_column(env, key=env)
        for slug, item in self.matrix.rows:
            cells = [self.matrix.cell(slug, item, env) for env in self.matrix.envs]
            table.add_row(  # server text: Text, never markup
                Text(one_line(slug)),
                Text(one_line(f"{item.kind} {item.name}")),
                Text("req" if item.required else ""),
                *(Text(c, style=STYLES[c] if c != "✗" or item.required else "red") for c in cells),
            )
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
