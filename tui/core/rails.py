"""The rails every change passes (issue 17): a reason where the environment requires one, no change
during a freeze window unless the glass is broken (with a reason, audited).

``Context.operation`` checks them for every mutating use case (CLI and app); the CLI checks them once
more before it asks for a confirmation, so nobody types a slug only to be refused.
"""

from __future__ import annotations

from tui.core.api import errors as E
from tui.core.config import Environment
from tui.core.text import one_line

REASON_MAX = 500
REASON_VARIABLE = "PRISME_DEPLOY_REASON"


class ReasonRequired(E.UsageError):
    kind = "reason_required"


class Frozen(E.PrismeError):
    """Refused: the environment is in a freeze window (exit 1, nothing was done)."""

    kind = "frozen"


def clean_reason(text: str | None, what: str = "--reason") -> str | None:
    """A reason as it goes into the journal and the version description: one line, printable, bounded."""
    if text is None:
        return None
    line = " ".join(one_line(" ".join(str(text).split())).split())
    if not line:
        raise E.UsageError(f"{what} is empty: say why (a ticket id, for example).")
    if len(line) > REASON_MAX:
        raise E.UsageError(f"{what} is {len(line)} characters long; at most {REASON_MAX}.")
    return line


def with_reason(description: str | None, reason: str | None) -> str | None:
    """The version description or commit message, carrying the reason (where the server takes one)."""
    if not reason:
        return description
    if not description:
        return f"reason: {reason}"
    return description if reason in description else f"{description} (reason: {reason})"


def check(env: Environment, what: str, *, reason: str | None, break_glass: str | None, enforce_reason: bool) -> bool:
    """Raise when ``what`` may not run on ``env`` now; True when it runs only thanks to the broken glass."""
    from tui.core import freeze

    state = freeze.state(env.name, env.freeze)
    if state.current is not None and not break_glass:
        window, _begin, end = state.current
        raise Frozen(
            f"{env.name} is frozen until {end.isoformat(timespec='minutes')} (window {window.text!r}): "
            f"{what} refused; nothing was done.",
            hint="Wait for the end of the window, or pass --break-glass REASON (recorded in the audit journal).",
        )
    if enforce_reason and env.require_reason and not (reason or break_glass):
        raise ReasonRequired(
            f"{env.name} requires a reason for every change: {what} refused; nothing was done.",
            hint=f"Give --reason TEXT (a ticket id, for example) or set {REASON_VARIABLE}.",
        )
    return state.current is not None
