"""What every operation needs: the configuration, tokens, the audit journal, and who is busy."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tui.core import limits, paths
from tui.core.audit import AuditLog
from tui.core.config import Config, Environment
from tui.core.credentials import Minter
from tui.core.errors import AuthenticationFailed
from tui.core.errors import Busy as Busy  # the gate's errors, long imported from here
from tui.core.errors import ReadOnly as ReadOnly
from tui.core.notify import Notifier
from tui.core.secrets import TokenStore, env_var_name

if TYPE_CHECKING:
    from tui.core.api.budget import Wait
    from tui.core.api.client import PrismeClient
    from tui.core.ops.requests import Request


def adhoc_name(url: str) -> str:
    """A name for an instance given by URL alone: its host and port (``api.example.com``, ``127.0.0.1-8080``),
    so what is filed per environment (snapshots, the audit) is filed per instance."""
    parts = urlsplit(url)
    name = (parts.hostname or "url") + (f"-{parts.port}" if parts.port else "")
    return re.sub(r"[^A-Za-z0-9_.-]", "-", name).strip(".-_")[:40] or "url"


def origin(url: str) -> tuple[str, frozenset[str], int, str]:
    """What identifies an instance in a URL: scheme, the addresses its host resolves to (``localhost``
    and ``127.0.0.1`` are one instance), port (the scheme's default when absent) and path (no trailing
    slash, no ``/v2``, as the client strips them)."""
    import socket

    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port or {"https": 443, "http": 80}.get(scheme, 0)
    except ValueError:
        port = 0
    path = parts.path.rstrip("/")
    path = path[: -len("/v2")] if path.endswith("/v2") else path
    try:
        found = socket.getaddrinfo(host, port or None, proto=socket.IPPROTO_TCP)
        addresses = frozenset(str(info[4][0]) for info in found) or frozenset({host})
    except (OSError, UnicodeError):
        addresses = frozenset({host})  # unresolvable: only the same spelling matches
    return scheme, addresses, port, path


def same_instance(a: str, b: str) -> bool:
    sa, aa, pa, ra = origin(a)
    sb, ab, pb, rb = origin(b)
    return sa == sb and pa == pb and ra == rb and bool(aa & ab)


@dataclass
class Context:
    config: Config
    tokens: TokenStore
    audit: AuditLog
    read_only: bool = False
    running: dict[str, str] = field(default_factory=dict)
    # Told about every wait for the gateway's rate limits (a 429, or pacing imports), about once a
    # second: the CLI writes it on stderr, the app in its log.
    on_wait: Callable[[Wait], object] | None = None
    # Why a change is made travels with its request (tui.core.ops.requests), not here: two operations
    # run at once (the app) each keep their own reason and broken glass.
    # Whether an environment's require_reason is enforced: the app turns it off until its dialogs
    # carry a reason field (issue 17, app part); freeze windows are enforced everywhere.
    reasons_enforced: bool = True
    # Short-lived tokens traded for a CI secret (auth = {...} per environment): this process only.
    minter: Minter = field(default_factory=Minter)
    notifier: Notifier = field(default_factory=Notifier)  # [notify]: deploy, failure, rollback... messages
    # Leases (tui.core.ledger.lease): how long to wait for another holder (--wait-lease), and whether to
    # take the lease over (--take-over, recorded in the ledger).
    lease_wait: float = 0.0
    take_over: bool = False
    leased: set[str] = field(default_factory=set)  # environments whose lease this run holds (no second one)

    @classmethod
    def create(cls, config: Config, *, read_only: bool = False, use_keyring: bool | None = None) -> Context:
        store = TokenStore(use_keyring=config.secrets_store == "keyring" if use_keyring is None else use_keyring)
        limits.configure(**config.limits)  # [limits]: response bodies, archives, YAML, streams
        ctx = cls(config, store, AuditLog(paths.audit_path(), tokens=store.known_tokens()), read_only)
        ctx.notifier = Notifier(config.notify)
        ctx.audit.listeners.append(ctx.notifier.entry_written)
        from tui.core.ledger import journal

        journal.install(ctx)  # every journal entry is appended to the platform's ledger as well
        return ctx

    def env(self, name: str) -> Environment:
        return self.config.env(name)

    def add_adhoc(self, name: str, url: str, *, tier: str | None = None, protected: bool = False) -> Environment:
        """``--url`` with no configured environment: one that exists for this run only. Production (asked
        for, or guessed from "prod" in the name or host) is protected."""
        host = urlsplit(url).hostname or ""
        tier = tier or ("production" if "prod" in (name + host).lower() else "development")
        production = tier == "production"
        env = Environment(
            name=name, url=url.rstrip("/"), tier=tier, protected=protected or production, require_reason=production
        )
        self.config.environments[name] = env
        return env

    def client(self, env_name: str) -> PrismeClient:
        env = self.env(env_name)  # an unknown name fails here, with a "did you mean"
        if not self.tokens.environ.get(env_var_name(env_name)) and self.minter.configured(env):
            return self._minting_client(env_name)
        token, _source = self.tokens.resolve(env_name)
        if not token:
            raise AuthenticationFailed(
                f"No token for environment {env_name!r}.",
                hint=f"Run `prisme-deploy login --env {env_name}` or set {env_var_name(env_name)}.",
            )
        return self.client_with(env_name, token)

    def client_with(self, env_name: str, token: str) -> PrismeClient:
        """A client for an environment's settings (URL, TLS, timeout) and a given token."""

        self.audit._tokens.append(token)  # the journal redacts every token this session has seen
        return self._client_for(env_name, token)

    def _client_for(
        self, env_name: str, token: str, provider: Callable[[], Awaitable[str]] | None = None
    ) -> PrismeClient:
        from tui.core.api.client import PrismeClient  # httpx loads with the first request, not at start-up

        env = self.env(env_name)
        return PrismeClient(
            env.url,
            token,
            token_provider=provider,
            env_name=env_name,
            timeout=env.timeout,
            deadline=env.deadline,
            verify_tls=env.verify_tls,
            ca_bundle=env.ca_bundle,
            allow_insecure_http=env.allow_insecure_http,
            on_wait=self.on_wait,
        )

    def _minting_client(self, env_name: str) -> PrismeClient:
        """A client whose token is traded for a short-lived one (tui.core.credentials) at its first request,
        and again before it expires."""
        env = self.env(env_name)

        async def fresh() -> str:
            minted = self.minter.cached(env_name) or await self.minter.mint(
                env, lambda token: self._client_for(env_name, token)
            )
            if minted.token not in self.audit._tokens:
                self.audit._tokens.append(minted.token)  # redacted from the journal like any other token
            return minted.token

        # The budget and capabilities are per URL + identity: the identity here is the declared credential.
        assert env.auth is not None
        return self._client_for(env_name, f"minted:{env.auth.describe()}", fresh)

    def token_source(self, env_name: str) -> str:
        """Where this environment's token comes from, in words (never the token): `status` shows it."""
        env = self.env(env_name)
        if not self.tokens.environ.get(env_var_name(env_name)) and self.minter.configured(env):
            assert env.auth is not None
            return env.auth.describe()
        return self.tokens.resolve(env_name)[1]

    @staticmethod
    def forget_instances() -> None:
        """Forget what this process remembers of every instance (what each offers, which ledger it keeps, or
        that it keeps none): read again on next use, as after a refresh (another process may have changed it)."""
        from tui.core.api import capabilities
        from tui.core.ledger import store

        store.forget_all()
        capabilities.forget_all()

    def writable(self, env_name: str) -> bool:
        from tui.core.ops import gate

        return gate.unwritable(self, env_name) is None

    def require_writable(self, env_name: str) -> None:
        """The gate's read_only rule alone (ReadOnly, exit 2)."""
        from tui.core.ops import gate

        if (refusal := gate.unwritable(self, env_name)) is not None:
            raise refusal.error()

    def check_rails(self, env_name: str, what: str, request: Request | None = None) -> None:
        """The gate (tui.core.ops.gate) for ``what`` on one environment, with ``request``'s reason and
        broken glass: writable, freeze windows, required reason, busy."""
        from tui.core.ops import gate

        gate.enforce(self, gate.operation(self, what, [env_name], request=request))

    @contextmanager
    def operation(
        self, env_name: str, what: str, *, request: Request | None = None, rails: bool = True
    ) -> Iterator[None]:
        """One mutating operation per environment at a time, through the gate with ``request``'s reason and
        broken glass (``rails=False``: a dry run, which changes nothing: only writable and busy apply).
        While it runs, the environment's journal entries carry them: one operation per environment at a
        time, so the stamp is this operation's alone."""
        from tui.core.ops import gate

        decision = gate.enforce(self, gate.operation(self, what, [env_name], dry_run=not rails, request=request))
        self.running[env_name] = what
        self.audit.stamps[env_name] = decision.stamp(env_name)
        try:
            yield
        finally:
            self.running.pop(env_name, None)
            self.audit.stamps.pop(env_name, None)
