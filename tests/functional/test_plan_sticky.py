"""Issue 16: plans before a bulk import or a promotion, and rollbacks that survive a restart.

End to end against the sandbox (dev, staging, prod sharing one release repository), through the CLI.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import platform_config
from waits import wait_until_sync

from tui.cli.main import main
from tui.core.ops.plan import Plan, PlanItem
from tui.sandbox.faults import Faults
from tui.sandbox.runner import Running, start_in_thread

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]  # prod needs a reason
GROUPS = "base1,base2,extended"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def admin(running: Running, method: str, path: str, **kwargs: object) -> httpx.Response:
    response = httpx.request(
        method, f"{running.url}{path}", headers={"Authorization": f"Bearer {running.token}"}, timeout=30, **kwargs
    )
    response.raise_for_status()
    return response


def workspace(running: Running, slug: str) -> dict:
    items = admin(running, "GET", "/v2/workspaces", params={"limit": 100}).json()
    return next(w for w in items if w["slug"] == slug)  # the list has lastPull (the detail is DSUL only)


# ------------------------------------------------------------------------------------------- plan: unit
def test_a_plan_has_changes_only_with_a_create_an_update_or_a_blocked_workspace() -> None:
    plan = Plan("bulk-import", "prod", "release", ["base1"], [PlanItem("base1", "a", "skip", "v1", "v1")])
    assert not plan.has_changes and plan.counts()["skip"] == 1
    assert "skip (same version)  v1 → v1" in "\n".join(plan.lines())
    for action in ("create", "update", "blocked"):
        plan.items.append(PlanItem("base1", action, action, "v1", "v2"))
        assert plan.has_changes
    lines = "\n".join(plan.lines())
    assert "blocked (locked)" in lines and "1 to create, 1 to update, 1 unchanged, 1 blocked." in lines


# ------------------------------------------------------------------------------------------- plan: e2e
def test_plan_bulk_import_lists_versions_diffstat_and_the_edits_that_will_be_lost(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    prod = platform["prod"]
    bot = workspace(prod, "support-bot")
    admin(
        prod, "PUT", f"/sandbox/workspaces/{bot['id']}/files/automations/answer.yml", content=b"slug: answer\ndo: []\n"
    )
    code, out, err = cli(capsys, "plan", "bulk-import", "--env", "prod", "--repository", "release", "--groups", GROUPS)
    assert code == 1, err  # changes
    assert "group base1:" in out and out.index("group base1:") < out.index("group base2:") < out.index(
        "group extended:"
    )
    line = next(line for line in out.splitlines() if " support-bot " in line)
    assert "update" in line and "v1.1.0 → v1.2.0" in line and "file(s)" in line
    section = out[out.index(" support-bot ") :].split("\n  ", 1)[1]
    assert "edit(s) made on this instance will be lost" in out and "- automations/answer" in section
    assert "skip (same version)" in out

    code, out, _ = cli(
        capsys, "plan", "bulk-import", "--env", "prod", "--repository", "release", "--groups", GROUPS, "--json"
    )
    doc = json.loads(out)
    bot_item = next(i for i in doc["items"] if i["workspace"] == "support-bot")
    assert code == 1 and doc["changes"] is True
    assert bot_item["action"] == "update" and (bot_item["from"], bot_item["to"]) == ("v1.1.0", "v1.2.0")
    assert {"type": "automations", "slug": "answer"}.items() <= bot_item["lostEdits"][0].items()
    assert bot_item["stat"]["files"] >= 1


def test_after_the_bulk_import_the_same_plan_has_no_changes(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--env", "prod", "--repository", "release", "--groups", GROUPS)
    code, before, _ = cli(capsys, "plan", "bulk-import", *args, "--json")
    assert code == 1 and json.loads(before)["counts"]["update"] >= 1
    code, _, err = cli(capsys, "bulk-import", *args, "--yes")
    assert code == 0, err
    code, after, _ = cli(capsys, "plan", "bulk-import", *args, "--json")
    doc = json.loads(after)
    assert code == 0 and doc["changes"] is False and doc["counts"]["update"] == 0, doc


def test_a_merge_conflict_lock_is_planned_as_blocked(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    prod = platform["prod"]
    bot = workspace(prod, "support-bot")
    admin(prod, "POST", f"/v2/workspaces/{bot['id']}/writeLock", json={"reason": "merge_conflict"})
    code, out, _ = cli(capsys, "plan", "bulk-import", "--env", "prod", "--repository", "release", "--groups", GROUPS)
    line = next(line for line in out.splitlines() if " support-bot " in line)
    assert code == 1 and "blocked (locked)" in line and "merge_conflict" in out


def test_plan_promote_between_environments(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "plan", "promote", "staging", "prod", "--groups", "base1", "--json")
    items = {i["workspace"]: i for i in json.loads(out)["items"]}
    assert code == 1
    assert (items["securechat"]["action"], items["securechat"]["from"], items["securechat"]["to"]) == (
        "update",
        "v1.1.0",
        "v1.2.0",
    )
    assert items["securechat"]["stat"]["files"] >= 1
    assert items["ai-store"]["action"] == "skip" and items["ai-store"]["reason"] == "same content"
    code, out, _ = cli(capsys, "plan", "promote", "staging", "prod", "--groups", "base1")
    assert code == 1 and "skip (same content)" in out and "v1.1.0 → v1.2.0" in out


def test_a_plan_without_a_local_copy_of_the_repository_says_what_to_configure(
    platform: dict[str, Running],
    isolated_home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = isolated_home / "config.toml"
    path.write_text(platform_config(platform), encoding="utf-8")  # no [repositories.release]
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_PROD", platform["prod"].token)
    code, _out, err = cli(
        capsys,
        "plan",
        "bulk-import",
        "--config",
        str(path),
        "--env",
        "prod",
        "--repository",
        "release",
        "--groups",
        "base1",
    )
    assert code == 2 and "[repositories.release]" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------------- sticky rollbacks
STARTUP = {
    "STARTUP_IMPORT_REPOSITORY": "release",
    "STARTUP_IMPORT_GROUPS": GROUPS,
    "STARTUP_IMPORT_PAUSE_SECONDS": "0",
}


def startup_runs(running: Running) -> int:
    events = admin(
        running,
        "GET",
        "/v2/workspaces/platform/events",
        params={"types": "workspaces.bulkImport.completed", "limit": 100},
    ).json()
    found = (events.get("result") or {}).get("events") or []
    return sum(1 for e in found if not (e.get("source") or {}).get("userId"))  # a startup run has no user


def wait_for_runs(running: Running, count: int) -> None:
    """The startup import runs in the background and its events are searchable late: wait for them.

    The realistic gateway limits event searches per minute: on a loaded host the wait polls long enough
    to meet the limit, so a 429 is waited out like a run not yet searchable (it made the suite flaky)."""

    def done() -> bool:
        try:
            return startup_runs(running) >= count
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 429:
                raise
            return False

    wait_until_sync(done, timeout=60, every=0.5, what="the startup import to finish")


@pytest.fixture
def prod_with_startup_import(
    demo_template: Path, tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Running]:
    """prod as deployed from an image: STARTUP_IMPORT_* set, so every restart re-imports the repository."""
    root = tmp_path / "platform"
    shutil.copytree(demo_template, root, symlinks=True)
    running = start_in_thread(
        root / "prod", "at:test-prod-token-0123456789", name="prod", faults=Faults(), environ=STARTUP
    )
    try:
        wait_for_runs(running, 3)
        config = isolated_home / "config" / "prisme-deploy" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(platform_config({"prod": running}, root), encoding="utf-8")
        monkeypatch.setenv("PRISME_DEPLOY_TOKEN_PROD", running.new_user())
        yield running
    finally:
        running.stop()


def restart(running: Running, runs_before: int) -> None:
    admin(running, "POST", "/sandbox/startup-import", json={})
    wait_for_runs(running, runs_before + 3)


def test_a_plain_rollback_is_reported_at_risk_and_a_restart_undoes_it(
    prod_with_startup_import: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    prod = prod_with_startup_import
    assert workspace(prod, "knowledge-base")["lastPull"]["version"] == "v1.2.0"
    code, out, err = cli(
        capsys, "rollback", "knowledge-base", "v1.1.0", "--repository", "release", "--env", "prod", "--yes"
    )
    assert code == 0, err
    assert "at risk: the next restart re-imports v1.2.0" in out
    assert workspace(prod, "knowledge-base")["lastPull"]["version"] == "v1.1.0"
    restart(prod, 3)
    assert workspace(prod, "knowledge-base")["lastPull"]["version"] == "v1.2.0"  # the rollback is gone


def test_a_sticky_rollback_survives_a_restart(
    prod_with_startup_import: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    prod = prod_with_startup_import
    code, out, err = cli(
        capsys,
        "rollback",
        "knowledge-base",
        "v1.1.0",
        "--repository",
        "release",
        "--env",
        "prod",
        "--yes",
        "--sticky",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ok"] and doc["restart"]["atRisk"] is False, doc
    assert workspace(prod, "knowledge-base")["lastPull"]["version"] == "v1.1.0-revert"
    restart(prod, 3)
    after = workspace(prod, "knowledge-base")
    assert after["lastPull"]["version"] == "v1.1.0-revert"  # skipped by the startup import: it sticks
    code, out, _ = cli(capsys, "diff", "--from", "prod:knowledge-base", "--to", "prod:knowledge-base@v1.1.0", "--stat")
    assert code == 0, out  # the running content is v1.1.0's


def test_without_a_startup_import_seen_or_declared_a_rollback_is_unknown_and_taken_as_at_risk(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    # A platform that writes no startup marker: no rollback is reported safe from the next restart.
    code, out, err = cli(
        capsys, "rollback", "securechat", "v1.0.0", "--repository", "release", "--env", "staging", "--yes", "--json"
    )
    doc = json.loads(out)
    assert code == 0, err
    assert doc["restart"]["atRisk"] is True and doc["restart"]["unknown"] is True, doc["restart"]
    assert doc["restart"]["message"].startswith("UNKNOWN: assume the next restart re-imports")
    assert "--sticky" in doc["restart"]["message"] and "startup_import" in doc["restart"]["message"]
    # Declared: "none" is the operator's word (configuration), and a declared import is checked as seen.
    text = configured.read_text(encoding="utf-8")
    configured.write_text(
        text.replace("[environments.staging]\n", "[environments.staging]\nstartup_import = {}\n"), encoding="utf-8"
    )
    code, out, err = cli(
        capsys, "rollback", "securechat", "v1.1.0", "--repository", "release", "--env", "staging", "--yes", "--json"
    )
    assert code == 0 and json.loads(out)["restart"]["atRisk"] is False, out + err
    declared = 'startup_import = { repository = "release", groups = ["base1", "base2", "extended"] }\n'
    configured.write_text(text.replace("[environments.staging]\n", "[environments.staging]\n" + declared), "utf-8")
    code, out, err = cli(
        capsys, "rollback", "securechat", "v1.0.0", "--repository", "release", "--env", "staging", "--yes", "--json"
    )
    restart = json.loads(out)["restart"]
    assert code == 0 and restart["atRisk"] is True and not restart["unknown"], out + err
    assert restart["startupImport"]["repository"] == "release" and restart["message"].startswith("at risk")


def test_a_plan_that_finds_no_workspace_of_a_group_exits_2_and_says_what_it_looked_for(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    text = configured.read_text(encoding="utf-8")
    configured.write_text(text.replace('dirpath = "workspaces"\n', ""), encoding="utf-8")  # a plain clone
    code, out, err = cli(capsys, "plan", "bulk-import", "--env", "prod", "--repository", "release", "--groups", "base1")
    assert code == 2, out + err
    assert "no workspace of group(s) base1 in repository release" in err
    assert "labels production:app:base1" in err and "no dirpath" in err
    assert "workspaces found under workspaces/: set dirpath" in err, err
    configured.write_text(text, encoding="utf-8")
    code, out, err = cli(
        capsys, "plan", "bulk-import", "--env", "prod", "--repository", "release", "--groups", "nosuch"
    )
    assert code == 2 and "group(s) nosuch undefined" in err and "platform lists" in err, err


def test_a_group_the_configuration_lacks_is_read_from_the_platform(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    text = configured.read_text(encoding="utf-8")
    configured.write_text(text.replace("[groups.base1]\n", "[groups.other]\n"), encoding="utf-8")
    code, out, err = cli(capsys, "plan", "bulk-import", "--env", "prod", "--repository", "release", "--groups", "base1")
    assert code in (0, 1) and "Plan: bulk-import release → prod" in out, err


def test_plan_promote_of_a_group_with_no_workspace_on_the_source_exits_2(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    text = configured.read_text(encoding="utf-8")
    configured.write_text(text.replace('labels = ["production:app:base1"]', 'labels = ["no:such:label"]'), "utf-8")
    code, out, err = cli(capsys, "plan", "promote", "staging", "prod", "--groups", "base1")
    assert code == 2 and "no workspace of group base1 on staging" in err and "no:such:label" in err, out + err
