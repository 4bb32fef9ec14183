"""`prisme-deploy at TIME [--compare T2]`: what ran where at an instant, and what changed between two (issue 29)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from tui.cli.commands import _common, run
from tui.cli.exits import EXIT_FAILED, EXIT_OK
from tui.cli.output import Printer
from tui.core import errors as E
from tui.core.ops.context import Context
from tui.lazy import lazy

if TYPE_CHECKING:
    from tui.core.ops import at
else:  # loaded by the command that runs: the parser stays light (bench/: start-up)
    at = lazy("tui.core.ops.at")


def _scope(args: argparse.Namespace, ctx: Context) -> tuple[list[str], list[str] | None]:
    envs = list(args.env or ctx.config.environments)
    for env in envs:
        ctx.env(env)  # an unknown name: exit 2, before any request
    if not envs:
        raise E.UsageError("No environment is configured: add [environments.NAME] to the config.")
    if args.group and args.group not in ctx.config.groups:
        raise E.UsageError(f"Unknown group {args.group!r} (known: {', '.join(sorted(ctx.config.groups)) or 'none'}).")
    return envs, list(ctx.config.groups[args.group].labels) if args.group else None


async def states(
    ctx: Context, envs: list[str], labels: list[str] | None, instants: list[Any], digests: bool
) -> tuple[Any, list[dict[Any, Any]]]:
    found = await at.timeline(ctx, envs, labels)
    answers = [at.state_at(found, when) for when in instants]
    if digests:
        answers = [await at.with_digests(ctx, answer) for answer in answers]
    return found, answers


async def cmd_at(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    envs, labels = _scope(args, ctx)
    when = at.parse_time(args.time)
    later = at.parse_time(args.compare) if args.compare else None
    found, answers = await states(ctx, envs, labels, [when] + ([later] if later else []), not args.no_digest)
    for note in found.notes:
        out.note(f"warning: {note}")
    for typed, instant in ((args.time, when), (args.compare, later)):
        if instant is not None and (how := at.read_as(typed)):  # no date typed: the instant it became, said
            out.note(f"{typed!r} read as {how}: {at.shown(instant)}")
    if later is None:
        return _show(out, envs, when, answers[0])
    return _show_compare(out, when, later, at.compare(answers[0], answers[1]))


def _show(out: Printer, envs: list[str], when: Any, answer: dict[Any, Any]) -> int:
    unknown = [r for r in answer.values() if r.unknown or r.caveat]
    if out.json_mode:
        by_env: dict[str, dict[str, Any]] = {env: {} for env in envs}
        for (env, slug), running in answer.items():
            by_env.setdefault(env, {})[slug] = running.to_json()
        out.data({"at": when.astimezone(at.dt.UTC).isoformat(), "environments": by_env, "complete": not unknown})
        return EXIT_OK
    out.line(f"At {at.shown(when)}:")
    slugs = sorted({slug for _, slug in answer})
    rows = [[slug, *(_cell(answer.get((env, slug))) for env in envs)] for slug in slugs]
    out.table(rows, ["workspace", *envs])
    for running in unknown:
        out.note(f"{running.env}:{running.workspace}: {running.unknown or running.caveat}")
    return EXIT_OK


def _cell(running: Any) -> str:
    if running is None:
        return "—"
    digest = f" {running.digest[:8]}" if running.digest else ""
    return running.cell() + ("" if running.unknown else digest)


def _show_compare(out: Printer, first: Any, second: Any, changes: list[Any]) -> int:
    if out.json_mode:
        out.data(
            {
                "from": first.astimezone(at.dt.UTC).isoformat(),
                "to": second.astimezone(at.dt.UTC).isoformat(),
                "identical": not changes,
                "changes": [c.to_json() for c in changes],
            }
        )
        return EXIT_FAILED if changes else EXIT_OK
    out.line(f"From {at.shown(first)} to {at.shown(second)}" + (": nothing changed" if not changes else ":"))
    blind = [c for c in changes if c.before.unknown and c.after.unknown]  # a row of "unknown" twice says nothing
    shown = [c for c in changes if c not in blind]
    if shown:
        out.table(
            [[c.env, c.workspace, c.state, _cell(c.before), _cell(c.after)] for c in shown],
            ["env", "workspace", "change", "then", "later"],
        )
    if blind:
        names = ", ".join(f"{c.env}:{c.workspace}" for c in blind)
        out.note(f"unknown at both instants, so not compared ({len(blind)}): {names}")
    return EXIT_FAILED if changes else EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    text = (
        "what ran where at TIME: each workspace's version and content digest on each environment, from the "
        "import events and the release manifests; 'unknown before …' where no record reaches back "
        "(with --compare: exit 1 when something changed or is unknown)"
    )
    p = sub.add_parser("at", help=text, description=text)
    _common(p, env=False)
    p.add_argument(
        "time", help="ISO-8601 (local time unless a zone is given), 03:11:30 (today), 2h ago, yesterday 14:00, now"
    )
    p.add_argument("--env", action="append", help="an environment (repeat for several; default: all)")
    p.add_argument("--group", help="only the workspaces of a configured group")
    p.add_argument("--compare", metavar="TIME2", help="what changed between TIME and TIME2, on every environment")
    p.add_argument("--no-digest", action="store_true", help="versions only (no content digest from git)")
    p.set_defaults(func=run(cmd_at))
