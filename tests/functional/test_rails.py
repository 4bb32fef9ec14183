"""A reason on every change, and freeze windows with break-glass (issue 17, parts 2 and 3)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tui.cli.main import main
from tui.core import config as cfg
from tui.core import errors as E
from tui.core import freeze
from tui.core.rails import clean_reason, with_reason


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# ---------------------------------------------------------------------------------------------- unit
def test_reason_is_one_printable_bounded_line() -> None:
    assert clean_reason("  CHG-1\n  hotfix\x1b[2J ") == "CHG-1 hotfix\\x1b[2J"
    assert clean_reason(None) is None
    with pytest.raises(E.UsageError, match="empty"):
        clean_reason(" \n ")
    with pytest.raises(E.UsageError, match="at most 500"):
        clean_reason("x" * 501)
    assert with_reason("ship it", "CHG-1") == "ship it (reason: CHG-1)"
    assert with_reason(None, "CHG-1") == "reason: CHG-1" and with_reason("ship", None) == "ship"


def test_weekly_window_over_the_weekend_in_paris() -> None:
    windows = ["Fri 16:00-Mon 08:00 Europe/Paris"]
    saturday = freeze.state("prod", windows, at("2026-11-28T12:00:00+01:00"))
    assert saturday.frozen and saturday.current is not None
    assert saturday.current[2] == at("2026-11-30T08:00:00+01:00")
    thursday = freeze.state("prod", windows, at("2026-11-26T12:00:00+01:00"))
    assert not thursday.frozen and thursday.upcoming is not None
    assert thursday.upcoming[1] == at("2026-11-27T16:00:00+01:00")
    # Friday 15:59 is open, 16:00 is frozen; Monday 08:00 is open again.
    assert not freeze.state("prod", windows, at("2026-11-27T15:59:00+01:00")).frozen
    assert freeze.state("prod", windows, at("2026-11-27T16:00:00+01:00")).frozen
    assert not freeze.state("prod", windows, at("2026-11-30T08:00:00+01:00")).frozen


def test_window_keeps_its_wall_clock_hours_across_the_end_of_summer_time() -> None:
    # Europe/Paris leaves summer time on Sunday 2026-10-25: Friday 16:00 is 14:00 UTC, Monday 08:00 is 07:00 UTC.
    state = freeze.state("prod", ["Fri 16:00-Mon 08:00 Europe/Paris"], at("2026-10-24T12:00:00+00:00"))
    assert state.current is not None
    assert state.current[1] == at("2026-10-23T14:00:00+00:00") and state.current[2] == at("2026-10-26T07:00:00+00:00")


def test_date_window_includes_its_last_day_and_daily_window_wraps_midnight() -> None:
    windows = ["2026-12-20/2027-01-03"]
    assert freeze.state("prod", windows, at("2027-01-03T23:59:00+00:00")).frozen
    assert not freeze.state("prod", windows, at("2027-01-04T00:00:00+00:00")).frozen
    upcoming = freeze.state("prod", windows, at("2026-12-01T00:00:00+00:00")).upcoming
    assert upcoming is not None and upcoming[1] == at("2026-12-20T00:00:00+00:00")
    nightly = ["18:00-08:00 UTC"]
    assert freeze.state("prod", nightly, at("2026-11-25T23:00:00+00:00")).frozen
    assert freeze.state("prod", nightly, at("2026-11-26T07:59:00+00:00")).frozen
    assert not freeze.state("prod", nightly, at("2026-11-26T12:00:00+00:00")).frozen
    # Overlapping windows: the one in force is the one that ends last.
    both = freeze.state("prod", [*nightly, *windows], at("2026-12-21T23:00:00+00:00"))
    assert both.current is not None and both.current[0].text == windows[0]


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ("Fri 16:00-Mon 08:00 Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("Fry 16:00-Mon 08:00", "'Fry' is not a day"),
        ("Fri 16:00-08:00", "a day on both sides"),
        ("2027-01-03/2026-12-20", "the last day comes before the first"),
        ("weekends", "is not a freeze window"),
        ("Fri 25:00-Mon 08:00", "is not a freeze window"),
    ],
)
def test_bad_freeze_windows_are_refused_with_file_and_line(tmp_path: Path, window: str, message: str) -> None:
    text = f'[environments.prod]\nurl = "https://api.example.com"\ntier = "production"\nfreeze = ["{window}"]\n'
    with pytest.raises(cfg.ConfigError, match=r"c\.toml:4: freeze window .*" + message.replace("(", r"\(")):
        cfg.parse(text, tmp_path / "c.toml")


def test_production_requires_a_reason_by_default(tmp_path: Path) -> None:
    text = '[environments.prod]\nurl = "https://a.example.com"\ntier = "production"\n'
    text += '[environments.dev]\nurl = "https://b.example.com"\n[environments.qa]\nurl = "https://c.example.com"\n'
    text += "require_reason = true\n"
    envs = cfg.parse(text, tmp_path / "c.toml").environments
    assert envs["prod"].require_reason and not envs["dev"].require_reason and envs["qa"].require_reason


# ---------------------------------------------------------------------------------------------- CLI end to end
def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _journal(capsys: pytest.CaptureFixture[str], *filters: str) -> list[dict]:
    code, out, _ = _cli(capsys, "audit", "--json", *filters)
    assert code == 0
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _add_to_env(path: Path, env: str, line: str) -> None:
    text = path.read_text(encoding="utf-8").replace(f"[environments.{env}]\n", f"[environments.{env}]\n{line}\n", 1)
    path.write_text(text, encoding="utf-8")


@pytest.mark.e2e
def test_reason_required_on_prod_recorded_in_journal_and_version_description(
    configured: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rollback = ["rollback", "securechat", "v1.0.0", "--repository", "release", "--env", "prod", "--yes"]
    code, out, err = _cli(capsys, *rollback)
    assert code == 2 and "prod requires a reason" in err and "--reason" in err
    assert _journal(capsys) == []  # refused before anything ran

    monkeypatch.setenv("PRISME_DEPLOY_REASON", "INC-4242 bad release")
    assert _cli(capsys, *rollback)[0] == 0
    monkeypatch.delenv("PRISME_DEPLOY_REASON")
    # dev does not require one; a reason given goes into the version description (the commit message).
    push = ["push", "support-bot", "--env", "dev", "--name", "v1.9.0", "-m", "ship it", "--repository", "release"]
    assert _cli(capsys, *push, "--reason", "CHG-7")[0] == 0
    code, out, _ = _cli(capsys, "versions", "support-bot", "--env", "dev", "--json")
    described = {v["name"]: v["description"] for v in json.loads(out)}
    assert described["v1.9.0"] == "ship it (reason: CHG-7)"

    entries = _journal(capsys)
    expected = [("push", "CHG-7"), ("rollback", "INC-4242 bad release")]
    assert [(e["action"], e["reason"]) for e in entries[:2]] == expected
    assert [e["action"] for e in _journal(capsys, "--reason", "inc-4242")] == ["rollback"]
    code, out, _ = _cli(capsys, "audit", "--reason", "CHG-7")
    assert code == 0 and "CHG-7" in out and "INC-4242" not in out


@pytest.mark.e2e
def test_freeze_refuses_with_the_end_time_and_break_glass_is_audited(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _add_to_env(configured, "prod", 'freeze = ["2020-01-01/2099-12-31", "Sat 00:00-Sun 00:00 Europe/Paris"]')
    rollback = ["rollback", "securechat", "v1.0.0", "--repository", "release", "--env", "prod", "--yes"]
    code, _, err = _cli(capsys, *rollback, "--reason", "INC-1")
    assert code == 1 and "prod is frozen until 2100-01-01T00:00+00:00" in err and "--break-glass" in err
    assert _journal(capsys) == []
    # A dry run changes nothing: allowed during a freeze. The promotion itself is refused.
    promote = ["promote", "--from", "staging:hr-assistant", "--to", "prod:hr-assistant", "--yes", "--reason", "x"]
    assert _cli(capsys, *promote, "--dry-run")[0] == 0
    code, _, err = _cli(capsys, *promote, "--accept-drift")
    assert code == 1 and "frozen until" in err

    code, out, _ = _cli(capsys, *rollback, "--break-glass", "INC-9 outage", "--json")
    assert code == 0 and json.loads(out)["ok"]
    (entry,) = _journal(capsys)
    assert entry["action"] == "rollback" and entry["outcome"] == "ok" and entry["breakGlass"] == "INC-9 outage"
    code, out, _ = _cli(capsys, "audit")
    assert "BREAK-GLASS: INC-9 outage" in out

    code, out, _ = _cli(capsys, "freeze", "status", "--json")
    states = {s["env"]: s for s in json.loads(out)}
    assert states["prod"]["frozen"] and states["prod"]["current"]["end"] == "2100-01-01T00:00+00:00"
    assert not states["dev"]["frozen"] and states["dev"]["next"] is None
    code, out, _ = _cli(capsys, "freeze", "status")
    prod_line = next(line for line in out.splitlines() if line.startswith("prod"))
    assert "FROZEN" in prod_line and "until 2100-01-01T00:00+00:00" in prod_line and "Sat 00:00-Sun 00:00" in prod_line


@pytest.mark.e2e
def test_bad_freeze_window_in_the_file_exits_2_with_its_line(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _add_to_env(configured, "prod", 'freeze = ["Fri 16:00-Mon 08:00 Europe/Pariss"]')
    code, _, err = _cli(capsys, "freeze", "status")
    line = configured.read_text(encoding="utf-8").splitlines().index('freeze = ["Fri 16:00-Mon 08:00 Europe/Pariss"]')
    assert code == 2 and f"config.toml:{line + 1}: freeze window" in err and "Europe/Pariss" in err
    assert "Traceback" not in err
