"""Screens an on-call engineer reads at a glance (issue 26): selection, keys, log, matrix, labels, legibility.

The app driven with Pilot against real sandboxes, and the CLI run as a user runs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app import log_text, make_app, settle
from test_app_plans import prod_with_startup_import  # noqa: F401  (a fixture)
from textual import events
from textual.widgets import Checkbox, SelectionList
from waits import wait_until

from tui.app.screens.modals import ActionModal
from tui.app.widgets.log_pane import LogView
from tui.app.widgets.virtual_table import VirtualTable
from tui.sandbox.runner import Running

pytestmark = pytest.mark.e2e


@pytest.fixture
def root_of(platform: dict[str, Running]) -> Path:
    return Path(platform["dev"].sandbox.data_dir).parent


# ------------------------------------------------------------------------------------------------ selection
async def test_a_group_then_a_filter_that_hide_the_selection_empty_the_history_and_turn_actions_off(
    platform: dict[str, Running], root_of: Path
) -> None:
    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for key in ("2", "down", "3"):  # the group base1, then the workspaces, as a person types them
            await pilot.press(key)
            await settle(pilot)
        assert app.main.selected_slug == "securechat"
        await pilot.press("slash")
        await settle(pilot)
        box = app.main.query_one("#filter")
        for char in "support-bot":  # in one burst, as a terminal sends a paste or fast typing
            box.post_message(events.Key(char, char))
        await settle(pilot)
        assert app.query_one("#workspaces", VirtualTable).row_count == 0
        assert app.main.selected_slug is None
        assert app.query_one("#versions", VirtualTable).row_count == 0
        await pilot.press("enter", "l")
        await settle(pilot)
        assert not isinstance(app.screen, ActionModal)


def cursor_on_screen(table: VirtualTable[object]) -> bool:
    first = int(table.scroll_y)
    return first <= table.cursor_row < first + table.scrollable_content_region.height - 1  # the header row


async def test_the_selected_row_stays_on_screen_through_resizes_themes_and_the_wheel(
    platform: dict[str, Running], root_of: Path
) -> None:
    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.query_one("#workspaces", VirtualTable)
        table.focus()
        await pilot.press("end")
        await settle(pilot)
        last = app.main.selected_slug
        assert last == table.cursor_key and last is not None
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert app.main.selected_slug == last and cursor_on_screen(table)
        app.theme = "prisme-high-contrast"
        await settle(pilot)
        assert app.main.selected_slug == last and cursor_on_screen(table)
        await pilot.press("home")
        await settle(pilot)
        for _ in range(6):  # the wheel moves the rows; the cursor follows onto one that is shown
            table.post_message(events.MouseScrollDown(table, 1, 2, 0, 1, 0, False, False, False))
        await settle(pilot)
        assert int(table.scroll_y) > 0 and cursor_on_screen(table)
        assert app.main.selected_slug == table.cursor_key


# ------------------------------------------------------------------------------------------------ dialogs
def drawn(widget: object) -> str:
    """What a widget shows, as text (its lines as the terminal gets them)."""
    region = widget.content_region  # type: ignore[attr-defined]
    return "\n".join(
        "".join(s.text for s in widget.render_line(y))
        for y in range(region.height)  # type: ignore[attr-defined]
    )


async def test_space_ticks_checkboxes_and_list_items_which_read_ticked_without_colour(
    platform: dict[str, Running], root_of: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(platform, root_of, env="dev")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("P")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        groups = modal.query_one("#groups", SelectionList)
        groups.focus()
        await pilot.press("space")
        await pilot.pause()
        assert list(groups.selected) == ["base1"]
        assert "[✓] base1" in drawn(groups) and "[ ] base2" in drawn(groups)
        dry_run = modal.query_one("#dry_run", Checkbox)
        dry_run.focus()
        await pilot.press("space")
        await pilot.pause()
        assert dry_run.value is True and "[✓]" in str(dry_run.render())
        await pilot.press("space")
        await pilot.pause()
        assert dry_run.value is False and "[ ]" in str(dry_run.render())


# ------------------------------------------------------------------------------------------------ log
def last_line_shown(app: object) -> bool:
    pane = app.log_pane  # type: ignore[attr-defined]
    return pane.visible_lines()[-1:] == pane.lines()[-1:]


async def test_the_log_keeps_following_through_z_resizes_and_themes_and_end_resumes(
    platform: dict[str, Running], root_of: Path
) -> None:
    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pane = app.log_pane

        async def write(count: int) -> None:
            pane.add(*(f"line {n}" for n in range(count)))
            await settle(pilot)
            last = f" line {count - 1}"  # the pane flushes every 100 ms
            await wait_until(pilot, lambda: app.query_one(LogView).lines[-1].endswith(last), what="the lines drawn")

        await write(60)
        for step in ("z", "z", "resize", "theme", "z"):
            if step == "resize":
                await pilot.resize_terminal(80, 24)
            elif step == "theme":
                app.theme = "prisme-colorblind"
            else:
                await pilot.press(step)
            await settle(pilot)
            await write(5)
            assert pane.following and last_line_shown(app), step
        await pilot.press("z", "5", "up", "up")
        await write(5)
        assert not pane.following and not last_line_shown(app)  # the reader scrolled up: stays there
        await pilot.press("end")
        await write(5)
        assert pane.following and last_line_shown(app)


async def test_after_a_bulk_push_the_status_line_keeps_its_counts(platform: dict[str, Running], root_of: Path) -> None:
    from test_app import bulk_push

    from tui.app.widgets.log_pane import OpLine

    app = make_app(platform, root_of, env="dev")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await bulk_push(pilot, app, "base1", "v3.2.0", force=True)
        await settle(pilot)
        line = app.query_one(OpLine)
        assert "Bulk push" in log_text(app)
        assert line.title != "idle" and "3/3" in line.title and line.title.endswith("done"), line.title


# ------------------------------------------------------------------------------------------------ labels
@pytest.mark.usefixtures("a_reason")
async def test_after_an_archive_promotion_the_table_and_history_say_content_of_not_the_old_label(
    platform: dict[str, Running], root_of: Path
) -> None:
    from textual.widgets import Input

    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.query_one("#workspaces", VirtualTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("support-bot"))
        await settle(pilot)
        await pilot.press("o")  # from staging, by archive: the label stays v1.1.0
        await settle(pilot)
        app.screen.query_one("#confirm-input", Input).value = "support-bot"
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        assert table.get_cell("support-bot", "live") == "content of staging:support-bot"
        versions = app.query_one("#versions", VirtualTable)
        assert versions.row_count and versions.get_cell("v1.1.0", "live") == "~"  # not "*": not live content
        assert "*" not in [versions.get_cell(key, "live") for key in (versions.row_key(r) for r in versions.rows)]
        assert str(versions.border_subtitle).startswith("~ content of staging:support-bot by archive")


# ------------------------------------------------------------------------------------------------ matrix
@pytest.mark.usefixtures("a_reason")
async def test_the_matrix_tells_the_dirty_flag_from_content_enter_marks_and_it_refreshes_after_a_promotion(
    platform: dict[str, Running], root_of: Path
) -> None:
    from textual.widgets import DataTable, Input

    from tui.app.screens.matrix import MatrixScreen

    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MatrixScreen)
        cells = screen.matrix.cells
        flagged = [key for key, cell in cells.items() if cell.dirty and cell.version]
        assert flagged  # every pull marks a workspace dirty on this platform
        for key in flagged:  # the flag alone is not "content is not its label": the content says
            cell = cells[key]
            assert cell.label_differs is not None, key
            assert ("✎" in cell.text) == cell.label_differs, (key, cell.text)
        plain = [cells[k] for k in flagged if not cells[k].label_differs]
        assert plain and all(" °" in c.text for c in plain)
        table = screen.query_one(DataTable)
        envs = screen.matrix.envs
        row = screen.matrix.slugs.index("hr-assistant")
        table.move_cursor(row=row, column=1 + envs.index("staging"))
        await pilot.press("enter")
        await pilot.pause()
        assert screen.marked == ("hr-assistant", "staging")
        before = screen.matrix
        assert before.cells[("hr-assistant", "prod")].differs_from_left
        table.move_cursor(row=row, column=1 + envs.index("prod"))
        await pilot.press("p")
        await settle(pilot)
        app.screen.query_one("#accept_drift", Checkbox).focus()
        await pilot.press("space")  # prod's drift (hand edits) accepted: overwritten
        app.screen.query_one("#confirm-input", Input).value = "hr-assistant"
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        assert app.screen is screen
        assert screen.matrix is not before  # built again
        assert screen.matrix.cells[("hr-assistant", "prod")].differs_from_left is False


# ------------------------------------------------------------------------------------------------ legibility
def test_intra_line_highlights_cover_whole_words() -> None:
    from tui.core.diff import _intraline

    new = "  model: gpt-4o-mini\n"
    old_spans, new_spans = _intraline("  model: gpt-4o\n", new)
    assert old_spans == () and [new[a:b] for a, b in new_spans] == ["-mini"]
    old, new = "  prompt: answer politely\n", "  prompt: answer briefly\n"
    old_spans, new_spans = _intraline(old, new)
    assert [old[a:b] for a, b in old_spans] == ["politely"] and [new[a:b] for a, b in new_spans] == ["briefly"]


async def test_a_newer_version_is_a_roll_forward_and_pull_names_the_latest_version(
    platform: dict[str, Running], root_of: Path
) -> None:
    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.query_one("#workspaces", VirtualTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("securechat"))
        await settle(pilot)
        live = app.main.current_ws().live_version  # type: ignore[union-attr]
        names = [v.name for v in app.main.versions]
        newer = names[0]
        assert names.index(newer) < names.index(live)  # newest first: this one is newer than live
        versions = app.query_one("#versions", VirtualTable)
        versions.focus()
        versions.move_cursor(row=versions.get_row_index(newer))
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal) and modal.title_text == "Roll forward securechat"
        assert any(line.startswith(f"Roll forward to: {newer}") for line in modal.summary_lines)
        await pilot.press("escape", "3", "l")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        assert f"-> latest ({newer}, the newest in the history)" in "\n".join(modal.summary_lines)


async def test_the_pull_dialog_names_the_chosen_repositorys_latest_not_a_newer_native_version(
    platform: dict[str, Running], root_of: Path
) -> None:
    """dev holds a native "pre-demo" newer than the release repository's tags: pulling latest from
    release must name release's newest (found by a walkthrough: it named pre-demo and pulled v1.2.0)."""
    app = make_app(platform, root_of, env="dev")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.query_one("#workspaces", VirtualTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("securechat"))
        await settle(pilot)
        versions = app.main.versions
        assert versions and versions[0].repository_id is None  # the newest of the history is native here
        newest_release = max((v for v in versions if v.repository_id == "release"), key=lambda v: v.created_at or "")
        await pilot.press("l")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        summary = "\n".join(modal.summary_lines)
        assert f"-> latest ({newest_release.name}, the newest in the history)" in summary, summary


async def test_two_versions_are_diffed_by_marking_one_and_pressing_d_on_another(
    platform: dict[str, Running], root_of: Path
) -> None:
    from tui.app.screens.diff import DiffScreen

    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.query_one("#workspaces", VirtualTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("securechat"))
        await settle(pilot)
        await pilot.press("4", "end", "space")  # the oldest version, marked
        oldest = app.main.selected_version
        versions = app.query_one("#versions", VirtualTable)
        assert versions.get_cell(oldest, "name") == f"▶ {oldest}"
        await pilot.press("home", "d")
        newest = app.main.selected_version
        await settle(pilot)
        assert isinstance(app.screen, DiffScreen)
        assert app.screen.title_text == f"Diff  prod:securechat@{oldest}  →  prod:securechat@{newest}"


# ------------------------------------------------------------------------------------------------ smaller
async def test_a_theme_chosen_in_the_palette_is_kept_and_a_first_run_mentions_the_demo(tmp_path: Path) -> None:
    from datetime import datetime

    from tui.app.app import PrismeDeployApp
    from tui.core import config as cfg
    from tui.core.ops.context import Context

    path = tmp_path / "config.toml"
    path.write_text("# mine\n[ui]\nlog_lines = 500\n")
    ctx = Context.create(cfg.load(path), use_keyring=False)
    app = PrismeDeployApp(ctx, clock=lambda: datetime(2026, 3, 2, 9, 30))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "prisme-deploy demo" in log_text(app)  # nothing configured: where to start
        app.theme = "prisme-colorblind"  # what the palette's "Change theme" does
        await app.workers.wait_for_complete()
        await pilot.pause()
    text = path.read_text()
    assert 'theme = "prisme-colorblind"' in text and "# mine" in text
    assert cfg.load(path).ui["theme"] == "prisme-colorblind"


def test_activity_rows_say_who_in_words_and_never_a_python_repr() -> None:
    from tui.core.api.models import Event
    from tui.core.ops import format as fmt

    event = Event(
        "1",
        "workspaces.updated",
        "2026-03-02T09:10:11.000Z",
        {"workspace": {"id": "w1", "slug": "support-bot"}, "changes": [1, 2], "by": "x"},
        {"userId": "system:startup-import"},
    )
    row = fmt.event_row(event)
    assert "{" not in row[2] and "'" not in row[2] and "support-bot" in row[2]
    assert row[3] == "(no user: startup import)"  # the old sandbox's invented id, in words
    bulk = Event("2", "workspaces.bulkImport.completed", "2026-03-02T09:10:11.000Z", {}, {})
    assert fmt.event_row(bulk)[3] == "(no user: startup import)"  # how a real instance records it: no user
    mine = Event("3", "workspaces.bulkImport.completed", "2026-03-02T09:10:11.000Z", {}, {"userId": "u1"})
    assert fmt.event_row(mine)[3] == "u1"


async def test_read_only_refuses_a_key_with_a_word_and_offers_no_rollout(
    platform: dict[str, Running], root_of: Path
) -> None:
    from tui.app.screens.activity import TableScreen

    app = make_app(platform, root_of, env="dev", read_only=True)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        assert not isinstance(app.screen, ActionModal)
        assert any("Push is off: --read-only" in str(n.message) for n in app._notifications)
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, TableScreen) and not app.screen.selectable
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TableScreen)  # no rollout dialog behind enter


@pytest.mark.usefixtures("a_reason")
async def test_the_banner_keeps_at_risk_after_a_plain_rollback_and_frozen_in_a_window(
    prod_with_startup_import: tuple[dict[str, Running], Path],  # noqa: F811  (the fixture imported above)
) -> None:
    from test_app_truth import open_version
    from textual.widgets import Input

    instances, root = prod_with_startup_import
    app = make_app(instances, root, env="prod", extra="")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_version(pilot, app, "knowledge-base", "v1.1.0")
        await pilot.press("r")
        await settle(pilot)
        app.screen.query_one("#confirm-input", Input).value = "knowledge-base"
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        assert "AT RISK: knowledge-base" in str(app.query_one("#banner").render())
        log = log_text(app)
        assert "AT RISK" in log and "tick the box below" not in log  # the dialog is closed by then
    frozen = make_app(instances, root, env="prod", extra="")
    prod = frozen.ctx.config.environments["prod"]
    object.__setattr__(prod, "freeze", ("2020-01-01/2099-12-31 UTC",))
    async with frozen.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "FROZEN" in str(frozen.query_one("#banner").render())


async def test_toasts_are_short_and_stay_off_the_focused_field_at_80x24(
    platform: dict[str, Running], root_of: Path
) -> None:
    from textual.widgets import Input
    from textual.widgets._toast import Toast

    app = make_app(platform, root_of, env="dev")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("P")
        await settle(pilot)
        field = app.screen.query_one("#name", Input)
        field.focus()
        app.notify("A long message that takes two or three lines of a toast at eighty columns " * 2)
        app.notify("An error", severity="error", timeout=20)
        await wait_until(pilot, lambda: len(app.screen.query(Toast)) >= 2, what="both toasts")
        toasts = list(app.screen.query(Toast))
        assert toasts and all(not t.region.overlaps(field.region) for t in toasts), [t.region for t in toasts]
        assert all(n.timeout <= 6 for n in app._notifications)


async def test_tables_fit_their_pane_at_80x24_and_120x40_without_a_horizontal_scrollbar(
    platform: dict[str, Running], root_of: Path
) -> None:
    for size in ((80, 24), (120, 40)):
        app = make_app(platform, root_of, env="prod")
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            for selector in ("#workspaces", "#versions"):
                table = app.query_one(selector, VirtualTable)
                assert table.row_count, (size, selector)
                assert not table.show_horizontal_scrollbar, (size, selector)
                assert table.virtual_size.width <= table.scrollable_content_region.width, (size, selector)
            versions = app.query_one("#versions", VirtualTable)
            dates = [versions.get_cell(versions.row_key(r), "date") for r in versions.rows]
            assert dates and all("T" not in d and len(d) <= 18 for d in dates), dates  # "2 h ago · 09:10", not ISO


async def test_the_apps_bulk_push_keeps_the_reason_in_the_description_as_the_cli_does(
    platform: dict[str, Running], root_of: Path
) -> None:
    from textual.widgets import Input

    app = make_app(platform, root_of, env="dev")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("P")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        modal.query_one(SelectionList).select("base1")
        modal.query_one("#name", Input).value = "v3.3.0"
        modal.query_one("#description", Input).value = "ship it"
        modal.query_one("#reason", Input).value = "CHG-9"
        modal.query_one("#force", Checkbox).value = True
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        table = app.query_one("#workspaces", VirtualTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("securechat"))
        await settle(pilot)
        described = {v.name: v.description for v in app.main.versions}
        assert described.get("v3.3.0") == "ship it (reason: CHG-9)", described


def test_table_dates_read_as_time_ago_and_local_time() -> None:
    from datetime import datetime, timedelta, timezone

    from tui.core.ops.history import ago

    paris = timezone(timedelta(hours=1))
    now = datetime(2026, 3, 2, 11, 30, tzinfo=paris)
    assert ago("2026-03-02T08:10:00Z", now) == "2 h ago · 09:10"  # 08:10 UTC is 09:10 in Paris
    assert ago("2026-03-02T10:10:00Z", now) == "20 min ago · 11:10"
    assert ago("2026-02-20T10:10:00Z", now) == "10 d ago · 02-20"
    assert ago(None, now) == ""
