"""Documented exit codes (README "Use in CI")."""

EXIT_OK = 0
EXIT_FAILED = 1  # the operation reported errors or merge conflicts; for `diff`, differences
EXIT_USAGE = 2  # usage or configuration error
EXIT_AUTH = 3  # authentication or permission
EXIT_NETWORK = 4  # network, timeout or server error
EXIT_AUDIT = 5  # the operation succeeded, but its audit journal entry could not be written (disk full)
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141  # the reader of the output went away (`--json | head`): quiet, as a shell reports SIGPIPE
