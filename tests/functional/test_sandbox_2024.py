"""The sandbox answers as the published 2024 server at ``api_level="2024"``, with its events switchable off,
and serves a workspace's own git repositories at both levels (issue 23, part 5 and the sandbox side of 3-4).

Raw HTTP on purpose: these tests pin the wire answers the client must survive (api-contract.md, "The published
server, measured"), independently of the client.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tui.cli.sandbox_cmds import add_realism_flags, realism_from_args
from tui.sandbox.faults import Faults
from tui.sandbox.legacy import INDEX_WARNING
from tui.sandbox.realism import Realism
from tui.sandbox.runner import Running, start_in_thread
from tui.sandbox.seed import attach_own_repository, own_repository

pytestmark = pytest.mark.e2e
Call = Callable[..., httpx.Response]
LEVELS = ("2024", "2026")
INTERNAL = {"error": "Internal", "message": "Internal server error"}


@pytest.fixture
def make(single_template: Path, tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """A seeded instance at an API level; no rate limits unless asked (everything else realistic)."""
    started: list[Running] = []

    def start(level: str, **settings: Any) -> Running:
        data = tmp_path / f"sandbox-{len(started)}"
        shutil.copytree(single_template, data, symlinks=True)
        realism = Realism(api_level=level, rate_limits={})
        realism.update(settings)
        running = start_in_thread(data, f"at:legacy-{len(started)}-token", faults=Faults(), environ={}, realism=realism)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def caller(running: Running) -> Call:
    headers = {"Authorization": f"Bearer {running.token}"}

    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, running.url + path, headers=headers, timeout=60, **kwargs)

    return call


def wid_of(call: Call, slug: str) -> str:
    found = call("GET", "/v2/workspaces", params={"slug": slug}).json()
    assert len(found) == 1, found
    return str(found[0]["id"])


def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def archive_of(call: Call, wid: str, **index_changes: Any) -> bytes:
    """The workspace's current export, its index changed as asked."""
    exported = call("POST", f"/v2/workspaces/{wid}/versions/current/export")
    assert exported.status_code == 200, exported.text
    source = zipfile.ZipFile(io.BytesIO(exported.content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name.endswith("/index.yml") and index_changes:
                data = yaml.safe_dump({**yaml.safe_load(data), **index_changes}).encode()
            target.writestr(name, data)
    return out.getvalue()


def upload(call: Call, path: str, data: bytes, **params: Any) -> httpx.Response:
    return call("POST", path, files={"archive": ("ws.zip", data, "application/zip")}, params=params)


# ------------------------------------------------------------------------------------------------ the switch
def test_api_level_and_events_are_knobs_over_http_and_flags(make: Callable[..., Running]) -> None:
    running = make("2026")
    call = caller(running)
    assert call("GET", "/v2/readiness").status_code == 200
    assert call("POST", "/sandbox/realism", json={"api_level": "2024"}).json()["api_level"] == "2024"
    assert call("GET", "/v2/readiness").status_code == 404
    refused = call("POST", "/sandbox/realism", json={"api_level": "2025"})
    assert refused.status_code == 400 and "api_level must be one of 2026, 2024" in refused.json()["message"]
    assert Realism.off().api_level == "2026" and Realism.off().events_down is False  # the kind sandbox is unchanged

    parser = argparse.ArgumentParser()
    add_realism_flags(parser)
    realism = realism_from_args(parser.parse_args(["--api-level", "2024", "--events", "down"]))
    assert (realism.api_level, realism.events_down) == ("2024", True)
    default = realism_from_args(parser.parse_args([]))
    assert (default.api_level, default.events_down) == ("2026", False)


# ------------------------------------------------------------------------------------------------ missing routes
def test_routes_the_2024_server_lacked_answer_its_404s(make: Callable[..., Running]) -> None:
    old, new = caller(make("2024")), caller(make("2026"))
    wid = wid_of(old, "securechat")
    readiness = old("GET", "/v2/readiness")
    assert readiness.status_code == 404 and readiness.json() == {"error": "NotFoundError", "message": "Route not found"}
    for path in (f"/v2/workspaces/{wid}/status", f"/v2/workspaces/{wid}/config"):
        answer = old("GET", path)
        assert answer.status_code == 404, path
        assert answer.json() == {
            "error": "RequestValidationError",
            "message": "not found",
            "details": [{"path": path, "message": "not found"}],
        }
    assert old("POST", f"/v2/workspaces/{wid}/writeLock", json={"reason": "x"}).status_code == 404
    bulk = old("POST", "/v2/workspaces/platform/versions", json={"repository": {"id": "release"}, "groups": ["base1"]})
    assert bulk.status_code == 404 and bulk.json()["error"] == "ObjectNotFoundError"
    assert old("POST", "/v2/workspaces/platform/versions/latest/pull", json={}).status_code == 404
    assert "platformRepositories" not in old("GET", f"/v2/workspaces/{wid}").json()
    listed = old("GET", "/v2/workspaces", params={"slug": "securechat"}).json()[0]
    assert not {"dirty", "lastPush", "lastPull"} & set(listed)  # the 2024 service tracked none of them
    assert listed["versions"] == old("GET", f"/v2/workspaces/{wid}/versions").json()
    assert "dirty" in new("GET", "/v2/workspaces", params={"slug": "securechat"}).json()[0]
    refused = old("GET", "/v2/workspaces", params={"dirty": "true"})
    assert refused.status_code == 400 and refused.json()["message"] == "Unknown query parameter 'dirty'"

    new_wid = wid_of(new, "securechat")
    assert new("GET", "/v2/readiness").status_code == 200
    assert new("GET", f"/v2/workspaces/{new_wid}/status").status_code == 200
    assert new("GET", f"/v2/workspaces/{new_wid}/config").status_code == 200
    assert "release" in new("GET", f"/v2/workspaces/{new_wid}").json()["platformRepositories"]


def test_a_platform_repository_is_unknown_at_2024(make: Callable[..., Running]) -> None:
    call = caller(make("2024"))
    wid = wid_of(call, "securechat")
    pushed = call("POST", f"/v2/workspaces/{wid}/versions", json={"description": "x", "repository": {"id": "release"}})
    assert pushed.status_code == 404
    assert pushed.json()["message"] == "Unknown workspace repository 'release'"
    assert pushed.json()["details"]["availableRepositories"] == []


def test_timeout_is_an_unknown_parameter_at_2024_and_still_uses_an_import_slot(make: Callable[..., Running]) -> None:
    call = caller(make("2024", rate_limits={"imports": 3}))
    wid = wid_of(call, "securechat")
    refused = call("POST", f"/v2/workspaces/{wid}/versions/latest/pull", json={}, params={"timeout": 5})
    assert refused.status_code == 400
    assert refused.json()["error"] == "RequestValidationError"
    assert refused.json()["message"] == "Unknown query parameter 'timeout'"
    for _ in range(2):
        assert call("POST", f"/v2/workspaces/{wid}/versions/current/pull", json={}).status_code == 400
    limited = call("POST", f"/v2/workspaces/{wid}/versions/current/pull", json={})
    assert limited.status_code == 429, "the refused ?timeout= call counted as one of the 3 of the minute"


@pytest.mark.parametrize("level", LEVELS)
def test_discard_local_changes_is_an_unknown_body_field_at_2024(make: Callable[..., Running], level: str) -> None:
    call = caller(make(level))
    wid = wid_of(call, "securechat")
    answer = call("POST", f"/v2/workspaces/{wid}/versions/current/pull", json={"discardLocalChanges": True})
    assert answer.status_code == 400
    if level == "2024":
        assert answer.json()["error"] == "RequestValidationError"
        assert answer.json()["message"] == "request.body should NOT have additional properties"
        assert answer.json()["details"][0]["path"] == ".body.discardLocalChanges"
    else:
        assert answer.json()["error"] == "InvalidVersionError"


def test_timeout_is_accepted_at_2026(make: Callable[..., Running]) -> None:
    call = caller(make("2026"))
    wid = wid_of(call, "securechat")
    answer = call("POST", f"/v2/workspaces/{wid}/versions/current/pull", json={}, params={"timeout": 5})
    assert answer.json()["error"] == "InvalidVersionError"


def test_prune_is_an_unknown_parameter_at_2024(make: Callable[..., Running]) -> None:
    call = caller(make("2024"))
    wid = wid_of(call, "securechat")
    refused = upload(call, f"/v2/workspaces/{wid}/import", archive_of(call, wid), prune="true")
    assert refused.status_code == 400 and refused.json()["message"] == "Unknown query parameter 'prune'"
    assert upload(call, f"/v2/workspaces/{wid}/import", archive_of(call, wid)).status_code == 200


# ------------------------------------------------------------------------------------------------ versions
@pytest.mark.parametrize("level", LEVELS)
def test_generated_and_chosen_version_names(make: Callable[..., Running], level: str) -> None:
    call = caller(make(level))
    wid = wid_of(call, "securechat")
    generated = call("POST", f"/v2/workspaces/{wid}/versions", json={"description": "auto"}).json()["name"]
    if level == "2024":
        assert re.fullmatch(r"\d{1,2}-\d{1,2}-\d{4}\.1-\d{13}", generated), generated
        assert len(generated) > 15
    else:
        assert len(generated) <= 15
    pulled = call("POST", f"/v2/workspaces/{wid}/versions/{generated}/pull", json={})
    assert pulled.status_code == 200, pulled.text
    too_long = call("POST", f"/v2/workspaces/{wid}/versions", json={"name": "a-name-of-16-chr", "description": "x"})
    assert too_long.status_code == 400 and too_long.json()["error"] == "InvalidVersionError"
    current = call("POST", f"/v2/workspaces/{wid}/versions/current/pull", json={})
    assert current.status_code == 400
    assert current.json() == {"error": "InvalidVersionError", "message": "Cannot rollback to current version"}


@pytest.mark.parametrize("level", LEVELS)
def test_a_successful_pull_reports_the_index_refresh_failure_only_at_2024(
    make: Callable[..., Running], level: str
) -> None:
    running = make(level)
    call = caller(running)
    wid = wid_of(call, "translation-hub")  # seeded without pages/
    name = call("POST", f"/v2/workspaces/{wid}/versions", json={"name": "n1", "description": "x"}).json()["name"]
    pulled = call("POST", f"/v2/workspaces/{wid}/versions/{name}/pull", json={})
    assert pulled.status_code == 200, pulled.text
    errors = pulled.json()["errors"]
    if level == "2026":
        assert errors == []
        return
    assert len(errors) == 1 and errors[0]["msg"] == INDEX_WARNING
    assert errors[0]["err"]["code"] == "ENOENT"
    assert errors[0]["err"]["path"].endswith("/pages")
    assert errors[0]["err"]["path"].startswith(str(running.sandbox.data_dir))  # a server path: never print it


@pytest.mark.parametrize("level", LEVELS)
def test_export_knows_native_versions_only(make: Callable[..., Running], level: str) -> None:
    call = caller(make(level))
    wid = wid_of(call, "securechat")
    refused = call("POST", f"/v2/workspaces/{wid}/versions/some-git-tag/export")
    assert refused.status_code == 404 and refused.json()["error"] == "ObjectNotFoundError"
    expected = "application/octet-stream" if level == "2024" else "application/json"
    assert refused.headers["content-type"] == expected


# ------------------------------------------------------------------------------------------------ imports
def test_import_replaces_the_name_and_piles_up_the_suffix_at_2024(make: Callable[..., Running]) -> None:
    call = caller(make("2024"))
    target = wid_of(call, "ai-store")
    before = call("GET", f"/v2/workspaces/{target}").json()
    archive = archive_of(call, target, name="Renamed Store", description="first")
    for _ in range(2):
        assert upload(call, f"/v2/workspaces/{target}/import", archive).status_code == 200
        archive = archive_of(call, target)
    after = call("GET", f"/v2/workspaces/{target}").json()
    assert after["name"] == "Renamed Store"
    assert after["description"] == "first (IMPORT) (IMPORT)"
    assert (after["slug"], after["id"]) == (before["slug"], before["id"])


def test_import_without_a_file(make: Callable[..., Running]) -> None:
    old, new = caller(make("2024")), caller(make("2026"))
    answer = old("POST", f"/v2/workspaces/{wid_of(old, 'securechat')}/import", files={"other": ("x", b"x")})
    assert answer.status_code == 400
    assert answer.json() == {"error": "MissingFieldError", "message": "Missing archive"}
    assert old("POST", "/v2/workspaces/import", files={"other": ("x", b"x")}).json()["error"] == "MissingFieldError"
    answer = new("POST", f"/v2/workspaces/{wid_of(new, 'securechat')}/import", files={"other": ("x", b"x")})
    assert answer.status_code == 400 and answer.json()["error"] == "InvalidUploadError"


@pytest.mark.parametrize("level", LEVELS)
def test_import_as_new_with_a_taken_slug_gets_a_random_one(make: Callable[..., Running], level: str) -> None:
    call = caller(make(level))
    source = wid_of(call, "securechat")
    attach_repo = call(
        "PATCH",
        f"/v2/workspaces/{source}",
        json={"repositories": {"own": {"name": "own", "config": {"url": "/nowhere", "branch": "main"}}}},
    )
    assert attach_repo.status_code == 200
    answer = upload(call, "/v2/workspaces/import", archive_of(call, source))
    assert answer.status_code == 200, answer.text
    created = answer.json()["workspace"]
    assert created["slug"] != "securechat" and re.fullmatch(r"[a-z]+-[a-z]+-\d{1,2}", created["slug"])
    assert created["id"] != source and created["name"] == "SecureChat"
    assert call("GET", f"/v2/workspaces/{created['id']}").json()["repositories"] == {}

    free = upload(call, "/v2/workspaces/import", archive_of(call, source, slug="brand-new"))
    slug = free.json()["workspace"]["slug"]
    assert (slug == "brand-new") == (level == "2026"), slug  # the 2024 service never takes the archive's slug


@pytest.mark.parametrize("level", LEVELS)
def test_secrets_put_replaces_the_set_and_patch_merges(make: Callable[..., Running], level: str) -> None:
    call = caller(make(level))
    path = f"/v2/workspaces/{wid_of(call, 'securechat')}/security/secrets"
    assert call("PUT", path, json={"a": {"value": "1"}, "b": {"value": "2"}}).status_code == 200
    call("PATCH", path, json={"c": {"value": "3"}})
    assert sorted(call("GET", path).json()) == ["a", "b", "c"]
    call("PUT", path, json={"a": {"value": "9"}})
    assert sorted(call("GET", path).json()) == ["a"]


# ------------------------------------------------------------------------------------------------ events down
@pytest.mark.parametrize("level", LEVELS)
def test_events_down_answers_the_gateways_500(make: Callable[..., Running], level: str) -> None:
    running = make(level)
    call = caller(running)
    wid = wid_of(call, "securechat")
    assert call("GET", f"/v2/workspaces/{wid}/events").status_code == 200
    call("POST", "/sandbox/realism", json={"events_down": True})
    for answer in (
        call("GET", f"/v2/workspaces/{wid}/events"),
        call("POST", f"/v2/workspaces/{wid}/search", json={"query": {"match_all": {}}}),
    ):
        assert answer.status_code == 500 and answer.json() == INTERNAL
    assert call("POST", f"/v2/workspaces/{wid}/versions", json={"description": "still works"}).status_code == 200


# ------------------------------------------------------------------------------------------------ own repositories
@pytest.mark.parametrize("level", LEVELS)
def test_push_and_pull_with_the_workspaces_own_repository(
    make: Callable[..., Running], level: str, tmp_path: Path
) -> None:
    running = make(level)
    call = caller(running)
    first, second = wid_of(call, "securechat"), wid_of(call, "ai-store")
    bare = Path(own_repository(tmp_path / "shared.git"))
    for wid in (first, second):
        attach_own_repository(running.sandbox.engine, wid, str(bare))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    (clone / "README.md").write_text("not a workspace file\n")
    git(clone, "add", ".")
    git(clone, "commit", "-qm", "readme")
    git(clone, "push", "-q", "origin", "HEAD:main")

    own = {"repository": {"id": "own"}}
    pushed = call("POST", f"/v2/workspaces/{first}/versions", json={"name": "s1", "description": "v1", **own})
    assert pushed.status_code == 200, pushed.text
    assert git(bare, "log", "-1", "--format=%s", "main") == "v1 | Author : sandbox-admin"
    assert git(bare, "rev-parse", "s1^{commit}") == git(bare, "rev-parse", "main")
    root = git(bare, "ls-tree", "--name-only", "main").split()
    assert "index.yml" in root and "automations" in root and "README.md" not in root  # one workspace per root
    automations = git(bare, "ls-tree", "--name-only", "main:automations").split()
    assert ("__index__.yml" in automations) == (level == "2024")  # the 2024 folder indexes travel with a push
    if level == "2024":
        index = yaml.safe_load(git(bare, "show", "main:automations/__index__.yml"))
        assert re.fullmatch(r"[0-9a-f]{24}", index["chat"]["createdBy"])  # a platform user id (an ObjectId)
        assert git(bare, "show", "main:.import.yml") == "{}"  # no version, no checksums in 2024
    listed = call("GET", f"/v2/workspaces/{first}/versions").json()
    assert listed[0]["name"] == "s1" and listed[0]["repository"] == {"id": "own"}

    # Another workspace pushing the same tag: its commit lands on the branch, the tag is refused.
    clash = call("POST", f"/v2/workspaces/{second}/versions", json={"name": "s1", "description": "v2", **own})
    assert clash.status_code == 400, clash.text
    assert clash.json()["error"] == "AlreadyUsedError"
    assert clash.json()["message"] == f"Given version tag 's1' already exists at '{bare}'"
    assert git(bare, "log", "-1", "--format=%s", "main") == "v2 | Author : sandbox-admin"
    assert git(bare, "rev-parse", "s1^{commit}") != git(bare, "rev-parse", "main")
    assert all(v["name"] != "s1" for v in call("GET", f"/v2/workspaces/{second}/versions").json())

    # Roll the first workspace back to s1 after an edit.
    edited = call("PUT", f"/sandbox/workspaces/{first}/files/automations/chat.yml", content=b"slug: chat\nedited: 1\n")
    assert edited.status_code == 200
    pulled = call("POST", f"/v2/workspaces/{first}/versions/s1/pull", json={"repository": {"id": "own"}})
    assert pulled.status_code == 200, pulled.text
    files = running.sandbox.store.read_files(first)
    assert b"edited" not in files["automations/chat.yml"]
    unknown = call("POST", f"/v2/workspaces/{first}/versions/nope/pull", json={"repository": {"id": "own"}})
    assert unknown.status_code == 404 and unknown.json()["error"] == "ObjectNotFoundError"


@pytest.mark.parametrize("level", LEVELS)
def test_an_empty_own_repository(make: Callable[..., Running], level: str, tmp_path: Path) -> None:
    running = make(level)
    call = caller(running)
    wid = wid_of(call, "securechat")
    attach_own_repository(running.sandbox.engine, wid, own_repository(tmp_path / "empty.git", first_commit=False))
    pushed = call("POST", f"/v2/workspaces/{wid}/versions", json={"description": "v", "repository": {"id": "own"}})
    if level == "2024":  # the 2024 driver pulls the branch before it writes: an empty remote has none
        assert pushed.status_code == 404, pushed.text
        assert pushed.json()["message"].startswith("Unknown git branch 'main'")
    else:
        assert pushed.status_code == 200, pushed.text


def test_only_local_repositories_are_reached(make: Callable[..., Running]) -> None:
    call = caller(make("2026"))
    wid = wid_of(call, "securechat")
    repos = {"own": {"name": "own", "config": {"url": "https://example.invalid/x.git", "branch": "main"}}}
    assert call("PATCH", f"/v2/workspaces/{wid}", json={"repositories": repos}).status_code == 200
    pushed = call("POST", f"/v2/workspaces/{wid}/versions", json={"description": "v", "repository": {"id": "own"}})
    assert pushed.status_code == 404 and "unreachable" in pushed.json()["message"]


# ------------------------------------------------------------------------------------------------ the demo
@pytest.mark.parametrize("level", LEVELS)
def test_the_2024_demo_gives_two_workspaces_their_own_repository(
    level: str, demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.sandbox import demo as demo_module

    monkeypatch.setattr(demo_module, "seeded_template", lambda: demo_template)
    demo = demo_module.DemoPlatform.start(tmp_path / "demo", rollout=False, realism=Realism(api_level=level))
    try:
        dev, staging = caller(demo.instances["dev"]), caller(demo.instances["staging"])
        source, target = wid_of(dev, "securechat"), wid_of(staging, "securechat")
        declared = dev("GET", f"/v2/workspaces/{source}").json()["repositories"]
        if level == "2026":
            assert declared == {}  # the 2026 demo is unchanged
            return
        assert declared["own"]["config"]["url"] == str(tmp_path / "demo" / "own" / "securechat.git")
        own = {"repository": {"id": "own"}}
        pushed = dev("POST", f"/v2/workspaces/{source}/versions", json={"name": "r1", "description": "r1", **own})
        assert pushed.status_code == 200, pushed.text
        pulled = staging("POST", f"/v2/workspaces/{target}/versions/r1/pull", json=own)
        assert pulled.status_code == 200, pulled.text
        dev_files = demo.instances["dev"].sandbox.store.read_files(source)
        staging_files = demo.instances["staging"].sandbox.store.read_files(target)
        assert dev_files["automations/chat.yml"] == staging_files["automations/chat.yml"]
    finally:
        demo.stop()


@pytest.mark.parametrize("level", LEVELS)
def test_latest_native_version_is_the_oldest_at_2024(make: Callable[..., Running], level: str) -> None:
    running = make(level)
    call = caller(running)
    wid = wid_of(call, "translation-hub")
    for name in ("old", "new"):
        call("PUT", f"/sandbox/workspaces/{wid}/files/automations/mark.yml", content=f"slug: mark\nname: {name}\n")
        pushed = call("POST", f"/v2/workspaces/{wid}/versions", json={"name": name, "description": name})
        assert pushed.status_code == 200, pushed.text
    assert call("POST", f"/v2/workspaces/{wid}/versions/latest/pull", json={}).status_code == 200
    mark = running.sandbox.store.read_files(wid)["automations/mark.yml"]
    oldest = [v["name"] for v in call("GET", f"/v2/workspaces/{wid}/versions").json() if not v.get("repository")][-1]
    expected = oldest if level == "2024" else "new"
    assert mark == f"slug: mark\nname: {expected}\n".encode()
