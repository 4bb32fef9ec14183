"""Documented exit codes (README "Use in CI", `prisme-deploy help exit-codes`), and the one place an
error becomes one (as gh's ``internal/ghcmd/cmd.go`` does): commands raise, ``code_for`` maps."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # the operation reported errors or merge conflicts; for `diff` and `matrix`, differences
EXIT_USAGE = 2  # usage or configuration error
EXIT_AUTH = 3  # authentication or permission
EXIT_NETWORK = 4  # network, timeout or server error
EXIT_AUDIT = 5  # the operation succeeded, but its audit journal entry could not be written (disk full)
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141  # the reader of the output went away (`--json | head`): quiet, as a shell reports SIGPIPE


def code_for(error: BaseException) -> int:
    """The exit code of a command that ended with ``error``: a PrismeError carries its own (2 usage,
    3 auth, 4 network or server); Ctrl-C is 130, a reader gone 141; anything else (a local file that
    cannot be written, a bug) is 1."""
    from tui.core.errors import PrismeError

    if isinstance(error, PrismeError):
        return int(error.exit_code)
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, BrokenPipeError):
        return EXIT_PIPE
    return EXIT_FAILED
