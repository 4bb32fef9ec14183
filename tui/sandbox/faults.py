"""Faults on demand, for tests and rehearsals: set with ``--fault`` or ``POST /sandbox/faults``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Faults:
    latency_ms: int = 0
    push_fail: list[str] = field(default_factory=list)  # slugs whose push fails
    import_fail: dict[str, str] = field(default_factory=dict)  # slug -> server error class
    sse_drop_after: int | None = None  # close the bulk-push stream after N events
    error_5xx: dict[str, int] = field(default_factory=dict)  # path prefix -> status
    stuck_lock: list[str] = field(default_factory=list)  # slugs locked with a lock that never clears
    processing_after: float | None = None  # answer {processing: true} after N seconds on single ops
    push_delay_ms: int = 0  # each git push takes this much longer (a slow remote)
    pull_delay_ms: int = 0  # each pull / import takes this much longer (to meet the gateway's 408)
    html_200: list[str] = field(default_factory=list)  # path prefixes answered by an HTML page (a proxy login)
    git_auth_fail: list[str] = field(default_factory=list)  # repository ids whose git credentials are refused
    smoke_fail: list[str] = field(default_factory=list)  # "slug" or "slug/automation": its test run fails
    # slug -> fraction of its automations' executions that fail while the content its next import brings
    # runs (again after a rollback and a second import of it), until cleared (tui/sandbox/traffic.py)
    error_rate: dict[str, float] = field(default_factory=dict)

    def update(self, data: dict[str, Any]) -> None:
        """All or nothing: every value is checked before any is set, so a wrongly typed fault is a 400
        and never a state in which every route answers 500."""
        checked = {key: _check(key, value) for key, value in data.items()}
        for key, value in checked.items():
            setattr(self, key, value)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_NUMBERS = {
    "latency_ms": int,
    "push_delay_ms": int,
    "pull_delay_ms": int,
    "sse_drop_after": int,
    "processing_after": float,
}
# The largest value of each number: a fault slows the sandbox, it never makes it unusable until restart.
_MAXIMA = {
    "latency_ms": 60_000,
    "push_delay_ms": 600_000,
    "pull_delay_ms": 600_000,
    "sse_drop_after": 1_000_000,
    "processing_after": 3_600,
}
_LISTS = ("push_fail", "stuck_lock", "html_200", "git_auth_fail", "smoke_fail")
_MAPS: dict[str, type | tuple[type, ...]] = {"import_fail": str, "error_5xx": int, "error_rate": (int, float)}


def _check(key: str, value: Any) -> Any:
    """The value of fault ``key`` if it has the right type and range, else a ValueError saying why."""
    if key in _NUMBERS:
        if value is None and key in ("sse_drop_after", "processing_after"):
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != value:
            raise ValueError(f"fault {key!r} must be a number of at least 0, not {value!r}")
        if value > _MAXIMA[key]:
            raise ValueError(f"fault {key!r} must be at most {_MAXIMA[key]}, not {value!r}")
        if _NUMBERS[key] is int and value != int(value):
            raise ValueError(f"fault {key!r} must be a whole number, not {value!r}")
        return _NUMBERS[key](value)
    if key in _LISTS:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"fault {key!r} must be a list of strings, not {value!r}")
        return list(value)
    if key in _MAPS:
        kind = _MAPS[key]
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, kind) and not isinstance(v, bool) for k, v in value.items()
        ):
            raise ValueError(f"fault {key!r} must map strings to {_noun(kind)}, not {value!r}")
        if key == "error_5xx" and not all(400 <= v <= 599 for v in value.values()):
            raise ValueError(f"fault {key!r} statuses must be from 400 to 599, not {value!r}")
        if key == "error_rate":
            if not all(0 <= v <= 1 for v in value.values()):
                raise ValueError(f"fault {key!r} fractions must be from 0 to 1, not {value!r}")
            return {k: float(v) for k, v in value.items()}
        return dict(value)
    raise ValueError(f"unknown fault {key!r}; known: {', '.join(asdict(Faults()))}")


def _noun(kind: type | tuple[type, ...]) -> str:
    return "numbers" if isinstance(kind, tuple) else f"{kind.__name__}s"


def parse_fault(text: str) -> dict[str, Any]:
    """Parse ``--fault``: ``push_fail=a,b``, ``latency_ms=200``, ``error_5xx=/v2/workspaces:503``,
    ``import_fail=a:SlugAlreadyInUse``, ``error_rate=knowledge-base:0.5``."""
    key, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"--fault takes KEY=VALUE, got {text!r}")
    key = key.strip()
    if key in ("latency_ms", "sse_drop_after", "push_delay_ms", "pull_delay_ms"):
        return {key: int(value)}
    if key == "processing_after":
        return {key: float(value)}
    if key in _LISTS:
        return {key: [v for v in value.split(",") if v]}
    if key == "error_rate":
        rates: dict[str, Any] = {}
        for item in value.split(","):
            name, _, fraction = item.rpartition(":")
            if not name:
                raise ValueError(f"--fault error_rate takes SLUG:FRACTION (0 to 1), got {item!r}")
            rates[name] = float(fraction)
        return {key: rates}
    if key in ("import_fail", "error_5xx"):
        pairs: dict[str, Any] = {}
        for item in value.split(","):
            name, _, extra = item.rpartition(":")
            if not name:
                name, extra = extra, ("SlugAlreadyInUse" if key == "import_fail" else "500")
            pairs[name] = int(extra) if key == "error_5xx" else extra
        return {key: pairs}
    raise ValueError(f"unknown fault {key!r}")
