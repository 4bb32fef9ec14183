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
from textual.widgets import Button, Checkbox, DataTable, Input, Label

from tui.app.app import PrismeDeployApp
from tui.app.screens.matrix import MatrixScreen
from tui.app.screens.modals import ActionModal
from tui.app.screens.parity import ParityScreen
from tui.core import config as cfg
from tui.core.api.client import PrismeClient
from tui.core.ops.context import Context
from tui.core.ops.requests import RollbackRequest
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
        app.operations.run_pull(RollbackRequest(env="prod", slug="doc-search", version="v1.0.0", repository="release"))
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
        await pilot.press("slash", *"hr-assistant", "enter", "o")  # promote from the previous environment
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        missing = [w for w in modal.warnings if w.startswith("MISSING on prod: secret OPENAI_KEY")]
        assert missing and "refused until it is set there" in missing[0]
        modal.query_one("#confirm-input", Input).value = "hr-assistant"
        modal.query_one("#accept_drift", Checkbox).value = True
        modal.query_one("#reason", Input).focus()
        await pilot.press(*"CHG-17")
        await pilot.pause()
        assert not modal.query_one("#confirm", Button).disabled
        await pilot.click("#confirm")
        await settle(pilot)
        assert "lacks 1 required name(s) that staging:hr-assistant declares: secret OPENAI_KEY" in log_text(app)
    assert app.ctx.audit.read(action="promote") == []


async def open_rollback(pilot: object, app: PrismeDeployApp, slug: str = "securechat") -> ActionModal:
    """Filter to the workspace, select its oldest version in the history (4), press r."""
    await pilot.press("slash", *slug, "enter")  # type: ignore[attr-defined]
    await settle(pilot)
    await pilot.press("4", "end")  # type: ignore[attr-defined]
    await settle(pilot)
    await pilot.press("r")  # type: ignore[attr-defined]
    await settle(pilot)
    modal = app.screen
    assert isinstance(modal, ActionModal)
    return modal


async def test_a_prod_rollback_cannot_be_confirmed_without_a_reason_and_records_it(
    platform: dict[str, Running], root_of: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PRISME_DEPLOY_REASON", raising=False)
    app = make_app(platform, root_of)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        modal = await open_rollback(pilot, app)
        target = app.main.selected_version
        # The required reason, empty, sits above the name box: the focus starts there (QA: "INC-42" typed
        # right after r landed in the name box).
        assert modal.focused is modal.query_one("#reason", Input)
        modal.query_one("#confirm-input", Input).focus()
        await pilot.press(*"securechat")
        await pilot.pause()
        confirm = modal.query_one("#confirm", Button)
        assert confirm.disabled  # the slug is right, the reason is missing
        labels = " ".join(str(label.render()) for label in modal.query("#dialog-rails .field-label"))
        assert "required on prod: Confirm waits for it" in labels
        await pilot.press("enter")  # enter in the confirmation confirms nothing yet: the focus goes to the reason
        await pilot.pause()
        assert app.screen is modal and modal.focused is modal.query_one("#reason", Input)
        await pilot.press(*"INC-4711 bad release")
        await pilot.pause()
        assert not confirm.disabled
        await pilot.click("#confirm")
        await settle(pilot)
        assert f"OK   Rollback securechat: Rolled back securechat to {target}" in log_text(app)
    entry = app.ctx.audit.read(action="rollback")[0]
    assert entry["outcome"] == "ok" and entry["reason"] == "INC-4711 bad release" and "breakGlass" not in entry


async def test_the_reason_is_prefilled_from_the_environment_variable(
    platform: dict[str, Running], root_of: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRISME_DEPLOY_REASON", "CHG-99")
    app = make_app(platform, root_of)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        modal = await open_rollback(pilot, app)
        assert modal.query_one("#reason", Input).value == "CHG-99"
        await pilot.press(*"securechat")
        await pilot.pause()
        assert not modal.query_one("#confirm", Button).disabled


async def test_a_mutation_in_a_freeze_window_is_refused_before_the_dialog_and_goes_through_with_break_glass(
    platform: dict[str, Running], root_of: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PRISME_DEPLOY_REASON", raising=False)
    app = make_app(platform, root_of, 'freeze = ["2020-01-01/2099-12-31 Europe/Paris"]')
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        modal = await open_rollback(pilot, app)
        target = app.main.selected_version
        # Said as the key is pressed, with the window's end: not after typing and confirming.
        assert "FROZEN prod is frozen until 2100-01-01T00:00+01:00" in log_text(app)
        assert any(w.startswith("FROZEN until 2100-01-01T00:00+01:00") for w in modal.warnings)
        assert modal.focused is modal.query_one("#break_glass", Input)  # required and empty: typed first
        modal.query_one("#confirm-input", Input).focus()
        await pilot.press(*"securechat")
        await pilot.pause()
        confirm = modal.query_one("#confirm", Button)
        assert confirm.disabled  # no glass broken
        modal.query_one("#break_glass", Input).focus()
        await pilot.press(*"SEV1 outage")
        await pilot.pause()
        assert not confirm.disabled
        await pilot.click("#confirm")
        await settle(pilot)
        text = log_text(app)
        assert "BREAK-GLASS prod: rollback in a freeze window; reason: SEV1 outage" in text
        assert f"OK   Rollback securechat: Rolled back securechat to {target}" in text
    entry = app.ctx.audit.read(action="rollback")[0]
    assert entry["outcome"] == "ok" and entry["breakGlass"] == "SEV1 outage"


async def test_a_frozen_dialog_cancelled_changes_nothing(
    platform: dict[str, Running], root_of: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRISME_DEPLOY_REASON", "CHG-1")  # a reason is not a broken glass
    app = make_app(platform, root_of, 'freeze = ["2020-01-01/2099-12-31 Europe/Paris"]')
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        modal = await open_rollback(pilot, app)
        await pilot.press(*"securechat")
        await pilot.pause()
        assert modal.query_one("#confirm", Button).disabled
        await pilot.press("escape")
        await settle(pilot)
        assert "BREAK-GLASS" not in log_text(app)
    assert app.ctx.audit.read(action="rollback") == []


CANARY = "canary-VALUE-55e1b7-never-on-screen"


async def test_the_parity_matrix_shows_set_and_missing_names_and_never_a_value(
    platform: dict[str, Running], root_of: Path
) -> None:
    staging, prod = platform["staging"], platform["prod"]
    headers = {"Authorization": f"Bearer {staging.token}"}
    wid = httpx.get(f"{staging.url}/v2/workspaces", params={"slug": "hr-assistant"}, headers=headers).json()[0]["id"]
    export = httpx.post(f"{staging.url}/v2/workspaces/{wid}/versions/current/export", headers=headers).content
    index = dsul.load_yaml(dsul.from_zip(export)["index.yml"])
    index["secrets"] = {"schema": {"OPENAI_KEY": {"type": "string"}, "REGION": {"default": "eu"}}}
    httpx.put(f"{staging.url}/sandbox/workspaces/{wid}/files/index.yml", content=dsul.dump_yaml(index), headers=headers)
    secrets = f"{staging.url}/v2/workspaces/{wid}/security/secrets"
    assert httpx.patch(secrets, json={"OPENAI_KEY": {"value": CANARY}}, headers=headers).status_code == 200
    prod_headers = {"Authorization": f"Bearer {prod.token}"}
    prod_wid = httpx.get(f"{prod.url}/v2/workspaces", params={"slug": "hr-assistant"}, headers=prod_headers).json()
    prod_secrets = f"{prod.url}/v2/workspaces/{prod_wid[0]['id']}/security/secrets"
    assert httpx.patch(prod_secrets, json={"OTHER": {"value": CANARY}}, headers=prod_headers).status_code == 200

    app = make_app(platform, root_of)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, MatrixScreen)
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ParityScreen)
        table = screen.query_one(DataTable)
        drawn = [table.get_row_at(i) for i in range(table.row_count)]
        rows = {(str(r[0]), str(r[1])): [str(c) for c in r[2:]] for r in drawn}
        columns = [str(c.label) for c in table.columns.values()]
        assert columns[3:] == list(app.ctx.config.environments)
        cells = dict(zip(columns[2:], rows[("hr-assistant", "secret OPENAI_KEY")], strict=True))
        assert cells["req"] == "req" and cells["staging"] == "✓" and cells["prod"] == "✗"
        region = dict(zip(columns[2:], rows[("hr-assistant", "secret REGION")], strict=True))
        assert region["req"] == "" and region["staging"] == "✗"  # has a default: not required
        assert "required name(s) missing" in str(screen.query_one("#parity-legend", Label).render())
        assert CANARY not in app.export_screenshot() and CANARY not in log_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MatrixScreen)
    assert not app.ctx.audit.path.exists() or CANARY not in app.ctx.audit.path.read_text()
