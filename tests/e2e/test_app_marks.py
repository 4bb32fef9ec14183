"""Multi-select (Space) and yank (y) in the app, against the real sandboxes (issue 18)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import settle_tolerant
from test_app import log_text, make_app
from waits import wait_until

from tui.app.screens.activity import TableScreen
from tui.app.screens.modals import ActionModal
from tui.core.ops import snapshots
from tui.sandbox.runner import Running

pytestmark = pytest.mark.e2e


@pytest.fixture
def root_of(platform: dict[str, Running]) -> Path:
    return Path(platform["dev"].sandbox.data_dir).parent


async def test_y_yanks_the_slug_the_version_the_environment_and_the_log_line(
    platform: dict[str, Running], root_of: Path
) -> None:
    app = make_app(platform, root_of)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        await choose(pilot, app, "securechat")
        await pilot.press("y")
        assert app.clipboard == "securechat"
        versions = app.query_one("#versions")
        versions.focus()
        versions.move_cursor(row=versions.get_row_index("v1.0.0"))  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("y")
        assert app.clipboard == "v1.0.0"
        await pilot.press("1", "y")
        assert app.clipboard == "prod"
        await pilot.press("5", "y")
        assert app.clipboard and app.clipboard == app.log_pane.lines()[-1]
        assert any("Copied log line" in str(n.message) for n in app._notifications)


async def choose(pilot: Any, app: Any, slug: str) -> None:
    table = app.query_one("#workspaces")
    table.focus()
    table.move_cursor(row=table.get_row_index(slug))
    await settle_tolerant(pilot)


async def mark(pilot: Any, app: Any, *slugs: str) -> None:
    table = app.query_one("#workspaces")
    table.focus()
    for slug in slugs:
        table.move_cursor(row=table.get_row_index(slug))
        await pilot.pause()
        await pilot.press("space")
    await settle_tolerant(pilot)  # once: waiting between moves races the version loads that each move cancels


@pytest.mark.usefixtures("a_reason")  # production requires a reason (issue 17)
async def test_space_marks_and_one_confirmation_snapshots_every_marked_workspace(
    platform: dict[str, Running], root_of: Path
) -> None:
    app = make_app(platform, root_of)  # prod: protected, so the confirmation wants the environment's name
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        await mark(pilot, app, "securechat", "doc-search", "ai-store", "ai-store")  # the second press unmarks
        table = app.query_one("#workspaces")
        assert str(table.get_cell("securechat", "slug")) == "● securechat"  # type: ignore[attr-defined]
        assert str(table.get_cell("ai-store", "slug")) == "ai-store"  # type: ignore[attr-defined]
        assert "marked 2" in str(table.border_subtitle)
        await pilot.press("S")  # S has one meaning: the snapshot list, marks or not (issue 27)
        await settle_tolerant(pilot)
        assert isinstance(app.screen, TableScreen)
        await pilot.press("escape")
        await settle_tolerant(pilot)
        await pilot.press("s")
        await settle_tolerant(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        assert [line.strip() for line in modal.summary_lines[1:]] == ["• securechat", "• doc-search"]
        await pilot.click("#confirm")
        await settle_tolerant(pilot)
        assert not isinstance(app.screen, ActionModal)  # one confirmation for the whole set
        taken = {s.slug for s in snapshots.SnapshotStore.for_context(app.ctx).list("prod")}
        assert taken == {"securechat", "doc-search"}
        assert "2/2 done" in log_text(app)


@pytest.mark.usefixtures("a_reason")
async def test_s_with_nothing_marked_snapshots_the_selected_workspace(
    platform: dict[str, Running], root_of: Path
) -> None:
    app = make_app(platform, root_of)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        await choose(pilot, app, "doc-search")
        await pilot.press("s")
        await settle_tolerant(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        assert [line.strip() for line in modal.summary_lines[1:]] == ["• doc-search"]
        assert "marked" not in modal.summary_lines[0]
        await pilot.click("#confirm")
        await settle_tolerant(pilot)
        taken = {s.slug for s in snapshots.SnapshotStore.for_context(app.ctx).list("prod")}
        assert taken == {"doc-search"}
        assert "Snapshot 1: 1/1 done" in log_text(app)


async def test_enter_in_the_snapshot_dialog_says_what_is_missing_then_takes_the_snapshot(
    platform: dict[str, Running], root_of: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PRISME_DEPLOY_REASON", raising=False)  # prod requires a reason: the box starts empty
    app = make_app(platform, root_of)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle_tolerant(pilot)
        await choose(pilot, app, "doc-search")
        await pilot.press("s")
        await settle_tolerant(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal) and modal.focused is modal.query_one("#reason")
        await pilot.press("enter")  # nothing typed yet: said, never a dead key
        await pilot.pause()
        assert app.screen is modal
        assert any("is required" in str(n.message) for n in app._notifications)
        assert not snapshots.SnapshotStore.for_context(app.ctx).list("prod")
        await pilot.press(*"CHG-7", "enter")  # the form is valid: enter takes the snapshot
        await wait_until(pilot, lambda: "Snapshot 1: 1/1 done" in log_text(app), what="the snapshot")
        assert app.screen is not modal
        taken = {s.slug for s in snapshots.SnapshotStore.for_context(app.ctx).list("prod")}
        assert taken == {"doc-search"}


async def test_marked_pull_and_diff_apply_to_every_marked_workspace(
    platform: dict[str, Running], root_of: Path
) -> None:
    app = make_app(platform, root_of, env="dev")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        await mark(pilot, app, "securechat", "hr-assistant")
        await pilot.press("d")
        await settle_tolerant(pilot)
        text = log_text(app)
        assert "securechat: dev:securechat → staging:securechat" in text
        assert "hr-assistant: dev:hr-assistant → staging:hr-assistant" in text
        await pilot.press("l")
        await settle_tolerant(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal) and modal.confirm_text is None  # dev is not protected
        assert [line.strip() for line in modal.summary_lines[1:3]] == ["• securechat", "• hr-assistant"]
        await pilot.click("#confirm")
        await settle_tolerant(pilot)
        text = log_text(app)
        assert "Pull latest into 2 marked" in text and "2/2 done" in text, text
        # Marks belong to one environment.
        app.query_one("#environments").focus()
        before = app.main.env_name
        await pilot.press("down")
        await wait_until(pilot, lambda: app.main.env_name != before, what="another environment")
        assert not app.main.marks


async def test_e_in_the_diff_screen_runs_the_configured_diff_tool(
    platform: dict[str, Running], root_of: Path, tmp_path: Path
) -> None:
    from tui.app.screens.diff import DiffScreen

    record = tmp_path / "patch.txt"
    tool = tmp_path / "delta.sh"
    tool.write_text(f"#!/bin/sh\ncat > '{record}'\n", encoding="utf-8")
    tool.chmod(0o755)
    app = make_app(platform, root_of, env="prod", extra=f'[diff]\ntool = "{tool}"\n')
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        await choose(pilot, app, "hr-assistant")
        await pilot.press("d")
        await settle_tolerant(pilot)
        assert isinstance(app.screen, DiffScreen) and app.screen.diff is not None
        await pilot.press("e")
        await pilot.pause()
        assert record.read_text(encoding="utf-8") == app.screen.diff.patch()
        assert record.read_text(encoding="utf-8").startswith("---")


async def test_e_without_a_diff_tool_says_how_to_set_one(platform: dict[str, Running], root_of: Path) -> None:
    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        await choose(pilot, app, "hr-assistant")
        await pilot.press("d")
        await settle_tolerant(pilot)
        await pilot.press("e")
        await pilot.pause()
        assert any("[diff] tool" in str(n.message) for n in app._notifications)


async def test_a_table_cut_to_80_columns_ends_each_cut_value_with_an_ellipsis_and_shows_it_inert(
    platform: dict[str, Running], root_of: Path
) -> None:
    from textual.widgets import DataTable

    app = make_app(platform, root_of)
    long = "[bold]" + "a-very-long-workspace-name-" * 4  # server text: markup shown as typed, never applied
    with app.ctx.audit.record("push", "prod", targets=[long], version="v1.0.0"):
        pass
    async with app.run_test(size=(80, 24)) as pilot:
        await settle_tolerant(pilot)
        await pilot.press("ctrl+j")  # the ledger, or this machine's journal where prod has none
        await wait_until(pilot, lambda: isinstance(app.screen, TableScreen), what="the audit view")
        await settle_tolerant(pilot)
        table = app.screen.query_one(DataTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width  # no column past the edge
        cells = [str(cell) for cell in table.get_row_at(0)]
        shown = next(cell for cell in cells if cell.startswith("[bold]a-very"))
        assert shown.endswith("…") and long.startswith(shown[:-1]), cells
        assert cells[0] == app.screen.rows[0][0]  # the first column (the time) whole
