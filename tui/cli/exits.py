"""The exit codes and the one place an error or an outcome becomes one (as gh's ``internal/ghcmd/cmd.go``).

``Exit`` lists every documented code (README "Use in CI", `prisme-deploy help exit-codes`; a test reads
the README's list and checks it against this enum). The core raises errors and returns facts (a health,
a matrix); only this module turns them into a number: ``code_for`` for an error, ``for_health`` and
``for_matrix`` for the two outcomes whose code is not simply 0 or 1. An error class never carries its
code: a new error inherits its parent's row in ``_BY_CLASS``, or gets its own row here.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from typing import TYPE_CHECKING

from tui.core import errors as E

if TYPE_CHECKING:
    from tui.core.ops.health import Health
    from tui.core.ops.matrix import Matrix


class Exit(IntEnum):
    OK = 0
    FAILED = 1  # the operation reported errors or merge conflicts; for `diff` and `matrix`, differences
    USAGE = 2  # usage or configuration error
    AUTH = 3  # authentication or permission
    NETWORK = 4  # network, timeout or server error
    AUDIT = 5  # the operation succeeded, but its audit journal entry could not be written (disk full)
    INTERRUPTED = 130
    PIPE = 141  # the reader of the output went away (`--json | head`): quiet, as a shell reports SIGPIPE


# The names the commands import (one source: the enum).
EXIT_OK = Exit.OK
EXIT_FAILED = Exit.FAILED
EXIT_USAGE = Exit.USAGE
EXIT_AUTH = Exit.AUTH
EXIT_NETWORK = Exit.NETWORK
EXIT_AUDIT = Exit.AUDIT
EXIT_INTERRUPTED = Exit.INTERRUPTED
EXIT_PIPE = Exit.PIPE

# Error class -> code; the most derived class listed wins (a subclass not listed takes its parent's).
_BY_CLASS: dict[type[BaseException], Exit] = {
    E.PrismeError: Exit.FAILED,  # lock, conflict, a name taken, a refused push: the operation failed
    E.UsageError: Exit.USAGE,
    # An unknown workspace, version, group or repository is a usage or configuration error: exit 1
    # means "the sides differ" for diff, and a typo must not read as drift in CI.
    E.NotFound: Exit.USAGE,
    E.AuthenticationFailed: Exit.AUTH,
    E.PermissionDenied: Exit.AUTH,
    E.GitCredentials: Exit.AUTH,  # the server's git credentials, not the user's role: still "auth"
    E.NetworkError: Exit.NETWORK,
    E.ServerError: Exit.NETWORK,
    E.RateLimited: Exit.NETWORK,
    E.UnexpectedResponse: Exit.NETWORK,
    E.StillProcessing: Exit.NETWORK,  # accepted, result unknown: never a success, never "failed" either
    E.BulkIncomplete: Exit.NETWORK,
    E.Unsupported: Exit.NETWORK,
    E.ArchiveRefused: Exit.NETWORK,  # beyond the limits, as a response too large
    E.YamlTooComplex: Exit.NETWORK,
    E.ResponseTooLarge: Exit.NETWORK,
    # A ledger out of reach is on the instance: as a server or network error (issue 28).
    E.LedgerUnavailable: Exit.NETWORK,
    E.NotInitialised: Exit.USAGE,  # a setup step for the operator: `ledger init`
    KeyboardInterrupt: Exit.INTERRUPTED,
    BrokenPipeError: Exit.PIPE,
}


def code_for(error: BaseException) -> Exit:
    """The exit code of a command that ended with ``error``; anything unlisted (a local file that cannot
    be written, a bug) is 1."""
    for cls in type(error).__mro__:
        if cls in _BY_CLASS:
            return _BY_CLASS[cls]
    return Exit.FAILED


def for_health(results: Iterable[Health]) -> Exit:
    """`status`: 0 when every environment is up, else 4 (as a network error), so a pipeline can gate on it."""
    return Exit.OK if all(h.state == "up" for h in results) else Exit.NETWORK


def for_matrix(matrix: Matrix) -> Exit:
    """As `diff`: 1 when some content differs between neighbouring environments, 0 when none does; 4 when
    nothing differs but something could not be read (no drift cannot be promised)."""
    if matrix.drifted:
        return Exit.FAILED
    return Exit.NETWORK if matrix.errors else Exit.OK
