"""The rails of issue 17 in the app: a reason field in every mutating dialog, freeze windows said before
the dialog is filled in, break-glass.

Every mutating dialog opens through ``open_guarded``: it adds the reason field (prefilled from
PRISME_DEPLOY_REASON, required where the environment has ``require_reason``) and, in a freeze window, a
required "break glass: reason" field. On confirm the reasons go to the Context (``set_reason``), exactly
as the CLI's --reason / --break-glass, before the operation's guard checks the rails: they reach the
audit journal and the version description or commit message.

The Context holds one reason at a time: the one of the dialog confirmed last. Two operations confirmed
on two environments within the same instant could swap reasons; the app confirms one dialog at a time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tui.core.api import errors as E
from tui.core.config import Environment
from tui.core.ops.confirm import frozen_until
from tui.core.rails import REASON_VARIABLE

if TYPE_CHECKING:
    from tui.app.app import PrismeDeployApp
    from tui.app.screens.modals import ActionModal, Field

REASON = "reason"
BREAK_GLASS = "break_glass"


def fields(env: Environment, frozen: str | None) -> list[Field]:
    from tui.app.screens.modals import Field

    required = env.require_reason and not frozen  # in a window the break-glass reason stands for it
    label = (
        f"Reason, required on {env.name}: Confirm waits for it (a ticket id):"
        if required
        else "Reason (optional; a ticket id):"
    )
    reason = Field(REASON, label, "text", os.environ.get(REASON_VARIABLE, ""), required=required)
    if not frozen:
        return [reason]
    glass = Field(BREAK_GLASS, "Break glass: reason (audited; lets the change through the freeze):", "text", "")
    glass.required = True
    return [reason, glass]


def open_guarded(
    app: PrismeDeployApp, modal: ActionModal, done: Callable[[dict[str, Any] | None], None], what: str
) -> None:
    """Push a mutating dialog with its rails; ``done`` gets the values once the reasons are set."""
    env = modal.env
    frozen = frozen_until(env)
    if frozen:
        # Refused before anything is typed: the window's end, and the only way through.
        text = f"{env.name} is frozen {frozen}: {what} refused. Break the glass in the dialog to go anyway."
        app.log_pane.add(f"FROZEN {text}")
        app.notify(text, title="Freeze window", severity="error", timeout=15)
        modal.warnings.insert(0, f"FROZEN {frozen}: refused unless you break the glass below (audited).")
    modal.rails_fields = fields(env, frozen)

    def confirmed(values: dict[str, Any] | None) -> None:
        if values is not None and not apply(app, env, values):
            return
        done(values)
        if values is not None and env.name in app.ctx.audit.break_glass:
            glass = app.ctx.audit.break_glass[env.name]
            line = f"BREAK-GLASS {env.name}: {what} in a freeze window; reason: {glass}"
            app.log_pane.add(line)
            app.log_pane.summary(line, ok=False)  # drawn in red
            app.notify(line, title="BREAK-GLASS", severity="error", timeout=15)

    app.push_screen(modal, confirmed)


def apply(app: PrismeDeployApp, env: Environment, values: dict[str, Any]) -> bool:
    """Take the reasons out of the dialog's values into the Context; False (said) when one is unusable."""
    reason = values.pop(REASON, None) or None
    glass = values.pop(BREAK_GLASS, None) or None
    try:
        app.ctx.set_reason(reason, glass)
    except E.PrismeError as exc:
        app.notify(exc.message, title="Reason", severity="error")
        return False
    if env.name not in app.ctx.running:  # a glass broken earlier covered that change only
        app.ctx.audit.break_glass.pop(env.name, None)
    return True
