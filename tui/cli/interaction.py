"""Non-interactive mode: with `--no-input`, or CI=true as every CI system sets it, nothing ever prompts.

An action that would ask fails at once with exit 2 and names the flag (or variable) that supplies the
answer, instead of hanging a pipeline on a prompt nobody sees.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from tui.core.errors import UsageError

TRUE = ("1", "true", "yes", "on")


def add_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-input", action="store_true", help="never prompt; fail with exit 2 naming the flag instead (CI=true too)"
    )


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() in TRUE


def no_input(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "no_input", False)) or in_ci()


def require_prompt(args: argparse.Namespace, question: str, answer: str) -> None:
    """Raise unless a person can be asked: ``answer`` says which flag or variable gives it instead."""
    if no_input(args):
        why = "--no-input" if getattr(args, "no_input", False) else "CI=true"
        raise UsageError(f"{question} needs {answer}: prompts are off ({why}).")
    if not sys.stdin.isatty():
        raise UsageError(f"{question} needs {answer} when there is no terminal to ask on.")
