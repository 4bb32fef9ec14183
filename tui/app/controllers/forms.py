"""The app's side of the typed requests (issue 27): which dialog field fills which request field, and what
the selection gives. A confirmed dialog becomes its request here (``request_of``), reasons included.

``DIALOGS`` is what ``request_of`` reads, so it cannot drift from what the dialogs do: a dialog field it does
not know is refused (a programming error, said). ``tests/unit/test_requests.py`` checks that, with the CLI's
flags (``tui/cli/requests.py``), both sides cover every field of every request, or say why not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tui.core.ops import requests as R

REASON, BREAK_GLASS = "reason", "break_glass"  # the rails' fields (tui.app.controllers.rails), in every dialog

Req = TypeVar("Req", bound=R.Request)


@dataclass(frozen=True)
class Dialog:
    fields: Mapping[str, str]  # dialog field -> request field
    selection: tuple[str, ...] = ()  # request fields the selection gives (the environment, the workspace...)
    derived: tuple[str, ...] = ()  # request fields worked out from a dialog field by the controller
    not_offered: Mapping[str, str] = field(default_factory=dict)  # request field -> why the app leaves it default


DIALOGS: dict[type[R.Request], Dialog] = {
    R.PushRequest: Dialog({"name": "name", "description": "description", "repository": "repository"},
                          ("env", "slug")),
    R.PullRequest: Dialog({"repository": "repository", "discard": "discard"}, ("env", "slug")),
    R.RollbackRequest: Dialog(
        {"sticky": "sticky"}, ("env", "slug", "version", "repository"),
        not_offered={"discard": "the app's rollback always discards local edits; its dialog lists the edits lost",
                     "sticky_name": "the revert is named VERSION-revert; the CLI's --sticky-name renames it"},
    ),
    R.PromoteRequest: Dialog(
        {"via": "via", "name": "name", "accept_drift": "accept_drift"}, ("source", "target"), ("repository",),
        not_offered={"allow_missing": "the app refuses a promotion that lacks a required secret; set it first"},
    ),
    R.BulkPushRequest: Dialog({"repository": "repository", "groups": "groups", "name": "name",
                               "description": "description", "dry_run": "dry_run", "force": "force"}, ("env",)),
    R.BulkImportRequest: Dialog({"repository": "repository", "groups": "groups", "force": "force",
                                 "continue": "continue_on_error"}, ("env",)),
    R.RolloutRequest: Dialog(
        {"groups": "groups", "auto_rollback": "auto_rollback"}, ("release",),
        not_offered={"repository": "the app rolls out from the release's own repository",
                     "resume": "the app offers to roll a stopped rollout back; the CLI's --resume goes on"},
    ),
    R.RestoreRequest: Dialog({}, ("snapshot",)),
}  # fmt: skip


def why(values: dict[str, Any]) -> R.Request:
    """The reasons a confirmed dialog carries (taken out of ``values``), as a bare request: what a change
    outside the eight requests (unlock, a marked set) passes to the gate and the journal."""
    return R.Request(reason=values.pop(REASON, None) or None, break_glass=values.pop(BREAK_GLASS, None) or None)


def request_of(kind: type[Req], values: Mapping[str, Any], **given: Any) -> Req:
    """The request a confirmed dialog asks for: its fields through ``DIALOGS``, ``given`` for the selection
    (and derived fields), its reasons. An empty text is "not given" (None), a multi-select a tuple."""
    rest = dict(values)
    reasons = why(rest)
    dialog = DIALOGS[kind]
    unknown = sorted(set(rest) - set(dialog.fields))
    if unknown:
        raise KeyError(f"{kind.__name__}: dialog field(s) {', '.join(unknown)} fill no request field (forms.DIALOGS)")
    asked = {dialog.fields[name]: _plain(value) for name, value in rest.items()}
    return kind(**asked, **given, reason=reasons.reason, break_glass=reasons.break_glass)


def _plain(value: Any) -> Any:
    if value == "":
        return None
    if isinstance(value, list):
        return tuple(value)
    return value
