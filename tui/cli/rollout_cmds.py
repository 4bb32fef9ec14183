"""`prisme-deploy rollout RELEASE`: through the [[rollout]] stages, gates after each environment (issue 16)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from tui.cli import requests
from tui.cli.commands import _common, run
from tui.cli.exits import EXIT_FAILED, EXIT_OK
from tui.cli.output import Printer
from tui.core.ops import confirm as confirmation
from tui.core.ops import format as fmt
from tui.core.ops.context import Context
from tui.lazy import lazy

if TYPE_CHECKING:
    from tui.core.ops import plan as plans
    from tui.core.ops import rollout
else:  # loaded by the command that runs: the parser stays light (bench/: start-up)
    rollout = lazy("tui.core.ops.rollout")


def _notify(out: Printer) -> Any:
    def show(step: dict[str, Any]) -> None:
        if out.json_mode:
            out.data({k: v for k, v in step.items() if k != "plan"})
            return
        (out.line if step.get("ok", True) else out.note)(f"[{step['kind']}] {step['message']}")
        if step["kind"] == "plan":
            for line in (step.get("plan") or {}).get("items", []):
                if line["action"] != "skip":
                    out.line(f"    {line['action']:8} {line['workspace']} {line['from'] or '—'} → {line['to'] or '—'}")

    return show


def _confirm(args: argparse.Namespace, ctx: Context) -> Any:
    """The confirmation rule (tui.core.ops.confirm) of each protected stage: the environment's name typed,
    or --yes; without a terminal the rollout stops there, resumable with --resume --yes."""

    async def confirm(env: str, the_plan: plans.Plan) -> bool:
        rule = confirmation.rule(ctx, env, env, f"Roll release {args.release} out to {env}")
        if not rule.must_type(yes=args.yes):
            return True
        if not sys.stdin.isatty():
            return False
        sys.stderr.write(f"{env} is PROTECTED. {rule.what}.\nType {env!r} to confirm: ")
        sys.stderr.flush()
        return rule.matches(input())

    return confirm


async def cmd_rollout(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    notify = _notify(out)
    req = requests.rollout(args)
    if args.rollback:
        state, outcomes = await rollout.rollback(ctx, req.release, notify=notify, request=req)
        ok = all(o.ok for o in outcomes)
    else:
        state = await rollout.run(
            ctx,
            req.release,
            repository=req.repository,
            groups=list(req.groups),
            resume=req.resume,
            confirm=_confirm(args, ctx),
            notify=notify,
            request=req,
            auto_rollback=args.auto_rollback,
        )
        ok = state.status == "completed"
    if out.json_mode:
        # Where the run stopped, rolled back afterwards or not (the README: the environment where it stopped).
        stopped = state.failed["env"] if state.failed and state.status in ("stopped", "rolled-back") else None
        out.data(
            fmt.summary_document(
                "rollout",
                status=state.status,
                done=state.done,
                stopped_at=stopped,
                locked=[],  # only a bulk push names workspaces skipped for a write lock
                failed=not ok,
                release=state.release,
                failure=state.failed,
                rollback=state.rollback,  # the automatic rollback: environments, ok, verified from the platform
                steps=rollout.journal(state.steps),  # the whole run in one document
            )
        )
    elif state.rollback is not None:  # stopped, then rolled back automatically: both said
        back = state.rollback
        verdict = "verified" if back["ok"] and back["verified"] else "NOT verified: see the rollback and verify lines"
        out.line(
            f"rollout {state.release}: stopped at {(state.failed or {}).get('env')}; automatically rolled back "
            f"{', '.join(back['environments']) or 'nothing'} ({verdict})"
        )
    else:
        out.line(f"rollout {state.release}: {state.status}" + (f" at {state.failed['env']}" if state.failed else ""))
    return EXIT_OK if ok else EXIT_FAILED


def add_parsers(sub: argparse._SubParsersAction) -> None:
    text = (
        "roll a release out through the [[rollout]] stages: plan, confirm, record, bulk import, gates "
        "(readiness, [[smoke]] automations, soak); stops at the first failed gate (exit 1)"
    )
    p = sub.add_parser("rollout", help=text, description=text)
    _common(p, env=False, mutating=True)
    p.add_argument("release", help="a recorded release (release list); the repository head must be it")
    p.add_argument("--groups", help="comma-separated, in order (base1,base2,extended)")
    p.add_argument("--repository", help="platform repository holding the release")
    p.add_argument("--resume", action="store_true", help="continue a stopped rollout after its last passed env")
    p.add_argument("--rollback", action="store_true", help="pull the previous versions back where it imported")
    p.add_argument(
        "--auto-rollback",
        action="store_true",
        help="when a gate fails, roll back every environment this rollout changed and verify it (exit 1 still)",
    )
    from tui.cli import lease_flags

    lease_flags.add_lease_flags(p)
    p.set_defaults(func=run(cmd_rollout))
