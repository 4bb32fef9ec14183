"""How strict the sandbox is: by default as strict as a real Prisme.ai behind its own api-gateway.

Each knob reproduces one published behaviour of the platform (gateway rate limits and proxy timeout,
the events service's late indexing, the workspaces service's import rewrites and tag naming) and can
be turned off on its own, or all at once with ``Realism.off()`` for fast unit tests.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# Gateway rateLimit policies, per user: "searchEvents" and "importWorkspace" (and workspace creation).
# The 2026 docs add 30 a minute per user on POST .../test/{automation} (smoke tests).
DEFAULT_LIMITS = {"events": 20, "imports": 3, "create": 3, "test": 30}
TAG_LAYOUTS = ("slug", "plain")
# "2026": the newest API (readiness, status, config, platform repositories, bulk operations, write locks,
# ?timeout=). "2024": the platform's last published server, which had none of those (api-contract.md,
# "The published server, measured").
API_LEVELS = ("2026", "2024")
DEMO_TRAFFIC = 120.0  # executions a minute per workspace in the demo: its prod stage's error gate reads them

_LIMITED: list[tuple[str, re.Pattern[str], frozenset[str]]] = [
    ("events", re.compile(r"^/v2/workspaces/[^/]+/(events|search|usage)/?$"), frozenset({"GET", "POST"})),
    ("imports", re.compile(r"^/v2/workspaces/import/?$"), frozenset({"POST"})),
    ("imports", re.compile(r"^/v2/workspaces/[^/]+/import/?$"), frozenset({"POST"})),
    ("imports", re.compile(r"^/v2/workspaces/[^/]+/versions/[^/]+/(pull|duplicate)/?$"), frozenset({"POST"})),
    ("create", re.compile(r"^/v2/workspaces/?$"), frozenset({"POST"})),
    ("test", re.compile(r"^/v2/workspaces/[^/]+/test/[^/]+/?$"), frozenset({"POST"})),
]


@dataclass
class Realism:
    # Events service: buffer flushed every 1 s (2026 config; 5 s in 2024), then an Elasticsearch refresh (~1 s).
    # 2 s sits inside the observed 1-5 s: any client that reads right after an operation misses its event.
    event_lag: float = 2.0
    rate_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))  # per user and minute; 0 = off
    rate_window: float = 60.0
    gateway_timeout: float | None = 20.0  # the proxy's 408 after this much silence; None = never
    timeout_cap: float = 15.0  # the workspaces service caps ?timeout below the gateway's timeout
    import_suffix: bool = True  # " (IMPORT)" description suffix, customDomains emptied, labels merged
    tag_layout: str = "slug"  # "slug": <slug>/<version>; "plain": <version> (the 2024 code)
    dirty_after_pull: bool = True  # docs: dirty on any content update, a pull included; only a push clears it
    # The platform's other answers (api-contract.md, "Where the sandbox was kinder"). Each defaults to the
    # sandbox's earlier, kinder answer, so that a test states which one it exercises; ``strict()`` sets them all.
    last_pull_listed: bool = True  # False: list items carry no lastPull (no 2026 source promises it)
    secrets_owner_only: bool = False  # True: GET .../security/secrets answers {} to a caller not owner/super admin
    slug_conflict_applies_index: bool = False  # True: a SlugAlreadyInUse pull applies the index, keeping the slug
    bulk_import_clears_locks: bool = True  # False: a bulk import over a write-locked workspace is its error
    suffix_empty_description: bool = False  # True: an import of no description writes " (IMPORT)"
    clock_skew: float = 0.0  # seconds the server's clock (Date header, event times) is ahead of ours
    api_level: str = "2026"  # which generation of the API answers (API_LEVELS); not a strictness knob: off() keeps it
    events_down: bool = False  # the events service is down: its routes answer the gateway's 500 (any level)
    # Users hitting every workspace: executions a minute (runtime.automations.executed events, generated
    # when searched; tui/sandbox/traffic.py). 0: none, the earlier sandbox, whose searches list no executions.
    traffic_per_minute: float = 0.0
    traffic_seed: int = 0  # the same seed, the same executions and failures

    def __post_init__(self) -> None:
        self.api_level = str(self.api_level)  # {"api_level": 2024} over HTTP means "2024"

    @classmethod
    def off(cls) -> Realism:
        """The kind sandbox: no lag, no limits, no 408, no index rewrite (documented defaults stay)."""
        return cls(event_lag=0.0, rate_limits={}, gateway_timeout=None, import_suffix=False)

    @classmethod
    def strict(cls) -> Realism:
        """Every other answer a real instance may give (the default limits, lag and rewrites included)."""
        return cls(
            last_pull_listed=False,
            secrets_owner_only=True,
            slug_conflict_applies_index=True,
            bulk_import_clears_locks=False,
            suffix_empty_description=True,
        )

    def update(self, data: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        for key in data:
            if key not in known:
                raise ValueError(f"unknown realism setting {key!r}; known: {', '.join(sorted(known))}")
        merged = Realism(**{**asdict(self), **data})
        merged.validate()
        for key in data:
            setattr(self, key, getattr(merged, key))

    def validate(self) -> None:
        if self.tag_layout not in TAG_LAYOUTS:
            raise ValueError(f"tag_layout must be one of {', '.join(TAG_LAYOUTS)}, not {self.tag_layout!r}")
        if self.api_level not in API_LEVELS:
            raise ValueError(f"api_level must be one of {', '.join(API_LEVELS)}, not {self.api_level!r}")
        if not isinstance(self.events_down, bool):
            raise ValueError("events_down must be true or false")
        if not 0 <= self.traffic_per_minute <= 6000:
            raise ValueError("traffic_per_minute must be from 0 to 6000")
        if self.event_lag < 0 or self.rate_window <= 0 or self.timeout_cap <= 0:
            raise ValueError("event_lag must be >= 0, rate_window and timeout_cap > 0")
        if self.gateway_timeout is not None and self.gateway_timeout <= 0:
            raise ValueError("gateway_timeout must be > 0 (or null for never)")
        unknown = set(self.rate_limits) - set(DEFAULT_LIMITS)
        if unknown:
            raise ValueError(f"unknown rate-limit class {sorted(unknown)[0]!r}; known: {', '.join(DEFAULT_LIMITS)}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def legacy(self) -> bool:
        """True when answering as the published 2024 server."""
        return self.api_level == "2024"


def limit_class(method: str, path: str) -> str | None:
    """Which gateway rate-limit policy a request falls under, if any."""
    for name, pattern, methods in _LIMITED:
        if method in methods and pattern.match(path):
            return name
    return None


@dataclass
class Verdict:
    accepted: bool
    limit: int
    remaining: int
    reset_at: float  # wall-clock epoch seconds at the end of the window
    retry_after: float  # seconds until the window resets

    def headers(self) -> dict[str, str]:
        """What the gateway adds to an accepted request (never to the 429 itself)."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(-(-self.reset_at // 1))),
            "Retry-After": str(int(-(-self.retry_after // 1))),
        }

    def body(self) -> dict[str, Any]:
        return {
            "error": "TooManyRequests",
            "message": "Too many requests",
            "details": {"retryAfter": round(self.retry_after, 3)},
        }


class RateLimiter:
    """Fixed windows keyed by (user, policy): the window opens at the user's first request of that policy."""

    def __init__(self, realism: Realism) -> None:
        self.realism = realism
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def check(self, user: str, policy: str) -> Verdict | None:
        limit = self.realism.rate_limits.get(policy, 0)
        if limit <= 0:
            return None
        window = self.realism.rate_window
        now = time.monotonic()
        with self._lock:
            start, count = self._windows.get((user, policy), (now, 0))
            if now >= start + window:
                start, count = now, 0
            retry_after = start + window - now
            reset_at = time.time() + retry_after
            if count >= limit:
                return Verdict(False, limit, 0, reset_at, retry_after)
            self._windows[(user, policy)] = (start, count + 1)
            return Verdict(True, limit, limit - count - 1, reset_at, retry_after)


def parse_rate_limits(text: str) -> dict[str, int]:
    """``events=20,imports=3`` (classes not named keep their default); ``off`` disables them all."""
    if text.strip().lower() in ("off", "none", "0"):
        return {}
    limits = dict(DEFAULT_LIMITS)
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in DEFAULT_LIMITS:
            classes = ", ".join(DEFAULT_LIMITS)
            raise ValueError(f"--rate-limits takes CLASS=N pairs with CLASS in {classes}; got {item!r}")
        try:
            limits[key] = int(value)
        except ValueError:
            raise ValueError(f"--rate-limits: {key} needs a whole number, got {value!r}") from None
        if limits[key] < 0:
            raise ValueError(f"--rate-limits: {key} cannot be negative")
    return limits
