"""`prisme-deploy matrix`: the drift matrix of a group across environments (the app's `m` key).

Workspaces down, environments across; each cell the version label, ``✎`` when the content is not that
label's version (compared from content; ``✎?`` marked dirty but not compared, ``°`` marked dirty and equal),
``=``/``≠`` whether the content equals the column to its left. Exit codes as `diff`: 0 when
no content differs between neighbouring environments, 1 when some does, 4 when something could not be
read (and nothing differs): "no drift" is never said about what was not seen.
"""

from __future__ import annotations

import argparse

from tui.cli import exits
from tui.cli.commands import _common, run
from tui.cli.output import Printer
from tui.core import errors as E
from tui.core.ops import filter as ws_filter
from tui.core.ops import format as fmt
from tui.core.ops.context import Context

HELP = (
    "drift matrix of a group (or labels) across environments: each cell the version label, = or ≠ the "
    "content of the column to its left, ✎ content is not its label (exit 1 when some content differs, "
    "like diff; 4 when a cell could not be read)"
)


def _labels(args: argparse.Namespace, ctx: Context) -> tuple[tuple[str, ...] | None, str]:
    """The labels to list by, and the title: a configured group, labels given, or every workspace."""
    if args.group and args.labels:
        raise E.UsageError("Give --group or --labels, not both.")
    if args.group:
        labels = ws_filter.group_labels(ctx.config, args.group)
        if labels is None:
            known = ", ".join(ctx.config.groups) or "none"
            raise E.UsageError(f"Unknown group {args.group!r}; configured (with labels): {known}.")
        return labels, f"group {args.group}"
    if args.labels is not None:
        labels = tuple(label.strip() for label in args.labels.split(",") if label.strip())
        if not labels:
            raise E.UsageError("--labels needs at least one label (comma separated).")
        return labels, f"labels {', '.join(labels)}"
    return None, "all workspaces"


def _envs(args: argparse.Namespace, ctx: Context) -> list[str]:
    names = list(args.env or ctx.config.environments)
    if not names:
        raise E.UsageError("No environments configured. Add one with `prisme-deploy env add`.")
    for name in names:
        ctx.env(name)  # an unknown name: exit 2 with "did you mean"
    if len(set(names)) != len(names):
        raise E.UsageError("An environment is given twice: each is one column.")
    return names


async def cmd_matrix(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    from tui.core.ops import matrix

    labels, title = _labels(args, ctx)
    envs = _envs(args, ctx)
    result = await matrix.build(ctx, envs, labels)
    if out.json_mode:
        out.data({"title": title, **result.to_json()})
        return exits.for_matrix(result)
    if result.slugs:
        out.table(fmt.matrix_rows(result), ["workspace", *envs])
        out.note(fmt.MATRIX_LEGEND)
    else:
        out.line(f"No workspace in {title} on {', '.join(envs)}.")
    for error in result.errors:
        out.note(f"error: {error}")
    if result.drifted:
        out.note(f"drift in {title}: {len(result.drifted)} workspace(s) differ: {', '.join(result.drifted)}")
    return exits.for_matrix(result)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("matrix", help=HELP, description=HELP)
    _common(p, env=False)
    p.add_argument(
        "--env",
        action="append",
        metavar="ENV",
        help="an environment column (repeat, in order; default: every configured one, in configuration order)",
    )
    p.add_argument("--group", help="a configured group (its labels); default: every workspace")
    p.add_argument("--labels", help="comma-separated labels instead of a group (any matches)")
    p.set_defaults(func=run(cmd_matrix))
