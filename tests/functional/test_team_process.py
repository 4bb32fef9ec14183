"""Issue 28, "Done when": a team's process, shared through the platform.

alice, bob and carol each have their own HOME and their own platform user. The team policy in the platform
repository asks one approval for prod. alice plans a prod promotion with --out; apply without an approval is
refused; alice cannot approve her own plan; bob approves; alice applies; a plan whose target changed after it
was made is refused; carol, on a third home, reads it all with `ledger --env prod --json`, alice and bob named
as the platform knows them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_ledger import Team, cli, team  # noqa: F401  (fixtures)
from test_plan_sticky import admin, workspace
from test_policy import commit_policy

from tui.sandbox.runner import Running

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]
PROMOTE = ("plan", "promote", "staging", "prod", "--groups", "base1")


def test_alice_plans_bob_approves_alice_applies_and_carol_reads_it_all(
    team: Team,  # noqa: F811
    platform: dict[str, Running],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    alice_config = team.homes["alice"] / "config/prisme-deploy/config.toml"
    commit_policy(alice_config, "[environments.prod]\napprovals = 1\n", tmp_path)
    team.be("alice")
    assert cli(capsys, "ledger", "init", "--env", "prod", "--yes")[0] == 0
    code, _, err = cli(capsys, "unlock", "securechat", "--env", "prod", "--yes")
    assert code != 0 and "prod needs 1 approval(s) of a saved plan" in err  # no way around the plan

    plan_file = tmp_path / "shared" / "promote.plan"
    plan_file.parent.mkdir()
    code, out, err = cli(capsys, *PROMOTE, "--out", str(plan_file))
    assert code == 1 and "saved plan" in err and "by alice" in err, out + err
    digest = json.loads(plan_file.read_text())["digest"]

    code, out, err = cli(capsys, "apply", str(plan_file), "--yes")
    assert code == 1 and "0/1 approval(s), by nobody; author alice" in err and "Nothing was done" in err, out + err
    code, out, err = cli(capsys, "approve", str(plan_file))
    assert code == 1 and "you (alice) saved plan" in err and "another platform user" in err, out + err

    team.be("bob")
    code, out, err = cli(capsys, "approve", str(plan_file), "--reason", "CHG-1")
    assert code == 0 and "on prod as bob (stamped by the platform)" in out, out + err

    team.be("alice")
    code, out, err = cli(capsys, "apply", str(plan_file), "--yes")
    assert code == 0 and "approved: prod: 1/1 approval(s), by bob; author alice" in err, out + err
    assert "Promoted staging:securechat to prod" in out

    stale = tmp_path / "shared" / "stale.plan"
    cli(capsys, "plan", "promote", "dev", "prod", "--groups", "base1", "--out", str(stale))
    team.be("bob")
    assert cli(capsys, "approve", str(stale))[0] == 0
    bot = workspace(platform["prod"], "knowledge-base")
    admin(platform["prod"], "POST", f"/v2/workspaces/{bot['id']}/writeLock", json={"reason": "merge_conflict"})
    team.be("alice")
    code, out, err = cli(capsys, "apply", str(stale), "--yes")
    assert code == 1 and "prod:knowledge-base: write lock none → merge_conflict" in err, out + err

    team.be("carol")
    code, out, err = cli(capsys, "ledger", "--env", "prod", "--json")
    assert code == 0, err
    records = json.loads(out)["records"]
    mine = [r for r in records if r["payload"].get("digest") == digest]
    assert [(r["kind"], r["user"]["name"], r["stamped"]) for r in mine] == [
        ("plan", "alice", True),
        ("approval", "bob", True),
        ("change", "alice", True),  # the apply: its plan, who approved it, the outcome
    ]
    assert mine[1]["payload"]["reason"] == "CHG-1"
    assert mine[2]["payload"]["approvedBy"] == ["bob"] and mine[2]["payload"]["outcome"] == "ok"
    promoted = [r for r in records if r["kind"] == "change" and r["payload"].get("action") == "promote"]
    assert promoted and all(r["user"]["name"] == "alice" for r in promoted)  # the operations' own records
