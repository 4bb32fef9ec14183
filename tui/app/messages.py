"""Messages workers post; handlers on the screen own all widget state (workers never touch widgets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:  # types only: the modules behind them load with the first request
    from tui.core.api.budget import Wait
    from tui.core.api.bulk import BulkEvent
    from tui.core.api.models import Version, Workspace
    from tui.core.ops.health import Health


@dataclass(repr=False, eq=False)  # messages are compared by identity; fewer generated methods
class HealthChecked(Message):
    health: Health


@dataclass(repr=False, eq=False)
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


@dataclass(repr=False, eq=False)
class LogLines(Message):
    lines: list[str]


@dataclass(repr=False, eq=False)
class RateWait(Message):
    """A wait for the gateway's rate limit (a 429, or pacing), reported about once a second."""

    wait: Wait


@dataclass(repr=False, eq=False)
class BulkUpdate(Message):
    """The events of one burst of a bulk stream (what one network read brought), in order."""

    env: str
    events: list[BulkEvent]


@dataclass(repr=False, eq=False)
class OperationFinished(Message):
    env: str
    title: str
    ok: bool
    message: str
    next_step: str | None = None
    undo: dict[str, Any] | None = None


@dataclass(repr=False, eq=False)
class ApiFailed(Message):
    env: str
    title: str
    error: Exception


@dataclass(repr=False, eq=False)
class NeedToken(Message):
    env: str
    reason: str


@dataclass(repr=False, eq=False)
class DiffReady(Message):
    title: str
    diff: Any


@dataclass(repr=False, eq=False)
class MatrixReady(Message):
    title: str
    matrix: Any


@dataclass(repr=False, eq=False)
class PromotionPlanned(Message):
    plan: Any


@dataclass(repr=False, eq=False)
class RollbackPreviewed(Message):
    env: str
    slug: str
    version: str
    stat_lines: list[str]
