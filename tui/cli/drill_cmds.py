"""`prisme-deploy drill --env ENV WORKSPACE`: a rollback drill, timed and recorded (issue 29)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from tui.cli import interaction, requests
from tui.cli.commands import _common, _env_name, run
from tui.cli.exits import EXIT_FAILED, EXIT_OK
from tui.cli.output import Printer
from tui.core import errors as E
from tui.core.ops import confirm as confirmation
from tui.core.ops.context import Context
from tui.lazy import lazy

if TYPE_CHECKING:
    from tui.core.ops import drill
else:  # loaded by the command that runs: the parser stays light (bench/: start-up)
    drill = lazy("tui.core.ops.drill")


def _confirm(args: argparse.Namespace, ctx: Context, env: str, what: str) -> None:
    """A drill breaks a workspace on purpose: on a protected environment it needs --yes *and* the
    environment's name typed (--yes alone is refused, and so is a run with no terminal)."""
    rule = confirmation.guard(ctx, env, env, what)
    if not ctx.env(env).protected:
        if rule.must_type(yes=args.yes):
            interaction.require_prompt(args, what, "--yes")
            sys.stderr.write(f"{what}.\nType {env!r} to confirm: ")
            sys.stderr.flush()
            rule.check(input())
        return
    interaction.require_prompt(args, f"{env} is protected: {what}", "a terminal (the name typed, besides --yes)")
    sys.stderr.write(f"{env} is PROTECTED. {what}.\nType {env!r} to confirm: ")
    sys.stderr.flush()
    rule.check(input())


async def cmd_drill(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    env = _env_name(args, ctx)
    if ctx.env(env).protected and not args.yes:  # refused before any request
        raise E.UsageError(f"{env} is protected: a drill there needs --yes and the environment's name typed.")
    planned = await drill.prepare(ctx, env, args.workspace, discard_local_changes=args.discard_local_changes)
    what = (
        f"Drill: roll {args.workspace} back from {planned.current} to {planned.previous} on {env}, "
        f"then restore {planned.current}"
    )
    _confirm(args, ctx, env, what)
    if not out.json_mode:
        out.line(what + ".")
    done = await drill.run(ctx, planned, request=requests.why(args))
    report(done, out)
    return EXIT_OK if done.ok else EXIT_FAILED


def report(done: drill.Drill, out: Printer) -> None:
    """The drill's result: JSON, or a table saying what each leg did, its time and its rate-limit wait apart."""
    if out.json_mode:
        out.data(done.to_json())
        return
    out.table(
        [[leg.name, leg.version, f"{leg.seconds:.1f} s", _waited(leg.waited), leg.state()] for leg in done.legs],
        ["leg", "to", "time", "rate-limit wait", "state"],
    )
    waits = f", besides {done.waited:.1f} s waiting for the gateway's rate limit" if done.waited >= 0.1 else ""
    out.line(f"time to recover: {done.total:.1f} s{waits} ({'ok' if done.ok else 'FAILED'}); recorded in drills.json")
    for leg in done.legs:
        if not leg.ok:
            out.note(f"{leg.name}: {leg.message}")


def _waited(seconds: float) -> str:
    """A leg's rate-limit wait, apart from its time (a dash: none)."""
    return f"{seconds:.1f} s" if seconds >= 0.1 else "-"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    text = (
        "rollback drill: roll a workspace back to its previous version and restore the current one, each "
        "verified from state; times each leg and the total (audit journal and drills.json)"
    )
    p = sub.add_parser("drill", help=text, description=text)
    _common(p, env=True, mutating=True)
    p.add_argument("workspace", help="workspace slug")
    p.add_argument("--discard-local-changes", action="store_true", help="drill even with unpushed edits (lost)")
    p.set_defaults(func=run(cmd_drill))
