"""The app's house (issue 15): one runner for every operation, errors of any kind shown, results for a
screen that is gone dropped, the palette running the main screen's actions, and the enablement rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import settle_tolerant
from test_app import log_text, make_app
from textual.command import CommandList
from textual.widgets import Input
from waits import wait_until

from tui.app.app import PrismeDeployApp
from tui.app.messages import VersionsLoaded, WorkspacesLoaded
from tui.app.screens.modals import ActionModal
from tui.core import config as cfg
from tui.core.api.models import Workspace
from tui.core.ops import enablement
from tui.core.ops.context import Context
from tui.sandbox.runner import Running


@pytest.fixture
def root_of(platform: dict[str, Running]) -> Path:
    return Path(platform["dev"].sandbox.data_dir).parent


async def choose(pilot: Any, app: PrismeDeployApp, slug: str) -> None:
    table = app.query_one("#workspaces")
    table.focus()
    await pilot.press("home")
    for _ in range(table.get_row_index(slug)):  # type: ignore[attr-defined]
        await pilot.press("down")
    await settle_tolerant(pilot)


@pytest.mark.e2e
async def test_a_bug_in_an_operation_is_a_fail_line_and_the_environment_is_free_again(
    platform: dict[str, Running], root_of: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a PrismeError: before the runner, "dev: push…" stayed on screen and the error went nowhere."""
    from tui.core.ops import actions

    async def broken_push(ctx: Context, env: str, slug: str, **_: Any) -> None:
        with ctx.operation(env, f"push {slug}"):
            raise RuntimeError("a bug, not the platform")

    monkeypatch.setattr(actions, "push", broken_push)
    app = make_app(platform, root_of, env="dev")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        await choose(pilot, app, "securechat")
        await pilot.press("p")
        await settle_tolerant(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        await pilot.press(*"v9.9.9", "tab")
        modal.query_one("#description", Input).focus()
        await pilot.press(*"broken")
        await pilot.click("#confirm")
        await settle_tolerant(pilot)
        text = log_text(app)
        assert "dev: push securechat as v9.9.9…" in text
        assert "FAIL Push securechat: RuntimeError: a bug, not the platform" in text
        assert not app.ctx.running  # the lock is free: the next operation may start
        # not running any more; the status line keeps what ran, marked failed (issue 26)
        assert "· failed" in str(app.main.log_pane.query_one("#op-line").render())


@pytest.mark.e2e
async def test_a_bug_in_a_background_job_reaches_the_log_through_the_fallback(
    platform: dict[str, Running], root_of: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.core.ops import compare

    async def broken_compare(*_: Any, **__: Any) -> None:
        raise RuntimeError("diff exploded")

    monkeypatch.setattr(compare, "compare", broken_compare)
    app = make_app(platform, root_of, env="dev")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        await choose(pilot, app, "securechat")
        await pilot.press("d")
        await settle_tolerant(pilot)
        assert "FAIL diff: RuntimeError: diff exploded" in log_text(app)
        assert any("diff exploded" in str(n.message) for n in app._notifications)


async def test_a_loader_result_for_a_screen_that_is_gone_is_dropped() -> None:
    app = PrismeDeployApp(Context.create(cfg.Config(), use_keyring=False))
    async with app.run_test(size=(80, 24)):
        screen = app.main
    workspace = Workspace.from_json({"id": "i1", "slug": "late", "name": "Late"})
    late = WorkspacesLoaded("dev", [workspace])
    screen.post_message(late)  # the screen's queue is closed: dropped, not a crash
    screen.on_workspaces_loaded(late)  # the handler itself, with the panes gone
    screen.on_versions_loaded(VersionsLoaded("dev", workspace, []))
    assert screen.workspaces == []


async def test_the_palette_runs_a_main_screen_action() -> None:
    app = PrismeDeployApp(Context.create(cfg.Config(), use_keyring=False))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Filter the workspaces")
        await settle_tolerant(pilot)
        await wait_until(pilot, lambda: pilot.app.screen.query_one(CommandList).option_count, what="the palette's hits")
        await pilot.press("enter")
        box = app.main.query_one("#filter", Input)
        await wait_until(pilot, lambda: app.focused is box, what="the filter box focused")
        assert box.display


@pytest.mark.e2e
async def test_the_palette_offers_and_runs_a_mutating_action(platform: dict[str, Running], root_of: Path) -> None:
    """The palette is a modal screen: it used to hide every mutating action, as the key bar under a dialog does."""
    app = make_app(platform, root_of, env="dev")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        await choose(pilot, app, "securechat")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Push the selected workspace")
        await settle_tolerant(pilot)
        await wait_until(pilot, lambda: pilot.app.screen.query_one(CommandList).option_count, what="the palette's hits")
        await pilot.press("enter")
        await settle_tolerant(pilot)
        assert isinstance(app.screen, ActionModal)
        assert "Push securechat on dev." in app.screen.summary_lines


def situation(**changes: Any) -> enablement.Situation:
    base = {"env": "dev", "writable": True, "workspace": True, "marked": False, "version": True, "undo": True}
    return enablement.Situation(**{**base, **changes})


@pytest.mark.parametrize("action", ["push", "pull", "rollback", "unlock", "undo", "bulk_push", "promote"])
def test_a_read_only_environment_or_an_open_dialog_hides_every_mutating_action(action: str) -> None:
    assert enablement.enabled(action, True, situation()) is True
    assert enablement.enabled(action, True, situation(writable=False)) is False
    assert enablement.enabled(action, True, situation(env=None)) is False
    assert enablement.enabled(action, True, situation(dialog=True)) is False
    assert enablement.enabled(action, False, situation(writable=False, dialog=True)) is True  # diff, filter…


def test_what_needs_a_selection_is_dimmed_without_one() -> None:
    assert enablement.enabled("rollback", True, situation(version=False)) is None
    assert enablement.enabled("undo", True, situation(undo=False)) is None
    for action in ("push", "pull", "unlock"):
        assert enablement.enabled(action, True, situation(workspace=False)) is None
        assert enablement.enabled(action, True, situation(workspace=False, marked=True)) is True
    assert enablement.enabled("bulk_push", True, situation(workspace=False, version=False)) is True
