"""The app against a hostile server (points 1 and 2 of issue 14): every screen and dialog is drawn with
hostile strings in every field. Nothing reaches the terminal raw, no markup is read (a ``[@click=...]``
stays text, ``[/x]`` never raises MarkupError), and the app keeps running."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from conftest import settle_tolerant
from hostile_server import (  # noqa: F401  (fixtures)
    HOSTILE,
    RAW_CONTROLS,
    HostileServer,
    hostile_config_fixture,
    hostile_fixture,
    zip_of,
)
from textual.pilot import Pilot
from waits import wait_until

from tui.app.app import PrismeDeployApp
from tui.app.screens.activity import TableScreen
from tui.app.screens.diff import DiffScreen
from tui.app.screens.matrix import MatrixScreen
from tui.app.screens.modals import ActionModal, Field, LoginModal, YesNoModal
from tui.core import config as cfg
from tui.core.diff import diff_files
from tui.core.ops.context import Context
from tui.core.ops.matrix import Cell, Matrix

pytestmark = pytest.mark.e2e
HOSTILE_FILE = "automations/\x1b]0;title\x07[@click=app.quit]x[/x].yml"


def make_app(config_path: Path) -> PrismeDeployApp:
    ctx = Context.create(cfg.load(config_path), use_keyring=False)
    return PrismeDeployApp(ctx, initial_env="h", clock=lambda: datetime(2026, 3, 2, 9, 30, 0))


async def settle(pilot: Pilot[int]) -> None:
    await settle_tolerant(pilot)  # an exclusive worker replaced by a newer one is not a failure


def drawn(app: PrismeDeployApp) -> str:
    """What the terminal shows (the SVG export keeps every character that would be written)."""
    return app.export_screenshot()


def assert_inert(app: PrismeDeployApp, *, markup_visible: bool = True) -> str:
    screen = drawn(app)
    for char in RAW_CONTROLS:
        assert char not in screen, f"raw {char!r} was drawn on {type(app.screen).__name__}"
    assert "\\x1b]" in screen or "␛]" in screen, f"no visible escape on {type(app.screen).__name__}"
    if markup_visible:  # where the cell is wide enough to show it
        assert "[@click=app.quit]" in screen, f"markup was read on {type(app.screen).__name__}"
    assert app.is_running
    return screen


async def test_every_screen_shows_hostile_server_text_as_text(hostile: HostileServer, hostile_config: Path) -> None:
    hostile.export_archive = zip_of({f"current/{HOSTILE_FILE}": HOSTILE.encode(), "current/index.yml": b"a: 1\n"})
    hostile.export_by_version["v0"] = zip_of({"v0/index.yml": b"a: 2\n"})
    app = make_app(hostile_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.main.workspaces and app.main.versions
        assert_inert(app)  # tables, border titles, repositories pane, log

        await pilot.press("a")  # the workspace's activity: event types and payloads
        await settle(pilot)
        assert isinstance(app.screen, TableScreen)
        assert_inert(app, markup_visible=False)
        await pilot.press("escape")

        versions = app.query_one("#versions")
        versions.focus()
        versions.move_cursor(row=versions.get_row_index("v0"))  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("r")  # the rollback dialog: the version's description, the diff's file names
        await settle(pilot)
        assert isinstance(app.screen, ActionModal)
        screen = assert_inert(app)
        assert "\\x1b]52;c;" in screen
        await pilot.press("escape")
        await settle(pilot)

        versions.focus()
        await pilot.press("d")  # the diff screen: file list and file content
        await settle(pilot)
        assert isinstance(app.screen, DiffScreen)
        assert_inert(app)
        await pilot.press("escape")
        await settle(pilot)

        hostile.mode.add("error")  # every answer is a 400 whose message is hostile: a notification
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert_inert(app)


async def test_every_dialog_shows_hostile_strings_in_every_field_as_text(hostile_config: Path) -> None:
    app = make_app(hostile_config)
    env = app.ctx.env("h")
    files_old = {HOSTILE_FILE: b"a: 1\n"}
    files_new = {HOSTILE_FILE: f"a: '{HOSTILE}'\n".encode()}
    screens = [
        ActionModal(
            title=HOSTILE,
            env=env,
            summary=[HOSTILE, HOSTILE],
            fields=[
                Field("name", HOSTILE, "text", HOSTILE),
                Field("pick", HOSTILE, "select", "a", options=[(HOSTILE, "a")]),
                Field("many", HOSTILE, "multi", ["a"], options=[(HOSTILE, "a")]),
                Field("check", HOSTILE, "check", True),
                Field("version", HOSTILE, "version", "bad[name]"),
            ],
            confirm_text=HOSTILE,
            warnings=[HOSTILE],
            details=[HOSTILE],
        ),
        LoginModal(env, HOSTILE),
        YesNoModal(HOSTILE, HOSTILE),
        TableScreen(HOSTILE, ["a", "b"], [[HOSTILE, HOSTILE]], note=HOSTILE),
        DiffScreen(HOSTILE, diff_files(files_old, files_new, old_label=HOSTILE, new_label=HOSTILE)),
        MatrixScreen(HOSTILE, Matrix(["h"], [HOSTILE], {(HOSTILE, "h"): Cell(True, HOSTILE, error=HOSTILE)})),
    ]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for screen in screens:
            await app.push_screen(screen)
            await wait_until(pilot, lambda screen=screen: app.screen is screen, what=f"{type(screen).__name__} shown")
            assert_inert(app, markup_visible=not isinstance(screen, MatrixScreen | TableScreen))
            app.notify(HOSTILE, title=HOSTILE)
            await pilot.pause()  # until the app is idle: the notification drawn where the screen shows one
            assert_inert(app)
            app.pop_screen()
            await pilot.pause()
