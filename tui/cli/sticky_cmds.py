"""`rollback --sticky` and the restart risk every rollback reports (issue 16, "rollbacks that stick")."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tui.cli.exits import EXIT_FAILED, EXIT_OK
from tui.cli.output import Printer
from tui.core import errors as E
from tui.core.ops.context import Context

if TYPE_CHECKING:
    from tui.core.ops.actions import Outcome
    from tui.core.ops.requests import RollbackRequest
    from tui.core.ops.sticky import RestartRisk


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sticky",
        action="store_true",
        help="roll forward to the old content: publish it as a new version (VERSION-revert) in the repository "
        "the startup import reads, then pull it, so the next restart keeps it",
    )
    parser.add_argument("--sticky-name", help="name of the republished version (default: VERSION-revert)")


async def _risk(ctx: Context, env: str, slug: str) -> RestartRisk:
    from tui.core.ops.sticky import RestartRisk, restart_risk

    try:
        return await restart_risk(ctx, env, slug)
    except E.PrismeError as exc:
        return RestartRisk(
            True,
            f"UNKNOWN: assume the next restart re-imports (the platform activity could not be read: {exc.message}); "
            "make it stick: rollback --sticky",
            unknown=True,
        )


def _print(out: Printer, outcome: Outcome, risk: RestartRisk | None) -> int:
    if out.json_mode:
        data = outcome.to_json()
        data["restart"] = risk.to_json() if risk else None
        out.data(data)
        return EXIT_OK if outcome.ok else EXIT_FAILED
    for step in outcome.steps:
        out.line(f"  {step}")
    out.line(outcome.message)
    if risk is not None:
        out.line(risk.message)
    if outcome.next_step:
        out.note(f"next: {outcome.next_step}")
    return EXIT_OK if outcome.ok else EXIT_FAILED


async def with_restart_risk(ctx: Context, out: Printer, env: str, slug: str, outcome: Outcome) -> int:
    """A rollback's outcome, with whether the next restart's startup import undoes it."""
    risk = await _risk(ctx, env, slug) if outcome.ok else None
    return _print(out, outcome, risk)


async def sticky(req: RollbackRequest, ctx: Context, out: Printer) -> int:
    from tui.core.ops.sticky import sticky_rollback

    outcome, risk = await sticky_rollback(
        ctx, req.env, req.slug, req.version, repository=req.repository, name=req.sticky_name, request=req
    )
    return _print(out, outcome, risk)
