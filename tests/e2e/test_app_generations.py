"""The app on the published 2024 server's generation with its events service down (issue 23), keys pressed:
the environment is UP (no readiness endpoint), a push goes to the workspace's own repository (offered in the
push dialog as the workspace's own), and a rollback to it is verified from the workspace's content."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
from test_app import log_text, settle
from test_generations import same
from textual.widgets import Input, Select

from tui.app.app import PrismeDeployApp
from tui.app.screens.modals import ActionModal
from tui.core import config as cfg
from tui.core.api.client import PrismeClient
from tui.core.diff import Files, files_from_zip
from tui.core.ops.context import Context
from tui.sandbox.runner import Running
from tui.sandbox.seed import attach_own_repository, own_repository

pytestmark = pytest.mark.e2e
WS = "meeting-notes"


def workspace_id(running: Running, slug: str) -> str:
    return str(running.sandbox.engine.list_workspaces({"slug": slug})[0]["id"])


async def content(running: Running, slug: str) -> Files:
    async with PrismeClient(running.url, running.token) as api:
        return files_from_zip(await api.export(workspace_id(running, slug)))


async def test_push_to_the_own_repository_and_roll_back_on_a_2024_instance_with_events_down(
    sandbox: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.sandbox.realism.update(
        {"api_level": "2024", "events_down": True, "rate_limits": {}, "event_lag": 0.0, "gateway_timeout": None}
    )
    url = own_repository(tmp_path / "own.git")
    attach_own_repository(sandbox.sandbox.engine, workspace_id(sandbox, WS), url)
    config = cfg.parse(f'[environments.dev]\nurl = "{sandbox.url}"\n[repositories.own]\npath = "{url}"\n')
    monkeypatch.setitem(os.environ, "PRISME_DEPLOY_TOKEN_DEV", sandbox.token)
    app = PrismeDeployApp(
        Context.create(config, use_keyring=False), initial_env="dev", clock=lambda: datetime(2026, 3, 2, 9, 30)
    )
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert app.main.health["dev"].label == "UP (no readiness endpoint)"
        table = app.query_one("#workspaces")
        table.focus()
        table.move_cursor(row=table.get_row_index(WS))  # type: ignore[attr-defined]
        await settle(pilot)

        groups = app.query_one("#groups")
        assert any(f"{WS}'s own" in str(groups.get_option_at_index(i).prompt) for i in range(groups.option_count))

        await pilot.press("p")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        choice = modal.query_one("#repository", Select)
        assert choice.value == "own"  # the workspace's own repository, first in the list
        modal.query_one("#name", Input).value = "g1"
        modal.query_one("#description", Input).value = "first"
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        assert f"Pushed {WS} as g1 to git repository 'own'" in log_text(app)
        at_g1 = await content(sandbox, WS)
        sandbox.sandbox.engine.edit_file(workspace_id(sandbox, WS), "automations/added.yml", "slug: added\n")

        await pilot.press("ctrl+r")  # refresh: the new version in the history
        await settle(pilot)
        table.focus()
        table.move_cursor(row=table.get_row_index(WS))  # type: ignore[attr-defined]
        await settle(pilot)
        versions = app.query_one("#versions")
        versions.focus()
        versions.move_cursor(row=versions.get_row_index("g1"))  # type: ignore[attr-defined]
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        assert any("UNKNOWN" in w for w in modal.warnings), modal.warnings  # no status endpoint: edits unknown
        await pilot.click("#confirm")
        await settle(pilot)
        text = log_text(app)
        assert f"Rolled back {WS} to g1: content verified" in text, text
        assert "events could not be read" in text
    assert same(await content(sandbox, WS), at_g1)
