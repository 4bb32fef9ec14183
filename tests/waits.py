"""Waiting in tests: until a condition holds, never for a fixed time (issue 27, item 7).

A fixed sleep is too short on a loaded machine (a flaky test) and too long everywhere else. These poll a
condition, return its first truthy answer, and fail with what was awaited when it never comes. A sleep that
IS the behaviour under test (a rate-limit window, a server that drips its answer) stays where it is, with a
comment saying so.

    found = await wait_until(pilot, lambda: "OK   Pull" in log_text(app), what="the pull's OK line")
    wait_until_sync(lambda: sock.exists(), what="dbus-daemon's socket")

``every`` is how often the condition is read; raise it where each read costs a request out of a budget.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

TIMEOUT = 30.0  # a guard against a hang, never a measure: a test waits for its condition, not for a time


def _timed_out(timeout: float, what: str, predicate: Callable[[], Any]) -> AssertionError:
    return AssertionError(f"timed out after {timeout:g} s waiting for {what or getattr(predicate, '__name__', '?')}")


async def wait_until(
    pilot: Any | None,
    predicate: Callable[[], Any],
    *,
    timeout: float = TIMEOUT,
    every: float = 0.05,
    what: str = "",
) -> Any:
    """Read ``predicate`` (a plain or an async callable) until it answers something truthy, and return that.

    With a Textual ``pilot``, the app processes its messages and timers between reads (pilot.pause);
    without one (None), the event loop runs its other tasks."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() >= deadline:
            raise _timed_out(timeout, what, predicate)
        if pilot is not None:
            await pilot.pause(every)
        else:
            await asyncio.sleep(every)


def wait_until_sync(
    predicate: Callable[[], Any], *, timeout: float = TIMEOUT, every: float = 0.05, what: str = ""
) -> Any:
    """The same outside an event loop: a subprocess, a server thread, a socket."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise _timed_out(timeout, what, predicate)
        time.sleep(every)
