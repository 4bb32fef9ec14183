"""Every screen tells the truth (issue 13): the app driven with Pilot against real sandboxes.

Previews show what changes on the target, the version state after undo and promotion is the server's,
dialogs open at once and keep their buttons on screen, actions apply only to what is visibly selected.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import set_faults
from test_app import bulk_push, log_text, make_app, roll_back, settle
from textual import events
from textual.widgets import Button, Checkbox, DataTable, Input, SelectionList
from waits import wait_until

from tui.app.screens.diff import DiffScreen
from tui.app.screens.matrix import MatrixScreen
from tui.app.screens.modals import ActionModal
from tui.app.widgets.virtual_table import VirtualTable
from tui.core.api.client import PrismeClient
from tui.core.ops.requests import RollbackRequest
from tui.sandbox.runner import Running

pytestmark = pytest.mark.e2e


@pytest.fixture
def root_of(platform: dict[str, Running]) -> Path:
    return Path(platform["dev"].sandbox.data_dir).parent


async def select_workspace(pilot: object, app: object, slug: str) -> None:
    table = app.query_one("#workspaces")  # type: ignore[attr-defined]
    table.focus()
    table.move_cursor(row=table.get_row_index(slug))
    await settle(pilot)


def on_screen(app: object, *selectors: str) -> None:
    """Each widget is drawn whole inside the terminal (not scrolled away, not under the edge)."""
    screen = app.screen  # type: ignore[attr-defined]
    width, height = app.size  # type: ignore[attr-defined]
    for selector in selectors:
        widget = screen.query_one(selector)
        region = widget.region
        assert region.height >= 1 and region.bottom <= height and region.right <= width, (selector, region)
        visible = widget.parent.region if widget.parent is not None else region
        assert visible.contains_region(region) or widget.parent is screen, (selector, region, visible)
        body = screen.query("#dialog-body")
        if body and widget in body.first().walk_children():
            assert body.first().region.contains_region(region), (selector, region, body.first().region)


async def open_version(pilot: object, app: object, slug: str, version: str) -> None:
    await select_workspace(pilot, app, slug)
    versions = app.query_one("#versions")  # type: ignore[attr-defined]
    versions.focus()
    versions.move_cursor(row=versions.get_row_index(version))
    await pilot.pause()  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------ 1
async def test_promotion_preview_shows_what_changes_on_the_target(platform: dict[str, Running], root_of: Path) -> None:
    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await select_workspace(pilot, app, "support-bot")
        await pilot.press("o")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        preview = "\n".join(modal.details)
        assert "What changes on prod:support-bot" in preview
        assert "A automations/healthcheck.yml" in preview  # the promotion adds it to prod
        assert "D automations/healthcheck.yml" not in preview


# ------------------------------------------------------------------------------------------------ 2
@pytest.mark.usefixtures("a_reason")  # production requires a reason (issue 17)
async def test_undo_of_a_rollback_from_a_clean_version_pulls_it_again(
    platform: dict[str, Running], root_of: Path
) -> None:
    # The realistic sandbox marks every pull dirty (the docs' rule), so the seeded prod is never clean:
    # take the platform variant where a pull leaves a workspace clean, and make support-bot clean first.
    platform["prod"].sandbox.realism.dirty_after_pull = False
    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        # no key pulls one given version (l pulls the latest): the hook
        app.operations.run_pull(RollbackRequest(env="prod", slug="support-bot", version="v1.1.0", repository="release"))
        await settle(pilot)
        await roll_back(pilot, app, "support-bot", "v1.0.0")
        await settle(pilot)
        await pilot.press("U")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal) and "pulls v1.1.0 again" in "\n".join(modal.summary_lines)
        await pilot.press(*"support-bot", "enter")  # enter in a correct confirmation confirms
        await settle(pilot)
        assert "label and content agree" in log_text(app)
        row = app.query_one("#workspaces", VirtualTable).get_row("support-bot")
        assert [str(c) for c in row[1:3]] == ["clean", "v1.1.0"]
    async with PrismeClient(platform["prod"].url, platform["prod"].token) as api:
        ws = await api.find_workspace("support-bot")
    assert ws.live_version == "v1.1.0" and not ws.dirty


@pytest.mark.usefixtures("a_reason")  # production requires a reason (issue 17)
async def test_archive_promotion_says_label_and_content_disagree_and_the_matrix_compares_content(
    platform: dict[str, Running], root_of: Path
) -> None:
    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await select_workspace(pilot, app, "support-bot")
        await pilot.press("o")  # from the environment before: staging
        await settle(pilot)
        app.screen.query_one("#confirm-input", Input).value = "support-bot"
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        assert "content of staging:support-bot by archive; server label v1.1.0; marked dirty" in log_text(app)
        await select_workspace(pilot, app, "doc-search")
        await select_workspace(pilot, app, "support-bot")
        assert "content of staging:support-bot by archive" in str(app.query_one("#versions").border_subtitle)
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, MatrixScreen)
        cells = app.screen.matrix.cells
        assert cells[("support-bot", "prod")].text == "v1.1.0 ✎ ="  # same content as staging, label dirty
        assert cells[("support-bot", "dev")].text.endswith("✎")  # no relation mark: nothing to its left
        assert not cells[("support-bot", "dev")].text.endswith(("=", "≠"))


# ------------------------------------------------------------------------------------------------ 3
@pytest.mark.usefixtures("a_reason")  # production requires a reason (issue 17)
async def test_keys_typed_while_the_preview_computes_land_in_the_dialog(
    platform: dict[str, Running], root_of: Path
) -> None:
    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await open_version(pilot, app, "securechat", "v1.0.0")
        set_faults(platform["prod"], latency_ms=800)
        for char in "rsecurechat":  # one burst, as a fast typist or a paste over SSH sends it
            app.post_message(events.Key(char, char))
        await wait_until(  # the preview is still being computed (800 ms a request)
            pilot,
            lambda: isinstance(app.screen, ActionModal) and app.screen.query_one("#confirm-input", Input).value,
            what="the slug typed into the dialog",
        )
        modal = app.screen
        assert isinstance(modal, ActionModal)
        assert modal.query_one("#confirm-input", Input).value == "securechat"
        assert "computing" in str(modal.query_one("#dialog-details").render())
        assert modal.query_one("#confirm", Button).disabled  # never confirm blind
        await settle(pilot)
        set_faults(platform["prod"], latency_ms=0)
        assert "automations/chat.yml" in "\n".join(modal.details)
        assert not modal.query_one("#confirm", Button).disabled
        assert not app.ctx.audit.read()  # nothing ran on the main screen meanwhile
        assert [s for s in app.screen_stack if not isinstance(s, ActionModal)] == [app.main]  # no `a` activity


# ------------------------------------------------------------------------------------------------ 4
async def test_actions_apply_only_to_the_visibly_selected_workspace(
    platform: dict[str, Running], root_of: Path
) -> None:
    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"support-bot", "enter")
        await settle(pilot)
        assert app.main.selected_slug == "support-bot"
        await pilot.press("escape", "slash", *"zzz", "enter")
        await settle(pilot)
        assert app.query_one("#workspaces", VirtualTable).row_count == 0
        await pilot.press("4", "r", "p", "l")
        await settle(pilot)
        assert not isinstance(app.screen, ActionModal)
        assert app.main.selected_slug is None and app.query_one("#versions", VirtualTable).row_count == 0
        await pilot.press("escape")
        await settle(pilot)
        await select_workspace(pilot, app, "support-bot")
        groups = app.query_one("#groups")
        groups.focus()
        groups.highlighted = 1  # base1: support-bot is not in it
        await settle(pilot)
        assert app.main.selected_slug != "support-bot"
        assert app.main.selected_slug in {w.slug for w in app.main.visible_workspaces()}


# ------------------------------------------------------------------------------------------------ 8
async def test_drift_matrix_d_diffs_the_highlighted_column(platform: dict[str, Running], root_of: Path) -> None:
    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MatrixScreen)
        table = screen.query_one(DataTable)
        table.move_cursor(row=screen.matrix.slugs.index("hr-assistant"), column=3)  # prod
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DiffScreen)
        assert app.screen.title_text == "Diff  staging:hr-assistant  →  prod:hr-assistant"


# ------------------------------------------------------------------------------------------------ 15
async def test_every_dialog_shows_summary_confirmation_and_buttons_at_80x24(
    platform: dict[str, Running], root_of: Path
) -> None:
    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_version(pilot, app, "securechat", "v1.0.0")
        for keys in (["r"], ["l"], ["o"], ["p"]):
            await pilot.press(*keys)
            await settle(pilot)
            assert isinstance(app.screen, ActionModal), keys
            on_screen(app, "#dialog-summary", "#confirm-input", "#confirm", "#cancel")
            await pilot.press("escape")
            await settle(pilot)
    dev = make_app(platform, root_of, env="dev")
    async with dev.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("P")
        await settle(pilot)
        on_screen(dev, "#groups", "#name", "#description", "#dry_run", "#force", "#confirm")
        dev.screen.query_one(SelectionList).select("base1")
        dev.screen.query_one("#dry_run", Checkbox).value = True
        await pilot.pause()
        assert not dev.screen.query_one("#confirm", Button).disabled


# ------------------------------------------------------------------------------------------------ 19
async def test_home_and_end_move_the_cursor_in_the_tables(platform: dict[str, Running], root_of: Path) -> None:
    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select_workspace(pilot, app, "securechat")
        versions = app.query_one("#versions", VirtualTable)
        versions.focus()
        await pilot.press("end")
        await pilot.pause()
        assert versions.cursor_row == versions.row_count - 1 and versions.scroll_x == 0
        await pilot.press("home")
        await pilot.pause()
        assert versions.cursor_row == 0


# ------------------------------------------------------------------------------------------------ 16
@pytest.mark.parametrize(
    ("env", "badge", "standard", "eight_bit"),
    [("prod", "PROD", {1, 9}, {124, 160, 196}), ("staging", "STAGING", {3, 11}, {178, 220})],
)
async def test_the_banner_colour_survives_16_and_256_colours(
    platform: dict[str, Running], root_of: Path, env: str, badge: str, standard: set[int], eight_bit: set[int]
) -> None:
    """What a terminal gets: the banner's cells after the app's own filters, downgraded as Rich does."""
    from rich.color import ColorSystem

    app = make_app(platform, root_of, env=env)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        banner = app.query_one("#banner")
        segments = list(banner.render_line(0))
        for line_filter in app.get_line_filters():
            segments = line_filter.apply(segments, banner.background_colors[1])
        text = "".join(s.text for s in segments)
        assert text.lstrip().startswith(badge)
        backgrounds = {s.style.bgcolor for s in segments if s.text.strip() and s.style and s.style.bgcolor}
        assert backgrounds
        for colour in backgrounds:
            assert colour.downgrade(ColorSystem.STANDARD).number in standard, colour
            assert colour.downgrade(ColorSystem.EIGHT_BIT).number in eight_bit, colour


# ------------------------------------------------------------------------------------------------ 6, 17
async def test_bulk_push_outcome_keeps_the_counts_and_names_the_locked_workspace(
    platform: dict[str, Running], root_of: Path
) -> None:
    app = make_app(platform, root_of, env="dev")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await bulk_push(pilot, app, "extended", "v3.2.0")
        await settle(pilot)
        status = str(app.query_one("#op-summary").render())
        assert "pushed 2 · already pushed 4" in status and "skipped while locked 1 (ticket-triage)" in status
        assert "FAIL Bulk push" in log_text(app)  # not every workspace was pushed


async def test_the_log_follows_pauses_maximises_and_reads_long_lines_in_full(
    platform: dict[str, Running], root_of: Path
) -> None:
    from tui.app.screens.activity import TextScreen
    from tui.app.widgets.log_pane import LogView

    app = make_app(platform, root_of, env="dev")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        pane = app.log_pane
        log = app.query_one(LogView)
        assert "following" in str(pane.border_title)
        small = log.size.height
        await pilot.press("z")
        await pilot.pause()
        assert log.size.height > 2 * small and "DEV" in str(app.query_one("#banner").render())
        assert app.query_one("#banner").region.height == 1  # the banner stays
        await pilot.press("z")
        await pilot.pause()
        pane.add(*[f"line {n}" for n in range(50)])
        await wait_until(pilot, lambda: log.lines[-1].endswith(" line 49"), what="the 50 lines drawn (every 100 ms)")
        assert log.is_vertical_scroll_end
        await pilot.press("5", "up", "up")
        await wait_until(pilot, lambda: not log.is_vertical_scroll_end, what="the log scrolled up")
        pane.add("while paused " + "x" * 200)
        await wait_until(pilot, lambda: "PAUSED · 1 new line(s) below" in str(pane.border_title), what="PAUSED")
        assert not log.is_vertical_scroll_end
        await pilot.press("f")
        await wait_until(pilot, lambda: "following" in str(pane.border_title), what="following again")
        assert log.is_vertical_scroll_end
        await pilot.press("5", "enter")
        await pilot.pause()
        assert isinstance(app.screen, TextScreen)
        assert any(line.endswith("x" * 200) for line in app.screen.lines)  # the long line, whole


# ------------------------------------------------------------------------------------------------ dirty
async def test_the_rollback_dialog_says_which_edits_a_dirty_workspace_would_lose(
    platform: dict[str, Running], root_of: Path
) -> None:
    """The platform marks every pull dirty, so "dirty" alone is no edit: the dialog reads the status and
    says "no edit is lost" after a plain pull, and names the edited objects once there are some."""
    import httpx

    prod = platform["prod"]
    app = make_app(platform, root_of, env="prod")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await open_version(pilot, app, "support-bot", "v1.0.0")
        assert app.query_one("#workspaces", VirtualTable).get_row("support-bot")[1] == "dirty"
        await pilot.press("r")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        said = "\n".join(modal.warnings)
        assert "no edit is lost" in said and "LOST" not in said
        await pilot.press("escape")

        headers = {"Authorization": f"Bearer {prod.token}"}
        wid = httpx.get(f"{prod.url}/v2/workspaces", params={"slug": "support-bot"}, headers=headers).json()[0]["id"]
        edited = httpx.put(
            f"{prod.url}/sandbox/workspaces/{wid}/files/automations/hotfix.yml",
            content=b"slug: hotfix\nname: Hotfix\ndo: []\n",
            headers=headers,
        )
        assert edited.status_code == 200, edited.text
        await pilot.press("r")
        await settle(pilot)
        said = "\n".join(app.screen.warnings)  # type: ignore[attr-defined]
        assert "object(s) edited since the last import will be LOST" in said and "hotfix" in said
