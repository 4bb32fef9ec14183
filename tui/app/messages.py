"""Messages that widgets post upward (a screen's loaders to the screen, a token asked for, keys typed ahead).

A controller's worker does not post: it hands its result to whoever asked (``PrismeDeployApp.hand``), and an
operation's outcome is the runner's (``tui.app.runner.OperationFinished``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:  # types only: the modules behind them load with the first request
    from tui.core.api.models import Version, Workspace


@dataclass(repr=False, eq=False)  # messages are compared by identity; fewer generated methods
class WorkspacesLoaded(Message):
    env: str
    workspaces: list[Workspace]
    repositories: dict[str, Any] = field(default_factory=dict)
    partial: bool = False  # more pages are coming


@dataclass(repr=False, eq=False)
class VersionsLoaded(Message):
    env: str
    workspace: Workspace
    versions: list[Version]
    changes: dict[str, str] = field(default_factory=dict)
    why_empty: str = ""  # said in the pane instead of an empty list


@dataclass(repr=False, eq=False)
class NeedToken(Message):
    env: str
    reason: str


@dataclass(repr=False, eq=False)
class TypedAhead(Message):
    """A key typed for a dialog before it was on screen, passed on by the screen it reached instead."""

    key: str
    character: str | None
