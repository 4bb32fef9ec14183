"""The main screen's widget tree and the app's style sheet, with nothing of the session: no context, no data.

One definition for the app (``PrismeDeployApp``, ``MainScreen.compose``) and for the start-up bench's floor
(bench/scenarios.py: the same layout in a plain Textual app, to tell Textual's own work for this layout from
ours). It imports only the panes' widgets, never the operations, the API or the configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from tui.app.panes.banner import Banner
from tui.app.panes.environments import EnvironmentList
from tui.app.panes.groups import GroupList
from tui.app.panes.versions import VersionTable
from tui.app.panes.workspaces import WorkspaceTable
from tui.app.widgets.key_bar import KeyBar
from tui.app.widgets.log_pane import LogPane

CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses (benchmarks) live elsewhere
AUTO_FOCUS = "#workspaces"  # focused from the first frame (moving focus later restyles twice)
# Textual sets these classes on the screen as the terminal resizes (80x24 gets the compact layout).
HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]


def compose_main(*, log_lines: int, clock: Callable[[], datetime]) -> ComposeResult:
    """The main screen's panes, empty: the screen fills them once mounted."""
    yield Banner("", id="banner")
    with Horizontal(id="main"):
        with Vertical(id="left"):
            yield EnvironmentList(id="environments")
            yield GroupList(id="groups")
        with Vertical(id="right"):
            yield WorkspaceTable(id="workspaces")
            yield VersionTable(id="versions")
    yield LogPane(id="log-pane", max_lines=log_lines, clock=clock)
    yield KeyBar()


def screen_classes(tier: str | None, width: int, height: int) -> list[str]:
    """The tier and breakpoint classes the main screen starts with: set before mount, they cost no restyle
    (added after, each restyled every widget once before the first frame)."""
    classes = [f"-tier-{tier}"] if tier else []
    classes.append(next(c for at, c in reversed(HORIZONTAL_BREAKPOINTS) if width >= at))
    classes.append(next(c for at, c in reversed(VERTICAL_BREAKPOINTS) if height >= at))
    return classes
