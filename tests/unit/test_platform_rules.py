"""Fast unit tests of the client's rules for a real Prisme.ai (issue 12): error classes, the request
budget, the server's clock, what the diff ignores, and both git tag layouts."""

from __future__ import annotations

import io
import math
import subprocess
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from tui.cli import exits
from tui.cli.output import Printer
from tui.core import errors as E
from tui.core.api.budget import RequestBudget, Wait, request_class
from tui.core.api.classify import classify, retry_after
from tui.core.api.client import PrismeClient
from tui.core.config import RepoSource
from tui.core.diff import diff_files
from tui.core.gitsource import GitHistory
from tui.core.ignore import Ignore, IgnoreRuleError, Rule


def error(status: int, body: dict) -> E.PrismeError:
    return classify(status, body, env="prod", where="prod: POST /v2/x")


# ------------------------------------------------------------------------------------------------ errors
def test_a_message_with_blocks_in_a_url_is_not_a_lock() -> None:
    pushed = error(400, {"error": "PrismeError", "message": "Git error: cannot push to https://git.acme.io/blocks.git"})
    assert type(pushed) is E.BadRequest
    taken = error(
        400,
        {"error": "AlreadyUsedError", "message": "Given version tag 'v1' already exists at 'https://x.io/blocks.git'"},
    )
    assert type(taken) is E.VersionNameTaken
    locked = error(400, {"error": "PrismeError", "message": "Workspace is locked by a running pull"})
    assert type(locked) is E.WorkspaceLocked


def test_the_error_class_decides_before_the_status_and_the_message() -> None:
    assert (
        type(error(400, {"error": "InvalidVersionError", "message": "Unknown version 'locked-1'"})) is E.InvalidVersion
    )
    assert type(error(404, {"error": "ObjectNotFoundError", "message": "conflict.yml"})) is E.NotFound
    assert type(error(413, {"error": "PayloadTooLarge", "message": "too big"})) is E.ArchiveTooLarge
    assert type(error(400, {"error": "RequestValidationError", "message": "pull first"})) is E.BadRequest
    timeout = error(408, {"error": "TimeoutError", "timeout": 20000})
    assert isinstance(timeout, E.GatewayTimeout) and "20 s of silence" in timeout.message
    limited = error(429, {"error": "TooManyRequests", "message": "Too many requests", "details": {"retryAfter": 41.3}})
    assert isinstance(limited, E.RateLimited) and exits.code_for(limited) == 4


def test_git_authentication_is_not_a_missing_super_admin_role() -> None:
    git = error(403, {"error": "ForbiddenError", "message": "Authentication failed for repository 'release'"})
    assert isinstance(git, E.GitCredentials) and "credentials" in (git.hint or "")
    forbidden = error(403, {"error": "ForbiddenError", "message": "You need the super admin role"})
    assert type(forbidden) is E.PermissionDenied and "super admin" in (forbidden.hint or "")


def test_retry_after_comes_from_the_body_then_the_header() -> None:
    assert retry_after({"retryAfter": 41.3}, {}) == 41.3
    assert retry_after(None, {"retry-after": "7"}) == 7.0
    assert retry_after({"retryAfter": "soon"}, {}) is None


# ------------------------------------------------------------------------------------------------ the budget
def test_request_classes_follow_the_gateway_policies() -> None:
    assert request_class("GET", "/v2/workspaces/abc/events") == "events"
    assert request_class("POST", "/v2/workspaces/abc/search") == "events"
    assert request_class("POST", "/v2/workspaces/platform/versions/latest/pull") == "imports"
    assert request_class("POST", "/v2/workspaces/abc/versions/v1.0.0/pull") == "imports"
    assert request_class("POST", "/v2/workspaces/abc/import") == "imports"
    assert request_class("POST", "/v2/workspaces/import") == "imports"
    assert request_class("POST", "/v2/workspaces") == "create"
    assert request_class("GET", "/v2/workspaces/abc") is None
    assert request_class("POST", "/v2/workspaces/abc/versions") is None  # a push is not import-class


async def test_the_budget_paces_instead_of_exceeding_and_reports_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tui.core.api.budget.MARGIN", 0.0)
    monkeypatch.setattr("tui.core.api.budget.NOTIFY_FROM", 0.0)
    budget = RequestBudget("prod", limits={"imports": 2}, window=0.6)
    waits: list[Wait] = []
    for _ in range(2):
        await budget.acquire("imports", waits.append)
    assert waits == [] and budget.room("imports") == 0
    await budget.acquire("imports", waits.append)  # the third waits for the first to leave the window
    assert waits and waits[0].first and not waits[0].refused
    assert "limit of 2 imports per minute" in waits[0].text


async def test_a_refusal_blocks_the_class_and_reads_as_rate_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tui.core.api.budget.NOTIFY_FROM", 0.0)
    budget = RequestBudget("prod")
    budget.refused("events", 0.3)
    assert budget.room("events") == 0
    waits: list[Wait] = []
    await budget.acquire("events", waits.append, take=False)
    assert waits[0].refused and waits[0].text.startswith("rate limited by the gateway: retrying in 1 s")
    assert budget.room("events") == 20  # take=False: the retry counts itself


def test_gateway_headers_lower_the_limit_and_block_when_nothing_remains() -> None:
    budget = RequestBudget("prod")
    budget.observe("events", {"x-ratelimit-limit": "10", "x-ratelimit-remaining": "3", "x-ratelimit-reset": "30"})
    assert budget.limits["events"] == 10 and budget.room("events") == 10
    budget.observe("events", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "30"})
    assert budget.room("events") == 0 and budget.delay("events") > 25
    assert not budget.refused_now("events")  # we pace ourselves: the gateway has refused nothing


async def test_the_window_the_gateway_tells_paces_the_class(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request that opens the gateway's window (remaining = limit - 1) tells its length by its reset:
    a 2 s window frees its slots after about 3 s (2 s and the margin), not after a minute."""
    monkeypatch.setattr("tui.core.api.budget.NOTIFY_FROM", 0.0)
    budget = RequestBudget("prod")

    def headers(remaining: int) -> dict[str, str]:
        reset = str(math.ceil(time.time() + 2))  # epoch seconds, rounded up, as the gateway writes it
        return {"x-ratelimit-limit": "3", "x-ratelimit-remaining": str(remaining), "x-ratelimit-reset": reset}

    for remaining in (2, 1, 0):
        await budget.acquire("imports")
        budget.observe("imports", headers(remaining))
    assert budget.windows["imports"] in (2.0, 3.0) and budget.room("imports") == 0
    assert 0 < budget.delay("imports") <= 4.0
    waits: list[Wait] = []
    await budget.acquire("imports", waits.append)
    assert waits and any(f"limit of 3 imports per {n} s" in waits[0].text for n in (2, 3))
    other = RequestBudget("prod")
    other.observe("imports", headers(1))
    assert "imports" not in other.windows  # not the window's first request: its reset says nothing of the length


def test_the_cli_shows_the_wait_on_stderr() -> None:
    err = io.StringIO()
    printer = Printer(json_mode=True, out=io.StringIO(), err=err)
    printer.wait(Wait("prod", "imports", 41.0, True, 3, True))
    printer.wait(Wait("prod", "imports", 40.0, True, 3, False))  # not a terminal: not every second
    printer.wait(Wait("prod", "imports", 30.0, True, 3, False))
    assert err.getvalue().splitlines() == [
        "prod: rate limited by the gateway: retrying in 41 s",
        "prod: rate limited by the gateway: retrying in 30 s",
    ]


def test_a_late_event_of_the_previous_group_is_not_this_groups() -> None:
    from tui.core.api.client import _ours
    from tui.core.api.models import Event

    def event(kind: str, **payload: object) -> Event:
        return Event(f"{kind}-{payload}", f"workspaces.bulkImport.{kind}", "2026-11-29T10:00:00.000Z", payload, {})

    seen: set[str] = set()
    early = event("progress", workspaceSlug="doc-search")
    assert not _ours(early, "base2", seen) and early.id not in seen  # undecidable yet: read again later
    assert not _ours(event("started", groups=["base1"], workspaces=[{"slug": "securechat"}]), "base2", seen)
    assert not _ours(event("completed", groups=["base1"]), "base2", seen)
    assert _ours(event("started", groups=["base2"], workspaces=[{"slug": "doc-search"}]), "base2", seen)
    assert _ours(early, "base2", seen)
    assert not _ours(event("progress", workspaceSlug="securechat"), "base2", seen)
    assert _ours(event("completed", groups=["base2"]), "base2", seen)


# ------------------------------------------------------------------------------------------------ the server's clock
async def test_after_date_comes_from_the_server_clock() -> None:
    """The server runs an hour ahead: an afterDate from our clock would return every old event."""
    ahead = datetime.now(UTC) + timedelta(hours=1)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params.get("afterDate", ""))
        headers = {"date": format_datetime(ahead, usegmt=True)}
        if request.url.path.endswith("/events"):
            return httpx.Response(200, json={"result": {"events": []}}, headers=headers)
        return httpx.Response(200, json={"healthy": True}, headers=headers)

    async with PrismeClient("http://127.0.0.1:9", "t", transport=httpx.MockTransport(handler)) as api:
        since = await api.server_since()
        await api.events("ws", after_date=since)
    moment = datetime.fromisoformat(seen[-1].replace("Z", "+00:00"))
    assert abs((moment - ahead).total_seconds() + 2) < 3  # the server's now, minus the 2 s margin


# ------------------------------------------------------------------------------------------------ ignored differences
INDEX = b"slug: %s\nname: Support\ndescription: %s\nlabels: [%s]\ncustomDomains: [%s]\n"


def index(description: str, labels: str = "a", domains: str = "", slug: str = "support") -> bytes:
    return INDEX % (slug.encode(), description.encode(), labels.encode(), domains.encode())


def test_the_platform_import_rewrites_are_ignored_and_counted() -> None:
    source = {"index.yml": index("Answers questions", "a", "bot.acme.io")}
    target = {"index.yml": index("Answers questions (IMPORT) (IMPORT)", "a, b", "")}
    result = diff_files(source, target)
    assert result.identical and result.ignored == 3  # suffix, customDomains, merged labels
    assert "3 difference(s) ignored" in result.stat_lines()[-1]
    everything = diff_files(source, target, ignore=Ignore.nothing())
    assert not everything.identical and everything.ignored == 0
    assert "nothing ignored" in everything.ignored_note


def test_the_suffix_is_ignored_per_language_but_real_changes_show() -> None:
    old = {"index.yml": b"description:\n  en: Hello\n  fr: Bonjour\n"}
    new = {"index.yml": b"description:\n  en: Hello (IMPORT)\n  fr: Bonjour (IMPORT)\n"}
    assert diff_files(old, new).identical
    changed = {"index.yml": b"description:\n  en: Hello there (IMPORT)\n  fr: Bonjour (IMPORT)\n"}
    assert [f.path for f in diff_files(old, changed).files] == ["index.yml"]
    other_labels = diff_files({"index.yml": index("x", "a, b")}, {"index.yml": index("x", "a, c")})
    assert not other_labels.identical  # neither side contains the other: not the platform's merge


def test_user_ignore_rules_from_the_config() -> None:
    old = {"automations/a.yml": b"slug: a\nconfig:\n  url: https://dev\n"}
    new = {"automations/a.yml": b"slug: a\nconfig:\n  url: https://prod\n"}
    ignore = Ignore.from_config(["automations/*.yml:config.url"])
    result = diff_files(old, new, ignore=ignore)
    assert result.identical and result.ignored == 1
    assert not diff_files(old, new).identical
    with pytest.raises(IgnoreRuleError):
        Rule.parse("index.yml")


# ------------------------------------------------------------------------------------------------ tag layouts
def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


def commit(repo: Path, slug: str, text: str, message: str) -> None:
    folder = repo / "workspaces" / slug
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.yml").write_text(f"slug: {slug}\ndescription: {text}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.mark.parametrize("layout", ["slug", "plain"])
def test_history_reads_either_tag_layout(tmp_path: Path, layout: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")

    def tag(slug: str, version: str) -> None:
        git(repo, "tag", f"{slug}/{version}" if layout == "slug" else version)

    commit(repo, "bot", "one", "bot v1")
    tag("bot", "v1.0.0")
    commit(repo, "faq", "one", "faq v1")
    tag("faq", "faq-1")
    commit(repo, "bot", "two", "bot v2")
    commit(repo, "faq", "two", "bulk: faq")  # one bulk push: the tag lands on its last commit
    tag("faq" if layout == "slug" else "bot", "v2.0.0")
    if layout == "slug":
        git(repo, "tag", "bot/v2.0.0", "HEAD~1")
    history = GitHistory(RepoSource(id="release", path=str(repo), dirpath="workspaces"), cache_root=tmp_path)
    assert [v.name for v in history.versions("bot")] == ["v2.0.0", "v1.0.0"]
    assert [v.name for v in history.versions("faq")] == ["v2.0.0", "faq-1"]
    assert history.files("bot", "v1.0.0")["index.yml"] == b"slug: bot\ndescription: one\n"


def test_wait_text_for_pacing_names_the_limit() -> None:
    assert Wait("", "events", 2.2, False, 20, True).text == (
        "staying within the gateway's limit of 20 event searches per minute: next in 3 s"
    )
