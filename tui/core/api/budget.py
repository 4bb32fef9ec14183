"""One request budget per environment and user, shared by everything the process does.

The Prisme.ai gateway limits each user over a fixed 60 s window: 20 per minute on event search
(``/events``, ``/search``, ``/usage``), 3 per minute on import-class calls (archive imports, pulls
and rollbacks, the bulk import, duplicates) and on workspace creation. A refused request gets
``429 {"error": "TooManyRequests", "details": {"retryAfter": s}}``.

The budget keeps, per class, the send times of the last minute (a sliding log): at most N sends in
any 60 s interval means at most N in any fixed window the gateway may use, whatever its phase. A
caller that would exceed it waits until a slot frees (no fixed sleeps: imports are paced exactly as
fast as the limit allows). Headers the gateway sets on accepted requests (``X-RateLimit-*``) and a
429's ``retryAfter`` correct the budget when the server knows better (another process of the same
user, a lower limit, a shorter window: the request that opens a window tells its length). Optional
reads (progress polling) ask ``room()`` first and skip a turn rather than spend what an essential
read needs.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from tui.core import errors as E

WINDOW = 60.0
# The gateway counts a request when it arrives, we count it when we send it: a little slack keeps
# two requests sent 60 s apart from landing in one window.
MARGIN = 1.0
LIMITS: dict[str, int] = {"events": 20, "imports": 3, "create": 3}
NOUNS = {"events": "event searches", "imports": "imports", "create": "workspace creations"}
NOTIFY_FROM = 1.0  # waits shorter than this are not worth a line
# A 429 without a usable retryAfter: exponential backoff from BACKOFF_BASE, capped at BACKOFF_CAP (the
# gateway's window: no limit of the gateway needs a longer wait), with jitter so that parallel jobs of
# one user do not come back in step.
BACKOFF_BASE = 1.0
BACKOFF_CAP = WINDOW
MAX_BLOCK = 3600.0  # the longest an X-RateLimit-Reset may block a class of requests

_EVENTS = re.compile(r"^/v2/workspaces/[^/]+/(events|search|usage)$")
_IMPORTS = re.compile(
    r"^/v2/workspaces/(import|[^/]+/import|[^/]+/versions/[^/]+/pull|[^/]+/versions/[^/]+/duplicate)$"
)


def request_class(method: str, path: str) -> str | None:
    """Which gateway limit a request counts against (None: no per-minute limit)."""
    path = path.split("?", 1)[0].rstrip("/") or "/"
    method = method.upper()
    if method in ("GET", "POST") and _EVENTS.match(path):
        return "events"
    if method == "POST" and _IMPORTS.match(path):
        return "imports"
    if method == "POST" and path == "/v2/workspaces":
        return "create"
    return None


@dataclass(frozen=True)
class Wait:
    """A wait in progress, reported about once a second (``first`` on the first report)."""

    env: str
    kind: str
    seconds: float
    refused: bool  # True: the gateway answered 429; False: we pace ourselves to stay inside the limit
    limit: int
    first: bool
    window: float = WINDOW  # seconds: the gateway's window for this class

    @property
    def text(self) -> str:
        left = max(1, math.ceil(min(self.seconds, 1e12)))  # a number from a server: never inf here
        if self.refused:
            return f"rate limited by the gateway: retrying in {left} s"
        noun = NOUNS.get(self.kind, self.kind)
        per = "per minute" if self.window == WINDOW else f"per {self.window:g} s"
        return f"staying within the gateway's limit of {self.limit} {noun} {per}: next in {left} s"


OnWait = Callable[[Wait], object]


class RequestBudget:
    def __init__(self, env: str = "", limits: dict[str, int] | None = None, window: float = WINDOW) -> None:
        self.env = env
        self.limits = dict(LIMITS if limits is None else limits)
        self.window = window
        self.windows: dict[str, float] = {}  # a class's window as the gateway's headers told it (else ``window``)
        self._sent: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}  # a 429's retryAfter, or X-RateLimit-Remaining 0
        self._refused_until: dict[str, float] = {}  # a 429's only: the wait then reads "rate limited"
        self._lock = threading.Lock()  # the app reads it from its loop and from threads

    # ------------------------------------------------------------------ bookkeeping
    def _window(self, kind: str) -> float:
        return self.windows.get(kind, self.window)

    def _log(self, kind: str) -> deque[float]:
        log = self._sent.setdefault(kind, deque())
        horizon = time.monotonic() - self._window(kind) - MARGIN
        while log and log[0] <= horizon:
            log.popleft()
        return log

    def delay(self, kind: str) -> float:
        """Seconds until one more request of this class may go (0: now)."""
        with self._lock:
            now = time.monotonic()
            blocked = max(0.0, self._blocked_until.get(kind, 0.0) - now)
            limit = self.limits.get(kind)
            if limit is None:
                return blocked
            log = self._log(kind)
            if len(log) < limit:
                return blocked
            frees_at = log[len(log) - limit] + self._window(kind) + MARGIN
            return max(blocked, frees_at - now)

    def room(self, kind: str) -> int:
        """Requests of this class that could go right now."""
        with self._lock:
            if self._blocked_until.get(kind, 0.0) > time.monotonic():
                return 0
            limit = self.limits.get(kind)
            return 1_000_000 if limit is None else max(0, limit - len(self._log(kind)))

    def refused_now(self, kind: str) -> bool:
        return self._refused_until.get(kind, 0.0) > time.monotonic()

    def _take(self, kind: str) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._blocked_until.get(kind, 0.0) > now:
                return False
            limit = self.limits.get(kind)
            log = self._log(kind)
            if limit is not None and len(log) >= limit:
                return False
            log.append(now)
            return True

    # ------------------------------------------------------------------ what the gateway says
    def refused(self, kind: str, retry_after: float) -> None:
        """A 429: nothing of this class goes before ``retry_after`` seconds (finite: callers check it
        against their deadline first)."""
        if not math.isfinite(retry_after):
            raise ValueError(f"retry_after must be finite, not {retry_after!r}")
        with self._lock:
            until = time.monotonic() + max(0.0, retry_after)
            self._blocked_until[kind] = max(self._blocked_until.get(kind, 0.0), until)
            self._refused_until[kind] = until

    def observe(self, kind: str, headers: dict[str, str]) -> None:
        """``X-RateLimit-Limit/Remaining/Reset`` of an accepted request (another process may share the user)."""
        limit = _number(headers.get("x-ratelimit-limit"))
        remaining = _number(headers.get("x-ratelimit-remaining"))
        reset = _number(headers.get("x-ratelimit-reset"))
        with self._lock:
            if limit is not None and limit >= 1 and limit < self.limits.get(kind, math.inf):
                self.limits[kind] = int(limit)
            if limit is not None and remaining is not None and reset is not None and remaining == limit - 1:
                # This request opened the gateway's window: its reset is the window's length (rounded up
                # to the second by the header, so never shorter). A shorter window frees slots sooner.
                length = math.ceil(_reset_seconds(reset))
                if 0 < length < self.window:
                    self.windows[kind] = float(length)
            if remaining is not None and remaining <= 0 and reset is not None:
                seconds = _reset_seconds(reset)
                if 0 < seconds < math.inf:  # acquire() refuses a block that outlasts the request's deadline
                    # A reset an hour away is no 60 s window's: held at MAX_BLOCK so a long-running app
                    # recovers from one bad header.
                    until = time.monotonic() + min(seconds, MAX_BLOCK)
                    self._blocked_until[kind] = max(self._blocked_until.get(kind, 0.0), until)

    # ------------------------------------------------------------------ waiting
    async def acquire(
        self, kind: str, on_wait: OnWait | None = None, *, take: bool = True, until: float | None = None
    ) -> None:
        """Wait (reporting it) until a request of this class may go, and count it (unless ``take`` is False).

        ``until`` (a ``time.monotonic()`` instant, the request's deadline): when the gateway's own word
        (a 429's retryAfter, a reset) blocks this class past it, refuse now rather than wait for hours.
        Our own pacing never exceeds the window and is not refused."""
        first = True
        while not (self._take(kind) if take else self.delay(kind) <= 0):
            self.check_until(kind, until)
            left = self.delay(kind)
            if left >= NOTIFY_FROM and on_wait is not None:
                wait = Wait(
                    self.env,
                    kind,
                    left,
                    self.refused_now(kind),
                    self.limits.get(kind, 0),
                    first,
                    self.windows.get(kind, WINDOW),
                )
                on_wait(wait)
                first = False
            await paced_sleep(min(1.0, max(left, 0.01)))

    def check_until(self, kind: str, until: float | None) -> None:
        """Refuse (RateLimited, exit 4) when the gateway blocks this class past ``until``."""
        blocked = self._blocked_until.get(kind, 0.0)
        if until is None or blocked <= until:
            return
        raise too_long(self.env, blocked - time.monotonic(), until - time.monotonic())


@dataclass
class Waited:
    """Seconds spent waiting for the gateway's limits (our pacing, a 429's retryAfter) while counted."""

    seconds: float = 0.0


# The tally of the operation being timed (a drill's leg): a context variable, so that only this task's
# waits (and its children's) count, not another job's on the same shared budget.
_WAITED: ContextVar[Waited | None] = ContextVar("waited", default=None)


@contextmanager
def waits_counted() -> Iterator[Waited]:
    """Count the rate-limit waits inside the block: a timed operation reports them apart from its own time."""
    tally = Waited()
    token = _WAITED.set(tally)
    try:
        yield tally
    finally:
        _WAITED.reset(token)


async def paced_sleep(seconds: float) -> None:
    """A rate-limit wait: slept, and added to the tally of the operation being timed, if any."""
    start = time.monotonic()
    try:
        await asyncio.sleep(seconds)
    finally:
        if (tally := _WAITED.get()) is not None:
            tally.seconds += time.monotonic() - start


def too_long(env: str, seconds: float, deadline: float) -> E.RateLimited:
    """The error of a gateway wait that no deadline allows (an endless or absurd retryAfter or reset)."""
    asked = "indefinitely" if not math.isfinite(seconds) else f"{seconds:,.0f} s"
    return E.RateLimited(
        f"{env}: the gateway asks to wait {asked} before the next request, longer than this request's "
        f"deadline ({max(0.0, deadline):,.0f} s left): not waiting.",
        hint="Another job of the same user may be spending the limit, or the gateway sent a bad value; "
        "retry later, or raise this environment's deadline if the wait is real.",
    )


def backoff(attempt: int) -> float:
    """The wait after the ``attempt``-th (from 0) 429 that gave no retryAfter: exponential, capped,
    with "equal jitter" (half fixed, half random: never zero, so a burst does back off)."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(attempt, 16))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _number(text: str | None) -> float | None:
    """A header's number, or its date (``X-RateLimit-Reset`` as the 2024 gateway sends it) as epoch
    seconds; None when neither, or not finite (``inf``, ``nan``: never a usable count or time)."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return parse_http_time(text)
    return value if math.isfinite(value) else None


_JS_DATE = re.compile(r"^\w{3} (\w{3}) (\d{1,2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT([+-]\d{4})")


def parse_http_time(text: str) -> float | None:
    """Epoch seconds of an HTTP date (``Sun, 06 Dec 2026 23:10:00 GMT``), a JavaScript
    ``Date.toString()`` (``Sun Dec 06 2026 23:10:00 GMT+0000 (Coordinated Universal Time)``: what Node
    writes for a Date header value) or an ISO 8601 time; None for anything else."""
    text = text.strip()[:200]
    match = _JS_DATE.match(text)
    if match:
        month, day, year, hh, mm, ss, zone = match.groups()
        try:
            moment = datetime.strptime(f"{day} {month} {year} {hh}:{mm}:{ss} {zone}", "%d %b %Y %H:%M:%S %z")
        except ValueError:
            return None
        return moment.timestamp()
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _reset_seconds(reset: float) -> float:
    """``X-RateLimit-Reset`` as seconds from now: epoch milliseconds, epoch seconds (a date header is
    read as these), or a delay."""
    if reset > 1e12:
        return reset / 1000 - time.time()
    if reset > 1e9:
        return reset - time.time()
    return reset


_BUDGETS: dict[tuple[str, str], RequestBudget] = {}
_REGISTRY_LOCK = threading.Lock()


def user_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]  # the token itself is never kept as a key


def budget_for(base_url: str, token: str, env: str = "") -> RequestBudget:
    """The process-wide budget of one user (token) on one instance (URL)."""
    user = user_key(token)
    with _REGISTRY_LOCK:
        budget = _BUDGETS.get((base_url, user))
        if budget is None:
            budget = _BUDGETS[(base_url, user)] = RequestBudget(env)
        return budget
