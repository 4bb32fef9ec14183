"""One registry of actions: key bar (in this order, most needed first), F1 help, command palette and keymap
all read it, so they cannot drift.

Every binding has an id; users rebind with ``[keymap] <id> = "keys"`` in the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Action:
    id: str
    keys: str
    action: str
    description: str
    help: str
    mutating: bool = False
    show: bool = True


ACTIONS: tuple[Action, ...] = (
    Action("focus.environments", "1", "focus_pane('environments')", "Envs", "Focus the environments pane", show=False),
    Action("focus.groups", "2", "focus_pane('groups')", "Groups", "Focus the groups pane", show=False),
    Action("focus.workspaces", "3", "focus_pane('workspaces')", "Workspaces", "Focus the workspaces table", show=False),
    Action("focus.versions", "4", "focus_pane('versions')", "Versions", "Focus the version history", show=False),
    Action("focus.log", "5", "focus_pane('log')", "Log", "Focus the operations log", show=False),
    Action("push", "p", "push", "Push", "Push the selected workspace as a new version", mutating=True),
    Action("pull", "l", "pull", "Pull", "Pull the latest version into the selected workspace", mutating=True),
    Action("rollback", "r", "rollback", "Rollback", "Roll back to the version selected in the history", mutating=True),
    Action(
        "diff",
        "d",
        "diff",
        "Diff",
        "Diff: the selected version against current, or this workspace against "
        "the next environment (or its promotion pair)",
    ),
    Action(
        "promote",
        "o",
        "promote",
        "Promote",
        "Promote the selected workspace from the previous environment (or its pair) into this one",
        mutating=True,
    ),
    Action("bulk_push", "P", "bulk_push", "Bulk push", "Push workspace groups to a platform repository", mutating=True),
    Action("bulk_import", "I", "bulk_import", "Bulk import", "Import groups one at a time", mutating=True),
    Action("matrix", "m", "matrix", "Drift", "Drift matrix of the selected group across environments"),
    Action(
        "undo", "U", "undo", "Undo", "Undo the last rollback, pull or promotion (restore its snapshot)", mutating=True
    ),
    Action("unlock", "u", "unlock", "Unlock", "Clear the selected workspace's write lock", mutating=True),
    Action("activity", "a", "activity", "Activity", "Events of the selected workspace"),
    Action(
        "yank", "y", "yank", "Yank", "Copy the selected slug, version, environment or log line (OSC 52)", show=False
    ),
    Action("mark", "space", "mark", "Mark", "Mark or unmark the workspace; actions apply to every mark", show=False),
    Action("clear_marks", "M", "clear_marks", "Unmark all", "Clear every workspace mark", show=False),
    Action("filter", "slash", "filter", "Filter", "Filter the workspaces table (slug, name, labels)"),
    Action("clear", "escape", "clear_filter", "Clear", "Clear the filter", show=False),
    Action("refresh", "ctrl+r", "refresh", "Refresh", "Reload health, workspaces and versions"),
    Action("releases", "R", "releases", "Releases", "Releases × environments; enter rolls one out", show=False),
    Action("snapshots", "S", "snapshots", "Snapshots", "Safety snapshots of this environment", show=False),
    Action(
        "platform_activity", "A", "platform_activity", "Platform", "Bulk pushes and imports of the platform", show=False
    ),
    Action("audit", "ctrl+j", "audit", "Audit", "The local audit journal", show=False),
    Action("login", "ctrl+l", "login", "Login", "Enter a token for the current environment", show=False),
    Action("edit_env", "E", "edit_env", "Edit env", "Edit the current environment (URL, tier, protection)", show=False),
    Action("add_env", "N", "add_env", "New env", "Add an environment to the configuration", show=False),
    Action(
        "remove_env",
        "ctrl+d",
        "remove_env",
        "Remove env",
        "Remove the current environment from the configuration",
        show=False,
    ),
    Action(
        "stop_watching",
        "x",
        "stop_watching",
        "Stop watching",
        "Stop following the running bulk operation (the server goes on)",
        show=False,
    ),
    Action("log_follow", "f", "log_follow", "Follow", "Log: follow new lines, or pause (its title says)", show=False),
    Action("log_max", "z", "log_max", "Log size", "Log: take the screen (banner kept), or give it back", show=False),
    Action("help", "question_mark,f1", "help", "Help", "Keys and what each pane shows"),
    Action("quit", "q", "quit_app", "Quit", "Quit (asks first while an operation runs)"),
)
BY_ACTION = {a.action.split("(")[0]: a for a in ACTIONS}
MUTATING = {a.action for a in ACTIONS if a.mutating}


def bindings() -> list[Binding]:
    return [Binding(a.keys, a.action, a.description, show=a.show, id=a.id) for a in ACTIONS]
