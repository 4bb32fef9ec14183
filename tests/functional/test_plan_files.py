"""Saved plans and exact apply (issue 28, item 1): `plan ... --out FILE`, then `apply FILE`.

End to end against the sandbox (dev, staging, prod sharing one release repository), through the CLI.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from test_plan_sticky import admin, cli, workspace
from test_rollout import fleet  # noqa: F401  (a fixture)

from tui.core.ops import planfile
from tui.sandbox.runner import Running

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]
PROMOTE = ("plan", "promote", "staging", "prod", "--groups", "base1")


def test_a_saved_plan_is_json_0600_with_what_it_read_on_every_target_and_its_digest(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "promote.plan"
    code, out, err = cli(capsys, *PROMOTE, "--out", str(out_file))
    assert code == 1 and "saved plan" in err and str(out_file) in err, out + err
    assert stat.S_IMODE(os.stat(out_file).st_mode) == 0o600
    doc = json.loads(out_file.read_text())
    assert doc["format"] == "prisme-deploy/plan" and doc["version"] == 1 and doc["kind"] == "promote"
    assert doc["environments"] == ["prod"] and doc["params"]["groups"] == ["base1"]
    assert doc["digest"] == planfile.digest_of({k: v for k, v in doc.items() if k not in ("digest", "author")})
    read = doc["reads"]["prod:securechat"]
    assert read["exists"] is True and read["version"] == "v1.1.0" and len(read["content"]) == 64
    assert doc["reads"]["staging:securechat"]["version"] == "v1.2.0"  # a promotion's source is read too
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_apply_runs_exactly_the_saved_promotion_and_the_plan_then_shows_no_change(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "p.plan"
    assert cli(capsys, *PROMOTE, "--out", str(out_file))[0] == 1
    code, out, err = cli(capsys, "apply", str(out_file), "--yes")
    assert code == 0 and "every target reads as it did" in err and "Promoted staging:securechat to prod" in out, (
        out + err
    )
    code, out, err = cli(capsys, *PROMOTE, "--json")
    assert code == 0 and json.loads(out)["changes"] is False, out + err


def test_apply_refuses_when_a_target_changed_since_the_plan_naming_the_target_and_the_change(
    configured: Path, platform: dict[str, Running], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "p.plan"
    assert cli(capsys, *PROMOTE, "--out", str(out_file))[0] == 1
    prod = platform["prod"]
    bot = workspace(prod, "securechat")
    admin(prod, "POST", f"/v2/workspaces/{bot['id']}/writeLock", json={"reason": "merge_conflict"})
    before = workspace(prod, "securechat")
    code, out, err = cli(capsys, "apply", str(out_file), "--yes")
    assert code == 1 and "no longer matches its targets" in err, out + err
    assert "prod:securechat: write lock none → merge_conflict" in err and "Nothing was done" in err
    after = workspace(prod, "securechat")
    assert after.get("lastPull") == before.get("lastPull") and "Promoted" not in out


def test_apply_refuses_a_bulk_import_plan_whose_repository_head_moved(
    configured: Path, platform: dict[str, Running], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_policy import commit_policy

    out_file = tmp_path / "b.plan"
    args = ("plan", "bulk-import", "--env", "dev", "--repository", "release", "--groups", "base1")
    cli(capsys, *args, "--out", str(out_file))
    assert out_file.is_file()
    commit_policy(configured, "", tmp_path)  # any commit moves the branch head
    code, out, err = cli(capsys, "apply", str(out_file), "--yes")
    assert code == 1 and "repository:release: branch head" in err, out + err


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"x" * (planfile.MAX_BYTES + 1), "larger than 4 MB"),
        (b"\xff\xfe not json", "not a JSON plan file"),
        (b'{"format": "terraform"}', "not a prisme-deploy plan"),
        (b"[" * 100_000, "not a JSON plan file"),
    ],
    ids=["too-big", "not-utf8", "other-format", "deeply-nested"],  # an id holding 4 MB would reach every subprocess
)
def test_a_plan_file_is_hostile_input_refused_with_a_clear_error(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, said: str
) -> None:
    bad = tmp_path / "bad.plan"
    bad.write_bytes(content)
    for command in ("apply", "approve"):
        code, out, err = cli(capsys, command, str(bad), "--yes")
        assert code == 2 and said in err and "Traceback" not in err, out + err


def test_a_plan_edited_after_it_was_saved_is_refused(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "p.plan"
    cli(capsys, *PROMOTE, "--out", str(out_file))
    doc = json.loads(out_file.read_text())
    doc["params"]["groups"] = ["base1", "extended"]
    out_file.write_text(json.dumps(doc))
    code, out, err = cli(capsys, "apply", str(out_file), "--yes")
    assert code == 2 and "edited after it was saved" in err, out + err


def test_out_in_a_folder_that_does_not_exist_writes_nothing(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, *PROMOTE, "--out", str(tmp_path / "nowhere" / "p.plan"))
    assert code == 2 and "does not exist; nothing was written" in err, out + err
    assert not (tmp_path / "nowhere").exists()


def test_a_saved_rollout_plan_is_applied_stage_by_stage_through_the_rollout(
    fleet: dict[str, Running],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "r7")[0] == 0
    out_file = tmp_path / "rollout.plan"
    code, out, err = cli(capsys, "plan", "rollout", "r7", "--groups", "base1", "--out", str(out_file))
    doc = json.loads(out_file.read_text())
    assert code == 1 and doc["kind"] == "rollout" and doc["environments"] == ["staging", "prod", "prod-us"]
    assert "repository:release" in doc["reads"] and "prod-us:securechat" in doc["reads"]
    code, out, err = cli(capsys, "apply", str(out_file), "--yes")
    assert code == 0 and "rollout r7: completed" in out, out + err
    code, out, err = cli(capsys, "plan", "rollout", "r7", "--groups", "base1", "--json")
    assert code == 0 and json.loads(out)["changes"] is False, out + err


def test_a_plan_rewritten_with_a_matching_digest_is_still_schema_checked(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The digest binds approvals to content; it is no signature: a rewritten file is read as hostile."""
    out_file = tmp_path / "p.plan"
    cli(capsys, *PROMOTE, "--out", str(out_file))
    doc = json.loads(out_file.read_text())
    doc["summary"]["items"][0]["workspace"] = "../../etc\n"
    doc["digest"] = planfile.digest_of({k: v for k, v in doc.items() if k not in ("digest", "author")})
    out_file.write_text(json.dumps(doc))
    code, out, err = cli(capsys, "apply", str(out_file), "--yes")
    assert code == 2 and "workspace '../../etc\\n'" in err and "Traceback" not in err, out + err


def test_a_saved_rollback_plan_is_applied_once_and_then_refused_since_the_workspace_moved(
    configured: Path, platform: dict[str, Running], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "rollback.plan"
    args = ("plan", "rollback", "securechat", "v1.1.0", "--env", "staging", "--repository", "release")
    code, out, err = cli(capsys, *args, "--out", str(out_file))
    assert code == 1 and "v1.2.0 → v1.1.0" in out, out + err
    doc = json.loads(out_file.read_text())
    assert doc["kind"] == "rollback" and doc["environments"] == ["staging"]
    assert "version:release:securechat@v1.1.0" in doc["reads"] and "staging:securechat" in doc["reads"]
    code, out, err = cli(capsys, "apply", str(out_file), "--yes")
    assert code == 0, out + err
    assert workspace(platform["staging"], "securechat")["lastPull"]["version"] == "v1.1.0"
    code, out, err = cli(capsys, "apply", str(out_file), "--yes")
    assert code == 1 and "staging:securechat: version v1.2.0 → v1.1.0" in err, out + err


def test_a_plan_for_an_environment_needing_approvals_is_not_written_when_its_ledger_is_out_of_reach(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_policy import commit_policy

    commit_policy(configured, "[environments.prod]\napprovals = 1\n", tmp_path)
    out_file = tmp_path / "p.plan"
    code, out, err = cli(capsys, *PROMOTE, "--out", str(out_file))
    assert code == 1 and "prod needs approvals, and its ledger cannot be reached" in err, out + err
    assert "nothing was written" in err and not out_file.exists()
