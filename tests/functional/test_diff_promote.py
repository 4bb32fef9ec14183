"""The diff engine, cross-environment diffs, drift, promotion (pairs too) and safety snapshots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.cli.main import main
from tui.core.api.models import Workspace
from tui.core.diff import compute_hunks, diff_files
from tui.core.ops.snapshots import SnapshotStore
from tui.sandbox.runner import Running


def test_normalisation_hides_reordered_keys_but_shows_changed_values() -> None:
    old = {"automations/a.yml": b"slug: a\nname: A\ndo:\n  - set: {name: x, value: 1}\n"}
    reordered = {"automations/a.yml": b"name: 'A'\nslug: a\ndo:\n- set:\n    value: 1\n    name: x\n"}
    changed = {"automations/a.yml": b"name: A\nslug: a\ndo:\n- set:\n    value: 2\n    name: x\n"}
    assert diff_files(old, reordered).identical
    assert not diff_files(old, reordered, raw=True).identical
    result = diff_files(old, changed)
    assert [f.status for f in result.files] == ["modified"]
    assert result.files[0].stat == (1, 1)
    assert "-    value: 1" in result.patch() and "+    value: 2" in result.patch()


def test_added_removed_renamed_and_metadata_ignored() -> None:
    old = {
        "pages/a.yml": b"slug: a\n",
        "automations/x.yml": b"slug: x\n",
        ".import.yml": b"version: 1\n",
        "index.yml": b"name: W\nslug: one\nid: 1\n",
    }
    new = {
        "pages/b.yml": b"slug: a\n",
        "automations/y.yml": b"slug: y\n",
        ".import.yml": b"version: 2\n",
        "index.yml": b"name: W\nslug: two\nid: 2\n",
    }
    statuses = {f.path: f.status for f in diff_files(old, new).files}
    assert statuses == {"pages/b.yml": "renamed", "automations/x.yml": "removed", "automations/y.yml": "added"}


def test_hunks_and_intraline_spans() -> None:
    old = "\n".join(f"line {n}" for n in range(30)) + "\nmodel: gpt-4o\n"
    new = "\n".join(f"line {n}" for n in range(30)) + "\nmodel: gpt-4o-mini\n"
    hunks = compute_hunks(old, new)
    assert len(hunks) == 1 and hunks[0].old_start == 28
    minus = next(line for line in hunks[0].lines if line.kind == "-")
    plus = next(line for line in hunks[0].lines if line.kind == "+")
    assert plus.spans == ((13, 18),) and not minus.spans


def test_snapshot_pruning_keeps_the_bound(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, keep=3, max_mb=1)
    ws = Workspace.from_json({"id": "w1", "slug": "bot", "name": "Bot"})
    for _ in range(5):
        store.save("prod", ws, b"PK" + b"x" * 100, "rollback")
    assert len(store.list("prod", "bot")) == 3
    big = SnapshotStore(tmp_path / "big", keep=10, max_mb=0.5)
    for _ in range(3):
        big.save("prod", ws, b"PK" + b"x" * 300_000, "pull")
    assert len(big.list("prod", "bot")) == 1  # 0.5 MB holds one 300 KB snapshot


@pytest.mark.e2e
def test_cli_diff_across_environments_and_versions(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["diff", "--from", "staging:hr-assistant", "--to", "prod:hr-assistant", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1 and not result["identical"]
    assert {f["path"]: f["status"] for f in result["files"]}["automations/healthcheck.yml"] == "removed"
    assert main(["diff", "--from", "dev:securechat", "--to", "staging:securechat", "--stat"]) == 0
    capsys.readouterr()
    assert main(["diff", "--from", "prod:securechat@v1.0.0", "--to", "prod:securechat@v1.1.0", "--stat"]) == 1
    assert "automations/chat.yml" in capsys.readouterr().out


@pytest.mark.e2e
def test_promotion_detects_drift_then_leaves_no_diff(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    promote = ["promote", "--from", "staging:hr-assistant", "--to", "prod:hr-assistant", "--yes", "--reason", "T-1"]
    code = main(promote)
    assert code == 2 and "edited since its last import" in capsys.readouterr().err
    code = main([*promote, "--accept-drift", "--json"])
    outcome = json.loads(capsys.readouterr().out)
    assert code == 0 and outcome["ok"] and outcome["snapshot"]
    assert main(["diff", "--from", "staging:hr-assistant", "--to", "prod:hr-assistant"]) == 0


@pytest.mark.e2e
def test_pair_promotion_on_one_instance_leaves_no_diff(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--from", "dev:support-bot-dev", "--to", "dev:support-bot", "--stat"]) == 1
    assert main(["promote", "--from", "dev:support-bot-dev", "--to", "dev:support-bot", "--via", "archive"]) == 0
    capsys.readouterr()
    assert main(["diff", "--from", "dev:support-bot-dev", "--to", "dev:support-bot"]) == 0


@pytest.mark.e2e
def test_rollback_on_prod_then_restore_brings_back_exactly_the_content(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from tui.core.api.client import PrismeClient
    from tui.core.diff import files_from_zip

    async def export() -> dict[str, bytes]:
        async with PrismeClient(platform["prod"].url, platform["prod"].token) as api:
            return files_from_zip(await api.export((await api.find_workspace("meeting-notes")).id))

    before = asyncio.run(export())
    rollback = ["rollback", "meeting-notes", "v1.0.0", "--repository", "release", "--env", "prod", "--yes", "--json"]
    assert main([*rollback, "--reason", "INC-2"]) == 0
    snapshot = json.loads(capsys.readouterr().out)["snapshot"]
    assert not diff_files(before, asyncio.run(export())).identical
    assert main(["snapshots", "restore", snapshot, "--yes", "--reason", "INC-2"]) == 0
    assert "Restored meeting-notes" in capsys.readouterr().out
    assert diff_files(before, asyncio.run(export())).identical
    main(["snapshots", "list", "--env", "prod", "--json"])
    listed = json.loads(capsys.readouterr().out)
    assert {s["action"] for s in listed} == {"rollback", "restore"}
