"""Issue 16: a release rolled out through stages and a small fleet, stopped by a failed smoke gate,
rolled back to the previous release, and resumed, end to end against the sandbox."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import platform_config, set_faults
from waits import wait_until_sync

from tui.cli.main import main
from tui.core.ops.rollout import matches, seconds
from tui.sandbox.faults import Faults
from tui.sandbox.runner import Running, start_in_thread

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]  # prod needs a reason


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_durations_and_expected_outputs() -> None:
    assert seconds("10m", "x") == 600 and seconds(5, "x") == 5 and seconds("30s", "x") == 30
    with pytest.raises(Exception, match="not a duration"):
        seconds("soon", "[[rollout]] #1")
    assert matches({"status": "ok", "extra": 1}, {"status": "ok"}) and not matches({"status": "ko"}, {"status": "ok"})
    assert matches(None, None) and not matches(None, {"status": "ok"})


ROLLOUT = """
[[rollout]]
stage = "staging"
environments = ["staging"]

[[rollout]]
stage = "prod"
environments = ["prod", "prod-us"]
max_parallel = 1

[[smoke]]
workspace = "knowledge-base"
automation = "healthcheck"
expect = {}
"""


@pytest.fixture
def fleet(
    platform: dict[str, Running], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Running]]:
    """dev, staging, prod and prod-us (a copy of prod) sharing the release repository, with [[rollout]]."""
    root = Path(platform["dev"].sandbox.data_dir).parent
    shutil.copytree(root / "prod", root / "prod-us", symlinks=True)
    us = start_in_thread(root / "prod-us", "at:test-prod-us-token-0123", name="prod-us", faults=Faults(), environ={})
    try:
        config = isolated_home / "config" / "prisme-deploy" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        extra = f'\n[environments.prod-us]\nurl = "{us.url}"\ntier = "production"\nrepositories = ["release"]\n'
        config.write_text(platform_config(platform, root) + extra + ROLLOUT, encoding="utf-8")
        for name, running in {**platform, "prod-us": us}.items():
            monkeypatch.setenv(f"PRISME_DEPLOY_TOKEN_{name.upper().replace('-', '_')}", running.new_user())
        yield {**platform, "prod-us": us}
    finally:
        us.stop()


def test_a_failed_smoke_gate_stops_the_rollout_and_the_rollback_restores_the_previous_release(
    fleet: dict[str, Running],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    isolated_home: Path,
) -> None:
    assert (
        cli(
            capsys,
            "release",
            "snapshot",
            "--env",
            "prod-us",
            "--group",
            "base1",
            "--name",
            "before",
            "--store",
            "local",
        )[0]
        == 0
    )
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "2026.12.1")[0] == 0
    set_faults(fleet["prod-us"], smoke_fail=["knowledge-base"])

    code, out, err = cli(capsys, "rollout", "2026.12.1", "--groups", "base1", "--yes", "--json")
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    final = lines[-1]
    assert code == 1, err
    assert final["status"] == "stopped" and final["done"] == ["staging", "prod"]
    assert final["kind"] == "summary" and final["failed"] is True and final["stoppedAt"] == "prod-us"
    assert final["failure"]["env"] == "prod-us" and final["failure"]["gate"] == "smoke"
    assert any(s.get("kind") == "gate" and s.get("env") == "prod" and s.get("gate") == "smoke" for s in lines)
    journal = [json.loads(x) for x in next(isolated_home.rglob("audit.jsonl")).read_text().splitlines()]
    rollout_entry = [e for e in journal if e["action"] == "rollout"][-1]
    journaled = [(s["kind"], s["env"]) for s in rollout_entry["details"]["steps"]]
    assert journaled == [(s["kind"], s["env"]) for s in lines[:-1]]  # every step, in order, in the journal
    assert ("gate", "prod-us") in journaled and rollout_entry["outcome"] == "failed"
    code, out, _ = cli(capsys, "release", "diff", "--env", "prod-us", "before")
    assert code == 1  # prod-us now runs the new versions

    code, out, err = cli(capsys, "rollout", "2026.12.1", "--rollback", "--yes")
    assert code == 0, out + err
    code, out, _ = cli(capsys, "release", "diff", "--env", "prod-us", "before")
    assert code == 0 and "identical" in out, out

    # Fixed: resume goes on after the last environment that passed (prod-us again, with a fresh budget).
    set_faults(fleet["prod-us"], smoke_fail=[])
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_PROD_US", fleet["prod-us"].new_user())
    code, out, err = cli(capsys, "rollout", "2026.12.1", "--resume", "--yes")
    assert code == 0, out + err
    assert "already passed every gate (resumed)" in out and "rollout 2026.12.1: completed" in out
    code, out, _ = cli(capsys, "release", "diff", "--env", "prod-us", "2026.12.1", "--json")
    changed = {d["workspace"] for d in json.loads(out)["differences"] if d["state"] == "changed"}
    assert not changed & {"knowledge-base", "securechat", "ai-store"}  # base1 runs the release


def test_a_protected_environment_without_confirmation_stops_the_rollout_before_importing(
    fleet: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "r1")[0] == 0
    code, out, _ = cli(capsys, "rollout", "r1", "--groups", "base1")  # no tty, no --yes
    assert code == 1 and "[stopped] prod-us is protected" not in out
    assert "is protected and the rollout was not confirmed" in out + _ and "rollout r1: stopped at prod" in out


def test_a_rollout_refuses_a_release_that_is_not_the_repository_head(
    fleet: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "release", "snapshot", "--env", "prod", "--name", "old", "--store", "local")[0] == 0
    code, _, err = cli(capsys, "rollout", "old", "--groups", "base1", "--yes")
    assert code == 2 and "is not release old" in err and "Bulk push the release" in err


def test_plan_rollout_covers_every_stage_environment_in_order(
    fleet: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "r2")[0] == 0
    code, out, _ = cli(capsys, "plan", "rollout", "r2", "--groups", "base1", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["changes"] is True
    assert [p["env"] for p in doc["plans"]] == ["staging", "prod", "prod-us"]


@pytest.mark.parametrize("signame", ["SIGHUP", "SIGTERM", "SIGKILL"])
def test_a_rollout_hung_up_mid_import_is_journaled_and_its_rollback_restores_that_environment(
    fleet: dict[str, Running], capsys: pytest.CaptureFixture[str], isolated_home: Path, signame: str
) -> None:
    """An SSH drop (SIGHUP) while prod imports, in a real process: the environment was recorded as
    changed before the import (write-ahead), the journal has the entry, and --rollback restores it."""
    import os
    import signal
    import subprocess
    import sys

    prod = fleet["prod"]
    snap = ("release", "snapshot", "--env", "prod", "--group", "base1", "--name", "before", "--store", "local")
    assert cli(capsys, *snap)[0] == 0
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "2026.12.2")[0] == 0
    set_faults(prod, pull_delay_ms=1500)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "rollout", "2026.12.2", "--groups", "base1", "--yes", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PYTHONUNBUFFERED": "1"},
    )
    try:
        engine = prod.sandbox.engine

        def importing() -> bool:  # the bulk import has reached prod and runs there
            assert proc.poll() is None, proc.communicate()[0].decode()
            return engine._bulk_lock.locked()

        wait_until_sync(importing, timeout=60, what="the bulk import on prod")
        proc.send_signal(getattr(signal, signame))
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if signame != "SIGKILL":  # kill -9 cannot be caught: the write-ahead state is all there is
        journal = [json.loads(x) for x in next(isolated_home.rglob("audit.jsonl")).read_text().splitlines()]
        assert [e for e in journal if e["action"] == "rollout"], f"no audit entry after {signame}"
    set_faults(prod, pull_delay_ms=0)
    wait_until_sync(lambda: not engine._bulk_lock.locked(), timeout=60, what="the server to finish its import")
    code, out, _ = cli(capsys, "release", "diff", "--env", "prod", "before")
    assert code == 1, out  # prod runs some of the new release
    code, out, err = cli(capsys, "rollout", "2026.12.2", "--rollback", "--yes")
    assert code == 0, out + err
    code, out, _ = cli(capsys, "release", "diff", "--env", "prod", "before")
    assert code == 0 and "identical" in out, out


def test_a_huge_smoke_output_is_bounded_in_messages_json_and_the_audit(
    fleet: dict[str, Running], capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    import httpx

    staging = fleet["staging"]
    headers = {"Authorization": f"Bearer {staging.token}"}
    wid = httpx.get(f"{staging.url}/v2/workspaces", params={"slug": "knowledge-base"}, headers=headers).json()[0]["id"]
    big = b"output: '" + b"x" * 3_000_000 + b"'\n"
    assert (
        httpx.put(
            f"{staging.url}/sandbox/workspaces/{wid}/files/automations/big.yml", content=big, headers=headers
        ).status_code
        == 200
    )
    config = isolated_home / "config" / "prisme-deploy" / "config.toml"
    config.write_text(
        config.read_text() + '\n[[smoke]]\nworkspace = "knowledge-base"\nautomation = "big"\nexpect = {status = "ok"}\n'
    )
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "r9")[0] == 0
    code, out, err = cli(capsys, "rollout", "r9", "--groups", "base1", "--yes", "--json")
    assert code == 1, err
    assert max(len(line) for line in out.splitlines()) < 100_000
    journal = next(isolated_home.rglob("audit.jsonl")).read_text().splitlines()
    assert max(len(line) for line in journal) < 200_000


def _freeze(isolated_home: Path, env: str) -> None:
    config = isolated_home / "config" / "prisme-deploy" / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace(f"[environments.{env}]\n", f'[environments.{env}]\nfreeze = ["2020-01-01/2099-12-31"]\n'),
        encoding="utf-8",
    )


def test_a_rollout_with_a_frozen_last_stage_changes_nothing_anywhere_and_says_the_window(
    fleet: dict[str, Running], capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    assert cli(capsys, "release", "snapshot", "--env", "staging", "--name", "s0", "--store", "local")[0] == 0
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "r3")[0] == 0
    _freeze(isolated_home, "prod-us")
    code, out, err = cli(capsys, "rollout", "r3", "--groups", "base1", "--yes")
    assert code == 1, out + err
    assert "prod-us is frozen until 2100-01-01T00:00+00:00 (window '2020-01-01/2099-12-31')" in err, err
    assert "--break-glass" in err and "rollout of r3 refused; nothing was done" in err
    assert "[import]" not in out and "[plan]" not in out  # refused before the first environment
    assert cli(capsys, "release", "diff", "--env", "staging", "s0")[0] == 0  # staging runs what it ran
    journal = next(isolated_home.rglob("audit.jsonl"), None)
    actions = [json.loads(x)["action"] for x in journal.read_text().splitlines()] if journal else []
    assert "bulk-import" not in actions and "rollout" not in actions
    code, _, err = cli(capsys, "rollout", "r3", "--rollback", "--yes")
    assert code == 2 and "no rollout of r3" in err  # nothing was recorded to roll back


def test_plan_rollout_of_a_release_that_is_not_the_head_refuses_and_says_why(
    fleet: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "release", "snapshot", "--env", "prod", "--name", "old2", "--store", "local")[0] == 0
    code, out, err = cli(capsys, "plan", "rollout", "old2", "--groups", "base1")
    assert code == 2 and "is not release old2" in err and "a rollout imports the head" in err, out + err
    assert "Plan:" not in out  # the head's versions are not planned under this release's name


# ------------------------------------------------------------------------------------------- fail closed (issue 24)
def _context(isolated_home: Path) -> Any:
    from tui.core import config as cfg
    from tui.core.ops.context import Context

    return Context.create(cfg.load(isolated_home / "config" / "prisme-deploy" / "config.toml"), use_keyring=False)


def _gates(ctx: Any, stage: Any, tests: list[Any]) -> tuple[bool, list[dict[str, Any]]]:
    import asyncio

    from tui.core.ops import rollout

    state = rollout.State("r", "release", ["base1"])
    ok = asyncio.run(rollout._gates(ctx, state, rollout._Reporter(state, None), stage, "staging", tests))
    return ok, state.steps


def test_a_readiness_the_token_may_not_read_fails_the_gate_unless_the_stage_skips_it(
    fleet: dict[str, Running], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.core.api.client import PrismeClient
    from tui.core.api.models import Readiness
    from tui.core.ops import rollout

    async def forbidden(self: Any) -> Readiness:  # the sandbox always answers; a real one 403s a non-admin
        return Readiness(ready=False, services={}, allowed=False)

    monkeypatch.setattr(PrismeClient, "readiness", forbidden)
    ctx = _context(isolated_home)
    ok, steps = _gates(ctx, rollout.Stage("staging", ("staging",)), [])
    assert not ok and steps[0]["gate"] == "readiness" and "readiness unknown" in steps[0]["message"]
    assert "super admin" in steps[0]["message"] and 'readiness = "skip"' in steps[0]["message"]
    ok, steps = _gates(ctx, rollout.Stage("staging", ("staging",), readiness="skip"), [])
    assert ok and "readiness NOT CHECKED" in steps[0]["message"]


def test_a_smoke_test_whose_workspace_is_absent_fails_the_gate_unless_optional_on_that_stage(
    fleet: dict[str, Running], isolated_home: Path
) -> None:
    from tui.core.ops import rollout

    ctx = _context(isolated_home)
    absent = rollout.Smoke("no-such-workspace", "healthcheck", {})
    ok, steps = _gates(ctx, rollout.Stage("staging", ("staging",)), [absent])
    assert not ok and "cannot run: no-such-workspace is absent there" in steps[-2]["message"], steps
    ok, steps = _gates(ctx, rollout.Stage("staging", ("staging",), optional_smoke=("no-such-workspace",)), [absent])
    assert ok and any("NOT RUN" in s["message"] for s in steps), steps


def test_a_smoke_test_without_expect_on_a_protected_stage_is_refused_before_anything_and_the_plan_says_it_runs(
    fleet: dict[str, Running], capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    config = isolated_home / "config" / "prisme-deploy" / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("expect = {}\n", ""), encoding="utf-8")
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "r5")[0] == 0
    code, out, err = cli(capsys, "rollout", "r5", "--groups", "base1", "--yes")
    assert code == 2 and "knowledge-base/healthcheck has no expect" in err and "prod, prod-us" in err, out + err
    assert "[import]" not in out
    config.write_text(text, encoding="utf-8")
    code, out, err = cli(capsys, "plan", "rollout", "r5", "--groups", "base1")
    assert "knowledge-base/healthcheck FOR REAL" in out, out + err


def test_a_rollout_rollback_fails_and_lists_a_workspace_whose_previous_version_is_unknown(
    fleet: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.core.ops import rollout

    state = rollout.State("r6", "release", ["base1"], changed=["staging"])
    state.previous = {"staging": {"knowledge-base": None}}
    state.save()
    code, out, err = cli(capsys, "rollout", "r6", "--rollback", "--yes")
    assert code == 1, out + err
    assert "staging: knowledge-base NOT rolled back: the version it ran before the rollout is unknown" in out + err
    assert "rollout r6: stopped" in out


@pytest.mark.parametrize("condition", ["busy", "read_only", "no_reason"])
def test_the_core_rollout_refuses_a_busy_read_only_or_reason_less_fleet_before_the_first_environment(
    condition: str, fleet: dict[str, Running], capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    import asyncio

    from tui.core.ops import rollout
    from tui.core.ops.context import Busy, ReadOnly
    from tui.core.ops.requests import Request
    from tui.core.rails import ReasonRequired

    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "r7")[0] == 0
    ctx = _context(isolated_home)
    expected: type[Exception] = {"busy": Busy, "read_only": ReadOnly, "no_reason": ReasonRequired}[condition]
    if condition == "busy":
        ctx.running["prod-us"] = "bulk push"  # the last environment: refused before the first is touched
    elif condition == "read_only":
        ctx.read_only = True
    steps: list[dict[str, Any]] = []
    reason = None if condition == "no_reason" else "CHG-7"  # the request's own: no run-wide default
    with pytest.raises(expected):
        asyncio.run(rollout.run(ctx, "r7", groups=["base1"], notify=steps.append, request=Request(reason=reason)))
    assert steps == []  # no plan, no import, nowhere


def test_a_smoke_test_right_after_an_import_asks_the_runtime_to_rebuild(
    fleet: dict[str, Running], capsys: pytest.CaptureFixture[str], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.core.api.client import PrismeClient

    config = isolated_home / "config" / "prisme-deploy" / "config.toml"
    text = config.read_text(encoding="utf-8")
    one_stage = text.replace('[[rollout]]\nstage = "staging"\nenvironments = ["staging"]\n', "").replace(
        'environments = ["prod", "prod-us"]', 'environments = ["staging", "prod-us"]'
    )
    config.write_text(one_stage, encoding="utf-8")
    sent: list[tuple[str, bool]] = []
    real = PrismeClient.test_automation

    async def spy(self: PrismeClient, workspace_id: str, automation: str, payload: Any = None, **kw: Any) -> Any:
        sent.append((self.env_name, bool(kw.get("rebuild"))))  # observed, then sent for real
        return await real(self, workspace_id, automation, payload, **kw)

    monkeypatch.setattr(PrismeClient, "test_automation", spy)
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "r8")[0] == 0
    code, out, err = cli(capsys, "rollout", "r8", "--groups", "base1", "--yes")
    assert code == 0, out + err
    assert sent == [("staging", False), ("prod-us", True)]  # staging had nothing to import; prod-us did


def test_the_readme_claims_only_gates_the_code_has() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "error-events" not in readme  # no code implements an error-events gate
    for key in ('readiness = "skip"', "optional_smoke", "startup_import = {", "UNKNOWN: assume the next restart"):
        assert key in readme, key  # the fail-closed switches and answers are documented
    assert "system:startup-import" not in readme  # a user id only the old sandbox wrote
