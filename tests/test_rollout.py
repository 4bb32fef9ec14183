"""Issue 16: a release rolled out through stages and a small fleet, stopped by a failed smoke gate,
rolled back to the previous release, and resumed, end to end against the sandbox."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import platform_config, set_faults

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
    import time

    prod = fleet["prod"]
    snap = ("release", "snapshot", "--env", "prod", "--group", "base1", "--name", "before", "--store", "local")
    assert cli(capsys, *snap)[0] == 0
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "2026.12.2")[0] == 0
    set_faults(prod, pull_delay_ms=1500)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "rollout", "2026.12.2", "--groups", "base1", "--yes", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 60
        engine = prod.sandbox.engine
        while not engine._bulk_lock.locked():  # the bulk import has reached prod and runs there
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0].decode()
            time.sleep(0.05)
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
    deadline = time.monotonic() + 60
    while engine._bulk_lock.locked():  # the server finishes the import it was given
        assert time.monotonic() < deadline
        time.sleep(0.05)
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
