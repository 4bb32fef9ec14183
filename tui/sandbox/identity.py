"""Credentials that expire, as the platform issues them: service-account tokens and token exchange.

- ``POST /v2/orgs/{org}/service-accounts/{sa}/token`` (no auth): ``{clientSecret, expiresIn?}`` ->
  ``{accessToken, expiresAt, tokenType, permissions, scopes}``; a wrong secret is 401; ``expiresIn`` is capped
  (``SA_TOKEN_MAX_TTL``, 1 day here).
- ``POST /v2/login/token-exchange`` (no auth): ``{provider, subject_token, ...}`` -> ``User + {sessionId, expires,
  token}``; the provider must allow token exchange (403 otherwise); the subject token's signature, ``aud`` (the
  provider's client id) and ``exp`` are checked (401 otherwise).

The sandbox's providers sign id_tokens with HS256 and a key the test or the operator gets from
``POST /sandbox/providers`` (a real IdP would publish a JWKS; the checks made are the same). Service accounts
are made with ``POST /sandbox/service-accounts``. Both admin routes answer the sandbox admin only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tui.sandbox.store import SandboxError

DEFAULT_TTL = 3600
MAX_TTL = 86400  # SA_TOKEN_MAX_TTL
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_hs256(claims: dict[str, Any], key: bytes) -> str:
    """A compact JWT (HS256): what a CI job's IdP hands it, for tests and `sandbox` users."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    mac = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def _verify_hs256(token: str, key: bytes) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 16384:
        raise SandboxError(401, "AuthenticationError", "Invalid subject_token")
    mac = hmac.new(key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    try:
        given = _unb64(parts[2])
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, json.JSONDecodeError) as exc:
        raise SandboxError(401, "AuthenticationError", "Invalid subject_token") from exc
    if not hmac.compare_digest(mac, given) or not isinstance(claims, dict):
        raise SandboxError(401, "AuthenticationError", "Invalid subject_token signature")
    return claims


@dataclass
class Provider:
    slug: str
    client_id: str
    key: bytes
    allow_exchange: bool = True


class Identity:
    """Service accounts, providers, and the expiry of the tokens minted from them."""

    def __init__(self, add_user: Any) -> None:
        self._add_user = add_user  # Sandbox.add_user(user_id, token)
        self._lock = threading.Lock()
        self.accounts: dict[tuple[str, str], str] = {}  # (org, slug) -> client secret
        self.providers: dict[str, Provider] = {}
        self.expiry: dict[str, float] = {}  # token -> epoch seconds

    # ------------------------------------------------------------------ admin (the sandbox's own routes)
    def create_account(self, org: str, slug: str) -> str:
        secret = f"sas_{org}_{secrets.token_hex(16)}"
        with self._lock:
            self.accounts[(org, slug)] = secret
        return secret

    def create_provider(self, slug: str, *, allow_exchange: bool = True) -> Provider:
        provider = Provider(slug, f"client-{slug}", secrets.token_bytes(32), allow_exchange)
        with self._lock:
            self.providers[slug] = provider
        return provider

    # ------------------------------------------------------------------ the platform's routes
    def service_account_token(self, org: str, slug: str, body: dict[str, Any]) -> dict[str, Any]:
        given = body.get("clientSecret")
        if not isinstance(given, str) or not given:
            raise SandboxError(400, "RequestValidationError", "Missing clientSecret")
        with self._lock:
            expected = self.accounts.get((org, slug))
        if expected is None or not hmac.compare_digest(given.encode(), expected.encode()):
            raise SandboxError(401, "AuthenticationError", "Invalid service account credentials")
        ttl = _ttl(body.get("expiresIn"))
        token, expires = self._mint(f"sa:{org}/{slug}", ttl)
        return {"accessToken": token, "expiresAt": expires, "tokenType": "Bearer", "permissions": [], "scopes": []}

    def token_exchange(self, body: dict[str, Any]) -> dict[str, Any]:
        slug, subject = body.get("provider"), body.get("subject_token")
        if not isinstance(slug, str) or not isinstance(subject, str) or not slug or not subject:
            raise SandboxError(400, "BadParametersError", "provider and subject_token are required")
        if body.get("subject_token_type", ID_TOKEN) != ID_TOKEN or body.get("grant_type", EXCHANGE) != EXCHANGE:
            raise SandboxError(400, "BadParametersError", "Unsupported token type or grant type")
        with self._lock:
            provider = self.providers.get(slug)
        if provider is None or not provider.allow_exchange:
            raise SandboxError(403, "ForbiddenError", "Token exchange is not enabled for this provider")
        claims = _verify_hs256(subject, provider.key)
        exp = claims.get("exp")
        if claims.get("aud") != provider.client_id:
            raise SandboxError(401, "AuthenticationError", "subject_token audience does not match the provider")
        if not isinstance(exp, (int, float)) or isinstance(exp, bool) or exp <= time.time():
            raise SandboxError(401, "AuthenticationError", "subject_token has expired")
        sub = str(claims.get("sub") or "")[:100]
        if not sub:
            raise SandboxError(401, "AuthenticationError", "subject_token has no subject")
        user = f"{slug}:{sub}"
        token, expires = self._mint(user, _ttl(body.get("expiresAfter")))
        email = claims.get("email") if isinstance(claims.get("email"), str) else f"{sub}@{slug}.sandbox.local"
        return {"id": user, "email": email, "sessionId": secrets.token_hex(8), "expires": expires, "token": token}

    def expired(self, token: str) -> bool:
        with self._lock:
            end = self.expiry.get(token)
        return end is not None and end <= time.time()

    def expires_of(self, token: str) -> str | None:
        with self._lock:
            end = self.expiry.get(token)
        return None if end is None else _iso(end)

    def _mint(self, user: str, ttl: int) -> tuple[str, str]:
        end = time.time() + ttl
        # A JWT-shaped token carrying its own exp, as the platform's are (clients read it to show the expiry).
        token = sign_hs256({"sub": user, "exp": int(end), "jti": secrets.token_hex(8)}, b"sandbox-signing")
        with self._lock:
            self.expiry[token] = end
        self._add_user(user, token)
        return token, _iso(end)


def _ttl(value: Any) -> int:
    if value is None:
        return DEFAULT_TTL
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise SandboxError(400, "RequestValidationError", "expiresIn must be a positive number of seconds")
    return int(min(value, MAX_TTL))


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
