"""The CLI as a user runs it (issue 26): the global --config, the token's source, the demo's folder."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.cli.main import main

ROOT = Path(__file__).resolve().parents[2]  # tests/<layer>/this file


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", [["config", "validate"], ["config", "show", "--json"], ["info", "--json"]])
def test_the_global_config_flag_is_the_file_every_subcommand_reads(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    usual = tmp_path / "usual.toml"
    usual.write_text('[environments.dev]\nurl = "http://127.0.0.1:1"\n')
    chosen = tmp_path / "chosen.toml"
    chosen.write_text('[environments.ci]\nurl = "http://127.0.0.1:2"\n')
    monkeypatch.setenv("PRISME_DEPLOY_CONFIG", str(usual))
    code, out, err = cli(capsys, "--config", str(chosen), *command)
    assert code == 0, err
    assert str(chosen) in out and "usual.toml" not in out
    broken = tmp_path / "broken.toml"
    broken.write_text("[environments.x]\nurl = 3\n")
    if command == ["config", "validate"]:
        code, out, err = cli(capsys, "--config", str(broken), *command)
        assert code == 2 and "broken.toml" in err  # not a false green from the usual file
    code, out, err = cli(capsys, *command, "--config", str(chosen))  # after the command too
    assert code == 0 and str(chosen) in out
    if "--json" in command:
        json.loads(out)


def test_envs_json_says_a_token_from_the_environment_comes_from_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[environments.ci]\nurl = "http://127.0.0.1:2"\n[environments.other]\nurl = "http://127.0.0.1:3"\n'
    )
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_CI", "at:not-a-real-token")
    code, out, err = cli(capsys, "--config", str(config), "envs", "--json")
    assert code == 0, err
    sources = {e["name"]: e["tokenSource"] for e in json.loads(out)}
    assert sources == {"ci": "environment", "other": None}  # the keyring is not asked without --tokens
    assert "not-a-real-token" not in out


def _demo(data: Path, config: Path) -> tuple[subprocess.Popen[str], list[str]]:
    """`prisme-deploy demo --no-ui --data DATA --write-config CONFIG`, until it serves."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "demo", "--no-ui", "--data", str(data), "--write-config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Serving until"):
            return proc, lines
    proc.kill()
    raise AssertionError("\n".join(lines))


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _source(env_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for line in env_file.read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        monkeypatch.setenv(name, shlex.split(value)[0])


def test_the_demo_resumes_its_folder_and_writes_a_ready_configuration_for_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, config = tmp_path / "demo", tmp_path / "demo.toml"
    proc, lines = _demo(data, config)
    try:
        env_file = Path(f"{config}.env")
        assert oct(env_file.stat().st_mode & 0o777) == "0o600"
        assert "token" not in config.read_text().lower().replace("tokens", "")  # the tokens stay in the .env
        _source(env_file, monkeypatch)
        code, out, err = cli(
            capsys,
            "push",
            "--env",
            "dev",
            "support-bot",
            "--name",
            "v9.9.9",
            "-m",
            "kept",
            "--repository",
            "release",
            "--yes",
        )
        assert code == 0, out + err
        first_token = os.environ["PRISME_DEPLOY_TOKEN_DEV"]
    finally:
        _stop(proc)
    proc, lines = _demo(data, config)
    try:
        assert any(line.startswith("resumed the demo") for line in lines), lines
        _source(Path(f"{config}.env"), monkeypatch)
        assert os.environ["PRISME_DEPLOY_TOKEN_DEV"] == first_token  # same tokens
        code, out, err = cli(capsys, "versions", "--env", "dev", "support-bot", "--json")
        assert code == 0, out + err
        assert "v9.9.9" in out  # the release pushed before the restart is still there
    finally:
        _stop(proc)
