"""`prisme-deploy release snapshot|list|show|diff|reject|accept`: named sets of workspace versions (issue 16),
marked bad or good (issue 29)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tui.cli.commands import _common, run
from tui.cli.exits import EXIT_FAILED, EXIT_OK
from tui.cli.output import Printer
from tui.core import errors as E
from tui.core.ops.context import Context
from tui.lazy import lazy

if TYPE_CHECKING:
    from tui.core.audit import Who
    from tui.core.ops import release as releases
else:  # loaded by the command that runs: the parser stays light (bench/: start-up)
    releases = lazy("tui.core.ops.release")


async def _platform_user(ctx: Context, env: str | None) -> str | None:
    """Who records a release, as the platform knows the token (``GET /v2/me``): the manifest names the person.
    Without --env there is no instance to ask: the manifest keeps "prisme-deploy"."""
    if not env:
        return None
    from tui.core.ledger import open_ledger

    user_id, name = await open_ledger(ctx, env).whoami()
    return name if name == user_id else f"{name} ({user_id})"


async def cmd_snapshot(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    if bool(args.env) == bool(args.from_repository):
        raise E.UsageError("Record from --env ENV (what it runs) or --from-repository (its branch head), one of them.")
    if args.env:
        labels = None
        if args.group:
            if args.group not in ctx.config.groups:
                raise E.UsageError(f"Unknown group {args.group!r}.")
            labels = list(ctx.config.groups[args.group].labels)
        release = await releases.from_env(ctx, args.env, args.name, labels=labels)
    else:
        release = releases.from_repository(ctx, releases._repository(ctx, args.repository), args.name)
    release.created_by = await _platform_user(ctx, args.env) or release.created_by
    saved = releases.save(ctx, release, args.repository, local=args.store == "local")
    with ctx.audit.record(
        "release", args.env or saved.repository, targets=sorted(saved.workspaces), version=saved.name
    ):
        pass
    if out.json_mode:
        out.data({**saved.to_json(), "storage": saved.storage})
    else:
        where = "locally" if saved.storage == "local" else f"in repository {saved.repository}"
        out.line(f"Recorded release {saved.name} ({len(saved.workspaces)} workspaces) {where}.")
    return EXIT_OK


async def cmd_list(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    problems: list[str] = []
    found = releases.list_releases(ctx, args.repository, problems)
    for problem in problems:  # one bad manifest is said, and the others are still listed
        out.note(f"warning: {problem}")
    if out.json_mode:
        out.data([{**r.to_json(), "storage": r.storage} for r in found])
        return EXIT_OK
    out.table(
        [[r.name, r.created_at, _source(r.source), str(len(r.workspaces)), r.storage, _mark(r)] for r in found],
        ["release", "created", "from", "workspaces", "stored", "mark"],
    )
    return EXIT_OK


def _mark(the_release: releases.Release) -> str:
    return "REJECTED" if the_release.rejected else the_release.verdict.get("state", "")


def _source(source: dict) -> str:
    return str(source.get("env") or source.get("repository") or source.get("kind") or "")


async def cmd_show(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    release = releases.get(ctx, args.name, args.repository, rejected_ok=True)
    if out.json_mode:
        out.data({**release.to_json(), "storage": release.storage})
        return EXIT_OK
    out.line(f"release {release.name}: {release.created_at}, from {_source(release.source)}, {release.storage}")
    if release.verdict:
        verdict = release.verdict
        out.line(releases.verdict_words(verdict).replace(verdict["state"], verdict["state"].upper(), 1))
        if verdict.get("replaces"):
            out.line(f"  replacing: {verdict['replaces']}")
    out.table(
        [[slug, version or "—"] for slug, version in sorted(release.workspaces.items())], ["workspace", "version"]
    )
    return EXIT_OK


async def cmd_diff(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    names = list(args.names)
    if args.env:
        if len(names) != 1:
            raise E.UsageError("`release diff --env ENV NAME` compares one release with what ENV runs.")
        release = releases.get(ctx, names[0], args.repository, rejected_ok=True)
        found = await releases.diff_env(ctx, args.env, release)
        title = f"release {release.name} vs {args.env}"
    else:
        if len(names) != 2:
            raise E.UsageError("`release diff A B` compares two releases (or give --env ENV NAME).")
        old, new = (releases.get(ctx, n, args.repository, rejected_ok=True) for n in names)
        found = releases.diff(old.workspaces, new.workspaces)
        title = f"release {old.name} vs {new.name}"
    if out.json_mode:
        out.data({"title": title, "identical": not found, "differences": [d.to_json() for d in found]})
    else:
        out.line(title + (": identical" if not found else ""))
        if found:
            out.table(
                [[d.workspace, d.state, d.old or "—", d.new or "—"] for d in found],
                ["workspace", "change", names[0], "now" if args.env else names[1]],
            )
    return EXIT_FAILED if found else EXIT_OK


async def cmd_reject(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    return await _mark_release(args, ctx, out, "rejected")


async def cmd_accept(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    return await _mark_release(args, ctx, out, "accepted")


async def _who(ctx: Context, env: str | None) -> Who:
    """Who gives the verdict: the platform's user for the token of ``env`` (``GET /v2/me``); without --env, or
    when /v2/me does not answer, the host login, recorded as claimed (never passed off as the platform's)."""
    from tui.core.audit import host_who, platform_who

    if not env:
        return host_who("give --env ENV to be named by the platform")
    from tui.core.ledger import open_ledger

    ctx.env(env)  # an unknown name: exit 2 before anything is asked
    try:
        user_id, name = await open_ledger(ctx, env).whoami()
    except E.PrismeError as exc:
        return host_who(f"GET /v2/me on {env} did not answer: {exc.message}")
    return platform_who(user_id, name, f"GET /v2/me on {env}")


async def _mark_release(args: argparse.Namespace, ctx: Context, out: Printer, state: str) -> int:
    """A verdict on a release (issue 29): a commit to its manifest, journaled with its reason and who gave it.
    The same state with another reason is refused (who/when/why is not silently replaced) unless --replace;
    with the same reason it is a no-op that says so (accept and reject alike)."""
    reason = getattr(args, "reason", None)
    current = releases.get(ctx, args.name, args.repository, rejected_ok=True)
    if current.verdict.get("state") == state and not args.replace:
        if not releases.same_verdict(current, state, reason):  # a new why is not dropped silently
            raise releases.already_marked(current)
        out.note(f"release {current.name} is already {releases.verdict_words(current.verdict)}: nothing changed.")
        if out.json_mode:
            out.data({**current.to_json(), "storage": current.storage, "changed": False})
        return EXIT_OK
    who = await _who(ctx, args.env)
    where = args.env or args.repository or current.repository
    with ctx.audit.record(f"release-{state[:-2]}", where, version=args.name, reason=reason) as entry:
        entry.made_by(who)
        if args.replace:
            entry.details["replace"] = True
        marked = releases.mark(ctx, args.name, state, reason, args.repository, who=who, replace=args.replace)
        entry.details["verdict"] = marked.verdict
    if out.json_mode:
        out.data({**marked.to_json(), "storage": marked.storage, "changed": True})
    else:
        place = "locally" if marked.storage == "local" else f"in repository {marked.repository}"
        out.line(f"Release {marked.name} marked {releases.verdict_words(marked.verdict)}, {place}.")
        if who.claimed:
            out.note(f"note: identity {who.identity}")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "release", help="named sets of workspace versions: snapshot, list, show, diff, reject, accept"
    )
    rel = parser.add_subparsers(dest="release_command", metavar="ACTION", required=True)

    def add(name: str, handler: object, help_text: str, *, env: bool = False) -> argparse.ArgumentParser:
        p = rel.add_parser(name, help=help_text, description=help_text)
        _common(p, env=env)
        p.add_argument("--repository", help="platform repository holding the releases (default: the only one)")
        p.set_defaults(func=run(handler))  # type: ignore[arg-type]
        return p

    p = add("snapshot", cmd_snapshot, "record a release: what an environment runs, or the repository's head", env=True)
    p.add_argument("--name", required=True, help="release name, for example 2026.12.1")
    p.add_argument("--from-repository", action="store_true", help="the versions at the repository's branch head")
    p.add_argument("--group", help="only the workspaces of a configured group (with --env)")
    p.add_argument(
        "--store", choices=("repository", "local"), default="repository", help="local: a read-only repository"
    )
    add("list", cmd_list, "list releases (repository and local)")
    p = add("show", cmd_show, "the workspace versions of a release")
    p.add_argument("name")
    p = add("diff", cmd_diff, "two releases, or a release against an environment (exit 1 when they differ)", env=True)
    p.add_argument("names", nargs="+", metavar="NAME")
    p = add(
        "reject",
        cmd_reject,
        "mark a release bad: rollout, plan rollout and bulk import refuse it (exit 1); "
        "a rejected release is not rejected again without --replace",
        env=True,
    )
    p.add_argument("name")
    p.add_argument("--reason", required=True, help="why it is bad (recorded with who and when)")
    _verdict_flags(p, "rejection")
    p = add("accept", cmd_accept, "clear a rejection: the release can be rolled out again", env=True)
    p.add_argument("name")
    p.add_argument("--reason", help="why it is good after all (optional)")
    _verdict_flags(p, "acceptance")


def _verdict_flags(parser: argparse.ArgumentParser, what: str) -> None:
    parser.set_defaults(replace=False)
    parser.add_argument(
        "--replace",
        action="store_true",
        help=f"replace the release's {what} if it already has one (the old one is recorded in 'replaces')",
    )
