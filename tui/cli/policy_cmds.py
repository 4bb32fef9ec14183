"""`prisme-deploy policy show [--env E] [--json]`: the merged policy, each value with where it comes from."""

from __future__ import annotations

import argparse

from tui.cli.commands import _common, run
from tui.cli.exits import EXIT_OK
from tui.cli.output import Printer
from tui.core.ops.context import Context


async def cmd_policy_show(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    from tui.core.ops import policy

    found = policy.show(ctx, [args.env] if args.env else None)  # an unknown --env: "did you mean" (exit 2)
    if out.json_mode:
        out.data({"environments": [p.to_json() for p in found]})
        return EXIT_OK
    for env in found:
        if env.repository:
            out.line(f"{env.env}: team policy from {env.repository}")
        else:  # no file at the head, or no repository at all: said which (issue: "from no repository")
            out.line(f"{env.env}: {env.origin}")
        for key, setting in env.settings.items():
            value = ", ".join(setting.value) or "none" if key == "freeze" else str(setting.value).lower()
            out.line(f"  {key:15} {value}  ({'; '.join(setting.sources) or 'default'})")
        for note in env.notes:
            out.line(f"  note: {note}")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "policy",
        help="the team policy (.prisme-deploy/policy.toml in the platform repository) merged with yours",
        description="The policy per environment (approvals, freeze windows, require_reason, protected): the "
        "platform repository's .prisme-deploy/policy.toml at its branch head, tightened (never loosened) by "
        "the personal configuration, each value with its source.",
    )
    policy_sub = parser.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    p = policy_sub.add_parser("show", help="print the merged policy and the source of each value")
    _common(p, env=False)
    p.add_argument("--env", help="only this environment")
    p.set_defaults(func=run(cmd_policy_show))
