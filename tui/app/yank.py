"""`y` yanks what is selected in the focused pane to the clipboard over OSC 52 (works over SSH in most
terminals): the workspace slug, the version name, the log line at the bottom of the view, the
environment or the group. The app copies; this module only decides what, so it is tested without one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.core.text import one_line

if TYPE_CHECKING:
    from textual.widget import Widget

    from tui.app.widgets.log_pane import LogView


def log_line_in_view(log: LogView) -> str | None:
    """The line at the bottom of what the log shows (the newest one while it follows the tail)."""
    if not log.line_count:
        return None
    bottom = int(log.scroll_offset.y) + max(log.scrollable_content_region.height, 1) - 1
    return log.line(min(bottom, log.line_count - 1))


def target(
    focused: Widget | None,
    *,
    slug: str | None,
    version: str | None,
    env: str | None,
    group: str | None,
) -> tuple[str, str] | None:
    """(what, text) to copy for the focused pane, or None when nothing there is selected. The text is
    the escaped one the screen shows: a slug or version name is server text, and raw control
    characters pasted into a shell can end bracketed paste and run a command."""
    found = _target(focused, slug=slug, version=version, env=env, group=group)
    return None if found is None else (found[0], one_line(found[1]))


def _target(
    focused: Widget | None,
    *,
    slug: str | None,
    version: str | None,
    env: str | None,
    group: str | None,
) -> tuple[str, str] | None:
    pane = focused.id if focused is not None else None
    if pane == "log":
        from tui.app.widgets.log_pane import LogView

        assert isinstance(focused, LogView)
        line = log_line_in_view(focused)
        return ("log line", line) if line else None
    if pane == "versions" and version:
        return "version", version
    if pane == "environments" and env:
        return "environment", env
    if pane == "groups" and group:
        return "group", group
    return ("slug", slug) if slug else None
