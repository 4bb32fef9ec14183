"""`prisme-deploy approve FILE` and `apply FILE`: a saved plan, approved by another person, run exactly.

``apply`` exits 1 and changes nothing when the plan lacks approvals (naming who approved) or when a target
no longer reads as it did when the plan was made (naming each target and what changed); 2 for a file that
is not a plan this tool wrote (size, JSON, schema, digest).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from tui.cli import requests
from tui.cli.commands import _common, _outcome, confirm, run
from tui.cli.exits import EXIT_FAILED, EXIT_OK
from tui.cli.output import Printer
from tui.core.ops.context import Context

if TYPE_CHECKING:
    from tui.core.ops.planfile import SavedPlan
    from tui.core.ops.requests import Request


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
    from tui.core.ops import apply, gate

    the_plan = _load(args, ctx)
    why = requests.why(args)
    out.note(f"plan {the_plan.short}: {the_plan.title()}, saved {the_plan.created_at}")
    with apply.approved(the_plan):  # the approval rule is checked below, from the ledger
        gate.enforce(ctx, gate.operation(ctx, f"apply of plan {the_plan.short}", the_plan.environments, request=why))
    states = await apply.require_approvals(ctx, the_plan)
    for state in states:
        out.note(f"approved: {state.said()}")
    await apply.require_unchanged(ctx, the_plan)
    out.note(f"every target reads as it did when plan {the_plan.short} was made")
    with apply.approved(the_plan):  # approved above: the confirmation asks the gate again
        for env in the_plan.environments:
            confirm(args, ctx, env, env, f"Apply plan {the_plan.short} ({the_plan.title()})", why)
        ok = await _run(args, ctx, out, the_plan, why)
    for note in await apply.record(ctx, the_plan, states, ok, why.reason):
        out.note(f"note: {note}")
    return EXIT_OK if ok else EXIT_FAILED


async def _run(args: argparse.Namespace, ctx: Context, out: Printer, the_plan: SavedPlan, why: Request) -> bool:
    from tui.core.api import bulk as api_bulk
    from tui.core.ops import apply, bulk, rollout

    p: dict[str, Any] = the_plan.params
    if the_plan.kind == "bulk-import":
        result = bulk.BulkRun(p["env"], "bulk-import")
        tally = api_bulk.BulkTally()
        events = bulk.bulk_import(
            ctx,
            p["env"],
            repository=p["repository"],
            groups=p["groups"],
            force_reimport=bool(p.get("force_reimport")),
            run=result,
            request=why,
        )
        async for event in events:
            if event.kind == "started":
                tally = api_bulk.BulkTally()
            tally.feed(event)
            out.bulk_event(event, tally)
        if out.json_mode:
            out.data(result.to_json())
        return not result.failed
    if the_plan.kind == "rollback":
        from tui.core.ops import actions

        item = (the_plan.summary.get("items") or [{}])[0]
        if item.get("action") == "skip":
            out.line(
                f"{p['workspace']} on {p['env']} already runs the content of {p['version']}: nothing to roll back."
            )
            return True
        outcome = await actions.pull(
            ctx,
            p["env"],
            p["workspace"],
            version=p["version"],
            repository=p.get("repository"),
            discard_local_changes=bool(p.get("discard_local_changes")),
            action="rollback",
            request=why,
        )
        return _outcome(out, outcome) == EXIT_OK
    if the_plan.kind == "promote":
        ok = True
        async for outcome in apply.promotions(ctx, the_plan, why):
            ok = _outcome(out, outcome) == EXIT_OK and ok
        return ok

    async def confirmed(_env: str, _plan: Any) -> bool:
        return True  # the apply was confirmed once, for every environment, above

    state = await rollout.run(
        ctx, p["release"], repository=p["repository"], groups=p["groups"], confirm=confirmed, request=why
    )
    out.line(f"rollout {state.release}: {state.status}" + (f" at {state.failed['env']}" if state.failed else ""))
    return state.status == "completed"


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
