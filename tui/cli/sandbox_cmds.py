"""`prisme-deploy sandbox serve` and `prisme-deploy demo --no-ui`."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from pathlib import Path

from tui.cli.exits import EXIT_OK, EXIT_USAGE


def add_parsers(sub: argparse._SubParsersAction) -> None:
    sandbox = sub.add_parser("sandbox", help="run a local Prisme.ai instance (real HTTP, real git)")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", metavar="COMMAND", required=True)
    serve = sandbox_sub.add_parser("serve", help="serve one instance on 127.0.0.1 until Ctrl-C")
    serve.add_argument("--data", required=True, type=Path, help="data folder (kept across restarts)")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    serve.add_argument("--token", help="the Bearer token to accept (default: a random one, printed)")
    serve.add_argument("--name", default="sandbox", help="instance name shown in logs")
    serve.add_argument("--seed", choices=["demo"], help="fill an empty data folder with demo workspaces")
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="inject a fault: latency_ms=N, push_fail=slug[,slug], import_fail=slug[:Error], "
        "sse_drop_after=N, error_5xx=/path[:status], stuck_lock=slug, processing_after=S",
    )
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="the three-instance demo (dev, staging, prod) with the TUI on top")
    demo.add_argument("--no-ui", action="store_true", help="only serve the instances and print URLs and tokens")
    demo.add_argument("--data", type=Path, help="keep the demo data in this folder (default: temporary)")
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
    except ValueError as exc:
        print(f"prisme-deploy sandbox: {exc}", file=sys.stderr)
        return EXIT_USAGE
    data: Path = args.data
    if args.seed == "demo" and data_dir_is_empty(data):
        data.mkdir(parents=True, exist_ok=True)
        seed_single(data)
    token = args.token or f"at:sandbox-{secrets.token_urlsafe(16)}"
    try:
        sock = bind_loopback(args.port)
    except OSError as exc:
        print(f"prisme-deploy sandbox: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    sandbox = Sandbox(data, token, name=args.name, faults=faults)
    port = sock.getsockname()[1]
    print(f"{args.name}: http://127.0.0.1:{port}", flush=True)
    if not args.token:
        print(f"token: {token}", flush=True)
    try:
        asyncio.run(serve_many([(sandbox, sock)]))
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from tui.sandbox.demo import DemoPlatform, Hangup, stop_on_signals

    if not args.no_ui:
        from tui.app.launch import run_demo

        return run_demo(args)
    with stop_on_signals():
        demo = DemoPlatform.start(args.data)
        try:
            for name, running in demo.instances.items():
                print(f"{name:8} {running.url}  token {running.token}", flush=True)
            print(f"release repository: {demo.root / 'release.git'}", flush=True)
            print("Serving until Ctrl-C.", flush=True)
            try:
                while True:
                    for running in demo.instances.values():
                        if running.thread:
                            running.thread.join(0.5)
            except (KeyboardInterrupt, Hangup):
                pass
        finally:
            demo.stop()
    return EXIT_OK
