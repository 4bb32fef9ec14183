"""Long human output (`diff`, `audit`, `events`, `versions`) through a pager, as git does.

Only on a terminal: a pipe, `--json`, `--no-pager` or an empty PRISME_DEPLOY_PAGER print straight
through. The command is PRISME_DEPLOY_PAGER, then PAGER, then `less -R`; with less, LESS defaults to
FRX (quit when the text fits one screen, keep colours, leave the text on screen). A `[diff] tool`
(delta, diff-so-fancy...) reads the patch on its standard input and replaces the pager for `diff`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shlex
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from tui.core.errors import UsageError

if TYPE_CHECKING:
    from tui.cli.output import Printer

PAGED_COMMANDS = ("diff", "audit", "events", "versions")
DEFAULT = "less -R"


def add_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-pager", action="store_true", help="never page the output (PRISME_DEPLOY_PAGER='')")


def pager_command(environ: Mapping[str, str] | None = None) -> list[str] | None:
    """The pager to run, or None when paging is switched off (an empty value or `cat`)."""
    env = os.environ if environ is None else environ
    # An empty PRISME_DEPLOY_PAGER switches paging off; an empty PAGER means "not set".
    name = "PRISME_DEPLOY_PAGER" if "PRISME_DEPLOY_PAGER" in env else "PAGER"
    text = env["PRISME_DEPLOY_PAGER"] if "PRISME_DEPLOY_PAGER" in env else env.get("PAGER") or DEFAULT
    try:
        words = shlex.split(text)
    except ValueError as exc:  # an unbalanced quote: said, and the output is printed, never lost
        raise UsageError(f"{name}={text!r} is not a command line: {exc}.", hint=f"Fix or unset {name}.") from None
    if not words or words == ["cat"]:
        return None
    return words


def wanted(args: argparse.Namespace, printer: Printer, stdout: io.TextIOBase | None = None) -> bool:
    if getattr(args, "no_pager", None) is None:  # a command that is never paged
        return False
    if args.no_pager or printer.json_mode:
        return False
    stream = stdout or sys.stdout
    return bool(stream.isatty())


def show(text: str, command: list[str], out: object) -> None:
    """Run the pager (or diff tool) with ``text`` on its standard input; fall back to printing it."""
    import signal
    import subprocess  # only when paging: `bulk-push` in CI never pays for it (bench/: bulk push)

    env = dict(os.environ)
    if os.path.basename(command[0]) == "less":
        env.setdefault("LESS", "FRX")
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the pager, as in git
    try:
        subprocess.run(command, input=text, text=True, env=env, check=False)
    except OSError as exc:  # not installed: the output is not lost
        sys.stderr.write(f"note: cannot run {command[0]!r} ({exc.strerror}); printing instead.\n")
        out.write(text)  # type: ignore[attr-defined]
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def paging(args: argparse.Namespace, printer: Printer) -> Iterator[None]:
    """Collect what the command prints, then hand it to the pager (or the diff tool) when it is done."""
    if not wanted(args, printer):
        yield
        return
    real, buffer = printer.out, io.StringIO()
    printer.out = buffer
    try:
        yield
    finally:
        printer.out = real
        text = buffer.getvalue()
        try:
            tool = shlex.split(printer.pager_tool) if printer.pager_tool else pager_command()
        except (ValueError, UsageError) as exc:  # a bad PAGER or [diff] tool loses no output
            sys.stderr.write(f"note: {getattr(exc, 'message', exc)} Printing instead.\n")
            tool = None
        if text and tool:
            show(text, tool, real)
        elif text:
            real.write(text)
            real.flush()
