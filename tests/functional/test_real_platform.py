"""Every flow against the realistic sandbox (issue 12): late events, a gateway 408 mid-operation, 429s
with retryAfter, paced imports, the platform's index rewrites, both tag layouts, concurrent rollbacks.

The sandbox is realistic by default (event lag, per-user rate limits, 408s, ' (IMPORT)'); a test
changes one knob only where it must provoke something (a short gateway timeout, a short window)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from waits import wait_until

from tui.cli.main import main
from tui.core import config as cfg
from tui.core import errors as E
from tui.core.api.budget import RequestBudget, Wait
from tui.core.api.client import PrismeClient
from tui.core.ops import actions, history
from tui.core.ops.context import Context
from tui.sandbox.runner import Running

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]  # prod needs a reason


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def context(path: Path) -> Context:
    return Context.create(cfg.load(path), use_keyring=False)


async def live_version(running: Running, slug: str) -> str | None:
    async with PrismeClient(running.url, running.token) as api:
        return (await api.find_workspace(slug)).live_version


# ------------------------------------------------------------------------------------------------ done when
async def test_cli_rollback_on_prod_is_verified_although_its_event_is_late(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    assert platform["prod"].sandbox.realism.event_lag > 0  # the event is not searchable when the pull answers
    code, out, err = await asyncio.to_thread(
        cli, capsys, "rollback", "securechat", "v1.0.0", "--repository", "release", "--env", "prod", "--yes"
    )
    assert code == 0, out + err
    assert "Rolled back securechat to v1.0.0: verified, the workspace now runs v1.0.0" in out
    assert await live_version(platform["prod"], "securechat") == "v1.0.0"


async def test_cli_pull_is_verified(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await asyncio.to_thread(
        cli,
        capsys,
        "pull",
        "securechat",
        "--repository",
        "release",
        "--env",
        "staging",
        "--discard-local-changes",
        "--json",
    )
    result = json.loads(out)
    assert code == 0 and result["ok"], err
    assert "verified, the workspace now runs" in result["message"]
    assert result["workspace"]["liveVersion"] == await live_version(platform["staging"], "securechat")


async def test_promotion_then_diff_exits_0_despite_the_import_rewrites(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    assert platform["prod"].sandbox.realism.import_suffix
    code, out, err = await asyncio.to_thread(
        cli, capsys, "promote", "--from", "staging:support-bot", "--to", "prod:support-bot", "--yes", "--accept-drift"
    )
    assert code == 0, out + err
    assert "verified, no difference remains" in out
    code, out, err = await asyncio.to_thread(
        cli, capsys, "diff", "--from", "staging:support-bot", "--to", "prod:support-bot"
    )
    assert code == 0, out + err
    assert "difference(s) ignored" in err
    async with PrismeClient(platform["prod"].url, platform["prod"].token) as api:
        assert "(IMPORT)" in str((await api.find_workspace("support-bot")).raw.get("description"))
    code, out, err = await asyncio.to_thread(
        cli, capsys, "diff", "--from", "staging:support-bot", "--to", "prod:support-bot", "--no-ignore", "--stat"
    )
    assert code == 1 and "index.yml" in out


async def test_two_bulk_imports_of_three_groups_back_to_back_are_paced_not_refused(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    """Six import-class calls at 3 per minute: the second run waits for its slots (about a minute)."""
    groups = ("--groups", "base1,base2,extended", "--repository", "release", "--env", "staging", "--yes")
    code, out, err = await asyncio.to_thread(cli, capsys, "bulk-import", *groups)
    assert code == 0, out + err
    assert out.count("summary (") == 3
    code, out, err = await asyncio.to_thread(cli, capsys, "bulk-import", *groups, "--force-reimport")
    assert code == 0, out + err
    assert out.count("summary (") == 3
    assert "staying within the gateway's limit of 3 imports per minute" in err
    assert "rate limited by the gateway" not in err  # paced: never refused
    lines = out.splitlines()
    for slug in ("securechat", "doc-search", "support-bot"):  # one of each group: once each, in its group
        assert len([line for line in lines if "] IMPORTED" in line and f" {slug} " in f"{line} "]) == 1, out


# ------------------------------------------------------------------------------------------------ 408
async def test_rollback_through_a_gateway_408_is_followed_to_completion(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    prod = platform["prod"].sandbox
    prod.realism.gateway_timeout = 0.5
    prod.faults.pull_delay_ms = 1500  # the gateway gives up, the service goes on
    code, out, err = await asyncio.to_thread(
        cli, capsys, "rollback", "securechat", "v1.1.0", "--repository", "release", "--env", "prod", "--yes"
    )
    assert code == 0, out + err
    assert "still running on the server" in out and "verified, the workspace now runs v1.1.0" in out
    assert "prod: still running on the server" in err and "following its state" in err  # live, not silence
    assert await live_version(platform["prod"], "securechat") == "v1.1.0"


async def test_bulk_import_through_a_gateway_408_is_followed_through_events(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    staging = platform["staging"].sandbox
    staging.realism.gateway_timeout = 0.5
    staging.faults.pull_delay_ms = 300  # four workspaces: the group outlasts the gateway
    code, out, err = await asyncio.to_thread(
        cli,
        capsys,
        "bulk-import",
        "--groups",
        "base2",
        "--repository",
        "release",
        "--env",
        "staging",
        "--force-reimport",
        "--yes",
        "--json",
    )
    assert code == 0, out + err
    lines = [json.loads(line) for line in out.splitlines()]
    assert any(line["kind"] == "processing" and "408" in (line["message"] or "") for line in lines)
    completed = [line for line in lines if line["kind"] == "completed"]
    assert completed and len(completed[-1]["payload"]["updatedWorkspaceIds"]) == 4
    assert lines[-1]["kind"] == "summary" and lines[-1]["status"] == "completed"  # the stream ends with its document


# ------------------------------------------------------------------------------------------------ 429
async def test_a_429_is_waited_out_with_its_retry_after_and_retried(sandbox: Running) -> None:
    """Another tool of the same user spent the minute: our budget could not know, the gateway says 429."""
    sandbox.sandbox.realism.rate_limits = {"events": 2, "imports": 3, "create": 3}
    sandbox.sandbox.realism.rate_window = 2.0
    async with PrismeClient(sandbox.url, sandbox.token, budget=RequestBudget("other")) as other:
        ws = await other.find_workspace("securechat")
        for _ in range(2):
            await other.events(ws.id, limit=1)
    waits: list[Wait] = []
    async with PrismeClient(
        sandbox.url, sandbox.token, env_name="test", budget=RequestBudget("test"), on_wait=waits.append
    ) as api:
        assert await api.events(ws.id, limit=1) is not None  # refused once, waited out, then answered
    refused = [w for w in waits if w.refused]
    assert refused and refused[0].first and refused[0].kind == "events"
    assert refused[0].text.startswith("rate limited by the gateway: retrying in ")


async def test_a_refused_rollback_is_retried_safely(configured: Path, platform: dict[str, Running]) -> None:
    """The gateway refused the first POST before the service saw it: sending it again is the right thing."""
    prod = platform["prod"]
    ctx = context(configured)
    async with PrismeClient(prod.url, prod.token, budget=RequestBudget("x", limits={})) as other:
        ws = await other.find_workspace("securechat")
        prod.sandbox.realism.rate_window = 3.0
        for version in ("v1.0.0", "v1.1.0", "v1.2.0"):  # another tool of the same user spends the minute
            await other.pull(ws.id, version, repository_id="release", wait=False)
    waits: list[Wait] = []
    ctx.on_wait = waits.append
    outcome = await actions.pull(ctx, "prod", "securechat", version="v1.0.0", repository="release", action="rollback")
    assert outcome.ok, outcome.message
    assert any(w.refused for w in waits)
    assert await live_version(prod, "securechat") == "v1.0.0"


# ------------------------------------------------------------------------------------------------ concurrency
async def test_two_concurrent_rollbacks_do_not_both_report_success(
    configured: Path, platform: dict[str, Running]
) -> None:
    prod = platform["prod"].sandbox
    prod.realism.event_lag = 0.0  # even with instant events, the state decides
    prod.faults.pull_delay_ms = 800

    async def rollback(version: str) -> actions.Outcome | BaseException:
        try:
            return await actions.pull(
                context(configured), "prod", "securechat", version=version, repository="release", action="rollback"
            )
        except Exception as exc:  # a lock refusal is an honest failure too
            return exc

    async def pulling() -> bool:  # the first rollback's pull holds the workspace (800 ms): the second comes now
        async with PrismeClient(platform["prod"].url, platform["prod"].token) as api:
            lock = (await api.find_workspace("securechat")).write_lock
        return bool(lock and lock.reason == "pull_in_progress")

    running_first = asyncio.create_task(rollback("v1.0.0"))
    await wait_until(None, pulling, every=0.02, what="the first rollback's pull in flight")
    first, second = await asyncio.gather(running_first, rollback("v1.1.0"))
    outcomes = {"v1.0.0": first, "v1.1.0": second}
    said = {version: getattr(o, "message", repr(o)) for version, o in outcomes.items()}
    # Exactly one wins: both reporting success is a lie, and both failing (which `<= 1` let pass) means
    # the rollback itself is broken. The loser is an honest failure: a refusal, or an outcome not ok.
    won = [version for version, o in outcomes.items() if isinstance(o, actions.Outcome) and o.ok]
    assert len(won) == 1, said
    (loser,) = (o for version, o in outcomes.items() if version not in won)
    assert isinstance(loser, E.PrismeError) or (isinstance(loser, actions.Outcome) and not loser.ok), said
    final = await live_version(platform["prod"], "securechat")
    assert final == won[0] and f"now runs {final}" in said[won[0]], (final, said)


# ------------------------------------------------------------------------------------------------ tag layouts
@pytest.mark.parametrize("layout", ["slug", "plain"])
async def test_history_after_a_push_in_either_tag_layout(
    configured: Path, platform: dict[str, Running], layout: str
) -> None:
    platform["dev"].sandbox.realism.tag_layout = layout
    ctx = context(configured)
    pushed = await actions.push(ctx, "dev", "support-bot", name="v1.9.0", description="ship", repository="release")
    assert pushed.ok, pushed.message
    names = [v.name for v in await asyncio.to_thread(history.git_versions, ctx.config, ctx.env("prod"), "support-bot")]
    assert "v1.9.0" in names
    other = [v.name for v in await asyncio.to_thread(history.git_versions, ctx.config, ctx.env("prod"), "faq-widget")]
    assert "v1.9.0" not in other


# ------------------------------------------------------------------------------------------------ errors
async def test_git_credentials_are_not_a_missing_super_admin_role(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    platform["prod"].sandbox.faults.git_auth_fail = ["release"]
    code, out, err = await asyncio.to_thread(
        cli, capsys, "rollback", "securechat", "v1.0.0", "--repository", "release", "--env", "prod", "--yes"
    )
    assert code == 3, out + err
    assert "Authentication failed for repository" in err and "repository's credentials" in err
    assert "super admin" not in err


@pytest.mark.parametrize("layout", ["slug", "plain"])
async def test_cli_versions_lists_the_repository_history_in_either_tag_layout(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str], layout: str
) -> None:
    """prod never pushes: its API lists no version of securechat, the release repository's tags do. The
    on-call engineer choosing a version to roll back to from the shell must see them, as the app does."""
    platform["dev"].sandbox.realism.tag_layout = layout
    ctx = context(configured)
    pushed = await actions.push(ctx, "dev", "securechat", name="v1.9.0", description="ship", repository="release")
    assert pushed.ok, pushed.message
    code, out, err = await asyncio.to_thread(cli, capsys, "versions", "securechat", "--env", "prod", "--json")
    assert code == 0, out + err
    listed = {v["name"]: v for v in json.loads(out)}
    assert {"v1.9.0", "v1.2.0", "v1.1.0", "v1.0.0"} <= set(listed), out
    assert listed["v1.9.0"]["repository"] == "release"
    live = await live_version(platform["prod"], "securechat")
    assert [name for name, v in listed.items() if v["live"]] == [live]
    code, out, err = await asyncio.to_thread(cli, capsys, "versions", "securechat", "--env", "prod")
    assert code == 0 and f"* {live}" in out and "  v1.9.0" in out, out + err


def _release_version_with_a_taken_slug(root: Path, where: Path) -> None:
    """securechat v1.3.0 in the release repository, whose index.yml claims ai-store's slug."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=where, check=True, capture_output=True, env=env)

    subprocess.run(["git", "clone", "-q", str(root / "release.git"), str(where)], check=True, capture_output=True)
    index = where / "workspaces" / "securechat" / "index.yml"
    index.write_text(re.sub(r"(?m)^slug: .*$", "slug: ai-store", index.read_text()), encoding="utf-8")
    meta = index.parent / ".import.yml"  # the version's own record of its name, as a push writes it
    meta.write_text(re.sub(r"(?m)^  name: .*$", "  name: v1.3.0", meta.read_text()), encoding="utf-8")
    git("commit", "-qam", "securechat claims ai-store")
    git("tag", "securechat/v1.3.0")
    git("push", "-q", "origin", "HEAD:main", "securechat/v1.3.0")


@pytest.mark.parametrize("gateway_408", [False, True])
async def test_a_rollback_whose_pull_reports_slug_already_in_use_is_not_a_success(
    configured: Path,
    platform: dict[str, Running],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    gateway_408: bool,
) -> None:
    """The platform answers the pull with ``errors`` (index.yml not applied): a failure, also when the
    gateway gave up first (408) and the outcome was followed through the workspace's state."""
    _release_version_with_a_taken_slug(Path(platform["dev"].sandbox.data_dir).parent, tmp_path / "clone")
    prod = platform["prod"].sandbox
    if gateway_408:
        prod.realism.gateway_timeout = 0.5
        prod.faults.pull_delay_ms = 1500
    code, out, err = await asyncio.to_thread(
        cli, capsys, "rollback", "securechat", "v1.3.0", "--repository", "release", "--env", "prod", "--yes"
    )
    assert code != 0, out + err
    assert "SlugAlreadyInUse" in out + err or "already used" in out + err, out + err
    assert "Rolled back securechat" not in out, out
