"""Issue 27 (6): every stream ends with a document. The last JSON line of `bulk-push`, `bulk-import` and
`rollout` is the run's summary, with exactly the fields the README documents; notices go to stderr."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import set_faults

from tui.cli.main import main
from tui.sandbox.runner import Running

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]

README = Path(__file__).resolve().parents[2] / "README.md"


def documented() -> tuple[set[str], set[str], set[str]]:
    """The summary's fields as the README's JSON section lists them: (every stream's, a bulk run's extra,
    a rollout's extra). Read from its "Run summary" bullet: one `{...}` code span each, in that order."""
    text = README.read_text(encoding="utf-8")
    start = text.index("- Run summary:")
    bullet = text[start : text.index("\n- ", start + 1)]
    spans = re.findall(r"`(\{[^`]*\})`", bullet)
    assert len(spans) >= 3, bullet
    keys = [set(re.findall(r'"(\w+)"', re.sub(r':\s*"[^"]*"', "", span))) for span in spans[:3]]
    return keys[0], keys[1], keys[2]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict], str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines() if line.strip()], err


def summary_of(lines: list[dict], extra: set[str]) -> dict:
    """The last line, checked against the README: the documented fields, no more, no fewer."""
    common, _, _ = documented()
    last = lines[-1]
    assert set(last) == common | extra, sorted(set(last) ^ (common | extra))
    assert last["kind"] == "summary" and all(line.get("kind") != "summary" for line in lines[:-1])
    return last


def test_the_readme_documents_the_summary_fields() -> None:
    common, bulk, rollout = documented()
    assert common == {"kind", "operation", "status", "done", "stoppedAt", "skippedWhileLocked", "failed"}
    assert bulk == {"env", "notices", "summaries"} and rollout == {"release", "failure", "rollback", "steps"}


def test_bulk_push_ends_with_its_summary(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, bulk, _ = documented()
    push = ("bulk-push", "--env", "dev", "--repository", "release", "--name", "v4.0.0", "--json")
    code, lines, _ = cli(capsys, *push, "--groups", "base1")
    last = summary_of(lines, bulk)
    assert code == 0 and last["status"] == "completed" and last["failed"] is False
    assert last["operation"] == "bulk-push" and last["done"] == ["base1"] and last["stoppedAt"] is None
    assert last["summaries"] == [line["payload"] for line in lines if line["kind"] == "completed"]

    code, lines, _ = cli(capsys, *push[:-3], "--name", "v4.0.1", "--json", "--groups", "extended")
    last = summary_of(lines, bulk)  # ticket-triage is locked: skipped, so the run failed
    assert code == 1 and last["status"] == "failed" and last["failed"] is True and last["done"] == []
    assert last["skippedWhileLocked"] == ["ticket-triage"]


def test_a_stopped_bulk_import_ends_with_its_summary_and_says_why_on_stderr(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    _, bulk, _ = documented()
    set_faults(platform["staging"], import_fail={"doc-search": "SlugAlreadyInUse"})  # doc-search is in base2
    args = ("bulk-import", "--env", "staging", "--repository", "release", "--force-reimport", "--json")
    code, lines, err = cli(capsys, *args, "--groups", "base1,base2,extended")
    last = summary_of(lines, bulk)
    assert code == 1 and last["status"] == "stopped" and last["stoppedAt"] == "base2" and last["failed"] is True
    assert last["operation"] == "bulk-import" and last["done"] == ["base1"]
    assert all(line["kind"] != "notice" for line in lines)  # words go to stderr
    assert "not importing extended" in err and "not importing extended" in last["notices"][-1]


def test_bulk_import_continue_on_error_imports_every_group_and_still_fails(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    _, bulk, _ = documented()
    set_faults(platform["staging"], import_fail={"doc-search": "SlugAlreadyInUse"})
    args = ("bulk-import", "--env", "staging", "--repository", "release", "--force-reimport", "--json")
    code, lines, err = cli(capsys, *args, "--groups", "base1,base2,extended", "--continue-on-error")
    last = summary_of(lines, bulk)
    assert code == 1 and last["status"] == "failed" and last["stoppedAt"] is None and last["failed"] is True
    assert last["done"] == ["base1", "extended"]  # base2 had errors; the next group was imported anyway
    assert [line["group"] for line in lines if line["kind"] == "completed"] == ["base1", "base2", "extended"]
    assert "not importing" not in err
    code, audit, _ = cli(capsys, "audit", "--json")
    imports = [entry for entry in audit if entry["action"] == "bulk-import"]
    assert code == 0 and [entry["outcome"] for entry in imports] == ["failed"]  # kept going, still a failure


def test_a_clean_bulk_import_ends_with_a_completed_summary(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, bulk, _ = documented()
    args = ("bulk-import", "--env", "staging", "--repository", "release", "--json", "--continue-on-error")
    code, lines, _ = cli(capsys, *args, "--groups", "base1,base2")
    last = summary_of(lines, bulk)
    assert code == 0 and last["status"] == "completed" and last["failed"] is False and last["stoppedAt"] is None
    assert last["operation"] == "bulk-import" and last["done"] == ["base1", "base2"]
    assert last["summaries"] == [line["payload"] for line in lines if line["kind"] == "completed"]
    assert last["env"] == "staging" and last["skippedWhileLocked"] == []


ROLLOUT = """
[[rollout]]
stage = "staging"
environments = ["staging"]

[[smoke]]
workspace = "knowledge-base"
automation = "healthcheck"
"""


def test_rollout_ends_with_its_summary(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, rollout = documented()
    configured.write_text(configured.read_text(encoding="utf-8") + ROLLOUT, encoding="utf-8")
    assert main(["release", "snapshot", "--from-repository", "--name", "r1"]) == 0
    capsys.readouterr()
    set_faults(platform["staging"], smoke_fail=["knowledge-base"])
    code, lines, _ = cli(capsys, "rollout", "r1", "--groups", "base1", "--yes", "--json")
    last = summary_of(lines, rollout)
    assert code == 1 and last["status"] == "stopped" and last["stoppedAt"] == "staging" and last["failed"] is True
    assert last["operation"] == "rollout" and last["done"] == [] and last["failure"]["gate"] == "smoke"

    set_faults(platform["staging"], smoke_fail=[])
    code, lines, _ = cli(capsys, "rollout", "r1", "--resume", "--yes", "--json")
    last = summary_of(lines, rollout)
    assert code == 0 and last["status"] == "completed" and last["failed"] is False
    assert last["done"] == ["staging"] and last["stoppedAt"] is None and last["failure"] is None
