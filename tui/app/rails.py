"""The rails of issue 17 in the app: a reason field in every mutating dialog, freeze windows said before
the dialog is filled in, break-glass.

Every mutating dialog opens through ``open_guarded``, which asks the core's gate (tui.core.ops.gate) as
the action is asked for: read-only or busy refuses with no dialog; otherwise it adds the reason field (prefilled from
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
from tui.core.ops import gate
from tui.core.rails import REASON_VARIABLE

if TYPE_CHECKING:
    from tui.app.app import PrismeDeployApp
    from tui.app.screens.modals import ActionModal, Field

REASON = "reason"
BREAK_GLASS = "break_glass"


def fields(env: Environment, frozen: str | None, *, required: bool | None = None) -> list[Field]:
    """The reason field (``required``: default, where ``env`` requires one outside a window) and, when
    frozen, the break-glass field."""
    from tui.app.screens.modals import Field

    if required is None:
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


def refused(app: PrismeDeployApp, what: str, envs: list[str]) -> gate.Decision | None:
    """The gate's answer as the action is asked for: None (said) when nothing in a dialog can get it
    through (read-only, busy); else the decision, frozen environments said with their windows."""
    decision = gate.decide(app.ctx, gate.Operation(what, tuple(envs)))  # no reason yet: the dialog asks
    blocking = decision.by_rule("read_only") + decision.by_rule("busy") + decision.by_rule("approval")
    if blocking:
        text = " ".join(r.message for r in blocking)
        app.log_pane.add(f"REFUSED {what}: {text}")
        app.notify(f"{text} {blocking[0].way_through}", title="Refused", severity="warning", timeout=10)
        return None
    for refusal in decision.by_rule("frozen"):
        # Refused before anything is typed: the window's end, and the only way through.
        text = f"{refusal.env} is frozen {refusal.window}: {what} refused. Break the glass in the dialog to go anyway."
        app.log_pane.add(f"FROZEN {text}")
        app.notify(text, title="Freeze window", severity="error", timeout=15)
    return decision


def open_guarded(
    app: PrismeDeployApp,
    modal: ActionModal,
    done: Callable[[dict[str, Any] | None], None],
    what: str,
    envs: list[str] | None = None,
) -> None:
    """Push a mutating dialog with its rails (the gate's, for ``envs``: default the dialog's environment);
    ``done`` gets the values once the reasons are set. Refused at once (no dialog) when the gate refuses
    what no field can answer."""
    env = modal.env
    decision = refused(app, what, envs or [env.name])
    if decision is None:
        return
    frozen = decision.by_rule("frozen")
    if frozen:
        several = len(envs or []) > 1  # a rollout: say which environment each window is on
        windows = "; ".join((f"{r.env} " if several else "") + str(r.window) for r in frozen)
        modal.warnings.insert(0, f"FROZEN {windows}: refused unless you break the glass below (audited).")
    required = bool(decision.by_rule("reason")) and not frozen
    modal.rails_fields = fields(env, windows if frozen else None, required=required)
    names = envs or [env.name]

    def confirmed(values: dict[str, Any] | None) -> None:
        if values is not None and not apply(app, names, values):
            return
        done(values)
        glass = app.ctx.break_glass
        if values is not None and glass and frozen:
            line = f"BREAK-GLASS {', '.join(r.env for r in frozen)}: {what} in a freeze window; reason: {glass}"
            app.log_pane.add(line)
            app.log_pane.summary(line, ok=False)  # drawn in red
            app.notify(line, title="BREAK-GLASS", severity="error", timeout=15)

    app.push_screen(modal, confirmed)


def apply(app: PrismeDeployApp, envs: list[str], values: dict[str, Any]) -> bool:
    """Take the reasons out of the dialog's values into the Context; False (said) when one is unusable."""
    reason = values.pop(REASON, None) or None
    glass = values.pop(BREAK_GLASS, None) or None
    try:
        app.ctx.set_reason(reason, glass)
    except E.PrismeError as exc:
        app.notify(exc.message, title="Reason", severity="error")
        return False
    for name in envs:
        if name not in app.ctx.running:  # a glass broken earlier covered that change only
            app.ctx.audit.break_glass.pop(name, None)
    return True
