"""Issue 29 item 3: a release marked bad in the repository (who, why, when: one commit) cannot be rolled out,
planned or bulk imported, every command warns while the branch head is it, and accepting it clears the mark."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from test_rollout import ROLLOUT, fleet  # noqa: F401 - the dev/staging/prod/prod-us fleet with [[rollout]]

from tui.cli.main import main
from tui.sandbox.runner import Running

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _repo(running: Running) -> Path:
    return Path(running.sandbox.data_dir).parent / "release.git"


def test_a_rejected_release_is_refused_by_rollout_plan_and_bulk_import_and_every_command_warns(
    fleet: dict[str, Running],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert ROLLOUT
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "bad")[0] == 0
    code, _, err = cli(capsys, "release", "reject", "bad", "--reason", "  ")
    assert code == 2 and "needs a reason" in err  # a blank reason is no reason
    code, out, err = cli(capsys, "release", "reject", "bad", "--reason", "kb answers in the wrong language")
    assert code == 0 and "marked rejected" in out, err

    log = subprocess.run(
        ["git", "log", "-1", "--format=%s", "main"], cwd=_repo(fleet["dev"]), capture_output=True, text=True
    ).stdout
    assert log.startswith("Reject release bad: kb answers in the wrong language")
    code, out, _ = cli(capsys, "release", "show", "bad", "--json")
    verdict = json.loads(out)["verdict"]
    assert verdict["state"] == "rejected" and verdict["reason"] == "kb answers in the wrong language"
    assert verdict["by"] and verdict["at"]

    code, out, err = cli(capsys, "rollout", "bad", "--groups", "base1", "--yes")
    assert code == 1 and "release bad was rejected" in err and "release accept bad" in err
    assert "[plan]" not in out  # refused before any plan, confirmation or import
    assert err.count("is release bad, REJECTED") == 1  # the head warning, once
    code, _, err = cli(capsys, "plan", "rollout", "bad", "--groups", "base1")
    assert code == 1 and "rejected" in err
    code, out, err = cli(capsys, "bulk-import", "--env", "staging", "--repository", "release", "--groups", "base1")
    assert code == 1 and "the head of repository release is release bad, which was rejected" in err
    code, out, err = cli(capsys, "release", "list")
    assert code == 0 and "REJECTED" in out and "is release bad, REJECTED" in err

    code, out, err = cli(capsys, "release", "accept", "bad")
    assert code == 0, err
    code, out, err = cli(capsys, "plan", "rollout", "bad", "--groups", "base1", "--json")
    assert code in (0, 1) and "REJECTED" not in err and json.loads(out)["release"] == "bad"


async def test_the_releases_view_marks_a_rejected_release_and_enter_refuses_it_before_any_dialog(
    platform: dict[str, Running], isolated_home: Path
) -> None:
    from test_app import log_text, make_app, settle
    from textual.widgets import DataTable

    from tui.app.screens.modals import ActionModal
    from tui.app.screens.releases import ReleasesScreen
    from tui.core.ops import release

    app = make_app(platform, _repo(platform["dev"]).parent, env="dev", extra=STAGE)
    release.save(app.ctx, release.from_repository(app.ctx, "release", "bad"), None)
    release.mark(app.ctx, "bad", "rejected", "[b]kb[/b] answers in the wrong language")  # markup: inert
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, ReleasesScreen)
        table = app.screen.query_one(DataTable)
        row = [str(c) for c in table.get_row_at(0)]
        assert row[0] == "bad" and row[2] == "REJECTED", row
        await pilot.press("enter")
        await settle(pilot)
        assert "REFUSED rollout of bad: release bad was rejected" in log_text(app)
        assert "[b]kb[/b] answers in the wrong language" in log_text(app)
        # Refused before the groups dialog, said where the user is: the view stays open on the release.
        assert isinstance(app.screen, ReleasesScreen) and not isinstance(app.screen, ActionModal)
        said = [str(n.message) for n in app._notifications if n.title == "Rollout refused"]
        assert said and "[b]kb[/b] answers in the wrong language" in said[-1], said
        assert app.screen.query_one(DataTable).get_row_at(0)[0].plain == "bad"


STAGE = '[[rollout]]\nstage = "staging"\nenvironments = ["staging"]\n'


async def test_the_apps_bulk_import_of_a_rejected_head_is_refused_in_its_plan_dialog_and_imports_nothing(
    platform: dict[str, Running], isolated_home: Path
) -> None:
    """QA: key I -> base1 -> Force re-import -> Plan... imported the rejected head with no word of it."""
    from test_app import log_text, make_app, settle
    from test_app_plans import dialog_text
    from textual.widgets import Button, Checkbox, SelectionList

    from tui.app.screens.modals import ActionModal
    from tui.core.ops import release

    app = make_app(platform, _repo(platform["dev"]).parent, env="staging")
    release.save(app.ctx, release.from_repository(app.ctx, "release", "bad"), None)
    release.mark(app.ctx, "bad", "rejected", "[b]kb[/b] answers in the wrong language")  # markup: inert
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("I")
        await settle(pilot)
        app.screen.query_one("#groups", SelectionList).select("base1")
        forced = [box for box in app.screen.query(Checkbox) if "re-import" in str(box.label).lower()]
        assert len(forced) == 1
        forced[0].value = True
        await pilot.pause()
        await pilot.click("#confirm")  # "Plan…"
        await settle(pilot)
        assert isinstance(app.screen, ActionModal) and app.screen.title_text == "Bulk import into staging: plan"
        text = dialog_text(app)
        assert "REFUSED: the head of repository release is release bad, which was rejected" in text, text
        assert "[b]kb[/b] answers in the wrong language" in text and "release accept bad" in text
        assert app.screen.query_one("#confirm", Button).disabled  # Confirm refused, like the other refusals
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert "Bulk import" not in log_text(app)  # nothing ran: no operation line, no summary


async def test_the_releases_view_reads_verdicts_again_on_ctrl_r_and_enter_decides_from_a_fresh_read(
    platform: dict[str, Running], isolated_home: Path
) -> None:
    """QA: with the view open, `release accept` from a shell, then enter: "refused, marked REJECTED" with no
    reason, and ctrl+r (in the key bar) did nothing."""
    from test_app import log_text, make_app, settle
    from textual.widgets import DataTable
    from waits import wait_until

    from tui.app.screens.modals import ActionModal
    from tui.app.screens.releases import ReleasesScreen
    from tui.core.ops import release

    app = make_app(platform, _repo(platform["dev"]).parent, env="dev", extra=STAGE)
    release.save(app.ctx, release.from_repository(app.ctx, "release", "bad"), None)
    release.mark(app.ctx, "bad", "rejected", "kb answers in the wrong language")

    def head_cell() -> str:
        return str(app.screen.query_one(DataTable).get_row_at(0)[2])

    def said() -> list[str]:
        return [str(n.message) for n in app._notifications]

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, ReleasesScreen) and head_cell() == "REJECTED"
        release.mark(app.ctx, "bad", "accepted", "fixed in the kb")  # another shell, the view open
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: head_cell() == "HEAD", what="the view read again")

        release.mark(app.ctx, "bad", "rejected", "second thoughts")  # the view shows HEAD: stale
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReleasesScreen)  # refused from the fresh read, with its reason
        assert "REFUSED rollout of bad: release bad was rejected" in log_text(app)
        assert any("second thoughts" in m for m in said()), said()
        assert any("changed since the view was read: HEAD then, REJECTED now" in m for m in said()), said()
        await wait_until(pilot, lambda: head_cell() == "REJECTED", what="the stale view read again")

        release.mark(app.ctx, "bad", "accepted", "fixed for good")  # the view shows REJECTED: stale
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ActionModal) and app.screen.title_text == "Roll out bad", app.screen
        assert any("REJECTED then, HEAD now" in m for m in said()), said()
