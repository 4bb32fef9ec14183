"""The sandbox's clock. Real time, unless PRISME_SANDBOX_CLOCK=<ISO time> freezes it for reproducible
screenshots and snapshot tests: then each reading advances one second from that start (order is kept)."""

from __future__ import annotations

import itertools
import os
import threading
from datetime import UTC, datetime, timedelta

_lock = threading.Lock()
_ticks = itertools.count()


def frozen() -> bool:
    return bool(os.environ.get("PRISME_SANDBOX_CLOCK"))


def reset() -> None:
    global _ticks
    with _lock:
        _ticks = itertools.count()


def now() -> datetime:
    start = os.environ.get("PRISME_SANDBOX_CLOCK")
    if not start:
        return datetime.now(UTC)
    with _lock:
        tick = next(_ticks)
    return datetime.fromisoformat(start.replace("Z", "+00:00")) + timedelta(seconds=tick)


def now_iso() -> str:
    return now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
