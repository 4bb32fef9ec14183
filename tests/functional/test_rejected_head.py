"""A rejected release at the repository's branch head is refused on every import path (the CLI's bulk import,
a plan and its apply, a rollout), by the core, with one message; and one definition says which release the
head is (a release with a null workspace the head does not carry is not the head). Through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from test_plan_sticky import cli
from test_rollout import fleet  # noqa: F401  (a fixture)

from tui.core import paths
from tui.sandbox.runner import Running

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]
IMPORT = ("--env", "staging", "--repository", "release", "--groups", "base1", "--force-reimport")
REFUSED = "the head of repository release is release bad, which was rejected"


def _imports(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    journal = [json.loads(line) for line in cli(capsys, "audit", "--json")[1].splitlines() if line.strip()]
    return [row for row in journal if row.get("action") == "bulk-import"]


def test_a_rejected_head_is_refused_by_plan_apply_and_bulk_import_before_anything_is_imported(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "import.plan"
    code, out, err = cli(capsys, "plan", "bulk-import", *IMPORT, "--out", str(saved))
    assert code in (0, 1) and saved.is_file(), out + err
    # Kept locally: the mark is no commit, so the saved plan still reads as it did (only the verdict changed).
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "bad", "--store", "local")[0] == 0
    assert cli(capsys, "release", "reject", "bad", "--reason", "kb answers in the wrong language")[0] == 0

    code, out, err = cli(capsys, "apply", str(saved), "--yes")
    assert code == 1 and REFUSED in err and "kb answers in the wrong language" in err, out + err
    assert "release accept bad" in err and "roll the repository back" in err
    code, out, err = cli(capsys, "plan", "bulk-import", *IMPORT, "--out", str(tmp_path / "again.plan"))
    assert code == 1 and REFUSED in err and not (tmp_path / "again.plan").exists(), out + err
    code, out, err = cli(capsys, "bulk-import", *IMPORT, "--yes")
    assert code == 1 and REFUSED in err, out + err
    assert _imports(capsys) == []  # refused before the import's journal entry, lease or snapshot


def test_a_rollout_whose_import_would_bring_a_rejected_head_is_refused_before_any_stage(
    fleet: dict[str, Running],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Two names for the head's content: "good" is not rejected, but a rollout of it imports the head, "bad".
    for name in ("good", "bad"):
        assert cli(capsys, "release", "snapshot", "--from-repository", "--name", name)[0] == 0
    assert cli(capsys, "release", "reject", "bad", "--reason", "kb answers in the wrong language")[0] == 0
    code, out, err = cli(capsys, "rollout", "good", "--groups", "base1", "--yes")
    assert code == 1 and REFUSED in err, out + err
    assert "[plan]" not in out and _imports(capsys) == []


def test_a_rejected_release_with_a_null_workspace_the_head_lacks_is_not_the_head_for_any_command(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "head")[0] == 0
    versions = json.loads(cli(capsys, "release", "show", "head", "--json")[1])["workspaces"]
    # A dev snapshot: every version the head has, plus a workspace whose version was unknown (null).
    folder = paths.data_dir() / "releases" / "release"
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"release": "dev1", "repository": "release", "workspaces": {**versions, "support-bot-dev": None}}
    (folder / "dev1.yml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    assert cli(capsys, "release", "reject", "dev1", "--reason", "broken on dev")[0] == 0

    code, out, err = cli(capsys, "release", "list")
    assert code == 0 and "REJECTED" not in err, out + err  # no warning: the head is "head", not dev1
    code, out, err = cli(capsys, "plan", "bulk-import", *IMPORT)
    assert code in (0, 1) and "rejected" not in err, out + err
    code, out, err = cli(capsys, "bulk-import", *IMPORT, "--yes")
    assert code == 0 and "rejected" not in err, out + err

    # The same release without the null workspace is the head: refused, with the warning.
    assert cli(capsys, "release", "reject", "head", "--reason", "bad after all")[0] == 0
    code, out, err = cli(capsys, "bulk-import", *IMPORT, "--yes")
    assert code == 1 and "is release head, which was rejected" in err and "is release head, REJECTED" in err


def test_accepting_twice_with_another_reason_is_refused_and_with_the_same_reason_is_a_no_op(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "release", "snapshot", "--from-repository", "--name", "r1", "--store", "local")[0] == 0
    assert cli(capsys, "release", "accept", "r1", "--reason", "checked by QA")[0] == 0
    code, out, err = cli(capsys, "release", "accept", "r1", "--reason", "checked  by QA")
    assert code == 0 and "already accepted by" in err and "nothing changed" in err, out + err
    code, out, err = cli(capsys, "release", "accept", "r1", "--reason", "another reason")
    assert code == 1 and "already accepted by" in err and "checked by QA" in err and "--replace" in err, out + err
    assert json.loads(cli(capsys, "release", "show", "r1", "--json")[1])["verdict"]["reason"] == "checked by QA"
    code, out, err = cli(capsys, "release", "accept", "r1", "--reason", "another reason", "--replace")
    assert code == 0, out + err
    verdict = json.loads(cli(capsys, "release", "show", "r1", "--json")[1])["verdict"]
    assert verdict["reason"] == "another reason" and "checked by QA" in verdict["replaces"]
