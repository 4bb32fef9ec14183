"""Hardening round 2 (issue 25), through the CLI against the sandbox: the rails of a configured
environment hold whatever spelling of its address reaches it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tui.cli.main import main
from tui.sandbox.runner import Running

pytestmark = pytest.mark.e2e


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_same_instance_normalises_the_origin() -> None:
    from tui.core.ops.context import same_instance

    assert same_instance("http://127.0.0.1:8080", "http://localhost:8080/")
    assert same_instance("https://api.example.com", "https://API.example.com:443/")
    assert same_instance("https://api.example.com/v2", "https://api.example.com")
    assert not same_instance("http://127.0.0.1:8080", "http://127.0.0.1:8081")
    assert not same_instance("https://127.0.0.1:8080", "http://127.0.0.1:8080")


@pytest.mark.parametrize("spelling", ["localhost", "slash", "same"])
def test_url_at_a_configured_address_keeps_its_rails_and_its_name(
    configured: Path,
    platform: dict[str, Running],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    isolated_home: Path,
    spelling: str,
) -> None:
    configured.write_text(
        configured.read_text().replace('tier = "production"', 'tier = "production"\nread_only = true')
    )
    prod = platform["prod"]
    port = urlsplit(prod.url).port
    url = {"localhost": f"http://localhost:{port}", "slash": f"{prod.url}/", "same": prod.url}[spelling]
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN", prod.token)
    code, out, err = cli(capsys, "unlock", "knowledge-base", "--url", url, "--yes", "--reason", "r")
    assert code == 2 and "'prod' is marked read_only" in err, (code, out, err)
    code, out, err = cli(capsys, "workspaces", "--url", url, "--json")
    assert code == 0, err
    assert not list(isolated_home.rglob("*localhost*")) and not list(isolated_home.rglob(f"*-{port}*"))


# ------------------------------------------------------------------------------------------ config validate
GOOD_ENV = '[environments.prod]\nurl = "https://api.example.com"\n'


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ('[[rollout]]\nstage = "p"\nenvironments = ["prod"]\nsoak = inf\n', "not a duration"),
        ('[[rollout]]\nstage = "p"\nenvironments = ["prod"]\nsoak = nan\n', "not a duration"),
        ('[[rollout]]\nstage = "p"\nenvironments = ["nowhere"]\n', "nowhere"),
        ('[[rollout]]\nstage = "p"\nenvironments = ["prod"]\nparallel = 2\n', "unknown key"),
        ('[[smoke]]\nworkspace = 5\nautomation = "a"\n', "required"),
        ('[diff]\ntool = "delta --pager \'less"\n', "not a command line"),
    ],
)
def test_config_validate_covers_every_table(
    isolated_home: Path, capsys: pytest.CaptureFixture[str], extra: str, said: str
) -> None:
    path = isolated_home / "c.toml"
    path.write_text(GOOD_ENV + extra)
    code, out, err = cli(capsys, "config", "validate", "--config", str(path))
    assert code == 2, (out, err)
    assert said in err and "Traceback" not in err


def test_an_unbalanced_pager_is_said_and_the_output_is_not_lost(
    isolated_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from tui.cli import pager

    path = isolated_home / "c.toml"
    path.write_text(GOOD_ENV)
    monkeypatch.setenv("PAGER", "less '-R")
    code, _, err = cli(capsys, "config", "validate", "--config", str(path))
    assert code == 2 and "PAGER=" in err and "not a command line" in err

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    class Printer:
        json_mode = False
        pager_tool = None
        out = Tty()

    printer = Printer()
    args = type("Args", (), {"no_pager": False})()
    monkeypatch.setattr("sys.stdout", printer.out)
    with pager.paging(args, printer):  # type: ignore[arg-type]
        printer.out.write("the output\n")
    assert "the output" in printer.out.getvalue()
    assert "not a command line" in capsys.readouterr().err


def test_an_unbalanced_diff_tool_is_an_error_in_the_app_not_a_crash() -> None:
    from tui.app.external_diff import run

    assert "not a command line" in str(run(object(), "delta '", "patch"))


# ------------------------------------------------------------------------------------------ freeze and DST
@pytest.mark.parametrize(
    "window", ["18:00-02:30 Europe/Paris", "01:00-02:30 Europe/Paris", "Sat 20:00-Sun 02:30 Europe/Paris"]
)
def test_a_freeze_window_holds_during_the_repeated_hour_of_a_dst_fall_back(window: str) -> None:
    from datetime import UTC, datetime

    from tui.core import freeze

    # 2026-10-25: Paris goes from 03:00 CEST back to 02:00 CET; 01:15 UTC is the second 02:15 (fold=1).
    second_pass = datetime(2026, 10, 25, 1, 15, tzinfo=UTC)
    assert freeze.state("prod", [window], second_pass).frozen
    first_pass = datetime(2026, 10, 25, 0, 15, tzinfo=UTC)  # the first 02:15 (CEST)
    assert freeze.state("prod", [window], first_pass).frozen
    assert not freeze.state("prod", [window], datetime(2026, 10, 25, 2, 0, tzinfo=UTC)).frozen  # 03:00 CET


# ------------------------------------------------------------------------------------------ steps of one operation
def test_a_native_push_right_after_a_failed_git_push_reports_only_its_own_steps(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    import httpx

    dev = platform["dev"]
    headers = {"Authorization": f"Bearer {dev.token}"}
    httpx.post(f"{dev.url}/sandbox/realism", json={"event_lag": 0}, headers=headers).raise_for_status()
    httpx.post(f"{dev.url}/sandbox/faults", json={"push_fail": ["securechat"]}, headers=headers).raise_for_status()
    code, _, err = cli(
        capsys, "push", "securechat", "--env", "dev", "--name", "v9.0.0", "-m", "x", "--repository", "release"
    )
    assert code != 0, err
    code, out, err = cli(capsys, "push", "securechat", "--env", "dev", "--name", "v9.0.1", "-m", "x", "--json")
    assert code == 0, err
    steps = json.loads(out)["steps"]
    assert not any(step.startswith("error") for step in steps), steps
    assert not any("release" in step or "Fetching" in step for step in steps), steps


@pytest.mark.parametrize(
    ("window", "inside", "outside"),
    [
        # a date window in Paris, ending on the fall-back day: its last day ends at midnight CET (23:00 UTC)
        (
            "2026-10-24/2026-10-25 Europe/Paris",
            datetime(2026, 10, 25, 22, 59, tzinfo=UTC),
            datetime(2026, 10, 25, 23, 0, tzinfo=UTC),
        ),
        # starting on it: from its midnight CEST (22:00 UTC the day before)
        (
            "2026-10-25/2026-10-26 Europe/Paris",
            datetime(2026, 10, 24, 22, 0, tzinfo=UTC),
            datetime(2026, 10, 24, 21, 59, tzinfo=UTC),
        ),
        # a daily window that ends in the repeated hour ends at its later reading (02:30 CET = 01:30 UTC)
        (
            "22:00-02:30 Europe/Paris",
            datetime(2026, 10, 25, 1, 29, tzinfo=UTC),
            datetime(2026, 10, 25, 1, 31, tzinfo=UTC),
        ),
        # and one that starts in it starts at its earlier reading (02:10 CEST = 00:10 UTC)
        (
            "02:10-04:00 Europe/Paris",
            datetime(2026, 10, 25, 0, 10, tzinfo=UTC),
            datetime(2026, 10, 25, 0, 9, tzinfo=UTC),
        ),
    ],
)
def test_freeze_windows_start_at_their_earliest_and_end_at_their_latest_reading(
    window: str, inside: datetime, outside: datetime
) -> None:
    from tui.core import freeze

    assert freeze.state("prod", [window], inside).frozen, inside
    assert not freeze.state("prod", [window], outside).frozen, outside
