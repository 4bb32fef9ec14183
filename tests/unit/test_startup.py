"""Start-up pays only for the first frame: heavy modules load when first used (bench/: start-up)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tui.lazy import lazy

HEAVY = (
    *("httpx", "yaml", "tomlkit", "tui.core.diff", "tui.core.ops.actions", "tui.app.screens.modals"),
    *("tui.app.controllers.operations", "tui.app.controllers.bulk", "tui.app.controllers.promotion"),  # on first use
)


def loaded_after(code: str) -> set[str]:
    # A lazy module sits in sys.modules as a placeholder until first used: only executed ones count.
    probe = (
        f"{code}; import sys; print(' '.join(m for m in {HEAVY!r} "
        "if m in sys.modules and type(sys.modules[m]).__name__ != '_LazyModule'))"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return set(out.split())


def test_the_app_module_does_not_load_what_operations_need() -> None:
    assert loaded_after("import tui.app.app") == set()


def test_the_policy_the_app_enforces_before_its_first_frame_does_not_load_git_or_the_api_models() -> None:
    code = "import tui.app.launch, tui.core.ops.policy, tui.app.app, sys"
    probe = f"{code}; print(' '.join(m for m in ('tui.core.gitsource', 'tui.core.api.models') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    assert out.split() == []


def test_the_command_line_parser_does_not_load_the_core() -> None:
    assert loaded_after("from tui.cli.main import build_parser; build_parser().parse_args(['status'])") == set()


def test_every_command_builds_its_parser_without_importlib_metadata() -> None:
    """`info` reads package versions with importlib.metadata (and the email package under it) when run, not
    when its parser is built for another command (issue 30: `bulk-push` against curl -N)."""
    code = "from tui.cli.main import build_parser; import sys; build_parser().parse_args(['status'])"
    probe = f"{code}; print(' '.join(m for m in ('importlib.metadata', 'email') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    assert out.split() == []


def test_a_lazy_module_loads_on_first_use_and_a_missing_one_fails_at_once() -> None:
    code = (
        "from tui.lazy import lazy; import sys; m = lazy('tui.core.diff'); "
        "before = type(m).__name__; m.normalise; print(before, type(m).__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["_LazyModule", "module"]
    with pytest.raises(ModuleNotFoundError):
        lazy("tui.core.no_such_module")
