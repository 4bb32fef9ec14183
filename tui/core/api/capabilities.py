"""What one instance offers, learned from its own answers and remembered for the process.

A self-hosted Prisme.ai can be a generation older than the docs (the published 2024 services have no
``/v2/readiness``, no ``.../status``, no ``.../config``, refuse ``?timeout=`` on a pull), and a side
service (events) can be down on any generation. Nothing here is assumed from a version number: each
capability starts unknown and is settled by the first answer that tells (a 404 "Route not found" or
``RequestValidationError`` 404, a 405, a 400 "Unknown query parameter", a 5xx of the events service),
then the client and the use cases adapt and say what they adapted (``WITHOUT``).

Kept per instance (URL) and user (a hash of the token), like the request budget: every client of the
process for that environment shares what was learned.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from tui.core import errors as E

# name -> (what is probed, what the tool does without it). The README's "Platform versions" table and
# `info` / `status --json` read this one table.
CAPABILITIES: dict[str, tuple[str, str]] = {
    "readiness": (
        "GET /v2/readiness",
        "health from /v2/me and a workspace list, reported UP (no readiness endpoint); rollout gates skip readiness",
    ),
    "status": (
        "GET /v2/workspaces/{id}/status",
        "edits since the last import are UNKNOWN: dialogs and plans say so and treat them as lost",
    ),
    "config": (
        "GET /v2/workspaces/{id}/config",
        "config keys are read from the workspace document (config.value) instead",
    ),
    "platform_repositories": (
        "platformRepositories on the platform workspace",
        "push, pull and history use the workspace's own repositories (its repositories field)",
    ),
    "groups": (
        "groups on platform repositories",
        "only the configured [groups] (labels) are known; bulk push and import need server groups",
    ),
    "bulk_push": (
        "POST /v2/workspaces/platform/versions",
        "push workspaces one by one",
    ),
    "bulk_import": (
        "POST /v2/workspaces/platform/versions/latest/pull",
        "pull workspaces one by one",
    ),
    "write_lock": (
        "POST/DELETE /v2/workspaces/{id}/writeLock",
        "no manual lock or unlock; busy workspaces are seen from their state only",
    ),
    "pull_timeout": (
        "?timeout= on pulls, pushes and bulk imports",
        "sent without it (found by a GET that costs no import slot, or by a refused pull, which used one and is "
        "sent again once), then followed by the workspace's state",
    ),
    "pull_discard": (
        "discardLocalChanges in a pull's body",
        "sent without it: that generation has no local-changes commit, a pull always replaces the content",
    ),
    "import_prune": (
        "?prune= honoured on archive imports (objects the archive lacks are removed)",
        "an import merges: a restore or promotion by archive that leaves objects the archive lacks is a failure, "
        "naming them (delete them by hand, or roll back by version)",
    ),
    "events": (
        "GET /v2/workspaces/{id}/events",
        "operations are verified from the workspace's state; progress steps, +/- per version and "
        "per-file import reports cannot be read (said in each outcome)",
    ),
    "events_search": (
        "POST /v2/workspaces/{id}/search",
        "events are read with GET .../events",
    ),
    "webhooks": (
        "POST /v2/workspaces/{id}/webhooks/{automation}",
        "the ledger is kept in the platform repository (.prisme-deploy/ledger/): identity claimed through /v2/me, "
        "not stamped by the platform",
    ),
    "secrets": (
        "GET /v2/workspaces/{id}/security/secrets",
        "secret names cannot be compared: parity reports them unknown",
    ),
}

# A side service (events) can come back during a long session: after this long it is tried again.
RETRY_SIDE_SERVICE = 60.0
SIDE_SERVICES = ("events", "events_search")

_ROUTE_MISSING = re.compile(r"route not found|cannot (get|post|put|patch|delete) /|no route", re.IGNORECASE)


@dataclass(frozen=True)
class Known:
    """One capability as learned: offered (True), not offered (False) or not known yet (None)."""

    name: str
    offered: bool | None
    evidence: str = ""  # what the server answered, in a few words (never a body)
    at: float = 0.0  # time.monotonic() when learned

    @property
    def probe(self) -> str:
        return CAPABILITIES[self.name][0]

    @property
    def without(self) -> str:
        return CAPABILITIES[self.name][1]

    @property
    def label(self) -> str:
        return {True: "yes", False: "no", None: "unknown"}[self.offered]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"offered": self.offered, "probe": self.probe}
        if self.evidence:
            data["evidence"] = self.evidence
        if self.offered is not True:  # unknown is never safe: say what follows as for "no"
            data["whatFollows"] = self.without
        return data


def route_missing(exc: BaseException) -> bool:
    """The instance has no such route (an older generation), as opposed to an object that is not there:
    the gateway's ``NotFoundError`` "Route not found", the service's ``RequestValidationError`` 404, a 405
    or a 501. ``ObjectNotFoundError`` (an unknown workspace or version) is not a missing route."""
    if not isinstance(exc, E.PrismeError) or exc.status not in (404, 405, 501):
        return False
    if exc.status in (405, 501):
        return True
    cls = exc.error_class or ""
    if cls == "ObjectNotFoundError":
        return False
    return cls in ("NotFoundError", "RequestValidationError") or bool(_ROUTE_MISSING.search(exc.message))


def parameter_refused(exc: BaseException, name: str) -> bool:
    """A 400 "Unknown query parameter '<name>'" (the 2024 request validation)."""
    if not isinstance(exc, E.PrismeError) or exc.status != 400:
        return False
    text = exc.message.lower()
    return "unknown query parameter" in text and name.lower() in text


def body_field_refused(exc: BaseException, name: str) -> bool:
    """A 400 that refuses a body property (2024: "should NOT have additional properties" at ``.body.<name>``)."""
    if not isinstance(exc, E.PrismeError) or exc.status != 400:
        return False
    details = json.dumps(exc.details, default=str) if exc.details is not None else ""
    return name in details or ("additional properties" in exc.message.lower() and name in exc.message)


def service_down(exc: BaseException) -> bool:
    """A 5xx (the events service down answers 500 ``Internal`` through the gateway)."""
    return isinstance(exc, E.PrismeError) and exc.status is not None and exc.status >= 500


class Capabilities:
    """What one instance (for one user) offers, as learned so far."""

    def __init__(self, env: str = "") -> None:
        self.env = env
        self._known: dict[str, Known] = {}
        self._lock = threading.Lock()

    def offered(self, name: str) -> bool | None:
        known = self._known.get(name)
        return known.offered if known else None

    def missing(self, name: str) -> bool:
        """Known NOT to be offered (unknown is not missing: it is tried). A side service found down is
        tried again after RETRY_SIDE_SERVICE seconds."""
        known = self._known.get(name)
        if known is None or known.offered is not False:
            return False
        return not (name in SIDE_SERVICES and time.monotonic() - known.at > RETRY_SIDE_SERVICE)

    def learn(self, name: str, offered: bool, evidence: str = "") -> None:
        if name not in CAPABILITIES:
            raise KeyError(name)
        with self._lock:
            old = self._known.get(name)
            # A route that answered once exists: a later 5xx is the service, not the route. Events are
            # the exception: a side service can go down (and come back) during the process.
            if old is not None and old.offered and not offered and name not in SIDE_SERVICES:
                return
            self._known[name] = Known(name, offered, evidence[:200], time.monotonic())

    def learn_from(self, name: str, exc: BaseException) -> bool:
        """Record what an error says about ``name``; True when it says the capability is missing."""
        status = getattr(exc, "status", None)
        if route_missing(exc):
            server_class = re.sub(r"[^A-Za-z0-9]", "", getattr(exc, "error_class", None) or "")[:40]
            self.learn(name, False, f"HTTP {status} {server_class}".strip())
            return True
        if name in SIDE_SERVICES and service_down(exc):
            self.learn(name, False, f"HTTP {status}: the events service is not answering")
            return True
        return False

    def get(self, name: str) -> Known:
        return self._known.get(name) or Known(name, None)

    def all(self) -> list[Known]:
        return [self.get(name) for name in CAPABILITIES]

    def adapted(self) -> list[str]:
        """One line per capability known to be missing: what the tool does instead."""
        return [f"no {k.name.replace('_', ' ')}: {k.without}" for k in self.all() if k.offered is False]

    def to_json(self) -> dict[str, Any]:
        return {k.name: k.to_json() for k in self.all()}


_REGISTRY: dict[tuple[str, str], Capabilities] = {}
_REGISTRY_LOCK = threading.Lock()


def capabilities_for(base_url: str, token: str, env: str = "") -> Capabilities:
    """The process-wide capabilities of one instance as one user sees them (the token is never a key)."""
    user = hashlib.sha256(token.encode()).hexdigest()[:16]
    with _REGISTRY_LOCK:
        found = _REGISTRY.get((base_url, user))
        if found is None:
            found = _REGISTRY[(base_url, user)] = Capabilities(env)
        return found


def forget_all() -> None:
    """Learned again from each instance: the app's refresh (an instance may have changed), tests (a later
    sandbox may reuse a port and a token)."""
    with _REGISTRY_LOCK:
        _REGISTRY.clear()
