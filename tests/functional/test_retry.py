"""The one retry helper: a GET whose connection dropped is sent again, a POST never is (it may have
reached the service). Against a tiny local server on port 0 that drops the first connections it gets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from tui.core import errors as E
from tui.core.api import retry
from tui.core.api.client import PrismeClient

ME: dict[str, object] = {"id": "u1", "email": "a@example.com", "firstName": "A"}


@dataclass
class Dropping:
    """Answers every request with ``body``, except the first ``drops``: read, then closed without a word."""

    drops: int
    body: dict[str, object]
    requests: list[str] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
        )
        if length:
            await reader.readexactly(length)
        self.requests.append(head.split(b" ", 1)[0].decode())
        if len(self.requests) <= self.drops:
            writer.close()  # the request arrived; the answer never comes
            return
        data = json.dumps(self.body).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(data), data)
        )
        await writer.drain()
        writer.close()


@pytest.fixture
async def dropping() -> AsyncIterator[Dropping]:
    server = Dropping(drops=1, body=ME)
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listening.sockets[0].getsockname()[1]
    async with listening:
        yield server


async def test_a_get_that_loses_its_connection_once_succeeds(dropping: Dropping) -> None:
    async with PrismeClient(f"http://127.0.0.1:{dropping.port}", "at:x", env_name="dev") as api:
        me = await api.me()
    assert me.id == "u1" and dropping.requests == ["GET", "GET"]


async def test_a_get_that_keeps_losing_its_connection_fails_after_a_few_tries(dropping: Dropping) -> None:
    dropping.drops = 100
    async with PrismeClient(f"http://127.0.0.1:{dropping.port}", "at:x", env_name="dev") as api:
        with pytest.raises(E.NetworkError):
            await api.me()
    assert dropping.requests == ["GET"] * retry.GET_ATTEMPTS


async def test_a_post_that_loses_its_connection_is_not_sent_again(dropping: Dropping) -> None:
    dropping.body = {"reason": "manual"}
    async with PrismeClient(f"http://127.0.0.1:{dropping.port}", "at:x", env_name="dev") as api:
        with pytest.raises(E.NetworkError):
            await api.lock("ws1")
    assert dropping.requests == ["POST"]


async def test_poll_reads_until_found_and_gives_up_at_the_deadline() -> None:
    reads: list[int] = []

    async def third_time() -> str | None:
        reads.append(1)
        return "found" if len(reads) == 3 else None

    assert await retry.poll(third_time, first=0.001, factor=2, cap=0.01, seconds=5) == "found" and len(reads) == 3

    async def never() -> str | None:
        return None

    assert await retry.poll(never, first=0.001, factor=2, cap=0.01, seconds=0.05) is None


async def test_poll_does_not_swallow_an_error_of_the_read() -> None:
    async def broken() -> str | None:
        raise E.ServerError("events down")

    with pytest.raises(E.ServerError):
        await retry.poll(broken, first=0.001, factor=2, cap=0.01, seconds=5)
