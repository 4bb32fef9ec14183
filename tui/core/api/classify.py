"""Turn an error response into one specific exception.

The body's ``error`` class name decides first (``ObjectNotFoundError``, ``TooManyRequests``...), the
HTTP status second, and the message text only last: messages carry user text and URLs, so a word
such as "lock" must not be found inside ``https://.../blocks.git``.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

from tui.core import errors as E
from tui.core.api.budget import parse_http_time

_GIT_AUTH = re.compile(
    r"authentication failed for (repository|'http)|could not read (username|password)|permission denied \(publickey",
    re.IGNORECASE,
)
_LOCKED = re.compile(r"\b(write[ -]?)?lock(ed)?\b", re.IGNORECASE)
_CONFLICT = re.compile(r"\bmerge conflicts?\b|\bconflict(ed|s)?\b", re.IGNORECASE)
_PULL_FIRST = re.compile(r"\bup[- ]to[- ]date\b|\bpull first\b", re.IGNORECASE)
_TAKEN = re.compile(r"\balready (used|exists?)\b", re.IGNORECASE)

SUPER_ADMIN_HINT = "Bulk operations need a super admin; lock changes need the workspace owner."
GIT_AUTH_HINT = (
    "The platform could not authenticate to the git repository: check that repository's credentials "
    "on the server (WORKSPACES_STORAGE_GIT_PLATFORM_<id>_AUTH_*); your own token and role are fine."
)
RATE_HINT = "The gateway allows a few imports and event searches per minute per user; wait and retry."


def rate_details(body: Any) -> Any:
    """The ``details`` of a 429: top level (the 2024 gateway) or nested under ``error`` (the docs' shape,
    ``{"error": {"code", "message", "details": {"retryAfter"}}}``)."""
    if not isinstance(body, dict):
        return None
    details = body.get("details")
    nested = body.get("error")
    if not isinstance(details, dict) and isinstance(nested, dict):
        details = nested.get("details")
    return details


def retry_after(details: Any, headers: dict[str, str] | None = None) -> float | None:
    """Seconds to wait after a 429: ``details.retryAfter`` (the gateway's body), else ``Retry-After``
    (seconds or an HTTP date). ``math.inf`` for a value that asks for forever (``Infinity``, ``inf``, a
    number too large to be one): the caller refuses what its deadline cannot hold. None when there is
    no usable value (absent, ``nan``, negative, text): the caller backs off on its own."""
    if isinstance(details, dict):
        value = details.get("retryAfter")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            found = _seconds(float(value))
            if found is not None:
                return found
    header = (headers or {}).get("retry-after")
    if header:
        try:
            return _seconds(float(header))
        except (ValueError, OverflowError):
            moment = parse_http_time(header)
            return None if moment is None else max(0.0, moment - time.time())
    return None


def _seconds(value: float) -> float | None:
    if math.isnan(value) or value < 0:
        return None
    return value if value < 1e9 else math.inf  # more than 30 years is "never"


def classify(
    status: int,
    body: dict[str, Any],
    *,
    env: str,
    where: str,
    reason: str = "",
    correlation_id: str | None = None,
) -> E.PrismeError:
    nested = body.get("error")
    if isinstance(nested, dict):  # the docs' shape: {"error": {"code", "message", "details"}}
        body = {**nested, "error": nested.get("error") or nested.get("code") or ""}
    server_class = str(body.get("error") or "")
    message = str(body.get("message") or reason or server_class or "")
    kw: dict[str, Any] = {
        "status": status,
        "correlation_id": correlation_id,
        "error_class": server_class or None,
        "details": body.get("details"),
    }
    for make in (_by_class, _by_status, _by_message):
        found = make(status, server_class, message, body, env, where, kw)
        if found is not None:
            return found
    return E.PrismeError(f"{where}: HTTP {status}: {message}.", **kw)


def _by_class(
    status: int, cls: str, msg: str, body: dict[str, Any], env: str, where: str, kw: dict[str, Any]
) -> E.PrismeError | None:
    if cls == "TooManyRequests":
        return E.RateLimited(f"{where}: rate limited by the gateway ({msg}).", hint=RATE_HINT, **kw)
    if cls == "TimeoutError":
        return _gateway_timeout(body, where, kw)
    if cls == "ObjectNotFoundError":
        return E.NotFound(f"{where}: not found: {msg}.", **kw)
    if cls == "ForbiddenError":
        return _forbidden(msg, where, kw)
    if cls == "AlreadyUsedError" or (cls == "InvalidVersionError" and _TAKEN.search(msg)):
        return E.VersionNameTaken(f"{where}: {msg}.", hint="Choose a new version name.", **kw)
    if cls == "InvalidVersionError":
        return E.InvalidVersion(f"{where}: {msg}.", hint="List the versions (`prisme-deploy versions`).", **kw)
    if cls in ("RequestValidationError", "BadParametersError", "MissingFieldError", "InvalidUploadError"):
        return E.BadRequest(f"{where}: {msg}.", **kw)
    if cls == "PayloadTooLarge":
        return _too_large(where, kw)
    if cls == "MergeConflictError":
        return E.MergeConflict(f"{where}: {msg}.", hint=E.hint_for_lock("merge_conflict"), **kw)
    if cls in ("WorkspaceLockedError", "LockedError"):
        return E.WorkspaceLocked(f"{where}: {msg}.", hint=E.hint_for_lock(None), **kw)
    if cls == "AuthenticationError":
        return _unauthenticated(msg, env, kw)
    return None


def _by_status(
    status: int, cls: str, msg: str, body: dict[str, Any], env: str, where: str, kw: dict[str, Any]
) -> E.PrismeError | None:
    if status == 401:
        return _unauthenticated(msg, env, kw)
    if status == 403:
        return _forbidden(msg, where, kw)
    if status == 404:
        return E.NotFound(f"{where}: not found: {msg}.", **kw)
    if status == 408:
        return _gateway_timeout(body, where, kw)
    if status == 413:
        return _too_large(where, kw)
    if status == 429:
        return E.RateLimited(f"{where}: rate limited by the gateway ({msg}).", hint=RATE_HINT, **kw)
    if status in (409, 423):
        return E.WorkspaceLocked(f"{where}: {msg}.", hint=E.hint_for_lock(None), **kw)
    if status >= 500:
        return E.ServerError(
            f"{where}: server error {status} ({msg or 'Internal error'}).",
            hint="Retry later; quote the correlation id to the platform team.",
            **kw,
        )
    return None


def _by_message(
    status: int, cls: str, msg: str, body: dict[str, Any], env: str, where: str, kw: dict[str, Any]
) -> E.PrismeError | None:
    if status != 400:
        return None
    if _GIT_AUTH.search(msg):
        return E.GitCredentials(f"{where}: {msg}.", hint=GIT_AUTH_HINT, **kw)
    if _PULL_FIRST.search(msg):
        return E.PushRejected(
            f"{where}: push rejected, the repository has commits this workspace has not pulled.",
            hint="Pull latest first (`l` in the app, or `prisme-deploy pull`), then push again.",
            **kw,
        )
    if _CONFLICT.search(msg):
        return E.MergeConflict(f"{where}: {msg}.", hint=E.hint_for_lock("merge_conflict"), **kw)
    if _LOCKED.search(msg):
        return E.WorkspaceLocked(f"{where}: {msg}.", hint=E.hint_for_lock(None), **kw)
    if _TAKEN.search(msg):
        return E.VersionNameTaken(f"{where}: {msg}.", hint="Choose a new version name.", **kw)
    return E.BadRequest(f"{where}: {msg}.", **kw)


def _forbidden(msg: str, where: str, kw: dict[str, Any]) -> E.PrismeError:
    if _GIT_AUTH.search(msg):
        return E.GitCredentials(f"{where}: {msg}.", hint=GIT_AUTH_HINT, **kw)
    return E.PermissionDenied(f"{where} is forbidden: {msg}.", hint=SUPER_ADMIN_HINT, **kw)


def _unauthenticated(msg: str, env: str, kw: dict[str, Any]) -> E.PrismeError:
    return E.AuthenticationFailed(
        f"{env}: the token was rejected ({msg or 'Unauthenticated'}).",
        hint=f"It may be expired or revoked: run `prisme-deploy login --env {env}`.",
        **kw,
    )


def _gateway_timeout(body: dict[str, Any], where: str, kw: dict[str, Any]) -> E.PrismeError:
    timeout = body.get("timeout")
    silent = f" after {timeout / 1000:g} s of silence" if isinstance(timeout, (int, float)) else ""
    return E.GatewayTimeout(
        f"{where}: the gateway stopped waiting{silent} (408); the service is still working.",
        hint="It is not done and not failed: follow it in the workspace's activity.",
        **kw,
    )


def _too_large(where: str, kw: dict[str, Any]) -> E.PrismeError:
    return E.ArchiveTooLarge(
        f"{where}: the archive is larger than the server accepts (UPLOADS_MAX_SIZE).",
        hint="Split the workspace or ask the platform team to raise UPLOADS_MAX_SIZE.",
        **kw,
    )
