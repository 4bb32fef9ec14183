"""Hardening round 2 (issue 25, with the two rate-limit bullets of issue 24 part 3): numbers from a
hostile gateway are finite and bounded before use."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from hostile_server import (  # noqa: F401  (fixtures)
    TOKEN,
    HostileServer,
    hostile_config_fixture,
    hostile_fixture,
)

from tui.cli import exits
from tui.cli.main import main
from tui.core import errors as E
from tui.core.api import budget as B
from tui.core.api.budget import RequestBudget, Wait
from tui.core.api.client import PrismeClient

pytestmark = pytest.mark.e2e


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def client(hostile: HostileServer, **kw: object) -> PrismeClient:
    waits: list[Wait] = []
    api = PrismeClient(hostile.url, TOKEN, env_name="h", budget=RequestBudget("h"), on_wait=waits.append, **kw)  # type: ignore[arg-type]
    api.waits = waits  # type: ignore[attr-defined]
    return api


# ------------------------------------------------------------------------------------------ 429 values
@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ('{"error":"TooManyRequests","details":{"retryAfter":Infinity}}', {}),
        ('{"error":"TooManyRequests"}', {"Retry-After": "inf"}),
        ('{"error":"TooManyRequests","details":{"retryAfter":1e300}}', {}),
        ('{"error":{"code":"TooManyRequests","details":{"retryAfter":1e300}}}', {}),
    ],
    ids=["retryAfter-Infinity", "Retry-After-inf", "retryAfter-huge", "nested-huge"],
)
@pytest.mark.parametrize("path", ["list", "events"])
async def test_an_endless_429_wait_is_refused_within_the_deadline(
    hostile: HostileServer, body: str, headers: dict[str, str], path: str
) -> None:
    hostile.canned.append((429, body, headers))
    async with client(hostile) as api:
        started = time.monotonic()
        with pytest.raises(E.RateLimited) as caught:
            async with asyncio.timeout(10):
                if path == "list":
                    await api.list_workspaces()
                else:
                    await api.events("ws1")
        assert time.monotonic() - started < 5
    assert exits.code_for(caught.value) == 4
    assert "longer than this request's deadline" in str(caught.value)


def test_the_cli_says_so_with_exit_4_and_no_traceback(
    hostile: HostileServer, hostile_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile.canned.append((429, '{"error":"TooManyRequests","details":{"retryAfter":Infinity}}', {}))
    code, _, err = cli(capsys, "workspaces", "--env", "h")
    assert code == 4, err
    assert "Traceback" not in err and "indefinitely" in err


async def test_the_docs_nested_429_shape_is_read(hostile: HostileServer) -> None:
    hostile.canned.append((429, '{"error":{"code":"TooManyRequests","details":{"retryAfter":1.5}}}', {}))
    async with client(hostile) as api:
        started = time.monotonic()
        await api.events("ws1")
        waited = time.monotonic() - started
    assert 1.4 <= waited < 5  # the nested retryAfter, not the 1 s guess
    assert api.waits and api.waits[0].refused  # type: ignore[attr-defined]


async def test_a_429_without_retry_after_backs_off_exponentially_and_counts_in_the_budget(
    hostile: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(B, "BACKOFF_BASE", 0.2)
    for _ in range(3):
        hostile.canned.append((429, '{"error":"TooManyRequests"}', {}))
    async with client(hostile) as api:
        started = time.monotonic()
        await api.events("ws1")
        waited = time.monotonic() - started
        # 0.1..0.2 + 0.2..0.4 + 0.4..0.8 s: at least 0.7 s in all, growing each time
        assert 0.7 <= waited < 5
        api.budget.refused("events", 0.5)  # a backoff is a block of the whole class: others wait it too
        assert api.budget.delay("events") > 0.3


def test_backoff_is_capped_and_jittered() -> None:
    waits = [B.backoff(n) for n in range(40)]
    assert max(waits) <= B.BACKOFF_CAP
    assert all(w > 0 for w in waits)
    assert len({round(B.backoff(10), 6) for _ in range(20)}) > 1  # jitter


@pytest.mark.parametrize(
    "reset",
    [
        "1e300",
        "inf",
        "Sun Dec 06 9999 23:10:00 GMT+0000 (Coordinated Universal Time)",
    ],
)
async def test_a_huge_rate_limit_reset_is_refused_within_the_deadline(hostile: HostileServer, reset: str) -> None:
    hostile.extra_headers = {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    async with client(hostile) as api:
        await api.events("ws1")
        hostile.extra_headers = {}
        if reset == "inf":  # not a number: ignored, the next request goes
            async with asyncio.timeout(10):
                await api.events("ws1")
            return
        with pytest.raises(E.RateLimited):
            async with asyncio.timeout(10):
                await api.events("ws1")


@pytest.mark.parametrize("style", ["js", "http", "iso"])
def test_rate_limit_reset_as_a_date_string(style: str) -> None:
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=30)
    text = {
        "js": at.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)"),
        "http": format_datetime(at, usegmt=True),
        "iso": at.isoformat().replace("+00:00", "Z"),
    }[style]
    budget = RequestBudget("h")
    budget.observe("events", {"x-ratelimit-limit": "20", "x-ratelimit-remaining": "0", "x-ratelimit-reset": text})
    assert 25 < budget.delay("events") <= 31


async def test_the_app_starts_and_says_so_on_an_endless_429(hostile: HostileServer, hostile_config: Path) -> None:
    from test_hostile_app import make_app, settle

    for _ in range(4):  # whatever the app asks first (healthcheck, me, workspaces...)
        hostile.canned.append((429, '{"error":"TooManyRequests","details":{"retryAfter":Infinity}}', {}))
    hostile.canned.append((429, '{"error":"TooManyRequests"}', {"Retry-After": "inf"}))
    app = make_app(hostile_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.is_running
        assert "deadline" in app.export_screenshot()


# ------------------------------------------------------------------------------------------ y (OSC 52)
async def test_y_copies_the_escaped_text_the_screen_shows(hostile: HostileServer, hostile_config: Path) -> None:
    from test_hostile_app import make_app, settle

    hostile.mode.add("hostile-slug")
    app = make_app(hostile_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.query_one("#workspaces")
        table.focus()
        await pilot.press("y")
        copied = app.clipboard
        assert copied and copied.startswith("evil")
        assert not any(c in copied for c in "\x1b\x07\r\x9b"), repr(copied)
        assert "\\x1b[201~" in copied  # the same escaped text the table shows


# ------------------------------------------------------------------------------------------ pagination
async def test_endless_pagination_is_bounded_in_total(hostile: HostileServer) -> None:
    from tui.core import limits

    hostile.mode.add("endless-pages")
    limits.configure(max_list_pages=30)
    try:
        async with client(hostile, limits=limits.current()) as api:
            with pytest.raises(E.ResponseTooLarge, match="30 pages"):
                async with asyncio.timeout(60):
                    await api.list_workspaces(page_size=10)
    finally:
        limits.configure()
    assert len(hostile.requests) < 40


# ------------------------------------------------------------------------------------------ wrongly typed answers
@pytest.mark.parametrize(
    "command",
    [
        ("workspaces", "--env", "h"),
        ("events", "--env", "h"),
        ("status", "--env", "h"),
        ("versions", "evil-ws", "--env", "h"),
    ],
)
def test_wrongly_typed_answers_give_no_traceback(
    hostile: HostileServer, hostile_config: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    hostile.mode.add("bad-types")
    code, out, err = cli(capsys, *command)
    assert "Traceback" not in err and code in (0, 1, 4), (code, out, err)


async def test_wrongly_typed_repositories_and_events_read_as_empty(hostile: HostileServer) -> None:
    hostile.mode.add("bad-types")
    async with client(hostile) as api:
        repos = await api.platform_repositories()
        assert repos["release"].groups == () and repos["release"].branch is None
        assert await api.events("ws1") == []
        assert (await api.list_workspaces())[0].labels == ()
