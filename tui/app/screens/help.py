"""F1 / ? help: the keys of the screen it was opened from (from the one action table, with the user's
keymap), dense enough that the main screen's keys fit 80x24 in columns, as k9s's help does; below them one
line per key with its CLI equivalent, then what each pane shows.

What is hidden on that screen right now (``--read-only``, a read-only environment) is not listed as
something that can run; disabled keys (they need a selection) are dimmed. Dangerous actions carry a ``!``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from tui.app import actions
from tui.app.actions import Action
from tui.app.palette import keys_of, scope_of, state
from tui.app.screens.dialog import Dialog

DANGER = "!"
GAP = 3  # cells between two columns

PANES = """\
Panes
1 Environments: tier, URL and health (UP, DOWN, TOKEN?, LOGIN, NOT READY), refreshed in the background.
2 Groups: platform repositories (mode, branch) and workspace groups with member counts.
3 Workspaces: slug, state (dirty, write lock), live version, name; labels, last push and last pull where \
the pane is wide enough. / filters, click a header to sort.
4 Versions: history of the selected workspace; * marks the live version; r rolls back to the selection.
5 Log: live progress of operations; scroll up to read, it stops following until you return to the end.

Safety
Every mutating action opens a dialog that says what will change; focus starts where typing is needed \
(a required reason, the name to type), else on Cancel, and enter never confirms by default. \
On a protected environment the confirm button \
stays disabled until you type the workspace slug (or the environment name for bulk operations). \
Read-only environments and --read-only hide mutating actions entirely."""

RELEASES_VIEW = """\
The Releases view
One row per recorded release, newest first; a column per environment: deployed, drifted (edited since), \
partial n/m, - (absent). head: HEAD (what a rollout imports), not head, or REJECTED.
enter rolls the release under the cursor out (HEAD only; a refused one is said and the view stays open).
A cell too wide for the terminal ends in "…": the line under the table spells out the cursor's row in full.
Time cursor: the rows are workspaces; ● marks what an import deployed at that very instant (a snapshot \
taken then only reads what ran); * later imports could not be seen; unknown: no record reaches back."""


@dataclass(frozen=True)
class Row:
    action: Action
    keys: str  # as shown, after the user's keymap
    enabled: bool  # False: needs a selection first (dimmed)

    def matches(self, needle: str) -> bool:
        a = self.action
        haystack = f"{self.keys} {a.description} {a.help} {a.id} {a.group} {a.cli or ''}".lower()
        return needle.lower() in haystack


def help_rows(screen: Screen[Any]) -> tuple[list[Row], list[Action]]:
    """(rows that can run here, now or once something is selected; actions hidden here right now)."""
    rows: list[Row] = []
    hidden: list[Action] = []
    for action in actions.for_scope(scope_of(screen) or "main"):
        answer = state(screen, action)
        if answer is False:
            hidden.append(action)
        else:
            rows.append(Row(action, keys_of(screen.app, action), answer is True))
    return rows, hidden


def open_help(screen: Screen[Any]) -> None:
    """Help for ``screen``, its enablement read now, before help covers it."""
    rows, hidden = help_rows(screen)
    screen.app.push_screen(HelpScreen(scope_of(screen) or "main", rows, hidden))


def _cell(row: Row, key_width: int) -> Content:
    mark = f" {DANGER}" if row.action.dangerous else ""
    cell = Content.assemble((f"{row.keys:<{key_width}} ", "bold $accent"), row.action.description + mark)
    return cell if row.enabled else cell.stylize("italic")  # not "dim": it must still read (4.5:1)


def grid_lines(rows: list[Row], width: int) -> list[Content]:
    """The rows grouped (a heading per group), in as many columns as fit ``width``, as short as can be."""
    if not rows:
        return []
    key_width = max(len(r.keys) for r in rows)
    names = sorted({r.action.group for r in rows}, key=lambda g: actions.GROUPS.index(g) if g in actions.GROUPS else 99)
    groups = [
        [Content.styled(name, "bold underline"), *(_cell(r, key_width) for r in rows if r.action.group == name)]
        for name in names
    ]
    col_width = max(line.cell_length for group in groups for line in group) + GAP
    columns = _flow(groups, max(1, (width + GAP) // col_width))
    lines = []
    for y in range(max(len(c) for c in columns)):
        parts = [col[y] if y < len(col) else Content("") for col in columns]
        lines.append(Content("").join(p.pad_right(col_width - p.cell_length) for p in parts).rstrip())
    return lines


def _flow(groups: list[list[Content]], ncols: int) -> list[list[Content]]:
    """The shortest columns that hold the groups, each whole, in at most ``ncols`` columns."""
    total = sum(len(g) + 1 for g in groups)
    columns: list[list[Content]] = []
    for height in range(max(max(len(g) for g in groups), math.ceil(total / ncols) - 1), total + 1):
        columns = [[]]
        for group in groups:
            if columns[-1] and len(columns[-1]) + 1 + len(group) > height:
                columns.append([])
            elif columns[-1]:
                columns[-1].append(Content(""))
            for line in group:
                if len(columns[-1]) >= height:
                    columns.append([])
                columns[-1].append(line)
        if len(columns) <= ncols:
            break
    return columns


class KeyGrid(Widget):
    """The keys in columns; as tall as its lines at its width."""

    DEFAULT_CSS = "KeyGrid { height: auto; }"

    def __init__(self, rows: list[Row]) -> None:
        super().__init__(id="help-grid")
        self.rows = rows

    def set_rows(self, rows: list[Row]) -> None:
        self.rows = rows
        self.refresh(layout=True)

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return max(1, len(grid_lines(self.rows, width)))

    def render(self) -> Content:
        lines = grid_lines(self.rows, self.size.width or 80)
        return Content("\n").join(lines) if lines else Content("No key matches.")


def details(scope: str, rows: list[Row], hidden: list[Action]) -> Content:
    """One line per key: what it does, its CLI equivalent and its id (for ``[keymap]``)."""
    key_width = max((len(r.keys) for r in rows), default=4)
    lines = [Content.styled("Every key", "bold underline")]
    for row in rows:
        a = row.action
        cli = f"$ prisme-deploy {a.cli}  " if a.cli else ""
        mark = f"{DANGER} " if a.dangerous else ""
        # Spaces end a run, never start one (an SVG viewer drops a leading one: "pane[focus.groups]").
        line = Content.assemble((f"{row.keys:<{key_width}}  ", "bold"), mark, f"{a.help}  ", (f"{cli}[{a.id}]", "dim"))
        lines.append(line if row.enabled else line.stylize("dim"))
    if hidden:
        names = ", ".join(a.description for a in hidden)
        lines += [Content(""), Content(f"Hidden here (read-only, or nothing to act on): {names}.")]
    lines += [
        Content(""),
        Content(f"{DANGER} changes the target (it asks first). Dimmed keys need a selection first."),
        Content("$: the same from the shell."),
        Content('Rebind a key by its [id]: in the configuration, [keymap] then rollback = "R".'),
        Content("ctrl+p: the command palette, this screen's actions that can run now."),
    ]
    if scope == "main":
        lines += [Content(""), Content(PANES)]
    elif scope == "releases":
        lines += [Content(""), Content(RELEASES_VIEW)]
    return Content("\n").join(lines)


class HelpScreen(Dialog[None]):
    SCOPE = "help"
    BINDINGS = actions.bindings("help")
    DEFAULT_CSS = """
    HelpScreen #help { width: 120; height: 100%; border: round $primary; padding: 0 1; }
    HelpScreen #help-top { height: 1; }
    HelpScreen #help-top Label { width: auto; }
    HelpScreen #help-search { width: 1fr; margin: 0 0 0 2; }
    HelpScreen #help-body { height: 1fr; }
    HelpScreen #help-details { margin: 1 0 0 0; }
    """

    def __init__(self, scope: str, rows: list[Row], hidden: list[Action] | None = None) -> None:
        super().__init__()
        self.scope = scope
        self.rows = rows
        self.hidden = hidden or []
        self.searching = False  # "/" pressed, the search not yet ended by enter or esc

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            with Horizontal(id="help-top"):
                title = f"Keys: {self.scope} · {DANGER} changes the target · j/k g/G scroll · esc close"
                yield Label(title, id="dialog-title", markup=False)
                yield Input(placeholder="/ search", id="help-search", compact=True)
            with VerticalScroll(id="help-body"):
                yield KeyGrid(self.rows)
                yield Static(details(self.scope, self.rows, self.hidden), id="help-details")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    @property
    def shown(self) -> list[Row]:
        needle = self.query_one("#help-search", Input).value.strip()
        return [r for r in self.rows if r.matches(needle)] if needle else self.rows

    def on_input_changed(self, event: Input.Changed) -> None:
        rows = self.shown
        self.query_one(KeyGrid).set_rows(rows)
        self.query_one("#help-details", Static).update(details(self.scope, rows, self.hidden))
        self.query_one("#help-body", VerticalScroll).scroll_home(animate=False)

    def on_input_submitted(self) -> None:
        self.searching = False
        self.query_one("#help-body").focus()

    def action_search(self) -> None:
        self.searching = True
        self.set_focus(self.query_one("#help-search", Input))

    def on_key(self, event: events.Key) -> None:
        """ "/roll" typed in one burst: the keys after "/" were sent to the body before the box took the
        focus. A printable key reaching the screen while searching was meant for the box (which would have
        consumed it): it goes there, and runs no binding."""
        if not self.searching and event.key in actions.by_id("help.search").keys.split(","):
            self.action_search()  # here, not by the binding: keys bubble here before the App runs bindings
        elif self.searching and event.is_printable and event.character:
            self.query_one("#help-search", Input).insert_text_at_cursor(event.character)
        else:
            return
        event.stop()
        event.prevent_default()

    def action_scroll(self, where: str) -> None:
        # Immediate: ten j's in one burst move ten lines (a deferred scroll would start from the same y).
        body = self.query_one("#help-body", VerticalScroll)
        page = body.scrollable_content_region.height
        targets = {"down": body.scroll_y + 1, "up": body.scroll_y - 1, "page_down": body.scroll_y + page}
        targets |= {"page_up": body.scroll_y - page, "home": 0, "end": body.max_scroll_y}
        body.scroll_to(y=max(0, min(targets[where], body.max_scroll_y)), animate=False, immediate=True)

    def action_close(self) -> None:
        """Esc clears a search first; then it (or q, ?, F1) closes help."""
        box = self.query_one("#help-search", Input)
        self.searching = False
        if box.has_focus or box.value:
            box.value = ""
            self.query_one("#help-body").focus()
            return
        self.dismiss(None)
