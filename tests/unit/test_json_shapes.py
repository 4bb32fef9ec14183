"""One JSON shape per type: `--json` prints through one registry (tui/cli/exporters.py), and what the
README's JSON section documents, field by field, is what the exporters emit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tui.cli import exporters
from tui.cli.output import Printer
from tui.core import errors as E
from tui.core.api.bulk import BulkEvent, BulkTally
from tui.core.api.models import Event, PullResult, Version, Workspace
from tui.core.audit import AuditEntry
from tui.core.jsonshape import Exported, Shape
from tui.core.ops import matrix
from tui.core.ops.actions import Outcome
from tui.core.ops.health import Health
from tui.core.ops.snapshots import Snapshot

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
JSON_SECTION = README[
    README.index("`--json` prints one JSON document") : README.index(
        "```bash", README.index("`--json` prints one JSON document")
    )
]


def documented(label: str) -> tuple[set[str], set[str]]:
    """The top-level fields of the README bullet starting with ``label``: (always there, optional ``"x"?``)."""
    start = JSON_SECTION.index(f"\n- {label}")
    bullet = JSON_SECTION[start : JSON_SECTION.find("\n- ", start + 1)]
    span = next(s for s in re.findall(r"`(\[?\{.*?\}\]?)`", bullet, re.S) if s.count("{") == s.count("}"))
    span = span.strip("[]")[1:-1]  # inside the outer braces
    span = re.sub(r':\s*"[^"]*"', "", span)  # "kind": "started|progress" names a value, not a field
    while re.search(r"[\[{][^\[\]{}]*[\]}]", span):  # nested objects and lists: not top-level fields
        span = re.sub(r"[\[{][^\[\]{}]*[\]}]", "", span)
    fields = re.findall(r'"(\w+)"(\??)', span)
    return {name for name, mark in fields if not mark}, {name for name, mark in fields if mark}


def test_the_readme_parser_reads_what_it_should() -> None:
    assert documented("`events`") == ({"id", "type", "createdAt", "payload", "source"}, set())
    always, optional = documented("`push`")
    assert {"ok", "message", "steps"} == always and {"nextStep", "workspace", "contentNote"} <= optional


def test_events_versions_and_bulk_lines_are_as_documented() -> None:
    event = Event("1", "workspaces.imported", "2026-01-01T00:00:00Z", {"x": 1}, {"userId": "u"})
    assert set(exporters.export(event)) == documented("`events`")[0]
    version = Version("v1", "2026-01-01T00:00:00Z", "first", "release")
    assert set(exporters.version(version, live="v1", changes={})) == documented("`versions`")[0]
    assert "changes" not in exporters.version(version, events=False)  # unknown is not "no change"
    always, _ = documented("`bulk-push`, `bulk-import`")
    progress = BulkEvent("progress", {"workspaceSlug": "a"}, "import", "base1")
    assert set(exporters.export(progress)) == always
    pushed = exporters.bulk_event(BulkEvent("completed", {}, "push", "base1"), BulkTally())
    assert set(pushed) == always | {"skippedWhileLocked"} and "skippedWhileLocked" in JSON_SECTION


def test_audit_and_errors_are_as_documented() -> None:
    always, optional = documented("`audit`")
    assert set(AuditEntry("push", "dev").to_json()) == always
    assert set(AuditEntry("push", "dev", break_glass="incident 42").to_json()) == always | optional
    always, _ = documented("Errors")
    assert set(E.NotFound("x").to_json()) == always


def test_matrix_is_as_documented() -> None:
    always, _ = documented("`matrix`")
    m = matrix.Matrix(["dev", "prod"], ["a"])
    m.cells[("a", "dev")] = matrix.Cell(True, "v1", "x")
    assert {"title", *m.to_json()} == always


def test_outcomes_are_as_documented() -> None:
    always, optional = documented("`push`")
    bare = Outcome(True, "done")
    assert set(bare.to_json()) == always
    ws = Workspace.from_json({"id": "w1", "slug": "shop", "name": "Shop"})
    full = Outcome(
        False,
        "failed",
        workspace=ws,
        result=PullResult(("a.yml",), ("b.yml",), ({"error": "X"},), {}),
        version=Version("v1", None, "", "release"),
        steps=["pull"],
        next_step="retry",
        snapshot_id="s1",
        content_note="from git",
        notes=["adapted"],
        warnings=["index refreshed"],
    )
    assert set(full.to_json()) == always | optional


def test_a_type_whose_json_is_its_fields_exports_every_field_once() -> None:
    health = Health("dev", True, True, True, capabilities=None)
    assert set(health.to_json()) == {
        *("env", "state", "reachable", "tokenValid", "ready", "user", "message", "readinessEndpoint"),
        *("tokenExpires", "tokenSource"),
    }
    assert (
        health.to_json()["state"] == "up"
        and "capabilities" in Health("dev", True, True, True, capabilities={}).to_json()
    )
    snap = Snapshot("i", "dev", "shop", "t", "v1", "pull", 10, Path("/tmp/x.zip"), dirty=False)
    assert snap.to_json()["archive"] == "/tmp/x.zip" and snap.to_json()["liveVersion"] == "v1"


def test_the_registry_prints_every_type_in_its_one_shape(capsys: pytest.CaptureFixture[str]) -> None:
    from dataclasses import dataclass

    @dataclass
    class Probe(Exported):
        JSON = Shape(rename={"long_name": "name"}, exclude=("secret",), omit_none=("maybe",))
        long_name: str
        secret: str
        maybe: str | None = None

    printer = Printer(json_mode=True)
    printer.data([Probe("a", "s"), Health("dev", False, None, None)])
    printed = json.loads(capsys.readouterr().out)
    assert printed[0] == {"name": "a"} and printed[1]["state"] == "down"
