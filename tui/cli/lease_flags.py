"""`--wait-lease` and `--take-over` (issue 28): what rollout, bulk import and promotion take, and where they go in
the context. Kept apart from ledger_cmds so commands.py needs nothing of it (no import circle)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tui.core import errors as E

if TYPE_CHECKING:
    from tui.core.ops.context import Context


def add_lease_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait-lease",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="when another operator or CI holds an environment's lease, wait up to this long (default: refuse)",
    )
    parser.add_argument(
        "--take-over", action="store_true", help="take over another holder's lease (recorded in the ledger)"
    )


def apply_lease_flags(args: argparse.Namespace, ctx: Context) -> None:
    wait = float(getattr(args, "wait_lease", 0.0) or 0.0)
    if wait < 0 or wait > 86400:
        raise E.UsageError("--wait-lease: 0 to 86400 seconds.")
    ctx.lease_wait, ctx.take_over = wait, bool(getattr(args, "take_over", False))
