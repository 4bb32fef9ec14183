"""The CLI as a shell runs it (a subprocess): exit codes, global options, protections, pipes, summaries.

Each test here failed before issue 13's fixes: what the CLI prints and returns is what happened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from waits import wait_until_sync

from tui.sandbox.runner import Running

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]  # prod needs a reason


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``prisme-deploy ARGS`` with this test's environment (isolated home, tokens), no terminal."""
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# ------------------------------------------------------------------------------------------------ 9: exit 2
def test_unknown_names_and_bad_version_names_exit_2_not_1(configured: Path) -> None:
    for args in (
        ["versions", "no-such-workspace", "--env", "dev"],
        ["rollback", "securechat", "v9.9.9", "--repository", "release", "--env", "dev", "--yes"],
        ["bulk-push", "--env", "dev", "--repository", "nope", "--groups", "base1"],
        ["bulk-push", "--env", "dev", "--repository", "release", "--groups", "no-such-group"],
        ["diff", "--from", "dev:no-such-workspace", "--to", "staging:securechat"],
    ):
        done = run(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
    for bad in ("v1..2", "v1.lock"):
        done = run("push", "securechat", "--env", "dev", "--name", bad, "-m", "x")
        assert done.returncode == 2 and "git refuses" in done.stderr, done.stderr
        done = run("rollback", "securechat", bad, "--repository", "release", "--env", "dev", "--yes")
        assert done.returncode == 2 and "git refuses" in done.stderr, done.stderr
    assert run("diff", "--from", "staging:hr-assistant", "--to", "prod:hr-assistant").returncode == 1  # differ


# ------------------------------------------------------------------------------------------------ 10: --config
def test_the_global_config_option_applies(configured: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text(configured.read_text(), encoding="utf-8")
    configured.unlink()
    done = run("--config", str(elsewhere), "workspaces", "--env", "dev", "--json")
    assert done.returncode == 0, done.stderr
    assert "securechat" in {w["slug"] for w in json.loads(done.stdout)}
    done = run("workspaces", "--env", "dev", "--json", "--config", str(elsewhere))
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------------------------------------ 11: --url
def test_url_never_drops_a_configured_environments_protections(
    configured: Path, platform: dict[str, Running], isolated_home: Path
) -> None:
    text = configured.read_text().replace('tier = "production"', 'tier = "production"\nread_only = true')
    configured.write_text(text, encoding="utf-8")
    prod = platform["prod"].url
    done = run("rollback", "securechat", "v1.0.0", "--repository", "release", "--env", "prod", "--url", prod)
    assert done.returncode == 2 and "read_only" in done.stderr, done.stderr
    configured.write_text(text.replace("read_only = true", "protected = true"), encoding="utf-8")
    done = run("rollback", "securechat", "v1.0.0", "--repository", "release", "--env", "prod", "--url", prod)
    assert done.returncode == 2 and "needs --yes" in done.stderr, done.stderr


def test_url_alone_accepts_protection_and_files_snapshots_by_instance(
    platform: dict[str, Running], isolated_home: Path
) -> None:
    staging = platform["staging"]
    token = {"PRISME_DEPLOY_TOKEN": staging.token}
    rollback = ["rollback", "securechat", "v1.0.0", "--repository", "release", "--url", staging.url]
    for flags in (["--protected"], ["--tier", "production"]):
        done = run(*rollback, *flags, env=token)
        assert done.returncode == 2 and "needs --yes" in done.stderr, done.stderr
    assert run(*rollback, "--yes", env=token).returncode == 0
    listed = json.loads(run("snapshots", "list", "--json", env=token).stdout)
    port = staging.url.rsplit(":", 1)[1]
    assert [s["env"] for s in listed] == [f"127.0.0.1-{port}"]


# ------------------------------------------------------------------------------------------------ 12: login
def test_login_without_a_keyring_fails_and_says_how_to_store_the_token(sandbox: Running) -> None:
    assert run("env", "add", "sb", "--url", sandbox.url).returncode == 0
    done = run("login", "--env", "sb", "--token-stdin", stdin=sandbox.token + "\n")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "NOT stored" in done.stderr and "PRISME_DEPLOY_TOKEN_SB" in done.stderr and "D-Bus" in done.stderr
    assert "kept in memory" not in done.stdout + done.stderr
    done = run("login", "--env", "sb", "--token-stdin", stdin="at:bad-bad-bad\n")
    assert done.returncode == 3 and "rejected" in done.stderr
    assert "prisme-deploy login" not in done.stderr  # the command that just failed is not the way out


# ------------------------------------------------------------------------------------------------ 13: pipes
def test_a_closed_pipe_ends_quietly(configured: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "workspaces", "--env", "dev", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line (`| head -0`)
    err = proc.stderr.read().decode()
    assert proc.wait(120) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err, err


# ------------------------------------------------------------------------------------------------ 5, 14: bulk import
def test_bulk_import_shows_each_groups_events_once_under_its_own_group(configured: Path) -> None:
    done = run(
        "bulk-import", "--env", "staging", "--repository", "release", "--groups", "base1,base2", "--force-reimport",
        "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = json_lines(done.stdout)
    progress = [(line["group"], line["payload"]["workspaceSlug"]) for line in lines if line["kind"] == "progress"]
    assert len(progress) == len(set(progress))
    assert {slug for group, slug in progress if group == "base1"} == {"securechat", "knowledge-base", "ai-store"}
    assert {slug for group, slug in progress if group == "base2"} == {
        "doc-search",
        "translation-hub",
        "meeting-notes",
        "contract-review",
    }
    # Each group's completion once, under its own name; a started event is shown when it is searchable
    # in time (events are late on a real platform), and then under its own group, in order.
    assert [line["group"] for line in lines if line["kind"] == "completed"] == ["base1", "base2"]
    started = [line["group"] for line in lines if line["kind"] == "started"]
    assert started == sorted(set(started)) and set(started) <= {"base1", "base2"}


def test_bulk_import_by_url_snapshots_only_the_groups_members(platform: dict[str, Running]) -> None:
    staging = platform["staging"]
    done = run(
        "bulk-import", "--url", staging.url, "--repository", "release", "--groups", "base1", "--force-reimport",
        "--yes", env={"PRISME_DEPLOY_TOKEN": staging.token},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "3 workspace(s) of base1 saved" in done.stderr, done.stderr
    listed = json.loads(run("snapshots", "list", "--json").stdout)
    assert sorted(s["slug"] for s in listed) == ["ai-store", "knowledge-base", "securechat"]


# ------------------------------------------------------------------------------------------------ 6: summaries
def test_bulk_push_summary_names_workspaces_skipped_while_locked_and_fails(configured: Path) -> None:
    push = ["bulk-push", "--env", "dev", "--repository", "release", "--groups", "extended", "--name", "v2.6.0"]
    done = run(*push)
    assert done.returncode == 1, done.stderr
    assert "skipped while locked 1" in done.stdout and "skipped while locked: ticket-triage" in done.stdout
    done = run(*push[:-2], "--name", "v2.6.1", "--force", "--json")
    completed = [line for line in json_lines(done.stdout) if line["kind"] == "completed"]
    assert done.returncode == 1 and completed[0]["skippedWhileLocked"] == ["ticket-triage"]


# ------------------------------------------------------------------------------------------------ 7: history
def test_versions_merges_git_tags_like_the_app_and_says_why_when_empty(configured: Path) -> None:
    done = run("versions", "securechat", "--env", "prod", "--json")
    assert done.returncode == 0, done.stderr
    assert [v["name"] for v in json.loads(done.stdout)] == ["v1.2.0", "v1.1.0", "v1.0.0"]
    text = configured.read_text()
    configured.write_text(text[: text.index("[repositories.release]")], encoding="utf-8")
    done = run("versions", "securechat", "--env", "prod")
    assert done.returncode == 0 and "no repository clone configured" in done.stderr.lower(), done.stderr
    assert "[repositories.release] path" in done.stderr


# ------------------------------------------------------------------------------------------------ 18: demo
def _demo_env(tmp_path: Path) -> dict[str, str]:
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp), "PRISME_DEPLOY_CACHE": str(tmp_path / "cache"), "TERM": "xterm"}


def _leftovers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "tmp").iterdir() if p.name.startswith("prisme-deploy-demo"))


def _wait_for(condition: Callable[[], object], seconds: float = 90) -> None:
    wait_until_sync(condition, timeout=seconds, every=0.1)


@pytest.mark.parametrize("signame", ["SIGHUP", "SIGTERM"])
def test_the_demo_without_ui_cleans_up_on_a_signal_without_a_traceback(tmp_path: Path, signame: str) -> None:
    import signal

    env = _demo_env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "demo", "--no-ui"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None
    try:
        _wait_for(lambda: "Serving" in proc.stdout.readline().decode())  # type: ignore[union-attr]
        assert _leftovers(tmp_path)
        proc.send_signal(getattr(signal, signame))
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _leftovers(tmp_path) == []
    assert proc.stderr is not None
    errors = proc.stderr.read().decode()
    assert "Traceback" not in errors, errors  # Python 3.11's join() bug closed a served socket (bpo-45274)


@pytest.mark.parametrize("signum", ["SIGHUP", "SIGTERM"])
def test_the_demo_app_cleans_up_when_its_terminal_closes(tmp_path: Path, signum: str) -> None:
    import fcntl
    import pty
    import signal
    import struct
    import termios
    import threading

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "demo"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=_demo_env(tmp_path),
        start_new_session=True,
    )
    os.close(slave)
    screen: list[bytes] = []

    def read() -> None:  # drain the terminal, as a terminal emulator would
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            screen.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        _wait_for(lambda: b"Environments" in b"".join(screen))
        assert _leftovers(tmp_path)
        proc.send_signal(getattr(signal, signum))
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert _leftovers(tmp_path) == []
