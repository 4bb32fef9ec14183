"""`prisme-deploy ledger [--env E] [--since T] [--json]` and `ledger init --env E` (issue 28): the shared
record of who changed, approved and leased what, read from the platform by any machine and any user."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tui.cli.commands import _common, _env_name, run
from tui.cli.exits import EXIT_OK
from tui.cli.output import Printer
from tui.core import errors as E
from tui.core.ops.context import Context
from tui.core.text import one_line
from tui.lazy import lazy

if TYPE_CHECKING:
    from tui.core import ledger
    from tui.core.ledger import lease, setup, view
else:  # loaded by the command that runs: the parser stays light (bench/: start-up)
    ledger = lazy("tui.core.ledger")
    view = lazy("tui.core.ledger.view")
    lease = lazy("tui.core.ledger.lease")
    setup = lazy("tui.core.ledger.setup")

AGO = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")


def since(value: str | None) -> datetime | None:
    """``--since``: an ISO date or time (UTC unless it says), or an age (30m, 12h, 7d, 2w)."""
    if not value:
        return None
    if found := AGO.match(value):
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[found[2]]
        return datetime.now(UTC) - timedelta(**{unit: int(found[1])})
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise E.UsageError(
            f"--since {value!r}: an ISO date or time (2026-12-07T10:00Z) or an age (30m, 12h, 7d)."
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def cmd_ledger(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    env = _env_name(args, ctx)
    book = ledger.open_ledger(ctx, env)
    records = await book.read(since=since(args.since), kinds=args.kind or None)
    leases = lease.active(records, env, book.now()) if not args.kind or "lease" in args.kind else []
    if out.json_mode:
        out.data(
            {
                "env": env,
                "channel": book.channel,
                "identity": "stamped by the platform" if book.channel == "stamped" else "claimed, not stamped",
                "records": [r.to_json() for r in records],
                "leases": [held.to_json() for held in leases],
            }
        )
        return EXIT_OK
    if book.channel == "claimed":
        out.note(f"{env}: identity claimed, not stamped (this instance has no runtime: records are in its repository)")
    out.table([view.row(r) for r in records], view.COLUMNS)
    for held in leases:
        out.line(f"leased: {one_line(held.describe())}")
    return EXIT_OK


async def cmd_init(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    env = _env_name(args, ctx)
    with ctx.audit.record("ledger-init", env, ctx.env(env).url) as entry:
        book = await setup.init(ctx, env)
        entry.details["channel"] = book.channel
    user = await book.whoami()
    result: dict[str, Any] = {"env": env, "channel": book.channel, "user": {"id": user[0], "name": user[1]}}
    if isinstance(book, ledger.store.StampedLedger):
        result["workspace"] = book.workspace_id
    else:
        result["repository"] = getattr(book, "repository", "")
    if out.json_mode:
        out.data(result)
    elif book.channel == "stamped":
        out.line(f"{env}: ledger ready in workspace {ledger.LEDGER_SLUG}: identities stamped by the platform")
    else:
        out.line(
            f"{env}: this instance has no runtime; ledger in repository {result['repository']} "
            "(.prisme-deploy/ledger/): identity claimed, not stamped"
        )
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    text = "the shared ledger of an instance: who changed, approved and leased what (from any machine)"
    p = sub.add_parser("ledger", help=text, description=text)
    _common(p)
    p.add_argument("--since", help="only records from then: an ISO date/time or an age (30m, 12h, 7d)")
    p.add_argument("--kind", action="append", help="only this kind (change, approval, plan, lease, ...); repeatable")
    p.set_defaults(func=run(cmd_ledger))
    actions = p.add_subparsers(dest="ledger_action", metavar="{init}")
    init = actions.add_parser(
        "init",
        help="set up the ledger of an instance, once",
        description="Set up the instance's ledger: a workspace whose endpoint automation emits each record as an "
        "event the platform stamps with its user; on an instance without a runtime, a folder in its repository.",
    )
    _common(init, mutating=True)
    init.set_defaults(func=run(cmd_init))
