"""Every action is defined once (tui/app/actions.py) and reachable four ways: its key on its screen, the
command palette (when it can run), help, and a CLI subcommand (or a stated reason for none). Then the
palette and help as a user meets them: keys pressed, what is drawn read back."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import platform_config, settle_tolerant
from textual.binding import Binding
from textual.command import CommandList, CommandPalette
from textual.containers import VerticalScroll
from textual.widgets import Input
from waits import wait_until

from tui.app import actions
from tui.app.actions import Action
from tui.app.app import PrismeDeployApp
from tui.app.main_screen import APP_ACTIONS, MainScreen
from tui.app.palette import scope_of
from tui.app.screens.activity import TableScreen, TextScreen
from tui.app.screens.diff import DiffScreen
from tui.app.screens.help import HelpScreen, KeyGrid, Row, details, grid_lines
from tui.app.screens.matrix import MatrixScreen
from tui.app.screens.modals import ActionModal, LoginModal, YesNoModal
from tui.app.screens.parity import ParityScreen
from tui.app.screens.releases import ReleasesScreen
from tui.app.widgets.key_bar import KeyBar
from tui.cli.main import build_parser
from tui.core import config as cfg
from tui.core.ops.context import Context
from tui.sandbox.runner import Running

SCREENS: dict[str, list[type]] = {
    "main": [MainScreen],
    "diff": [DiffScreen],
    "matrix": [MatrixScreen],
    "parity": [ParityScreen],
    "activity": [TableScreen],
    "releases": [ReleasesScreen],
    "text": [TextScreen],
    "dialog": [ActionModal, LoginModal],
    "confirm": [YesNoModal],
    "help": [HelpScreen],
}


def holder(cls: type, action: Action) -> type:
    """Where a screen's keys are bound: help and quit of the main screen live on the App (every screen keeps
    them), the rest on the screen."""
    return PrismeDeployApp if cls is MainScreen and action.action in APP_ACTIONS else cls


def test_every_scope_has_its_screens() -> None:
    assert set(SCREENS) == set(actions.SCOPES)
    for scope, classes in SCREENS.items():
        for cls in classes:
            assert scope == cls.SCOPE  # type: ignore[attr-defined]


@pytest.mark.parametrize("action", actions.ACTIONS, ids=lambda a: a.id)
def test_every_action_is_bound_to_its_key_on_its_screen(action: Action) -> None:
    for screen in SCREENS[action.scope]:
        cls = holder(screen, action)
        bound = [b for b in cls.BINDINGS if isinstance(b, Binding) and b.id == action.id]  # type: ignore[attr-defined]
        assert [(b.key, b.action) for b in bound] == [(action.keys, action.action)], cls
        assert hasattr(cls, f"action_{action.name}"), f"{cls.__name__} cannot run {action.action}"


@pytest.mark.parametrize("scope", actions.SCOPES)
def test_no_two_actions_of_a_screen_share_a_key_and_ids_are_unique(scope: str) -> None:
    keys = Counter(k for a in actions.for_scope(scope) for k in a.keys.split(","))
    assert [k for k, n in keys.items() if n > 1] == []
    assert len({a.id for a in actions.ACTIONS}) == len(actions.ACTIONS)


def cli_paths(parser: argparse.ArgumentParser, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for act in parser._actions:  # argparse keeps its subcommands here and nowhere public
        if isinstance(act, argparse._SubParsersAction):
            for name, sub in act.choices.items():
                path = f"{prefix}{name}"
                paths |= {path} | cli_paths(sub, path + " ")
    return paths


@pytest.mark.parametrize("action", actions.ACTIONS, ids=lambda a: a.id)
def test_every_action_has_a_cli_subcommand_or_says_why_not(action: Action) -> None:
    if action.cli is None:
        assert action.no_cli.strip(), f"{action.id}: no CLI subcommand and no reason"
    else:
        assert action.cli in cli_paths(build_parser()), f"{action.id}: `prisme-deploy {action.cli}` does not exist"


@pytest.mark.parametrize("scope", actions.SCOPES)
def test_help_lists_every_action_of_its_screen(scope: str) -> None:
    rows = [Row(a, actions.display_keys(a.keys), True) for a in actions.for_scope(scope)]
    grid = "\n".join(line.plain for line in grid_lines(rows, 116))
    text = details(scope, rows, []).plain
    for action in actions.for_scope(scope):
        assert action.description in grid and action.help in text
        assert (f"{action.description} !" in grid) is action.dangerous  # a text marker, not only colour


def test_the_main_keys_fit_80x24_in_columns() -> None:
    rows = [Row(a, actions.display_keys(a.keys), True) for a in actions.for_scope("main")]
    lines = grid_lines(rows, 76)  # 80 columns less help's border and padding
    assert len(lines) <= 21 and max(line.cell_length for line in lines) <= 76  # 24 rows less border and title
    assert lines[0].plain.split() == ["Operations", "Views", "Navigation"]


def test_dangerous_and_mutating_sets() -> None:
    main = {"push", "pull", "rollback", "promote", "bulk_push", "bulk_import", "undo", "unlock"}
    assert main | {"rollout"} == actions.MUTATING  # rollout: enter in the Releases view
    assert {"rollback", "pull", "promote", "bulk_import", "undo", "remove_env", "unlock"} <= actions.DANGEROUS
    assert all(a.mutating for a in actions.ACTIONS if a.dangerous and a.name != "remove_env")


# ------------------------------------------------------------------------------------------- in the app


def make_app(
    instances: dict[str, Running], *, env: str = "prod", read_only: bool = False, extra: str = ""
) -> PrismeDeployApp:
    import os

    root = Path(instances["dev"].sandbox.data_dir).parent  # the release repository's folder
    text = platform_config(instances, root).replace('tier = "staging"', 'tier = "staging"\nread_only = true') + extra
    for name, running in instances.items():
        os.environ[f"PRISME_DEPLOY_TOKEN_{name.upper()}"] = running.token
    ctx = Context.create(cfg.parse(text), read_only=read_only, use_keyring=False)
    return PrismeDeployApp(ctx, initial_env=env)


async def select_version(pilot: Any, app: PrismeDeployApp) -> None:
    """securechat, then its oldest version, by keys."""
    await settle_tolerant(pilot)
    await pilot.press("slash", *"securechat", "enter")
    await settle_tolerant(pilot)
    await pilot.press("4", "down", "down")
    await pilot.pause()


async def palette_offers(pilot: Any, query: str) -> list[str]:
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(pilot.app.screen, CommandPalette)
    await pilot.press(*query)
    await settle_tolerant(pilot)  # the palette gathers hits in a worker
    await wait_until(pilot, lambda: pilot.app.screen.query_one(CommandList).option_count, what="the palette's hits")
    found = pilot.app.screen.query_one(CommandList)
    return [str(found.get_option_at_index(i).prompt) for i in range(found.option_count)]


@pytest.mark.e2e
async def test_palette_offers_rollback_from_the_main_screen_and_runs_it(platform: dict[str, Running]) -> None:
    app = make_app(platform)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_version(pilot, app)
        assert app.main.selected_version == "v1.0.0"
        offered = await palette_offers(pilot, "roll")
        assert any(o.startswith("Rollback: Roll back") for o in offered), offered
        await pilot.press("enter")
        await settle_tolerant(pilot)
        assert isinstance(app.screen, ActionModal)
        assert "Roll back securechat" in str(app.screen.query_one("#dialog-title").render())


@pytest.mark.e2e
async def test_palette_never_offers_what_cannot_run(platform: dict[str, Running]) -> None:
    app = make_app(platform, env="staging")  # read_only = true in the configuration
    async with app.run_test(size=(120, 40)) as pilot:
        await select_version(pilot, app)
        assert app.main.selected_version  # rollback would run here but for read_only
        assert not [o for o in await palette_offers(pilot, "roll") if o.startswith("Rollback")]
        await pilot.press("escape")
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        grid = str(app.screen.query_one(KeyGrid).render())
        assert "Diff" in grid and "Rollback" not in grid and "Push" not in grid
        assert "Hidden here" in str(app.screen.query_one("#help-details").render())


@pytest.mark.e2e
async def test_read_only_offers_no_mutating_action_anywhere(platform: dict[str, Running]) -> None:
    app = make_app(platform, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_version(pilot, app)
        hints = str(app.main.query_one(KeyBar).render())
        mutating = [a for a in actions.for_scope("main") if a.mutating]
        for action in mutating:
            assert f" {action.description} " not in hints
            assert not [o for o in await palette_offers(pilot, action.description) if o.startswith(action.description)]
            await pilot.press("escape")
        assert [a.id for a in actions.for_scope("main") if app.main.check_action(a.name, a.params) is False] == [
            a.id for a in mutating
        ]


@pytest.mark.e2e
async def test_help_scrolls_and_searches_with_the_keyboard(platform: dict[str, Running]) -> None:
    app = make_app(platform)
    async with app.run_test(size=(80, 24)) as pilot:
        await select_version(pilot, app)
        await pilot.press("f1")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        body = help_screen.query_one("#help-body", VerticalScroll)
        grid = help_screen.query_one(KeyGrid)
        assert grid.region.height <= body.region.height  # every main key on the first page at 80x24
        assert body.max_scroll_y > 0  # the details below scroll
        await pilot.press("j", "j")
        assert body.scroll_y == 2
        await pilot.press("k")
        assert body.scroll_y == 1
        await pilot.press("G")
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("g")
        assert body.scroll_y == 0
        await pilot.press("pagedown")
        assert body.scroll_y > 2
        await pilot.press("pageup")
        assert body.scroll_y == 0
        await pilot.press("slash", "r", "o", "l", "l")
        await pilot.pause()
        assert help_screen.query_one("#help-search", Input).value == "roll"
        shown = str(grid.render())
        assert "Rollback" in shown and "Push" not in shown
        await pilot.press("escape")  # clears the search
        await pilot.pause()
        assert "Push" in str(grid.render()) and app.screen is help_screen
        await pilot.press("escape")  # then closes
        assert not isinstance(app.screen, HelpScreen)


@pytest.mark.e2e
async def test_help_inside_the_diff_shows_the_diff_keys(platform: dict[str, Running]) -> None:
    app = make_app(platform)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_version(pilot, app)
        await pilot.press("d")
        await settle_tolerant(pilot)
        assert isinstance(app.screen, DiffScreen)
        assert "? Help" in str(app.screen.query_one(KeyBar).render())
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and app.screen.scope == "diff"
        grid = str(app.screen.query_one(KeyGrid).render())
        assert "Next hunk" in grid and "Copy patch" in grid and "Bulk push" not in grid
        await pilot.press("q")
        assert isinstance(app.screen, DiffScreen)
        offered = await palette_offers(pilot, "hunk")
        assert any(o.startswith("Next hunk") for o in offered) and not any("Rollback" in o for o in offered)


def test_help_rows_search_matches_keys_descriptions_and_cli() -> None:
    row = Row(actions.by_id("rollback"), "r", True)
    assert row.matches("ROLL") and row.matches("rollback") and not row.matches("bulk")


def test_the_palette_lists_what_the_screen_it_was_opened_from_can_run() -> None:
    from tui.app.palette import runnable

    screen = DiffScreen("a diff")
    assert runnable(screen) == list(actions.for_scope("diff"))

    class Refusing(DiffScreen):
        def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
            return {"copy_patch": None, "save_patch": False}.get(action, True)

    names = [a.name for a in runnable(Refusing("a diff"))]
    assert "copy_patch" not in names and "save_patch" not in names and "toggle_split" in names


@pytest.mark.e2e
async def test_help_and_palette_show_the_keys_the_keymap_bound(platform: dict[str, Running]) -> None:
    app = make_app(platform, extra='\n[keymap]\nrollback = "ctrl+b"\n')
    async with app.run_test(size=(120, 40)) as pilot:
        await select_version(pilot, app)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "ctrl+b Rollback !" in str(app.screen.query_one(KeyGrid).render())
        await pilot.press("escape")
        await pilot.press("ctrl+p", *"roll back")
        await settle_tolerant(pilot)
        await wait_until(pilot, lambda: pilot.app.screen.query_one(CommandList).option_count, what="the palette's hits")
        found = app.screen.query_one(CommandList)
        helps = [str(found.get_option_at_index(i).prompt) for i in range(found.option_count)]
        assert any("key ctrl+b" in h for h in helps), helps


@pytest.mark.e2e
async def test_the_drift_matrix_under_read_only_neither_binds_nor_offers_promote(platform: dict[str, Running]) -> None:
    app = make_app(platform, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        await pilot.press("m")
        await settle_tolerant(pilot)
        assert isinstance(app.screen, MatrixScreen)
        hints = str(app.screen.query_one(KeyBar).render())
        assert "Secrets/config parity" in hints and "Promote" not in hints
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and app.screen.scope == "matrix"
        grid = str(app.screen.query_one(KeyGrid).render())
        assert "Secrets/config parity" in grid and "Promote" not in grid
        await pilot.press("escape")
        offered = await palette_offers(pilot, "promote")
        assert not [o for o in offered if o.startswith("Promote")], offered


# ------------------------------------------------------------------------------- ? and F1 on every screen


async def open_screen(pilot: Any, app: PrismeDeployApp, scope: str) -> None:
    """The screen of ``scope``, reached by its keys as a user reaches it."""
    keys = {
        "matrix": ["m"],
        "parity": ["m", "s"],
        "activity": ["ctrl+j"],  # the local audit journal
        "releases": ["R"],
        "text": ["5", "enter"],  # the log pane, its lines read in full
        "dialog": ["p"],  # push: focus in the version name box
        "confirm": ["q"],  # quit while an operation runs asks first
        "help": ["f1"],
    }
    if scope in ("diff", "dialog"):
        await select_version(pilot, app)
    if scope == "diff":
        keys["diff"] = ["d"]
    if scope == "confirm":
        app.ctx.running["prod"] = "a push"  # what quitting would leave behind
    for key in keys.get(scope, []):
        await pilot.press(key)
        await settle_tolerant(pilot)


def help_shows(app: PrismeDeployApp, scope: str) -> bool:
    """Help is on top and lists ``scope``'s keys: every one of them, shown or said hidden."""
    screen = app.screen
    if not isinstance(screen, HelpScreen) or screen.scope != scope:
        return False
    listed = {r.action.id for r in screen.rows} | {a.id for a in screen.hidden}
    return listed == {a.id for a in actions.for_scope(scope)}


@pytest.mark.e2e
@pytest.mark.parametrize("scope", [s for s in actions.SCOPES if s != "help"])
async def test_question_mark_and_f1_open_the_help_of_every_screen(platform: dict[str, Running], scope: str) -> None:
    app = make_app(platform)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        await open_screen(pilot, app, scope)
        screen = app.screen
        assert scope_of(screen) == scope, screen
        if isinstance(screen.focused, Input):  # a text box: ? is typed into it, F1 is help's key there
            await pilot.press("question_mark")
            assert app.screen is screen and "?" in screen.focused.value
            await pilot.press("f1")
            await pilot.pause()
            assert help_shows(app, scope), app.screen
            await pilot.press("escape")
            assert app.screen is screen
            for _ in range(8):  # out of the boxes, by keys: ? is then help's key
                await pilot.press("tab")
                if not isinstance(screen.focused, Input):
                    break
        for key in ("question_mark", "f1"):
            await pilot.press(key)
            await pilot.pause()
            assert help_shows(app, scope), (key, app.screen)
            await pilot.press(key)  # ? and F1 close help too
            await pilot.pause()
            assert app.screen is screen, key
