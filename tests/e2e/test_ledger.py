"""Issue 28 (identity, ledger, leases): one ledger per instance, whose records name the user the platform
authenticated; leases that a second operator or CI honours; a rollout resumed from another home. Against the
sandbox, whose runtime stamps webhook events with the caller, with three users on three separate HOMEs."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import platform_config, set_faults

from tui.cli.main import main
from tui.core.config import Config, Environment
from tui.core.ledger import lease, open_ledger, setup, store
from tui.core.ledger.model import AUTOMATION_SLUG
from tui.core.ops.context import Context
from tui.sandbox.runner import Running

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]  # prod needs a reason

USERS = ("alice", "bob", "carol")
ROLLOUT = """
[[rollout]]
stage = "staging"
environments = ["staging"]

[[rollout]]
stage = "prod"
environments = ["prod"]

[[smoke]]
workspace = "knowledge-base"
automation = "healthcheck"
expect = {}
"""


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    store.forget_all()  # each call stands for a separate process
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def ledger_until(capsys: pytest.CaptureFixture[str], env: str, kind: str, count: int = 1) -> dict[str, Any]:
    """``ledger --env ENV --json`` once the events service has indexed ``count`` records of ``kind``."""
    deadline = time.monotonic() + 20
    while True:
        code, out, err = cli(capsys, "ledger", "--env", env, "--json")
        assert code == 0, err
        doc: dict[str, Any] = json.loads(out)
        if sum(r["kind"] == kind for r in doc["records"]) >= count or time.monotonic() > deadline:
            return doc
        time.sleep(0.1)


class Team:
    """alice, bob and carol: a HOME each (XDG folders, config, journal) and a platform user on every instance."""

    def __init__(self, platform: dict[str, Running], root: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.platform, self.monkeypatch = platform, monkeypatch
        self.tokens = {user: {env: run.new_user(user) for env, run in platform.items()} for user in USERS}
        self.homes: dict[str, Path] = {}
        for user in USERS:
            home = tmp / f"home-{user}"
            for sub in ("config/prisme-deploy", "data", "cache"):
                (home / sub).mkdir(parents=True)
            (home / "config/prisme-deploy/config.toml").write_text(
                platform_config(platform, root) + ROLLOUT, encoding="utf-8"
            )
            self.homes[user] = home

    def be(self, user: str) -> None:
        home = self.homes[user]
        env = {
            "XDG_CONFIG_HOME": home / "config",
            "XDG_DATA_HOME": home / "data",
            "PRISME_DEPLOY_DATA": home / "data" / "prisme-deploy",
            "PRISME_DEPLOY_CONFIG": home / "config" / "prisme-deploy" / "config.toml",
        }
        for key, value in env.items():
            self.monkeypatch.setenv(key, str(value))
        for name, token in self.tokens[user].items():
            self.monkeypatch.setenv(f"PRISME_DEPLOY_TOKEN_{name.upper()}", token)

    def journal(self, user: str) -> list[dict[str, Any]]:
        path = next((self.homes[user] / "data").rglob("audit.jsonl"))
        return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def team(platform: dict[str, Running], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Team:
    return Team(platform, Path(platform["dev"].sandbox.data_dir).parent, tmp_path, monkeypatch)


def ctx_for(running: Running, token: str, monkeypatch: pytest.MonkeyPatch) -> Context:
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_PROD", token)
    config = Config()
    config.environments["prod"] = Environment(name="prod", url=running.url, tier="production")
    return Context.create(config, use_keyring=False)


# ------------------------------------------------------------------------------------------------ core
async def read_until(reader: Any, count: int) -> list[Any]:
    """The ledger once the events service has indexed ``count`` records (it indexes with a lag)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while len(records := await reader.read()) < count and loop.time() < deadline:
        await asyncio.sleep(0.05)
    return records


def test_a_record_names_the_user_the_platform_authenticated_whatever_the_body_claims(
    sandbox: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, carol = sandbox.new_user("alice"), sandbox.new_user("carol")

    async def scenario() -> tuple[Any, list[Any], list[Any]]:
        book = await setup.init(ctx_for(sandbox, alice, monkeypatch), "prod")
        appended = await open_ledger(ctx_for(sandbox, alice, monkeypatch), "prod").append(
            "approval", "prod", {"plan": "sha256:abc"}
        )
        # alice posts straight to the webhook, claiming to be bob: the platform's stamp says alice.
        forged = {"recordId": "forged", "kind": "approval", "env": "prod", "payload": {"plan": "sha256:abc"},
                  "claimedUser": {"id": "bob", "name": "bob"}}  # fmt: skip
        httpx.post(
            f"{sandbox.url}/v2/workspaces/{book.workspace_id}/webhooks/{AUTOMATION_SLUG}",  # type: ignore[attr-defined]
            json=forged,
            headers={"Authorization": f"Bearer {alice}", "x-prismeai-user-id": "bob"},
        ).raise_for_status()
        reader = open_ledger(ctx_for(sandbox, carol, monkeypatch), "prod")
        return appended, await read_until(reader, 2), await reader.read(kinds=["change"])

    appended, records, changes = asyncio.run(scenario())
    assert appended.stamped and appended.user_id == "alice"
    assert [(r.kind, r.user_id, r.user_name, r.stamped) for r in records] == [
        ("approval", "alice", "alice", True),
        ("approval", "alice", "alice", True),  # not bob: neither the body nor a header can name another user
    ]
    assert records[1].id == "forged" and changes == []


def test_an_instance_without_a_ledger_says_how_to_set_one_up(sandbox: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(store.NotInitialised, match="ledger init --env prod"):
        asyncio.run(open_ledger(ctx_for(sandbox, sandbox.new_user("carol"), monkeypatch), "prod").read())


def test_a_lease_is_refused_to_another_user_until_released_and_a_take_over_is_recorded(
    sandbox: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = sandbox.new_user("alice"), sandbox.new_user("bob")

    async def scenario() -> list[Any]:
        await setup.init(ctx_for(sandbox, alice, monkeypatch), "prod")
        mine = await lease.acquire(open_ledger(ctx_for(sandbox, alice, monkeypatch), "prod"), "prod", "rollout", "r1")
        bobs = open_ledger(ctx_for(sandbox, bob, monkeypatch), "prod")
        with pytest.raises(lease.LeaseHeld, match=r"prod: rollout of r1 by alice since \d\d:\d\d \(expires"):
            await lease.acquire(bobs, "prod", "rollout", "r2", wait=0.3)
        taken = await lease.acquire(bobs, "prod", "rollout", "r2", take_over=True)
        assert taken.holder_id == "bob" and taken.took_over and "by alice" in taken.took_over[0]
        assert [held.id for held in await lease.current(bobs, "prod")] == [taken.id]
        await lease.release(bobs, taken)
        assert await lease.current(bobs, "prod") == [] and mine.holder_id == "alice"
        return await bobs.read(kinds=["lease-takeover"])

    takeovers = asyncio.run(scenario())
    assert len(takeovers) == 1 and takeovers[0].user_id == "bob"
    assert takeovers[0].payload["previous"]["holder"]["id"] == "alice"


def test_without_a_runtime_the_ledger_is_in_the_repository_and_says_identity_claimed(
    team: Team, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    httpx.post(
        f"{platform['prod'].url}/sandbox/realism",
        json={"api_level": "2024"},
        headers={"Authorization": f"Bearer {platform['prod'].token}"},
    ).raise_for_status()
    team.be("alice")
    code, out, err = cli(capsys, "ledger", "init", "--env", "prod", "--json")
    assert code == 0, err
    assert json.loads(out)["channel"] == "claimed" and json.loads(out)["repository"] == "release"
    # Succeeded or refused by that generation, the attempt is a change the ledger records.
    cli(capsys, "rollback", "securechat", "v1.0.0", "--repository", "release", "--env", "prod", "--yes")
    assert team.journal("alice")[-1]["ledger"].startswith("recorded")
    team.be("carol")
    doc = ledger_until(capsys, "prod", "change", 2)
    assert doc["channel"] == "claimed" and doc["identity"] == "claimed, not stamped"
    changes = [r for r in doc["records"] if r["kind"] == "change" and r["payload"]["action"] != "ledger-init"]
    assert changes and all(r["stamped"] is False and r["user"]["id"] == "alice" for r in changes)
    assert changes[0]["identity"] == "identity claimed, not stamped"


# ------------------------------------------------------------------------------------------------ end to end
def test_alices_rollback_is_in_carols_ledger_named_as_the_platform_knows_her(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    team.be("alice")
    code, out, err = cli(capsys, "ledger", "init", "--env", "prod", "--json")
    assert code == 0 and json.loads(out)["channel"] == "stamped", err
    rollback = ("rollback", "securechat", "v1.0.0", "--repository", "release", "--env", "prod", "--yes")
    code, _, err = cli(capsys, *rollback, "--reason", "INC-7")
    assert code == 0, err
    assert team.journal("alice")[-1]["ledger"].startswith("recorded")  # the offline copy says where it went
    team.be("carol")
    doc = ledger_until(capsys, "prod", "change", 2)
    init, change = [r for r in doc["records"] if r["kind"] == "change"]
    assert init["payload"]["action"] == "ledger-init" and init["user"]["id"] == "alice"
    assert doc["channel"] == "stamped" and change["stamped"] is True
    assert change["user"] == {"id": "alice", "name": "alice"}
    assert change["payload"]["action"] == "rollback" and change["payload"]["reason"] == "INC-7"
    assert change["payload"]["targets"] == ["securechat"] and change["payload"]["outcome"] == "ok"
    assert change["payload"]["correlationIds"]  # the tool's own requests, to find them in the platform's logs
    assert "user" not in change["payload"]  # no OS login in the ledger: the platform's user is the record's
    code, out, _ = cli(capsys, "ledger", "--env", "prod")
    assert code == 0 and "alice" in out and "rollback securechat" in out and "stamped" in out


def test_a_ledger_that_cannot_be_reached_is_said_and_the_local_journal_keeps_the_change(
    team: Team, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    team.be("alice")
    code, out, _ = cli(capsys, "ledger", "init", "--env", "prod", "--json")
    assert code == 0
    set_faults(platform["prod"], error_5xx={f"/v2/workspaces/{json.loads(out)['workspace']}/webhooks": 500})
    code, _, err = cli(capsys, "rollback", "securechat", "v1.0.0", "--repository", "release", "--env", "prod", "--yes")
    assert code == 0, err  # the rollback's own outcome stands
    assert "the ledger of prod could not be reached" in err and "kept in the local journal" in err
    entry = team.journal("alice")[-1]
    assert entry["action"] == "rollback" and entry["outcome"] == "ok" and entry["ledger"].startswith("not recorded")


def test_a_second_rollout_on_a_leased_environment_refuses_a_take_over_is_recorded_and_another_home_resumes(
    team: Team, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    team.be("alice")
    for env in ("staging", "prod"):
        assert cli(capsys, "ledger", "init", "--env", env)[0] == 0
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "2026.12.1")[0] == 0
    # alice's rollout is running (its lease taken, as `rollout` does): bob's refuses, naming it.
    config = Config()
    config.environments["prod"] = Environment(name="prod", url=platform["prod"].url, tier="production")
    os.environ["PRISME_DEPLOY_TOKEN_PROD"] = team.tokens["alice"]["prod"]
    alices = asyncio.run(
        lease.acquire(open_ledger(Context.create(config, use_keyring=False), "prod"), "prod", "rollout", "2026.12.1")
    )
    team.be("bob")
    code, out, err = cli(capsys, "rollout", "2026.12.1", "--groups", "base1", "--yes")
    assert code == 1, out + err
    assert "prod: rollout of 2026.12.1 by alice since" in err and "--take-over" in err
    assert "imported" not in out  # refused before the first environment was touched
    # bob takes it over; prod's smoke test fails, so the rollout stops there.
    set_faults(platform["prod"], smoke_fail=["knowledge-base"])
    code, out, err = cli(capsys, "rollout", "2026.12.1", "--groups", "base1", "--yes", "--take-over")
    assert code == 1 and "took over the lease" in out and "stopped at prod" in out, out + err
    # carol, on a third home with no state file, resumes it from the ledger.
    set_faults(platform["prod"], smoke_fail=[])
    team.be("carol")
    code, out, err = cli(capsys, "rollout", "2026.12.1", "--resume", "--yes")
    assert code == 0, out + err
    assert "staging already passed every gate (resumed)" in out and "rollout 2026.12.1: completed" in out
    doc = ledger_until(capsys, "prod", "lease-release", 2)
    records = doc["records"]
    takeover = [r for r in records if r["kind"] == "lease-takeover"]
    assert len(takeover) == 1 and takeover[0]["user"]["id"] == "bob"
    assert takeover[0]["payload"]["previous"]["id"] == alices.id
    assert doc["leases"] == []  # every lease released at the end
    holders = {r["user"]["id"] for r in records if r["kind"] == "lease"}
    assert holders == {"alice", "bob", "carol"}


def test_the_apps_audit_view_reads_the_ledger_with_the_users_the_platform_knows(
    team: Team, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    from conftest import settle_tolerant

    from tui.app.app import PrismeDeployApp
    from tui.app.screens.activity import TableScreen
    from tui.core import config as cfg

    team.be("alice")
    assert cli(capsys, "ledger", "init", "--env", "prod")[0] == 0
    rollback = ("rollback", "securechat", "v1.0.0", "--repository", "release", "--env", "prod", "--yes")
    assert cli(capsys, *rollback)[0] == 0
    team.be("carol")
    ledger_until(capsys, "prod", "change", 2)
    store.forget_all()
    config = cfg.parse((team.homes["carol"] / "config/prisme-deploy/config.toml").read_text())
    app = PrismeDeployApp(Context.create(config, use_keyring=False), initial_env="prod")

    async def press_ctrl_j() -> list[str]:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle_tolerant(pilot)
            await pilot.press("ctrl+j")
            for _ in range(200):
                if isinstance(app.screen, TableScreen):
                    break
                await pilot.pause(0.05)
            assert isinstance(app.screen, TableScreen)
            assert app.screen.title_text == "Ledger · prod · stamped by the platform"
            return [" ".join(row) for row in app.screen.rows]

    rows = asyncio.run(press_ctrl_j())
    assert any("alice" in r and "rollback securechat v1.0.0 ok" in r and "stamped" in r for r in rows), rows


def test_what_a_server_holds_is_hostile_a_malformed_or_anonymous_record_is_left_out() -> None:
    good = {"recordId": "r1", "kind": "change", "env": "prod", "payload": {}, "claimedUser": {"id": "u1", "name": "Al"}}
    at = "2026-12-07T10:02:00.000Z"
    assert store.record_from(good, at=at, user_id="u1", stamped=True, fallback_id="e").user_name == "Al"  # type: ignore[union-attr]
    # a name claimed for another id is not shown: the stamped id is
    assert store.record_from(good, at=at, user_id="u2", stamped=True, fallback_id="e").user_name == "u2"  # type: ignore[union-attr]
    for body, user, when in [
        (good, None, at),  # no user: an anonymous webhook call
        (good, "", at),
        (good, "u1", "yesterday"),
        ({**good, "payload": "x"}, "u1", at),
        ({**good, "kind": 3}, "u1", at),
        ("not a record", "u1", at),
    ]:
        assert store.record_from(body, at=when, user_id=user, stamped=True, fallback_id="e") is None


def test_a_promotion_to_a_leased_environment_refuses_then_waits_for_the_release(
    team: Team, platform: dict[str, Running], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    team.be("alice")
    assert cli(capsys, "ledger", "init", "--env", "prod")[0] == 0
    alices_ledger = open_ledger(ctx_for(platform["prod"], team.tokens["alice"]["prod"], monkeypatch), "prod")
    held = asyncio.run(lease.acquire(alices_ledger, "prod", "bulk import", "base1"))
    team.be("bob")
    promote = ["promote", "--from", "staging:hr-assistant", "--to", "prod:hr-assistant", "--yes", "--accept-drift"]
    code, out, err = cli(capsys, *promote)
    assert code == 1 and "prod: bulk import of base1 by alice since" in err, out + err
    asyncio.run(lease.release(alices_ledger, held))
    code, out, err = cli(capsys, *promote, "--wait-lease", "30", "--json")
    assert code == 0 and json.loads(out)["ok"], out + err
    doc = ledger_until(capsys, "prod", "change", 2)
    init, change = [r for r in doc["records"] if r["kind"] == "change"]
    assert init["payload"]["action"] == "ledger-init" and init["user"]["id"] == "alice"
    assert change["payload"]["action"] == "promote" and change["user"]["id"] == "bob"
    assert {r["user"]["id"] for r in doc["records"] if r["kind"] == "lease"} == {"alice", "bob"}
