"""Team policy from the platform repository (issue 28, item 5): `.prisme-deploy/policy.toml` at the branch
head, merged with the personal configuration so that a personal file tightens it and never loosens it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tui.cli.main import main

pytestmark = pytest.mark.e2e

TEAM = """[environments.prod]
approvals = 2
require_reason = true
freeze = ["2026-12-24/2026-12-26"]

[environments.dev]
freeze = ["2000-01-01/2099-12-31"]
"""


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def commit_policy(config: Path, text: str, tmp_path: Path) -> str:
    """Commit ``text`` as the team policy at the head of the platform repository; its commit."""
    bare = next(line for line in config.read_text().splitlines() if "release.git" in line).split('"')[1]
    work = tmp_path / "policy-work"
    _git(tmp_path, "clone", "-q", bare, str(work))
    (work / ".prisme-deploy").mkdir(exist_ok=True)
    (work / ".prisme-deploy" / "policy.toml").write_text(text, encoding="utf-8")
    _git(work, "add", ".prisme-deploy/policy.toml")
    _git(work, "-c", "user.name=lead", "-c", "user.email=lead@example.com", "commit", "-q", "-m", "team policy")
    _git(work, "push", "-q", "origin", "HEAD")
    return _git(work, "rev-parse", "HEAD").strip()


def personal(config: Path, env: str, *lines: str) -> None:
    """Add keys to ``[environments.<env>]`` of the personal file."""
    text = config.read_text().replace(f"[environments.{env}]\n", f"[environments.{env}]\n" + "\n".join(lines) + "\n")
    config.write_text(text, encoding="utf-8")


def test_policy_show_merges_the_repository_policy_and_a_loosening_personal_file_is_overridden(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit = commit_policy(configured, TEAM, tmp_path)
    personal(configured, "prod", "approvals = 1", "require_reason = false", 'freeze = ["Sat 00:00-Sun 23:59"]')
    code, out, err = cli(capsys, "policy", "show", "--env", "prod", "--json")
    assert code == 0, err
    prod = json.loads(out)["environments"][0]
    assert prod["repository"] == f"release@{commit[:7]}"
    assert prod["approvals"]["value"] == 2 and prod["approvals"]["sources"] == [
        f"release@{commit[:7]}:.prisme-deploy/policy.toml:2"
    ]
    assert prod["require_reason"]["value"] is True
    assert prod["freeze"]["value"] == ["2026-12-24/2026-12-26", "Sat 00:00-Sun 23:59"]
    assert any(source.startswith(str(configured)) for source in prod["freeze"]["sources"])
    loosened = " ".join(prod["notes"])
    assert "approvals = 1, looser than the team policy" in loosened and "2 applies" in loosened
    assert "require_reason = false, looser than the team policy" in loosened
    code, out, _ = cli(capsys, "policy", "show", "--env", "prod")
    assert "approvals       2  (release@" in out and "note: " in out and "looser than the team policy" in out


def test_a_personal_file_may_tighten_the_team_policy(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit_policy(configured, TEAM, tmp_path)
    personal(configured, "prod", "approvals = 3")
    code, out, _ = cli(capsys, "policy", "show", "--env", "prod", "--json")
    prod = json.loads(out)["environments"][0]
    assert code == 0 and prod["approvals"]["value"] == 3 and prod["notes"] == []
    assert prod["approvals"]["sources"] == [f"{configured}:{_line(configured, 'approvals = 3')}"]


def _line(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if line.strip() == text)


def test_a_freeze_window_of_the_team_policy_refuses_a_change_the_personal_file_knows_nothing_of(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "freeze =" not in configured.read_text()
    commit_policy(configured, TEAM, tmp_path)
    code, out, err = cli(capsys, "unlock", "securechat", "--env", "dev", "--yes")
    assert code == 1 and "dev is frozen" in err and "2000-01-01/2099-12-31" in err, out + err


def test_approvals_of_the_team_policy_refuse_a_direct_change(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit_policy(configured, "[environments.dev]\napprovals = 1\n", tmp_path)
    code, out, err = cli(capsys, "unlock", "securechat", "--env", "dev", "--yes")
    assert code != 0 and "dev needs 1 approval(s) of a saved plan" in err and "apply FILE" in err, out + err


def test_a_policy_file_that_is_not_a_policy_refuses_every_change_and_says_where(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit = commit_policy(configured, "[environments.prod]\napprovals = 'two'\n", tmp_path)
    code, out, err = cli(capsys, "unlock", "securechat", "--env", "dev", "--yes")
    assert code == 2 and f"release@{commit[:7]}:.prisme-deploy/policy.toml" in err and "approvals" in err, out + err
    code, _, err = cli(capsys, "policy", "show")
    assert code == 2 and "must be int" in err
