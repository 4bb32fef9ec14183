"""A command run builds only its own parser (issue 30): the rest are listed, not built, and nothing a user
sees or gets from argparse differs from the whole tree."""

from __future__ import annotations

import argparse
import contextlib
import io

import pytest

from tui.cli.main import build_parser

LINES = [
    ["rollback", "ws", "v1", "--env", "real", "--yes"],
    ["--config", "c.toml", "status"],
    ["push", "status", "--env", "dev", "-m", "a message"],  # a workspace named like another command
    ["snapshots", "list"],
    ["env", "list"],
    ["promote", "--from", "dev:a", "--to", "prod:a", "--yes", "--accept-drift"],
]


def commands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def outcome(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[object, str, str]:
    """(the namespace without the parser handed down, or the exit code; stdout; stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            found: object = {k: v for k, v in vars(parser.parse_args(argv)).items() if k not in {"root_parser", "func"}}
        except SystemExit as stop:
            found = stop.code
    return found, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv", LINES)
def test_a_command_parses_as_with_every_parser_built(argv: list[str]) -> None:
    assert outcome(build_parser(argv), argv) == outcome(build_parser(), argv)
    assert callable(build_parser(argv).parse_args(argv).func)


@pytest.mark.parametrize(
    "argv", [["--help"], ["nosuch"], ["rollbak", "x"], ["roll", "x"], ["rollback", "--help"], ["rollback"]]
)
def test_help_and_usage_errors_are_those_of_the_whole_tree(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    scoped = outcome(build_parser(argv), argv)
    assert scoped == outcome(build_parser(), argv)
    assert isinstance(scoped[0], int)  # each one stops (help: 0, a usage error: 2)


def test_only_the_named_command_is_built() -> None:
    choices = commands(build_parser(["rollback", "ws", "v1"])).choices
    assert isinstance(choices["rollback"], argparse.ArgumentParser)
    assert not isinstance(choices["promote"], argparse.ArgumentParser)
    assert set(choices) == set(commands(build_parser()).choices)  # every command is still listed


@pytest.mark.parametrize("word", ["help", "completion"])
def test_help_and_completion_get_the_whole_tree(word: str) -> None:
    choices = commands(build_parser([word, "rollback"])).choices
    assert all(isinstance(parser, argparse.ArgumentParser) for parser in choices.values())
