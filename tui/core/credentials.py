"""Credentials for CI that expire: a service account's client secret, or a CI job's OIDC id_token, traded for
a short-lived Prisme.ai token at the start of a run.

An environment declares how (``auth`` in its table); the secret itself comes only from the process environment,
never from a file:

    [environments.prod]
    auth = { method = "service-account", org = "acme", account = "ci-deployer", ttl = 3600 }
    # PRISME_DEPLOY_CLIENT_SECRET_PROD=sas_acme_...        (POST /v2/orgs/{org}/service-accounts/{sa}/token)

    auth = { method = "token-exchange", provider = "github-actions" }
    # PRISME_DEPLOY_ID_TOKEN_PROD=<the job's id_token>      (POST /v2/login/token-exchange)

A token minted here lives in this process only (it is not written to the keyring: it expires anyway); it is
minted again when less than a minute is left. ``PRISME_DEPLOY_TOKEN_<ENV>`` still wins when set: an operator
who sets it means it.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tui.core.errors import AuthenticationFailed, NotFound, UsageError

if TYPE_CHECKING:
    from tui.core.config import Environment

METHODS = ("service-account", "token-exchange")
# Seconds before expiry at which a minted token is replaced: a request must not start with a token that
# expires on the way.
REFRESH_MARGIN = 60.0


def token_var(env: str) -> str:
    from tui.core.secrets import env_var_name

    return env_var_name(env)


def secret_var(env: str, method: str) -> str:
    """The variable that holds the secret for ``method`` (PRISME_DEPLOY_CLIENT_SECRET_PROD_EU ...)."""
    from tui.core.secrets import env_var_name

    suffix = env_var_name(env).removeprefix("PRISME_DEPLOY_TOKEN_")
    return f"PRISME_DEPLOY_{'CLIENT_SECRET' if method == 'service-account' else 'ID_TOKEN'}_{suffix}"


@dataclass(frozen=True)
class AuthMethod:
    """What ``auth = {...}`` declares for one environment (validated by tui.core.config)."""

    method: str
    org: str = ""
    account: str = ""
    provider: str = ""
    ttl: int | None = None

    def describe(self) -> str:
        if self.method == "service-account":
            return f"service account {self.org}/{self.account}"
        return f"token exchange ({self.provider})"


def parse_auth(value: dict[str, Any]) -> AuthMethod:
    """``auth`` as written; a ValueError says what is wrong (the config reader adds file:line)."""
    method = value.get("method")
    if method not in METHODS:
        raise ValueError(f"auth.method must be one of {', '.join(METHODS)}, not {method!r}")
    allowed = {"method", "ttl"} | ({"org", "account"} if method == "service-account" else {"provider"})
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} in auth for {method} (allowed: {', '.join(sorted(allowed))})")
    for key in sorted(allowed - {"method", "ttl"}):
        text = value.get(key)
        if not isinstance(text, str) or not text.strip() or len(text) > 200 or any(ord(c) < 32 for c in text):
            raise ValueError(f"auth.{key} must be a non-empty name for {method}")
    ttl = value.get("ttl")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or not 60 <= ttl <= 86400):
        raise ValueError("auth.ttl must be a whole number of seconds from 60 to 86400")
    return AuthMethod(
        method, str(value.get("org", "")), str(value.get("account", "")), str(value.get("provider", "")), ttl
    )


@dataclass(frozen=True)
class Minted:
    token: str
    expires_at: datetime | None  # None: the platform did not say (treated as "unknown", refreshed each run)
    source: str  # "service account acme/ci" ...


def parse_instant(text: object) -> datetime | None:
    """An ISO-8601 instant from a server ("...Z" included), aware; None when absent or unreadable."""
    if not isinstance(text, str) or not text or len(text) > 64:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT, read without verifying (only to show when it ends); None for opaque tokens
    (personal access tokens ``at:...``) and for anything unreadable."""
    parts = token.split(".")
    if len(parts) != 3 or len(parts[1]) > 8192:
        return None
    import json  # here: the configuration imports this module, and the app's first frame needs no JSON (start-up)

    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
        exp = claims.get("exp") if isinstance(claims, dict) else None
        if isinstance(exp, bool) or not isinstance(exp, (int, float)):
            return None
        return datetime.fromtimestamp(exp, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def expires_in(moment: datetime | None, now: datetime | None = None) -> str:
    """ "expires in 55 min", "EXPIRED 3 h ago", "expiry unknown": for `status`."""
    if moment is None:
        return "expiry unknown"
    left = moment - (now or datetime.now(UTC))
    seconds = left.total_seconds()
    span = abs(seconds)
    words = (
        f"{int(span)} s"
        if span < 120
        else f"{int(span // 60)} min"
        if span < 7200
        else f"{int(span // 3600)} h"
        if span < 172800
        else f"{int(span // 86400)} days"
    )
    return f"expires in {words}" if seconds > 0 else f"EXPIRED {words} ago"


class Minter:
    """Mints and caches the short-lived tokens of one process, per environment."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        self._cache: dict[str, Minted] = {}

    def configured(self, env: Environment) -> bool:
        """An ``auth`` method is declared and its secret is in the environment."""
        method = env.auth
        return method is not None and bool(self.environ.get(secret_var(env.name, method.method)))

    def cached(self, env_name: str) -> Minted | None:
        minted = self._cache.get(env_name)
        if minted is None:
            return None
        if minted.expires_at is not None and minted.expires_at - datetime.now(UTC) < timedelta(seconds=REFRESH_MARGIN):
            return None
        return minted

    async def mint(self, env: Environment, client_for: Any) -> Minted:
        """Trade the secret for a token (``client_for(token)`` gives an unauthenticated client for the
        environment's URL and TLS settings). Raises AuthenticationFailed with what to check."""
        method = env.auth
        if method is None:
            raise UsageError(f"Environment {env.name!r} declares no auth method.")
        var = secret_var(env.name, method.method)
        secret = self.environ.get(var, "")
        if not secret:
            raise AuthenticationFailed(
                f"{env.name}: {method.describe()} is configured but {var} is not set.",
                hint=f"Set {var} in the CI job's secrets.",
            )
        async with client_for("") as client:
            try:
                if method.method == "service-account":
                    answer = await client.service_account_token(method.org, method.account, secret, method.ttl)
                    token, expiry = answer.get("accessToken"), answer.get("expiresAt")
                else:
                    answer = await client.token_exchange(method.provider, secret, method.ttl)
                    token, expiry = answer.get("token"), answer.get("expires")
            except NotFound as exc:  # 2024 instances have neither route: "Route not found"
                raise AuthenticationFailed(
                    f"{env.name}: this instance does not offer {method.describe().split(' (')[0]} ({exc.message}).",
                    hint=f"Use a personal access token instead: set {token_var(env.name)} and remove "
                    "auth = {...} for this environment.",
                ) from exc
            except AuthenticationFailed as exc:
                raise AuthenticationFailed(
                    f"{env.name}: the platform refused the {method.describe()} credential in {var}.",
                    hint="Check the secret (rotated?), the names in auth = {...}, and that the provider allows "
                    "token exchange.",
                ) from exc
        if not isinstance(token, str) or not token or len(token) > 16384:
            raise AuthenticationFailed(f"{env.name}: the platform answered no token for {method.describe()}.")
        minted = Minted(token, parse_instant(expiry) or jwt_expiry(token), method.describe())
        self._cache[env.name] = minted
        return minted
