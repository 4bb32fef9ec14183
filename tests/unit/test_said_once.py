"""QA's repeated words, each said once: a rollout step naming its environment twice, a refused release
"not the head of its repository (not head)", the Releases view's detail line "head not head"; and the time
cursor's instants read apart when records share a second."""

from __future__ import annotations

import datetime as dt

import pytest

from tui.app.controllers.releases import not_head_text
from tui.app.screens.releases import named
from tui.core.ops import at
from tui.core.ops.release_matrix import step_line


def test_a_rollout_step_names_its_environment_once() -> None:
    step = {"kind": "passed", "env": "prod-us", "ok": True, "message": "prod-us: every gate passed"}
    assert step_line(step) == "  rollout passed: prod-us: every gate passed"
    skipped = {"kind": "skip", "env": "prod", "message": "prod already passed every gate (resumed)"}
    assert step_line(skipped) == "  rollout skip: prod already passed every gate (resumed)"
    # A message that does not name it still gets it (a progress line of the import, say).
    bare = {"kind": "import", "env": "prod", "ok": False, "message": "3/4 files", "gate": "x"}
    assert step_line(bare) == "  rollout import: FAILED prod: [x] 3/4 files"
    # "prod" named, "prod-us" not: the prefix of another environment's name is no naming.
    other = {"kind": "gate", "env": "prod", "message": "prod-us: readiness ok"}
    assert step_line(other) == "  rollout gate: prod: prod-us: readiness ok"


def test_a_release_refused_as_not_the_head_says_it_once() -> None:
    text = not_head_text("r1", "not head")
    assert text.startswith("release r1 is not the head of its repository: a rollout imports the head.")
    assert "(not head)" not in text
    unread = not_head_text("r1", "? the repository could not be read")
    assert "is not known to be the head (the repository could not be read) of its repository" in unread


@pytest.mark.parametrize(
    ("label", "cell", "said"),
    [
        ("head", "not head", "not head"),
        ("head", "HEAD", "HEAD"),
        ("head", "REJECTED", "head REJECTED"),
        ("head", "? unreadable", "head ? unreadable"),
        ("prod", "deployed", "prod deployed"),
        ("prod", "productive", "prod productive"),  # a word of its own, not the label
    ],
)
def test_the_detail_line_names_a_cell_unless_the_cell_names_itself(label: str, cell: str, said: str) -> None:
    assert named(label, cell) == said


def test_instants_of_one_second_read_apart() -> None:
    first = dt.datetime(2026, 12, 7, 5, 49, 59, 120000, tzinfo=dt.UTC)
    second = first.replace(microsecond=870000)
    alone = dt.datetime(2026, 12, 7, 5, 50, 30, 500000, tzinfo=dt.UTC)
    among = [first, second, alone]
    assert ":59.120 " in at.shown(first, among) and ":59.870 " in at.shown(second, among)
    assert at.shown(first, among) != at.shown(second, among)
    assert at.shown(alone, among) == at.shown(alone) and "05:50:30 UTC" in at.shown(alone)  # its own second
    same_milli = first.replace(microsecond=120400)
    assert at.shown(first, [first, same_milli]) != at.shown(same_milli, [first, same_milli])
    assert at.shown(first) == at.shown(first, [first])  # alone in its second: whole seconds, as before
