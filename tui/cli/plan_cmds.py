"""`prisme-deploy plan bulk-import|promote`: what would change, before anything does.

Exit codes, ``terraform plan -detailed-exitcode`` style (README "Plans"): 0 the plan has no changes,
1 it has changes (a workspace to create, update, or one that is blocked), 2 usage, 3 auth, 4 network.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tui.cli.commands import _common, _env_name, run
from tui.cli.exits import EXIT_FAILED, EXIT_OK
from tui.cli.output import Printer
from tui.core import errors as E
from tui.core.ops.context import Context
from tui.lazy import lazy

if TYPE_CHECKING:
    from tui.core.ops import plan as plans
else:  # loaded by the command that runs: the parser stays light (bench/: start-up)
    plans = lazy("tui.core.ops.plan")


def _groups(text: str | None) -> list[str]:
    return [g.strip() for g in (text or "").split(",") if g.strip()]


def show(out: Printer, the_plan: plans.Plan) -> int:
    if out.json_mode:
        out.data(the_plan.to_json())
    else:
        for line in the_plan.lines():
            out.line(line)
    return EXIT_FAILED if the_plan.has_changes else EXIT_OK


async def cmd_plan_bulk_import(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    env = _env_name(args, ctx)
    groups = _groups(args.groups)
    if not groups:
        raise E.UsageError("--groups needs at least one group, in order (for example base1,base2,extended).")
    the_plan = await plans.bulk_import(
        ctx, env, repository=args.repository, groups=groups, force_reimport=args.force_reimport
    )
    return show(out, the_plan)


async def cmd_plan_promote(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    ctx.env(args.source)
    ctx.env(args.target)
    the_plan = await plans.promote(ctx, args.source, args.target, groups=_groups(args.groups) or None)
    return show(out, the_plan)


async def cmd_plan_rollout(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    """Every environment of the [[rollout]] stages, in order: what its bulk import would change now."""
    from tui.core.ops import release, rollout

    groups = _groups(args.groups)
    if not groups:
        raise E.UsageError("--groups needs at least one group, in order (for example base1,base2,extended).")
    the_release = release.get(ctx, args.release, args.repository)
    repo_id = rollout.require_head(ctx, the_release, the_release.repository or args.repository)
    found = []
    for stage in rollout.stages(ctx):
        for env in stage.environments:
            found.append(await plans.bulk_import(ctx, env, repository=repo_id, groups=groups))
    note = rollout.smoke_note(rollout.smokes(ctx))
    if out.json_mode:
        out.data(
            {
                "release": the_release.name,
                "changes": any(p.has_changes for p in found),
                "plans": [p.to_json() for p in found],
                "notes": [note] if note else [],
            }
        )
    else:
        for the_plan in found:
            for line in the_plan.lines():
                out.line(line)
            out.line()
        if note:
            out.line(f"note: {note}")
    return EXIT_FAILED if any(p.has_changes for p in found) else EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "plan",
        help="what a bulk import or a promotion would change (exit 0: no changes, 1: changes)",
        description="Show what would change, per group in order and per workspace, without changing anything. "
        "Exit 0 when nothing would change, 1 when something would (create, update, or blocked), "
        "like terraform plan -detailed-exitcode.",
    )
    plan_sub = parser.add_subparsers(dest="plan_command", metavar="KIND", required=True)
    p = plan_sub.add_parser("bulk-import", help="plan a bulk import of groups from a platform repository")
    _common(p)
    p.add_argument("--repository", required=True, help="platform repository id (read from its local clone)")
    p.add_argument("--groups", required=True, help="comma-separated, in order (base1,base2,extended)")
    p.add_argument("--force-reimport", action="store_true", help="plan as if re-importing the same versions")
    p.set_defaults(func=run(cmd_plan_bulk_import))
    p = plan_sub.add_parser("promote", help="plan promoting every workspace of the groups from one env to another")
    _common(p, env=False)
    p.add_argument("source", metavar="FROM", help="source environment")
    p.add_argument("target", metavar="TO", help="target environment")
    p.add_argument("--groups", help="comma-separated groups (default: every configured group)")
    p.set_defaults(func=run(cmd_plan_promote))
    p = plan_sub.add_parser("rollout", help="plan a rollout: the bulk import of every [[rollout]] environment")
    _common(p, env=False)
    p.add_argument("release", help="a recorded release (release list)")
    p.add_argument("--groups", required=True, help="comma-separated, in order (base1,base2,extended)")
    p.add_argument("--repository", help="platform repository holding the release")
    p.set_defaults(func=run(cmd_plan_rollout))
