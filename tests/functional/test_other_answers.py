"""The platform's other answers (issue 24, part 3): each reproduced by a sandbox switch, tested both ways.

A real instance may answer otherwise than the kind sandbox did (api-contract.md, "Where the sandbox was
kinder than a real instance"): each ``Realism`` switch below makes the sandbox answer that way, and each test
runs with the switch on and off, so the client is right on both.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import fresh_token, set_faults
from test_realism import caller, git, pull, release_clone, ws

from tui.core import config as cfg
from tui.core.api.budget import RequestBudget
from tui.core.api.client import PrismeClient
from tui.core.api.models import Workspace
from tui.core.ignore import Ignore
from tui.core.ops import actions, history, plan
from tui.core.ops.context import Context
from tui.sandbox import clock, dsul
from tui.sandbox.faults import Faults
from tui.sandbox.realism import Realism
from tui.sandbox.runner import Running, start_in_thread

pytestmark = pytest.mark.e2e
FAST = {"event_lag": 0.0, "rate_limits": {}}


@pytest.fixture
def answering(single_template: Path, tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Seeded instances with chosen Realism settings (the others as by default)."""
    started: list[Running] = []

    def make(**settings: Any) -> Running:
        data = tmp_path / f"sandbox-{len(started)}"
        shutil.copytree(single_template, data, symlinks=True)
        realism = Realism()
        realism.update(settings)
        token = f"at:answers-{len(started)}-token"
        running = start_in_thread(data, token, faults=Faults(), environ={}, realism=realism)
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()
    clock.set_skew(0.0)


def api(running: Running, token: str | None = None, **kwargs: Any) -> PrismeClient:
    return PrismeClient(running.url, token or running.token, env_name="dev", poll_interval=0.1, **kwargs)


def context(running: Running, monkeypatch: pytest.MonkeyPatch) -> Context:
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_DEV", running.token)
    text = (
        f'[environments.dev]\nurl = "{running.url}"\ntier = "development"\nrepositories = ["release"]\n'
        f'[repositories.release]\npath = "{Path(running.sandbox.data_dir) / "release.git"}"\ndirpath = "workspaces"\n'
        '[groups.base1]\nlabels = ["production:app:base1"]\n'
    )
    return Context.create(cfg.parse(text), use_keyring=False)


# ------------------------------------------------------------------------------------------------ lastPull
@pytest.mark.parametrize("listed", [True, False])
async def test_live_versions_without_last_pull_come_from_the_last_import(answering: Any, listed: bool) -> None:
    running = answering(**FAST, last_pull_listed=listed)
    call = caller(running)
    assert pull(call, ws(call, "faq-widget")["id"], "v1.1.0").status_code == 200
    async with api(running) as client:
        item = next(w for w in await client.list_workspaces() if w.slug == "faq-widget")
        assert (item.last_pull is not None) is listed
        room = client.budget.room("events")
        live = await history.live_versions(client, [item])
        assert live == {"faq-widget": "v1.1.0"}
        assert client.budget.room("events") == room - (0 if listed else 1)  # one search, only when needed


async def test_a_live_version_nobody_can_tell_is_unknown(answering: Any) -> None:
    running = answering(**FAST, last_pull_listed=False)
    call = caller(running)
    assert pull(call, ws(call, "faq-widget")["id"], "v1.1.0").status_code == 200
    async with api(running, budget=RequestBudget("dev", limits={"events": 0})) as client:
        item = next(w for w in await client.list_workspaces() if w.slug == "faq-widget")
        assert await history.live_versions(client, [item]) == {"faq-widget": None}  # no search left: unknown
    set_faults(running, error_5xx={f"/v2/workspaces/{item.id}/search": 500})  # the events service down
    async with api(running) as client:
        assert await history.live_versions(client, [item]) == {"faq-widget": None}
    set_faults(running, error_5xx={})
    created = call("POST", "/v2/workspaces", json={"name": "Never Imported"})
    assert created.status_code == 200, created.text
    async with api(running) as client:
        fresh = Workspace.from_json(created.json())
        assert await history.live_versions(client, [fresh]) == {fresh.slug: None}  # never pulled nor pushed


# ------------------------------------------------------------------------------------------------ secrets
@pytest.mark.parametrize("owner_only", [True, False])
async def test_an_empty_secrets_answer_is_cannot_tell_for_a_non_owner(answering: Any, owner_only: bool) -> None:
    running = answering(**FAST, secrets_owner_only=owner_only)
    admin = caller(running, running.token)
    wid = ws(admin, "faq-widget")["id"]
    answer = admin("PATCH", f"/v2/workspaces/{wid}/security/secrets", json={"apiEndpoint": {"value": "https://x"}})
    assert answer.status_code == 200, answer.text
    async with api(running, fresh_token(running)) as user:
        workspace = await user.find_workspace("faq-widget")
        assert await user.secret_names(wid) == ([] if owner_only else ["apiEndpoint"])
        assert await user.known_secret_names(workspace) == (None if owner_only else ["apiEndpoint"])
    async with api(running) as owner:  # the super admin reads them, and an empty answer is "none"
        assert await owner.known_secret_names(await owner.find_workspace("faq-widget")) == ["apiEndpoint"]
        other = await owner.find_workspace("securechat")
        await owner._json("PUT", f"/v2/workspaces/{other.id}/security/secrets", json={})
        assert await owner.known_secret_names(other) == []


# ------------------------------------------------------------------------------------------------ slug conflict
@pytest.mark.parametrize("applies_index", [True, False])
async def test_a_slug_conflict_that_applied_the_index_is_a_success_with_a_warning(
    answering: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, applies_index: bool
) -> None:
    running = answering(**FAST, slug_conflict_applies_index=applies_index)
    clone = release_clone(running, tmp_path / "clone")
    index = clone / "workspaces" / "faq-widget" / "index.yml"
    doc = dsul.load_yaml(index.read_bytes())
    index.write_bytes(dsul.dump_yaml({**doc, "slug": "ai-store", "name": "FAQ Widget Renamed"}))
    git(clone, "commit", "-qam", "slug clash")
    git(clone, "push", "-q", "origin", "HEAD:main")
    ctx = context(running, monkeypatch)
    outcome = await actions.pull(ctx, "dev", "faq-widget", repository="release", discard_local_changes=True)
    call = caller(running)
    assert ws(call, "faq-widget")["slug"] == "faq-widget"  # the slug is kept either way
    if applies_index:
        assert outcome.ok, outcome.message
        assert outcome.warnings and "ai-store" in outcome.warnings[0] and "Warning:" in outcome.message
        assert outcome.to_json()["warnings"] == outcome.warnings
        assert ws(call, "faq-widget")["name"] == "FAQ Widget Renamed"  # the index went in
    else:
        assert not outcome.ok and "already used" in outcome.message, outcome.message
        assert not outcome.warnings


# ------------------------------------------------------------------------------------------------ locked workspaces
@pytest.mark.parametrize("clears", [True, False])
async def test_a_bulk_import_over_a_locked_workspace(
    answering: Any, monkeypatch: pytest.MonkeyPatch, clears: bool
) -> None:
    running = answering(**FAST, bulk_import_clears_locks=clears)
    admin = caller(running, running.token)
    wid = ws(admin, "ai-store")["id"]
    assert admin("POST", f"/v2/workspaces/{wid}/writeLock", json={"reason": "manual"}).status_code == 200
    the_plan = await plan.bulk_import(context(running, monkeypatch), "dev", repository="release", groups=["base1"])
    blocked = [i for i in the_plan.items if i.action == "blocked"]
    assert [i.slug for i in blocked] == ["ai-store"]  # said either way: no source says a real import clears it
    assert any("ai-store" in line and "blocked (locked)" in line for line in the_plan.lines())
    async with api(running) as client:
        events = [e async for e in client.bulk_import(repository_id="release", group="base1", force_reimport=True)]
    summary = events[-1]
    assert summary.kind == "completed"
    failed = [e for e in events if e.kind == "progress" and e.status == "error"]
    if clears:
        assert not summary.payload["errors"] and not failed
        assert not ws(admin, "ai-store").get("writeLock")
    else:
        assert [e.slug for e in failed] == ["ai-store"]  # a per-workspace error, the others imported
        assert summary.payload["errors"][0]["details"]["workspaceSlug"] == "ai-store"
        assert summary.payload["updatedWorkspaceIds"]
        assert ws(admin, "ai-store")["writeLock"]["reason"] == "manual"


# ------------------------------------------------------------------------------------------------ " (IMPORT)"
def archive(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(f"workspace/{name}", data)  # the server strips the first segment
    return buffer.getvalue()


@pytest.mark.parametrize("suffix_empty", [True, False])
async def test_an_import_without_description_compares_equal(answering: Any, suffix_empty: bool) -> None:
    running = answering(**FAST, suffix_empty_description=suffix_empty)
    async with api(running) as client:
        target = await client.find_workspace("faq-widget")
        index = {"name": "FAQ Widget", "slug": "faq-widget"}  # no description at all
        result = await client.import_archive(target.id, archive({"index.yml": dsul.dump_yaml(index)}), prune=False)
        assert result.imported == ("index.yml",), result
        after = await client.get_workspace(target.id)
    assert after.raw.get("description", "") == (" (IMPORT)" if suffix_empty else "")
    source: dict[str, Any] = {"name": "FAQ Widget"}
    imported: dict[str, Any] = {"name": "FAQ Widget", "description": after.raw.get("description", "")}
    Ignore().pair("index.yml", source, imported)
    assert source == imported  # what the import wrote is the platform's doing, not a difference


def test_empty_and_absent_descriptions_compare_equal_after_the_suffix() -> None:
    for written in (" (IMPORT)", "", " (IMPORT) (IMPORT)"):
        old: dict[str, Any] = {"name": "a"}
        new: dict[str, Any] = {"name": "a", "description": written}
        Ignore().pair("index.yml", old, new)
        assert old == new, written
    kept: dict[str, Any] = {"description": "Shop (IMPORT)"}
    Ignore().one_side("index.yml", kept)
    assert kept == {"description": "Shop"}
    real: dict[str, Any] = {"name": "a", "description": "real"}
    assert Ignore().pair("index.yml", {"name": "a"}, real) == 0 and real["description"] == "real"


# ------------------------------------------------------------------------------------------------ /test limit
@pytest.mark.parametrize("limited", [True, False])
async def test_smoke_tests_are_limited_per_user_and_budgeted(answering: Any, limited: bool) -> None:
    running = answering(event_lag=0.0, rate_limits={"test": 2} if limited else {})
    token = fresh_token(running)
    call = caller(running, token)
    wid = ws(call, "faq-widget")["id"]
    automation = next(iter(ws(call, "faq-widget")["automations"]))
    answers = [call("POST", f"/v2/workspaces/{wid}/test/{automation}", json={}).status_code for _ in range(3)]
    assert answers == ([200, 200, 429] if limited else [200, 200, 200])
    async with api(running, fresh_token(running)) as client:
        await client.test_automation(wid, automation)
        limit = 2 if limited else 30  # the gateway's X-RateLimit-Limit corrects the documented 30
        assert client.budget.limits["test"] == limit and client.budget.room("test") == limit - 1  # counted
        client.budget.limits["test"] = 1
        assert client.budget.delay("test") > 0  # the next one would wait for its slot, not be refused


# ------------------------------------------------------------------------------------------------ server clock
@pytest.mark.parametrize("skew", [-300.0, 0.0])
async def test_the_bulk_push_recovery_reads_events_by_the_servers_clock(answering: Any, skew: float) -> None:
    running = answering(**FAST, clock_skew=skew)
    try:
        set_faults(running, sse_drop_after=1)
        async with api(running, processing_wait=20.0) as client:
            events = [e async for e in client.bulk_push(repository_id="release", groups=["extended"], name="v9.0.0")]
        date = httpx.get(f"{running.url}/sys/healthcheck").headers["date"]
        assert abs(clock.skew() - skew) < 1e-9 and date
        assert any(e.kind == "notice" and "recovering" in (e.message or "") for e in events)
        assert events[-1].kind == "completed" and len(events[-1].ids("pushedWorkspaceIds")) == 2
    finally:
        clock.set_skew(0.0)


def test_the_other_answers_are_settable_and_all_on_in_strict_mode(answering: Any) -> None:
    running = answering(**FAST)
    admin = caller(running, running.token)
    answer = admin("POST", "/sandbox/realism", json={"last_pull_listed": False, "secrets_owner_only": True})
    assert answer.status_code == 200 and answer.json()["last_pull_listed"] is False
    assert "lastPull" not in next(w for w in admin("GET", "/v2/workspaces").json() if w["slug"] == "faq-widget")
    strict = Realism.strict()
    assert not strict.last_pull_listed and strict.secrets_owner_only and strict.slug_conflict_applies_index
    assert not strict.bulk_import_clears_locks and strict.suffix_empty_description
    assert admin("POST", "/sandbox/realism", json={"clock_skews": 1}).status_code == 400


# ------------------------------------------------------------------------------------------------ Builder bundles
@pytest.mark.parametrize("uploaded", [True, False])
async def test_a_rollback_warns_when_a_bundle_points_at_a_file_the_target_lacks(
    answering: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uploaded: bool
) -> None:
    running = answering(**FAST)
    admin = caller(running, running.token)
    wid = ws(admin, "faq-widget")["id"]
    url = f"{running.url}/files/{wid}/faq-bundle.js"
    if uploaded:
        put = admin("PUT", f"/sandbox/workspaces/{wid}/uploads/faq-bundle.js", content=b"export default 1")
        assert put.status_code == 200 and put.json()["url"] == url
    clone = release_clone(running, tmp_path / "clone")
    index = clone / "workspaces" / "faq-widget" / "index.yml"
    doc = dsul.load_yaml(index.read_bytes())
    doc.setdefault("config", {}).setdefault("value", {})["bundles"] = {"faq": url}
    index.write_bytes(dsul.dump_yaml(doc))
    git(clone, "commit", "-qam", "a bundle pointer")
    git(clone, "push", "-q", "origin", "HEAD:main")
    ctx = context(running, monkeypatch)
    outcome = await actions.pull(
        ctx, "dev", "faq-widget", repository="release", discard_local_changes=True, action="rollback"
    )
    assert outcome.ok, outcome.message
    if uploaded:
        assert outcome.warnings == []
    else:
        assert len(outcome.warnings) == 1 and "a file this environment lacks" in outcome.warnings[0]
        assert "faq-bundle.js" in outcome.message


async def test_a_bundle_on_another_host_is_named(answering: Any) -> None:
    from tui.core.ops import bundles

    running = answering(**FAST)
    async with api(running) as client:
        workspace = await client.find_workspace("faq-widget")
        assert await bundles.check(client, workspace) == []  # no pointer, nothing to say
        await client._json(
            "PATCH",
            f"/v2/workspaces/{workspace.id}/config",
            json={"value": {"bundles": {"faq": {"url": "https://staging.example.com/files/x/faq.js"}}}},
        )
        warnings = await bundles.check(client, workspace)
    assert len(warnings) == 1 and "another host (staging.example.com)" in warnings[0]
    assert bundles.judge({"a": "https://api/files/y.js"}, "https://api/", None)[0].endswith("(unknown)")
