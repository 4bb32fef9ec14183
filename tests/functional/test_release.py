"""Issue 16: releases recorded from an environment or the repository head, stored in the repository
(or locally), listed, shown and compared, against the sandbox through the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tui.cli.main import main
from tui.core.ops.release import Release, diff
from tui.sandbox.runner import Running

pytestmark = pytest.mark.e2e


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_release_diff_names_added_removed_and_changed_workspaces() -> None:
    found = diff({"a": "v1", "b": "v1", "c": "v1"}, {"a": "v1", "b": "v2", "d": "v1"})
    assert [(d.workspace, d.state) for d in found] == [("b", "changed"), ("c", "removed"), ("d", "added")]


def test_a_manifest_round_trips_and_a_broken_one_is_refused_clearly() -> None:
    release = Release("2026.12.1", {"b": "v2", "a": None}, source={"kind": "environment", "env": "staging"})
    loaded = Release.load(release.dump(), storage="local", where="x")
    assert loaded.workspaces == {"a": None, "b": "v2"} and loaded.source["env"] == "staging"
    with pytest.raises(Exception, match="needs 'release'"):
        Release.load("release: x\nworkspaces: [1]\n", storage="local", where="bad.yml")


def test_snapshot_an_environment_into_the_repository_then_diff_it_against_environments(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "release", "snapshot", "--env", "staging", "--name", "2026.12.1")
    assert code == 0 and "in repository release" in out, err
    repo = Path(platform["dev"].sandbox.data_dir).parent / "release.git"
    manifest = subprocess.run(
        ["git", "show", "main:.releases/2026.12.1.yml"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    assert "release: 2026.12.1" in manifest and "support-bot: v1.2.0" in manifest

    code, out, _ = cli(capsys, "release", "list", "--json")
    assert code == 0 and [r["release"] for r in json.loads(out)] == ["2026.12.1"]
    code, out, _ = cli(capsys, "release", "show", "2026.12.1", "--json")
    assert json.loads(out)["workspaces"]["support-bot"] == "v1.2.0"

    code, out, _ = cli(capsys, "release", "diff", "--env", "staging", "2026.12.1", "--json")
    assert code == 0 and json.loads(out)["identical"] is True
    code, out, _ = cli(capsys, "release", "diff", "--env", "prod", "2026.12.1", "--json")
    changed = {d["workspace"]: d for d in json.loads(out)["differences"]}
    assert code == 1 and changed["support-bot"]["from"] == "v1.2.0" and changed["support-bot"]["to"] == "v1.1.0"

    code, _, err = cli(capsys, "release", "snapshot", "--env", "staging", "--name", "2026.12.1")
    assert code == 2 and "already exists" in err


def test_local_storage_and_a_diff_between_two_releases(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "release", "snapshot", "--env", "prod", "--name", "prod-now", "--store", "local")[0] == 0
    code, out, _ = cli(capsys, "release", "snapshot", "--from-repository", "--name", "head")
    assert code == 0
    code, out, _ = cli(capsys, "release", "list", "--json")
    stored = {r["release"]: r["storage"] for r in json.loads(out)}
    assert stored == {"prod-now": "local", "head": "repository"}
    code, out, _ = cli(capsys, "release", "diff", "prod-now", "head")
    assert code == 1 and "support-bot" in out and "changed" in out


def test_a_drifted_workspace_is_reported_against_its_release(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "release", "snapshot", "--env", "prod", "--name", "p1", "--store", "local")[0] == 0
    code, out, _ = cli(capsys, "release", "diff", "--env", "prod", "p1", "--json")
    drifted = {d["workspace"] for d in json.loads(out)["differences"] if d["state"] == "drifted"}
    assert code == 1 and "hr-assistant" in drifted  # the seed's edit on prod since its import
