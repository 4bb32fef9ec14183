"""Capabilities detected, not assumed (issue 23): what an instance offers is learned from its own answers
and remembered per URL and user; the client and the use cases adapt and say so. Also what the published
2024 server answers, handled truthfully (index-refresh warnings, AlreadyUsedError, generated names)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import fresh_token

from tui.cli.main import main
from tui.core import errors as E
from tui.core.api.capabilities import (
    Capabilities,
    capabilities_for,
    parameter_refused,
    route_missing,
    service_down,
)
from tui.core.api.classify import classify
from tui.core.api.client import PrismeClient
from tui.core.api.models import (
    PullResult,
    Workspace,
    check_git_ref,
    is_generated_name,
    validate_version_name,
)
from tui.sandbox.runner import Running
from tui.sandbox.seed import attach_own_repository, own_repository

GENERATED = "12-6-2026.1-1796594553659"


def error(status: int, body: dict[str, Any]) -> E.PrismeError:
    return classify(status, body, env="x", where="x: GET /p")


# ------------------------------------------------------------------------------------------------ detection
def test_a_missing_route_is_told_apart_from_a_missing_object() -> None:
    assert route_missing(error(404, {"error": "NotFoundError", "message": "Route not found"}))
    assert route_missing(error(404, {"error": "RequestValidationError", "message": "not found"}))
    assert route_missing(error(405, {"message": "Method Not Allowed"}))
    assert not route_missing(error(404, {}))  # a bare 404 could be either: not taken as "no route"
    assert not route_missing(error(404, {"error": "ObjectNotFoundError", "message": "Workspace 'x' not found"}))
    assert not route_missing(error(500, {"error": "Internal"}))


def test_a_refused_parameter_and_a_side_service_down() -> None:
    refused = error(400, {"error": "RequestValidationError", "message": "Unknown query parameter 'timeout'"})
    assert parameter_refused(refused, "timeout") and not parameter_refused(refused, "prune")
    assert not parameter_refused(error(400, {"error": "InvalidVersionError", "message": "timeout"}), "timeout")
    assert service_down(error(500, {"error": "Internal", "message": "Internal server error"}))
    assert not service_down(refused)


def test_what_is_learned_is_kept_per_instance_and_user_and_says_what_follows() -> None:
    caps = capabilities_for("https://a.example", "token-1")
    assert capabilities_for("https://a.example", "token-1") is caps
    assert capabilities_for("https://a.example", "token-2") is not caps
    assert caps.offered("readiness") is None and not caps.missing("readiness")  # unknown: tried
    assert caps.learn_from("readiness", error(404, {"error": "NotFoundError", "message": "Route not found"}))
    assert caps.missing("readiness")
    caps.learn("status", True)
    caps.learn("status", False)  # a route that answered once exists: a later failure is not "missing"
    assert caps.offered("status") is True
    data = caps.to_json()
    assert data["readiness"] == {
        "offered": False,
        "probe": "GET /v2/readiness",
        "evidence": "HTTP 404 NotFoundError",
        "whatFollows": data["readiness"]["whatFollows"],
    }
    assert "UP (no readiness endpoint)" in data["readiness"]["whatFollows"]
    assert "whatFollows" in data["events"]  # unknown is never safe: what follows is said as for "no"
    assert "whatFollows" not in data["status"]
    assert caps.adapted() == [f"no readiness: {data['readiness']['whatFollows']}"]


def test_events_down_is_a_side_service_tried_again_later(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.core.api import capabilities

    caps = Capabilities()
    assert caps.learn_from("events", error(500, {"error": "Internal", "message": "Internal server error"}))
    assert caps.missing("events")
    assert not caps.learn_from("secrets", error(500, {"error": "Internal"}))  # a 5xx of the service is not "no route"
    later = caps.get("events").at + capabilities.RETRY_SIDE_SERVICE + 1
    monkeypatch.setattr(capabilities.time, "monotonic", lambda: later)
    assert not caps.missing("events")


# ------------------------------------------------------------------------------------------------ 2024 answers
def test_index_refresh_warnings_are_warnings_without_the_server_path() -> None:
    warning = {
        "msg": "Could not refresh some dsul index. Some pages or automations might not appear in studio menus",
        "err": {"errno": -2, "code": "ENOENT", "syscall": "scandir", "path": "/srv/models/abc/pages"},
    }
    real = {"msg": "SlugAlreadyInUse", "err": {"code": "SlugAlreadyInUse"}}
    result = PullResult.from_json({"imported": ["index"], "errors": [warning, dict(warning)]})
    assert result.ok and result.errors == () and len(result.warnings) == 1
    assert "pages/" in result.warnings[0] and "/srv" not in result.warnings[0]
    failed = PullResult.from_json({"errors": [warning, real]})
    assert not failed.ok and failed.errors == (real,)
    racing = {**warning, "err": {**warning["err"], "path": "/srv/models/abc/versions/current/automations"}}
    assert PullResult.from_json({"errors": [racing]}).ok  # the first folder the service found missing, any of them
    other = {"msg": "x", "err": {"code": "ENOENT", "path": "/srv/models/abc/automations/a.yml"}}
    kept = PullResult.from_json({"errors": [other]}).errors
    assert kept == ({"msg": "x", "err": {"code": "ENOENT"}},)  # a real error, without the server's path


def test_generated_version_names_are_taken_where_a_version_is_named() -> None:
    assert is_generated_name(GENERATED) and len(GENERATED) == 25
    assert check_git_ref(GENERATED) == GENERATED  # rollback, diff, sticky: an existing version
    with pytest.raises(E.InvalidVersionName, match="at most 15"):
        validate_version_name(GENERATED)  # a name the user chooses keeps the server's rule
    from tui.core.ops.compare import Ref

    assert Ref.parse(f"dev:bot@{GENERATED}").version == GENERATED


def test_a_workspace_names_its_own_repositories_and_the_platform_ones() -> None:
    ws = Workspace.from_json(
        {
            "id": "1",
            "slug": "bot",
            "repositories": {
                "own": {"name": "own", "type": "git", "config": {"url": "/r.git", "branch": "main"}},
                "arc": {"name": "arc", "type": "archive", "config": {}},  # only pull excludes: not a version store
            },
            "platformRepositories": {"release": {"name": "release", "config": {"url": "/p.git", "branch": "main"}}},
        }
    )
    assert set(ws.repositories) == {"own", "release"}
    assert ws.repositories["own"].origin == "workspace" and ws.repositories["release"].origin == "platform"
    assert ws.own_repositories["own"].root == ("/r.git", "main", "")
    assert not ws.dirty_known  # 2024: dirty is not tracked, hence unknown


def test_error_bodies_as_json_under_octet_stream_and_without_details() -> None:
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        body = b'{"error":"MissingFieldError","message":"Missing archive"}'
        return httpx.Response(400, content=body, headers={"content-type": "application/octet-stream"})

    async def go() -> E.PrismeError:
        async with PrismeClient("http://127.0.0.1:9", "t", transport=httpx.MockTransport(answer)) as api:
            with pytest.raises(E.BadRequest) as caught:
                await api.labels()
            return caught.value

    exc = asyncio.run(go())
    assert exc.error_class == "MissingFieldError" and "Missing archive" in exc.message and exc.details is None


def test_a_pull_refusing_timeout_is_sent_again_without_it_and_the_refusal_counts() -> None:
    """Where the probe cannot tell (a GET that ignores the parameter), the pull's own 400 does: the same pull
    goes once more without ``?timeout=``, and the refused call counted in the import budget."""
    import httpx

    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(f"{request.method} {request.url.path}?{request.url.query.decode()}")
        if request.url.path.endswith("/pull"):
            if b"timeout" in request.url.query:
                return httpx.Response(
                    400, json={"error": "RequestValidationError", "message": "Unknown query parameter 'timeout'"}
                )
            return httpx.Response(200, json={"imported": ["index"], "errors": [], "workspace": {}})
        return httpx.Response(200, json=[] if request.url.path.endswith("/versions") else {})

    async def go() -> tuple[PullResult, PrismeClient]:
        async with PrismeClient("http://127.0.0.1:9", "t", transport=httpx.MockTransport(answer)) as api:
            return await api.pull("w1", "v1"), api

    result, api = asyncio.run(go())
    pulls = [s for s in sent if "/pull" in s]
    assert result.ok and pulls == [
        "POST /v2/workspaces/w1/versions/v1/pull?timeout=15",
        "POST /v2/workspaces/w1/versions/v1/pull?",
    ]
    assert len(api.budget._sent["imports"]) == 2 and api.caps.missing("pull_timeout")
    assert "used an import slot" in api.notes[0]


# ------------------------------------------------------------------------------------------------ the client at 2024
@pytest.fixture
def legacy(sandbox: Running) -> Running:
    sandbox.sandbox.realism.update({"api_level": "2024", "rate_limits": {}, "event_lag": 0.0})
    return sandbox


@pytest.mark.e2e
def test_the_client_learns_a_2024_instance_and_adapts(legacy: Running) -> None:
    async def go() -> None:
        token = fresh_token(legacy)
        async with PrismeClient(legacy.url, token) as api:
            ready = await api.readiness()
            assert not ready.available and api.caps.missing("readiness")
            ws = await api.find_workspace("meeting-notes")
            with pytest.raises(E.Unsupported, match="status"):
                await api.status(ws.id)
            assert await api.platform_repositories() == {} and api.caps.missing("platform_repositories")
            made = await api.publish(ws.id, description="before")  # no name: the server generates one
            assert is_generated_name(made.name)
            versions = [made.name]
            result = await api.pull(ws.id, versions[0])  # ?timeout= found refused on a GET: not sent
            assert result.ok and api.caps.missing("pull_timeout")
            assert api.notes and "refuses ?timeout=" in api.notes[0]
            assert len(api.budget._sent["imports"]) == 1  # the probe cost no import slot
        async with PrismeClient(legacy.url, token) as again:  # the process remembers: no probe again
            assert again.caps.missing("pull_timeout")
            await again.pull(ws.id, versions[0])
            assert len(again.budget._sent["imports"]) == 2 and not again.notes

    asyncio.run(go())


@pytest.mark.e2e
def test_a_git_push_refused_by_an_existing_tag_says_the_branch_may_hold_the_commit(
    legacy: Running,
    isolated_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two workspaces sharing one repository and branch: the second push of a tag the first pushed is refused
    (AlreadyUsedError) after the branch commit went out; the push before it already warned of the sharing."""
    url = own_repository(tmp_path / "shared.git")
    engine = legacy.sandbox.engine
    for slug in ("meeting-notes", "securechat"):
        attach_own_repository(engine, _id(legacy, slug), url)
    config = isolated_home / "config" / "prisme-deploy" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[environments.dev]\nurl = "{legacy.url}"\n', encoding="utf-8")
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_DEV", legacy.token)
    push = ["push", "--env", "dev", "--name", "s1", "-m", "m", "--repository", "own", "--json"]
    assert main(["push", "meeting-notes", *push[1:]]) == 0
    outcome = json.loads(capsys.readouterr().out)
    assert any("securechat" in w and "one workspace per repository root" in w for w in outcome["warnings"])
    code = main(["push", "securechat", *push[1:]])
    err = json.loads(capsys.readouterr().out)  # --json: the error is the output document
    assert code != 0 and err["error"] == "version_name_taken"
    assert "may already hold this push's commit" in err["message"]


def _id(running: Running, slug: str) -> str:
    async def find() -> str:
        async with PrismeClient(running.url, running.token) as api:
            return (await api.find_workspace(slug)).id

    return asyncio.run(find())


def test_what_a_2024_import_rewrites_is_not_a_difference() -> None:
    """A version against the workspace after its pull: the piled-up suffix, the empty lists the export adds,
    a quoted " (IMPORT)" for an empty description and the per-folder ``__index__.yml`` are the platform's."""
    from tui.core.diff import diff_files
    from tui.core.ignore import Ignore

    version = {"index.yml": b"name: X\nslug: x\ndescription: first\n", "pages/a.yml": b"slug: a\n"}
    pulled = {
        "index.yml": b"name: X\nslug: x\ndescription: first (IMPORT) (IMPORT)\nlabels: []\ncustomDomains: []\n",
        "pages/a.yml": b"slug: a\n",
        "pages/__index__.yml": b"a:\n  createdBy: 6b15c0ffee0123456789abcd\n",
    }
    assert diff_files(version, pulled, ignore=Ignore.from_config([])).identical
    empty = {"index.yml": b"name: X\nslug: x\n"}
    assert diff_files(
        empty, {"index.yml": b"name: X\nslug: x\ndescription: ' (IMPORT)'\n"}, ignore=Ignore.from_config([])
    ).identical
    assert not diff_files(version, pulled, ignore=Ignore.nothing()).identical  # --no-ignore shows them


def test_an_empty_history_names_the_workspace_s_own_repository_to_clone() -> None:
    from tui.core import config as cfg
    from tui.core.ops.history import why_empty

    config = cfg.parse('[environments.real]\nurl = "https://real.example"\n')
    own = Workspace.from_json(
        {
            "id": "1",
            "slug": "a",
            "repositories": {"own": {"name": "own", "config": {"url": "https://g/x.git", "branch": "main"}}},
        }
    ).own_repositories
    said = why_empty(config, config.env("real"), own)
    assert "[repositories.own]" in said and "https://g/x.git" in said and "release" not in said
    assert "release" not in why_empty(config, config.env("real"))


@pytest.mark.e2e
def test_bulk_push_on_an_instance_without_platform_repositories_says_so(
    legacy: Running, isolated_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = isolated_home / "config" / "prisme-deploy" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[environments.dev]\nurl = "{legacy.url}"\n', encoding="utf-8")
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_DEV", legacy.token)
    code = main(["bulk-push", "--env", "dev", "--repository", "own", "--groups", "g", "--name", "b1", "-m", "x"])
    err = capsys.readouterr().err
    assert code == 4 and "no platform repositories" in err and "so no bulk push" in err, err
    assert "one by one" in err


def test_a_workspace_whose_dirty_state_is_not_tracked_is_never_shown_clean() -> None:
    from tui.app.panes.workspaces import workspace_row
    from tui.cli import exporters

    untracked = Workspace.from_json({"id": "1", "slug": "a", "name": "A"})  # 2024: no dirty field
    assert workspace_row(untracked)[1] == "unknown" and exporters.workspace(untracked)["dirty"] is None
    tracked = Workspace.from_json({"id": "1", "slug": "a", "name": "A", "dirty": False})
    assert workspace_row(tracked)[1] == "clean" and exporters.workspace(tracked)["dirty"] is False


def test_a_pull_body_property_the_instance_refuses_is_dropped_once_and_said() -> None:
    """2024: a pull's body is ``{repository}`` only; ``discardLocalChanges`` (the app's rollback sends it) is
    refused with 400 "should NOT have additional properties": sent again without it (every 2024 pull replaces)."""
    import httpx

    bodies: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/pull"):
            body = json.loads(request.content or b"{}")
            bodies.append(body)
            if "discardLocalChanges" in body:
                return httpx.Response(
                    400,
                    json={
                        "error": "RequestValidationError",
                        "message": "request.body should NOT have additional properties",
                        "details": [{"path": ".body.discardLocalChanges", "message": "should NOT have additional"}],
                    },
                )
            return httpx.Response(200, json={"imported": ["index"], "errors": [], "workspace": {}})
        return httpx.Response(200, json=[] if request.url.path.endswith("/versions") else {})

    async def go() -> tuple[PullResult, PrismeClient]:
        async with PrismeClient("http://127.0.0.1:9", "t2", transport=httpx.MockTransport(answer)) as api:
            first = await api.pull("w1", "v1", repository_id="own", discard_local_changes=True)
            await api.pull("w1", "v1", repository_id="own", discard_local_changes=True)  # learned: not sent
            return first, api

    result, api = asyncio.run(go())
    assert result.ok and api.caps.missing("pull_discard")
    assert bodies == [
        {"repository": {"id": "own"}, "discardLocalChanges": True},
        {"repository": {"id": "own"}},
        {"repository": {"id": "own"}},
    ]
    assert any("discardLocalChanges" in n for n in api.notes)
