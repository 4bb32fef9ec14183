"""Safety-rail commands (issue 17): ``parity`` (secrets and config names across environments) and
``freeze status``. The rails on mutating commands themselves (reason, freeze, secret scan) are
options added to those commands by ``add_mutating_options``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tui.cli.commands import Handler, _common, run
from tui.cli.exits import EXIT_FAILED, EXIT_OK
from tui.cli.output import Printer
from tui.core.ops.context import Context

if TYPE_CHECKING:
    from tui.core.ops.parity import Parity

MARK = {True: "✓", False: "✗", None: "? cannot tell"}


def parity_rows(result: Parity) -> list[list[str]]:
    return [
        [r.kind, r.name, "yes" if r.required else "no", MARK[r.source_has], MARK[r.target_has]] for r in result.rows
    ]


async def cmd_parity(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    from tui.core.ops.compare import Ref
    from tui.core.ops.parity import parity

    source, target = Ref.parse(args.source), Ref.parse(args.target)
    result = await parity(ctx, source, target)
    missing = result.missing()
    if out.json_mode:
        out.data(result.to_json())
    else:
        if result.rows:
            out.table(parity_rows(result), ["kind", "name", "required", source.env, target.env])
        else:
            out.line(f"{source} declares no secrets and expects no config keys.")
        if not result.target_found:
            out.note(f"{target.slug} does not exist on {target.env} yet: nothing is set there.")
        if missing:
            out.note(f"missing on {target}: {', '.join(r.name for r in missing)} (required)")
    return EXIT_FAILED if missing else EXIT_OK


async def cmd_freeze(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    from tui.core import freeze

    names = [args.env] if args.env else sorted(ctx.config.environments)
    states = [freeze.state(name, ctx.env(name).freeze) for name in names]
    if out.json_mode:
        out.data([s.to_json() for s in states])
        return EXIT_OK
    rows = [
        [
            s.env,
            "FROZEN" if s.frozen else "open",
            f"until {s.current[2].isoformat(timespec='minutes')} ({s.current[0].text})" if s.current else "",
            freeze.describe(s.upcoming) if s.upcoming else "",
        ]
        for s in states
    ]
    out.table(rows, ["env", "state", "current window", "next window"])
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help_text, description=help_text)
        _common(parser, env=False)
        parser.set_defaults(func=run(handler))
        return parser

    p = add(
        "parity",
        cmd_parity,
        "secrets and config keys a workspace declares, and whether each environment has them "
        "(names only; exit 1 when a required one is missing on --to)",
    )
    p.add_argument("--from", dest="source", required=True, metavar="ENV:SLUG")
    p.add_argument("--to", dest="target", required=True, metavar="ENV:SLUG")

    freeze_parser = sub.add_parser("freeze", help="freeze windows of the environments")
    freeze_sub = freeze_parser.add_subparsers(dest="freeze_command", metavar="ACTION", required=True)
    p = freeze_sub.add_parser("status", help="every environment's current and next freeze window")
    _common(p, env=False)
    p.add_argument("--env", help="only this environment")
    p.set_defaults(func=run(cmd_freeze))
