"""`--jq EXPR`: filter JSON output in process, as `gh --jq` does (strings print raw, the rest as JSON).

The jq binding is loaded only when --jq is given; a bad expression is a usage error (exit 2) raised
while the arguments are parsed, before anything runs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from typing import Any

JqFilter = Callable[[Any], Iterator[str]]


def compile_filter(expression: str) -> JqFilter:
    import jq

    program = jq.compile(expression)

    def run(document: Any) -> Iterator[str]:
        # Through JSON text, as jq itself sees it (dates, paths... become what --json prints).
        try:
            values = program.input_text(json.dumps(document, default=str)).all()
        except ValueError as exc:  # a run-time error of the expression (".a.b" on a number...)
            from tui.core.errors import UsageError

            raise UsageError(f"--jq {expression}: {str(exc).splitlines()[0]}") from exc
        for value in values:
            yield value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    return run


def expression(text: str) -> str:
    """argparse type: check the expression compiles, so a typo fails before any request is made."""
    try:
        compile_filter(text)
    except ValueError as exc:  # the binding reports compile errors as ValueError
        raise argparse.ArgumentTypeError(f"not a valid jq expression: {str(exc).splitlines()[0]}") from exc
    return text


def add_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--jq", type=expression, metavar="EXPR", help="filter the JSON output with a jq expression (implies --json)"
    )
