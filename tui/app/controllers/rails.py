"""The rails of issue 17 in the app: a reason field in every mutating dialog, freeze windows said before
the dialog is filled in, break-glass.

Every mutating dialog opens through ``open_guarded``, which asks the core's gate (tui.core.ops.gate) as
the action is asked for: read-only or busy refuses with no dialog; otherwise it adds the reason field (prefilled from
PRISME_DEPLOY_REASON, required where the environment has ``require_reason``) and, in a freeze window, a
required "break glass: reason" field. On confirm the reasons are checked (as the CLI's --reason /
--break-glass) and stay in the dialog's values: the controller builds its request from them
(``forms.request_of``), so each operation carries its own reason to the gate, the audit journal and the
version description or commit message (issue 27: no reason shared between two operations).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tui.app.controllers.forms import BREAK_GLASS, REASON
from tui.core import errors as E
from tui.core.config import Environment
from tui.core.ops import gate
from tui.core.rails import REASON_VARIABLE, clean_reason

if TYPE_CHECKING:
    from tui.app.app import PrismeDeployApp
    from tui.app.screens.modals import ActionModal, Field


def fields(
    env: Environment, frozen: str | None, *, required: bool | None = None, where: list[str] | None = None
) -> list[Field]:
    """The reason field (``required``: default, where ``env`` requires one outside a window; ``where``: every
    environment that requires it, for a change of several) and, when frozen, the break-glass field."""
    from tui.app.screens.modals import Field

    if required is None:
        required = env.require_reason and not frozen  # in a window the break-glass reason stands for it
    names = ", ".join(where or [env.name])
    hint = " (a ticket id)" if len(where or []) < 2 else ""  # several names: the line stays one line at 80
    label = (
        f"Reason, required on {names}: Confirm waits for it{hint}:" if required else "Reason (optional; a ticket id):"
    )
    reason = Field(REASON, label, "text", os.environ.get(REASON_VARIABLE, ""), required=required)
    reason.missing = f"A reason is required on {names}: type one in the Reason box (a ticket id)."
    if not frozen:
        return [reason]
    glass = Field(BREAK_GLASS, "Break glass: reason (audited; lets the change through the freeze):", "text", "")
    glass.required = True
    return [reason, glass]


def refused(app: PrismeDeployApp, what: str, envs: list[str], *, plannable: bool = False) -> gate.Decision | None:
    """The gate's answer as the action is asked for: None (said) when nothing in a dialog can get it
    through (read-only, busy, an approval; ``plannable``: the dialog saves its plan for approval, so an
    approval does not block its opening: its Confirm is still refused by the gate); else the decision,
    frozen environments said with their windows."""
    decision = gate.decide(app.ctx, gate.Operation(what, tuple(envs)))  # no reason yet: the dialog asks
    blocking = decision.by_rule("read_only") + decision.by_rule("busy")
    blocking += [] if plannable else decision.by_rule("approval")
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
    decision = refused(app, what, envs or [env.name], plannable=modal.plan_saver is not None)
    if decision is None:
        return
    for refusal in decision.by_rule("approval"):  # a plannable dialog: its plan is saved, approved, applied
        modal.warnings.insert(0, f"{refusal.message} Confirm is refused: ctrl+s saves the plan for approval.")
    frozen = decision.by_rule("frozen")
    if frozen:
        several = len(envs or []) > 1  # a rollout: say which environment each window is on
        windows = "; ".join((f"{r.env} " if several else "") + str(r.window) for r in frozen)
        modal.warnings.insert(0, f"FROZEN {windows}: refused unless you break the glass below (audited).")
    asking = decision.by_rule("reason")
    where = list(dict.fromkeys(r.env for r in asking if r.env))  # in the change's order, each once
    modal.rails_fields = fields(env, windows if frozen else None, required=bool(asking) and not frozen, where=where)

    def confirmed(values: dict[str, Any] | None) -> None:
        if values is not None and not checked(app, values):
            return
        glass = values.get(BREAK_GLASS) if values is not None else None
        done(values)
        if glass and frozen:
            line = f"BREAK-GLASS {', '.join(r.env for r in frozen)}: {what} in a freeze window; reason: {glass}"
            app.log_pane.add(line)
            app.log_pane.summary(line, ok=False)  # drawn in red
            app.notify(line, title="BREAK-GLASS", severity="error", timeout=15)

    app.push_screen(modal, confirmed)


def checked(app: PrismeDeployApp, values: dict[str, Any]) -> bool:
    """The dialog's reasons, cleaned in place (one line, bounded) for the request; False (said) when one is
    unusable (empty once cleaned, too long)."""
    try:
        values[REASON] = clean_reason(values.get(REASON) or None)
        values[BREAK_GLASS] = clean_reason(values.get(BREAK_GLASS) or None, "--break-glass")
    except E.PrismeError as exc:
        app.notify(exc.message, title="Reason", severity="error")
        return False
    return True
