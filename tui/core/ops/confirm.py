"""The confirmation rule every mutating action follows, in the app's dialogs and the CLI alike.

- A read-only environment (``read_only = true``, or ``--read-only``) refuses before anything is asked.
- A protected environment (production by default) wants the target typed: the workspace slug for an
  action on one workspace, the environment name for a bulk action, the release name for a rollout.
  The CLI takes ``--yes`` instead (its only way without a terminal); the app always asks.
- Where the environment has ``require_reason`` (production by default) a reason is required.
- In a freeze window nothing runs unless the glass is broken, with a reason (audited).

The rails (freeze, reason) are checked before anyone types a name, so nobody types one only to be refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui.core import errors as E

if TYPE_CHECKING:
    from tui.core.config import Environment
    from tui.core.ops.context import Context
    from tui.core.ops.requests import Request

MISMATCH = "Confirmation did not match; nothing was done."


@dataclass(frozen=True)
class Confirmation:
    """What confirming ``what`` on ``env`` takes."""

    env: str
    what: str
    typed: str | None  # the text to type to confirm; None: a plain confirm is enough
    reason_required: bool  # a reason must be given (require_reason, outside a freeze window)
    frozen: str | None = None  # "until <end> (window '<text>')" in a freeze window: only break-glass goes

    @property
    def protected(self) -> bool:
        return self.typed is not None

    def must_type(self, *, yes: bool = False) -> bool:
        """Whether the target must be typed now (``yes``: the CLI's --yes confirms a protected target)."""
        return self.typed is not None and not yes

    def matches(self, typed: str) -> bool:
        """Whether ``typed`` confirms (surrounding blanks ignored, case kept: ``Prod`` is not ``prod``)."""
        return self.typed is None or typed.strip() == self.typed

    def check(self, typed: str) -> None:
        """Raise (exit 2, nothing done) unless ``typed`` confirms."""
        if not self.matches(typed):
            raise E.UsageError(MISMATCH)


def frozen_until(env: Environment) -> str | None:
    """``until 2026-12-24T08:00+01:00 (window 'Fri 16:00-Mon 08:00 Europe/Paris')`` while frozen, else None."""
    from tui.core import freeze

    current = freeze.state(env.name, env.freeze).current
    if current is None:
        return None
    window, _begin, end = current
    return f"until {end.isoformat(timespec='minutes')} (window {window.text!r})"


def rule(ctx: Context, env: str, target: str, what: str, *, always_type: bool = False) -> Confirmation:
    """How ``what`` on ``env`` is confirmed, ``target`` being what a protected environment wants typed.

    Raises ReadOnly (exit 2) when the environment may not change. ``always_type``: type ``target`` even
    on an unprotected environment (removing an environment from the configuration)."""
    ctx.require_writable(env)
    environment = ctx.env(env)
    frozen = frozen_until(environment)
    typed = target if (environment.protected or always_type) else None
    required = environment.require_reason and ctx.reasons_enforced and not frozen  # break-glass stands for it
    return Confirmation(env, what, typed, required, frozen)


def guard(ctx: Context, env: str, target: str, what: str, request: Request | None = None) -> Confirmation:
    """:func:`rule`, refusing at once what the rails refuse for ``request`` (a freeze window without a broken
    glass, a missing required reason): the CLI's order, before it asks for anything."""
    found = rule(ctx, env, target, what)
    ctx.check_rails(env, what, request)
    return found
