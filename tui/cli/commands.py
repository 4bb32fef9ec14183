"""Subcommands over the core: one per TUI action, for people and for CI pipelines."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import os
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from tui.cli import config_cmds, exits, exporters, interaction, jqfilter, pager, requests, sticky_cmds
from tui.cli.exits import EXIT_AUDIT, EXIT_FAILED, EXIT_OK, EXIT_USAGE
from tui.cli.output import Printer
from tui.core import config as cfg
from tui.core import errors as E
from tui.core import paths
from tui.core.api.models import check_git_ref
from tui.core.audit import AUDIT_COLUMNS, audit_row
from tui.core.ops import confirm as confirmation
from tui.core.ops import envs, health, history
from tui.core.ops import filter as ws_filter
from tui.core.ops import format as fmt
from tui.core.ops.context import Context, adhoc_name, same_instance
from tui.core.ops.requests import Request
from tui.core.secrets import env_var_name
from tui.lazy import lazy

if TYPE_CHECKING:
    from pathlib import Path

    from tui.core.api import bulk as api_bulk
    from tui.core.ops import actions, bulk, compare, promote, snapshots
else:
    # Each command loads what it uses: `prisme-deploy` (the app) and `bulk-push` in CI do not pay for
    # YAML, diffs and archives (bench/: start-up, bulk push against curl).
    api_bulk, actions, bulk = lazy("tui.core.api.bulk"), lazy("tui.core.ops.actions"), lazy("tui.core.ops.bulk")
    compare, promote, snapshots = (
        lazy("tui.core.ops.compare"),
        lazy("tui.core.ops.promote"),
        lazy("tui.core.ops.snapshots"),
    )

Handler = Callable[[argparse.Namespace, Context, Printer], Coroutine[Any, Any, int]]


# --------------------------------------------------------------------------------------------- plumbing
def _common(parser: argparse.ArgumentParser, *, env: bool = True, mutating: bool = False) -> None:
    # SUPPRESS: an absent --config after the command must not erase one given before it.
    parser.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        help="configuration file (default: PRISME_DEPLOY_CONFIG or the user config); also accepted before the command",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output (JSON; streams as JSON lines)")
    jqfilter.add_flag(parser)
    interaction.add_flag(parser)
    if env:
        parser.add_argument("--env", help="a configured environment (or a name for --url)")
        parser.add_argument("--url", help="API URL without configuration; token from PRISME_DEPLOY_TOKEN[_<ENV>]")
        parser.add_argument(
            "--tier", choices=cfg.TIERS, help="with --url alone: the tier of that instance (production is protected)"
        )
        parser.add_argument(
            "--protected", action="store_true", help="with --url alone: type-to-confirm (or --yes) as for production"
        )
    if mutating:
        parser.add_argument(
            "--yes",
            "-y",
            action="store_true",
            help="confirm without asking (needed with no tty on protected environments)",
        )
        parser.add_argument("--read-only", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument(
            "--reason",
            help="why (a ticket id, for example): into the audit journal and the version description; "
            "required where require_reason = true (production by default). Default: PRISME_DEPLOY_REASON",
        )
        parser.add_argument(
            "--break-glass",
            metavar="REASON",
            help="change an environment during a freeze window anyway (audited with this reason)",
        )


def _lease_flags(parser: argparse.ArgumentParser) -> None:
    from tui.cli import lease_flags

    lease_flags.add_lease_flags(parser)


def _context(args: argparse.Namespace) -> Context:
    path = paths.config_path(getattr(args, "config", None))
    config = cfg.load(path, missing_ok=not getattr(args, "config", None))
    ctx = Context.create(config, read_only=bool(getattr(args, "read_only", False)))
    if hasattr(args, "break_glass"):  # a mutating command: its reasons checked before anything (exit 2)
        requests.why(args)
        from tui.core.ops import policy

        policy.enforce(ctx)  # the team policy (repository), tightened by this file: what the gate reads
    if hasattr(args, "wait_lease"):  # rollout, bulk import, promotion: --wait-lease, --take-over
        from tui.cli import lease_flags

        lease_flags.apply_lease_flags(args, ctx)
    url = getattr(args, "url", None)
    if url:
        name = _url_env(args, ctx, url)
        args.env = name
        generic = os.environ.get("PRISME_DEPLOY_TOKEN")
        if generic and not os.environ.get(env_var_name(name)):
            ctx.tokens.remember(name, generic)
    return ctx


def _url_env(args: argparse.Namespace, ctx: Context, url: str) -> str:
    """The environment ``--url`` stands for. A configured ``--env`` keeps its protections (tier, protected,
    read_only) and only changes address; without one, the instance is named by its URL (snapshots and the
    audit are filed by instance, never under one shared name) and --tier / --protected apply."""
    name = getattr(args, "env", None)
    if name and name in ctx.config.environments:
        if getattr(args, "tier", None) or getattr(args, "protected", False):
            raise E.UsageError(
                f"{name} is configured: its tier and protection come from the configuration, not the command line."
            )
        ctx.config.environments[name] = dataclasses.replace(ctx.env(name), url=url.rstrip("/"))
        return str(name)
    if not name:  # a configured environment's address, however spelt, keeps its rails and its name
        name = next((n for n, e in ctx.config.environments.items() if same_instance(e.url, url)), None)
        if name:
            return str(name)
    name = name or adhoc_name(url)
    ctx.add_adhoc(name, url, tier=getattr(args, "tier", None), protected=bool(getattr(args, "protected", False)))
    return name


def _env_name(args: argparse.Namespace, ctx: Context) -> str:
    if getattr(args, "env", None):
        ctx.env(args.env)
        return str(args.env)
    if len(ctx.config.environments) == 1:
        return next(iter(ctx.config.environments))
    known = ", ".join(sorted(ctx.config.environments)) or "none configured"
    raise E.UsageError(f"Say which environment with --env NAME (known: {known}), or give --url.")


def _audit_warnings(ctx: Context | None, printer: Printer, code: int) -> int:
    """The journal could not be written (a full disk) after the operation ran: its outcome was printed;
    say so, and exit EXIT_AUDIT rather than 0 so a pipeline notices."""
    for warning in ctx.audit.take_warnings() if ctx else []:  # the shared ledger missed an entry: said, not failed
        printer.note(f"warning: {warning}")
    failures = ctx.audit.take_failures() if ctx else []
    for failure in failures:
        printer.note(f"warning: {failure}")
    for failed in ctx.notifier.drain() if ctx else []:  # said, never the command's outcome
        printer.note(f"warning: {failed}")
    return EXIT_AUDIT if failures and code == EXIT_OK else code


def _rejected_head_warnings(ctx: Context, printer: Printer) -> None:
    """Every command says, once on stderr, when a repository's branch head is a rejected release (issue 29)."""
    if ctx.config.repositories:
        from tui.core.ops.release import head_warnings

        for warning in head_warnings(ctx):
            printer.note(warning)


def run(handler: Handler) -> Callable[[argparse.Namespace], int]:
    def main(args: argparse.Namespace) -> int:
        printer = Printer(json_mode=bool(getattr(args, "json", False)), jq=getattr(args, "jq", None))
        ctx: Context | None = None
        try:
            ctx = _context(args)
            ctx.on_wait = printer.wait  # rate-limit waits, live on stderr (Ctrl-C cancels them)
            _rejected_head_warnings(ctx, printer)
            with pager.paging(args, printer):
                return _audit_warnings(ctx, printer, asyncio.run(handler(args, ctx, printer)))
        except E.PrismeError as exc:
            if printer.json_mode:
                printer.error(exc.to_json())
            else:
                printer.note(f"error: {exc.message}")
                if exc.hint:
                    printer.note(f"hint: {exc.hint}")
                if exc.correlation_id:
                    printer.note(f"correlation id: {exc.correlation_id}")
            return _audit_warnings(ctx, printer, exits.code_for(exc))
        except OSError as exc:  # a local file (the config, a snapshot, the journal's folder): said, no traceback
            if isinstance(exc, BrokenPipeError):
                raise  # main() ends quietly
            text = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
            if printer.json_mode:
                printer.error({"error": "local_io", "message": text})
            else:
                printer.note(f"error: {text}")
            return _audit_warnings(ctx, printer, exits.code_for(exc))
        except KeyboardInterrupt:
            if printer.in_rate_wait():  # Ctrl-C cancels the wait: what it held back never left
                printer.note(
                    "Interrupted: stopped waiting for the rate limit; the held-back request was not sent "
                    "(what ran before it is in `prisme-deploy audit`)."
                )
            else:
                printer.note(
                    "Interrupted. The server may still be running the operation: check `prisme-deploy events` "
                    "before retrying."
                )
            return exits.code_for(KeyboardInterrupt())

    return main


def confirm(
    args: argparse.Namespace, ctx: Context, env: str, target: str, what: str, request: Request | None = None
) -> None:
    """The confirmation rule (``tui.core.ops.confirm``), asked on a terminal: a read-only environment and
    the rails (freeze windows, a required reason: ``request``'s) refuse first, so nobody types a name only
    to be refused; a protected environment then wants ``target`` typed, or --yes."""
    rule = confirmation.guard(ctx, env, target, what, request or requests.why(args))
    if not rule.must_type(yes=args.yes):
        return
    interaction.require_prompt(args, f"{env} is protected: {what}", "--yes")
    sys.stderr.write(f"{env} is PROTECTED. {what}.\nType {target!r} to confirm: ")
    sys.stderr.flush()
    rule.check(input())


# --------------------------------------------------------------------------------------------- read-only
def _token_source(ctx: Context, env: str, *, look: bool) -> str | None:
    """Where the token comes from: an environment variable is known for free (said always); the keyring is
    asked only with --tokens (it can prompt or hang on D-Bus); else null, not looked up."""
    if look:
        return ctx.tokens.resolve(env)[1]
    return "environment" if os.environ.get(env_var_name(env)) else None


async def cmd_envs(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    envs = list(ctx.config.environments.values())
    if out.json_mode:
        out.data([exporters.environment(e, _token_source(ctx, e.name, look=args.tokens)) for e in envs])
        return EXIT_OK
    out.table(
        [[e.name, e.badge, e.url, "yes" if e.protected else "", "yes" if e.read_only else ""] for e in envs],
        ["name", "tier", "url", "protected", "read-only"],
    )
    return EXIT_OK


async def cmd_status(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    names = [args.env] if getattr(args, "env", None) else sorted(ctx.config.environments)
    if not names:
        raise E.UsageError("No environments configured. Add one with `prisme-deploy env add`.")
    for name in names:
        ctx.env(name)  # an unknown name is a usage error (exit 2, "did you mean"), not a DOWN row
    results = await health.check_all(ctx, names, capabilities=out.json_mode)
    if out.json_mode:
        out.data(results)
    else:
        out.table(
            [[h.env, h.label, ctx.env(h.env).url, h.user or "", _token_words(h), h.message] for h in results],
            ["env", "state", "url", "user", "token", "message"],
        )
    return exits.for_health(results)


def _token_words(h: health.Health) -> str:
    """ "keyring, expires in 29 days": where the token comes from and when the platform says it ends."""
    from tui.core.credentials import expires_in, parse_instant

    if not h.token_valid:
        return h.token_source if h.token_source != "missing" else ""
    return f"{h.token_source}, {expires_in(parse_instant(h.token_expires))}" if h.token_source else ""


async def cmd_workspaces(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    env = _env_name(args, ctx)
    if args.group and args.group not in ctx.config.groups:
        raise E.UsageError(f"Unknown group {args.group!r}; configured: {', '.join(ctx.config.groups) or 'none'}.")
    labels = list(ctx.config.groups[args.group].labels) if args.group else None
    async with ctx.client(env) as client:
        items = await client.list_workspaces(labels=labels, dirty=True if args.dirty else None)
    if args.filter:  # the app's `/` filter, the same rule (tui.core.ops.filter)
        items = ws_filter.WorkspaceIndex(items).select(args.filter)
    if out.json_mode:
        out.data([exporters.workspace(w) for w in items])
        return EXIT_OK
    out.table(
        [
            [
                w.slug,
                w.name,
                ",".join(w.labels),
                "dirty" if w.dirty else "" if w.dirty_known else "?",
                w.write_lock.reason if w.write_lock else "",
                w.live_version or "",
            ]
            for w in items
        ],
        ["slug", "name", "labels", "dirty", "lock", "live"],
    )
    return EXIT_OK


async def cmd_versions(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    env = _env_name(args, ctx)
    found = await history.load(ctx, env, args.workspace)
    live = found.workspace.live_version
    if found.events_note:
        out.note(f"note: {found.events_note}")
    if out.json_mode:
        readable = not found.events_note
        out.data([exporters.version(v, live=live, changes=found.changes, events=readable) for v in found.versions])
        if found.why_empty:
            out.note(found.why_empty)
        return EXIT_OK
    if not found.versions:
        out.note(found.why_empty)
        return EXIT_OK
    out.table(
        [
            [("* " if v.name == live else "  ") + v.name, v.created_at or "", v.source, v.description]
            for v in found.versions
        ],
        ["version", "created", "repository", "description"],
    )
    return EXIT_OK


async def cmd_events(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    env = _env_name(args, ctx)
    types = [t for t in (args.types or "").split(",") if t]
    async with ctx.client(env) as client:
        workspace_id = "platform"
        if args.workspace != "platform":
            workspace_id = (await client.find_workspace(args.workspace)).id
        events = await client.events(workspace_id, types=types or None, after_date=args.after, limit=args.limit)
    if out.json_mode:
        for event in events:
            out.data(exporters.event(event))
        return EXIT_OK
    for event in events:
        out.line(fmt.event_line(event))
    return EXIT_OK


async def cmd_audit(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    entries = ctx.audit.read(env=args.env, action=args.action, limit=args.limit, reason=args.reason)
    if out.json_mode:
        for entry in entries:
            out.data(entry)
        return EXIT_OK
    rows = [[*audit_row(e), _reason_cell(e)] for e in entries]
    out.table(rows, [*AUDIT_COLUMNS, "reason"])
    return EXIT_OK


def _reason_cell(entry: dict[str, Any]) -> str:
    glass = entry.get("breakGlass")
    return (f"BREAK-GLASS: {glass}" if glass is not None else "") or str(entry.get("reason") or "")


# --------------------------------------------------------------------------------------------- mutating
def _following(out: Printer, env: str) -> Callable[[str], None]:
    """After a 408 the verification can follow the pull for minutes: say so live on stderr, not silence."""
    return lambda text: out.note(f"{env}: {text}")


def _outcome(out: Printer, outcome: actions.Outcome) -> int:
    if out.json_mode:
        out.data(outcome.to_json())
    else:
        for step in outcome.steps:
            out.line(f"  {step}")
        out.line(outcome.message)
        if outcome.next_step:
            out.note(f"next: {outcome.next_step}")
    return EXIT_OK if outcome.ok else EXIT_FAILED


async def cmd_push(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    req = requests.push(args, _env_name(args, ctx))
    confirm(args, ctx, req.env, req.slug, f"Push {req.slug}", req)
    _allow_secrets(args, ctx, req)
    outcome = await actions.push(
        ctx, req.env, req.slug, name=req.name, description=req.description, repository=req.repository, request=req
    )
    return _outcome(out, outcome)


async def cmd_pull(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    req = requests.pull(args, _env_name(args, ctx))
    confirm(args, ctx, req.env, req.slug, f"Pull latest into {req.slug} (its content is replaced)", req)
    outcome = await actions.pull(
        ctx,
        req.env,
        req.slug,
        version="latest",
        repository=req.repository,
        discard_local_changes=req.discard,
        on_wait=_following(out, req.env),
        request=req,
    )
    return _outcome(out, outcome)


async def cmd_rollback(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    check_git_ref(args.version)
    req = requests.rollback(args, _env_name(args, ctx))
    confirm(args, ctx, req.env, req.slug, f"Roll back {req.slug} to {req.version}", req)
    if req.sticky:  # roll forward to the old content, so a restart's startup import keeps it (issue 16)
        return await sticky_cmds.sticky(req, ctx, out)
    outcome = await actions.pull(
        ctx,
        req.env,
        req.slug,
        version=req.version,
        repository=req.repository,
        discard_local_changes=req.discard,
        on_wait=_following(out, req.env),
        action="rollback",
        request=req,
    )
    return await sticky_cmds.with_restart_risk(ctx, out, req.env, req.slug, outcome)


async def cmd_unlock(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    env = _env_name(args, ctx)
    why = requests.why(args)
    confirm(args, ctx, env, args.workspace, f"Unlock {args.workspace}", why)
    return _outcome(out, await actions.unlock(ctx, env, args.workspace, request=why))


def _allow_secrets(args: argparse.Namespace, ctx: Context, req: Request) -> None:
    if args.allow_secret:
        from tui.core.ops import secretscan

        path = paths.config_path(getattr(args, "config", None))
        secretscan.remember_allowed(ctx, path, args.allow_secret, req.reason)


async def cmd_bulk_push(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    req = requests.bulk_push(args, _env_name(args, ctx))
    env, groups = req.env, list(req.groups)
    if not req.dry_run:
        confirm(args, ctx, env, env, f"Bulk push {', '.join(groups)} to {req.repository}", req)
        _allow_secrets(args, ctx, req)
    run = bulk.BulkRun(env, "bulk-push")
    tally = api_bulk.BulkTally()
    async for event in bulk.bulk_push(
        ctx,
        env,
        repository=req.repository,
        groups=groups,
        name=req.name,
        description=req.description,
        dry_run=req.dry_run,
        force=req.force,
        run=run,
        request=req,
    ):
        tally.feed(event)
        out.bulk_event(event, tally)
    return _bulk_end(out, run)


def _bulk_end(out: Printer, run: bulk.BulkRun) -> int:
    """The run's summary closes a JSON stream (the human lines said it group by group), and the exit code."""
    if out.json_mode:
        out.data(run.to_json())
    return EXIT_FAILED if run.failed else EXIT_OK


async def cmd_bulk_import(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    req = requests.bulk_import(args, _env_name(args, ctx))
    env, groups = req.env, list(req.groups)
    from tui.core.ops import release  # asked again by the import itself; here before the confirmation prompt

    await release.refuse_rejected_import(ctx, req.repository)
    what = f"Bulk import {', '.join(groups)} from {req.repository} (local edits are overwritten)"
    confirm(args, ctx, env, env, what, req)
    run = bulk.BulkRun(env, "bulk-import")
    tally = api_bulk.BulkTally()
    async for event in bulk.bulk_import(
        ctx,
        env,
        repository=req.repository,
        groups=groups,
        force_reimport=req.force,
        continue_on_error=req.continue_on_error,
        run=run,
        request=req,
    ):
        if event.kind == "started":
            tally = api_bulk.BulkTally()
        tally.feed(event)
        out.bulk_event(event, tally)
    return _bulk_end(out, run)


# --------------------------------------------------------------------------------------------- diff, promote
async def cmd_diff(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    result = await compare.compare(
        ctx,
        compare.Ref.parse(args.source),
        compare.Ref.parse(args.target),
        raw=args.raw,
        context=args.context,
        ignore=compare.ignore_rules(ctx, enabled=not args.no_ignore),
    )
    if out.json_mode:
        out.data(result.to_json(hunks=not args.stat))
    elif args.stat:
        for line in result.stat_lines():
            out.line(line)
    else:
        out.pager_tool = ctx.config.diff_tool  # `[diff] tool`: replaces the pager on a terminal
        out.raw(result.patch())
        if result.identical:
            out.note(f"{result.old_label} and {result.new_label} are identical.")
        out.note(result.ignored_note)
    return EXIT_FAILED if not result.identical else EXIT_OK


async def cmd_promote(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    req = requests.promote(args)
    source, target = compare.Ref.parse(req.source), compare.Ref.parse(req.target)
    ctx.require_writable(target.env)
    the_plan = await promote.plan(ctx, source, target)
    if not out.json_mode:
        out.line(f"Promote {source} -> {target} via {req.via}:")
        for line in the_plan.diff.stat_lines():
            out.line(line)
        if compare.edits_unknown(the_plan.drift):
            out.note(f"drift: {compare.drift_names(the_plan.drift)} on {target.env} since its last import")
        for change in [] if compare.edits_unknown(the_plan.drift) else the_plan.drift:
            out.note(
                f"drift: {change.get('type')}/{change.get('slug')} was edited on {target.env} "
                f"by {change.get('updatedBy') or 'someone'} since its last import"
            )
        for row in the_plan.parity.missing() if the_plan.parity else []:
            out.note(f"missing on {target.env}: {row.kind} {row.name} (required; declared in {row.declared_in})")
        for warning in the_plan.warnings:
            out.note(f"warning: {warning}")
    if args.dry_run:
        if out.json_mode:
            out.data(the_plan.to_json())
        return EXIT_OK
    confirm(args, ctx, target.env, target.slug, f"Promote {source} over {target}", req)
    outcome = await promote.promote(
        ctx,
        the_plan,
        via=req.via,
        accept_drift=req.accept_drift,
        name=req.name,
        repository=req.repository,
        allow_missing=req.allow_missing,
        request=req,
    )
    return _outcome(out, outcome)


async def cmd_snapshots(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    store = snapshots.SnapshotStore.for_context(ctx)
    if args.snap_command == "list":
        snaps = store.list(args.env, args.workspace)
        for warning in store.warnings:
            out.note(f"warning: {warning}")
        if out.json_mode:
            out.data(snaps)
        else:
            out.table(
                [
                    [s.id, s.env, s.slug, s.time[:19], s.live_version or "", s.action, f"{s.size // 1024} KiB"]
                    for s in snaps
                ],
                ["id", "env", "workspace", "time", "live", "before", "size"],
            )
        return EXIT_OK
    snap = store.get(args.id)
    if args.snap_command == "show":
        from tui.core.diff import files_from_zip

        files = files_from_zip(snap.archive.read_bytes(), f"snapshot {snap.id}")
        if out.json_mode:
            out.data({**snap.to_json(), "files": sorted(files)})
        else:
            for key, value in snap.to_json().items():
                out.line(f"{key:12} {value}")
            out.line("files        " + ", ".join(sorted(files)))
        return EXIT_OK
    req = requests.restore(args)
    confirm(args, ctx, snap.env, snap.slug, f"Restore {snap.slug} from the snapshot of {snap.time[:19]}", req)
    return _outcome(out, await actions.restore(ctx, snap.id, request=req))


# --------------------------------------------------------------------------------------------- tokens, envs
async def cmd_login(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    env = _env_name(args, ctx)
    if args.token_stdin:
        token = sys.stdin.readline().strip()
    else:
        interaction.require_prompt(args, f"Login to {env}", f"--token-stdin (a piped token) or {env_var_name(env)}")
        token = getpass.getpass(f"Token for {env} ({ctx.env(env).url}): ").strip()
    if not token:
        raise E.UsageError("The token is empty; nothing was stored.")
    try:
        async with ctx.client_with(env, token) as client:
            me = await client.me()
    except E.AuthenticationFailed as exc:
        # The generic hint says "run login": that is what just failed.
        exc.hint = "Check that the token is current and made for this instance, then pipe it again."
        raise
    saved = await asyncio.to_thread(ctx.tokens.save, env, token)
    if not saved.persisted:
        # A CLI run ends now: a token "kept in memory" would be stored nowhere.
        probe = ctx.tokens.keyring_probe()
        raise E.UsageError(
            f"Token accepted for {me.email or me.id} on {env}, but NOT stored: no usable OS keyring "
            f"({probe.status.value}, backend {probe.backend}).",
            hint=f"Set {env_var_name(env)} to the token where prisme-deploy runs, or log in again inside a D-Bus "
            "session with an unlocked keyring: `dbus-run-session -- bash`, then unlock gnome-keyring-daemon "
            "(README, Tokens).",
        )
    if out.json_mode:
        out.data({"env": env, "user": me.email or me.id, "stored": saved.persisted, "message": saved.message})
    else:
        out.line(f"Token accepted for {me.email or me.id} on {env}.")
        out.line(saved.message)
    return EXIT_OK


async def cmd_logout(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    env = _env_name(args, ctx)
    result = await asyncio.to_thread(ctx.tokens.delete, env)
    if out.json_mode:
        out.data({"env": env, "removed": result.persisted, "message": result.message})
    else:
        out.line(result.message)
    return EXIT_OK if result.persisted else EXIT_FAILED


def _confirm_remove(args: argparse.Namespace, ctx: Context, name: str, path: Path) -> None:
    """Removing an environment is typed out, as in the app (the name, or --yes): a slip of the shell
    history must not drop prod from the configuration. An unknown name is refused before asking."""
    ctx.env(name)
    if args.yes:
        return
    interaction.require_prompt(args, f"removing environment {name}", "--yes")
    sys.stderr.write(f"Remove [environments.{name}] from {path}? Type {name!r} to confirm: ")
    sys.stderr.flush()
    if input().strip() != name:
        raise E.UsageError(f"Not confirmed: the name typed is not {name!r}; {path} is unchanged.")


async def cmd_env(args: argparse.Namespace, ctx: Context, out: Printer) -> int:
    if args.env_command == "list":
        return await cmd_envs(argparse.Namespace(tokens=False), ctx, out)
    if args.env_command == "test":
        return await cmd_status(args, ctx, out)
    path = paths.config_path(getattr(args, "config", None))
    if args.env_command == "remove":
        _confirm_remove(args, ctx, args.name, path)
        change = envs.remove(ctx, args.name, path)
    else:
        change = (envs.add if args.env_command == "add" else envs.edit)(
            ctx, args.name, config_cmds.env_values(args), path
        )
    if out.json_mode:
        out.data(change)  # EnvChange's one shape: change, env, file, environments
    else:
        out.line(f"{change.action}: {change.name} ({change.path})")
    return EXIT_OK


# --------------------------------------------------------------------------------------------- parsers
def _allow_secret_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-secret",
        action="append",
        metavar="FINGERPRINT",
        help="a reviewed false positive of the secret scan (repeatable): stored in [scan] allow with --reason",
    )


def add_parsers(sub: argparse._SubParsersAction) -> None:
    def add(
        name: str,
        handler: Handler,
        help_text: str,
        *,
        env: bool = True,
        mutating: bool = False,
        workspace: bool = False,
    ) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help_text, description=help_text)
        _common(parser, env=env, mutating=mutating)
        if workspace:
            parser.add_argument("workspace", help="workspace slug (or id)")
        parser.set_defaults(func=run(handler))
        return parser

    p = add("envs", cmd_envs, "list configured environments", env=False)
    p.add_argument("--tokens", action="store_true", help="also say where each token comes from")
    add("status", cmd_status, "health and token of every environment (exit 4 if one is not up)")
    p = add("workspaces", cmd_workspaces, "list workspaces (all pages)")
    p.add_argument("--group", help="only a configured workspace group")
    p.add_argument("--dirty", action="store_true", help="only workspaces with unpushed changes")
    p.add_argument(
        "--filter", metavar="TEXT", help="as the app's /: slug, name or label contains TEXT (!TEXT: does not)"
    )
    p = add("versions", cmd_versions, "version history of a workspace (* marks the live one)", workspace=True)
    pager.add_flag(p)
    p = add("events", cmd_events, "activity of a workspace, or of the platform (bulk operations)")
    pager.add_flag(p)
    p.add_argument("workspace", nargs="?", default="platform", help="workspace slug, or 'platform' (default)")
    p.add_argument("--types", help="comma-separated event types")
    p.add_argument("--after", help="only events after this ISO date")
    p.add_argument("--limit", type=int, default=50)
    p = add("audit", cmd_audit, "the local audit journal of mutating actions", env=False)
    p.add_argument("--env", help="only this environment")
    p.add_argument("--action", help="only this action (push, rollback, bulk-push...)")
    pager.add_flag(p)
    p.add_argument("--reason", help="only entries whose reason (or break-glass reason) contains this text")
    p.add_argument("--limit", type=int, default=200)

    p = add(
        "push", cmd_push, "push a workspace version (git with --repository, else native)", mutating=True, workspace=True
    )
    p.add_argument("--name", help="version name: at most 15 of [A-Za-z0-9_.-]")
    p.add_argument("--description", "-m", required=True, help="becomes the git commit message")
    p.add_argument(
        "--repository",
        help="repository id: the workspace's own (its repositories field) or a platform one; none: native",
    )
    _allow_secret_option(p)
    p = add("pull", cmd_pull, "pull the latest version of a workspace", mutating=True, workspace=True)
    p.add_argument("--repository", help="repository id: the workspace's own or a platform one")
    p.add_argument("--discard-local-changes", action="store_true", help="do not merge unpushed edits (lost)")
    p = add("rollback", cmd_rollback, "roll a workspace back to an earlier version", mutating=True, workspace=True)
    p.add_argument("version", help="version name (a git tag for a repository, or a native version)")
    p.add_argument(
        "--repository", help="repository id: the workspace's own or a platform one (omit for a native version)"
    )
    p.add_argument("--discard-local-changes", action="store_true", help="unpushed edits are lost")
    sticky_cmds.add_arguments(p)
    add("unlock", cmd_unlock, "clear a workspace's write lock", mutating=True, workspace=True)

    p = add("bulk-push", cmd_bulk_push, "push workspace groups to a platform repository (SSE progress)", mutating=True)
    p.add_argument("--repository", required=True)
    p.add_argument("--groups", required=True, help="comma-separated group names")
    p.add_argument("--name", help="version name applied to every pushed workspace")
    p.add_argument("--description", "-m")
    p.add_argument("--dry-run", action="store_true", help="only categorise, push nothing")
    p.add_argument("--force", action="store_true", help="also push workspaces that are not dirty")
    _allow_secret_option(p)
    p = add(
        "bulk-import", cmd_bulk_import, "import groups one at a time, stopping at the first with errors", mutating=True
    )
    p.add_argument("--repository", required=True)
    p.add_argument("--groups", required=True, help="comma-separated, in order (base1,base2,extended)")
    p.add_argument("--force-reimport", action="store_true", help="re-import workspaces already at that version")
    p.add_argument(
        "--continue-on-error",
        action="store_true",
        help="import the next groups after a group with errors (the app's 'keep going'); still exit 1",
    )
    _lease_flags(p)

    p = add(
        "diff",
        cmd_diff,
        "diff two workspaces or versions (exit 1 when they differ, like git diff --exit-code)",
        env=False,
    )
    p.add_argument("--from", dest="source", required=True, metavar="ENV:SLUG[@VERSION]")
    p.add_argument("--to", dest="target", required=True, metavar="ENV:SLUG[@VERSION]")
    p.add_argument("--stat", action="store_true", help="only the diffstat")
    p.add_argument("--raw", action="store_true", help="diff the stored text (no YAML normalisation)")
    p.add_argument(
        "--no-ignore",
        action="store_true",
        help="also show what the platform rewrites on import (' (IMPORT)', customDomains, merged labels) "
        "and the config's [diff] ignore",
    )
    p.add_argument("--context", type=int, default=3, help="lines of context (default 3)")
    pager.add_flag(p)
    p = add(
        "promote",
        cmd_promote,
        "promote a workspace from one environment (or workspace) to another",
        env=False,
        mutating=True,
    )
    p.add_argument("--from", dest="source", required=True, metavar="ENV:SLUG")
    p.add_argument("--to", dest="target", required=True, metavar="ENV:SLUG")
    p.add_argument("--via", choices=("archive", "git"), default="archive")
    p.add_argument("--name", help="version name (with --via git)")
    p.add_argument("--repository", help="platform repository (with --via git)")
    p.add_argument(
        "--accept-drift", action="store_true", help="overwrite edits made on the target since its last import"
    )
    p.add_argument("--dry-run", action="store_true", help="only show the diff and the drift")
    p.add_argument(
        "--allow-missing-secrets",
        action="append",
        metavar="NAME",
        help="promote although the target lacks this required secret or config key (repeatable; audited)",
    )
    _lease_flags(p)

    snaps = sub.add_parser("snapshots", help="safety snapshots taken before every overwrite: list, show, restore")
    snap_sub = snaps.add_subparsers(dest="snap_command", metavar="ACTION", required=True)
    p = snap_sub.add_parser("list", help="list snapshots, newest first")
    _common(p, env=False)
    p.add_argument("--env")
    p.add_argument("--workspace")
    p.set_defaults(func=run(cmd_snapshots))
    for action in ("show", "restore"):
        p = snap_sub.add_parser(action, help=f"{action} a snapshot")
        _common(p, env=False, mutating=action == "restore")
        p.add_argument("id")
        p.set_defaults(func=run(cmd_snapshots))

    p = add("login", cmd_login, "check a token against /v2/me and store it in the OS keyring")
    p.add_argument("--token-stdin", action="store_true", help="read the token from standard input")
    add("logout", cmd_logout, "remove an environment's token from the OS keyring")

    env_parser = sub.add_parser("env", help="manage environments in the configuration file")
    env_sub = env_parser.add_subparsers(dest="env_command", metavar="ACTION", required=True)
    for action in ("add", "edit"):
        p = env_sub.add_parser(action, help=f"{action} an environment")
        _common(p, env=False)
        p.add_argument("name")
        config_cmds.add_env_flags(p)  # one flag per declared key (tui/core/config.py)
        p.set_defaults(func=run(cmd_env))
    p = env_sub.add_parser("remove", help="remove an environment (type its name to confirm, or --yes)")
    _common(p, env=False)
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="do not ask to type the name (CI, scripts)")
    p.set_defaults(func=run(cmd_env))
    p = env_sub.add_parser("list", help="list environments")
    _common(p, env=False)
    p.set_defaults(func=run(cmd_env))
    p = env_sub.add_parser("test", help="test connection: /v2/me and readiness")
    _common(p, env=False)
    p.add_argument("env", nargs="?")
    p.set_defaults(func=run(cmd_env))


__all__ = ["EXIT_USAGE", "add_parsers"]
