"""The core's safety checks, called directly (issue 24, part 4): each test fails when one check is removed.

The adapters (CLI, app) check some of the same things first, so tests through them stay green when the
core's check is gone; these call the core. ``verify`` is driven by a scripted stand-in for the client: the
interleavings it must judge (a second pull landing between two reads, a lock still held) are not something
a sandbox produces on cue. The mutation run (``python -m scripts.mutation``) runs this file first.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tui.core import errors as E
from tui.core.api.bulk import BulkEvent
from tui.core.api.capabilities import Capabilities
from tui.core.api.client import _ours
from tui.core.api.models import Event, PullResult, Workspace
from tui.core.ops import bulk, verify
from tui.core.ops.requests import Request
from tui.core.ops.verify import settle_pull

SINCE = "2026-12-06T10:00:00.000Z"


def ws(version: str | None = None, at: str = "2026-12-06T10:00:05.000Z", lock: str | None = None, **extra: Any):
    raw: dict[str, Any] = {"id": "w1", "slug": "shop", "name": "Shop", **extra}
    if version is not None:
        raw["lastPull"] = {"version": version, "createdAt": at}
    if lock:
        raw["writeLock"] = {"reason": lock, "lockedAt": at}
    return Workspace.from_json(raw)


class Budget:
    def __init__(self, room: int = 20) -> None:
        self._room = room
        self.spent = 0

    def room(self, kind: str) -> int:
        assert kind == "events"  # the searches verification spends are event searches
        return self._room - self.spent


class ScriptedClient:
    """The workspace reads and event searches a pull's verification makes, answered from a script."""

    def __init__(self, reads: list[Workspace], events: list[dict[str, Any]] | None = None, room: int = 20) -> None:
        self.caps = Capabilities()  # nothing learnt: every route offered until it answers otherwise
        self.notes: list[str] = []
        self.reads = list(reads)
        self.found = [Event.from_json(e) for e in events or []]
        self.budget = Budget(room)
        self.searches = 0

    def note_once(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    async def get_workspace(self, workspace_id: str) -> Workspace:
        assert workspace_id == "w1"
        return self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]

    async def events(self, workspace_id: str, **kwargs: Any) -> list[Event]:
        # This pull's import only: its workspace, its type, since it started, a bounded page.
        assert (workspace_id, kwargs) == ("w1", {"types": ["workspaces.imported"], "after_date": SINCE, "limit": 20})
        self.searches += 1
        self.budget.spent += 1
        return self.found


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "CONFIRM_PAUSE", 0.001)
    monkeypatch.setattr(verify, "FIRST_PAUSE", 0.001)
    monkeypatch.setattr(verify, "MAX_PAUSE", 0.002)


DONE = PullResult.from_json({"imported": []})


def imported(version: str) -> dict[str, Any]:
    return {"id": "e1", "type": "workspaces.imported", "createdAt": SINCE, "payload": {"version": {"name": version}}}


# ------------------------------------------------------------------------------------------------ verify
# An instance that records no pull (2024: no lastPull, lastPush or dirty) and whose events are down.
def legacy_ws() -> Workspace:
    return Workspace.from_json({"id": "w1", "slug": "shop", "name": "Shop"})


@pytest.mark.parametrize("key", ["lastPull", "lastPush", "dirty"])
def test_an_instance_records_pulls_when_any_of_its_fields_is_there(key: str) -> None:
    assert verify.records_pulls(Workspace.from_json({"id": "w1", "slug": "shop", key: None})) is True
    assert verify.records_pulls(legacy_ws()) is False


def test_events_down_is_said_once_with_what_the_instance_answered() -> None:
    client = ScriptedClient([ws()])
    verify.events_down(client, E.EventsUnavailable("HTTP 500 from the events service"))  # type: ignore[arg-type]
    verify.events_down(client, E.EventsUnavailable("HTTP 500 from the events service"))  # type: ignore[arg-type]
    assert client.notes == [
        "events could not be read (HTTP 500 from the events service): progress steps and the platform's "
        "import report were not checked"
    ]
    learnt = ScriptedClient([ws()])
    learnt.caps.learn("events", False, "HTTP 500 Internal")
    verify.events_down(learnt, E.EventsUnavailable("other words"))  # type: ignore[arg-type]
    assert learnt.notes and learnt.notes[0].startswith("events could not be read (HTTP 500 Internal)")


async def test_no_event_search_where_events_are_known_down() -> None:
    client = ScriptedClient([ws()], [imported("v1")])
    client.caps.learn("events", False, "HTTP 500")
    assert await verify._imported_event(client, "w1", "v1", SINCE) is None  # type: ignore[arg-type]
    assert client.searches == 0


async def test_an_unreadable_events_service_is_no_event_and_a_note() -> None:
    class Down(ScriptedClient):
        async def events(self, workspace_id: str, **kwargs: Any) -> list[Event]:
            raise E.EventsUnavailable("HTTP 500 Internal")

    client = Down([ws()])
    assert await verify._imported_event(client, "w1", "v1", SINCE) is None  # type: ignore[arg-type]
    assert len(client.notes) == 1 and "events could not be read (HTTP 500 Internal)" in client.notes[0]


async def test_the_imported_event_names_the_version_or_any_for_latest() -> None:
    client = ScriptedClient([ws()], [imported("v0"), imported("v1")])
    found = await verify._imported_event(client, "w1", "v1", SINCE)  # type: ignore[arg-type]
    assert found is not None and found.payload["version"]["name"] == "v1"
    first = await verify._imported_event(client, "w1", None, SINCE)  # type: ignore[arg-type]
    assert first is not None and first.payload["version"]["name"] == "v0"
    assert await verify._imported_event(client, "w1", "v9", SINCE) is None  # type: ignore[arg-type]


async def test_nothing_will_ever_tell_so_the_content_must_be_compared() -> None:
    client = ScriptedClient([legacy_ws()])
    client.caps.learn("events", False, "HTTP 500")
    settled = await settle_pull(client, ws(), "v1", since=SINCE, answered=DONE, deadline=5.0)  # type: ignore[arg-type]
    assert settled.untracked is True and settled.confirmed is False
    assert settled.detail == "no record of pulls on this instance, and its events cannot be read"
    assert 0 < settled.waited < 1  # said at once: waiting would not tell more
    assert settled.workspace is not None and settled.workspace.slug == "shop"  # what the instance said


@pytest.mark.parametrize("case", ["records", "events_readable", "pending"])
async def test_the_content_is_not_asked_for_while_state_or_events_may_still_tell(case: str) -> None:
    client = ScriptedClient([ws(dirty=False) if case == "records" else legacy_ws()])
    if case != "events_readable":
        client.caps.learn("events", False, "HTTP 500")
    answered = PullResult.still_running("408") if case == "pending" else DONE
    settled = await settle_pull(client, ws(), "v1", since=SINCE, answered=answered, deadline=0.02)  # type: ignore[arg-type]
    assert settled.untracked is False and settled.confirmed is False


async def test_a_pull_is_confirmed_only_by_a_second_read_that_agrees() -> None:
    client = ScriptedClient([ws("v1"), ws("v2", at="2026-12-06T10:00:07.000Z")])
    settled = await settle_pull(client, ws(), "v1", since=SINCE, answered=DONE, deadline=0.05)  # type: ignore[arg-type]
    assert settled.confirmed is False
    assert "another pull landed after ours" in settled.detail
    assert settled.workspace.last_pull.version == "v2"  # type: ignore[union-attr]
    assert 0 < settled.waited < 5


async def test_two_agreeing_reads_confirm() -> None:
    client = ScriptedClient([ws("v1"), ws("v1")])
    settled = await settle_pull(client, ws(), "v1", since=SINCE, answered=DONE, deadline=1.0)  # type: ignore[arg-type]
    assert settled.confirmed is True
    assert settled.detail == "live version v1, last pull v1 at 2026-12-06T10:00:05.000Z"
    assert client.searches == 0
    assert settled.workspace.last_pull.version == "v1" and 0 < settled.waited < 5  # type: ignore[union-attr]


async def test_pulls_landing_at_every_read_still_end_at_the_deadline() -> None:
    reads = [ws("v1", at=f"2026-12-06T10:00:{n:02d}.000Z") for n in range(10, 60)]
    client = ScriptedClient(reads)
    async with asyncio.timeout(2):
        settled = await settle_pull(client, ws(), "v1", since=SINCE, answered=DONE, deadline=0.02)  # type: ignore[arg-type]
    assert settled.confirmed is False


async def test_a_workspace_still_busy_is_not_confirmed() -> None:
    client = ScriptedClient([ws("v1", lock="pull_in_progress")])
    settled = await settle_pull(client, ws(), "v1", since=SINCE, answered=DONE, deadline=0.02)  # type: ignore[arg-type]
    assert settled.confirmed is False
    assert settled.detail.endswith("locked (pull_in_progress)")
    assert settled.workspace.write_lock is not None and 0 <= settled.waited < 5


@pytest.mark.parametrize("lock", verify.BUSY_LOCKS)
async def test_every_busy_lock_holds_the_verdict(lock: str) -> None:
    client = ScriptedClient([ws("v1", lock=lock)], [imported("v1")])
    settled = await settle_pull(client, ws(), "v1", since=SINCE, answered=DONE, deadline=0.02)  # type: ignore[arg-type]
    assert not settled.confirmed and client.searches == 0


async def test_a_merge_conflict_is_reported_as_such() -> None:
    client = ScriptedClient([ws("v1", lock="merge_conflict")])
    settled = await settle_pull(client, ws(), "v1", since=SINCE, answered=DONE, deadline=1.0)  # type: ignore[arg-type]
    assert settled.conflict and settled.confirmed is False
    assert settled.detail == "merge conflict: the workspace is locked"
    assert settled.workspace.write_lock is not None


async def test_a_pull_of_another_version_is_not_ours_while_pending() -> None:
    pending = PullResult.still_running("408")
    client = ScriptedClient([ws("v0")])
    settled = await settle_pull(client, ws(), "v1", since=SINCE, answered=pending, deadline=0.02)  # type: ignore[arg-type]
    assert not settled.confirmed
    assert "another pull" not in settled.detail


async def test_latest_is_confirmed_by_any_fresh_pull() -> None:
    client = ScriptedClient([ws("v9")])
    settled = await settle_pull(client, ws(), "latest", since=SINCE, answered=DONE, deadline=1.0)  # type: ignore[arg-type]
    assert settled.confirmed


async def test_the_live_version_must_agree_with_the_pull() -> None:
    later_push = {"lastPush": {"version": "v7", "createdAt": "2026-12-06T10:00:09.000Z"}}
    client = ScriptedClient([ws("v1", **later_push)])
    settled = await settle_pull(client, ws(), "v1", since=SINCE, answered=DONE, deadline=0.02)  # type: ignore[arg-type]
    assert not settled.confirmed


async def test_without_last_pull_the_imported_event_confirms_its_version_only() -> None:
    right = ScriptedClient([ws()], [imported("v1")])
    settled = await settle_pull(right, ws(), "v1", since=SINCE, answered=DONE, deadline=1.0)  # type: ignore[arg-type]
    assert settled.confirmed and settled.event is not None and settled.event.id == "e1" and settled.waited > 0
    assert settled.detail == "live version unknown" and settled.workspace.slug == "shop" and 0 <= settled.waited < 5
    wrong = ScriptedClient([ws()], [imported("v2")])
    settled = await settle_pull(wrong, ws(), "v1", since=SINCE, answered=DONE, deadline=0.02)  # type: ignore[arg-type]
    assert not settled.confirmed and settled.detail == "live version unknown"


async def test_a_busy_workspace_without_last_pull_is_not_confirmed_by_an_event() -> None:
    client = ScriptedClient([ws(lock="pull_in_progress")], [imported("v1")])
    settled = await settle_pull(client, ws(), "v1", since=SINCE, answered=DONE, deadline=0.02)  # type: ignore[arg-type]
    assert not settled.confirmed and client.searches == 0


async def test_a_pull_that_changed_since_before_is_ours_whatever_its_clock() -> None:
    before = ws("v0", at="2026-12-06T09:00:00.000Z")
    behind = ws("v1", at="2026-12-06T09:30:00.000Z")  # the server's clock behind ours: still a new pull
    client = ScriptedClient([behind])
    settled = await settle_pull(client, before, "v1", since=SINCE, answered=DONE, deadline=1.0)  # type: ignore[arg-type]
    assert settled.confirmed


async def test_the_deadline_ends_the_wait_with_what_the_workspace_says() -> None:
    client = ScriptedClient([ws("v0", at="2026-12-06T09:00:00.000Z")])
    settled = await settle_pull(client, ws(), "v1", since=SINCE, answered=DONE, deadline=0.03)  # type: ignore[arg-type]
    assert settled.confirmed is False and settled.detail.startswith("live version v0")
    assert settled.workspace.last_pull.version == "v0" and 0 < settled.waited < 5  # type: ignore[union-attr]


async def test_no_event_search_when_the_budget_is_low() -> None:
    client = ScriptedClient([ws()], [imported("v1")], room=verify.EVENT_RESERVE)
    settled = await settle_pull(client, ws(), "v1", since=SINCE, answered=DONE, deadline=0.02)  # type: ignore[arg-type]
    assert not settled.confirmed and client.searches == 0


class VirtualClock:
    """verify's clock and sleep, virtual: a wait of 30 s takes no time, and a loaded machine (a mutation run
    beside other work) cannot make a read late enough to skip what the test looks for."""

    def __init__(self) -> None:
        self.now = 0.0

    def get_running_loop(self) -> VirtualClock:
        return self

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_waiting_is_reported_after_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "asyncio", VirtualClock())
    said: list[str] = []
    client = ScriptedClient([ws("v0", at="2026-12-06T09:00:00.000Z")])
    await settle_pull(client, ws(), "v1", since=SINCE, answered=DONE, deadline=30, on_wait=said.append)  # type: ignore[arg-type]
    assert said and said[0].startswith("waiting for shop to report v1: live version v0")


def test_a_pull_from_before_the_operation_is_not_fresh() -> None:
    old = ws("v1", at="2026-12-06T09:59:59.000Z")
    assert verify.fresh_pull(old, old.last_pull, SINCE) is None
    assert verify.fresh_pull(ws("v1", at=SINCE), None, SINCE) is not None  # at the very start counts
    assert verify.fresh_pull(old, ws("v0").last_pull, SINCE) == old.last_pull  # changed since: ours
    assert verify.fresh_pull(ws("v1", at="garbage"), None, SINCE) is None
    assert verify.fresh_pull(ws(), None, SINCE) is None


async def test_import_report_waits_for_the_event_then_gives_up() -> None:
    client = ScriptedClient([ws()], [imported("v1")], room=100)
    found = await verify.import_report(client, "w1", "v1", since=SINCE, deadline=0.02)  # type: ignore[arg-type]
    assert found is not None and found.payload["version"]["name"] == "v1"
    none = ScriptedClient([ws()], [imported("v2")], room=100)
    assert await verify.import_report(none, "w1", "v1", since=SINCE, deadline=0.02) is None  # type: ignore[arg-type]
    assert none.searches >= 2  # it read again before the deadline
    poor = ScriptedClient([ws()], [imported("v2")], room=verify.EVENT_RESERVE + 1)
    async with asyncio.timeout(1):  # at once: the reserve reached, it does not wait out its deadline
        assert await verify.import_report(poor, "w1", "v1", since=SINCE, deadline=30) is None  # type: ignore[arg-type]
    assert poor.searches == 1  # one search, then the reserve is left for others
    async with asyncio.timeout(1):  # found: returned at once
        assert await verify.import_report(
            ScriptedClient([ws()], [imported("v1")], room=100), "w1", "v1", since=SINCE, deadline=30
        )  # type: ignore[arg-type]
    latest = ScriptedClient([ws()], [imported("v2")], room=100)
    assert await verify.import_report(latest, "w1", "latest", since=SINCE, deadline=0.02) is not None  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ bulk
def event(kind: str, **payload: Any) -> BulkEvent:
    return BulkEvent(kind, payload, "import")  # type: ignore[arg-type]


def platform_event(kind: str, event_id: str, **payload: Any) -> Event:
    return Event(event_id, f"workspaces.bulkImport.{kind}", "2026-01-01T00:00:00Z", payload, {})


def test_the_group_filter_drops_another_groups_events() -> None:
    """The one bulk-import group filter (``client._ours``): a started or completed event names its groups,
    a progress event counts for a workspace its group's started event listed."""
    seen: set[str] = set()
    assert not _ours(platform_event("started", "1", groups=["extended"], workspaces=[{"slug": "x"}]), "base", seen)
    assert "1" in seen  # another group's: never looked at again
    assert _ours(platform_event("started", "3", groups=["base"], workspaces=[{"slug": "shop"}, "junk"]), "base", seen)
    assert _ours(platform_event("progress", "4", workspaceSlug="shop"), "base", seen)
    assert not _ours(platform_event("progress", "5", workspaceSlug="x"), "base", seen) and "5" in seen
    assert not _ours(platform_event("completed", "6", groups=["extended"]), "base", seen)
    assert _ours(platform_event("completed", "7", groups=["base", "extended"]), "base", seen)
    assert _ours(platform_event("completed", "8"), "base", seen)  # a summary naming no group is not refused


def test_progress_before_its_start_waits_to_be_read_again() -> None:
    seen: set[str] = set()
    assert not _ours(platform_event("progress", "2", workspaceSlug="shop"), "base", seen)
    assert "2" not in seen  # not decidable yet: read again once the started event is searchable
    assert _ours(platform_event("started", "1", groups=["base"], workspaces=[{"slug": "shop"}]), "base", seen)
    assert _ours(platform_event("progress", "2", workspaceSlug="shop"), "base", seen)


async def _none() -> dict[str, Any]:
    return {}


async def _two() -> dict[str, Any]:
    from tui.core.api.models import Repository

    return {"release": Repository.from_json("release", {}), "archive": Repository.from_json("archive", {})}


def test_a_run_says_what_it_ended_with() -> None:
    run = bulk.BulkRun("dev", "bulk-import", notices=["n"], summaries=[completed("base")])
    assert run.to_json() == {
        "kind": "summary",
        "status": "completed",
        "done": [],  # groups are marked done by the run as it goes, not read back from its summaries
        "env": "dev",
        "operation": "bulk-import",
        "failed": False,
        "stoppedAt": None,
        "notices": ["n"],
        "skippedWhileLocked": [],
        "summaries": [{"groups": ["base"], "errors": []}],
    }


def test_a_run_with_a_locked_workspace_or_a_stop_has_failed() -> None:
    run = bulk.BulkRun("dev", "bulk-push")
    assert not run.failed
    run.locked.append("shop")
    assert run.failed and run.to_json()["skippedWhileLocked"] == ["shop"]
    stopped = bulk.BulkRun("dev", "bulk-import", stopped_at="base")
    assert stopped.failed and stopped.to_json()["stoppedAt"] == "base"


# ------------------------------------------------------------------------------------------------ confirm
CONFIG = """
[environments.dev]
url = "http://127.0.0.1:1"
tier = "development"

[environments.prod]
url = "http://127.0.0.1:2"
tier = "production"

[environments.ro]
url = "http://127.0.0.1:3"
read_only = true

[environments.frozen]
url = "http://127.0.0.1:4"
require_reason = true
freeze = ["2000-01-01/2999-12-31"]
"""


def context(**kwargs: Any) -> Any:
    from tui.core import config as cfg
    from tui.core.ops.context import Context

    ctx = Context.create(cfg.parse(CONFIG), use_keyring=False)
    for key, value in kwargs.items():
        setattr(ctx, key, value)
    return ctx


def test_a_protected_environment_wants_its_target_typed_exactly() -> None:
    from tui.core.ops import confirm

    rule = confirm.rule(context(), "prod", "shop", "pull shop")
    assert rule.protected and rule.typed == "shop" and rule.env == "prod" and rule.what == "pull shop"
    assert rule.reason_required is True and rule.frozen is None
    assert rule.must_type() and not rule.must_type(yes=True)
    assert rule.matches(" shop ") and not rule.matches("Shop") and not rule.matches("")
    rule.check("shop")
    with pytest.raises(confirm.E.UsageError, match="did not match"):
        rule.check("shoq")


def test_an_unprotected_environment_takes_a_plain_confirm() -> None:
    from tui.core.ops import confirm

    rule = confirm.rule(context(), "dev", "shop", "pull shop")
    assert rule.typed is None and not rule.protected and not rule.must_type()
    assert rule.matches("anything") and rule.reason_required is False
    assert confirm.rule(context(), "dev", "dev", "remove dev", always_type=True).typed == "dev"


def test_reasons_not_enforced_are_not_required() -> None:
    from tui.core.ops import confirm

    assert confirm.rule(context(reasons_enforced=False), "prod", "shop", "pull").reason_required is False


def test_a_read_only_environment_refuses_before_anything_is_asked() -> None:
    from tui.core.ops import confirm

    with pytest.raises(confirm.E.PrismeError):
        confirm.rule(context(), "ro", "shop", "pull shop")
    with pytest.raises(confirm.E.PrismeError):
        confirm.rule(context(read_only=True), "dev", "shop", "pull shop")


def test_a_freeze_window_is_named_and_stands_for_the_reason() -> None:
    from tui.core.ops import confirm

    rule = confirm.rule(context(), "frozen", "shop", "pull shop")
    assert rule.frozen == "until 3000-01-01T00:00+00:00 (window '2000-01-01/2999-12-31')"
    assert rule.reason_required is False  # the broken glass's reason stands for it
    assert confirm.frozen_until(context().env("dev")) is None


def test_guard_refuses_what_the_rails_refuse_before_asking() -> None:
    from tui.core import rails
    from tui.core.ops import confirm

    with pytest.raises(rails.Frozen):
        confirm.guard(context(), "frozen", "shop", "pull shop")
    with pytest.raises(rails.ReasonRequired):
        confirm.guard(context(), "prod", "shop", "pull shop")
    ok = confirm.guard(context(), "prod", "shop", "pull shop", Request(reason="CHG-1"))
    assert ok.typed == "shop" and ok.what == "pull shop"
    with pytest.raises(rails.Frozen, match="pull shop"):
        confirm.guard(context(), "frozen", "shop", "pull shop")
    glass = confirm.guard(context(), "frozen", "shop", "pull shop", Request(reason=None, break_glass="INC-7"))
    assert glass.frozen is not None


# ------------------------------------------------------------------------------------------------ bulk runs
class BulkClient:
    """What a bulk run asks the platform, answered from a script; records what it was asked."""

    base_url = "http://127.0.0.1:9"

    def __init__(self, groups: dict[str, list[BulkEvent]], mode: str = "read-write", members: list[str] = ()) -> None:  # type: ignore[assignment]
        self.caps = Capabilities()  # nothing learnt: every route offered until it answers otherwise
        self.notes: list[str] = []
        self.groups = groups
        self.mode = mode
        self.members = [Workspace.from_json({"id": f"id-{s}", "slug": s, "dirty": s != "clean"}) for s in members]
        self.imported: list[tuple[str, bool]] = []
        self.pushed: list[dict[str, Any]] = []
        self.listed: list[Any] = []

    async def __aenter__(self) -> BulkClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def platform_repositories(self) -> dict[str, Any]:
        from tui.core.api.models import Repository

        return {"release": Repository.from_json("release", {"mode": self.mode})}

    async def list_workspaces(self, labels: list[str] | None = None) -> list[Workspace]:
        self.listed.append(labels)
        return self.members

    async def bulk_import(self, *, repository_id: str, group: str, force_reimport: bool, seen: set[str]) -> Any:
        assert repository_id == "release" and isinstance(seen, set)
        self.imported.append((group, force_reimport))
        for event in self.groups[group]:
            yield event

    async def bulk_push(self, **kwargs: Any) -> Any:
        self.pushed.append(kwargs)
        for event in self.groups.get("push", []):
            yield event


BULK_CONFIG = (
    CONFIG
    + """
[groups.base]
labels = ["app:base"]
[groups.extended]
labels = ["app:ext", "app:base"]
"""
)


def bulk_context(client: BulkClient, monkeypatch: pytest.MonkeyPatch, *, snapshots: bool = False) -> Any:
    from tui.core import config as cfg
    from tui.core.ops.context import Context

    dev = 'url = "http://127.0.0.1:1"'
    text = BULK_CONFIG.replace(dev, f"{dev}\nsnapshots = {str(snapshots).lower()}", 1)
    ctx = Context.create(cfg.parse(text), use_keyring=False)

    def client_for(env: str) -> BulkClient:
        assert env in ("dev", "frozen")
        return client

    monkeypatch.setattr(ctx, "client", client_for)
    # The leases (issue 28) are the ledger's, tested in e2e/test_ledger.py: here the run holds them already.
    ctx.leased.update({"dev", "frozen"})
    return ctx


def journal(ctx: Any) -> dict[str, Any]:
    """The audit entry the last run wrote."""
    entries = ctx.audit.read(limit=1)
    assert entries, "no audit entry"
    return entries[0]


def completed(group: str, **payload: Any) -> BulkEvent:
    return BulkEvent("completed", {"groups": [group], "errors": [], **payload}, "import")  # type: ignore[arg-type]


async def run_import(ctx: Any, groups: list[str], **kwargs: Any) -> tuple[bulk.BulkRun, list[BulkEvent]]:
    run = bulk.BulkRun("dev", "bulk-import")
    seen = [e async for e in bulk.bulk_import(ctx, "dev", repository="release", groups=groups, run=run, **kwargs)]
    return run, seen


async def test_a_group_with_errors_stops_the_import_before_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    failed = completed("base", errors=[{"error": "X", "details": {"workspaceSlug": "shop"}}])
    client = BulkClient({"base": [failed], "extended": [completed("extended")], "third": []})
    ctx = bulk_context(client, monkeypatch)
    run, seen = await run_import(ctx, ["base", "extended"])
    entry = journal(ctx)
    assert (entry["action"], entry["env"], entry["url"], entry["targets"]) == (
        "bulk-import",
        "dev",
        client.base_url,
        ["base", "extended"],
    )
    assert entry["outcome"] == "failed"
    assert entry["details"] == {"repository": "release", "forceReimport": False, "stoppedAt": "base"}
    assert seen[-1] == BulkEvent(
        "notice", {}, "import", "base", message="stopped: group base has errors; not importing extended"
    )
    assert seen[0] == BulkEvent("notice", {}, "import", "base", message="importing group base")
    _, three = await run_import(bulk_context(client, monkeypatch), ["base", "extended", "third"])
    assert three[-1].message == "stopped: group base has errors; not importing extended, third"
    assert client.imported == [("base", False), ("base", False)]  # extended never started, in either run
    assert run.failed and run.stopped_at == "base" and run.summaries == [failed]
    assert seen[-1].message == "stopped: group base has errors; not importing extended"
    assert seen[0].message == "importing group base"


async def test_continue_on_error_imports_every_group(monkeypatch: pytest.MonkeyPatch) -> None:
    failed = completed("base", errors=[{"error": "X"}])
    client = BulkClient({"base": [failed], "extended": [completed("extended")]})
    run, _ = await run_import(bulk_context(client, monkeypatch), ["base", "extended"], continue_on_error=True)
    assert [g for g, _ in client.imported] == ["base", "extended"] and run.stopped_at is None
    assert run.failed  # the failed summary still fails the run


async def test_a_kept_going_import_with_errors_is_journaled_failed_and_lists_what_was_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failed = completed("base", errors=[{"error": "X"}])
    client = BulkClient({"base": [failed], "extended": [completed("extended")]})
    ctx = bulk_context(client, monkeypatch)
    run, _ = await run_import(ctx, ["base", "extended"], continue_on_error=True)
    assert run.done == ["extended"]  # the failed group is not done
    assert journal(ctx)["outcome"] == "failed"  # the journal says what happened, kept going or not


async def test_an_imports_notices_are_kept_for_its_document_and_nothing_else_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said = BulkEvent("notice", {"groups": ["base"]}, "import", "base", message="recovering after a 408")  # type: ignore[arg-type]
    chatty = BulkEvent("progress", {"groups": ["base"]}, "import", "base", message="not a notice")  # type: ignore[arg-type]
    client = BulkClient({"base": [said, chatty, completed("base")], "extended": [completed("extended")]})
    run, _ = await run_import(bulk_context(client, monkeypatch), ["base", "extended"])
    assert "recovering after a 408" in run.notices and "not a notice" not in run.notices
    assert None not in run.notices and all(isinstance(n, str) for n in run.notices)
    assert run.done == ["base", "extended"]
    stopped = BulkClient({"base": [completed("base", errors=[{"error": "X"}])], "extended": []})
    run, _ = await run_import(bulk_context(stopped, monkeypatch), ["base", "extended"])
    assert run.notices[-1] == "stopped: group base has errors; not importing extended"


async def test_the_last_failing_group_stops_without_a_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    client = BulkClient({"base": [completed("base", errors=[{"error": "X"}])]})
    run, seen = await run_import(bulk_context(client, monkeypatch), ["base"], force_reimport=True)
    assert client.imported == [("base", True)] and run.stopped_at == "base"
    assert not any((e.message or "").startswith("stopped") for e in seen)


async def test_a_group_without_summary_is_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.core import errors as E

    # The client hands over only this group's events (``client._ours``, tested above): none completed it.
    started = BulkEvent("started", {"groups": ["base"], "workspaces": [{"slug": "shop"}]}, "import")  # type: ignore[arg-type]
    client = BulkClient({"base": [started]})
    with pytest.raises(E.BulkIncomplete, match="group base ended without a completed summary"):
        await run_import(bulk_context(client, monkeypatch), ["base"])


async def test_a_clean_import_passes_every_group(monkeypatch: pytest.MonkeyPatch) -> None:
    started = BulkEvent("started", {"groups": ["base"], "workspaces": [{"slug": "shop"}]}, "import")  # type: ignore[arg-type]
    client = BulkClient({"base": [started, completed("base")], "extended": [completed("extended")]})
    ctx = bulk_context(client, monkeypatch)
    running: list[str] = []
    seen = []
    run = bulk.BulkRun("dev", "bulk-import")
    async for event in bulk.bulk_import(ctx, "dev", repository="release", groups=["base", "extended"], run=run):
        running.append(ctx.running.get("dev"))
        seen.append(event)
    assert set(running) == {"bulk import"}  # the environment is busy with it meanwhile
    seen = [e for e in seen if e.kind != "started"]
    assert journal(ctx)["outcome"] == "ok"
    assert not run.failed and len(run.summaries) == 2 and run.stopped_at is None
    assert [e.kind for e in seen] == ["notice", "completed", "notice", "completed"]


async def test_a_bulk_import_names_its_groups_and_reads_its_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.core import errors as E

    client = BulkClient({})
    with pytest.raises(
        E.UsageError, match=r"^Name the groups to import, in order \(for example base1,base2,extended\)\.$"
    ):
        await run_import(bulk_context(client, monkeypatch), [])
    with pytest.raises(
        E.PermissionDenied, match=r"^dev: repository 'release' is write-only; a bulk import needs to read it"
    ):
        await run_import(bulk_context(BulkClient({}, mode="write-only"), monkeypatch), ["base"])
    with pytest.raises(E.PermissionDenied, match=r"^dev: repository 'release' is read-only; a bulk push needs"):
        async for _ in bulk.bulk_push(
            bulk_context(BulkClient({}, mode="read-only"), monkeypatch),
            "dev",
            repository="release",
            groups=["base"],
            name=None,
            description=None,
        ):
            pass
    two = BulkClient({})
    two.platform_repositories = lambda: _two()  # type: ignore[method-assign]
    with pytest.raises(E.NotFound, match="available: archive, release"):
        await bulk.validate_repository(two, "dev", "nope", write=False)  # type: ignore[arg-type]
    with pytest.raises(E.NotFound) as caught:
        await bulk.validate_repository(client, "dev", "nope", write=False)  # type: ignore[arg-type]
    assert caught.value.message == "dev: unknown platform repository 'nope'; available: release."
    assert caught.value.hint == "Platform repositories are the WORKSPACES_STORAGE_GIT_PLATFORM_<id>_* variables."
    empty = BulkClient({})
    empty.platform_repositories = lambda: _none()  # type: ignore[method-assign]
    with pytest.raises(E.NotFound, match="available: none"):
        await bulk.validate_repository(empty, "dev", "nope", write=False)  # type: ignore[arg-type]
    with pytest.raises(E.PermissionDenied, match="read-only; a bulk push needs read-write"):
        await bulk.validate_repository(BulkClient({}, mode="read-only"), "dev", "release", write=True)  # type: ignore[arg-type]
    await bulk.validate_repository(client, "dev", "release", write=True)  # type: ignore[arg-type]


async def test_snapshots_cover_the_groups_members_before_the_import(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.core.ops import snapshots

    taken: list[list[str]] = []

    async def take_many(ctx: Any, client: Any, env: str, members: list[Workspace], action: str) -> list[Any]:
        taken.append([w.slug for w in members])
        assert action == "bulk-import base" and ctx.env(env).name == "dev"
        return [type("S", (), {"id": f"snap-{w.slug}"})() for w in members]

    monkeypatch.setattr(snapshots, "take_many", take_many)
    client = BulkClient({"base": [completed("base")]}, members=["shop", "blog"])
    ctx = bulk_context(client, monkeypatch, snapshots=True)
    _, seen = await run_import(ctx, ["base"])
    assert taken == [["shop", "blog"]] and client.listed == [["app:base"]]
    assert (
        BulkEvent(
            "notice", {}, "import", "base", message="safety snapshots: 2 workspace(s) of base saved before the import"
        )
        in seen
    )
    assert journal(ctx)["details"]["snapshots"] == ["snap-shop", "snap-blog"]


async def test_a_group_the_configuration_lacks_is_asked_of_the_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.core.ops import snapshots

    async def take_many(ctx: Any, client: Any, env: str, members: list[Workspace], action: str) -> list[Any]:
        assert (client, env) == (the_client, "dev")
        return [type("S", (), {"id": f"snap-{w.slug}"})() for w in members]

    monkeypatch.setattr(snapshots, "take_many", take_many)
    started = BulkEvent("started", {"workspaces": [{"slug": "shop"}, "junk"]}, "push")  # type: ignore[arg-type]
    the_client = BulkClient({"mystery": [completed("mystery")], "push": [started]}, members=["shop", "blog"])
    ctx = bulk_context(the_client, monkeypatch, snapshots=True)
    _, seen = await run_import(ctx, ["mystery"])
    assert the_client.pushed == [{"repository_id": "release", "groups": ["mystery"], "dry_run": True}]
    assert "safety snapshots: 1 workspace(s) of mystery saved before the import" in [e.message for e in seen]
    assert [w.slug for w in await bulk.group_members(the_client, ctx, "mystery", "release")] == ["shop"]  # type: ignore[arg-type]


async def test_members_nobody_can_tell_are_all_saved(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.core import errors as E
    from tui.core.ops import snapshots

    class Refusing(BulkClient):
        async def bulk_push(self, **kwargs: Any) -> Any:
            raise E.PermissionDenied("no")
            yield  # pragma: no cover

    async def take_many(ctx: Any, client: Any, env: str, members: list[Workspace], action: str) -> list[Any]:
        return [type("S", (), {"id": w.slug})() for w in members]

    monkeypatch.setattr(snapshots, "take_many", take_many)
    client = Refusing({"mystery": [completed("mystery")]}, members=["shop", "blog"])
    _, seen = await run_import(bulk_context(client, monkeypatch, snapshots=True), ["mystery"])
    assert "safety snapshots: all 2 workspace(s) saved before importing mystery (its members are unknown here)" in [
        e.message for e in seen
    ]


async def test_a_bulk_push_lists_what_a_lock_kept_out_and_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    started = BulkEvent("started", {"workspaces": [{"slug": "shop", "status": "inProgress"}]}, "push")  # type: ignore[arg-type]
    done = BulkEvent("completed", {"pushedWorkspaceIds": ["a"], "errors": []}, "push")  # type: ignore[arg-type]
    client = BulkClient({"push": [started, done]}, members=["shop", "clean"])
    ctx = bulk_context(client, monkeypatch)
    run = bulk.BulkRun("dev", "bulk-push")
    seen = [
        e
        async for e in bulk.bulk_push(
            ctx, "dev", repository="release", groups=["base"], name="v1", description="d", dry_run=True, run=run
        )
    ]
    assert seen == [started, done] and run.locked == ["shop"] and run.failed
    assert client.pushed[0]["groups"] == ["base"] and client.pushed[0]["dry_run"] is True


async def test_a_clean_bulk_push_marks_every_group_done_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.core.ops import secretscan

    async def guard(*args: Any) -> Any:  # the scan is another test's: here, what the run records
        return type("Scan", (), {"audit": lambda self: {"findings": 0}})()

    monkeypatch.setattr(secretscan, "guard", guard)
    done = BulkEvent("completed", {"pushedWorkspaceIds": ["a"], "errors": []}, "push")  # type: ignore[arg-type]
    client = BulkClient({"push": [done, done]}, members=["shop"])  # a recovery replays the summary
    ctx = bulk_context(client, monkeypatch)
    run = bulk.BulkRun("dev", "bulk-push", done=["base"])  # resumed: base was done before
    pushed = bulk.bulk_push(
        ctx, "dev", repository="release", groups=["base", "extended"], name="v1", description="d", run=run
    )
    async for _ in pushed:
        pass
    assert run.done == ["base", "extended"] and not run.failed


async def test_a_bulk_push_that_skipped_a_locked_workspace_is_not_done(monkeypatch: pytest.MonkeyPatch) -> None:
    started = BulkEvent("started", {"workspaces": [{"slug": "shop", "status": "inProgress"}]}, "push")  # type: ignore[arg-type]
    done = BulkEvent("completed", {"pushedWorkspaceIds": ["a"], "errors": []}, "push")  # type: ignore[arg-type]
    client = BulkClient({"push": [started, done]}, members=["shop"])
    run = bulk.BulkRun("dev", "bulk-push")
    pushed = bulk.bulk_push(
        bulk_context(client, monkeypatch),
        "dev",
        repository="release",
        groups=["base"],
        name="v1",
        run=run,
        description="d",
    )
    async for _ in pushed:
        pass
    assert run.locked == ["shop"] and run.done == []


async def test_a_bulk_push_is_scanned_journaled_and_fails_on_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.core import errors as E
    from tui.core.ops import secretscan

    scanned: list[Any] = []

    async def guard(ctx: Any, client: Any, env: str, workspaces: list[Workspace], what: str) -> Any:
        assert ctx.env(env).name == "dev"
        scanned.append((client, env, [w.slug for w in workspaces], what))
        return type("Scan", (), {"audit": lambda self: {"findings": 0}})()

    monkeypatch.setattr(secretscan, "guard", guard)
    notice = BulkEvent("notice", {}, "push", message="recovering")  # type: ignore[arg-type]
    chatty = BulkEvent("progress", {}, "push", message="not a notice")  # type: ignore[arg-type]
    done = BulkEvent(
        "completed",
        {"pushedWorkspaceIds": ["a", "b"], "errors": [{"e": 1}], "mergeConflictWorkspaceIds": ["c"]},
        "push",  # type: ignore[arg-type]
    )
    client = BulkClient({"push": [notice, chatty, done]}, members=["shop", "clean"])
    ctx = bulk_context(client, monkeypatch)
    run = bulk.BulkRun("dev", "bulk-push")
    why = Request(reason="CHG-9")
    pushed = bulk.bulk_push(
        ctx, "dev", repository="release", groups=["base"], name="v1", description="d", run=run, request=why
    )
    seen = []
    async for event in pushed:
        assert ctx.running.get("dev") == "bulk push"  # busy meanwhile
        seen.append(event)
    assert seen == [notice, chatty, done]
    assert scanned == [(client, "dev", ["shop"], "Bulk push to release")]
    # The server's own dry run of the same groups first (what the push will push is what is scanned), then the push.
    assert client.pushed[0] == {"repository_id": "release", "groups": ["base"], "dry_run": True, "force": False}
    assert client.pushed[1:] == [
        {
            "repository_id": "release",
            "groups": ["base"],
            "name": "v1",
            "description": "d (reason: CHG-9)",
            "dry_run": False,
            "force": False,
        }
    ]
    assert run.notices == ["recovering"] and run.summaries == [done] and run.failed
    entry = journal(ctx)
    assert (entry["action"], entry["env"], entry["url"], entry["targets"], entry["version"], entry["outcome"]) == (
        "bulk-push",
        "dev",
        client.base_url,
        ["base"],
        "v1",
        "failed",
    )
    assert entry["details"] == {
        "repository": "release",
        "dryRun": False,
        "force": False,
        "secretScan": {"findings": 0},
        "skippedWhileLocked": [],
        "pushed": 2,
        "errors": 1,
        "mergeConflicts": 1,
    }
    failing = BulkClient({"push": [BulkEvent("failure", {}, "push", message="boom")]})  # type: ignore[arg-type]
    ctx = bulk_context(failing, monkeypatch)
    with pytest.raises(E.ServerError, match="dev: the bulk push failed: boom"):
        async for _ in bulk.bulk_push(ctx, "dev", repository="release", groups=["base"], name="v1", description=None):
            pass
    assert journal(ctx)["outcome"] == "failed"


async def test_a_clean_push_is_ok_and_a_dry_run_passes_a_freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.core import errors as E
    from tui.core import rails

    done = BulkEvent("completed", {"pushedWorkspaceIds": ["a"], "errors": []}, "push")  # type: ignore[arg-type]
    client = BulkClient({"push": [done]})
    ctx = bulk_context(client, monkeypatch)
    seen = [
        e
        async for e in bulk.bulk_push(
            ctx, "frozen", repository="release", groups=["base"], name=None, description=None, dry_run=True, force=True
        )
    ]
    assert seen == [done] and client.pushed[0]["dry_run"] is True and client.pushed[0]["force"] is True
    assert journal(ctx)["outcome"] == "ok" and journal(ctx)["details"]["skippedWhileLocked"] == []
    with pytest.raises(rails.Frozen):
        async for _ in bulk.bulk_push(
            ctx, "frozen", repository="release", groups=["base"], name=None, description=None
        ):
            pass
    with pytest.raises(E.PermissionDenied):
        async for _ in bulk.bulk_push(
            bulk_context(BulkClient({}, mode="read-only"), monkeypatch),
            "dev",
            repository="release",
            groups=["base"],
            name=None,
            description=None,
        ):
            pass


async def test_a_push_that_left_a_locked_workspace_out_is_journaled_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    started = BulkEvent("started", {"workspaces": [{"slug": "shop", "status": "inProgress"}]}, "push")  # type: ignore[arg-type]
    done = BulkEvent("completed", {"pushedWorkspaceIds": ["a"], "errors": []}, "push")  # type: ignore[arg-type]
    ctx = bulk_context(BulkClient({"push": [started, done]}), monkeypatch)
    async for _ in bulk.bulk_push(
        ctx, "dev", repository="release", groups=["base"], name=None, description=None, dry_run=True
    ):
        pass
    entry = journal(ctx)
    assert entry["outcome"] == "failed" and entry["details"]["skippedWhileLocked"] == ["shop"]


async def test_a_group_the_platform_names_no_member_of_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    client = BulkClient({"push": []}, members=["shop"])
    assert await bulk.group_members(client, bulk_context(client, monkeypatch), "mystery", "release") == []  # type: ignore[arg-type]


async def test_to_push_is_what_the_servers_dry_run_names_or_every_dirty_workspace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = BulkEvent("started", {"workspaces": [{"slug": "clean", "status": "candidate"}]}, "push")  # type: ignore[arg-type]
    client = BulkClient({"push": [started]}, members=["shop", "clean", "other"])
    ctx = bulk_context(client, monkeypatch)
    # the dry run names "clean" (not dirty, still pushed); dirty "shop" carries none of the group's labels
    pushed = await bulk._to_push(ctx, client, "release", ["extended"], False)  # type: ignore[arg-type]
    assert [w.slug for w in pushed] == ["clean"]
    mute = BulkClient({}, members=["shop", "clean"])
    ctx = bulk_context(mute, monkeypatch)
    # the server's dry run cannot tell: the widest push is scanned (every dirty one; all with --force), never none
    assert [w.slug for w in await bulk._to_push(ctx, mute, "release", ["unknown"], False)] == ["shop"]  # type: ignore[arg-type]
    assert len(await bulk._to_push(ctx, mute, "release", ["unknown"], True)) == 2  # type: ignore[arg-type]


async def test_to_push_reads_only_candidates_and_survives_odd_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    named = [
        "not-an-object",
        {"slug": "clean", "status": "candidate"},
        {"slug": "other", "status": "upToDate"},
        {"slug": "shop"},
    ]
    started = BulkEvent("started", {"workspaces": named}, "push")  # type: ignore[arg-type]
    client = BulkClient({"push": [started]}, members=["shop", "clean", "other"])
    pushed = await bulk._to_push(bulk_context(client, monkeypatch), client, "release", ["x"], False)  # type: ignore[arg-type]
    assert sorted(w.slug for w in pushed) == ["clean", "shop"]  # not "other": the server skips it
    odd = BulkEvent("started", {"workspaces": 5}, "push")  # type: ignore[arg-type]
    client = BulkClient({"push": [odd]}, members=["shop", "clean"])
    pushed = await bulk._to_push(bulk_context(client, monkeypatch), client, "release", ["x"], False)  # type: ignore[arg-type]
    assert pushed == []  # it answered, naming nobody readable: nothing of a group the configuration lacks


async def test_to_push_when_the_servers_dry_run_fails_is_every_dirty_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    class Failing(BulkClient):
        async def bulk_push(self, **kwargs: Any) -> Any:
            raise E.ServerError("HTTP 500")
            yield  # an async generator, as the client's

    client = Failing({}, members=["shop", "clean"])
    pushed = await bulk._to_push(bulk_context(client, monkeypatch), client, "release", ["base"], False)  # type: ignore[arg-type]
    assert [w.slug for w in pushed] == ["shop"]  # dirty, though it carries none of base's labels


# A bulk operation's repository: a platform one the instance has, that the operation may use.
@pytest.mark.parametrize("write", [True, False])
async def test_an_instance_without_platform_repositories_has_no_bulk_operation(write: bool) -> None:
    client = BulkClient({})
    client.caps.learn("platform_repositories", False, "HTTP 404 Route not found")
    with pytest.raises(E.Unsupported) as refused:
        await bulk.validate_repository(client, "old", "release", write=write)  # type: ignore[arg-type]
    kind, verb, command = ("push", "Push", "push") if write else ("import", "Pull", "pull")
    assert refused.value.message == (
        f"old: this instance has no platform repositories (HTTP 404 Route not found), so no bulk {kind}."
    )
    assert refused.value.hint == (
        f"{verb} workspaces one by one (`prisme-deploy {command} SLUG --repository ID`, "
        "with the workspace's own repository)."
    )
    assert refused.value.capability == ("bulk_push" if write else "bulk_import")


async def test_an_unknown_platform_repository_names_the_ones_there_are() -> None:
    client = BulkClient({})
    with pytest.raises(E.NotFound) as refused:
        await bulk.validate_repository(client, "dev", "other", write=True)  # type: ignore[arg-type]
    assert refused.value.message == "dev: unknown platform repository 'other'; available: release."
    assert refused.value.hint == "Platform repositories are the WORKSPACES_STORAGE_GIT_PLATFORM_<id>_* variables."

    class NoRepos(BulkClient):
        async def platform_repositories(self) -> dict[str, Any]:
            return {}

    with pytest.raises(E.NotFound) as refused:
        await bulk.validate_repository(NoRepos({}), "dev", "other", write=False)  # type: ignore[arg-type]
    assert refused.value.message.endswith("available: none.")


@pytest.mark.parametrize(
    ("mode", "write", "refused"),
    [
        ("read-only", True, "dev: repository 'release' is read-only; a bulk push needs read-write."),
        ("write-only", False, "dev: repository 'release' is write-only; a bulk import needs to read it."),
        ("read-write", True, None),
        ("read-write", False, None),
        ("write-only", True, None),
        ("read-only", False, None),
    ],
)
async def test_a_bulk_operation_needs_the_repository_mode_it_uses(mode: str, write: bool, refused: str | None) -> None:
    client = BulkClient({}, mode=mode)
    if refused is None:
        await bulk.validate_repository(client, "dev", "release", write=write)  # type: ignore[arg-type]
        return
    with pytest.raises(E.PermissionDenied) as denied:
        await bulk.validate_repository(client, "dev", "release", write=write)  # type: ignore[arg-type]
    assert denied.value.message == refused


# ------------------------------------------------------------------------------------------------ rollout
class FakePlan:
    def __init__(self, changes: bool) -> None:
        self.has_changes = changes
        # What the error gate watches (issue 29): the workspaces the import changes.
        self.items = [type("Item", (), {"slug": "shop", "action": "update", "to_version": "v2"})()] if changes else []

    def counts(self) -> dict[str, int]:
        return {"create": 0, "update": int(self.has_changes), "skip": 1, "blocked": 0}

    def to_json(self) -> dict[str, Any]:
        return {"changes": self.has_changes}


class Stages:
    """A rollout's collaborators, scripted: the plan, what runs before, the bulk import, the gates."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        *,
        changes: bool = True,
        import_fails: bool | str = False,
        groups: tuple[str, ...] = ("base",),
    ) -> None:
        from tui.core.ops import plan, release, rollout
        from tui.core.ops.context import Context

        self.groups = groups
        self.calls: list[str] = []
        self.gates_rebuild: list[bool] = []
        self.gate_args: list[tuple[Any, ...]] = []

        async def bulk_import_plan(ctx: Any, env: str, *, repository: str, groups: list[str]) -> FakePlan:
            groups_ = groups
            groups = self.groups
            assert isinstance(ctx, Context) and (repository, tuple(groups_)) == ("release", groups)
            self.calls.append(f"plan {env}")
            return FakePlan(changes)

        async def from_env(ctx: Any, env: str, name: str) -> Any:
            assert isinstance(ctx, Context) and name == "v2.0.0"
            self.calls.append(f"snapshot {env}")
            return type("R", (), {"workspaces": {"shop": "v1"}})()

        async def run_import(
            ctx: Any, env: str, *, repository: str, groups: list[str], run: Any, request: Any = None
        ) -> Any:
            assert isinstance(ctx, Context) and (repository, tuple(groups)) == ("release", self.groups)
            assert (run.env, run.operation) == (env, "bulk-import")
            self.calls.append(f"import {env}")
            if import_fails == "summary":  # a failed summary, the import not stopped (continue on error)
                run.summaries.append(BulkEvent("completed", {"errors": [{"e": 1}]}, "import"))  # type: ignore[arg-type]
            elif import_fails:
                run.stopped_at = "base"
            yield BulkEvent("progress", {}, "import", message="not said")  # type: ignore[arg-type]
            yield BulkEvent("notice", {}, "import", message="importing group base")  # type: ignore[arg-type]
            yield BulkEvent("completed", {"groups": groups}, "import", message="group base done")  # type: ignore[arg-type]

        async def gates(
            ctx: Any, state: Any, say: Any, stage: Any, env: str, tests: Any, *, rebuild: bool, imported: Any = None
        ) -> bool:
            self.calls.append(f"gates {env}")
            self.gates_rebuild.append(rebuild)
            self.gate_args.append((ctx, state, say, stage, tests))
            return True

        monkeypatch.setattr(plan, "bulk_import", bulk_import_plan)
        monkeypatch.setattr(release, "from_env", from_env)
        monkeypatch.setattr(bulk, "bulk_import", run_import)
        monkeypatch.setattr(rollout, "_gates", gates)


async def one_env(
    env: str, confirm: Any = None, tests: list[Any] | None = None, groups: tuple[str, ...] = ("base",), **ctx_args: Any
) -> tuple[bool, Any]:
    from tui.core.ops import rollout

    state = rollout.State("v2.0.0", "release", list(groups))
    say = rollout._Reporter(state, None)
    stage = rollout.Stage("first", (env,))
    passed = await rollout._one_env(context(**ctx_args), state, say, stage, env, tests or [], confirm)
    return passed, state


def steps(state: Any) -> list[tuple[str, str | None, str]]:
    # The ledger's copy of the state (issue 28) is tested in e2e/test_ledger.py; these contexts have no ledger.
    return [(s["kind"], s["env"], s["message"]) for s in state.steps if s["kind"] != "ledger"]


async def test_a_rollout_stops_on_a_failed_import_before_its_gates(monkeypatch: pytest.MonkeyPatch) -> None:
    stages = Stages(monkeypatch, import_fails=True)
    passed, state = await one_env("dev")
    assert passed is False
    assert stages.calls == ["plan dev", "snapshot dev", "import dev"]  # no gate ran on a failed import
    assert state.failed == {"env": "dev", "gate": "import", "message": "dev: the bulk import stopped at group base"}
    assert state.changed == ["dev"] and state.previous == {"dev": {"shop": "v1"}}
    assert state.steps[-2] == {
        "kind": "stopped",
        "env": "dev",
        "ok": False,
        "message": "dev: the bulk import stopped at group base",
        "gate": "import",
    }
    assert state.steps[-1] == {
        "kind": "hint",
        "env": "dev",
        "ok": True,
        "message": "roll back what this rollout changed (dev): prisme-deploy rollout v2.0.0 --rollback; "
        "or fix and continue: --resume",
    }


async def test_a_clean_import_goes_on_to_the_gates_with_a_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    stages = Stages(monkeypatch)
    passed, state = await one_env("dev")
    assert passed is True and state.failed is None
    assert stages.calls == ["plan dev", "snapshot dev", "import dev", "gates dev"] and stages.gates_rebuild == [True]
    assert steps(state) == [
        ("plan", "dev", "stage first: 0 to create, 1 to update, 1 unchanged, 0 blocked"),
        ("snapshot", "dev", "dev: recorded what it runs (1 workspaces) for a rollback"),
        ("import", "dev", "importing group base"),
        ("import", "dev", "group base done"),
        ("import", "dev", "dev: imported base"),
    ]
    assert state.steps[0]["plan"] == {"changes": True}
    ctx, gate_state, say, stage, tests = stages.gate_args[0]
    assert gate_state is state and say.state is state and stage.name == "first" and tests == []
    assert ctx.env("dev").name == "dev"  # the rollout's own context, not a stand-in


async def test_the_plan_step_says_the_smoke_gates_run_for_real(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.core.ops import rollout

    stages = Stages(monkeypatch)
    smoke = [rollout.Smoke("shop", "health")]
    passed, state = await one_env("dev", tests=smoke)
    assert passed and state.steps[0]["message"] == (
        "stage first: 0 to create, 1 to update, 1 unchanged, 0 blocked; smoke gates run shop/health FOR REAL on "
        "each environment after its import (side effects included)"
    )
    assert stages.gate_args[0][4] == smoke


def test_durations_stages_and_expectations() -> None:
    from tui.core.ops import rollout

    assert rollout.seconds("250ms", "x") == 0.25 and rollout.seconds("2h", "x") == 7200
    assert rollout.seconds("5", "x") == 5 and rollout.seconds(0, "x") == 0 and rollout.seconds(0.5, "x") == 0.5
    assert rollout.seconds(1e-05, "x") == 1e-05  # a number is taken as it is (its str() is no duration)
    for bad in (True, -1):
        with pytest.raises(rollout.E.UsageError, match="is not a duration"):
            rollout.seconds(bad, "x")
    assert rollout.matches({}, {}) and rollout.matches("anything", {}) and rollout.matches(3, 3)
    assert not rollout.matches({"a": {"b": 2}}, {"a": {"b": 1}}) and rollout.matches({"a": {"b": 1}}, {"a": {"b": 1}})
    stage = rollout.Stage("s", ("dev",), optional_smoke=("shop", "blog/health"))
    assert rollout.optional(stage, rollout.Smoke("shop", "any"))
    assert rollout.optional(stage, rollout.Smoke("blog", "health"))
    assert not rollout.optional(stage, rollout.Smoke("blog", "other"))
    assert not rollout.optional(stage, rollout.Smoke("news", "health"))


async def test_every_group_is_named_and_an_unstopped_failure_still_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.core.ops import rollout

    Stages(monkeypatch, groups=("base", "extended"))
    passed, state = await one_env("dev", groups=("base", "extended"))
    assert passed and steps(state)[-1] == ("import", "dev", "dev: imported base, extended")
    Stages(monkeypatch, import_fails="summary")
    passed, state = await one_env("dev")
    assert not passed and state.failed["message"] == "dev: the bulk import stopped at group ?"
    state = rollout.State("v2.0.0", "release", ["base"], changed=["staging", "prod"])
    rollout._fail(state, rollout._Reporter(state, None), "prod", "smoke", "no")
    assert state.steps[-1]["message"].startswith("roll back what this rollout changed (staging, prod): ")


async def test_nothing_to_change_imports_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    stages = Stages(monkeypatch, changes=False)
    passed, state = await one_env("dev")
    assert passed and stages.calls == ["plan dev", "snapshot dev", "gates dev"] and stages.gates_rebuild == [False]
    assert state.changed == []


async def test_a_protected_stage_needs_its_confirmation(monkeypatch: pytest.MonkeyPatch) -> None:
    stages = Stages(monkeypatch)
    passed, state = await one_env("prod", reason="CHG-1")
    assert not passed and stages.calls == ["plan prod"]
    assert state.failed == {
        "env": "prod",
        "gate": "confirm",
        "message": "prod is protected and the rollout was not confirmed",
    }
    assert state.changed == [] and state.steps[-1]["message"].startswith(
        "roll back what this rollout changed (nothing)"
    )

    async def refuse(env: str, the_plan: Any) -> bool:
        return False

    passed, state = await one_env("prod", refuse, reason="CHG-1")
    assert not passed and state.failed and state.failed["gate"] == "confirm"

    async def agree(env: str, the_plan: Any) -> bool:
        assert env == "prod" and the_plan.has_changes
        return True

    passed, state = await one_env("prod", agree, reason="CHG-1")
    assert passed and steps(state)[1] == ("confirm", "prod", "prod: confirmed")


async def test_a_read_only_stage_refuses_before_its_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    stages = Stages(monkeypatch)
    with pytest.raises(bulk.E.PrismeError):
        await one_env("ro")
    assert stages.calls == []


async def test_a_resumed_rollout_keeps_what_ran_before_its_first_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.core.ops import rollout

    Stages(monkeypatch)
    state = rollout.State("v2.0.0", "release", ["base"], previous={"dev": {"shop": "v0"}}, changed=["dev"])
    say = rollout._Reporter(state, None)
    assert await rollout._one_env(context(), state, say, rollout.Stage("first", ("dev",)), "dev", [], None)
    assert state.previous == {"dev": {"shop": "v0"}} and state.changed == ["dev"]
    assert rollout.State.load("v2.0.0").previous == {"dev": {"shop": "v0"}}  # saved


async def test_a_resumed_rollout_counts_an_environment_it_reached_before_as_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An earlier attempt recorded dev's versions, then stopped (kill -9) with dev not yet counted as changed:
    whether its import landed is unknown, so dev is one to roll back even with nothing left to import."""
    from tui.core.ops import rollout

    Stages(monkeypatch, changes=False)
    state = rollout.State("v2.0.0", "release", ["base"], previous={"dev": {"shop": "v0"}})
    say = rollout._Reporter(state, None)
    assert await rollout._one_env(context(), state, say, rollout.Stage("first", ("dev",)), "dev", [], None)
    assert state.changed == ["dev"] and rollout.State.load("v2.0.0").changed == ["dev"]  # saved before the gates


# ------------------------------------------------------------------------------------------------ plan
class PlanClient:
    """The instance a bulk-import plan compares with: an export of what runs, and its status."""

    def __init__(self, files: dict[str, bytes], status: dict[str, Any] | None = None) -> None:
        self.caps = Capabilities()  # nothing learnt: every route offered until it answers otherwise
        self.notes: list[str] = []
        import io
        import zipfile

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            for name, data in files.items():
                zf.writestr(f"current/{name}", data)
        self.archive = buffer.getvalue()
        self.answer = status or {}
        self.asked: list[str] = []

    async def export(self, workspace_id: str) -> bytes:
        self.asked.append(f"export {workspace_id}")
        return self.archive

    async def status(self, workspace_id: str) -> dict[str, Any]:
        self.asked.append(f"status {workspace_id}")
        if self.answer == "unsupported":
            raise E.Unsupported("no GET .../status on this instance", capability="status")
        return self.answer  # type: ignore[return-value]


def source(version: str | None = "v2", content: bytes = b"name: Shop\n") -> Any:
    from tui.core.ops.repo_content import RepoWorkspace

    return RepoWorkspace("shop", version, ("base",), {"index.yml": content})


async def plan_item(ws_: Workspace | None, *, earlier: bool = False, force: bool = False, **client_args: Any) -> Any:
    from tui.core.ignore import Ignore
    from tui.core.ops import plan

    client = PlanClient({"index.yml": b"name: Shop\n"}, **client_args)
    item = await plan._import_item(client, "base", source(), ws_, earlier, force, Ignore())  # type: ignore[arg-type]
    return item, client


async def test_a_workspace_missing_is_created_and_one_at_the_version_is_skipped() -> None:
    from tui.core.ops.plan import PlanItem

    item, client = await plan_item(None)
    assert item == PlanItem("base", "shop", "create", None, "v2", "not on this instance")
    item, _ = await plan_item(ws("v2"))
    assert item == PlanItem("base", "shop", "skip", "v2", "v2", "already at version v2")
    assert (item.action, item.from_version, item.reason) == ("skip", "v2", "already at version v2")
    forced, _ = await plan_item(ws("v2"), force=True)
    assert forced.action == "update"
    assert client.asked == []


async def test_without_a_status_endpoint_the_edits_are_unknown_and_taken_as_lost() -> None:
    from tui.core.ops.compare import UNKNOWN_EDITS

    item, client = await plan_item(ws("v1", dirty=True), status="unsupported")
    assert item.action == "update" and "status w1" in client.asked
    assert item.lost_edits == [UNKNOWN_EDITS]  # unknown is never safe: listed as an edit that will be lost
    assert UNKNOWN_EDITS["why"] + "; assume they will be lost" in item.warnings
    assert item.warnings[0] == (
        "this instance has no status endpoint: edits since the last import cannot be listed; assume they will be lost"
    )


async def test_an_earlier_group_already_imports_it_unless_forced() -> None:
    from tui.core.ops import plan

    item, _ = await plan_item(ws("v1"), earlier=True)
    assert item == plan.PlanItem("base", "shop", "skip", "v2", "v2", plan.EARLIER_GROUP)
    assert (await plan_item(ws("v1"), earlier=True, force=True))[0].action == "update"


@pytest.mark.parametrize("lock", ["merge_conflict", "manual", "push_in_progress"])
async def test_any_write_lock_blocks_the_import_of_that_workspace(lock: str) -> None:
    item, client = await plan_item(ws("v1", lock=lock))
    assert (item.group, item.slug, item.action, item.from_version, item.to_version) == (
        "base",
        "shop",
        "blocked",
        "v1",
        "v2",
    )
    assert item.reason.startswith(f"locked ({lock}): the import of this workspace will fail")
    assert client.asked == []


async def test_an_update_carries_its_diff_and_the_edits_it_will_lose() -> None:
    edits = {"changes": [{"type": "updated", "slug": "chat"}, "junk"]}
    item, client = await plan_item(ws("v1"), status=edits)
    assert (item.group, item.slug, item.action, item.from_version, item.to_version, item.reason) == (
        "base",
        "shop",
        "update",
        "v1",
        "v2",
        "",
    )
    assert item.diff is not None and item.diff.identical and item.lost_edits == [edits["changes"][0]]
    assert (item.diff.old_label, item.diff.new_label) == ("shop (running)", "repository v2")
    assert sorted(client.asked) == ["export w1", "status w1"]
    assert item.warnings == []


async def test_a_dirty_workspace_never_imported_warns_that_its_content_is_lost() -> None:
    from tui.core.ignore import Ignore
    from tui.core.ops import plan

    dirty = Workspace.from_json({"id": "w1", "slug": "shop", "dirty": True})
    client = PlanClient({"index.yml": b"name: Old\n"})
    item = await plan._import_item(client, "base", source(), dirty, False, False, Ignore())  # type: ignore[arg-type]
    assert item.warnings == ["dirty and never imported: its unpushed content (the diff above) will be lost"]
    same = await plan._import_item(
        PlanClient({"index.yml": b"name: Shop\n"}), "base", source(), dirty, False, False, Ignore()
    )  # type: ignore[arg-type]
    assert same.warnings == []  # nothing differs: nothing lost
    known = await plan._import_item(client, "base", source(), dirty, False, False, Ignore())  # type: ignore[arg-type]
    client.answer = {"version": "v1"}
    imported = await plan._import_item(client, "base", source(), dirty, False, False, Ignore())  # type: ignore[arg-type]
    assert known.warnings and imported.warnings == []  # imported before: its content is in the repository


async def test_the_plan_leaves_out_what_the_platform_rewrites_on_import() -> None:
    from tui.core.ignore import Ignore
    from tui.core.ops import plan

    client = PlanClient({"index.yml": b"name: Shop\ndescription: Shop (IMPORT)\n"})
    incoming = plan.RepoWorkspace("shop", None, ("base",), {"index.yml": b"name: Shop\ndescription: Shop\n"})
    item = await plan._import_item(client, "base", incoming, ws("v1"), False, False, Ignore())  # type: ignore[arg-type]
    assert item.diff is not None and item.diff.identical and item.diff.ignored == 1
    assert item.diff.new_label == "repository latest" and item.to_version is None
    strict = await plan._import_item(client, "base", incoming, ws("v1"), False, False, Ignore.nothing())  # type: ignore[arg-type]
    assert strict.diff is not None and not strict.diff.identical


def test_a_plan_has_changes_only_with_a_create_an_update_or_a_blocked_item() -> None:
    from tui.core.ops.plan import Plan, PlanItem

    the_plan = Plan("bulk-import", "dev", "release", ["base"], [PlanItem("base", "a", "skip")])
    assert not the_plan.has_changes
    assert the_plan.counts() == {"create": 0, "update": 0, "skip": 1, "blocked": 0}
    for action in ("create", "update", "blocked"):
        other = Plan(
            "bulk-import", "dev", "release", ["base"], [PlanItem("base", "a", "skip"), PlanItem("base", "b", action)]
        )
        assert other.has_changes and other.counts()[action] == 1 and other.counts()["skip"] == 1
    twice = Plan(
        "bulk-import", "dev", "release", ["base"], [PlanItem("base", "a", "update"), PlanItem("base", "b", "update")]
    )
    assert twice.counts()["update"] == 2
    odd = Plan("bulk-import", "dev", "release", ["base"], [PlanItem("base", "a", "someday")])
    assert odd.counts()["someday"] == 1 and not odd.has_changes


# ------------------------------------------------------------------------------------------------ freeze
def utc(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)


def test_a_window_in_force_is_the_one_ending_last_and_the_next_is_the_earliest() -> None:
    from tui.core import freeze

    windows = ["2026-12-20/2026-12-24", "2026-12-22/2026-12-31", "2027-02-01/2027-02-02", "2027-01-10/2027-01-11"]
    found = freeze.state("prod", windows, utc("2026-12-23T12:00:00+00:00"))
    assert found.env == "prod" and found.current is not None and found.current[0].text == windows[1]
    assert found.upcoming is not None and found.upcoming[0].text == windows[3]
    assert found.to_json() == {
        "env": "prod",
        "frozen": True,
        "current": {"window": windows[1], "start": "2026-12-22T00:00+00:00", "end": "2027-01-01T00:00+00:00"},
        "next": {"window": windows[3], "start": "2027-01-10T00:00+00:00", "end": "2027-01-12T00:00+00:00"},
    }
    assert freeze.describe(found.current) == f"{windows[1]} (2026-12-22T00:00+00:00 to 2027-01-01T00:00+00:00)"
    assert freeze.state("dev", [], utc("2026-12-23T12:00:00+00:00")).to_json()["current"] is None


def test_a_window_ends_at_its_end_and_a_past_one_is_skipped() -> None:
    from tui.core import freeze

    windows = ["2020-01-01/2020-01-02", "2026-12-20/2026-12-24"]
    at_end = freeze.state("prod", windows, utc("2026-12-25T00:00:00+00:00"))
    assert not at_end.frozen and at_end.upcoming is None  # both over: neither in force nor to come
    at_start = freeze.state("prod", windows, utc("2026-12-20T00:00:00+00:00"))
    assert at_start.frozen and at_start.current[1] == utc("2026-12-20T00:00:00+00:00")  # type: ignore[index]
    same = freeze.state("prod", ["2027-01-05/2027-01-06", "2027-01-05/2027-01-07"], utc("2026-12-01T00:00:00+00:00"))
    assert same.upcoming is not None and same.upcoming[0].text == "2027-01-05/2027-01-06"  # the first listed of a tie
    tie = freeze.state("prod", ["2026-12-01/2026-12-03", "2026-11-30/2026-12-03"], utc("2026-12-02T00:00:00+00:00"))
    assert tie.current is not None and tie.current[0].text == "2026-12-01/2026-12-03"


def test_dates_in_a_time_zone_and_a_single_day() -> None:
    from tui.core import freeze

    window = freeze.parse_window("2026-12-24/2026-12-24 Europe/Paris")
    assert window.zone == "Europe/Paris" and window.first == window.last
    begin, end = window.occurrence(utc("2026-12-24T10:00:00+00:00"))  # type: ignore[misc]
    assert begin == utc("2026-12-23T23:00:00+00:00") and end == utc("2026-12-24T23:00:00+00:00")
    assert window.occurrence(utc("2026-12-24T23:00:00+00:00")) is None


def test_weekly_windows_of_one_day_or_the_whole_week() -> None:
    from tui.core import freeze

    same_day = freeze.parse_window("Mon 08:00-Mon 17:00")
    begin, end = same_day.occurrence(utc("2026-11-30T09:00:00+00:00"))  # type: ignore[misc]  # a Monday
    assert (begin, end) == (utc("2026-11-30T08:00:00+00:00"), utc("2026-11-30T17:00:00+00:00"))
    week = freeze.parse_window("Mon 08:00-Mon 08:00")  # all week: from Monday 08:00 to the next
    begin, end = week.occurrence(utc("2026-12-03T09:00:00+00:00"))  # type: ignore[misc]
    assert (begin, end) == (utc("2026-11-30T08:00:00+00:00"), utc("2026-12-07T08:00:00+00:00"))
    late = freeze.parse_window("mon 08:00-mon 07:59")
    begin, end = late.occurrence(utc("2026-12-06T09:00:00+00:00"))  # type: ignore[misc]  # a Sunday
    assert end == utc("2026-12-07T07:59:00+00:00") and begin == utc("2026-11-30T08:00:00+00:00")
    sunday_to_monday = freeze.parse_window("Sun 22:00-Mon 06:30 Europe/Paris")
    begin, end = sunday_to_monday.occurrence(utc("2026-12-07T05:00:00+00:00"))  # type: ignore[misc]
    assert (begin, end) == (utc("2026-12-06T21:00:00+00:00"), utc("2026-12-07T05:30:00+00:00"))
    assert freeze.state("prod", ["Sun 22:00-Mon 06:30 Europe/Paris"], utc("2026-12-07T05:30:00+00:00")).frozen is False


def test_daily_windows_with_and_without_midnight() -> None:
    from tui.core import freeze

    office = freeze.parse_window("09:00-17:30")
    assert office.occurrence(utc("2026-12-02T10:00:00+00:00")) == (
        utc("2026-12-02T09:00:00+00:00"),
        utc("2026-12-02T17:30:00+00:00"),
    )
    assert office.occurrence(utc("2026-12-02T18:00:00+00:00"))[0] == utc("2026-12-03T09:00:00+00:00")  # type: ignore[index]
    at_end = freeze.state("prod", ["09:00-17:30"], utc("2026-12-02T17:30:00+00:00"))
    assert not at_end.frozen and at_end.upcoming is not None  # ended at 17:30: tomorrow's is the next
    assert at_end.upcoming[1] == utc("2026-12-03T09:00:00+00:00")
    all_day = freeze.parse_window("06:00-06:00")
    assert all_day.occurrence(utc("2026-12-02T05:00:00+00:00")) == (
        utc("2026-12-01T06:00:00+00:00"),
        utc("2026-12-02T06:00:00+00:00"),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Fri 16:00-08:00", "give a day on both sides (Fri 16:00-Mon 08:00) or on neither."),
        ("Fry 16:00-Mon 08:00", "'Fry' is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)."),
        ("2026-02-30/2026-03-01", "'2026-02-30/2026-03-01': day is out of range for month."),
        ("2026-03-02/2026-03-01", "the last day comes before the first."),
        ("18:00-08:00 Mars/Olympus", "unknown time zone 'Mars/Olympus' (an IANA name such as Europe/Paris)."),
        ("2026-03-01/2026-03-02 Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        (
            "whenever",
            "'whenever' is not a freeze window: write \"Fri 16:00-Mon 08:00 Europe/Paris\", "
            '"18:00-08:00 UTC" or "2026-12-20/2027-01-03".',
        ),
    ],
)
def test_a_window_that_cannot_be_read_says_what_was_expected(text: str, message: str) -> None:
    from tui.core import freeze

    with pytest.raises(freeze.FreezeSyntaxError) as caught:
        freeze.parse_window(text)
    assert message in str(caught.value) and (str(caught.value).startswith(repr(text)))


def test_a_window_keeps_its_text_minutes_and_zone() -> None:
    from datetime import time

    from tui.core import freeze

    window = freeze.parse_window("  Fri   16:05 -  Mon 08:10   Europe/Paris ")
    assert (window.start, window.end, window.start_day, window.end_day) == (time(16, 5), time(8, 10), 4, 0)
    assert window.text == "  Fri   16:05 -  Mon 08:10   Europe/Paris " and window.zone == "Europe/Paris"
    assert freeze.parse_window("2026-03-01/2026-03-01").zone == "UTC"
    assert freeze.parse_window("2026-03-01/2026-03-01 Asia/Tokyo").zone == "Asia/Tokyo"


def test_a_dates_window_starts_at_the_first_of_two_midnights() -> None:
    """Havana falls back from 01:00 to 00:00 on 2024-11-03: its midnight happens twice (04:00 and 05:00 UTC).
    A window from that day is in force from the first, and says so in its own zone."""
    from tui.core import freeze

    windows = ["2024-11-03/2024-11-04 America/Havana"]
    found = freeze.state("prod", windows, utc("2024-11-03T04:30:00+00:00"))  # 00:30, the first time round
    assert found.frozen
    assert found.to_json()["current"] == {
        "window": windows[0],
        "start": "2024-11-03T00:00-04:00",
        "end": "2024-11-05T00:00-05:00",
    }


def test_a_dates_window_ends_at_the_later_reading_of_a_midnight_that_never_shows() -> None:
    """Santiago springs forward from 24:00 on 2024-09-07 to 01:00: midnight never shows, and its two readings
    are 03:00 and 04:00 UTC. Ending at the earlier would end the last day at 23:00, an hour early."""
    from tui.core import freeze

    windows = ["2024-09-05/2024-09-07 America/Santiago"]
    found = freeze.state("prod", windows, utc("2024-09-08T03:30:00+00:00"))  # 23:30 on the 7th, its last day
    assert found.frozen and found.current is not None
    assert found.current[2] == utc("2024-09-08T04:00:00+00:00")
    assert found.to_json()["current"]["end"] == "2024-09-08T01:00-03:00"  # type: ignore[index]
    assert not freeze.state("prod", windows, utc("2024-09-08T04:00:00+00:00")).frozen


# ------------------------------------------------------------------------------------------------ the gate
def test_every_refusal_says_where_why_and_how_through(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.core.ops import gate

    ctx = context()
    ctx.running["prod"] = "pull shop"
    decision = gate.decide(ctx, gate.operation(ctx, "pull shop", ["ro", "frozen", "prod"]))
    assert [(r.rule, r.env) for r in decision.refusals] == [
        ("read_only", "ro"),
        ("frozen", "frozen"),
        ("reason", "frozen"),
        ("reason", "prod"),
        ("busy", "prod"),
    ]
    read_only, frozen, reason, _, busy = decision.refusals
    assert read_only.message == "Environment 'ro' is marked read_only in the configuration."
    assert read_only.way_through == "Set read_only = false under [environments.ro] to change it."
    assert frozen.window == "until 3000-01-01T00:00+00:00 (window '2000-01-01/2999-12-31')"
    assert frozen.message == f"frozen is frozen {frozen.window}."
    assert frozen.way_through == (
        "Wait for the end of the window, or pass --break-glass REASON (recorded in the audit journal); "
        "in the app, the dialog's break-glass field."
    )
    assert reason.message == "frozen requires a reason for every change."
    assert reason.way_through == (
        "Give --reason TEXT (a ticket id, for example) or set PRISME_DEPLOY_REASON; in the app, "
        "the dialog's Reason field."
    )
    assert busy.message == "prod is already running pull shop; wait for it to finish."
    assert busy.way_through == "Wait for the running operation to finish."
    assert decision.frozen_envs == ("frozen",) and decision.glass == ()
    assert decision.by_rule("reason") == [reason, decision.refusals[3]]
    error = busy.error()
    assert error.hint == "Wait for the running operation to finish." and error.message == busy.message


def test_read_only_mode_is_refused_with_its_way_out() -> None:
    from tui.core.ops import gate

    ctx = context(read_only=True)
    decision = gate.decide(ctx, gate.operation(ctx, "pull", ["dev"], dry_run=True))
    (refusal,) = decision.refusals
    assert refusal.env == "dev" and refusal.way_through == "Run without --read-only."
    assert refusal.message == "prisme-deploy runs in --read-only mode: mutating actions are disabled."


def test_a_dry_run_in_a_window_is_allowed_and_the_window_still_said() -> None:
    from tui.core.ops import gate

    ctx = context()
    decision = gate.decide(ctx, gate.operation(ctx, "plan", ["frozen", "dev"], dry_run=True))
    assert decision.allowed and decision.frozen_envs == ("frozen",)
    broken = gate.operation(ctx, "pull", ["frozen", "dev"])
    glass = gate.decide(ctx, gate.Operation("pull", ("frozen", "dev"), "CHG-1", "INC-7"))
    assert glass.allowed and glass.glass == ("frozen",) and glass.frozen_envs == ("frozen",)
    assert not gate.decide(ctx, broken).allowed


def test_approval_hooks_are_asked_per_environment_and_told_last(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.core.ops import gate

    asked: list[tuple[Any, str, str]] = []

    def second_pair_of_eyes(ctx: Any, op: Any, name: str) -> Any:
        asked.append((ctx, op.what, name))
        return gate.Refusal("second-eyes", name, f"{name} needs a second pair of eyes.", "Ask a colleague.")

    monkeypatch.setattr(gate, "APPROVALS", [second_pair_of_eyes])
    ctx = context()
    ctx.running["dev"] = "push"
    decision = gate.decide(ctx, gate.operation(ctx, "pull", ["dev"]))
    assert asked == [(ctx, "pull", "dev")]
    assert [r.rule for r in decision.refusals] == ["busy", "second-eyes"]
    assert isinstance(decision.refusals[1].error(), gate.E.PermissionDenied)


def test_a_previous_groups_late_progress_is_not_the_next_groups() -> None:
    """``seen`` lives for a whole run: base1's progress, searchable only once base2 has started, is base1's
    (its workspaces are members of base1, not of base2), and is never shown under base2."""
    seen: set[str] = set()
    assert _ours(platform_event("started", "1", groups=["base1"], workspaces=[{"slug": "shop"}]), "base1", seen)
    assert _ours(platform_event("started", "2", groups=["base2"], workspaces=[{"slug": "docs"}]), "base2", seen)
    assert not _ours(platform_event("progress", "3", workspaceSlug="shop"), "base2", seen) and "3" in seen
    assert _ours(platform_event("progress", "4", workspaceSlug="docs"), "base2", seen)
