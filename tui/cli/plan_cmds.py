"""`prisme-deploy plan bulk-import|promote`: what would change, before anything does.

Exit codes, ``terraform plan -detailed-exitcode`` style (README "Plans"): 0 the plan has no changes,
1 it has changes (a workspace to create, update, or one that is blocked), 2 usage, 3 auth, 4 network.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


async def save(
    args: argparse.Namespace, ctx: Context, out: Printer, kind: str, params: dict[str, Any], summary: dict[str, Any]
) -> None:
    """``--out FILE``: the plan, what it read on every target, recorded in the ledger (issue 28)."""
    if not getattr(args, "out", None):
        return
    from tui.core.ops import apply, policy

    policy.enforce(ctx)  # the approvals an environment needs decide whether the ledger must be reached
    saved = await apply.save(ctx, await apply.build(ctx, kind, params, summary), Path(args.out))
    author = saved.plan.author or {}
    who = f" by {author.get('name')}" if author.get("name") else ""
    out.note(f"saved plan {saved.plan.short}{who} to {saved.path} (digest {saved.plan.digest})")
    for note in saved.notes:
        out.note(f"note: {note}")


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
    code = show(out, the_plan)
    params = {"env": env, "repository": args.repository, "groups": groups, "force_reimport": args.force_reimport}
    await save(args, ctx, out, "bulk-import", params, the_plan.to_json())
    return code


async def cmd_plan_promote(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    ctx.env(args.source)
    ctx.env(args.target)
    the_plan = await plans.promote(ctx, args.source, args.target, groups=_groups(args.groups) or None)
    code = show(out, the_plan)
    params = {"source": args.source, "target": args.target, "groups": the_plan.groups}
    await save(args, ctx, out, "promote", params, the_plan.to_json())
    return code


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
    summary = {"release": the_release.name, "plans": [p.to_json() for p in found]}
    params = {"release": the_release.name, "repository": repo_id, "groups": groups}
    await save(args, ctx, out, "rollout", params, summary)
    return EXIT_FAILED if any(p.has_changes for p in found) else EXIT_OK


async def cmd_plan_rollback(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    """What `rollback WORKSPACE VERSION` would change: the version's content against what runs, edits lost."""
    env = _env_name(args, ctx)
    the_plan = await plans.rollback(ctx, env, args.workspace, args.version, repository=args.repository)
    code = show(out, the_plan)
    params = {
        "env": env,
        "workspace": args.workspace,
        "version": args.version,
        "repository": args.repository,
        "discard_local_changes": args.discard_local_changes,
    }
    await save(args, ctx, out, "rollback", params, the_plan.to_json())
    return code


def _out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="also save the plan (JSON, 0600) with what it read on every target, for `approve` and `apply`",
    )


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
    _out(p)
    p.set_defaults(func=run(cmd_plan_bulk_import))
    p = plan_sub.add_parser("promote", help="plan promoting every workspace of the groups from one env to another")
    _common(p, env=False)
    p.add_argument("source", metavar="FROM", help="source environment")
    p.add_argument("target", metavar="TO", help="target environment")
    p.add_argument("--groups", help="comma-separated groups (default: every configured group)")
    _out(p)
    p.set_defaults(func=run(cmd_plan_promote))
    p = plan_sub.add_parser("rollout", help="plan a rollout: the bulk import of every [[rollout]] environment")
    _common(p, env=False)
    p.add_argument("release", help="a recorded release (release list)")
    p.add_argument("--groups", required=True, help="comma-separated, in order (base1,base2,extended)")
    p.add_argument("--repository", help="platform repository holding the release")
    _out(p)
    p.set_defaults(func=run(cmd_plan_rollout))
    p = plan_sub.add_parser("rollback", help="plan rolling a workspace back to an earlier version")
    _common(p)
    p.add_argument("workspace", help="workspace slug")
    p.add_argument("version", help="version name (a git tag with --repository, else a native version)")
    p.add_argument("--repository", help="repository id of a git version (omit for a native version)")
    p.add_argument("--discard-local-changes", action="store_true", help="the rollback discards unpushed edits")
    _out(p)
    p.set_defaults(func=run(cmd_plan_rollback))
