"""The core flows on every generation of the platform (issue 23): the sandbox answering as the 2026 API,
as the published 2024 server (no readiness, status or config; ``?timeout=`` refused; the workspace's own
repositories only), and with its events service down. Each flow runs from the CLI, as an operator would:
status, push native and git (to the workspace's own repository), versions, rollback to a git and to a
native version with the content checked after each, the safety snapshot's undo, promote then diff."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from conftest import fresh_token

from tui.cli.main import main
from tui.core.api.client import PrismeClient
from tui.core.diff import Files, diff_files, files_from_zip
from tui.core.ignore import Ignore
from tui.sandbox.runner import Running
from tui.sandbox.seed import attach_own_repository, own_repository

pytestmark = pytest.mark.e2e

WS = "meeting-notes"
GENERATIONS = [
    pytest.param(("2026", False), id="api-2026"),
    pytest.param(("2024", False), id="api-2024"),
    pytest.param(("2024", True), id="api-2024-events-down"),
    pytest.param(("2026", True), id="api-2026-events-down"),
]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def instance(
    request: pytest.FixtureRequest,
    sandbox: Running,
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Running:
    """The seeded sandbox at one generation, fast (no limits, no lag), with a configuration for it and
    ``meeting-notes`` given a repository of its own."""
    level, events_down = request.param
    sandbox.sandbox.realism.update(
        {"api_level": level, "events_down": events_down, "rate_limits": {}, "event_lag": 0.0, "gateway_timeout": None}
    )
    config = isolated_home / "config" / "prisme-deploy" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    url = own_repository(tmp_path / "own.git")
    clone = f'[repositories.own]\npath = "{url}"\n'  # where a git version is read (export refuses it)
    config.write_text(f'[environments.dev]\nurl = "{sandbox.url}"\n{clone}', encoding="utf-8")
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_DEV", sandbox.token)
    engine = sandbox.sandbox.engine
    attach_own_repository(engine, workspace_id(sandbox, WS), url)
    return sandbox


def workspace_id(running: Running, slug: str) -> str:
    async def find() -> str:
        async with PrismeClient(running.url, running.token) as api:
            return (await api.find_workspace(slug)).id

    return asyncio.run(find())


def content(running: Running, slug: str) -> Files:
    async def export() -> Files:
        async with PrismeClient(running.url, running.token) as api:
            return files_from_zip(await api.export((await api.find_workspace(slug)).id))

    return asyncio.run(export())


def same(left: Files, right: Files) -> bool:
    """Equal content, as `diff` compares it: without what every import rewrites (the " (IMPORT)" suffix)."""
    return diff_files(left, right, ignore=Ignore.from_config([])).identical


@pytest.mark.parametrize("instance", GENERATIONS, indirect=True)
def test_core_flows_from_the_cli(
    instance: Running, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    level, events_down = instance.sandbox.realism.api_level, instance.sandbox.realism.events_down
    engine, wid = instance.sandbox.engine, workspace_id(instance, WS)

    code, out, _ = cli(capsys, "status", "--env", "dev")
    assert code == 0, out
    assert ("UP (no readiness endpoint)" in out) == (level == "2024")

    # push to the workspace's own repository, then natively after an edit
    code, out, err = cli(capsys, "push", WS, "--env", "dev", "--name", "g1", "-m", "first", "--repository", "own")
    assert code == 0 and f"Pushed {WS} as g1 to git repository 'own'" in out, out + err
    at_g1 = content(instance, WS)
    engine.edit_file(wid, "automations/added.yml", "slug: added\nname: Added\ndo: []\n")
    code, out, err = cli(capsys, "push", WS, "--env", "dev", "--name", "n1", "-m", "native")
    assert code == 0 and "Pushed" in out, out + err
    at_n1 = content(instance, WS)
    assert not same(at_g1, at_n1)
    engine.edit_file(wid, "automations/added.yml", "slug: added\nname: Changed\ndo: []\n")

    code, out, err = cli(capsys, "versions", WS, "--env", "dev", "--json")
    listed = {v["name"]: v for v in json.loads(out)}
    assert code == 0 and listed["g1"]["repository"] == "own" and listed["n1"]["repository"] == "native"
    assert ("events could not be read" in err) == events_down
    assert all(("changes" in v) != events_down for v in listed.values())

    # rollback to the git version, then to the native one: each verified, the content checked
    before = content(instance, WS)
    code, out, err = cli(capsys, "rollback", WS, "g1", "--env", "dev", "--repository", "own", "--json")
    rolled = json.loads(out)
    assert code == 0 and rolled["ok"], out + err
    assert same(content(instance, WS), at_g1)
    first_undo = rolled["snapshot"]
    assert ("events could not be read" in " ".join(rolled.get("notes", []))) == events_down
    assert not any("/pages" in json.dumps(w) for w in rolled.get("warnings", []))  # no server path, ever
    code, out, err = cli(capsys, "rollback", WS, "n1", "--env", "dev", "--json")
    rolled = json.loads(out)
    assert code == 0 and rolled["ok"], out + err
    assert same(content(instance, WS), at_n1)

    # A new user for what follows: the client paces imports to the gateway's 3 a minute per user (at
    # 2024 the refused ?timeout= used one of them), and this test does not wait for the next minute.
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_DEV", fresh_token(instance))

    # the safety snapshot of the first rollback brings back the content before it
    code, out, err = cli(capsys, "snapshots", "restore", first_undo, "--yes")
    assert code == 0 and "Restored" in out, out + err
    assert same(content(instance, WS), before)
    # the second one's lacks an object the workspace has now: an instance that merges on import (2024) keeps
    # it, and the undo is said as a failure naming it; one that prunes restores the content exactly
    code, out, err = cli(capsys, "snapshots", "restore", rolled["snapshot"], "--yes")
    if level == "2024":
        assert code == 1 and "merges on import" in out and "automations/added.yml" in out, out + err
    else:
        assert code == 0 and "Restored" in out, out + err
        assert same(content(instance, WS), at_g1)
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_DEV", fresh_token(instance))

    # promote between two workspaces of the instance, then nothing differs
    promote = ["promote", "--from", "dev:support-bot-dev", "--to", "dev:support-bot", "--via", "archive", "--yes"]
    code, out, err = cli(capsys, *promote)
    if level == "2024":  # no status endpoint: the edits on the target are unknown, to be acknowledged
        assert code == 2 and "UNKNOWN" in err, out + err
        code, out, err = cli(capsys, *promote, "--accept-drift")
    assert code == 0 and "Promoted" in out, out + err
    code, out, err = cli(capsys, "diff", "--from", "dev:support-bot-dev", "--to", "dev:support-bot")
    assert code == 0, out + err


@pytest.mark.parametrize("instance", GENERATIONS, indirect=True)
def test_status_json_and_info_show_what_the_instance_offers(
    instance: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    old, events_down = instance.sandbox.realism.api_level == "2024", instance.sandbox.realism.events_down
    code, out, _ = cli(capsys, "status", "--env", "dev", "--json")
    [health] = json.loads(out)
    caps = health["capabilities"]
    assert code == 0 and health["state"] == "up" and health["readinessEndpoint"] is not old
    for name in ("readiness", "status", "config", "platform_repositories"):
        assert caps[name]["offered"] is not old, name
    assert caps["pull_timeout"]["offered"] is (False if old else None)  # a 200 on the probe proves nothing
    assert caps["events"]["offered"] is (not events_down)
    assert caps["events_search"]["offered"] is (not events_down)
    assert caps["webhooks"]["offered"] is (not old), caps["webhooks"]  # probed as `ledger init` does, not null
    code, out, _ = cli(capsys, "info", "--json")
    probed = json.loads(out)["environments"]["dev"]
    assert code == 0 and probed["capabilities"]["readiness"]["offered"] is not old
    code, out, _ = cli(capsys, "info")
    assert code == 0 and "env dev" in out
    if old:
        assert "UNKNOWN" in caps["status"]["whatFollows"]
        assert "readiness (no): health from /v2/me" in out
