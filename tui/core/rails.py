"""The rails every change passes (issue 17): a reason where the environment requires one, no change
during a freeze window unless the glass is broken (with a reason, audited).

The one place that decides is the gate (``tui.core.ops.gate``): the core operations ask it themselves,
the CLI before it asks for a confirmation and the app before it opens a dialog, so nobody types a slug
only to be refused. This module holds the reason's rules and the refusals' error types.
"""

from __future__ import annotations

from tui.core import errors as E
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
