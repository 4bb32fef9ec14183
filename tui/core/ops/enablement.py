"""Which of the main screen's actions can run now: one pure rule, asked by the key bar, the bindings and
the palette alike (they cannot disagree), and by the tests without an app.

The answer follows Textual's ``check_action``: ``True`` runs, ``None`` is shown dimmed (it needs a
selection first), ``False`` is absent (a read-only environment hides every mutating action).
"""

from __future__ import annotations

from dataclasses import dataclass

NEEDS_WORKSPACE = frozenset({"push", "pull", "unlock", "rollback"})  # the selected workspace, or marks


@dataclass(frozen=True)
class Situation:
    """What the main screen shows right now, as far as enablement cares."""

    env: str | None  # the environment shown (None: none configured)
    writable: bool  # the environment accepts changes (not read-only, no --read-only)
    workspace: bool  # a workspace is selected
    marked: bool  # some workspaces are marked
    version: bool  # a version is selected in the history
    undo: bool  # an operation left a snapshot to restore
    dialog: bool = False  # a dialog is on top of the screen: its keys, not the screen's, run


def enabled(action: str, mutating: bool, now: Situation) -> bool | None:
    """``action`` (a bare action name, ``push``) in situation ``now``; ``mutating`` from the action table."""
    if not mutating:
        return True
    if now.dialog or now.env is None or not now.writable:
        return False  # read-only: absent, not greyed
    if action == "rollback" and not now.version:
        return None
    if action == "undo" and not now.undo:
        return None
    if action in NEEDS_WORKSPACE and not (now.workspace or now.marked):
        return None
    return True
