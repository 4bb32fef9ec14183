"""Issue 17 in the app: a freeze window refuses a change before it starts; a promotion plan names the
secrets the target lacks, and the promotion is refused."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from conftest import platform_config
from test_app import log_text, settle
from textual.widgets import Checkbox, Input

from tui.app.app import PrismeDeployApp
from tui.app.screens.modals import ActionModal
from tui.core import config as cfg
from tui.core.api.client import PrismeClient
from tui.core.ops.context import Context
from tui.sandbox import dsul
from tui.sandbox.runner import Running

pytestmark = pytest.mark.e2e


def make_app(instances: dict[str, Running], root: Path, prod_extra: str = "") -> PrismeDeployApp:
    text = platform_config(instances, root)
    text = text.replace('tier = "production"', f'tier = "production"\nprotected = true\n{prod_extra}')
    for name, running in instances.items():
        os.environ[f"PRISME_DEPLOY_TOKEN_{name.upper()}"] = running.token
    ctx = Context.create(cfg.parse(text), use_keyring=False)
    return PrismeDeployApp(ctx, initial_env="prod", clock=lambda: datetime(2026, 3, 2, 9, 30, 0))


@pytest.fixture
def root_of(platform: dict[str, Running]) -> Path:
    return Path(platform["dev"].sandbox.data_dir).parent


async def test_a_change_in_a_freeze_window_is_refused_with_its_end(platform: dict[str, Running], root_of: Path) -> None:
    app = make_app(platform, root_of, 'freeze = ["2020-01-01/2099-12-31 Europe/Paris"]')
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.run_pull("prod", "doc-search", "v1.0.0", "release", True, "rollback")
        await settle(pilot)
        text = log_text(app)
        assert "FAIL rollback doc-search to v1.0.0: prod is frozen until" in text
        assert "prod is frozen until 2100-01-01T00:00+01:00" in text and "--break-glass" in text
        assert not app.ctx.running
    assert app.ctx.audit.read(action="rollback") == []
    async with PrismeClient(platform["prod"].url, platform["prod"].token) as api:
        assert (await api.find_workspace("doc-search")).live_version != "v1.0.0"


async def test_promotion_plan_names_the_missing_secret_and_is_refused(
    platform: dict[str, Running], root_of: Path
) -> None:
    staging = platform["staging"]
    headers = {"Authorization": f"Bearer {staging.token}"}
    wid = httpx.get(f"{staging.url}/v2/workspaces", params={"slug": "hr-assistant"}, headers=headers).json()[0]["id"]
    export = httpx.post(f"{staging.url}/v2/workspaces/{wid}/versions/current/export", headers=headers).content
    index = dsul.load_yaml(dsul.from_zip(export)["index.yml"])
    index["secrets"] = {"schema": {"OPENAI_KEY": {"type": "string"}}}
    httpx.put(f"{staging.url}/sandbox/workspaces/{wid}/files/index.yml", content=dsul.dump_yaml(index), headers=headers)

    app = make_app(platform, root_of)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.plan_promotion("staging:hr-assistant", "prod:hr-assistant")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        missing = [w for w in modal.warnings if w.startswith("MISSING on prod: secret OPENAI_KEY")]
        assert missing and "refused until it is set there" in missing[0]
        modal.query_one("#confirm-input", Input).value = "hr-assistant"
        modal.query_one("#accept_drift", Checkbox).value = True
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        assert "lacks 1 required name(s) that staging:hr-assistant declares: secret OPENAI_KEY" in log_text(app)
    assert app.ctx.audit.read(action="promote") == []
