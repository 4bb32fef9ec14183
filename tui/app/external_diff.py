"""`e` in the diff screen: the whole patch through the configured `[diff] tool` (delta, diff-so-fancy...),
with the terminal handed over to it (the app is suspended until the tool exits), as `diff` does in
the shell on a terminal.
"""

from __future__ import annotations

import shlex
import subprocess
from typing import Any


def run(app: Any, tool: str, patch: str) -> str | None:
    """Run ``tool`` with the patch on its standard input; returns an error to show, or None."""
    from textual.app import SuspendNotSupported

    try:
        command = shlex.split(tool)
    except ValueError as exc:  # an unbalanced quote: said in the app, never a crash
        return f"[diff] tool {tool!r} is not a command line: {exc}."
    if not command:
        return "[diff] tool is empty."
    try:
        with app.suspend():
            return _call(command, patch)
    except SuspendNotSupported:  # no terminal to hand over (headless, web): the tool still gets the patch
        return _call(command, patch)


def _call(command: list[str], patch: str) -> str | None:
    try:
        subprocess.run(command, input=patch, text=True, check=False)
    except OSError as exc:
        return f"cannot run {command[0]!r}: {exc.strerror}"
    return None
