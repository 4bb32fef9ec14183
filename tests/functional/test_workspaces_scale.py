"""Workspaces at scale, against a real sandbox: paging (every workspace once, in order, pages asked ahead
but never much past the end), and the sandbox's listing staying right while it caches its order."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

from tui.core.api.client import PAGES_AHEAD, PrismeClient
from tui.sandbox.realism import Realism
from tui.sandbox.runner import Running, start_in_thread

pytestmark = pytest.mark.e2e
TOKEN = "at:scale-token-0123456789"


def seed(data: Path, count: int) -> None:
    """``count`` workspaces as the sandbox stores them, written straight to disk (fast at any size)."""
    for number in range(count):
        folder = data / "workspaces" / f"w{number:06d}"
        folder.mkdir(parents=True)
        meta = {"id": f"w{number:06d}", "slug": f"ws-{number:05d}", "name": f"W {number}", "labels": ["l"]}
        meta["createdAt"] = f"2026-01-01T00:00:00.{number:06d}Z"
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    started: list[Running] = []

    def start(count: int) -> Running:
        data = tmp_path / f"data-{count}"
        seed(data, count)
        running = start_in_thread(data, TOKEN, name="scale", environ={})
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def watched(api: PrismeClient) -> tuple[list[int], Counter[str]]:
    """The page numbers asked for, and the peak of requests in flight (the client's real HTTP, counted)."""
    pages: list[int] = []
    flight: Counter[str] = Counter()
    send = api._send_once

    async def counting(method: str, path: str, limit: Any, **kwargs: Any) -> Any:
        pages.append(int(kwargs.get("params", {}).get("page", -1)))
        flight["now"] += 1
        flight["peak"] = max(flight["peak"], flight["now"])
        try:
            return await send(method, path, limit, **kwargs)
        finally:
            flight["now"] -= 1

    api._send_once = counting  # type: ignore[method-assign]
    return pages, flight


@pytest.mark.parametrize("count", [0, 40, 100, 250, 1000])
async def test_every_workspace_once_in_order_and_pages_asked_ahead_within_bounds(serve: Any, count: int) -> None:
    running = serve(count)
    async with PrismeClient(running.url, TOKEN) as api:
        pages, flight = watched(api)
        items = await api.list_workspaces(page_size=100)
    assert [w.slug for w in items] == [f"ws-{n:05d}" for n in range(count)]
    needed = count // 100 + 1  # the last page is the first short one (empty when count is a multiple)
    assert sorted(set(pages)) == list(range(len(set(pages)))) and len(pages) == len(set(pages))  # no page twice
    assert needed <= len(pages) <= needed + PAGES_AHEAD - 1
    if count < 100:
        assert pages == [0]  # a platform that fits in one page: one request
    if count >= 1000:
        assert 1 < flight["peak"] <= PAGES_AHEAD  # pages overlap, within the bound


async def test_stopping_early_cancels_the_pages_asked_ahead(serve: Any) -> None:
    running = serve(1000)
    async with PrismeClient(running.url, TOKEN) as api:
        pages, flight = watched(api)
        got = []
        async with aclosing(api.iter_workspace_pages(page_size=100)) as stream:
            async for page in stream:
                got.append(page)
                if len(got) == 2:
                    break
        assert [w.slug for w in got[1]][:1] == ["ws-00100"]
        assert flight["now"] == 0 and len(pages) <= 2 + PAGES_AHEAD  # nothing left running


async def test_the_sandbox_listing_sees_workspaces_created_and_deleted_after_it_was_ordered(tmp_path: Path) -> None:
    seed(tmp_path, 5)
    running = start_in_thread(tmp_path, TOKEN, name="scale", environ={}, realism=Realism.off())
    try:
        async with PrismeClient(running.url, TOKEN) as api:

            async def slugs(**params: str) -> list[str]:
                return [w["slug"] for w in await api._json("GET", "/v2/workspaces", params=params)]

            assert await slugs(limit="10") == [f"ws-{n:05d}" for n in range(5)]  # ordered, and now cached
            created = await api._json("POST", "/v2/workspaces", json={"name": "New", "slug": "new-one"})
            assert (await slugs(limit="10"))[-1] == "new-one"
            assert (await slugs(limit="10", sort="-createdAt"))[0] == "new-one"
            await api._json("DELETE", f"/v2/workspaces/{created['id']}")
            await api._json("DELETE", "/v2/workspaces/w000002")
            assert await slugs(limit="10") == ["ws-00000", "ws-00001", "ws-00003", "ws-00004"]
            assert await slugs(limit="2", page="1") == ["ws-00003", "ws-00004"]
    finally:
        running.stop()
