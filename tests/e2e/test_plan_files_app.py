"""Issue 28 in the app: "Pending plans" (W) lists what awaits approval in the environment's ledger, and enter
approves the selected plan, with the CLI's refusal of a self-approval. Pilot, 80x24, against the sandbox."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import platform_config
from test_app import log_text, settle
from test_ledger import Team, team  # noqa: F401  (fixtures)
from textual.widgets import DataTable

from tui.app.app import PrismeDeployApp
from tui.app.screens.activity import TableScreen
from tui.app.screens.modals import YesNoModal
from tui.core import config as cfg
from tui.core import paths
from tui.core.ledger import setup, store
from tui.core.ops import apply, plan
from tui.core.ops.context import Context
from tui.sandbox.runner import Running

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]


async def until(pilot: Any, condition: Callable[[], bool], tries: int = 400) -> None:
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the condition never held")


def as_user(platform: dict[str, Running], user_token: str) -> Context:
    """A context whose prod token is ``user_token`` (the others: each instance's own)."""
    root = Path(platform["dev"].sandbox.data_dir).parent
    text = platform_config(platform, root).replace('tier = "production"', 'tier = "production"\napprovals = 1')
    for name, running in platform.items():
        os.environ[f"PRISME_DEPLOY_TOKEN_{name.upper()}"] = running.token
    os.environ["PRISME_DEPLOY_TOKEN_PROD"] = user_token
    store.forget_all()
    return Context.create(cfg.parse(text), use_keyring=False)


def plan_row(app: PrismeDeployApp, short: str) -> int:
    """The row of plan ``short`` in the pending-plans table; when it is missing, the table and the log say why."""
    table = app.screen.query_one(DataTable)
    rows = [i for i in range(table.row_count) if str(table.get_row_at(i)[0]) == short]
    assert rows, f"plan {short} is not listed:\n{table_text(app)}\n--- log:\n{log_text(app)}"
    return rows[0]


def table_text(app: PrismeDeployApp) -> str:
    table = app.screen.query_one(DataTable)
    return "\n".join(" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count))


async def approve_in_app(platform: dict[str, Running], token: str, short: str) -> str:
    """W, the plan's row (listed with its author and approvals), enter, y: what the log then says."""
    app = PrismeDeployApp(as_user(platform, token), initial_env="prod", clock=lambda: datetime(2026, 3, 2, 9, 30))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("W")
        await until(pilot, lambda: isinstance(app.screen, TableScreen))
        shown = table_text(app)
        assert short in shown and "alice" in shown and "0/1" in shown, shown
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, YesNoModal))
        await pilot.press("y")
        await until(
            pilot, lambda: f"Approve plan {short}" in log_text(app) or f"approved plan {short}" in log_text(app)
        )
        return log_text(app)


async def test_pending_plans_lists_a_plan_and_another_user_approves_it_from_the_app(
    platform: dict[str, Running], tmp_path: Path
) -> None:
    prod = platform["prod"]
    alice, bob = prod.new_user("alice"), prod.new_user("bob")
    ctx = as_user(platform, alice)
    await setup.init(ctx, "prod")
    the_plan = await plan.promote(ctx, "staging", "prod", groups=["base1"])
    params = {"source": "staging", "target": "prod", "groups": ["base1"]}
    saved = await apply.save(ctx, await apply.build(ctx, "promote", params, the_plan.to_json()), tmp_path / "p.plan")
    short = saved.plan.short

    said = await approve_in_app(platform, alice, short)  # her own plan: refused, nothing recorded
    assert f"FAIL Approve plan {short}" in said and "you (alice) saved plan" in said
    said = await approve_in_app(platform, bob, short)
    assert f"approved plan {short}" in said and "on prod as bob (stamped by the platform)" in said
    state = await apply.approvals_of(as_user(platform, prod.new_user("carol")), saved.plan.digest, "prod")
    assert state.author == ("alice", "alice") and state.approvers == [("bob", "bob")] and state.enough


async def test_ctrl_s_in_the_bulk_import_plan_dialog_saves_the_plan_it_shows(
    platform: dict[str, Running], isolated_home: Path
) -> None:
    from test_app import make_app
    from textual.widgets import SelectionList

    from tui.core.ops import planfile

    app = make_app(platform, Path(platform["dev"].sandbox.data_dir).parent, env="dev")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("I")
        await settle(pilot)
        app.screen.query_one("#groups", SelectionList).select("base1")
        await pilot.pause()
        await pilot.click("#confirm")  # "Plan…": the plan dialog, nothing runs
        await settle(pilot)
        assert app.screen.title_text == "Bulk import into dev: plan"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "saved plan" in log_text(app))
        line = next(x for x in log_text(app).splitlines() if "saved plan" in x)
        await pilot.press("escape")  # the dialog is cancelled: nothing imported
        await settle(pilot)
        assert "Bulk import" not in log_text(app)
    path = Path(line.rsplit(" to ", 1)[1].strip())
    assert path.parent == isolated_home / "data" / "prisme-deploy" / "plans"
    saved = planfile.load(path)
    assert saved.kind == "bulk-import" and saved.params["env"] == "dev" and saved.params["groups"] == ["base1"]
    assert saved.summary["groups"] == ["base1"] and any(key.startswith("dev:") for key in saved.reads)


async def test_ctrl_s_in_the_rollback_dialog_saves_a_rollback_plan_that_apply_runs(
    platform: dict[str, Running], isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_app import make_app
    from test_app_truth import open_version
    from test_plan_sticky import cli

    from tui.app.screens.modals import ActionModal
    from tui.core.ops import planfile

    root = Path(platform["dev"].sandbox.data_dir).parent
    config = isolated_home / "config" / "prisme-deploy" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(platform_config(platform, root), encoding="utf-8")  # for `apply` below
    app = make_app(platform, root, env="staging")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_version(pilot, app, "securechat", "v1.1.0")
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ActionModal)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "saved plan" in log_text(app))
        line = next(x for x in log_text(app).splitlines() if "saved plan" in x)
        await pilot.press("escape")
        await settle(pilot)
    path = Path(line.rsplit(" to ", 1)[1].strip())
    saved = planfile.load(path)
    assert saved.kind == "rollback" and saved.params["workspace"] == "securechat"
    assert saved.params["version"] == "v1.1.0" and saved.summary["items"][0]["from"] == "v1.2.0"
    code, out, err = await asyncio.to_thread(cli, capsys, "apply", str(path), "--yes")  # its own event loop
    assert code == 0 and "securechat" in out, out + err


# ------------------------------------------------------------------------------------------- apply from the app
def team_app(people: Team, user: str) -> PrismeDeployApp:
    """``user``'s app on prod: their HOME, their configuration (prod asks one approval), their platform user."""
    people.be(user)
    store.forget_all()  # each app stands for a separate machine
    ctx = Context.create(cfg.load(people.homes[user] / "config/prisme-deploy/config.toml"), use_keyring=False)
    return PrismeDeployApp(ctx, initial_env="prod", clock=lambda: datetime(2026, 3, 2, 9, 30))


async def save_rollback_in_app(people: Team, user: str, slug: str, version: str) -> str:
    """r on ``slug``'s ``version`` in prod, ctrl+s in the dialog, escape: the saved plan's short digest."""
    from test_app_truth import open_version

    from tui.app.screens.modals import ActionModal

    app = team_app(people, user)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_version(pilot, app, slug, version)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ActionModal))
        warnings = app.screen.warnings  # type: ignore[attr-defined]
        assert any("needs 1 approval" in w and "ctrl+s saves the plan" in w for w in warnings), warnings
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "saved plan" in log_text(app))
        line = next(x for x in log_text(app).splitlines() if "saved plan" in x)
        await pilot.press("escape")
        await settle(pilot)
    return line.split("saved plan ", 1)[1].split()[0]


async def apply_in_app(people: Team, user: str, short: str) -> str:
    """W, the plan's row, enter, "Apply it" in the choice, Go, prod typed in the apply's dialog: the log once
    the apply's outcome is in it."""
    from textual.widgets import Button, Input

    from tui.app.screens.modals import ActionModal

    app = team_app(people, user)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("W")
        await until(pilot, lambda: isinstance(app.screen, TableScreen), tries=6000)  # a ledger read: may wait
        row = plan_row(app, short)
        await pilot.press(*["down"] * row, "enter")
        await until(pilot, lambda: isinstance(app.screen, ActionModal))
        assert app.screen.title_text == f"Plan {short}"  # type: ignore[attr-defined]
        await pilot.press("enter", "down", "enter")  # the choice: from "Approve it" to "Apply it"
        await pilot.click("#confirm")
        await until(pilot, lambda: getattr(app.screen, "title_text", "") == f"Apply plan {short}")
        modal = app.screen
        assert modal.query_one("#confirm", Button).disabled  # until prod is typed
        modal.query_one("#confirm-input", Input).focus()
        await pilot.press(*"prod", "enter")  # prod is protected: its name typed confirms
        # one user's ledger reads stay within the gateway's 20 event searches a minute: the apply may wait for it
        await until(pilot, lambda: f"Apply plan {short}:" in log_text(app), tries=6000)
        return log_text(app)


async def live_version(ctx: Context, slug: str) -> str | None:
    async with ctx.client("prod") as client:
        return next(w.live_version for w in await client.list_workspaces() if w.slug == slug)


async def test_alice_saves_bob_approves_and_alice_applies_from_the_app_and_a_changed_target_is_refused(
    team: Team,  # noqa: F811
    platform: dict[str, Running],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from test_ledger import cli
    from test_plan_sticky import admin, workspace

    for home in team.homes.values():  # prod asks one approval (a personal file may tighten the policy)
        config = home / "config/prisme-deploy/config.toml"
        config.write_text(config.read_text().replace('tier = "production"', 'tier = "production"\napprovals = 1'))
    team.be("alice")
    assert (await asyncio.to_thread(cli, capsys, "ledger", "init", "--env", "prod", "--yes"))[0] == 0  # own loop
    short = await save_rollback_in_app(team, "alice", "securechat", "v1.0.0")
    stale = await save_rollback_in_app(team, "alice", "knowledge-base", "v1.0.0")

    said = await apply_in_app(team, "alice", short)  # nobody approved it yet: refused, nothing done
    assert f"FAIL Apply plan {short}" in said and "0/1 approval(s), by nobody; author alice" in said, said
    for plan_short in (short, stale):
        said = await approve_in_app_as(team, "bob", plan_short)
        assert f"approved plan {plan_short}" in said and "on prod as bob (stamped by the platform)" in said, said

    said = await apply_in_app(team, "alice", short)
    assert "approved: prod: 1/1 approval(s), by bob; author alice" in said, said
    assert f"OK   Apply plan {short}" in said, said
    assert await live_version(team_app(team, "carol").ctx, "securechat") == "v1.0.0"  # read from the server

    bot = workspace(platform["prod"], "knowledge-base")
    admin(platform["prod"], "POST", f"/v2/workspaces/{bot['id']}/writeLock", json={"reason": "merge_conflict"})
    said = await apply_in_app(team, "alice", stale)
    assert f"FAIL Apply plan {stale}" in said and "prod:knowledge-base: write lock none → merge_conflict" in said
    assert "Nothing was done" in said


async def approve_in_app_as(people: Team, user: str, short: str) -> str:
    """W, the plan's row (its file is not on this machine: approve only), enter, y."""
    app = team_app(people, user)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("W")
        await until(pilot, lambda: isinstance(app.screen, TableScreen), tries=6000)  # a ledger read: may wait
        row = plan_row(app, short)
        await pilot.press(*["down"] * row, "enter")
        await until(pilot, lambda: isinstance(app.screen, YesNoModal))
        text = app.screen.text  # type: ignore[attr-defined]
        # Where the app looked, and what to do with a plan saved elsewhere (--out): not "not on this machine".
        assert f"No plan file with this digest in {paths.data_dir() / 'plans'}." in text, text
        assert "saved elsewhere, with --out or on another machine: apply it with `prisme-deploy apply FILE`" in text
        assert "not on this machine" not in text
        await pilot.press("y")
        said = (f"approved plan {short}", f"Approve plan {short}")
        await until(pilot, lambda: any(text in log_text(app) for text in said), tries=6000)
        return log_text(app)


async def init_elsewhere(platform: dict[str, Running], monkeypatch: pytest.MonkeyPatch) -> None:
    """`ledger init --env prod` run by another process: this process's memory of prod is left as it was."""
    with monkeypatch.context() as other:
        other.setattr(store, "forget_all", lambda: None)
        other.setattr(store, "remember", lambda *args: None)
        await setup.init(as_user(platform, platform["prod"].token), "prod")


async def no_ledger_said(pilot: Any, app: PrismeDeployApp) -> None:
    """W, and the app says prod has no ledger (what it then remembers for NONE_TTL)."""
    await pilot.press("W")
    await until(pilot, lambda: "prod: no ledger on this instance" in log_text(app))
    assert not isinstance(app.screen, TableScreen)


async def test_w_asks_again_an_instance_remembered_without_a_ledger(
    platform: dict[str, Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: W kept saying "no ledger on this instance" for 5 minutes after `ledger init` succeeded elsewhere."""
    app = PrismeDeployApp(as_user(platform, platform["prod"].token), initial_env="prod")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await no_ledger_said(pilot, app)
        await init_elsewhere(platform, monkeypatch)
        await pilot.press("W")  # asked again (one lookup): the ledger is there, with nothing pending
        await until(pilot, lambda: isinstance(app.screen, TableScreen))
        assert log_text(app).count("prod: no ledger on this instance") == 1


async def test_ctrl_r_forgets_what_the_process_remembers_of_each_instances_ledger(
    platform: dict[str, Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = PrismeDeployApp(as_user(platform, platform["prod"].token), initial_env="prod")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await no_ledger_said(pilot, app)
        await init_elsewhere(platform, monkeypatch)
        await pilot.press("ctrl+r")
        await settle(pilot)
        # Not W (which asks again anyway): any use of the ledger, e.g. a rollout's shared state, finds it.
        assert (await store.resolve(app.ctx, "prod")).channel in ("stamped", "claimed")
