"""Start-up pays only for the first frame: heavy modules load when first used (bench/: start-up)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


SESSION = ("tui.app.main_screen", "tui.app.app", "tui.core.config", "tui.core.ops.context", "tui.cli.main")


def test_the_bench_floor_draws_the_main_layout_with_nothing_of_the_session() -> None:
    """The start-up row's floor (bench/scenarios.py) is Textual's work for our layout: it reaches its first
    frame importing none of the session (context, configuration, main screen) and nothing heavy."""
    from bench.scenarios import LAYOUT_FLOOR_CHILD

    probe = f"{LAYOUT_FLOOR_CHILD}\nimport sys\nprint('loaded:', *(m for m in {SESSION + HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    stamps, loaded = out.splitlines()[-2:]
    assert [float(v) > 0 for v in stamps.split()] == [True, True]  # the first frame was drawn
    assert loaded.split() == ["loaded:"]


def test_the_main_screen_starts_with_its_tier_and_the_breakpoints_of_the_terminal() -> None:
    from tui.app import layout

    assert layout.screen_classes("production", 80, 24) == ["-tier-production", "-narrow", "-short"]
    assert layout.screen_classes(None, 120, 40) == ["-wide", "-tall"]
    assert layout.screen_classes("staging", 99, 32) == ["-tier-staging", "-narrow", "-tall"]


def test_the_app_path_reads_its_options_and_configuration_without_argparse_json_or_the_ledger_store(
    tmp_path: Path,
) -> None:
    """What runs before the first frame (tui.cli.main, then tui.app.launch.run_app) leaves for later the
    parser, JSON (the journal's rows), the ledger's store and view, and the diff's ignore rules."""
    config = tmp_path / "config.toml"
    config.write_text('[environments.dev]\nurl = "http://127.0.0.1:9"\ntier = "development"\n', encoding="utf-8")
    later = ("argparse", "json", "tui.core.ledger.store", "tui.core.ledger.view", "tui.core.ignore")
    code = (
        "import sys; from pathlib import Path; from tui.cli.main import app_options; import tui.app.app; "
        "from tui.core import config; from tui.core.ops import policy; from tui.core.ops.context import Context; "
        f"options = app_options(['--read-only', '--config', {str(config)!r}]); "
        "ctx = Context.create(config.load(Path(options.config)), read_only=options.read_only, use_keyring=False); "
        "policy.enforce(ctx); "
        f"print(' '.join(m for m in {later!r} if m in sys.modules))"
    )
    env = {**os.environ, "PRISME_DEPLOY_DATA": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env).stdout
    assert out.split() == []


@pytest.mark.parametrize(
    ("argv", "options"),
    [
        ([], (None, False, False)),
        (["--no-mouse", "--config=a.toml", "--read-only", "--config", "b.toml"], ("b.toml", True, True)),
        (["--config", "-x"], None),  # argparse says the value is missing
        (["--read"], None),  # an abbreviation: argparse reads it
        (["status"], None),
    ],
)
def test_the_apps_options_are_read_without_argparse_and_the_rest_left_to_it(
    argv: list[str], options: tuple[str | None, bool, bool] | None
) -> None:
    from tui.cli.main import app_options

    found = app_options(argv)
    assert (found and (found.config, found.read_only, found.no_mouse)) == options
