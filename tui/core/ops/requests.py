"""Typed requests (issue 27): what an operation is asked to do, built once by the app's dialog or by the
CLI's argparse (``tui/cli/requests.py``), and handed to the gate and to the operation.

Each request carries its own ``reason`` and ``break_glass``: the reason travels with the change it
explains, to the gate (``gate.operation(..., request=)``), the journal entry and the version description,
never through shared state (two dialogs confirmed in the same instant on two environments keep theirs).
Built once, checked once: a reason that is empty or too long refuses the request (UsageError, exit 2)
before anything is sent. The default reason is the run's ``PRISME_DEPLOY_REASON`` (the CLI's documented
default); the app's dialogs always pass theirs (prefilled from it).

``tests/unit/test_requests.py`` checks that each request's fields are the app dialog's fields and the CLI
command's flags: neither can offer an option the other lacks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import ClassVar

from tui.core.rails import REASON_VARIABLE, clean_reason


def default_reason() -> str | None:
    """The run's reason when none is given (``PRISME_DEPLOY_REASON``), as the CLI's --reason says."""
    return os.environ.get(REASON_VARIABLE) or None


@dataclass(frozen=True, kw_only=True)
class Request:
    """Why a change is made: what every request carries, and all a change outside the eight requests needs
    (unlock, the configuration's edits). A bare ``Request()`` is "no reason given" (the run's default)."""

    reason: str | None = field(default_factory=default_reason)
    break_glass: str | None = None  # the reason for changing an environment in its freeze window

    KIND: ClassVar[str] = "change"  # the CLI command the request is (the parity test's key)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", clean_reason(self.reason))
        object.__setattr__(self, "break_glass", clean_reason(self.break_glass, "--break-glass"))

    @classmethod
    def options(cls) -> tuple[str, ...]:
        """What the request asks for beyond its reasons: the fields a dialog and a command must both offer."""
        return tuple(f.name for f in fields(cls) if f.name not in ("reason", "break_glass"))


@dataclass(frozen=True, kw_only=True)
class PushRequest(Request):
    KIND: ClassVar[str] = "push"
    env: str
    slug: str
    name: str | None
    description: str
    repository: str | None = None  # None: the native (Prismeai) store


@dataclass(frozen=True, kw_only=True)
class PullRequest(Request):
    KIND: ClassVar[str] = "pull"
    env: str
    slug: str
    repository: str | None = None
    discard: bool = False  # discard the workspace's local changes


@dataclass(frozen=True, kw_only=True)
class RollbackRequest(Request):
    KIND: ClassVar[str] = "rollback"
    env: str
    slug: str
    version: str
    repository: str | None = None
    discard: bool = True  # a rollback replaces the content: the app always discards; the CLI asks
    sticky: bool = False  # roll forward to the old content, so the next restart keeps it
    sticky_name: str | None = None  # the republished version's name (default VERSION-revert)


@dataclass(frozen=True, kw_only=True)
class PromoteRequest(Request):
    KIND: ClassVar[str] = "promote"
    source: str  # env:slug
    target: str  # env:slug
    via: str = "archive"  # "archive" or "git"
    repository: str | None = None  # through git: the platform repository
    name: str | None = None  # through git: the version name
    accept_drift: bool = False
    allow_missing: tuple[str, ...] = ()  # required secrets the target may lack (audited)


@dataclass(frozen=True, kw_only=True)
class BulkPushRequest(Request):
    KIND: ClassVar[str] = "bulk-push"
    env: str
    repository: str
    groups: tuple[str, ...]
    name: str | None = None
    description: str | None = None
    dry_run: bool = False
    force: bool = False


@dataclass(frozen=True, kw_only=True)
class BulkImportRequest(Request):
    KIND: ClassVar[str] = "bulk-import"
    env: str
    repository: str
    groups: tuple[str, ...]
    force: bool = False  # re-import even at that version
    continue_on_error: bool = False  # import the next groups after a group with errors


@dataclass(frozen=True, kw_only=True)
class RolloutRequest(Request):
    KIND: ClassVar[str] = "rollout"
    release: str
    groups: tuple[str, ...] = ()  # in order; none only with resume
    repository: str | None = None  # the platform repository holding the release (default: the release's)
    resume: bool = False  # continue a stopped rollout after its last passed environment
    auto_rollback: bool = False  # a failed gate rolls back what this rollout changed, verified (issue 29)


@dataclass(frozen=True, kw_only=True)
class RestoreRequest(Request):
    KIND: ClassVar[str] = "snapshots restore"
    snapshot: str  # its id


REQUESTS: tuple[type[Request], ...] = (
    PushRequest,
    PullRequest,
    RollbackRequest,
    PromoteRequest,
    BulkPushRequest,
    BulkImportRequest,
    RolloutRequest,
    RestoreRequest,
)
