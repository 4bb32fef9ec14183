"""The one error hierarchy (issue 27): specific, actionable exceptions for everything the Prisme.ai API
can answer, and the configuration's, git's and the gate's refusals (api/ and the rest import it from here).

Each error keeps the response's ``x-correlation-id`` so an operator can quote it to the platform team,
and carries a ``hint`` (the next step). Messages never contain the token: the client builds them from
the response body and the request path only.
"""

from __future__ import annotations

from typing import Any


class PrismeError(Exception):
    """Base class. The CLI maps each class to its exit code (tui/cli/exits.py): errors carry facts only."""

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        correlation_id: str | None = None,
        error_class: str | None = None,
        details: Any = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.correlation_id = correlation_id
        self.error_class = error_class
        self.details = details
        self.hint = hint

    def __str__(self) -> str:
        parts = [self.message]
        if self.hint:
            parts.append(self.hint)
        if self.correlation_id:
            parts.append(f"(correlation id {self.correlation_id})")
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "error": self.kind,
            "message": self.message,
            "hint": self.hint,
            "status": self.status,
            "correlationId": self.correlation_id,
            "serverError": self.error_class,
        }


class UsageError(PrismeError):
    """Bad input caught before anything is sent (a version name, a missing group...)."""

    kind = "usage"


class InvalidVersionName(UsageError):
    kind = "invalid_version_name"


class AuthenticationFailed(PrismeError):
    kind = "authentication"


class PermissionDenied(PrismeError):
    kind = "forbidden"


class NotFound(PrismeError):
    kind = "not_found"


class VersionNameTaken(PrismeError):
    kind = "version_name_taken"


class PushRejected(PrismeError):
    """The platform repository has commits this workspace has not pulled yet."""

    kind = "pull_first"


class WorkspaceLocked(PrismeError):
    kind = "locked"


class MergeConflict(PrismeError):
    kind = "merge_conflict"


class ArchiveTooLarge(PrismeError):
    kind = "archive_too_large"


class ArchiveRefused(PrismeError):
    """An archive that is unsafe or too large to read (a zip bomb, an entry named ``../x``)."""

    kind = "archive_refused"


class YamlTooComplex(PrismeError):
    """A YAML file whose aliases expand beyond the limits (an alias bomb)."""

    kind = "yaml_too_complex"


class ResponseTooLarge(PrismeError):
    """A response body beyond ``[limits] max_body_mb``: read no further."""

    kind = "too_large"


class BadRequest(PrismeError):
    kind = "bad_request"


class InvalidVersion(BadRequest):
    """``InvalidVersionError``: an unknown version (also when deleting one), or a reserved name."""

    kind = "invalid_version"


class GitCredentials(PrismeError):
    """The server could not authenticate to the git repository: its credentials, not the user's role."""

    kind = "git_credentials"


class RateLimited(PrismeError):
    """429 from the gateway, still refused after the retries: the request never reached the service."""

    kind = "rate_limited"


class ServerError(PrismeError):
    kind = "server"


class NetworkError(PrismeError):
    kind = "network"


class RequestTimeout(NetworkError):
    kind = "timeout"


class ConnectionFailed(NetworkError):
    kind = "connection"


class TLSFailure(NetworkError):
    kind = "tls"


class UnexpectedResponse(PrismeError):
    """The server answered 2xx with a body that is not the JSON the contract promises."""

    kind = "bad_response"


class StillProcessing(PrismeError):
    """The server accepted the work but its result never arrived: never a success."""

    kind = "processing"


class GatewayTimeout(StillProcessing):
    """408 ``TimeoutError`` from the gateway: the service went silent for 20 s but keeps working."""

    kind = "gateway_timeout"


class StreamIdle(NetworkError):
    """A stream that sent nothing at all (not even a keep-alive) for longer than the idle deadline."""

    kind = "stream_idle"


class BulkIncomplete(PrismeError):
    """A bulk stream ended without a completed summary, and the events did not recover it."""

    kind = "incomplete"


def hint_for_lock(reason: str | None) -> str:
    if reason == "merge_conflict":
        return (
            "Resolve the conflict in git on the branch prismeai/<slug>/<branch> (merge the target branch, "
            "fix, commit, push), then pull again; or unlock and pull with --discard-local-changes."
        )
    return "Wait for the running operation, or unlock the workspace if the lock is stale."


class Unsupported(PrismeError):
    """The instance does not offer this (an older generation: the route answered 404 "Route not found",
    405, or a query parameter was refused). ``capability`` names it (tui.core.api.capabilities)."""

    kind = "unsupported"

    def __init__(self, message: str, *, capability: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.capability = capability


class EventsUnavailable(ServerError):
    """The events service did not answer (a 5xx or no route): operations go on, verified from state."""

    kind = "events_unavailable"


class Busy(PrismeError):
    """The gate's ``busy`` rule: the environment already runs an operation."""

    kind = "busy"


class ReadOnly(UsageError):
    """The gate's ``read_only`` rule: --read-only, or an environment's ``read_only = true``."""

    kind = "read_only"


class LedgerUnavailable(PrismeError):
    """The ledger cannot be reached (or is not initialised on that instance); tui.core.ledger raises it."""

    kind = "ledger_unavailable"


class NotInitialised(LedgerUnavailable):
    """The instance has no ledger yet: a setup step for the operator (exit 2, as a configuration error)."""

    kind = "ledger_not_initialised"
