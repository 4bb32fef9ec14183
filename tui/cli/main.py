"""Entry point: ``prisme-deploy [COMMAND]``. With no command, the TUI opens on your configuration."""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from tui import __version__

if TYPE_CHECKING:
    import argparse

APP_FLAGS = ("--read-only", "--no-mouse")


def app_options(argv: Sequence[str]) -> SimpleNamespace | None:
    """The app's own options, read without argparse (its import and the parser cost start-up; bench/:
    start-up), or None for anything else (a command, --help, an abbreviation, a missing value): argparse
    reads those, and reports what is wrong exactly as it always did."""
    options = SimpleNamespace(config=None, read_only=False, no_mouse=False)
    words = list(argv)
    while words:
        word = words.pop(0)
        if word == "--config" and words and not words[0].startswith("-"):
            options.config = words.pop(0)
        elif word.startswith("--config="):
            options.config = word.removeprefix("--config=")
        elif word in APP_FLAGS:
            setattr(options, word[2:].replace("-", "_"), True)
        else:
            return None
    return options


def opens_the_app(argv: Sequence[str]) -> bool:
    """Only the app's own options (no command, no --help): no parser is needed."""
    return app_options(argv) is not None


# Commands that describe the whole parser (`help COMMAND`, the completion script): with either word in the
# command line every command is built in full.
WHOLE_TREE = frozenset({"help", "completion"})


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the commands named in it get their arguments (issue 30: building
    every command's arguments cost 15-40 ms per command run). Every command is still listed with its help
    (`--help`, an unknown command's error are unchanged). argparse picks a command only by its exact name
    (no prefix matching of subcommands), so the command it picks is a word of ``argv``: a word that merely
    looks like a command (a workspace named `status`) only builds one more parser. Without ``argv``: the
    whole tree (man page, completion, help, the parity tests)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="prisme-deploy",
        description="Version, promote and roll back Prisme.ai workspaces across environments. "
        "Without a command, opens the terminal app.",
    )
    parser.add_argument("--version", action="version", version=f"prisme-deploy {__version__}")
    parser.add_argument(
        "--config", help="configuration file for the app (default: PRISME_DEPLOY_CONFIG or the user config folder)"
    )
    parser.add_argument("--read-only", action="store_true", help="hide every mutating action")
    parser.add_argument("--no-mouse", action="store_true", help="leave the mouse to the terminal (selection)")
    # About 25 parsers with their help: built only for a command, --help or what app_options leaves to argparse.
    from tui.cli import (
        apply_cmds,
        at_cmds,
        commands,
        drill_cmds,
        ledger_cmds,
        matrix_cmds,
        plan_cmds,
        policy_cmds,
        release_cmds,
        rollout_cmds,
        safety_cmds,
        sandbox_cmds,
        shell_cmds,
    )

    sub: Any = parser.add_subparsers(dest="command", metavar="COMMAND")
    if argv is not None and not WHOLE_TREE.intersection(argv):
        sub = _OnlyNamed(sub, frozenset(argv))
    commands.add_parsers(sub)
    matrix_cmds.add_parsers(sub)
    safety_cmds.add_parsers(sub)
    sandbox_cmds.add_parsers(sub)
    shell_cmds.add_parsers(sub)
    plan_cmds.add_parsers(sub)
    apply_cmds.add_parsers(sub)
    policy_cmds.add_parsers(sub)
    release_cmds.add_parsers(sub)
    rollout_cmds.add_parsers(sub)
    at_cmds.add_parsers(sub)
    drill_cmds.add_parsers(sub)
    ledger_cmds.add_parsers(sub)
    # `help` and `completion` describe the whole parser: handed to them, so they need not import main.
    parser.set_defaults(root_parser=parser)
    return parser


class _OnlyNamed:
    """The subcommands action, building in full only the commands in ``named``. Every other one is still
    registered by argparse itself (name, aliases, help line: `--help` and an unknown command's error are
    unchanged), with an _Unbuilt in place of its parser: an ArgumentParser costs ~0.1 ms even empty
    (gettext looks up translations on disk), and configuring one costs more."""

    def __init__(self, sub: argparse._SubParsersAction, named: frozenset[str]) -> None:
        self._sub, self._named = sub, named

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if self._named.intersection([name, *kwargs.get("aliases", ())]):
            return self._sub.add_parser(name, **kwargs)
        parser_class = self._sub._parser_class  # argparse's own, swapped a moment
        self._sub._parser_class = _Unbuilt
        try:
            return self._sub.add_parser(name, **kwargs)
        finally:
            self._sub._parser_class = parser_class


class _Unbuilt:
    """A command not being run: its arguments, groups and defaults are dropped (never parsed)."""

    def __init__(self, **_kwargs: object) -> None:
        pass

    def __getattr__(self, _name: str) -> Any:
        return self._ignore

    def _ignore(self, *_args: object, **_kwargs: object) -> _Unbuilt:
        return self


def main(argv: Sequence[str] | None = None) -> int:
    # Start-up allocates tens of thousands of objects that live as long as the process (modules,
    # classes, styles); collecting them again and again while they are created is wasted time
    # (bench/: start-up). The app turns collection back on at its first frame, a command right away,
    # and both freeze what exists by then so later collections never walk it again.
    gc.disable()
    argv = sys.argv[1:] if argv is None else list(argv)
    options = app_options(argv)
    args = options or build_parser(argv).parse_args(argv)
    if not getattr(args, "func", None):  # the app's options, or `--config X` given in a form argparse reads
        from tui.app.launch import run_app

        return run_app(args)
    gc.freeze()
    gc.enable()
    try:
        with _signals_interrupt():
            code = int(args.func(args))
        sys.stdout.flush()  # a reader gone (`| head`) shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130


class Hangup(KeyboardInterrupt):
    """SIGHUP (an SSH drop) or SIGTERM during a command: unwinds like Ctrl-C, so every open audit
    entry is written ("cancelled") and state files are saved. Without a handler Python dies on the
    spot and the journal never hears of the operation."""


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    import signal

    def handle(signum: int, _frame: object) -> None:
        raise Hangup(f"signal {signum}")

    if threading.current_thread() is not threading.main_thread():
        yield  # signals can only be handled in the main thread (tests call main() from others)
        return
    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGHUP, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _reader_gone() -> int:
    """The reader of our output went away (`prisme-deploy ... --json | head`): stop quietly, as git does.

    Python would print a traceback, then another one when it flushes stdout at exit; pointing stdout at
    /dev/null silences the second. 141 is what a shell reports for a process killed by SIGPIPE."""
    import os

    from tui.cli import exits

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return exits.EXIT_PIPE


if __name__ == "__main__":
    raise SystemExit(main())
