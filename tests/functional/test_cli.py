"""The headless CLI against the sandbox: success, every exit code, --json shapes, failure paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import set_faults

from tui.cli.main import main, opens_the_app
from tui.sandbox.runner import Running

pytestmark = pytest.mark.e2e


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("argv", "app"),
    [
        ([], True),
        (["--read-only", "--config", "x.toml", "--no-mouse"], True),
        (["--config=x.toml"], True),
        (["status"], False),
        (["--config", "x.toml", "status"], False),
        (["--help"], False),
        (["--version"], False),
        (["--config"], False),  # argparse reports the missing value
    ],
)
def test_only_a_command_or_help_builds_the_commands_parsers(argv: list[str], app: bool) -> None:
    assert opens_the_app(argv) is app


def test_the_app_path_reports_a_broken_configuration_without_opening(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text('[environments.dev]\nurl = "https://dev"\ntier = "stagin"\n', encoding="utf-8")
    code, _out, err = cli(capsys, "--config", str(bad))
    assert code == 2 and "Did you mean 'staging'" in err and "config.toml:3" in err


def test_help_lists_every_subcommand() -> None:
    result = subprocess.run([sys.executable, "-m", "tui", "--help"], capture_output=True, text=True, check=True)
    for command in (
        "envs",
        "status",
        "workspaces",
        "versions",
        "push",
        "pull",
        "rollback",
        "bulk-push",
        "bulk-import",
        "promote",
        "unlock",
        "events",
        "diff",
        "audit",
        "login",
        "logout",
        "env",
        "sandbox",
        "demo",
        "snapshots",
    ):
        assert command in result.stdout, command
    version = subprocess.run([sys.executable, "-m", "tui", "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("prisme-deploy ")


def test_status_and_workspaces_json(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "status", "--json")
    assert code == 0 and {h["env"]: h["state"] for h in json.loads(out)} == {"dev": "up", "staging": "up", "prod": "up"}
    code, out, _ = cli(capsys, "workspaces", "--env", "dev", "--group", "base1", "--json")
    rows = json.loads(out)
    assert code == 0 and {r["slug"] for r in rows} == {"securechat", "knowledge-base", "ai-store"}
    assert set(rows[0]) >= {"id", "slug", "labels", "dirty", "writeLock", "liveVersion"}


def test_url_and_token_without_config(
    sandbox: Running, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN", sandbox.token)
    code, out, _ = cli(capsys, "versions", "support-bot", "--url", sandbox.url, "--json")
    assert code == 0 and [v["name"] for v in json.loads(out)][:2] == ["pre-demo", "v1.2.0"]


def test_push_and_rollback_with_audit(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(
        capsys,
        "push",
        "support-bot",
        "--env",
        "dev",
        "--name",
        "v1.9.0",
        "-m",
        "ship it",
        "--repository",
        "release",
        "--json",
    )
    assert code == 0 and json.loads(out)["version"] == {"name": "v1.9.0", "repository": "release"}
    code, out, _ = cli(
        capsys,
        "rollback",
        "support-bot",
        "v1.1.0",
        "--repository",
        "release",
        "--env",
        "dev",
        "--discard-local-changes",
        "--json",
    )
    result = json.loads(out)
    assert code == 0 and result["ok"] and result["workspace"]["liveVersion"] == "v1.1.0"
    code, out, _ = cli(capsys, "audit", "--json")
    actions = [e["action"] for e in json_lines(out)]
    assert actions[:2] == ["rollback", "push"]


def test_protected_environment_needs_yes_without_tty(
    configured: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", open(os.devnull))  # noqa: SIM115
    monkeypatch.setenv("PRISME_DEPLOY_REASON", "INC-1")  # prod requires a reason (issue 17)
    code, _, err = cli(capsys, "rollback", "securechat", "v1.0.0", "--repository", "release", "--env", "prod")
    assert code == 2 and "needs --yes" in err
    code, out, _ = cli(
        capsys, "rollback", "securechat", "v1.0.0", "--repository", "release", "--env", "prod", "--yes", "--json"
    )
    assert code == 0 and json.loads(out)["workspace"]["liveVersion"] == "v1.0.0"


def test_bulk_push_streams_json_lines_and_succeeds(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(
        capsys,
        "bulk-push",
        "--env",
        "dev",
        "--repository",
        "release",
        "--groups",
        "extended",
        "--name",
        "v2.5.0",
        "--description",
        "release",
        "--json",
    )
    lines = json_lines(out)
    assert code == 1  # ticket-triage is skipped while locked: not every workspace was pushed
    assert lines[0]["kind"] == "started" and lines[-2]["kind"] == "completed"
    assert lines[-2]["skippedWhileLocked"] == ["ticket-triage"]
    assert lines[-1]["kind"] == "summary" and lines[-1]["status"] == "failed" and lines[-1]["done"] == []
    assert lines[-1]["skippedWhileLocked"] == ["ticket-triage"] and lines[-1]["failed"] is True
    assert {line["payload"]["workspaceSlug"] for line in lines if line["kind"] == "progress"} == {
        "support-bot",
        "sales-copilot",
    }


def test_bulk_push_failure_exit_1(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    set_faults(platform["dev"], push_fail=["sales-copilot"])
    code, out, _ = cli(capsys, "bulk-push", "--env", "dev", "--repository", "release", "--groups", "extended")
    assert code == 1 and "error in sales-copilot" in out


def test_bulk_push_dropped_stream_recovers(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    set_faults(platform["dev"], sse_drop_after=1)
    code, out, err = cli(capsys, "bulk-push", "--env", "dev", "--repository", "release", "--groups", "extended")
    assert code == 1 and "recovering" in err and "summary: pushed 2" in out and "skipped while locked 1" in out


def test_bulk_push_unknown_repository_and_bad_token(
    configured: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = cli(capsys, "bulk-push", "--env", "dev", "--repository", "nope", "--groups", "base1")
    assert code == 2 and "unknown platform repository 'nope'" in err
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_DEV", "at:wrong-wrong-wrong")
    code, out, _ = cli(capsys, "workspaces", "--env", "dev", "--json")
    assert code == 3 and json.loads(out)["error"] == "authentication"
    assert "wrong-wrong" not in out


def test_bulk_import_stops_at_first_group_with_errors(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    set_faults(platform["staging"], import_fail={"doc-search": "SlugAlreadyInUse"})
    code, out, err = cli(
        capsys,
        "bulk-import",
        "--env",
        "staging",
        "--repository",
        "release",
        "--groups",
        "base2,extended",
        "--force-reimport",
    )
    assert code == 1
    assert "summary (base2)" in out and "summary (extended)" not in out
    assert "not importing extended" in err


def test_usage_errors_exit_2(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "workspaces", "--env", "nope")[0] == 2
    code, _, err = cli(capsys, "push", "support-bot", "--env", "dev", "--name", "much-too-long-name", "-m", "x")
    assert code == 2 and "at most 15" in err


def test_network_error_exit_4(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN", "at:whatever-123")
    code, _, err = cli(capsys, "workspaces", "--url", "http://127.0.0.1:9")
    assert code == 4 and "cannot connect" in err


def test_env_management_round_trip(capsys: pytest.CaptureFixture[str], isolated_home: Path) -> None:
    assert cli(capsys, "env", "add", "qa", "--url", "https://api.qa.example.com", "--tier", "staging")[0] == 0
    assert cli(capsys, "env", "edit", "qa", "--read-only", "yes")[0] == 0
    _code, out, _ = cli(capsys, "envs", "--json")
    assert json.loads(out) == [
        {
            "name": "qa",
            "url": "https://api.qa.example.com",
            "tier": "staging",
            "protected": False,
            "readOnly": True,
            "tokenSource": None,
        }
    ]
    assert cli(capsys, "env", "add", "qa", "--url", "https://x")[0] == 2
    assert cli(capsys, "env", "remove", "qa", "--yes")[0] == 0


def test_login_with_token_stdin_fails_when_keyring_disabled(
    sandbox: Running, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli(capsys, "env", "add", "sb", "--url", sandbox.url)[0] == 0
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(sandbox.token + "\n"))
    code, _, err = cli(capsys, "login", "--env", "sb", "--token-stdin")
    assert code == 2 and "admin@sandbox.local" in err and "NOT stored" in err
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("at:bad-bad-bad\n"))
    code, _, err = cli(capsys, "login", "--env", "sb", "--token-stdin")
    assert code == 3 and "rejected" in err


def test_login_stores_in_real_keyring(
    sandbox: Running, real_keyring: object, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli(capsys, "env", "add", "sb", "--url", sandbox.url)[0] == 0
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(sandbox.token + "\n"))
    code, out, _ = cli(capsys, "login", "--env", "sb", "--token-stdin")
    assert code == 0 and "stored in the OS keyring" in out
    code, out, _ = cli(capsys, "versions", "securechat", "--env", "sb", "--json")  # the token comes from the keyring
    assert code == 0 and json.loads(out)
    assert cli(capsys, "logout", "--env", "sb")[0] == 0
    assert cli(capsys, "versions", "securechat", "--env", "sb")[0] == 3


def test_distinctive_token_is_in_no_file_the_app_writes(
    sandbox: Running, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, isolated_home: Path
) -> None:
    token = sandbox.token
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_SB", token)
    assert cli(capsys, "env", "add", "sb", "--url", sandbox.url)[0] == 0
    cli(capsys, "push", "support-bot", "--env", "sb", "--name", "t1", "-m", f"mention {token}")
    cli(capsys, "rollback", "support-bot", "v1.1.0", "--repository", "release", "--env", "sb")
    cli(capsys, "bulk-push", "--env", "sb", "--repository", "release", "--groups", "base1", "--dry-run")
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_SB", "at:wrong-one-123")
    cli(capsys, "workspaces", "--env", "sb")
    written = [p for p in isolated_home.rglob("*") if p.is_file()]
    assert any(p.name == "audit.jsonl" for p in written)
    for path in written:
        assert token.encode() not in path.read_bytes(), path


def test_the_config_given_before_the_command_is_the_one_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`prisme-deploy --config FILE COMMAND` (as the usage line shows it) must not fall back to
    PRISME_DEPLOY_CONFIG or the user's file: the command would act on another configuration's prod."""
    other = tmp_path / "other.toml"
    other.write_text('[environments.other]\nurl = "http://127.0.0.1:9"\n', encoding="utf-8")
    mine = tmp_path / "mine.toml"
    mine.write_text('[environments.mine]\nurl = "http://127.0.0.1:9"\n', encoding="utf-8")
    monkeypatch.setenv("PRISME_DEPLOY_CONFIG", str(other))
    code, out, err = cli(capsys, "--config", str(mine), "envs", "--json")
    assert code == 0, err
    assert [e["name"] for e in json.loads(out)] == ["mine"]
    code, _, err = cli(capsys, "--config", str(mine), "env", "add", "extra", "--url", "http://127.0.0.1:8")
    assert code == 0, err
    assert "extra" in mine.read_text() and "extra" not in other.read_text()
    code, out, err = cli(capsys, "envs", "--config", str(mine), "--json")  # after the command: the same file
    assert code == 0 and sorted(e["name"] for e in json.loads(out)) == ["extra", "mine"], out + err


async def test_ctrl_c_during_a_rate_limit_wait_says_the_request_was_not_sent(
    sandbox: Running, isolated_home: Path
) -> None:
    """Ctrl-C cancels the wait; the rollback it held back never left, and the message says so (not
    "the server may still be running the operation")."""
    import asyncio
    import selectors
    import signal

    from tui.core.api.budget import RequestBudget
    from tui.core.api.client import PrismeClient

    sandbox.sandbox.realism.rate_limits = {"events": 20, "imports": 1, "create": 3}
    async with PrismeClient(sandbox.url, sandbox.token, budget=RequestBudget("other", limits={})) as other:
        ws = await other.find_workspace("securechat")
        before = ws.live_version
        await other.pull(ws.id, "latest", repository_id="release", wait=False)  # another tool spent the minute
    env = {**os.environ, "PRISME_DEPLOY_TOKEN_SB": sandbox.token}
    argv = ["rollback", "securechat", "v1.0.0", "--repository", "release", "--url", sandbox.url, "--env", "sb", "-y"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    seen = ""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stderr, selectors.EVENT_READ)  # type: ignore[arg-type]
        for _ in range(120):  # a line at the first report of the wait; no timing asserted
            if "rate limited by the gateway" in seen or proc.poll() is not None:
                break
            if selector.select(timeout=0.5):
                seen += proc.stderr.readline()  # type: ignore[union-attr]
    assert "rate limited by the gateway" in seen, seen
    proc.send_signal(signal.SIGINT)
    out, err = await asyncio.to_thread(proc.communicate, timeout=60)
    assert proc.returncode == 130, out + seen + err
    assert "stopped waiting for the rate limit; the held-back request was not sent" in err, seen + err
    assert "may still be running" not in err
    async with PrismeClient(sandbox.url, sandbox.token, budget=RequestBudget("check", limits={})) as check:
        assert (await check.find_workspace("securechat")).live_version == before
