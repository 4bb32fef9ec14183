"""What loading 50,000 workspaces costs per item and per request (bench/: load_pages): models built without
the dataclass __init__ but with every field, and no import-system search on each request."""

from __future__ import annotations

import dataclasses
import importlib.abc
import sys
from typing import Any

import pytest

from tui.core.api.client import PrismeClient
from tui.core.api.models import PushInfo, Repository, Workspace, WriteLock
from tui.sandbox.runner import Running

ENTRY: dict[str, Any] = {
    "id": "w1",
    "slug": "support-bot",
    "name": "Support bot",
    "labels": ["production:app:base1"],
    "dirty": True,
    "lastPush": {"version": "v1.2.0", "createdAt": "2026-03-02T09:00:00.000Z", "createdBy": "u1"},
    "lastPull": {"version": "v1.1.0", "createdAt": "2026-03-01T09:00:00.000Z", "repositoryId": "release"},
    "writeLock": {"lockedAt": "2026-03-02T10:00:00.000Z", "lockedBy": "u2", "reason": "release"},
    "updatedAt": "2026-03-02T09:00:00.000Z",
    "platformRepositories": {"release": {"name": "Release", "type": "git", "mode": "read-only"}, "bad": "x"},
}


def test_a_listing_entry_has_every_field_and_reads_the_rest_from_raw_once() -> None:
    ws = Workspace.from_json(ENTRY)
    expected = Workspace(
        id="w1",
        name="Support bot",
        slug="support-bot",
        labels=("production:app:base1",),
        dirty=True,
        updated_at="2026-03-02T09:00:00.000Z",
        raw=ENTRY,
    )
    assert ws == expected and repr(ws) == repr(expected)
    assert {f.name for f in dataclasses.fields(Workspace)} <= set(vars(ws))  # no field left to a class default
    assert ws.raw is ENTRY  # kept, not copied
    assert ws.last_push == PushInfo("v1.2.0", "2026-03-02T09:00:00.000Z", "u1", None)
    assert ws.last_pull == PushInfo("v1.1.0", "2026-03-01T09:00:00.000Z", None, "release")
    assert ws.write_lock == WriteLock("2026-03-02T10:00:00.000Z", "u2", "release")
    assert ws.platform_repositories == {"release": Repository.from_json("release", {"mode": "read-only"} | {
        "name": "Release", "type": "git"})}  # fmt: skip
    assert ws.last_push is ws.last_push  # read once, then kept
    assert ws.live_version == "v1.2.0"
    with pytest.raises(dataclasses.FrozenInstanceError):
        ws.slug = "other"  # type: ignore[misc]


def test_workspaces_compare_by_what_they_say_including_what_is_read_lazily() -> None:
    same = Workspace.from_json({**ENTRY})
    assert same == Workspace.from_json(ENTRY)
    assert Workspace.from_json({**ENTRY, "lastPush": None}) != Workspace.from_json(ENTRY)
    assert Workspace.from_json({**ENTRY, "writeLock": None}) != Workspace.from_json(ENTRY)
    assert Workspace.from_json({**ENTRY, "description": "not a field"}) == Workspace.from_json(ENTRY)


def test_a_sparse_or_hostile_entry_falls_back_as_before() -> None:
    ws = Workspace.from_json({"id": 7, "platformRepositories": ["not", "a", "mapping"], "lastPush": {}})
    assert (ws.id, ws.name, ws.slug, ws.labels, ws.dirty) == ("7", "7", "7", (), False)
    assert ws.last_push is ws.last_pull is ws.write_lock is None and ws.platform_repositories == {}
    other = Workspace.from_json({"id": 8})
    assert other.platform_repositories is not ws.platform_repositories  # one mapping each, never shared


class _Lookups(importlib.abc.MetaPathFinder):
    """Notes every module the import system is asked to find (a module already imported is never asked)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        self.names.append(fullname)
        return None


@pytest.mark.e2e
async def test_requests_do_not_search_the_import_system(shared_sandbox: Running, user_token: str) -> None:
    """httpcore imports sniffio on every request: if it is not installed, each request searches sys.path for
    it (0.5-1 ms a request; a project dependency since bench/ load_pages found it)."""
    async with PrismeClient(shared_sandbox.url, user_token, env_name="test") as api:
        await api.list_workspaces(page_size=5)  # whatever loads lazily has loaded
        lookups = _Lookups()
        sys.meta_path.insert(0, lookups)
        try:
            found = await api.list_workspaces(page_size=5)
        finally:
            sys.meta_path.remove(lookups)
    assert len(found) > 5  # several pages, several requests
    assert lookups.names == []
