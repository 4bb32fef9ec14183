"""Messages workers post; handlers on the screen own all widget state (workers never touch widgets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:  # types only: the modules behind them load with the first request
    from tui.app.screens.modals import ActionModal, Field
    from tui.core.api.budget import Wait
    from tui.core.api.bulk import BulkEvent
    from tui.core.api.models import Version, Workspace
    from tui.core.ops.health import Health
    from tui.core.ops.promote import Plan


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
    why_empty: str = ""  # said in the pane instead of an empty list


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
    snapshot: str | None = None  # the safety snapshot taken first: what U restores
    target: tuple[str, str] | None = None  # (env, slug) the operation wrote, if one workspace
    content_note: str | None = None  # its content is not its label's version: where it came from
    at_risk: bool | None = None  # a rollback the next restart undoes (True), a sticky one (False), or n/a


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
    labels: tuple[str, ...] | None = None  # what it was built from (built again after an action)


@dataclass(repr=False, eq=False)
class PreviewReady(Message):
    """What an open dialog was computing (its diff preview), for the handler to fill it in."""

    dialog: ActionModal  # the dialog that asked; dropped if it was closed meanwhile
    details: list[str]
    warnings: list[str] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)
    blocked: str | None = None  # nothing to confirm (e.g. nothing to promote)
    plan: Plan | None = None  # a promotion's plan, for the confirmation


@dataclass(repr=False, eq=False)
class TypedAhead(Message):
    """A key typed for a dialog before it was on screen, passed on by the screen it reached instead."""

    key: str
    character: str | None


@dataclass(repr=False, eq=False)
class EventsReady(Message):
    """A workspace's or the platform's events, as the activity table's rows."""

    title: str
    columns: list[str]
    rows: list[list[str]]


@dataclass(repr=False, eq=False)
class ReleasesReady(Message):
    """The Releases view's table (issue 16), or why it could not be built."""

    columns: list[str]
    rows: list[list[str]]
    error: str | None = None


@dataclass(repr=False, eq=False)
class RolloutStopped(Message):
    """A rollout stopped at a failed gate after importing somewhere: the app offers to roll it back."""

    release: str
    failed: dict[str, Any]
    changed: list[str]
