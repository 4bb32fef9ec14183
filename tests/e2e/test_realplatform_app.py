"""The app, keys pressed (Pilot), against the published Prisme.ai 2024 services (issue 23, "Done when").

Each test has its own user, workspaces and bare repository (fixture `real`, tests/conftest.py); the server is
started once per worker by scripts/realplatform.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import settle_tolerant
from textual.widgets import Button, Checkbox, Input, Select

from tui.app.app import PrismeDeployApp
from tui.app.screens.modals import ActionModal
from tui.cli.main import main
from tui.core import config as cfg
from tui.core.ops.context import Context

pytestmark = pytest.mark.real


def make_app(real: Any, extra: str = "") -> PrismeDeployApp:
    if extra:
        real.config.write_text(real.config.read_text(encoding="utf-8") + extra, encoding="utf-8")
    ctx = Context.create(cfg.load(real.config), use_keyring=False)
    return PrismeDeployApp(ctx, initial_env="real")


def log_text(app: PrismeDeployApp) -> str:
    return "\n".join(app.log_pane.lines())


async def select_workspace(pilot: Any, app: PrismeDeployApp, slug: str) -> None:
    await pilot.press("slash", *slug, "enter")
    await settle_tolerant(pilot)
    assert app.main.selected_slug == slug


async def confirm(pilot: Any, app: PrismeDeployApp, typed: str) -> None:
    """Confirm the open dialog, typing the name first where it asks for it."""
    modal = app.screen
    assert isinstance(modal, ActionModal)
    if modal.query("#confirm-input"):
        modal.query_one("#confirm-input", Input).value = typed
    await pilot.pause()
    button = modal.query_one("#confirm", Button)
    assert not button.disabled, "\n".join([*modal.details, *modal.warnings])
    await pilot.click("#confirm")
    await settle_tolerant(pilot)


async def push_from_dialog(pilot: Any, app: PrismeDeployApp, slug: str, name: str, repository: str) -> None:
    await pilot.press("p")
    await settle_tolerant(pilot)
    modal = app.screen
    assert isinstance(modal, ActionModal)
    await pilot.press(*name)  # the dialog opens on its first field, the version name
    modal.query_one("#description", Input).value = "pushed from the app"
    modal.query_one("#repository", Select).value = repository
    await confirm(pilot, app, slug)


async def roll_back(pilot: Any, app: PrismeDeployApp, slug: str, version: str) -> None:
    versions = app.query_one("#versions")
    versions.focus()
    versions.move_cursor(row=versions.get_row_index(version))  # type: ignore[attr-defined]
    await settle_tolerant(pilot)
    assert app.main.selected_version == version
    await pilot.press("r")
    await settle_tolerant(pilot)
    await confirm(pilot, app, slug)


async def test_app_health_push_git_rollback_and_undo(real: Any) -> None:
    slug = real.create_workspace("appgit")
    app = make_app(real)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        assert app.main.health["real"].label == "UP (no readiness endpoint)"  # what the banner and pane 1 show
        await select_workspace(pilot, app, slug)
        await push_from_dialog(pilot, app, slug, "g1", "own")
        assert f"OK   Push {slug}" in log_text(app), log_text(app)
        await pilot.press("ctrl+r")
        await settle_tolerant(pilot)
        assert "g1" in [v.name for v in app.main.versions]
        real.set_content(slug, "edited after g1")
        await roll_back(pilot, app, slug, "g1")
        assert f"OK   Rollback {slug}" in log_text(app), log_text(app)
        assert real.content(slug) == "one"
        await pilot.press("U")
        await settle_tolerant(pilot)
        await confirm(pilot, app, slug)
        assert f"Restored {slug}" in log_text(app), log_text(app)
        assert real.content(slug) == "edited after g1"


async def test_app_push_native_then_rollback_to_it(real: Any) -> None:
    slug = real.create_workspace("appnat")
    app = make_app(real)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        await select_workspace(pilot, app, slug)
        await push_from_dialog(pilot, app, slug, "n1", "")  # "": a native snapshot
        assert f"OK   Push {slug}" in log_text(app), log_text(app)
        await pilot.press("ctrl+r")
        await settle_tolerant(pilot)
        assert "n1" in [v.name for v in app.main.versions]
        real.set_content(slug, "edited after n1")
        await roll_back(pilot, app, slug, "n1")
        assert f"OK   Rollback {slug}" in log_text(app), log_text(app)
        assert real.content(slug) == "one"


async def test_app_promotes_between_two_workspaces_then_diff_exits_0(real: Any) -> None:
    source = real.create_workspace("appsrc", description="the source")
    target = real.create_workspace("appdst", description="the target", repository=None)
    real.set_content(source, "promoted from the app")
    app = make_app(real, f'\n[[promotions]]\nfrom = "real:{source}"\nto = "real:{target}"\n')
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        await select_workspace(pilot, app, target)
        await pilot.press("o")  # from the configured promotion pair's source
        await settle_tolerant(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        assert any("UNKNOWN" in line for line in [*modal.warnings, *modal.details])  # no status endpoint
        assert modal.query_one("#confirm", Button).disabled  # until the unknown edits are acknowledged
        modal.query_one("#accept_drift", Checkbox).value = True
        await confirm(pilot, app, target)
        assert "FAIL" not in log_text(app), log_text(app)
        assert real.content(target) == "promoted from the app", log_text(app)
    assert await asyncio.to_thread(main, ["diff", "--from", f"real:{source}", "--to", f"real:{target}"]) == 0
