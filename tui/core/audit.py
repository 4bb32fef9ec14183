"""The audit journal: one JSON line per mutating action, in the user data folder. Never a token."""

from __future__ import annotations

import getpass
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic
from typing import Any

from tui.core.jsonshape import Exported, Shape
from tui.core.secrets import redact

# The correlation ids of the changing requests (not GET) made while an entry is open: the platform's logs
# and events carry them, so the ledger can point at them (issue 28). Set by ``record``, told by the client.
_CORRELATIONS: ContextVar[list[str] | None] = ContextVar("prisme_deploy_correlations", default=None)
MAX_CORRELATIONS = 50


def note_correlation(correlation_id: str | None) -> None:
    found = _CORRELATIONS.get()
    if found is not None and correlation_id and len(found) < MAX_CORRELATIONS and correlation_id not in found:
        found.append(correlation_id)


ACTIONS = ("push", "pull", "rollback", "bulk-push", "bulk-import", "import", "unlock", "promote", "restore", "config")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid())


CLAIMED = "claimed, not stamped"


@dataclass(frozen=True)
class Who:
    """Who made a change, as far as it can be known: the platform's user where /v2/me answered for the token,
    else the host login, said to be claimed (anyone can be any login on their own machine)."""

    name: str  # what is shown: "Alice (u-1)", or the host login
    host_user: str  # the OS login, kept beside the platform user ("from host login bob")
    identity: str  # how it is known: "platform user (GET /v2/me on staging)" or "claimed, not stamped: ..."
    user_id: str | None = None  # the platform's id; None: the platform did not name anyone

    @property
    def claimed(self) -> bool:
        return self.user_id is None


def host_who(why: str) -> Who:
    """The host login, claimed: ``why`` says why no platform user was read."""
    login = _os_user()
    return Who(login, login, f"{CLAIMED}: host login ({why})")


def platform_who(user_id: str, name: str, where: str) -> Who:
    shown = name if name == user_id else f"{name} ({user_id})"
    return Who(shown, _os_user(), f"platform user ({where})", user_id)


def who_words(name: str, identity: str | None, host_user: str | None) -> str:
    """ "Alice (u-1) (platform user (GET /v2/me on staging), from host login bob)"; a record that does not say
    how its name is known is claimed (unknown is never the stronger claim)."""
    how = identity or CLAIMED
    host = f", from host login {host_user}" if host_user and host_user != name else ""
    return f"{name} ({how}{host})"


@dataclass
class AuditEntry(Exported):
    """One journal row; its JSON (`audit --json`, the journal file) is its fields, breakGlass only when set."""

    JSON = Shape(omit_none=("break_glass", "ledger", "identity", "host_user"))
    action: str
    env: str
    url: str = ""
    targets: list[str] = field(default_factory=list)
    version: str | None = None
    outcome: str = "started"  # ok | failed | cancelled | started
    correlation_ids: list[str] = field(default_factory=list)
    duration_ms: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    time: str = ""
    user: str = ""
    reason: str | None = None
    break_glass: str | None = None  # set when the change ran in a freeze window: the operator's reason
    ledger: str | None = None  # what became of its copy in the platform's ledger (tui.core.ledger.journal)
    # Where ``user`` is the platform's user (a release verdict): how that is known, and the host login beside.
    identity: str | None = None
    host_user: str | None = None

    def made_by(self, who: Who) -> None:
        self.user, self.identity, self.host_user = who.name, who.identity, who.host_user


AUDIT_COLUMNS = ["time", "env", "action", "targets", "version", "outcome", "user"]


def audit_row(entry: dict[str, Any]) -> list[str]:
    """One journal entry as a table row (CLI and TUI show the same columns)."""
    return [
        str(entry.get("time", "")),
        str(entry.get("env", "")),
        str(entry.get("action", "")),
        ",".join(entry.get("targets") or []),
        str(entry.get("version") or ""),
        str(entry.get("outcome", "")),
        str(entry.get("user", "")),
    ]


def _reasons(entry: dict[str, Any]) -> str:
    """An entry's reason and break-glass reason, lower case, for ``audit --reason``."""
    return f"{entry.get('reason') or ''} {entry.get('breakGlass') or ''}".lower()


class AuditLog:
    def __init__(self, path: Path, *, tokens: list[str] | None = None) -> None:
        self.path = path
        self._tokens = tokens if tokens is not None else []
        self._lock = threading.Lock()
        # Entries that could not be written (a full disk): the operation's outcome stands, the caller
        # warns and the CLI exits with EXIT_AUDIT. Never raised over a result the server already has.
        self.failures: list[str] = []
        # Per environment, while an operation runs on it (Context.operation, one at a time): its request's
        # reason, and its broken glass where only the glass let it in. Stamped on that environment's entries.
        self.stamps: dict[str, dict[str, str | None]] = {}
        # Told of every entry once written (notifications): a listener's failure never touches the operation.
        self.listeners: list[Callable[[AuditEntry], object]] = []
        # The shared ledger (tui.core.ledger.journal.install): told every finished entry, answers what became
        # of its copy there (a line for the row's ``ledger`` field), and warnings for the operator.
        self.sink: Callable[[AuditEntry], str | None] | None = None
        self.warnings: list[str] = []

    def take_warnings(self) -> list[str]:
        warnings, self.warnings = self.warnings, []
        return warnings

    def take_failures(self) -> list[str]:
        failures, self.failures = self.failures, []
        return failures

    def write(self, entry: AuditEntry) -> None:
        entry.time = entry.time or datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        entry.user = entry.user or _os_user()
        import json  # here, as below: every session opens the journal; the first frame writes none (start-up)

        line = redact(json.dumps(entry.to_json(), ensure_ascii=False, default=str), self._tokens)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    @contextmanager
    def record(self, action: str, env: str, url: str = "", **fields: Any) -> Iterator[AuditEntry]:
        """Write the entry when the block ends: ok, failed (with the error) or cancelled."""
        entry = AuditEntry(action=action, env=env, url=url, **fields)
        stamp = self.stamps.get(env, {})
        entry.reason = entry.reason or stamp.get("reason")
        entry.break_glass = entry.break_glass or stamp.get("break_glass")
        start = monotonic()
        requests: list[str] = []
        token = _CORRELATIONS.set(requests)
        try:
            yield entry
            if entry.outcome == "started":
                entry.outcome = "ok"
        except BaseException as exc:
            entry.outcome = (
                "cancelled"
                if isinstance(exc, (KeyboardInterrupt,)) or type(exc).__name__ in ("CancelledError",)
                else "failed"
            )
            entry.details.setdefault("error", str(exc))
            cid = getattr(exc, "correlation_id", None)
            if cid:
                entry.correlation_ids.append(cid)
            raise
        finally:
            entry.duration_ms = int((monotonic() - start) * 1000)
            entry.correlation_ids += [c for c in requests if c not in entry.correlation_ids]
            with suppress(ValueError):  # an async generator resumed in another context: nothing to restore
                _CORRELATIONS.reset(token)
            if self.sink is not None:
                entry.ledger = self.sink(entry)
            try:
                self.write(entry)
            except OSError as exc:
                self.failures.append(
                    f"the audit entry for {action} on {env} ({entry.outcome}) could not be written to "
                    f"{self.path}: {exc.strerror or exc}"
                )
            for listener in self.listeners:
                try:
                    listener(entry)
                except Exception as exc:  # a notifier's bug must not turn a done change into an error
                    self.failures.append(f"after {action} on {env}: {type(exc).__name__}: {exc}")

    def read(
        self,
        *,
        env: str | None = None,
        action: str | None = None,
        limit: int | None = None,
        text: str | None = None,
        reason: str | None = None,
    ) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        import json

        entries = []
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    item = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if env and item.get("env") != env:
                    continue
                if action and item.get("action") != action:
                    continue
                if text and text.lower() not in line.lower():
                    continue
                if reason and reason.lower() not in _reasons(item):
                    continue
                entries.append(item)
        entries.reverse()  # newest first
        return entries[:limit] if limit else entries
