"""The API client against a real sandbox over loopback HTTP: every endpoint and every error class."""

from __future__ import annotations

import io
import socket
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from conftest import set_faults
from waits import wait_until

from tui.cli import exits
from tui.core import errors as E
from tui.core.api.client import PrismeClient
from tui.core.api.models import Event
from tui.sandbox.runner import Running

pytestmark = pytest.mark.e2e


def client(running: Running, **kwargs: object) -> PrismeClient:
    return PrismeClient(running.url, running.token, env_name="test", poll_interval=0.1, **kwargs)  # type: ignore[arg-type]


async def events_eventually(
    api: PrismeClient, workspace_id: str, until: Callable[[list[Event]], bool] = bool, **query: Any
) -> list[Event]:
    """Events are searchable seconds after they happen (as on a real instance): read until they show."""

    async def read() -> list[Event] | None:
        found = await api.events(workspace_id, **query)
        return found if until(found) else None

    # A read a second, inside the 20-per-minute search budget.
    return await wait_until(None, read, timeout=15, every=1.0, what=f"events of {workspace_id} {query}")


async def test_identity_health_and_listing(sandbox: Running) -> None:
    async with client(sandbox) as api:
        me = await api.me()
        assert me.email == "admin@sandbox.local"
        assert (await api.readiness()).ready
        assert await api.healthcheck()
        workspaces = await api.list_workspaces(page_size=4)  # forces several pages
        slugs = [w.slug for w in workspaces]
        assert len(slugs) == 15 and len(set(slugs)) == 15 and "platform" not in slugs
        base1 = await api.list_workspaces(labels=["production:app:base1"])
        assert {w.slug for w in base1} == {"securechat", "knowledge-base", "ai-store"}
        dirty = await api.list_workspaces(dirty=True)
        assert {"support-bot", "sales-copilot", "meeting-notes"} <= {w.slug for w in dirty}
        assert all(w.dirty for w in dirty)
        assert "production:app:base2" in await api.labels()
        repos = await api.platform_repositories()
        assert repos["release"].writable and repos["release"].branch == "main"
        assert set(repos["release"].groups) == {"base1", "base2", "extended"}


async def test_workspace_detail_has_lock_push_and_dirty(sandbox: Running) -> None:
    async with client(sandbox) as api:
        locked = await api.find_workspace("ticket-triage")
        assert locked.write_lock and locked.write_lock.reason == "manual"
        bot = await api.find_workspace("support-bot")
        assert bot.dirty and bot.last_push and bot.last_push.version == "v1.2.0"
        assert bot.last_push.repository_id == "release"


async def test_push_then_push_again_without_changes_and_native_versions(sandbox: Running) -> None:
    async with client(sandbox) as api:
        ws = await api.find_workspace("support-bot")
        version = await api.publish(ws.id, name="v1.3.0", description="Better answers", repository_id="release")
        assert version.name == "v1.3.0" and version.repository_id == "release"
        after = await api.get_workspace(ws.id)
        assert not after.dirty and after.last_push and after.last_push.version == "v1.3.0"
        assert after.write_lock is None, "a finished push must release its lock"
        native = await api.publish(ws.id, name="snap-1", description="native")
        assert native.repository_id is None
        names = [v.name for v in await api.list_versions(ws.id)]
        assert names[:2] == ["snap-1", "v1.3.0"]
        published = await events_eventually(
            api, ws.id, types=["workspaces.versions.published"], limit=5, after_date=version.created_at
        )
        assert [e.payload["version"]["name"] for e in published][:1] == ["snap-1"]
        published = await api.events(ws.id, types=["workspaces.versions.published"], limit=5)
        assert "changes" in published[1].payload


async def test_rollback_restores_old_content_and_emits_imported(sandbox: Running) -> None:
    async with client(sandbox) as api:
        ws = await api.find_workspace("securechat")
        current = await api.export(ws.id)
        result = await api.pull(ws.id, "v1.0.0", repository_id="release", discard_local_changes=True)
        assert result.ok and "automations/chat.yml" in result.imported
        assert "automations/healthcheck.yml" in result.deleted  # v1.0.0 had no healthcheck: pull prunes
        after = await api.get_workspace(ws.id)
        assert after.last_pull and after.last_pull.version == "v1.0.0"
        events = await events_eventually(api, ws.id, types=["workspaces.imported"], limit=1)
        assert events and events[0].payload["version"]["name"] == "v1.0.0"
        assert await api.export(ws.id) != current


async def test_archive_export_import_with_prune(sandbox: Running) -> None:
    async with client(sandbox) as api:
        source = await api.find_workspace("support-bot")
        target = await api.find_workspace("support-bot-dev")
        archive = await api.export(source.id)
        names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
        assert all(n.startswith("current/") for n in names) and "current/.import.yml" in names
        result = await api.import_archive(target.id, archive, prune=True)
        assert result.ok and "automations/answer.yml" in result.imported
        status = await api.status(target.id)
        assert status["changes"] == []  # fresh import: nothing drifted yet


async def test_drift_shows_in_status(sandbox: Running) -> None:
    import httpx

    async with client(sandbox) as api:
        ws = await api.find_workspace("securechat")
        await api.pull(ws.id, "latest", repository_id="release", discard_local_changes=True)
        httpx.put(
            f"{sandbox.url}/sandbox/workspaces/{ws.id}/files/automations/chat.yml",
            content="slug: chat\n",
            headers={"Authorization": f"Bearer {sandbox.token}"},
        ).raise_for_status()
        status = await api.status(ws.id)
        assert [c["slug"] for c in status["changes"]] == ["chat"]


async def test_lock_unlock(sandbox: Running) -> None:
    async with client(sandbox) as api:
        ws = await api.find_workspace("faq-widget")
        await api.lock(ws.id, "manual")
        with pytest.raises(E.WorkspaceLocked, match="locked"):
            await api.publish(ws.id, name="x1", description="d")
        await api.unlock(ws.id)
        assert (await api.get_workspace(ws.id)).write_lock is None


async def test_processing_is_never_success_and_resolves_from_events(sandbox: Running) -> None:
    set_faults(sandbox, processing_after=0.0)
    async with client(sandbox) as api:
        ws = await api.find_workspace("doc-search")
        version = await api.publish(ws.id, name="slow-1", description="slow")
        assert version.name == "slow-1"  # recovered from workspaces.versions.published, not from {processing}
    set_faults(sandbox, processing_after=0.0)
    async with client(sandbox, processing_wait=0.5) as api:
        ws = await api.find_workspace("doc-search")
        set_faults(sandbox, processing_after=0.0, push_fail=["doc-search"])
        with pytest.raises(E.StillProcessing):
            await api.publish(ws.id, name="slow-2", description="never", repository_id="release")


async def test_events_filters(sandbox: Running) -> None:
    async with client(sandbox) as api:
        ws = await api.find_workspace("support-bot")
        published = await api.events(ws.id, types=["workspaces.versions.published"], limit=2)
        assert len(published) == 2 and all(e.type == "workspaces.versions.published" for e in published)
        later = await api.events(ws.id, types=["workspaces.versions.published"], after_date=published[1].created_at)
        assert published[1].id not in {e.id for e in later}
        exact = await api.events(ws.id, filters={"payload.version.name": "v1.1.0"})
        assert exact and all(e.payload["version"]["name"] == "v1.1.0" for e in exact)


# ------------------------------------------------------------------------------------------------ bulk
async def test_bulk_push_streams_typed_events(sandbox: Running) -> None:
    async with client(sandbox) as api:
        events = [
            e
            async for e in api.bulk_push(
                repository_id="release", groups=["base1", "extended"], name="v1.4.0", description="release"
            )
        ]
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and kinds[-1] == "completed" and "progress" in kinds
    progress = [e for e in events if e.kind == "progress"]
    assert [p.current for p in progress] == list(range(1, len(progress) + 1))
    assert {p.slug for p in progress} == {"support-bot", "sales-copilot"}  # the dirty ones
    summary = events[-1]
    assert not summary.failed and len(summary.ids("pushedWorkspaceIds")) == 2
    assert summary.ids("mergeConflictWorkspaceIds") == []


async def test_bulk_push_failure_is_reported(sandbox: Running) -> None:
    set_faults(sandbox, push_fail=["support-bot"])
    async with client(sandbox) as api:
        events = [e async for e in api.bulk_push(repository_id="release", groups=["extended"], name="v1.5.0")]
    summary = events[-1]
    assert summary.kind == "completed" and summary.failed
    assert summary.payload["errors"][0]["details"]["workspaceSlug"] == "support-bot"


async def test_dropped_stream_recovers_summary_from_events(sandbox: Running) -> None:
    set_faults(sandbox, sse_drop_after=1)
    async with client(sandbox) as api:
        events = [e async for e in api.bulk_push(repository_id="release", groups=["extended"], name="v1.6.0")]
    notices = [e for e in events if e.kind == "notice"]
    assert notices and "recovering" in (notices[0].message or "")
    assert events[-1].kind == "completed" and len(events[-1].ids("pushedWorkspaceIds")) == 2


async def test_dropped_stream_without_summary_is_incomplete(sandbox: Running) -> None:
    set_faults(sandbox, sse_drop_after=0, push_delay_ms=1500)
    async with client(sandbox, processing_wait=0.3) as api:
        with pytest.raises(E.BulkIncomplete, match="do not treat it as a success"):
            async for _event in api.bulk_push(repository_id="release", groups=["extended"], name="v1.7.0"):
                pass


async def test_bulk_import_one_group_with_progress(platform: dict[str, Running]) -> None:
    async with client(platform["staging"]) as api:
        events = [e async for e in api.bulk_import(repository_id="release", group="base2", force_reimport=True)]
    assert events[-1].kind == "completed"
    progress = [e for e in events if e.kind == "progress"]
    assert {p.slug for p in progress} == {"doc-search", "translation-hub", "meeting-notes", "contract-review"}
    assert all(p.status == "imported" for p in progress)


async def test_the_next_group_shows_none_of_the_previous_groups_events(platform: dict[str, Running]) -> None:
    """A group's event reads start 2 s before its request, and events are searchable 2 s late: the last
    progress events of the previous group, unseen by its own run, fall in the next group's window. The
    client's group filter keeps them out (the one filter: ops.bulk relies on it)."""
    set_faults(platform["staging"], pull_delay_ms=700)  # imports slow enough for progress to be polled
    async with client(platform["staging"]) as api:
        first = [e async for e in api.bulk_import(repository_id="release", group="base1", force_reimport=True)]
        second = [e async for e in api.bulk_import(repository_id="release", group="base2", force_reimport=True)]
    base2 = {"doc-search", "translation-hub", "meeting-notes", "contract-review"}
    base1 = {e.slug for e in first if e.kind == "progress"}
    assert base1 and not base1 & base2
    assert {e.slug for e in second if e.kind == "progress"} == base2
    for events, group in ((first, "base1"), (second, "base2")):
        named = [e.payload.get("groups") for e in events if e.kind in ("started", "completed")]
        assert named and all(groups in (None, [group]) for groups in named), (group, named)


async def test_bulk_import_skips_up_to_date(platform: dict[str, Running]) -> None:
    async with client(platform["staging"]) as api:
        events = [e async for e in api.bulk_import(repository_id="release", group="base1")]
    summary = events[-1]
    assert len(summary.ids("skippedWorkspaceIds")) == 3 and not summary.payload["errors"]


# ------------------------------------------------------------------------------------------------ errors
async def test_bad_token_is_authentication_error(sandbox: Running) -> None:
    async with PrismeClient(sandbox.url, "at:wrong-token-xyz", env_name="test") as api:
        with pytest.raises(E.AuthenticationFailed) as info:
            await api.me()
    assert info.value.correlation_id and exits.code_for(info.value) == 3
    assert "wrong-token" not in str(info.value) and "wrong-token" not in repr(info.value)


async def test_forbidden_push_to_read_only_repository(platform: dict[str, Running]) -> None:
    async with client(platform["prod"]) as api:
        ws = await api.find_workspace("securechat")
        with pytest.raises(E.PermissionDenied, match="read-only"):
            await api.publish(ws.id, name="nope", description="x", repository_id="release")


async def test_not_found_workspace_version_repository(sandbox: Running) -> None:
    async with client(sandbox) as api:
        with pytest.raises(E.NotFound):
            await api.get_workspace("does-not-exist")
        with pytest.raises(E.NotFound):
            await api.find_workspace("no-such-slug")
        ws = await api.find_workspace("securechat")
        with pytest.raises(E.NotFound, match="Unknown commit or tag"):
            await api.pull(ws.id, "v9.9.9", repository_id="release")
        with pytest.raises(E.NotFound, match="Unknown platform repository"):
            await api.publish(ws.id, name="x2", description="x", repository_id="nope")


async def test_push_rejected_when_remote_is_ahead(platform: dict[str, Running]) -> None:
    async with client(platform["dev"]) as dev, client(platform["staging"]) as staging:
        dev_ws = await dev.find_workspace("translation-hub")
        staging_ws = await staging.find_workspace("translation-hub")
        await dev.publish(dev_ws.id, name="v2.0.0", description="from dev", repository_id="release")
        with pytest.raises(E.PushRejected) as info:
            await staging.publish(staging_ws.id, name="v2.0.1", description="from staging", repository_id="release")
        assert "pull" in (info.value.hint or "").lower()


async def test_version_name_taken_and_invalid(sandbox: Running) -> None:
    async with client(sandbox) as api:
        ws = await api.find_workspace("support-bot")
        with pytest.raises(E.VersionNameTaken):
            await api.publish(ws.id, name="v1.2.0", description="again", repository_id="release")
        for bad in ("current", "a" * 16, "v 1", ""):
            with pytest.raises(E.InvalidVersionName):
                await api.publish(ws.id, name=bad, description="x")


async def test_merge_conflict_locks_workspace(platform: dict[str, Running]) -> None:
    import httpx

    dev, staging = platform["dev"], platform["staging"]
    async with client(dev) as d, client(staging) as s:
        ws_dev = await d.find_workspace("hr-assistant")
        ws_stg = await s.find_workspace("hr-assistant")
        for running, ws, text in ((dev, ws_dev, "maxTokens: 1"), (staging, ws_stg, "maxTokens: 2")):
            httpx.put(
                f"{running.url}/sandbox/workspaces/{ws.id}/files/automations/policies.yml",
                content=f"slug: policies\n{text}\n",
                headers={"Authorization": f"Bearer {running.token}"},
            ).raise_for_status()
        await d.publish(ws_dev.id, name="v3.0.0", description="dev change", repository_id="release")
        with pytest.raises(E.MergeConflict):
            await s.pull(ws_stg.id, "latest", repository_id="release")
        locked = await s.get_workspace(ws_stg.id)
        assert locked.write_lock and locked.write_lock.reason == "merge_conflict"


async def test_archive_too_large_and_bad_archive(sandbox: Running) -> None:
    async with client(sandbox) as api:
        ws = await api.find_workspace("faq-widget")
        with pytest.raises(E.ArchiveTooLarge):
            await api.import_archive(ws.id, b"PK" + b"\0" * (11 * 1024 * 1024))
        with pytest.raises(E.BadRequest, match="not a zip"):
            await api.import_archive(ws.id, b"not a zip at all")


async def test_server_error_keeps_correlation_id(sandbox: Running) -> None:
    set_faults(sandbox, error_5xx={"/v2/workspaces": 503})
    async with client(sandbox) as api:
        with pytest.raises(E.ServerError) as info:
            await api.list_workspaces()
    assert info.value.status == 503 and info.value.correlation_id and exits.code_for(info.value) == 4


async def test_timeout(sandbox: Running) -> None:
    set_faults(sandbox, latency_ms=800)
    async with client(sandbox, timeout=0.2) as api:
        with pytest.raises(E.RequestTimeout):
            await api.me()


async def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with PrismeClient(f"http://127.0.0.1:{port}", "at:x", env_name="gone") as api:
        with pytest.raises(E.ConnectionFailed, match="cannot connect"):
            await api.me()


async def test_tls_failure(sandbox: Running) -> None:
    https_url = sandbox.url.replace("http://", "https://")  # a TLS handshake against a plain HTTP server
    async with PrismeClient(https_url, "at:x", env_name="tls") as api:
        with pytest.raises(E.TLSFailure):
            await api.me()


async def test_body_that_is_not_json(sandbox: Running) -> None:
    set_faults(sandbox, html_200=["/v2/me"])
    async with client(sandbox) as api:
        with pytest.raises(E.UnexpectedResponse, match="not JSON"):
            await api.me()


def test_plain_http_refused_off_loopback() -> None:
    with pytest.raises(E.UsageError, match="unencrypted"):
        PrismeClient("http://prisme.example.com", "at:x")
    PrismeClient("http://prisme.example.com", "at:x", allow_insecure_http=True)


def test_token_never_in_repr() -> None:
    api = PrismeClient("https://api.example.com", "at:super-secret-token-123")
    assert "super-secret" not in repr(api) and "super-secret" not in repr(api._http.auth)
