"""The one retry helper (tenacity), for the two behaviours that are a retry:

- ``idempotent``: a GET whose connection failed or dropped (``httpx.ConnectError``,
  ``RemoteProtocolError``, ``ReadError``) is sent again, a few times with a short jittered backoff. Only
  a GET: a POST, PUT, PATCH or DELETE that lost its connection may have reached the service, and sending
  it again could do the work twice; it fails at once and says so.
- ``poll``: read again, with a growing pause, until the reading finds something or a deadline passes
  (events are searchable seconds late and cost from a small budget).

A 429 is not retried here: the gateway budget (``budget.py``, ``PrismeClient._send``) waits it out, counted
against the class it belongs to and bounded by the request's deadline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_exponential_jitter,
)

T = TypeVar("T")

IDEMPOTENT = frozenset({"GET"})
# Errors after which the request surely did not complete; a timeout is not one (the server may be working).
DROPPED = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError)
GET_ATTEMPTS = 3  # the first and two more: a dropped keep-alive connection, a server restarting
GET_FIRST_WAIT = 0.1
GET_MAX_WAIT = 1.0


async def idempotent(method: str, send: Callable[[], Awaitable[T]]) -> T:
    """``send()``, again after a dropped connection when ``method`` is idempotent (the caller bounds the
    whole by its deadline); the last error is raised as it was."""
    if method.upper() not in IDEMPOTENT:
        return await send()
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(DROPPED),
        stop=stop_after_attempt(GET_ATTEMPTS),
        wait=wait_exponential_jitter(multiplier=GET_FIRST_WAIT, max=GET_MAX_WAIT, jitter=GET_FIRST_WAIT),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await send()
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover


async def poll(
    read: Callable[[], Awaitable[T | None]],
    *,
    first: float,
    factor: float,
    cap: float,
    seconds: float,
    worth_it: Callable[[], bool] = lambda: True,
) -> T | None:
    """``read()`` until it returns something, pausing ``first``, then ``factor`` times longer up to ``cap``;
    None when ``seconds`` pass first (no read starts after the deadline) or when reading again is no
    longer ``worth_it()`` (a budget running low)."""
    retrying = AsyncRetrying(
        retry=retry_if_result(lambda found: found is None and worth_it()),
        stop=stop_before_delay(seconds),
        wait=wait_exponential(multiplier=first, exp_base=factor, max=cap),
        retry_error_callback=lambda _state: None,
    )
    found: T | None = None
    async for attempt in retrying:
        found = await read()  # an error of the read is not retried: it ends the poll as it is
        attempt.retry_state.set_result(found)  # what retry_if_result judges
    return found
