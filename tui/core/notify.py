"""Notifications: deploy, failure, rollback, break-glass and approval-needed messages, through apprise
(Slack, Teams, mail, webhooks... one URL scheme per service: https://github.com/caronc/apprise/wiki).

    [notify]
    urls = ["json://hooks.internal:8080/deploys"]          # URLs without secrets may live in the file
    events = ["failure", "rollback", "break-glass"]        # default: every kind
    timeout = 10                                           # seconds per message

URLs that carry a secret (a Slack webhook's tokens) go in ``PRISME_DEPLOY_NOTIFY_URLS`` (space-separated),
never in the file. A message is sent from a background thread: the operation never waits on a slow
receiver, and a failed notification never fails the operation; it is said (the CLI on stderr when the
command ends, the app in its log). A URL is never printed whole: only its scheme and host.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tui.core.text import one_line

if TYPE_CHECKING:
    from tui.core.audit import AuditEntry

KINDS = ("deploy", "failure", "rollback", "break-glass", "approval-needed")
URLS_VAR = "PRISME_DEPLOY_NOTIFY_URLS"
# What changes what runs on an environment: "deploy" when it succeeds. A push only publishes a version.
DEPLOY_ACTIONS = frozenset({"pull", "promote", "bulk-import", "import", "rollout", "apply"})
ROLLBACK_ACTIONS = frozenset({"rollback", "rollback-sticky", "restore", "undo"})
MAX_BODY = 2000


@dataclass(frozen=True)
class NotifySettings:
    urls: tuple[str, ...] = ()
    events: tuple[str, ...] = KINDS
    timeout: float = 10.0


def shown(url: str) -> str:
    """A URL as it may be printed: scheme and host, never a path, user or token."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
    except ValueError:
        return "an unreadable URL"
    return f"{parts.scheme or '?'}://{host}"


def kinds_of(entry: AuditEntry) -> list[str]:
    """The notifications a journal entry makes."""
    kinds: list[str] = []
    if entry.outcome == "failed":
        kinds.append("failure")
    elif entry.outcome == "ok" and entry.action in ROLLBACK_ACTIONS:
        kinds.append("rollback")
    elif entry.outcome == "ok" and entry.action in DEPLOY_ACTIONS:
        kinds.append("deploy")
    if entry.break_glass and entry.outcome in ("ok", "failed"):
        kinds.append("break-glass")
    return kinds


def _who(entry: AuditEntry) -> str:
    """The platform user with how it is known; a row written with the host login alone says it is claimed."""
    from tui.core.audit import who_words

    return who_words(entry.user, entry.identity, entry.host_user)


def message_of(kind: str, entry: AuditEntry) -> tuple[str, str]:
    """(title, body) in plain text: server text inside is made one inert line, and bounded."""
    targets = ", ".join(entry.targets[:10]) + (f" (+{len(entry.targets) - 10})" if len(entry.targets) > 10 else "")
    title = f"prisme-deploy {kind}: {entry.action} on {entry.env} {entry.outcome}"
    lines = [
        f"{entry.action} on {entry.env}: {entry.outcome}",
        f"targets: {targets}" if targets else "",
        f"version: {entry.version}" if entry.version else "",
        f"by: {_who(entry)}" if entry.user else "",
        f"reason: {entry.reason}" if entry.reason else "",
        f"BREAK-GLASS (freeze window): {entry.break_glass}" if entry.break_glass else "",
        f"error: {entry.details.get('error')}" if entry.details.get("error") else "",
        f"correlation ids: {', '.join(entry.correlation_ids[:5])}" if entry.correlation_ids else "",
    ]
    body = "\n".join(one_line(line) for line in lines if line)
    return one_line(title)[:200], body[:MAX_BODY]


@dataclass
class Notifier:
    settings: NotifySettings = field(default_factory=NotifySettings)
    environ: dict[str, str] | None = None
    # The app's log (called from a worker thread: the app marshals it); the CLI drains instead.
    on_failure: Callable[[str], object] | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _failures: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def urls(self) -> list[str]:
        env = os.environ if self.environ is None else self.environ
        extra = [u for u in (env.get(URLS_VAR) or "").split() if u]
        return [*self.settings.urls, *extra]

    def wants(self, kind: str) -> bool:
        return kind in self.settings.events and bool(self.urls())

    def entry_written(self, entry: AuditEntry) -> None:
        """The journal's listener: one message per kind the entry makes."""
        for kind in kinds_of(entry):
            if self.wants(kind):
                self.send(kind, *message_of(kind, entry))

    def send(self, kind: str, title: str, body: str) -> None:
        if not self.wants(kind):
            return
        thread = threading.Thread(target=self._deliver, args=(title, body), name="notify", daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def drain(self, timeout: float | None = None) -> list[str]:
        """Wait (bounded) for the messages in flight; what failed, in words (no URL path, no token)."""
        limit = self.settings.timeout + 1 if timeout is None else timeout
        with self._lock:
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(limit)
            if thread.is_alive():
                self._fail(f"a notification was still being sent after {limit:g} s (abandoned)")
        with self._lock:
            failures, self._failures = self._failures, []
        return failures

    def _fail(self, text: str) -> None:
        with self._lock:
            self._failures.append(text)
        if self.on_failure is not None:
            self.on_failure(text)

    def _deliver(self, title: str, body: str) -> None:
        try:
            import apprise  # about 0.25 s to import: only when a message goes out
        except ImportError:
            self._fail("notifications need the apprise package (pip install apprise)")
            return
        for url in self.urls():
            where = shown(url)
            sender = apprise.Apprise()
            try:
                if not sender.add(url):
                    self._fail(f"notification URL {where} is not one apprise understands")
                    continue
                for server in sender:
                    server.socket_read_timeout = server.socket_connect_timeout = self.settings.timeout
                if not sender.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT):
                    self._fail(f"notification to {where} failed")
            except Exception as exc:  # a receiver must never break the operation
                self._fail(f"notification to {where} failed: {type(exc).__name__}")


def parse_settings(section: dict[str, Any]) -> NotifySettings:
    """``[notify]`` as written; ValueError says what is wrong (the reader adds file:line)."""
    urls = section.get("urls", [])
    if not isinstance(urls, list) or not all(isinstance(u, str) and "://" in u and len(u) < 2000 for u in urls):
        raise ValueError("notify.urls must be a list of apprise URLs (scheme://...)")
    events = section.get("events", list(KINDS))
    if not isinstance(events, list) or not all(e in KINDS for e in events):
        raise ValueError(f"notify.events must be a list of: {', '.join(KINDS)}")
    timeout = section.get("timeout", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 1 <= timeout <= 120:
        raise ValueError("notify.timeout must be a number of seconds from 1 to 120")
    unknown = sorted(set(section) - {"urls", "events", "timeout"})
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} in [notify] (allowed: events, timeout, urls)")
    return NotifySettings(tuple(urls), tuple(events), float(timeout))
