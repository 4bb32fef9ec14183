"""What every scenario module shares: the figure type, the sandbox token, the interpreter, the median, and
the environment a measured child runs in. (``scenarios`` imports the scenario modules, so they cannot
import these from it.)"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

Yield = Iterator[tuple[str, float, dict[str, Any]]]
TOKEN = "at:bench-token-0123456789"
PY = sys.executable


def median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, **(extra or {})}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure what users run: compiled modules, not compiling
    return env
