"""Issue 16 in the app: the plan before a bulk import, and rollbacks at risk of the next restart.

Driven with Pilot (pressing keys) against real sandboxes; assertions read what the dialogs draw.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import set_faults
from test_app import log_text, make_app, settle
from test_app_truth import on_screen, open_version
from test_plan_sticky import STARTUP, admin, wait_for_runs
from test_plan_sticky import workspace as server_ws
from test_rollout import ROLLOUT
from textual.widgets import Button, Checkbox, DataTable, Input, SelectionList, Static
from waits import wait_until

from tui.app.screens.activity import TableScreen
from tui.app.screens.modals import ActionModal
from tui.app.widgets.log_pane import OpLine
from tui.core.ops import release
from tui.sandbox.faults import Faults
from tui.sandbox.runner import Running, start_in_thread

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]


@pytest.fixture
def root_of(platform: dict[str, Running]) -> Path:
    return Path(platform["dev"].sandbox.data_dir).parent


def dialog_text(app: object) -> str:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, ActionModal)
    parts = [str(screen.query_one("#dialog-details", Static).render())]
    parts += [str(label.render()) for label in screen.query("#dialog-warnings Label")]
    return "\n".join(parts)


async def test_the_bulk_import_dialog_shows_the_plan_and_lists_a_dirty_workspaces_edits_as_lost(
    platform: dict[str, Running], root_of: Path
) -> None:
    prod = platform["prod"]
    bot = server_ws(prod, "support-bot")
    edit = f"/sandbox/workspaces/{bot['id']}/files/automations/answer.yml"
    admin(prod, "PUT", edit, content=b"slug: answer\ndo: []\n")
    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("I")
        await settle(pilot)
        groups = app.screen.query_one("#groups", SelectionList)
        for group in ("base1", "base2", "extended"):
            groups.select(group)
        await pilot.pause()
        await pilot.click("#confirm")  # "Plan…": nothing runs yet
        await settle(pilot)
        plan_dialog = app.screen
        on_screen(app, "#dialog-summary", "#confirm-input", "#confirm", "#cancel")
        assert isinstance(plan_dialog, ActionModal) and plan_dialog.title_text == "Bulk import into prod: plan"
        text = dialog_text(app)
        lost = next(line for line in text.splitlines() if "EDITS THAT WILL BE LOST on prod:" in line)
        assert "support-bot (1)" in lost
        bot_line = next(line for line in text.splitlines() if " support-bot " in line)
        assert "update" in bot_line and "v1.1.0 → v1.2.0" in bot_line and "file(s)" in bot_line
        assert "edit(s) made on this instance will be lost" in text and "- automations/answer" in text
        assert text.index("group base1:") < text.index("group base2:") < text.index("group extended:")
        assert plan_dialog.query_one("#confirm", Button).disabled  # protected: the name must be typed
        plan_dialog.query_one("#confirm-input", Input).value = "prod"
        await pilot.pause()
        assert not plan_dialog.query_one("#confirm", Button).disabled
        await pilot.press("escape")  # cancelled: nothing imported
        await settle(pilot)
        assert "Bulk import" not in log_text(app)
    after = server_ws(prod, "support-bot")
    assert after["lastPull"]["version"] == "v1.1.0"


@pytest.fixture
def prod_with_startup_import(demo_template: Path, tmp_path: Path) -> object:
    """prod deployed from an image: every restart re-imports the release repository."""
    import shutil

    root = tmp_path / "platform"
    shutil.copytree(demo_template, root, symlinks=True)
    running = start_in_thread(
        root / "prod", "at:test-prod-token-0123456789", name="prod", faults=Faults(), environ=STARTUP
    )
    try:
        wait_for_runs(running, 3)
        yield {"prod": running}, root
    finally:
        running.stop()


async def test_the_rollback_dialog_says_at_risk_and_its_sticky_variant_survives_a_restart(
    prod_with_startup_import: tuple[dict[str, Running], Path],
) -> None:
    instances, root = prod_with_startup_import
    prod = instances["prod"]
    app = make_app(instances, root, env="prod")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_version(pilot, app, "knowledge-base", "v1.1.0")
        await pilot.press("r")
        await settle(pilot)
        text = dialog_text(app)
        assert "AT RISK: the next restart of prod re-imports v1.2.0 over v1.1.0" in text, text
        assert "After a restart: at risk" in text
        on_screen(app, "#dialog-summary", "#confirm-input", "#confirm", "#cancel")
        sticky = app.screen.query_one("#sticky", Checkbox)
        assert "sticks across restarts" in str(sticky.label)
        sticky.value = True
        app.screen.query_one("#confirm-input", Input).value = "knowledge-base"
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        log = log_text(app)
        assert "published v1.1.0's content of knowledge-base as v1.1.0-revert" in log, log
        assert "after a restart: sticks" in log, log
    kb = server_ws(prod, "knowledge-base")
    assert kb["lastPull"]["version"] == "v1.1.0-revert"
    admin(prod, "POST", "/sandbox/startup-import", json={})
    wait_for_runs(prod, 6)
    kb = server_ws(prod, "knowledge-base")
    assert kb["lastPull"]["version"] == "v1.1.0-revert"  # the startup import skipped it: it stuck


# ------------------------------------------------------------------------------------------- releases
@pytest.fixture
def fleet(
    platform: dict[str, Running], root_of: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Running]]:
    """dev, staging, prod and prod-us (a copy of prod) sharing the release repository, with [[rollout]] stages."""
    shutil.copytree(root_of / "prod", root_of / "prod-us", symlinks=True)
    us = start_in_thread(root_of / "prod-us", "at:test-prod-us-token-0123", name="prod-us", faults=Faults(), environ={})
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_PROD_US", us.token)
    try:
        yield {**platform, "prod-us": us}
    finally:
        us.stop()


FLEET = '\n[environments.prod-us]\nurl = "{url}"\ntier = "production"\nrepositories = ["release"]\n' + (
    ROLLOUT.replace("{", "{{").replace("}", "}}")  # FLEET.format(url=...): the smoke's expect = {} stays
)


async def test_the_releases_view_shows_where_a_release_runs_and_a_rollout_stops_at_a_failed_smoke(
    fleet: dict[str, Running], root_of: Path
) -> None:
    platform = {k: v for k, v in fleet.items() if k != "prod-us"}
    app = make_app(platform, root_of, env="dev", extra=FLEET.format(url=fleet["prod-us"].url))
    before = await release.from_env(app.ctx, "prod-us", "before", labels=["production:app:base1"])
    assert "knowledge-base" in before.workspaces
    release.save(app.ctx, before, None, local=True)
    release.save(app.ctx, release.from_repository(app.ctx, "release", "2026.12.1"), None)
    kb = server_ws(fleet["prod"], "knowledge-base")  # edited on prod since its import: drifted there
    admin(
        fleet["prod"],
        "PUT",
        f"/sandbox/workspaces/{kb['id']}/files/automations/search.yml",
        content=b"slug: search\ndo: []\n",
    )
    set_faults(fleet["prod-us"], smoke_fail=["knowledge-base"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, TableScreen)
        table = app.screen.query_one(DataTable)
        columns = [str(c.label) for c in table.columns.values()]
        rows = {
            str(table.get_row_at(i)[0]): dict(zip(columns, map(str, table.get_row_at(i)), strict=True))
            for i in range(table.row_count)
        }
        assert rows["before"]["prod-us"] == "deployed" and rows["before"]["prod"] == "drifted (1)", rows
        assert rows["2026.12.1"]["staging"] == "deployed" and rows["2026.12.1"]["prod-us"].startswith("partial "), rows
        table.move_cursor(row=list(rows).index("2026.12.1"))
        await pilot.press("enter")
        await settle(pilot)
        app.screen.query_one("#groups", SelectionList).select("base1")
        await pilot.pause()
        await pilot.click("#confirm")  # Plan…
        await settle(pilot)
        text = dialog_text(app)
        assert text.count("Plan: bulk-import release →") == 3 and "→ prod-us" in text, text
        app.screen.query_one("#confirm-input", Input).value = "2026.12.1"
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        log = log_text(app)
        assert "rollout stopped: FAILED prod-us: [smoke]" in log, log
        assert "FAIL Rollout 2026.12.1: stopped at prod-us, gate smoke" in log
        offer = app.screen
        assert isinstance(offer, ActionModal) and offer.title_text == "Roll back rollout 2026.12.1?"
        offer.query_one("#confirm-input", Input).value = "2026.12.1"
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        assert "OK   Roll back rollout 2026.12.1: rolled-back" in log_text(app), log_text(app)
    assert not await release.diff_env(app.ctx, "prod-us", before)  # prod-us runs the previous release again


def test_a_release_cell_says_deployed_drifted_partial_absent_or_empty() -> None:
    from tui.core.ops.release_matrix import state_of

    two = release.Release("r", {"a": "v1", "b": "v1"})
    assert state_of(two, []) == "deployed"
    assert state_of(two, [release.Difference("a", "v1", "v1", "drifted")]) == "drifted (1)"
    assert state_of(two, [release.Difference("a", "v1", "v2", "changed")]) == "partial 1/2"
    assert (
        state_of(two, [release.Difference("a", "v1", None, "removed"), release.Difference("b", "v1", "v0", "changed")])
        == "-"
    )
    assert state_of(release.Release("r", {}), []) == "empty"


async def test_a_plain_rollback_from_the_app_is_logged_at_risk_and_a_restart_undoes_it(
    prod_with_startup_import: tuple[dict[str, Running], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.core.ops import sticky

    instances, root = prod_with_startup_import
    prod = instances["prod"]
    computed: list[str] = []
    restart_risk = sticky.restart_risk

    async def counted(*args: Any, **kwargs: Any) -> Any:
        computed.append(str(kwargs.get("after")))
        return await restart_risk(*args, **kwargs)

    monkeypatch.setattr(sticky, "restart_risk", counted)
    app = make_app(instances, root, env="prod")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_version(pilot, app, "knowledge-base", "v1.1.0")
        await pilot.press("r")
        await settle(pilot)
        app.screen.query_one("#confirm-input", Input).value = "knowledge-base"  # the sticky box left unticked
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        log = log_text(app)
        assert "OK   Rollback knowledge-base" in log, log
        assert "AT RISK: the next restart of prod re-imports v1.2.0 over v1.1.0" in log, log
        assert computed == ["v1.1.0"]  # once, for the dialog; the log after the run says the same (issue 27)
    assert server_ws(prod, "knowledge-base")["lastPull"]["version"] == "v1.1.0"
    admin(prod, "POST", "/sandbox/startup-import", json={})
    wait_for_runs(prod, 6)
    assert server_ws(prod, "knowledge-base")["lastPull"]["version"] == "v1.2.0"  # what the dialog warned of


async def test_a_rollout_with_a_frozen_last_stage_is_refused_as_it_is_asked_for_and_goes_with_break_glass(
    fleet: dict[str, Running], root_of: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PRISME_DEPLOY_REASON", raising=False)  # the break-glass reason stands for it
    platform = {k: v for k, v in fleet.items() if k != "prod-us"}
    frozen = FLEET.replace("[environments.prod-us]\n", '[environments.prod-us]\nfreeze = ["2020-01-01/2099-12-31"]\n')
    app = make_app(platform, root_of, env="dev", extra=frozen.format(url=fleet["prod-us"].url))
    release.save(app.ctx, release.from_repository(app.ctx, "release", "2026.12.2"), None)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, TableScreen)
        await pilot.press("enter")  # the only release
        await settle(pilot)
        # Said as the rollout is asked for, with the window, before any plan or confirmation.
        assert "FROZEN prod-us is frozen until 2100-01-01T00:00+00:00" in log_text(app), log_text(app)
        app.screen.query_one("#groups", SelectionList).select("base1")
        await pilot.pause()
        await pilot.click("#confirm")  # Plan…
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        assert any(w.startswith("FROZEN prod-us until 2100-01-01") for w in modal.warnings), modal.warnings
        modal.query_one("#confirm-input", Input).value = "2026.12.2"
        await pilot.pause()
        assert modal.query_one("#confirm", Button).disabled  # no glass broken
        modal.query_one("#break_glass", Input).value = "SEV1 outage"
        await pilot.pause()
        assert not modal.query_one("#confirm", Button).disabled
        await pilot.click("#confirm")
        await settle(pilot)
        log = log_text(app)
        assert "BREAK-GLASS prod-us: rollout of 2026.12.2 in a freeze window; reason: SEV1 outage" in log, log
        assert "OK   Rollout 2026.12.2: completed" in log, log
    imports = [e for e in app.ctx.audit.read(action="bulk-import") if e["env"] == "prod-us"]
    assert imports and imports[0]["breakGlass"] == "SEV1 outage"


async def test_the_rollout_plan_at_80x24_names_every_environment_shows_the_reason_and_ends_said(
    fleet: dict[str, Running], root_of: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA at 80x24: the required reason was below the edge, the dialog named prod-us alone, enter in the
    confirmation did nothing and said nothing, and the status line kept "rollout of …" once it ended."""
    monkeypatch.delenv("PRISME_DEPLOY_REASON", raising=False)  # production requires one: the box starts empty
    platform = {k: v for k, v in fleet.items() if k != "prod-us"}
    app = make_app(platform, root_of, env="dev", extra=FLEET.format(url=fleet["prod-us"].url))
    release.save(app.ctx, release.from_repository(app.ctx, "release", "2026.12.5"), None)
    for env in ("staging", "prod", "prod-us"):  # edits the rollout would lose: one more warning per environment
        kb = server_ws(fleet[env], "knowledge-base")
        path = f"/sandbox/workspaces/{kb['id']}/files/automations/search.yml"
        admin(fleet[env], "PUT", path, content=b"slug: search\ndo: []\n")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        await pilot.press("enter")  # the only release
        await settle(pilot)
        app.screen.query_one("#groups", SelectionList).select("base1")
        app.screen.query_one("#auto_rollback", Checkbox).value = True  # one more summary line
        await pilot.pause()
        await pilot.click("#confirm")  # Plan…
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal) and not modal.pending
        assert len(modal.warnings) >= 3, modal.warnings  # lost edits on prod and prod-us, the smoke note
        badge = str(modal.query_one("#dialog-badge").render())
        assert "staging → prod → prod-us" in badge, badge
        assert "changes, in order: staging → prod → prod-us" in modal.summary_lines[0]
        label = " ".join(str(w.render()) for w in modal.query("#dialog-rails .field-label"))
        assert "Reason, required on prod, prod-us: Confirm waits for it" in label, label
        on_screen(app, "#reason", "#confirm-input", "#confirm", "#dialog-rails .field-label")

        # QA: focus started in the name box under the empty required reason, and "INC-42" landed there.
        assert modal.focused is modal.query_one("#reason")  # the first required empty field, above the name
        await pilot.press(*"CHG-5", "enter")  # the reason typed, the name not: said, and focus goes there
        await pilot.pause()
        assert modal.query_one("#reason", Input).value == "CHG-5" and not modal.query_one("#confirm-input", Input).value
        assert app.screen is modal and modal.focused is modal.query_one("#confirm-input")
        said = [str(n.message) for n in app._notifications]
        assert any("Type 2026.12.5 in the confirmation box" in m for m in said), said
        # QA: the status line said "staging: rollout of …" all along, prod and prod-us being gated.
        titles: list[str] = []
        progress = app.log_pane.progress

        def recorded(title: str, *rest: Any) -> None:
            titles.append(title)
            progress(title, *rest)

        app.log_pane.progress = recorded  # type: ignore[method-assign]
        await pilot.press(*"2026.12.5", "enter")  # the form is whole: enter rolls out
        await wait_until(
            pilot, lambda: "Rollout 2026.12.5:" in log_text(app), what="the rollout's outcome", timeout=120
        )
        line = app.log_pane.query_one(OpLine).title
        assert line.startswith("Rollout 2026.12.5 · ") and "…" not in line, line  # the outcome, not "rollout of …"
        running = list(dict.fromkeys(t for t in titles if t.endswith(": rollout of 2026.12.5…")))
        assert running == [f"{env}: rollout of 2026.12.5…" for env in ("staging", "prod", "prod-us")], titles


async def test_the_releases_view_refuses_a_release_that_is_not_the_head_before_any_dialog(
    fleet: dict[str, Running], root_of: Path
) -> None:
    platform = {k: v for k, v in fleet.items() if k != "prod-us"}
    app = make_app(platform, root_of, env="dev", extra=FLEET.format(url=fleet["prod-us"].url))
    old = await release.from_env(app.ctx, "prod-us", "old", labels=["production:app:base1"])
    release.save(app.ctx, old, None, local=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        columns = [str(c.label) for c in table.columns.values()]
        assert dict(zip(columns, map(str, table.get_row_at(0)), strict=True))["head"] == "not head"
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ActionModal)  # no dialog opened
        assert "REFUSED rollout of old: release old is not the head of its repository" in log_text(app)
