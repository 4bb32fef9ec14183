"""Every action of the app, defined once: its keys, the screen it runs on, its help, its CLI equivalent and
whether it changes a target. The bindings of every screen, the key bar, F1 help, the command palette and
``--read-only`` filtering all read this table, so they cannot drift (tests/e2e/test_action_parity.py checks it).

Every binding keeps the action's id: users rebind with ``[keymap] <id> = "keys"`` in the configuration, and
ids are unique across scopes, so one keymap serves every screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.actions import parse as parse_action
from textual.binding import Binding, BindingType

# The screens that hold keys: main (the panes), diff, matrix (drift), parity (secrets), activity (event, audit
# and snapshot tables), releases (the Releases view and its time cursor), text (a log line read in full), dialog
# (forms), confirm (yes/no), help.
SCOPES = ("main", "diff", "matrix", "parity", "activity", "releases", "text", "dialog", "confirm", "help")

UI_FOCUS = "UI only: moves the focus between panes"
UI_VIEW = "UI only: changes how this screen shows what it shows"
UI_CLOSE = "UI only: closes this screen"
UI_SHELL = "UI only: the CLI's output goes to the shell (pipe, redirect, Ctrl-C)"


@dataclass(frozen=True)
class Action:
    id: str
    scope: str
    keys: str
    action: str  # the Textual action run on the screen of that scope: "rollback", "focus_pane('log')"
    description: str  # short: the key bar and help's columns
    help: str  # one sentence: help's details and the palette
    cli: str | None  # the CLI subcommand path ("rollback", "env remove"), or None with no_cli saying why
    no_cli: str = ""
    mutating: bool = False  # writes to an environment: hidden by --read-only and read-only environments
    dangerous: bool = False  # destructive on the target: marked in help, always asks first
    show: bool = True  # in the key bar
    group: str = ""  # help's column heading

    @property
    def name(self) -> str:
        return parse_action(self.action)[1]

    @property
    def params(self) -> tuple[object, ...]:
        return parse_action(self.action)[2]


def _main(
    id: str,
    keys: str,
    action: str,
    description: str,
    help: str,
    cli: str | None,
    group: str,
    **flags: object,
) -> Action:
    return Action(id, "main", keys, action, description, help, cli, group=group, **flags)  # type: ignore[arg-type]


NAV, OPS, BULK, VIEWS, ENVS, LOG, APP = "Navigation", "Operations", "Bulk", "Views", "Environments", "Log", "App"
GROUPS = (OPS, BULK, VIEWS, ENVS, NAV, LOG, APP)  # help's columns and the palette's list, in this order

# The main screen, in key bar order: most needed first.
# One entry per action, kept compact: ruff format would spread these tables over 600 lines.
# fmt: off
MAIN: tuple[Action, ...] = (
    _main("focus.environments", "1", "focus_pane('environments')", "Envs", "Focus the environments pane", None, NAV,
        no_cli=UI_FOCUS, show=False),
    _main("focus.groups", "2", "focus_pane('groups')", "Groups", "Focus the groups pane", None, NAV, no_cli=UI_FOCUS,
        show=False),
    _main("focus.workspaces", "3", "focus_pane('workspaces')", "Workspaces", "Focus the workspaces table", None, NAV,
        no_cli=UI_FOCUS, show=False),
    _main("focus.versions", "4", "focus_pane('versions')", "Versions", "Focus the version history", None, NAV,
        no_cli=UI_FOCUS, show=False),
    _main("focus.log", "5", "focus_pane('log')", "Log", "Focus the operations log", None, NAV, no_cli=UI_FOCUS,
        show=False),
    _main("push", "p", "push", "Push", "Push the selected workspace as a new version", "push", OPS, mutating=True),
    _main("pull", "l", "pull", "Pull", "Pull the latest version into the selected workspace", "pull", OPS,
        mutating=True, dangerous=True),
    _main("rollback", "r", "rollback", "Rollback", "Roll back to the version selected in the history", "rollback",
        OPS, mutating=True, dangerous=True),
    _main("diff", "d", "diff", "Diff", "Diff: the selected version against current, or this workspace against the "
        "next environment (or its promotion pair)", "diff", OPS),
    _main("promote", "o", "promote", "Promote", "Promote the selected workspace from the previous environment (or "
        "its pair) into this one", "promote", OPS, mutating=True, dangerous=True),
    _main("bulk_push", "P", "bulk_push", "Bulk push", "Push workspace groups to a platform repository", "bulk-push",
        BULK, mutating=True),
    _main("bulk_import", "I", "bulk_import", "Bulk import", "Import groups one at a time", "bulk-import", BULK,
        mutating=True, dangerous=True),
    _main("matrix", "m", "matrix", "Drift", "Drift matrix of the selected group across environments", "matrix",
        VIEWS),
    _main("undo", "U", "undo", "Undo", "Undo the last rollback, pull or promotion (restore its snapshot)",
        "snapshots restore", OPS, mutating=True, dangerous=True),
    _main("unlock", "u", "unlock", "Unlock", "Clear the selected workspace's write lock", "unlock", OPS,
        mutating=True, dangerous=True),
    _main("activity", "a", "activity", "Activity", "Events of the selected workspace", "events", VIEWS),
    _main("yank", "y", "yank", "Yank", "Copy the selected slug, version, environment or log line (OSC 52)", None,
        NAV, no_cli=UI_SHELL, show=False),
    _main("mark", "space", "mark", "Mark", "Mark or unmark the workspace (actions apply to every mark); in the "
        "history, a version (d on another diffs the two)", None, NAV,
        no_cli="UI only: the CLI names its workspaces (--group, several slugs)", show=False),
    _main("clear_marks", "M", "clear_marks", "Unmark all", "Clear every workspace mark", None, NAV, no_cli="UI "
        "only: the CLI has no marks", show=False),
    _main("filter", "slash", "filter", "Filter", "Filter the workspaces table (slug, name, labels)", "workspaces",
        NAV),
    _main("clear", "escape", "clear_filter", "Clear", "Clear the filter", None, NAV, no_cli="UI only: clears the "
        "table's filter", show=False),
    _main("refresh", "ctrl+r", "refresh", "Refresh", "Reload health, workspaces and versions", "status", NAV),
    _main("releases", "R", "releases", "Releases", "Releases × environments; enter rolls one out", "release list",
        VIEWS, show=False),
    _main("snapshots", "S", "snapshots", "Snapshots", "Safety snapshots of this environment (always the list)",
        "snapshots list", VIEWS, show=False),
    _main("snapshot", "s", "snapshot", "Snapshot", "Take a safety snapshot of the selected workspace, or of every "
        "marked one", None, OPS, show=False, no_cli="UI only: the CLI snapshots before every overwrite by "
        "itself (snapshots list, show, restore)"),
    _main("platform_activity", "A", "platform_activity", "Platform", "Bulk pushes and imports of the platform",
        "events", VIEWS, show=False),
    _main("audit", "ctrl+j", "audit", "Audit", "The local audit journal", "audit", VIEWS, show=False),
    _main("pending_plans", "W", "pending_plans", "Pending plans", "Saved plans awaiting approval or apply in "
        "this environment's ledger; enter approves one, or applies it (its file on this machine)", "approve", VIEWS,
        show=False),
    _main("login", "ctrl+l", "login", "Login", "Enter a token for the current environment", "login", ENVS,
        show=False),
    _main("edit_env", "E", "edit_env", "Edit env", "Edit the current environment (URL, tier, protection)",
        "env edit", ENVS, show=False),
    _main("add_env", "N", "add_env", "New env", "Add an environment to the configuration", "env add", ENVS,
        show=False),
    _main("remove_env", "ctrl+d", "remove_env", "Remove env", "Remove the current environment from the "
        "configuration", "env remove", ENVS, dangerous=True, show=False),
    _main("stop_watching", "x", "stop_watching", "Stop watching", "Stop following the running bulk operation (the "
        "server goes on)", None, BULK, no_cli="UI only: Ctrl-C stops the CLI watching; the server goes on",
        show=False),
    _main("log_follow", "f", "log_follow", "Follow", "Log: follow new lines, or pause (its title says)", None, LOG,
        no_cli=UI_VIEW, show=False),
    _main("log_max", "z", "log_max", "Log size", "Log: take the screen (banner kept), or give it back", None, LOG,
        no_cli=UI_VIEW, show=False),
    _main("help", "question_mark,f1", "help", "Help", "Keys and what each pane shows", "help", APP),
    _main("quit", "q", "quit_app", "Quit", "Quit (asks first while an operation runs)", None, APP,
        no_cli="UI only: the CLI exits by itself"),
)
# fmt: on


def _help(scope: str) -> Action:
    return Action(f"{scope}.help", scope, "question_mark,f1", "help", "Help", "This screen's keys", "help", group=APP)


def _close(scope: str, keys: str = "escape,q", description: str = "Back") -> Action:
    return Action(f"{scope}.close", scope, keys, "close", description, "Close this screen", None, UI_CLOSE, group=NAV)


# fmt: off
DIFF: tuple[Action, ...] = (
    _close("diff"),
    Action("diff.split", "diff", "s", "toggle_split", "Split/unified", "Side by side or unified", None, UI_VIEW,
        group=VIEWS),
    Action("diff.next_hunk", "diff", "n", "hunk(1)", "Next hunk", "Go to the next hunk", None, UI_FOCUS, group=NAV),
    Action("diff.prev_hunk", "diff", "N", "hunk(-1)", "Prev hunk", "Go to the previous hunk", None, UI_FOCUS,
        group=NAV),
    Action("diff.next_file", "diff", "right_square_bracket", "file(1)", "Next file", "Go to the next file", None,
        UI_FOCUS, group=NAV),
    Action("diff.prev_file", "diff", "left_square_bracket", "file(-1)", "Prev file", "Go to the previous file", None,
        UI_FOCUS, group=NAV),
    Action("diff.context", "diff", "z", "toggle_context", "Full context", "Whole files, or changes only", "diff",
        group=VIEWS),
    Action("diff.copy", "diff", "c", "copy_patch", "Copy patch", "Copy the unified patch (OSC 52)", "diff",
        group=OPS),
    Action("diff.save", "diff", "w", "save_patch", "Save patch", "Write the unified patch to a file", "diff",
        group=OPS),
    Action("diff.tool", "diff", "e", "external_tool", "Diff tool", "Open both sides in the configured diff tool",
        None, "UI only: the CLI's --raw output pipes into any tool", group=OPS),
    _help("diff"),
)

MATRIX: tuple[Action, ...] = (
    _close("matrix"),
    Action("matrix.mark", "matrix", "enter", "mark", "Mark / diff", "Mark a cell; a second enter diffs the two",
        None, "UI only: selects cells (the CLI names them: diff --from --to)", group=NAV),
    Action("matrix.diff", "matrix", "d", "diff", "Diff with the left column", "Diff the cell with the marked one, "
        "or with its left neighbour", "diff", group=OPS),
    Action("matrix.promote", "matrix", "p", "promote", "Promote marked → here", "Promote the marked cell into the "
        "cell under the cursor", "promote", mutating=True, dangerous=True, group=OPS),
    Action("matrix.parity", "matrix", "s", "parity", "Secrets/config parity", "Which secret and config names each "
        "environment has", "parity", group=VIEWS),
    _help("matrix"),
)

OTHERS: tuple[Action, ...] = (
    _close("parity"),
    _help("parity"),
    _close("activity", description="Close"),
    _help("activity"),
    _close("text", "escape,q,enter", "Close"),
    _help("text"),
    Action("dialog.cancel", "dialog", "escape", "cancel", "Cancel", "Close the dialog, changing nothing", None,
        UI_CLOSE, show=False, group=APP),
    Action("dialog.save_plan", "dialog", "ctrl+s", "save_plan", "Save plan", "Save the dialog's plan for another "
        "person's approval, then `apply FILE` (plan dialogs)", "plan", show=False, group=OPS),
    _help("dialog"),  # in a text box ? is typed: F1 there
    Action("confirm.no", "confirm", "escape,n", "no", "No", "Answer no", None, "UI only: the CLI asks on its own "
        "(or --yes)", show=False, group=APP),
    Action("confirm.yes", "confirm", "y", "yes", "Yes", "Answer yes", None, "UI only: the CLI's --yes answers it",
        show=False, group=APP),
    _help("confirm"),
    Action("help.close", "help", "escape,q,question_mark,f1", "close", "Close", "Close help (esc clears a filter "
        "first)", None, UI_CLOSE, group=APP),
    Action("help.down", "help", "j,down", "scroll('down')", "Down", "Scroll down", None, UI_FOCUS, show=False,
        group=NAV),
    Action("help.up", "help", "k,up", "scroll('up')", "Up", "Scroll up", None, UI_FOCUS, show=False, group=NAV),
    Action("help.page_down", "help", "pagedown,space", "scroll('page_down')", "Page down", "Scroll a page down",
        None, UI_FOCUS, show=False, group=NAV),
    Action("help.page_up", "help", "pageup", "scroll('page_up')", "Page up", "Scroll a page up", None, UI_FOCUS,
        show=False, group=NAV),
    Action("help.top", "help", "g,home", "scroll('home')", "Top", "Go to the top", None, UI_FOCUS, show=False,
        group=NAV),
    Action("help.bottom", "help", "G,end", "scroll('end')", "Bottom", "Go to the end", None, UI_FOCUS, show=False,
        group=NAV),
    Action("help.search", "help", "slash", "search", "Search", "Filter the keys as you type (esc clears)", None,
        "UI only: the CLI's help is searched with grep", group=NAV),
)
# fmt: on

# fmt: off
# The Releases view (issue 29): a time cursor over what ran where, stepped change by change or typed.
RELEASES: tuple[Action, ...] = (
    _close("releases", description="Close"),
    Action("releases.rollout", "releases", "enter", "rollout", "Roll out", "Roll the release under the cursor out "
        "(its HEAD only: a refused one is said, the view stays open); not at a time", "rollout", mutating=True,
        group=OPS),
    Action("releases.filter", "releases", "slash", "filter", "Filter", "Filter the rows (release, workspace, "
        "version…); enter goes back to the table", None, "UI only: filters the table (`release list` pipes to grep)",
        group=NAV),
    Action("releases.earlier", "releases", "left_square_bracket", "time_step(-1)", "Earlier", "Time cursor: what "
        "ran where at the previous recorded change (an import, a snapshot)", "at", group=NAV),
    Action("releases.later", "releases", "right_square_bracket", "time_step(1)", "Later", "Time cursor: what ran "
        "where at the next recorded change (after the last: now)", "at", group=NAV),
    Action("releases.at", "releases", "t", "time_type", "At time…", "Time cursor: type a time (2h ago, yesterday "
        "14:00, ISO-8601)", "at", group=NAV),
    Action("releases.refresh", "releases", "ctrl+r", "refresh", "Refresh", "Read the releases and their verdicts "
        "again (another shell may have accepted or rejected one)", "release list", group=NAV),
    Action("releases.now", "releases", "n", "time_now", "Now", "Back to the releases as they are now", None,
        UI_VIEW, group=NAV),
    _help("releases"),
)
# fmt: on

ACTIONS: tuple[Action, ...] = MAIN + DIFF + MATRIX + RELEASES + OTHERS
_BY_ID = {a.id: a for a in ACTIONS}
MUTATING = frozenset(a.name for a in ACTIONS if a.mutating)
DANGEROUS = frozenset(a.name for a in ACTIONS if a.dangerous)


def for_scope(scope: str) -> tuple[Action, ...]:
    return tuple(a for a in ACTIONS if a.scope == scope)


def by_id(action_id: str) -> Action:
    return _BY_ID[action_id]


def by_group(items: list[Action]) -> list[Action]:
    """Operations first, then the rest as help groups them (stable within a group)."""
    return sorted(items, key=lambda a: GROUPS.index(a.group) if a.group in GROUPS else len(GROUPS))


def bindings(scope: str) -> list[BindingType]:
    return list(main_bindings(scope))


def main_bindings(scope: str = "main") -> list[Binding]:
    """The scope's bindings typed as such (the main ones are split between the App and MainScreen)."""
    return [Binding(a.keys, a.action, a.description, show=a.show, id=a.id) for a in for_scope(scope)]


def display_keys(keys: str) -> str:
    """Keys as help shows them: ``question_mark,f1`` reads ``?,f1``."""
    names = {
        "question_mark": "?",
        "slash": "/",
        "space": "space",
        "right_square_bracket": "]",
        "left_square_bracket": "[",
        "escape": "esc",
        "pagedown": "PgDn",
        "pageup": "PgUp",
    }
    return ",".join(names.get(k, k) for k in keys.split(","))
