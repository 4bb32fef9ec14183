"""The sandbox is as strict as a real Prisme.ai behind its api-gateway (issue 12).

Raw HTTP on purpose: these tests pin the wire behaviour the client must survive, independently of the client.
Each test uses its own user (``fresh_token``) so the per-user limits never make one test wait for another.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import fresh_token
from test_contract import Contract
from waits import wait_until_sync

from tui.sandbox import dsul
from tui.sandbox.faults import Faults
from tui.sandbox.realism import Realism, parse_rate_limits
from tui.sandbox.runner import Running, start_in_thread
from tui.sandbox.store import Store

pytestmark = pytest.mark.e2e
Call = Callable[..., httpx.Response]


@pytest.fixture
def contract(openapi: dict[str, Any]) -> Contract:
    return Contract(openapi)


@pytest.fixture
def make_sandbox(single_template: Path, tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Seeded instances with chosen realism settings (everything else realistic)."""
    started: list[Running] = []

    def make(**settings: Any) -> Running:
        data = tmp_path / f"sandbox-{len(started)}"
        shutil.copytree(single_template, data, symlinks=True)
        realism = Realism()
        realism.update(settings)
        running = start_in_thread(
            data, f"at:realism-{len(started)}-token", faults=Faults(), environ={}, realism=realism
        )
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


def caller(running: Running, token: str | None = None) -> Call:
    """Requests as one user of ``running``."""
    headers = {"Authorization": f"Bearer {token or fresh_token(running)}"}

    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        merged = {**headers, **kwargs.pop("headers", {})}
        return httpx.request(method, running.url + path, headers=merged, timeout=60, **kwargs)

    return call


def ws(call: Call, slug: str) -> dict[str, Any]:
    found = call("GET", "/v2/workspaces", params={"slug": slug}).json()
    assert len(found) == 1, found
    return call("GET", f"/v2/workspaces/{found[0]['id']}").json() | found[0]


def wait_until(check: Callable[[], Any], what: str, deadline: float = 30.0) -> Any:
    """Poll (events are late, operations go on after a 408) until ``check`` answers something truthy."""
    return wait_until_sync(check, timeout=deadline, every=0.2, what=what)


def events(call: Call, wid: str, types: str) -> list[dict[str, Any]]:
    answer = call("GET", f"/v2/workspaces/{wid}/events", params={"types": types, "limit": 100})
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]["events"]


def pull(call: Call, wid: str, version: str = "latest", **params: Any) -> httpx.Response:
    body = {"repository": {"id": "release"}, "discardLocalChanges": True}
    return call("POST", f"/v2/workspaces/{wid}/versions/{version}/pull", json=body, params=params)


def release_clone(running: Running, where: Path) -> Path:
    """A working clone of the instance's release repository, to play another writer."""
    bare = Path(running.sandbox.data_dir) / "release.git"
    subprocess.run(["git", "clone", "-q", str(bare), str(where)], check=True, capture_output=True)
    return where


def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    import os

    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# ------------------------------------------------------------------------------------------------ 1. rate limits
def test_events_are_limited_per_user_with_the_gateways_bodies(
    shared_sandbox: Running, user_token: str, contract: Contract
) -> None:
    alice, bob = caller(shared_sandbox, user_token), caller(shared_sandbox)
    wid = ws(alice, "securechat")["id"]
    remaining = []
    for number in range(20):
        answer = (
            alice("GET", f"/v2/workspaces/{wid}/events", params={"limit": 1})
            if number % 2
            else alice("POST", f"/v2/workspaces/{wid}/search", json={"query": {"match_all": {}}, "limit": 1})
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-RateLimit-Limit"] == "20"
        assert int(answer.headers["Retry-After"]) <= 60 and int(answer.headers["X-RateLimit-Reset"]) > time.time() - 1
        remaining.append(int(answer.headers["X-RateLimit-Remaining"]))
    assert remaining == list(range(19, -1, -1))
    refused = alice("GET", f"/v2/workspaces/{wid}/events")
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "TooManyRequests" and body["message"] == "Too many requests"
    assert isinstance(body["details"]["retryAfter"], float) and 0 < body["details"]["retryAfter"] <= 60
    assert "retry-after" not in refused.headers and "x-ratelimit-remaining" not in refused.headers
    contract.validate(contract.component("GenericError"), body)
    assert bob("GET", f"/v2/workspaces/{wid}/events").status_code == 200  # limits are per user
    assert alice("GET", f"/v2/workspaces/{wid}").status_code == 200  # other routes are not limited


def test_imports_are_limited_to_three_a_minute_bulk_import_included(shared_sandbox: Running) -> None:
    call = caller(shared_sandbox)
    wid = ws(call, "faq-widget")["id"]
    for _ in range(2):
        assert pull(call, wid, "v1.1.0").status_code == 200
    bulk = call(
        "POST",
        "/v2/workspaces/platform/versions/latest/pull",
        json={"repository": {"id": "release"}, "groups": ["nonexistent-group-only-validates"]},
    )
    assert bulk.status_code != 429 and bulk.headers["X-RateLimit-Remaining"] == "0"  # the bulk import counts
    refused = pull(call, wid, "v1.0.0")
    assert refused.status_code == 429 and refused.json()["error"] == "TooManyRequests"
    assert ws(call, "faq-widget")["lastPull"]["version"] == "v1.1.0"  # refused before reaching the service
    assert call("POST", "/v2/workspaces/import").status_code == 429  # same policy, same budget
    assert call("POST", f"/v2/workspaces/{wid}/versions/v1/duplicate").status_code == 429
    assert call("GET", "/v2/workspaces/platform").status_code == 200


def test_a_fixed_window_opens_again_after_retry_after(make_sandbox: Callable[..., Running]) -> None:
    running = make_sandbox(rate_window=1.0, rate_limits={"events": 2})
    call = caller(running)
    path = f"/v2/workspaces/{ws(call, 'ai-store')['id']}/events"
    assert [call("GET", path).status_code for _ in range(3)] == [200, 200, 429]
    wait = call("GET", path).json()["details"]["retryAfter"]
    assert 0 < wait <= 1.0
    time.sleep(wait + 0.05)  # the behaviour under test: the window reopens once its retryAfter has passed
    assert call("GET", path).status_code == 200


def test_rate_limit_flags_parse() -> None:
    assert parse_rate_limits("events=5") == {"events": 5, "imports": 3, "create": 3, "test": 30}
    assert parse_rate_limits("off") == {}
    with pytest.raises(ValueError, match="CLASS=N"):
        parse_rate_limits("searches=3")
    with pytest.raises(ValueError, match="whole number"):
        parse_rate_limits("imports=many")


# ------------------------------------------------------------------------------------------------ 2. late events
def test_events_are_searchable_only_after_the_lag(make_sandbox: Callable[..., Running]) -> None:
    running = make_sandbox(event_lag=3600)  # far beyond any test: "not yet" is certain
    call = caller(running)
    wid = ws(call, "ai-store")["id"]
    assert call("POST", f"/v2/workspaces/{wid}/versions", json={"name": "late", "description": "x"}).status_code == 200
    assert call("GET", f"/v2/workspaces/{wid}/versions").json()[0]["name"] == "late"  # state: at once
    published = events(call, wid, "workspaces.versions.published")
    assert published and not [e for e in published if e["payload"]["version"]["name"] == "late"]  # seeded ones only
    query = {"query": {"term": {"payload.version.name": "late"}}}
    assert call("POST", f"/v2/workspaces/{wid}/search", json=query).json()["size"] == 0


def test_events_appear_with_the_default_lag(shared_sandbox: Running) -> None:
    assert Realism().event_lag == 2.0 and 1 <= shared_sandbox.sandbox.realism.event_lag <= 5
    call = caller(shared_sandbox)
    wid = call("POST", "/v2/workspaces", json={"name": "Late events"}).json()["id"]
    published = call("POST", f"/v2/workspaces/{wid}/versions", json={"name": "soon", "description": "x"}).json()
    found = wait_until(lambda: events(call, wid, "workspaces.versions.published"), "the published event")
    assert found[0]["payload"]["version"]["name"] == published["name"]


def test_store_hides_events_until_indexed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path, event_lag=lambda: 3.0)
    now = [1000.0]
    monkeypatch.setattr("tui.sandbox.store.time.monotonic", lambda: now[0])
    store.emit("w1", "t.x", {})
    assert store.query_events("w1") == []
    now[0] += 3.0
    assert [e["type"] for e in store.query_events("w1")] == ["t.x"]
    store.close()


# ------------------------------------------------------------------------------------------------ 3. gateway timeout
def test_gateway_408_while_the_pull_goes_on(make_sandbox: Callable[..., Running]) -> None:
    running = make_sandbox(gateway_timeout=0.5, event_lag=0.2)
    running.sandbox.faults.pull_delay_ms = 4000  # still running well after the 408, even on a loaded machine
    call = caller(running)
    wid = ws(call, "faq-widget")["id"]
    answer = pull(call, wid, "v1.1.0")
    assert answer.status_code == 408 and answer.json() == {"error": "TimeoutError", "timeout": 500}
    assert ws(call, "faq-widget")["writeLock"]["reason"] == "pull_in_progress"  # still running
    done = wait_until(lambda: not ws(call, "faq-widget").get("writeLock") and ws(call, "faq-widget"), "pull done")
    assert done["lastPull"]["version"] == "v1.1.0"
    assert wait_until(lambda: events(call, wid, "workspaces.imported"), "the imported event")


def test_gateway_408_on_a_bulk_import_keeps_the_platform_lock(make_sandbox: Callable[..., Running]) -> None:
    running = make_sandbox(gateway_timeout=0.5, timeout_cap=15.0)
    running.sandbox.faults.pull_delay_ms = 1500  # x 3 workspaces of base1
    call = caller(running)
    body = {"repository": {"id": "release"}, "groups": ["base1"]}
    answer = call("POST", "/v2/workspaces/platform/versions/latest/pull", json=body, params={"timeout": 10})
    assert answer.status_code == 408 and answer.json()["error"] == "TimeoutError"
    assert call("GET", "/v2/workspaces/platform").json()["writeLock"]["reason"] == "bulk_in_progress"
    second = call("POST", "/v2/workspaces/platform/versions/latest/pull", json=body)
    assert second.status_code == 400 and "already running" in second.json()["message"]
    wait_until(lambda: not call("GET", "/v2/workspaces/platform").json().get("writeLock"), "bulk done", 60)


def test_the_service_caps_its_timeout_below_the_gateways(make_sandbox: Callable[..., Running]) -> None:
    running = make_sandbox(gateway_timeout=5.0, timeout_cap=0.3)
    running.sandbox.faults.pull_delay_ms = 1500
    call = caller(running)
    wid = ws(call, "faq-widget")["id"]
    answer = pull(call, wid, "v1.1.0", timeout=100)  # asks for 100 s: the service answers after the cap
    assert answer.status_code == 200 and answer.json()["processing"] is True
    wait_until(lambda: not ws(call, "faq-widget").get("writeLock"), "pull done")


# ------------------------------------------------------------------------------------------------ 4. import rewrites
def test_a_pull_rewrites_the_index(sandbox: Running) -> None:
    call = caller(sandbox)
    before = ws(call, "faq-widget")
    wid = before["id"]
    edited = call("PATCH", f"/v2/workspaces/{wid}", json={"labels": [*before["labels"], "local:only"]})
    assert edited.status_code == 200
    result = pull(call, wid, "v1.1.0").json()
    assert result["errors"] == []
    after = ws(call, "faq-widget")
    assert after["description"] == {"en": "FAQ Widget (release 2) (IMPORT)", "fr": "FAQ Widget (version 2) (IMPORT)"}
    assert after["id"] == wid and after["slug"] == "faq-widget"
    assert "local:only" in after["labels"]  # merged, not replaced
    files = exported(call, wid)
    stored = dsul.load_yaml(files["index.yml"])
    assert stored["customDomains"] == [] and stored["description"]["en"].endswith("(release 2) (IMPORT)")
    assert "local:only" in stored["labels"]


def exported(call: Call, wid: str) -> dsul.Files:
    archive = call("POST", f"/v2/workspaces/{wid}/versions/current/export")
    assert archive.status_code == 200
    return dsul.from_zip(archive.content)


def test_an_archive_import_appends_the_suffix_each_time(sandbox: Running) -> None:
    call = caller(sandbox)
    wid = ws(call, "ai-store")["id"]
    archive = call("POST", f"/v2/workspaces/{wid}/versions/current/export").content
    for _ in range(2):
        done = call("POST", f"/v2/workspaces/{wid}/import", files={"archive": ("w.zip", archive, "application/zip")})
        assert done.status_code == 200, done.text
        archive = call("POST", f"/v2/workspaces/{wid}/versions/current/export").content
    assert ws(call, "ai-store")["description"]["en"].endswith("(IMPORT) (IMPORT)")  # what went in, plus one


def test_the_suffix_can_be_turned_off(make_sandbox: Callable[..., Running]) -> None:
    call = caller(make_sandbox(import_suffix=False))
    wid = ws(call, "faq-widget")["id"]
    assert pull(call, wid, "v1.1.0").status_code == 200
    assert ws(call, "faq-widget")["description"]["en"] == "FAQ Widget (release 2)"
    assert "customDomains" not in dsul.load_yaml(exported(call, wid)["index.yml"])


# ------------------------------------------------------------------------------------------------ 5. renames, exclude
def test_a_pull_renames_the_slug_or_reports_slug_already_in_use(
    sandbox: Running, tmp_path: Path, contract: Contract
) -> None:
    call = caller(sandbox)
    wid = ws(call, "faq-widget")["id"]
    clone = release_clone(sandbox, tmp_path / "clone")
    index = clone / "workspaces" / "faq-widget" / "index.yml"
    doc = dsul.load_yaml(index.read_bytes())
    index.write_bytes(dsul.dump_yaml({**doc, "slug": "ai-store"}))  # taken by another workspace
    git(clone, "commit", "-qam", "slug clash")
    git(clone, "push", "-q", "origin", "HEAD:main")
    clash = pull(call, wid).json()
    contract.validate(contract.schema("/v2/workspaces/{workspaceId}/versions/{versionId}/pull", "post"), clash)
    assert [e["err"] for e in clash["errors"]] == ["SlugAlreadyInUse"]
    assert clash["errors"][0]["conflictingWorkspaceId"] == ws(call, "ai-store")["id"]
    assert "index.yml" not in clash["imported"] and clash["imported"]  # the other files went in
    assert ws(call, "faq-widget")["id"] == wid
    index.write_bytes(dsul.dump_yaml({**doc, "slug": "faq-renamed"}))
    git(clone, "commit", "-qam", "free slug")
    git(clone, "push", "-q", "origin", "HEAD:main")
    assert pull(call, wid).json()["errors"] == []
    assert call("GET", "/v2/workspaces", params={"slug": "faq-renamed"}).json()[0]["id"] == wid
    imported = wait_until(lambda: len(found := events(call, wid, "workspaces.imported")) >= 2 and found, "2 imports")
    assert [e["err"] for e in imported[1]["payload"]["errors"]] == ["SlugAlreadyInUse"]  # newest first
    for event in imported:
        contract.validate({"$ref": "#/components/schemas/ImportedWorkspace/properties/payload"}, event["payload"])


def test_pull_exclude_rules_skip_paths(sandbox: Running) -> None:
    call = caller(sandbox)
    wid = ws(call, "securechat")["id"]
    files = exported(call, wid)
    index = dsul.load_yaml(files["index.yml"])
    index["repositories"] = {
        "release": {
            "name": "release",
            "type": "git",
            "config": {"url": "x", "branch": "main"},
            "pull": {"exclude": [{"path": "automations/chat"}, {"path": "pages/index"}]},
        }
    }
    local = b"slug: chat\nname: kept locally\n"
    for rel, body in (("index.yml", dsul.dump_yaml(index)), ("automations/chat.yml", local)):
        assert call("PUT", f"/sandbox/workspaces/{wid}/files/{rel}", content=body).status_code == 200
    assert call("DELETE", f"/sandbox/workspaces/{wid}/files/pages/index.yml").status_code == 200
    result = pull(call, wid, "v1.1.0").json()
    assert "automations/chat.yml" not in result["imported"] and "pages/index.yml" not in result["imported"]
    assert "automations/moderate.yml" in result["imported"]
    after = exported(call, wid)
    assert after["automations/chat.yml"] == local and "pages/index.yml" not in after
    assert dsul.load_yaml(after["index.yml"])["repositories"]["release"]["pull"]["exclude"]  # kept


# ------------------------------------------------------------------------------------------------ 6. error bodies
def test_error_bodies_carry_the_real_class_names(shared_sandbox: Running, contract: Contract) -> None:
    call = caller(shared_sandbox)
    wid = ws(call, "securechat")["id"]
    cases = [
        (call("DELETE", f"/v2/workspaces/{wid}/versions/never-made"), 400, "InvalidVersionError"),
        (call("GET", "/v2/workspaces/no-such-id"), 404, "ObjectNotFoundError"),
        (call("DELETE", "/v2/workspaces/platform"), 403, "ForbiddenError"),
        (call("POST", "/v2/workspaces", json={"name": "bad/name"}), 400, "RequestValidationError"),
        (pull(call, wid, "current"), 400, "InvalidVersionError"),
        (call("GET", "/v2/no/such/route"), 404, "ObjectNotFoundError"),
        (call("PUT", "/v2/workspaces/labels"), 405, "MethodNotAllowedError"),
    ]
    for answer, status, error in cases:
        assert (answer.status_code, answer.json()["error"]) == (status, error), answer.text
        assert answer.headers["content-type"].startswith("application/json") and answer.json()["message"]
        contract.validate(contract.component("GenericError"), answer.json())


def test_an_existing_tag_is_already_used_with_the_url_in_the_message(sandbox: Running, tmp_path: Path) -> None:
    call = caller(sandbox)
    wid = ws(call, "securechat")["id"]
    clone = release_clone(sandbox, tmp_path / "clone")
    git(clone, "tag", "securechat/x1")  # made elsewhere (another instance, a person)
    git(clone, "push", "-q", "origin", "securechat/x1")
    tag = push(call, wid, "x1")
    body = tag.json()
    assert (tag.status_code, body["error"]) == (400, "AlreadyUsedError")
    assert body["message"].startswith("Given version tag 'x1' already exists at '") and "release.git" in body["message"]


# ------------------------------------------------------------------------------------------------ 7. tag layouts
def tags(running: Running) -> set[str]:
    bare = Path(running.sandbox.data_dir) / "release.git"
    return set(git(bare, "tag", "--list").splitlines())


def push(call: Call, wid: str, name: str) -> httpx.Response:
    return call(
        "POST",
        f"/v2/workspaces/{wid}/versions",
        json={"name": name, "description": "t", "repository": {"id": "release"}},
    )


def test_slug_tag_layout(sandbox: Running) -> None:
    call = caller(sandbox)
    assert push(call, ws(call, "securechat")["id"], "r9").status_code == 200
    assert "securechat/r9" in tags(sandbox) and "r9" not in tags(sandbox)


def test_plain_tag_layout(make_sandbox: Callable[..., Running]) -> None:
    running = make_sandbox(tag_layout="plain")
    call = caller(running)
    first, other = ws(call, "securechat")["id"], ws(call, "ai-store")["id"]
    assert push(call, first, "r9").status_code == 200
    assert "r9" in tags(running) and "securechat/r9" not in tags(running)
    clash = push(call, other, "r9")
    assert clash.status_code == 400 and clash.json()["error"] == "AlreadyUsedError"
    assert pull(call, first, "r9").status_code == 200  # a pull by plain tag
    assert ws(call, "securechat")["lastPull"]["version"] == "r9"
    bulk = call(
        "POST",
        "/v2/workspaces/platform/versions",
        json={"repository": {"id": "release"}, "groups": ["base1"], "name": "r10", "force": True},
    )
    summary = bulk.json()
    assert bulk.status_code == 200 and summary["errors"] == [] and len(summary["pushedWorkspaceIds"]) >= 2
    assert "r10" in tags(running)  # one tag for the whole bulk push, on its last commit
    bare = Path(running.sandbox.data_dir) / "release.git"
    assert git(bare, "rev-parse", "r10^{commit}") == git(bare, "rev-parse", "main")


# ------------------------------------------------------------------------------------------ 8. documented defaults
def test_dirty_after_a_pull_until_a_push(sandbox: Running) -> None:
    call = caller(sandbox)
    wid = ws(call, "faq-widget")["id"]
    assert pull(call, wid, "v1.1.0").status_code == 200
    assert ws(call, "faq-widget")["dirty"] is True
    assert wid in [w["id"] for w in call("GET", "/v2/workspaces", params={"dirty": "true", "limit": 100}).json()]
    assert push(call, wid, "after-pull").status_code == 200
    assert ws(call, "faq-widget")["dirty"] is False


def test_dirty_after_pull_is_an_option(make_sandbox: Callable[..., Running]) -> None:
    call = caller(make_sandbox(dirty_after_pull=False))
    wid = ws(call, "faq-widget")["id"]
    assert pull(call, wid, "v1.1.0").status_code == 200
    assert ws(call, "faq-widget")["dirty"] is False


def test_twenty_versions_in_all_native_and_git(sandbox: Running) -> None:
    call = caller(sandbox)
    wid = ws(call, "knowledge-base")["id"]
    versions = call("GET", f"/v2/workspaces/{wid}/versions").json()
    assert any(v.get("repository") for v in versions) and any(not v.get("repository") for v in versions)
    for number in range(20):
        answer = call("POST", f"/v2/workspaces/{wid}/versions", json={"name": f"n{number}", "description": "x"})
        assert answer.status_code == 200
    versions = call("GET", f"/v2/workspaces/{wid}/versions").json()
    assert len(versions) == 20 and versions[0]["name"] == "n19" and not any(v.get("repository") for v in versions)
    gone = call("POST", f"/v2/workspaces/{wid}/versions/pre-demo/pull", json={})  # dropped by the cap
    assert gone.status_code == 400 and gone.json()["error"] == "InvalidVersionError"
    assert call("POST", f"/v2/workspaces/{wid}/versions/n0/export").status_code == 200


def test_a_filesystem_repository_is_read_write_by_default(tmp_path: Path) -> None:
    baked = tmp_path / "baked"
    baked.mkdir()
    environ = {
        "WORKSPACES_STORAGE_GIT_PLATFORM_release_TYPE": "filesystem",
        "WORKSPACES_STORAGE_GIT_PLATFORM_release_DIRPATH": str(baked),
    }
    running = start_in_thread(tmp_path / "data", "at:fs-default-token", environ=environ)
    try:
        call = caller(running)
        repos = call("GET", "/v2/workspaces/platform").json()["platformRepositories"]
        assert repos["release"]["mode"] == "read-write"
        wid = call("POST", "/v2/workspaces", json={"name": "Folder app", "labels": ["app:folder"]}).json()["id"]
        assert push(call, wid, "f1").status_code == 200
        assert (baked / "folder-app" / "index.yml").is_file() and (baked / "folder-app" / ".import.yml").is_file()
    finally:
        running.stop()


# ------------------------------------------------------------------------------------ 9. what a real client needs
def test_event_search_answers_size_documents_aggs(make_sandbox: Callable[..., Running], contract: Contract) -> None:
    running = make_sandbox(event_lag=0)
    call = caller(running)
    wid = ws(call, "support-bot")["id"]
    for name in ("s1", "s2"):
        assert (
            call("POST", f"/v2/workspaces/{wid}/versions", json={"name": name, "description": "x"}).status_code == 200
        )
    query = {
        "query": {
            "bool": {
                "filter": [
                    {"term": {"type": "workspaces.versions.published"}},
                    {"range": {"@timestamp": {"gte": "2000-01-01"}}},
                ]
            }
        },
        "limit": 1,
        "sort": [{"@timestamp": {"order": "desc"}}],
        "aggs": {"types": {"terms": {"field": "type"}}},
    }
    answer = call("POST", f"/v2/workspaces/{wid}/search", json=query)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    contract.validate(contract.schema("/v2/workspaces/{workspaceId}/search", "post"), found)
    published = [
        e
        for e in call(
            "GET", f"/v2/workspaces/{wid}/events", params={"types": "workspaces.versions.published", "limit": 100}
        ).json()["result"]["events"]
    ]
    assert found["size"] == len(published) >= 2
    assert found["documents"][0]["payload"]["version"]["name"] == "s2" and found["documents"][0]["@timestamp"]
    assert found["aggs"]["types"]["buckets"] == [{"key": "workspaces.versions.published", "doc_count": found["size"]}]
    by_name = {"query": {"term": {"payload.version.name": "s1"}}}
    assert call("POST", f"/v2/workspaces/{wid}/search", json=by_name).json()["size"] == 1
    bad = call("POST", f"/v2/workspaces/{wid}/search", json={"query": {"fuzzy": {"type": "x"}}, "extra": 1})
    assert bad.status_code == 400 and bad.json()["error"] == "RequestValidationError"


def test_workspace_creation_validates_and_keeps_localized_text(shared_sandbox: Running, contract: Contract) -> None:
    call = caller(shared_sandbox)
    for body in (
        {"name": "a<b>"},
        {"name": "ok", "labels": ["x"]},
        {"name": "ok", "labels": ["bad label"]},
        {"name": "x" * 61},
    ):
        answer = caller(shared_sandbox)("POST", "/v2/workspaces", json=body)  # 3 creations a minute per user
        assert answer.status_code == 400 and answer.json()["error"] == "RequestValidationError", body
    token = f"zq{time.monotonic_ns()}"
    created = call(
        "POST",
        "/v2/workspaces",
        json={"name": "Localized one", "labels": ["team:x"], "description": {"en": f"Hello {token}", "fr": "Bonjour"}},
    )
    assert created.status_code == 200, created.text
    wid = created.json()["id"]
    detail = call("GET", f"/v2/workspaces/{wid}").json()
    assert detail["description"] == {"en": f"Hello {token}", "fr": "Bonjour"}
    contract.validate(contract.schema("/v2/workspaces/{workspaceId}", "get"), detail)
    assert [w["id"] for w in call("GET", "/v2/workspaces", params={"search": token}).json()] == [wid]
    assert call("GET", "/v2/workspaces", params={"name": token}).json() == []  # name= is the name only
    version = call(
        "POST", f"/v2/workspaces/{wid}/versions", json={"name": "loc", "description": {"en": "One", "fr": "Un"}}
    )
    assert version.json()["description"] == {"en": "One", "fr": "Un"}
    listed = call("GET", f"/v2/workspaces/{wid}/versions").json()
    assert listed[0]["description"] == {"en": "One", "fr": "Un"}
    contract.validate(contract.schema("/v2/workspaces/{workspaceId}/versions", "get"), listed)


def test_one_token_per_user(shared_sandbox: Running) -> None:
    admin = caller(shared_sandbox, shared_sandbox.token)
    made = admin("POST", "/sandbox/users", json={"id": "carol"}).json()
    carol = caller(shared_sandbox, made["token"])
    assert made["id"] == "carol" and carol("GET", "/v2/me").json()["id"] == "carol"
    assert admin("GET", "/v2/me").json()["id"] == "sandbox-admin"
    wid = carol("POST", "/v2/workspaces", json={"name": "Carols"}).json()["id"]
    locked = carol("POST", f"/v2/workspaces/{wid}/writeLock", json={}).json()
    assert locked["writeLock"]["lockedBy"] == "carol"


def test_realism_settings_over_http(make_sandbox: Callable[..., Running]) -> None:
    running = make_sandbox()
    call = caller(running)
    assert call("GET", "/sandbox/realism").json()["gateway_timeout"] == 20.0
    assert (
        call("POST", "/sandbox/realism", json={"tag_layout": "plain", "event_lag": 0.5}).json()["tag_layout"] == "plain"
    )
    bad = call("POST", "/sandbox/realism", json={"tag_layout": "nested"})
    assert bad.status_code == 400 and "tag_layout" in bad.json()["message"]
    assert call("POST", "/sandbox/realism", json={"nonsense": 1}).status_code == 400
    assert running.sandbox.realism.event_lag == 0.5


def test_realism_off_is_the_kind_sandbox() -> None:
    off = Realism.off()
    assert off.event_lag == 0 and off.rate_limits == {} and off.gateway_timeout is None and not off.import_suffix
    assert off.dirty_after_pull and off.tag_layout == "slug"  # documented behaviour, not strictness


def test_a_native_rollback_is_visible_in_the_workspace_state(sandbox: Running) -> None:
    call = caller(sandbox)
    wid = ws(call, "support-bot")["id"]
    done = call("POST", f"/v2/workspaces/{wid}/versions/pre-demo/pull", json={})
    assert done.status_code == 200, done.text
    state = ws(call, "support-bot")
    assert state["lastPull"]["version"] == "pre-demo" and "repositoryId" not in state["lastPull"]
    assert call("GET", f"/v2/workspaces/{wid}/status").json()["version"]["type"] == "import"


def test_cli_flags_make_the_realism() -> None:
    from tui.cli.main import build_parser
    from tui.cli.sandbox_cmds import realism_from_args

    parser = build_parser()
    args = parser.parse_args(["sandbox", "serve", "--data", "d", "--rate-limits", "events=5", "--gateway-timeout", "0"])
    strict = realism_from_args(args)
    assert strict.rate_limits["events"] == 5 and strict.gateway_timeout is None and strict.event_lag == 2.0
    args = parser.parse_args(["demo", "--realism", "off", "--event-lag", "1.5", "--tag-layout", "plain"])
    kind = realism_from_args(args)
    assert kind.event_lag == 1.5 and kind.rate_limits == {} and kind.tag_layout == "plain" and not kind.import_suffix
    with pytest.raises(ValueError, match="event_lag"):
        realism_from_args(parser.parse_args(["demo", "--event-lag", "-1"]))


def test_serve_takes_users_and_refuses_bad_flags(tmp_path: Path) -> None:
    import sys

    bad = subprocess.run(
        [sys.executable, "-m", "tui", "sandbox", "serve", "--data", str(tmp_path / "d"), "--rate-limits", "x=1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--rate-limits takes CLASS=N" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "d").exists()
    from tui.cli.sandbox_cmds import parse_users

    assert parse_users(["ci:at:tok-1"]) == {"at:tok-1": "ci"}
    assert list(parse_users(["ops"]).values()) == ["ops"]
    with pytest.raises(ValueError, match="--user"):
        parse_users(["bad user:tok"])


def test_a_second_pull_during_a_pull_is_refused_not_queued(make_sandbox: Callable[..., Running]) -> None:
    running = make_sandbox(gateway_timeout=0.5)
    running.sandbox.faults.pull_delay_ms = 4000
    call = caller(running)
    wid = ws(call, "faq-widget")["id"]
    assert pull(call, wid, "v1.0.0").status_code == 408  # the first goes on behind the 408
    second = pull(call, wid, "v1.1.0")
    assert second.status_code == 400 and second.json()["error"] == "WorkspaceLockedError"
    assert second.json()["details"]["writeLock"]["reason"] == "pull_in_progress"
    done = wait_until(lambda: not (state := ws(call, "faq-widget")).get("writeLock") and state, "first pull done")
    assert done["lastPull"]["version"] == "v1.0.0"
    native = call("POST", f"/v2/workspaces/{wid}/versions", json={"name": "snap", "description": "x"})
    assert native.status_code == 200
    assert call("POST", f"/v2/workspaces/{wid}/versions/snap/pull", json={}).status_code == 408
    assert ws(call, "faq-widget")["writeLock"]["reason"] == "pull_in_progress"  # a native rollback locks too
    wait_until(lambda: not ws(call, "faq-widget").get("writeLock"), "native rollback done")


def test_git_credentials_refused_is_a_403_about_the_repository(sandbox: Running) -> None:
    call = caller(sandbox)
    wid = ws(call, "securechat")["id"]
    assert call("POST", "/sandbox/faults", json={"git_auth_fail": ["release"]}).status_code == 200
    for answer in (push(call, wid, "auth1"), pull(call, wid)):
        body = answer.json()
        assert (answer.status_code, body["error"]) == (403, "ForbiddenError")
        assert body["message"].startswith("Authentication failed for repository ") and "release.git" in body["message"]
    assert not ws(call, "securechat").get("writeLock")


def test_realism_can_be_swapped_on_a_running_instance(make_sandbox: Callable[..., Running]) -> None:
    running = make_sandbox(rate_limits={"events": 1})
    call = caller(running)
    path = f"/v2/workspaces/{ws(call, 'ai-store')['id']}/events"
    assert [call("GET", path).status_code for _ in range(2)] == [200, 429]
    running.sandbox.realism = Realism.off()
    assert {call("GET", path).status_code for _ in range(5)} == {200}
    assert running.sandbox.engine.realism is running.sandbox.realism


def test_events_carry_the_correlation_id_of_the_request_that_caused_them(make_sandbox: Callable[..., Running]) -> None:
    running = make_sandbox(event_lag=0)
    call = caller(running)
    body = {"repository": {"id": "release"}, "groups": ["base1"], "forceReimport": True}
    answer = call(
        "POST", "/v2/workspaces/platform/versions/latest/pull", json=body, headers={"x-correlation-id": "run-2"}
    )
    assert answer.status_code == 200 and answer.headers["x-correlation-id"] == "run-2"
    progress = events(call, "platform", "workspaces.bulkImport.progress")
    assert progress and {e["source"]["correlationId"] for e in progress} == {"run-2"}
    wid = ws(call, "faq-widget")["id"]
    assert pull(call, wid, "v1.1.0").status_code == 200
    imported = events(call, wid, "workspaces.imported")[0]
    assert imported["source"]["correlationId"] not in ("run-2", "")
