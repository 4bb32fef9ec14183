"""The Releases view's time cursor (issue 29) as its core answers it: ● marks what an import deployed at
that instant (a snapshot taken then only reads what ran), the ledger's own workspace is no release's
content, and an instant reads once where the user's time is UTC."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from types import SimpleNamespace
from typing import Any

import pytest

from tui.core.ledger.model import LEDGER_SLUG
from tui.core.ops import at, release_matrix


def _t(minute: int) -> dt.datetime:
    return dt.datetime(2026, 12, 7, 14, minute, tzinfo=dt.UTC)


CTX: Any = SimpleNamespace(config=SimpleNamespace(environments={"staging": None, "prod": None}))


def test_at_a_snapshots_instant_only_what_an_import_changed_then_is_marked() -> None:
    found = at.Timeline(
        changes=[
            at.Change("prod", "kb", _t(1), "v1", "import event"),
            at.Change("prod", "kb", _t(10), "v1", "release s1", rank=1, reading=True),
            at.Change("prod", "faq", _t(10), "v4", "release s1", rank=1, reading=True),
            at.Change("prod", "faq", _t(10), "v4", "import event"),  # deployed in the snapshot's very second
            at.Change("staging", "kb", _t(10), "v2", "release s2", rank=1, reading=True),
            at.Change("prod", "kb", _t(20), "v2", "last pull", rank=1),
        ],
        workspaces={"prod": {"kb", "faq"}, "staging": {"kb"}},
    )
    assert found.changed_at(_t(10)) == {("prod", "faq")}
    columns, rows = release_matrix.at_table(CTX, found, _t(10))
    assert columns == ["workspace", "staging", "prod"]
    assert {row[0]: row[1:] for row in rows} == {"faq": ["-", "v4 ●"], "kb": ["v2", "v1"]}
    _, rows = release_matrix.at_table(CTX, found, _t(20))
    assert {row[0]: row[1:] for row in rows} == {"faq": ["-", "v4"], "kb": ["v2", "v2 ●"]}


def test_the_ledgers_own_workspace_is_never_a_row() -> None:
    class Client:
        budget = SimpleNamespace(room=lambda kind: 0)  # no event search left: the listing alone

        async def __aenter__(self) -> Client:
            return self

        async def __aexit__(self, *exc: object) -> None:
            return None

        async def list_workspaces(self, labels: list[str] | None = None) -> list[Any]:
            return [SimpleNamespace(slug=s, id=s, last_pull=None, last_push=None) for s in ("kb", LEDGER_SLUG)]

    ctx: Any = SimpleNamespace(client=lambda env: Client())
    found = asyncio.run(at.ImportEvents().read(ctx, ["prod"], None))
    assert found.workspaces == {"prod": {"kb"}}
    assert set(at.state_at(found, _t(1))) == {("prod", "kb")}


@pytest.mark.parametrize(("zone", "expected"), [("UTC", "2026-12-07 14:05:00 UTC"), ("Europe/Paris", None)])
def test_an_instant_reads_once_where_the_users_time_is_utc(
    monkeypatch: pytest.MonkeyPatch, zone: str, expected: str | None
) -> None:
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        text = at.shown(_t(5))
    finally:
        monkeypatch.undo()
        time.tzset()
    if expected:
        assert text == expected
    else:  # another zone: the user's time, UTC beside it
        assert text == "2026-12-07 15:05:00 CET (2026-12-07 14:05:00 UTC)"
