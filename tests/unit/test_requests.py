"""Typed requests (issue 27): each operation's request is built by the app's dialog and by the CLI's flags,
and both cover every field of it (a bulk import's "keep going" once existed in the app only)."""

from __future__ import annotations

import argparse

import pytest

from tui.app.controllers import forms
from tui.cli import requests as cli_requests
from tui.cli.main import build_parser
from tui.core import errors as E
from tui.core.ops import requests as R


def subparser(path: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path.split():
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


@pytest.mark.parametrize("kind", R.REQUESTS, ids=lambda k: k.KIND)
def test_the_cli_command_has_a_flag_for_every_field_of_its_request(kind: type[R.Request]) -> None:
    flags = cli_requests.FLAGS[kind]
    assert set(flags) == set(kind.options())
    dests = {action.dest for action in subparser(kind.KIND)._actions}
    assert set(flags.values()) <= dests
    assert {"reason", "break_glass"} <= dests  # and the reasons every request carries


@pytest.mark.parametrize("kind", R.REQUESTS, ids=lambda k: k.KIND)
def test_the_app_dialog_fills_every_field_of_its_request_or_says_why_not(kind: type[R.Request]) -> None:
    dialog = forms.DIALOGS[kind]
    sources = [set(dialog.fields.values()), set(dialog.selection), set(dialog.derived), set(dialog.not_offered)]
    assert set().union(*sources) == set(kind.options())
    assert sum(len(s) for s in sources) == len(kind.options())  # each field from one place only
    assert all(why.strip() for why in dialog.not_offered.values())


def test_a_dialog_field_that_fills_no_request_field_is_refused() -> None:
    values = {"repository": "release", "groups": ["base"], "keep_going": True, "reason": "CHG-1"}
    with pytest.raises(KeyError, match="keep_going"):
        forms.request_of(R.BulkImportRequest, values, env="dev")


def test_a_dialog_becomes_its_request_with_its_reasons() -> None:
    values = {"repository": "release", "groups": ["base", "extended"], "force": False, "continue": True}
    req = forms.request_of(R.BulkImportRequest, {**values, "reason": "CHG-1", "break_glass": None}, env="dev")
    assert req == R.BulkImportRequest(
        env="dev", repository="release", groups=("base", "extended"), continue_on_error=True, reason="CHG-1"
    )


def test_the_cli_flags_become_the_same_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRISME_DEPLOY_REASON", raising=False)
    argv = ["bulk-import", "--env", "dev", "--repository", "release", "--groups", "base, extended"]
    args = build_parser().parse_args([*argv, "--continue-on-error", "--reason", " CHG-1 "])
    assert cli_requests.bulk_import(args, "dev") == R.BulkImportRequest(
        env="dev", repository="release", groups=("base", "extended"), continue_on_error=True, reason="CHG-1"
    )
    args = build_parser().parse_args(["promote", "--from", "dev:a", "--to", "prod:a", "--allow-missing-secrets", "K"])
    req = cli_requests.promote(args)
    assert (req.source, req.target, req.via, req.allow_missing, req.reason) == (
        "dev:a",
        "prod:a",
        "archive",
        ("K",),
        None,
    )


def test_a_request_carries_its_own_reason_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRISME_DEPLOY_REASON", "RUN-1")
    assert R.Request().reason == "RUN-1"  # the run's default
    assert R.Request(reason=None).reason is None  # a dialog's emptied field stays empty
    assert R.PullRequest(env="dev", slug="a", reason="  CHG-2\n ").reason == "CHG-2"
    with pytest.raises(E.UsageError, match="--reason is empty"):
        R.PullRequest(env="dev", slug="a", reason="   ")
    with pytest.raises(E.UsageError, match="--break-glass is 501 characters long"):
        R.Request(break_glass="x" * 501)
    with pytest.raises(AttributeError):
        R.Request().reason = "changed"  # type: ignore[misc]  # frozen: it travels as it was built
