"""`prisme-deploy sandbox serve` and `prisme-deploy demo --no-ui`."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shlex
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.cli.exits import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from tui.sandbox.realism import Realism

ON_OFF = ("on", "off")


def add_realism_flags(parser: argparse.ArgumentParser) -> None:
    """How strict the instances are; every part is on by default, as on a real Prisme.ai."""
    group = parser.add_argument_group("real platform behaviour (all on by default)")
    group.add_argument(
        "--realism",
        dest="realism_mode",
        choices=(*ON_OFF, "strict"),
        default="on",
        help="all of it on or off; strict: also the platform's other answers (no lastPull in lists, secrets "
        "hidden from non-owners, locked workspaces failing a bulk import, ' (IMPORT)' on empty descriptions...)",
    )
    group.add_argument("--event-lag", type=float, metavar="S", help="seconds before an event is searchable (2)")
    group.add_argument(
        "--rate-limits", metavar="SPEC", help="per user and minute: events=20,imports=3,create=3,test=30, or off"
    )
    group.add_argument("--gateway-timeout", type=float, metavar="S", help="408 after S s of silence (20; 0 = never)")
    group.add_argument("--tag-layout", choices=("slug", "plain"), help="git tags <slug>/<version> or <version>")
    group.add_argument("--import-suffix", choices=ON_OFF, help="' (IMPORT)' description rewrite on import")
    group.add_argument("--dirty-after-pull", choices=ON_OFF, help="a pull marks the workspace dirty")
    group.add_argument(
        "--api-level",
        choices=("2026", "2024"),
        help="2024: answer as the published 2024 server (no readiness, status, config, platform repositories, "
        "?timeout=); default 2026",
    )
    group.add_argument("--events", choices=("up", "down"), help="down: the events service answers 500 (default up)")
    group.add_argument(
        "--traffic",
        type=float,
        metavar="N",
        help="executions a minute of every workspace's automations (runtime.automations.executed events; "
        "default 0; the demo: 120)",
    )


def realism_from_args(args: argparse.Namespace) -> Realism:
    """The Realism the flags ask for (ValueError with a clear message on bad input)."""
    from tui.sandbox.realism import Realism, parse_rate_limits

    realism = {"on": Realism, "off": Realism.off, "strict": Realism.strict}[args.realism_mode]()
    changes: dict[str, object] = {}
    if args.event_lag is not None:
        changes["event_lag"] = args.event_lag
    if args.rate_limits is not None:
        changes["rate_limits"] = parse_rate_limits(args.rate_limits)
    if args.gateway_timeout is not None:
        changes["gateway_timeout"] = args.gateway_timeout or None
    if args.tag_layout:
        changes["tag_layout"] = args.tag_layout
    if args.import_suffix:
        changes["import_suffix"] = args.import_suffix == "on"
    if args.dirty_after_pull:
        changes["dirty_after_pull"] = args.dirty_after_pull == "on"
    if args.api_level:
        changes["api_level"] = args.api_level
    if args.events:
        changes["events_down"] = args.events == "down"
    if args.traffic is not None:
        changes["traffic_per_minute"] = args.traffic
    realism.update(changes)
    return realism


def demo_faults(items: list[str]) -> dict[str, dict[str, object]]:
    """``--fault [ENV/]KEY=VALUE`` of the demo: env ("" for every instance) -> faults (checked)."""
    from tui.sandbox.demo import DEMO_ENVS, FLEET
    from tui.sandbox.faults import Faults, parse_fault

    names = [name for name, _ in DEMO_ENVS] + list(FLEET)
    found: dict[str, dict[str, object]] = {}
    for item in items:
        key = item.partition("=")[0]
        env, _, _ = key.rpartition("/")
        if env and env not in names:
            raise ValueError(f"--fault {item!r}: no demo instance {env!r} (one of {', '.join(names)})")
        fault = parse_fault(item[len(env) + 1 :] if env else item)
        Faults().update(fault)  # checked now: a bad value is exit 2, not a failed start
        found.setdefault(env, {}).update(fault)
    return found


def parse_users(items: list[str]) -> dict[str, str]:
    """``--user ID[:TOKEN]``: token -> user id (a random token, printed, when none is given)."""
    users: dict[str, str] = {}
    for item in items:
        user, _, token = item.partition(":")
        if not user or not all(ch.isalnum() or ch in "-_.@" for ch in user):
            raise ValueError(f"--user takes ID[:TOKEN] with ID made of letters, digits, -_.@; got {user!r}")
        users[token or f"at:user-{secrets.token_urlsafe(16)}"] = user
    return users


TOKEN_VAR = "PRISME_DEPLOY_SANDBOX_TOKEN"


def _token(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The token to accept, from --token-file, the environment, or --token (in that order), and an error.

    A token on the command line is readable by every local user in /proc/PID/cmdline: a file or an
    environment variable is not."""
    if args.token_file:
        try:
            token = args.token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            return None, f"cannot read the token file {args.token_file}: {exc}"
        return (token, None) if token else (None, f"the token file {args.token_file} is empty")
    if os.environ.get(TOKEN_VAR):
        return os.environ[TOKEN_VAR].strip(), None
    if args.token:
        print(
            f"prisme-deploy sandbox: warning: --token is visible in /proc/PID/cmdline; use --token-file or {TOKEN_VAR}",
            file=sys.stderr,
        )
    return args.token, None


def add_parsers(sub: argparse._SubParsersAction) -> None:
    sandbox = sub.add_parser("sandbox", help="run a local Prisme.ai instance (real HTTP, real git)")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", metavar="COMMAND", required=True)
    serve = sandbox_sub.add_parser("serve", help="serve one instance on 127.0.0.1 until Ctrl-C")
    serve.add_argument("--data", required=True, type=Path, help="data folder (kept across restarts)")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    serve.add_argument(
        "--token-file",
        type=Path,
        help=f"file holding the Bearer token to accept (or set {TOKEN_VAR}; default: a random one, printed)",
    )
    serve.add_argument(
        "--token", help="the token on the command line: visible to every user in /proc/PID/cmdline; avoid it"
    )
    serve.add_argument("--name", default="sandbox", help="instance name shown in logs")
    serve.add_argument("--seed", choices=["demo"], help="fill an empty data folder with demo workspaces")
    serve.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="ID[:TOKEN]",
        help="one more user with its own token (rate limits are per user); repeatable",
    )
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="inject a fault: latency_ms=N, push_fail=slug[,slug], import_fail=slug[:Error], "
        "sse_drop_after=N, error_5xx=/path[:status], stuck_lock=slug, processing_after=S, push_delay_ms=N, "
        "pull_delay_ms=N, git_auth_fail=repo[,repo], error_rate=slug:FRACTION (the content its next import "
        "brings fails at that rate whenever it runs: a rollback is healthy, the same release imported again "
        "fails again, until the fault is cleared)",
    )
    add_realism_flags(serve)
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="the three-instance demo (dev, staging, prod) with the TUI on top")
    demo.add_argument(
        "--no-ui", action="store_true", help="only serve the instances and print their URLs (tokens: --write-config)"
    )
    demo.add_argument(
        "--data",
        type=Path,
        help="keep the demo data in this folder (default: temporary); started again on it, the demo resumes "
        "as it was (same repository, releases and tokens; ports may change)",
    )
    demo.add_argument(
        "--write-config",
        type=Path,
        metavar="PATH",
        help="write a configuration for the CLI against the demo to PATH, and its tokens as export lines to "
        "PATH.env (mode 0600): `source PATH.env` then any prisme-deploy command",
    )
    demo.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="[ENV/]KEY=VALUE",
        help="a fault of every instance, or of ENV's: prod-eu/error_rate=knowledge-base:0.5 (see sandbox serve)",
    )
    add_realism_flags(demo)
    demo.set_defaults(func=cmd_demo)


def cmd_serve(args: argparse.Namespace) -> int:
    from tui.sandbox.engine import data_dir_is_empty
    from tui.sandbox.faults import Faults, parse_fault
    from tui.sandbox.runner import bind_loopback, serve_many
    from tui.sandbox.seed import seed_single
    from tui.sandbox.server import Sandbox

    faults = Faults()
    try:
        for text in args.fault:
            faults.update(parse_fault(text))
        realism = realism_from_args(args)
        users = parse_users(args.user)
    except ValueError as exc:
        print(f"prisme-deploy sandbox: {exc}", file=sys.stderr)
        return EXIT_USAGE
    data: Path = args.data
    if args.seed == "demo" and data_dir_is_empty(data):
        data.mkdir(parents=True, exist_ok=True)
        seed_single(data)
    given, problem = _token(args)
    if problem:
        print(f"prisme-deploy sandbox: {problem}", file=sys.stderr)
        return EXIT_USAGE
    token = given or f"at:sandbox-{secrets.token_urlsafe(16)}"
    try:
        sock = bind_loopback(args.port)
    except OSError as exc:
        print(f"prisme-deploy sandbox: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    sandbox = Sandbox(data, token, name=args.name, faults=faults, realism=realism, users=users)
    port = sock.getsockname()[1]
    print(f"{args.name}: http://127.0.0.1:{port}", flush=True)
    if not given:
        print(f"token: {token}", flush=True)
    for user_token, user in users.items():
        if not any(item == f"{user}:{user_token}" for item in args.user):
            print(f"token of {user}: {user_token}", flush=True)
    try:
        asyncio.run(serve_many([(sandbox, sock)]))
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def write_demo_config(demo: Any, path: Path) -> list[str]:
    """The demo's configuration at ``path`` and its tokens as ``export`` lines at ``path.env`` (0600: the
    configuration never holds a token); returns the lines to print."""
    from tui.core.config import atomic_write
    from tui.core.secrets import env_var_name

    path = path.expanduser().resolve()
    atomic_write(path, demo.config_toml("written by `prisme-deploy demo --write-config`; valid while it runs"))
    exports = [f"export PRISME_DEPLOY_CONFIG={shlex.quote(str(path))}"] + [
        f"export {env_var_name(name)}={shlex.quote(token)}" for name, token in demo.tokens().items()
    ]
    env_file = path.with_name(path.name + ".env")
    atomic_write(env_file, "\n".join(exports) + "\n")
    os.chmod(env_file, 0o600)
    return [f"configuration: {path}", f"for the CLI: source {shlex.quote(str(env_file))}"]


def cmd_demo(args: argparse.Namespace) -> int:
    from tui.sandbox.demo import OWN_REPOSITORY_SLUGS, DemoPlatform, Hangup, stop_on_signals

    try:
        args.realism = realism_from_args(args)
        if args.traffic is None:
            from tui.sandbox.realism import DEMO_TRAFFIC

            args.realism.update({"traffic_per_minute": DEMO_TRAFFIC})
        args.demo_faults = demo_faults(args.fault)
    except ValueError as exc:
        print(f"prisme-deploy demo: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not args.no_ui:
        from tui.app.launch import run_demo

        return run_demo(args)
    with stop_on_signals():
        demo = DemoPlatform.start(args.data, realism=args.realism, faults=args.demo_faults)
        try:
            if demo.resumed:
                print(f"resumed the demo in {demo.root} as it was (ports may have changed)", flush=True)
            for name, running in demo.instances.items():
                print(f"{name:8} {running.url}", flush=True)  # no token in any output, demo tokens included
            print(f"release repository: {demo.root / 'release.git'}", flush=True)
            if args.write_config:
                for line in write_demo_config(demo, args.write_config):
                    print(line, flush=True)
            else:
                print("tokens: --write-config PATH writes them to PATH.env (mode 0600) for the CLI", flush=True)
            if args.realism.legacy:
                for slug in sorted(OWN_REPOSITORY_SLUGS):
                    print(f"own repository of {slug}: {demo.root / 'own' / (slug + '.git')}", flush=True)
            print("Serving until Ctrl-C.", flush=True)
            # Wait on an Event, never on Thread.join: on Python 3.11 a signal handler raising inside join()
            # marks the joined thread as stopped while it still serves (bpo-45274), so demo.stop() would close
            # its socket under it (a traceback on SIGTERM).
            idle = threading.Event()
            try:
                while all(r.thread is None or r.thread.is_alive() for r in demo.instances.values()):
                    idle.wait(0.5)
            except (KeyboardInterrupt, Hangup):
                pass
        finally:
            demo.stop()
    return EXIT_OK
