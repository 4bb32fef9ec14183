"""The one gate every change passes (issue 24): may this operation run now, on every environment it touches?

Rules, checked for every environment before the first one is touched:

- ``read_only``: not under ``--read-only``, not an environment with ``read_only = true`` (exit 2);
- ``frozen``: no change in a freeze window unless the glass is broken (``--break-glass REASON``, audited; exit 1);
- ``reason``: a reason where the environment has ``require_reason`` (a broken glass stands for it; exit 2);
- ``busy``: one operation per environment at a time (the Context's lock);
- ``approval``: hooks (``APPROVALS``) for the rules to come, such as a second pair of eyes.

The core operations call it themselves (``Context.operation``, ``rollout.run``), so a check an adapter
forgets is still made; the CLI asks it before it asks for a confirmation, the app when the action is asked
for, before its dialog opens. A dry run changes nothing: only ``read_only`` and ``busy`` apply to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from tui.core import errors as E

if TYPE_CHECKING:
    from tui.core.ops.context import Context
    from tui.core.ops.requests import Request

RULES = ("read_only", "frozen", "reason", "busy", "approval")  # the order refusals are told in


@dataclass(frozen=True)
class Operation:
    """What asks to run: ``what`` (said in every refusal), on ``environments``, with why and any broken glass."""

    what: str
    environments: tuple[str, ...]
    reason: str | None = None
    break_glass: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class Refusal:
    rule: str  # one of RULES
    env: str
    message: str
    way_through: str  # how to get through: wait, --break-glass, --reason...
    window: str | None = None  # frozen: "until <end> (window '<text>')"

    def error(self, message: str | None = None) -> E.PrismeError:
        from tui.core import rails

        kind: type[E.PrismeError] = {
            "read_only": E.ReadOnly,
            "frozen": rails.Frozen,
            "reason": rails.ReasonRequired,
            "busy": E.Busy,
        }.get(self.rule, E.PermissionDenied)
        return kind(message or self.message, hint=self.way_through)


@dataclass(frozen=True)
class Decision:
    operation: Operation
    refusals: tuple[Refusal, ...] = ()
    glass: tuple[str, ...] = ()  # environments it may change only because the glass is broken
    frozen_envs: tuple[str, ...] = field(default=())  # every environment in a window now (broken glass or not)

    @property
    def allowed(self) -> bool:
        return not self.refusals

    def by_rule(self, rule: str) -> list[Refusal]:
        return [r for r in self.refusals if r.rule == rule]

    @property
    def message(self) -> str:
        """Every refusal, then once what was refused: ``what`` on no environment (nothing was done)."""
        if not self.refusals:
            return f"{self.operation.what}: allowed"
        said = " ".join(r.message for r in self.refusals)
        return f"{said} {self.operation.what} refused; nothing was done."

    def raise_if_refused(self) -> None:
        if self.refusals:
            raise self.refusals[0].error(self.message)

    def stamp(self, env: str) -> dict[str, str | None]:
        """What a journal entry of this operation on ``env`` carries: its reason, and the broken glass where
        only the glass let it in."""
        glass = (self.operation.break_glass or "") if env in self.glass else None
        return {"reason": self.operation.reason, "break_glass": glass}


# An approval hook: a Refusal when ``env`` still needs one for this operation, else None.
Approval = Callable[["Context", Operation, str], Refusal | None]
APPROVALS: list[Approval] = []


def operation(
    ctx: Context, what: str, environments: Iterable[str], *, dry_run: bool = False, request: Request | None = None
) -> Operation:
    """An Operation carrying the reason and broken glass of the request it runs (``--reason``,
    ``--break-glass``, a dialog's fields); no request: the run's default reason (PRISME_DEPLOY_REASON)."""
    from tui.core.ops.requests import Request

    why = request if request is not None else Request()
    return Operation(what, tuple(dict.fromkeys(environments)), why.reason, why.break_glass, dry_run)


def unwritable(ctx: Context, name: str) -> Refusal | None:
    """The ``read_only`` rule alone (``Context.require_writable`` asks it): --read-only, or the environment's."""
    if ctx.read_only:
        return Refusal(
            "read_only",
            name,
            "prisme-deploy runs in --read-only mode: mutating actions are disabled.",
            "Run without --read-only.",
        )
    if ctx.env(name).read_only:
        return Refusal(
            "read_only",
            name,
            f"Environment {name!r} is marked read_only in the configuration.",
            f"Set read_only = false under [environments.{name}] to change it.",
        )
    return None


def decide(ctx: Context, op: Operation, *, now: datetime | None = None) -> Decision:
    """Whether ``op`` may run now on every one of its environments; changes nothing."""
    from tui.core import freeze

    refusals: list[Refusal] = []
    glass: list[str] = []
    frozen_envs: list[str] = []
    for name in op.environments:
        env = ctx.env(name)  # an unknown name fails here, with a "did you mean"
        if (read_only := unwritable(ctx, name)) is not None:
            refusals.append(read_only)
        current = freeze.state(name, env.freeze, now).current
        if current is not None:
            frozen_envs.append(name)
        if current is not None and not op.dry_run:
            window, _begin, end = current
            until = f"until {end.isoformat(timespec='minutes')} (window {window.text!r})"
            if op.break_glass:
                glass.append(name)
            else:
                refusals.append(
                    Refusal(
                        "frozen",
                        name,
                        f"{name} is frozen {until}.",
                        "Wait for the end of the window, or pass --break-glass REASON (recorded in the audit "
                        "journal); in the app, the dialog's break-glass field.",
                        until,
                    )
                )
        if not op.dry_run and env.require_reason and ctx.reasons_enforced and not (op.reason or op.break_glass):
            refusals.append(
                Refusal(
                    "reason",
                    name,
                    f"{name} requires a reason for every change.",
                    "Give --reason TEXT (a ticket id, for example) or set PRISME_DEPLOY_REASON; in the app, "
                    "the dialog's Reason field.",
                )
            )
        if name in ctx.running:
            refusals.append(
                Refusal(
                    "busy",
                    name,
                    f"{name} is already running {ctx.running[name]}; wait for it to finish.",
                    "Wait for the running operation to finish.",
                )
            )
        for approval in APPROVALS:
            needed = approval(ctx, op, name)
            if needed is not None:
                refusals.append(needed)
    refusals.sort(key=lambda r: RULES.index(r.rule) if r.rule in RULES else len(RULES))
    return Decision(op, tuple(refusals), tuple(glass), tuple(frozen_envs))


def enforce(ctx: Context, op: Operation) -> Decision:
    """:func:`decide`, raising the refusal (the first rule's error, every refusal in its message). The
    decision says which environments only a broken glass lets the change into (``stamp``: their journal
    entries carry it)."""
    decision = decide(ctx, op)
    decision.raise_if_refused()
    return decision
