"""`prisme-deploy approve FILE` and `apply FILE`: a saved plan, approved by another person, run exactly.

``apply`` exits 1 and changes nothing when the plan lacks approvals (naming who approved) or when a target
no longer reads as it did when the plan was made (naming each target and what changed); 2 for a file that
is not a plan this tool wrote (size, JSON, schema, digest).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tui.cli import requests
from tui.cli.commands import _common, _outcome, confirm, run
from tui.cli.exits import EXIT_FAILED, EXIT_OK
from tui.cli.output import Printer
from tui.core.ops.context import Context

if TYPE_CHECKING:
    from tui.core.ops.planfile import SavedPlan


def _load(args: argparse.Namespace, ctx: Context) -> SavedPlan:
    from tui.core.ops import planfile

    the_plan = planfile.load(args.file)  # the team policy is in ctx already (a mutating command's context)
    for env in the_plan.environments:
        ctx.env(env)  # a plan for an environment this configuration does not know: said here (exit 2)
    return the_plan


async def cmd_approve(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    from tui.core.ops import apply

    the_plan = _load(args, ctx)
    done = await apply.approve(ctx, the_plan, requests.why(args).reason)
    if out.json_mode:
        out.data({"digest": the_plan.digest, "approvals": [record.to_json() for _env, record in done]})
        return EXIT_OK
    for env, record in done:
        identity = "stamped by the platform" if record.stamped else "identity claimed, not stamped"
        out.line(f"approved plan {the_plan.short} ({the_plan.title()}) on {env} as {record.user_name} ({identity})")
    return EXIT_OK


async def cmd_apply(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    from tui.core.ops import apply

    the_plan = _load(args, ctx)
    why = requests.why(args)
    out.note(f"plan {the_plan.short}: {the_plan.title()}, saved {the_plan.created_at}")

    def confirmed(env: str) -> None:
        confirm(args, ctx, env, env, f"Apply plan {the_plan.short} ({the_plan.title()})", why)

    ok = await apply.apply_plan(ctx, the_plan, why, confirm=confirmed, on_event=_printer(out), on_note=out.note)
    return EXIT_OK if ok else EXIT_FAILED


def _printer(out: Printer) -> Callable[[Any], None]:
    """What a run reports (``apply.run_plan``), printed as the commands that run each part print it."""
    from tui.core.api import bulk as api_bulk
    from tui.core.ops import actions, bulk

    tally = api_bulk.BulkTally()

    def said(event: Any) -> None:
        nonlocal tally
        if isinstance(event, str):
            out.line(event)
        elif isinstance(event, actions.Outcome):
            _outcome(out, event)
        elif isinstance(event, bulk.BulkRun):
            if out.json_mode:
                out.data(event.to_json())
        else:
            if event.kind == "started":
                tally = api_bulk.BulkTally()
            tally.feed(event)
            out.bulk_event(event, tally)

    return said


def add_parsers(sub: argparse._SubParsersAction) -> None:
    text = "approve a saved plan (`plan ... --out FILE`): recorded in the ledger; its author cannot approve it"
    p = sub.add_parser("approve", help=text, description=text)
    _common(p, env=False, mutating=True)
    p.add_argument("file", metavar="FILE", help="a plan saved with `plan ... --out FILE`")
    p.set_defaults(func=run(cmd_approve))
    text = (
        "run a saved plan exactly: refused (exit 1, nothing done) without the approvals its environments need "
        "or when a target changed since the plan was made"
    )
    p = sub.add_parser("apply", help=text, description=text)
    _common(p, env=False, mutating=True)
    p.add_argument("file", metavar="FILE", help="a plan saved with `plan ... --out FILE`")
    p.set_defaults(func=run(cmd_apply))
