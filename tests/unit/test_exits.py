"""Exit codes: one enum, one mapping (tui/cli/exits.py), and the README's documented codes unchanged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tui.cli import exits
from tui.cli.exits import Exit
from tui.core import errors as E
from tui.core.config import ConfigError
from tui.core.ops.health import Health
from tui.core.ops.matrix import Matrix

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")

# What the README's "Exit codes" paragraph promises: a code and a word of its meaning.
DOCUMENTED = {0: "success", 1: "errors", 2: "usage", 3: "authentication", 4: "network", 5: "audit", 141: "reader"}


def _readme_codes() -> dict[int, str]:
    start = README.index("Exit codes (all of them")
    paragraph = README[start : README.index("\n\n", start)]
    parts = re.split(r"`(\d+)`", paragraph)[1:]
    return {int(code): text for code, text in zip(parts[::2], parts[1::2], strict=True)}


def test_readme_exit_codes_are_the_enum_and_unchanged() -> None:
    documented = _readme_codes()
    assert set(documented) == set(DOCUMENTED)
    for code, word in DOCUMENTED.items():
        assert word in documented[code], (code, documented[code])
        assert Exit(code) is not None  # every documented code is in the enum
    assert (Exit.OK, Exit.FAILED, Exit.USAGE, Exit.AUTH, Exit.NETWORK, Exit.AUDIT, Exit.PIPE) == (0, 1, 2, 3, 4, 5, 141)


def test_error_classes_carry_no_exit_code() -> None:
    classes = [c for c in vars(E).values() if isinstance(c, type) and issubclass(c, BaseException)]
    assert classes and not [c.__name__ for c in classes if "exit_code" in vars(c)]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (E.PrismeError("x"), 1),
        (E.WorkspaceLocked("x"), 1),
        (E.MergeConflict("x"), 1),
        (E.UsageError("x"), 2),
        (E.InvalidVersionName("x"), 2),
        (E.NotFound("x"), 2),
        (ConfigError("x"), 2),
        (E.AuthenticationFailed("x"), 3),
        (E.PermissionDenied("x"), 3),
        (E.GitCredentials("x"), 3),
        (E.NetworkError("x"), 4),
        (E.RequestTimeout("x"), 4),
        (E.ConnectionFailed("x"), 4),
        (E.ServerError("x"), 4),
        (E.EventsUnavailable("x"), 4),
        (E.RateLimited("x"), 4),
        (E.UnexpectedResponse("x"), 4),
        (E.StillProcessing("x"), 4),
        (E.GatewayTimeout("x"), 4),
        (E.BulkIncomplete("x"), 4),
        (E.Unsupported("x"), 4),
        (E.ArchiveRefused("x"), 4),
        (E.YamlTooComplex("x"), 4),
        (E.ResponseTooLarge("x"), 4),
        (KeyboardInterrupt(), 130),
        (BrokenPipeError(), 141),
        (OSError("disk"), 1),
    ],
)
def test_code_for_maps_each_error(error: BaseException, code: int) -> None:
    assert exits.code_for(error) == code


def test_outcomes_map_to_codes() -> None:
    up, down = Health("dev", True, True, True), Health("prod", False, None, None)
    assert exits.for_health([up]) == 0 and exits.for_health([up, down]) == 4
    unread = Matrix(["dev", "prod"], [])
    assert exits.for_matrix(unread) == 0
    unread.env_errors["prod"] = "timeout"  # nothing differs, but no drift cannot be promised
    assert exits.for_matrix(unread) == 4
