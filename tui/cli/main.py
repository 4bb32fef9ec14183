"""Entry point: ``prisme-deploy [COMMAND]``. With no command, the TUI opens on your configuration."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tui import __version__
from tui.cli import sandbox_cmds
from tui.cli.exits import EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prisme-deploy",
        description="Version, promote and roll back Prisme.ai workspaces across environments. "
        "Without a command, opens the terminal app.",
    )
    parser.add_argument("--version", action="version", version=f"prisme-deploy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sandbox_cmds.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
