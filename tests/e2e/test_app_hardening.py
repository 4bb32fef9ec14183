"""Issue 25's attacks tried from the app, where it reaches the same core: the bulk push of a group only
the server defines (the secret scan), the sticky rollback checkbox over a repository holding a link, and
the Releases view with a bad and a duplicate manifest."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest
from test_app import bulk_push, log_text, make_app, settle
from test_app_plans import prod_with_startup_import  # noqa: F401  (fixture)
from test_app_truth import open_version
from textual.widgets import Checkbox, DataTable, Input

from tui.app.screens.activity import TableScreen
from tui.core import paths
from tui.core.ops import release
from tui.sandbox.runner import Running

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]
GITHUB = "ghp_" + "0123456789abcdefghijKLMNOPQRSTUVWXyz"


@pytest.fixture
def root_of(platform: dict[str, Running]) -> Path:
    return Path(platform["dev"].sandbox.data_dir).parent


def _tags(running: Running) -> list[str]:
    headers = {"Authorization": f"Bearer {running.token}"}
    wid = httpx.get(f"{running.url}/v2/workspaces", params={"slug": "support-bot"}, headers=headers).json()[0]["id"]
    return [v["name"] for v in httpx.get(f"{running.url}/v2/workspaces/{wid}/versions", headers=headers).json()]


async def test_a_bulk_push_of_a_group_only_the_server_defines_is_scanned(
    platform: dict[str, Running], root_of: Path
) -> None:
    dev = platform["dev"]
    headers = {"Authorization": f"Bearer {dev.token}"}
    wid = httpx.get(f"{dev.url}/v2/workspaces", params={"slug": "support-bot"}, headers=headers).json()[0]["id"]
    leaky = f"slug: leaky\ndo: []\noutput: {GITHUB}\n".encode()
    assert httpx.put(f"{dev.url}/sandbox/workspaces/{wid}/files/automations/leaky.yml", content=leaky, headers=headers)
    before = _tags(dev)
    app = make_app(platform, root_of, env="dev")
    app.ctx.config.groups.clear()  # the groups are the server's only (as with --url in CI)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await bulk_push(pilot, app, "extended", "v3.0.0")
        await settle(pilot)
        text = log_text(app)
        assert "possible secret" in text and "support-bot/automations/leaky.yml" in text, text
        assert app.is_running
    assert _tags(dev) == before


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x", "GIT_COMMITTER_NAME": "x"}
    env["GIT_COMMITTER_EMAIL"] = "x@x"
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


async def test_the_sticky_checkbox_never_follows_a_link_committed_in_the_repository(
    prod_with_startup_import: tuple[dict[str, Running], Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    instances, root = prod_with_startup_import
    victim = tmp_path / "operator-file"
    victim.write_text("precious\n")
    work = tmp_path / "attacker"
    _git(tmp_path, "clone", "-q", str(root / "release.git"), str(work))
    tag = next(t for t in _git(work, "tag").split() if t in ("knowledge-base/v1.1.0", "v1.1.0"))
    _git(work, "checkout", "-q", tag)
    target = work / "workspaces" / "knowledge-base" / ".import.yml"
    target.unlink()
    os.symlink(victim, target)
    _git(work, "commit", "-qam", "a link")
    _git(work, "tag", "-f", tag)
    _git(work, "push", "-q", "--force", "origin", f"refs/tags/{tag}")
    app = make_app(instances, root, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await open_version(pilot, app, "knowledge-base", "v1.1.0")
        await pilot.press("r")
        await settle(pilot)
        app.screen.query_one("#sticky", Checkbox).value = True
        app.screen.query_one("#confirm-input", Input).value = "knowledge-base"
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        assert "symbolic links" in log_text(app), log_text(app)
        assert app.is_running
    assert victim.read_text() == "precious\n"


BOMB = """release: bomb
workspaces:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
"""


async def test_the_releases_view_reports_a_bad_manifest_and_still_shows_the_others(
    platform: dict[str, Running], root_of: Path
) -> None:
    app = make_app(platform, root_of, env="dev")
    good = await release.from_env(app.ctx, "staging", "good", labels=["production:app:base1"])
    release.save(app.ctx, good, None, local=True)
    folder = paths.data_dir() / "releases" / "release"
    (folder / "bomb.yml").write_text(BOMB)
    (folder / "broken.yml").write_text("release: [\n")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, TableScreen), type(app.screen)
        table = app.screen.query_one(DataTable)
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert "good" in names and app.is_running
