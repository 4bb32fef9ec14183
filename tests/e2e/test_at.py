"""Issue 29 item 4: what ran where at an instant, from the import events and the release manifests; the
difference between two instants; "unknown before ..." where no record reaches back."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from tui.cli.main import main
from tui.core import errors as E
from tui.core.ops import at
from tui.sandbox.runner import Running

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_times_absolute_relative_and_in_the_users_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    try:
        now = dt.datetime(2026, 12, 7, 13, 0, tzinfo=dt.UTC)  # 14:00 in Paris
        assert at.parse_time("2h ago", now) == now - dt.timedelta(hours=2)
        assert at.parse_time("90 min ago", now) == now - dt.timedelta(minutes=90)
        assert at.parse_time("yesterday 14:00", now) == dt.datetime(2026, 12, 6, 13, 0, tzinfo=dt.UTC)
        assert at.parse_time("2026-12-07T09:00", now) == dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)
        assert at.parse_time("2026-12-07T09:00Z", now) == dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
        assert "(2026-12-07 13:00:00 UTC)" in at.shown(now) and "CET" in at.shown(now)
        for bad in ("soon", "yesterday 25:00", ""):
            with pytest.raises(E.UsageError):
                at.parse_time(bad, now)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_an_instant_is_what_the_snapshot_recorded_and_compare_says_what_changed_since(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "release", "snapshot", "--env", "staging", "--name", "s1", "--store", "local")[0] == 0
    code, out, err = cli(
        capsys,
        "rollback",
        "support-bot",
        "v1.1.0",
        "--repository",
        "release",
        "--env",
        "staging",
        "--discard-local-changes",
    )
    assert code == 0, out + err
    assert cli(capsys, "release", "snapshot", "--env", "staging", "--name", "s2", "--store", "local")[0] == 0
    s1 = json.loads(cli(capsys, "release", "show", "s1", "--json")[1])
    s2 = json.loads(cli(capsys, "release", "show", "s2", "--json")[1])
    assert s1["workspaces"]["support-bot"] == "v1.2.0" and s2["workspaces"]["support-bot"] == "v1.1.0"

    code, out, err = cli(capsys, "at", s1["createdAt"], "--env", "staging", "--json")
    assert code == 0, err
    then = json.loads(out)["environments"]["staging"]
    assert {slug: then[slug]["version"] for slug in s1["workspaces"]} == s1["workspaces"]
    assert then["support-bot"]["digest"]  # the content of v1.2.0, from its git tag

    code, out, err = cli(capsys, "at", s1["createdAt"], "--compare", "now", "--env", "staging", "--json")
    doc = json.loads(out)
    changed = {c["workspace"]: c for c in doc["changes"] if c["state"] == "changed"}
    assert code == 1 and set(changed) == {"support-bot"}, out + err
    assert changed["support-bot"]["from"]["version"] == "v1.2.0"
    assert changed["support-bot"]["to"]["version"] == "v1.1.0"
    assert changed["support-bot"]["to"]["source"] in ("import event", "release s2")

    code, out, _ = cli(capsys, "at", s1["createdAt"], "--env", "staging")
    assert code == 0 and "UTC" in out and "v1.2.0" in out


def test_before_every_record_the_answer_is_unknown_never_a_guess(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "at", "2001-01-01T00:00Z", "--env", "prod", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["complete"] is False, err
    answers = doc["environments"]["prod"].values()
    assert answers and all(a["version"] is None and a["unknown"].startswith("unknown") for a in answers)
    assert any("unknown before" in a["unknown"] for a in answers)


async def test_the_releases_view_steps_a_time_cursor_through_the_changes_with_keys(
    platform: dict[str, Running], isolated_home: Path
) -> None:
    from test_app import make_app, settle
    from textual.widgets import DataTable, Input, Label

    from tui.app.screens.releases import ReleasesScreen
    from tui.core.ops import actions, release

    root = Path(platform["dev"].sandbox.data_dir).parent
    app = make_app(platform, root, env="dev")
    s1 = release.save(app.ctx, await release.from_env(app.ctx, "staging", "s1"), None, local=True)
    rolled = await actions.pull(
        app.ctx,
        "staging",
        "support-bot",
        version="v1.1.0",
        repository="release",
        discard_local_changes=True,
        action="rollback",
    )
    assert rolled.ok, rolled.message

    def seen() -> tuple[str, dict[str, str]]:
        screen = app.screen
        assert isinstance(screen, ReleasesScreen)
        table = screen.query_one(DataTable)
        rows = {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[2]) for i in range(table.row_count)}
        return str(screen.query_one("#dialog-title", Label).render()), rows  # column 2: staging

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert seen()[0] == "Releases" and "s1" in seen()[1]
        await pilot.press("t")
        await pilot.pause()
        assert app.screen.query_one("#time-input", Input).has_focus
        await pilot.press(*s1.created_at, "enter")
        await settle(pilot)
        title, rows = seen()
        assert title.startswith("At ") and "UTC" in title, title
        # What s1 recorded at the instant it recorded it: read then, not deployed then (no ●).
        assert rows["support-bot"] == "v1.2.0", rows
        if time.localtime().tm_gmtoff == 0:  # the user's time is UTC: the instant reads once
            assert title.count("UTC") == 1, title

        await pilot.press("right_square_bracket")  # the next change: the rollback's import event
        await settle(pilot)
        title, rows = seen()
        assert rows["support-bot"] == "v1.1.0 ●", rows
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert seen()[1]["support-bot"] == "v1.2.0"
        await pilot.press("n")
        await settle(pilot)
        assert seen()[0] == "Releases" and "s1" in seen()[1]


def _t(minute: int) -> dt.datetime:
    return dt.datetime(2026, 12, 7, 14, minute, tzinfo=dt.UTC)


def test_the_state_at_an_instant_takes_the_last_record_and_says_what_it_cannot_know() -> None:
    found = at.Timeline(
        changes=[
            at.Change("prod", "kb", _t(10), "v1", "import event"),
            at.Change("prod", "kb", _t(20), "v2", "import event"),
            at.Change("prod", "kb", _t(20), "v3", "release r1", rank=1),  # the same instant: the snapshot wins
            at.Change("prod", "bot", _t(30), None, "import event"),  # "latest": no version named
            at.Change("prod", "hr", _t(5), "v9", "release r0", rank=1),
        ],
        workspaces={"prod": {"kb", "bot", "hr", "new"}},
        truncated={("prod", "kb"): _t(10)},
        gaps={("prod", "hr"): "its import events could not be read (500)"},
    )
    then = at.state_at(found, _t(15))
    assert then[("prod", "kb")].version == "v1" and then[("prod", "kb")].source == "import event"
    assert at.state_at(found, _t(25))[("prod", "kb")].version == "v3"
    assert then[("prod", "bot")].unknown.startswith("unknown before")  # its first record is later
    assert "no version named" in at.state_at(found, _t(40))[("prod", "bot")].unknown
    assert then[("prod", "hr")].version == "v9" and "would not be seen" in then[("prod", "hr")].caveat
    assert then[("prod", "new")].unknown.startswith("unknown: no import or release records it")
    assert at.state_at(found, _t(5))[("prod", "kb")].unknown.startswith("unknown before")

    changes = {c.workspace: c.state for c in at.compare(then, at.state_at(found, _t(25)))}
    assert changes == {"kb": "changed", "bot": "unknown", "new": "unknown"}
    assert found.instants() == [_t(5), _t(10), _t(20), _t(30)]


async def test_a_timeline_takes_any_source_that_keeps_the_protocol() -> None:
    """The ledger (another branch) will be one more source: a class with a name and ``read``."""
    from tui.core import config as cfg
    from tui.core.ops.context import Context

    class Ledger:
        name = "ledger"

        async def read(self, ctx: Context, envs: list[str], labels: list[str] | None) -> at.Timeline:
            return at.Timeline([at.Change("prod", "kb", _t(1), "v7", self.name, rank=2)], {"prod": {"kb"}})

    ctx = Context.create(cfg.parse('[environments.prod]\nurl = "http://127.0.0.1:9"\n'), use_keyring=False)
    found = await at.timeline(ctx, ["prod"], sources=[Ledger()])
    assert at.state_at(found, _t(2))[("prod", "kb")].source == "ledger"
