"""The sandbox's clock. Real time, unless PRISME_SANDBOX_CLOCK=<ISO time> freezes it for reproducible
screenshots and snapshot tests: then each reading advances one second from that start (order is kept)."""

from __future__ import annotations

import itertools
import os
import threading
from datetime import UTC, datetime, timedelta

_lock = threading.Lock()
_ticks = itertools.count()
_skew = 0.0  # seconds this (simulated) server's clock is ahead of the machine's: Realism.clock_skew


def set_skew(seconds: float) -> None:
    """Process-wide: the sandboxes of one process share a clock, as the services of one instance do."""
    global _skew
    _skew = float(seconds)


def skew() -> float:
    return _skew


def frozen() -> bool:
    return bool(os.environ.get("PRISME_SANDBOX_CLOCK"))


def reset() -> None:
    global _ticks
    with _lock:
        _ticks = itertools.count()


def now() -> datetime:
    start = os.environ.get("PRISME_SANDBOX_CLOCK")
    if not start:
        return datetime.now(UTC) + timedelta(seconds=_skew)
    with _lock:
        tick = next(_ticks)
    return datetime.fromisoformat(start.replace("Z", "+00:00")) + timedelta(seconds=tick)


def now_iso() -> str:
    return now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
