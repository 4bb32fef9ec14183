"""QA's small truths in the app: the Releases view's time cursor never looks dead (records of one second
read apart, one "No earlier record" notice however often [ is pressed), its detail line says "not head"
once, and the versions pane's ages move on while the app stays open (only the rows whose age changed are
drawn again)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from textual.app import App
from textual.widgets import Label, Static

from tui.app.panes.versions import VersionsView, VersionTable
from tui.app.screens.releases import ReleasesScreen
from tui.core.api.models import Version, Workspace
from tui.core.ops import at

T0 = dt.datetime(2026, 12, 7, 5, 49, 59, 120000, tzinfo=dt.UTC)
RECORDS = [
    T0 - dt.timedelta(minutes=2),  # the earliest
    T0,
    T0.replace(microsecond=870000),  # the same second as T0
]


def timeline() -> at.Timeline:
    changes = [at.Change("dev", "bot", when, f"v{n}", "import event") for n, when in enumerate(RECORDS)]
    return at.Timeline(changes=changes, workspaces={"dev": {"bot"}})


class ReleasesHost(App[None]):
    def on_mount(self) -> None:
        async def load() -> at.Timeline:
            return timeline()

        def table_at(_: at.Timeline, when: dt.datetime) -> tuple[list[str], list[list[str]]]:
            return ["workspace", "dev"], [["bot", when.isoformat()]]

        rows = [["r2", "2026-12-07", "not head", "deployed"], ["r1", "2026-12-06", "HEAD", "-"]]
        self.push_screen(
            ReleasesScreen(
                ["release", "created", "head", "dev"], rows, "note", selectable=False, load=load, table_at=table_at
            )
        )


def title(app: App[Any]) -> str:
    return str(app.screen.query_one("#dialog-title", Label).render())


def notices(app: App[Any]) -> list[str]:
    return [n.message for n in app._notifications if "No earlier record" in n.message]


async def test_each_step_of_the_time_cursor_reads_apart_and_the_earliest_is_said_once() -> None:
    from waits import wait_until

    app = ReleasesHost()
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ReleasesScreen), what="the Releases view")
        detail = str(app.screen.query_one("#row-detail", Static).render())
        assert detail.startswith("r2: created 2026-12-07 · not head · dev deployed"), detail  # not "head not head"
        seen = []
        for n in range(3):
            await pilot.press("left_square_bracket")
            seen.append(await wait_until(pilot, lambda: title(app) if title(app) not in seen else "", what=f"step {n}"))
        # Every press moved to a distinct instant, shown distinctly: the two of one second by milliseconds.
        assert len(set(seen)) == 3, seen
        assert "05:49:59.870 UTC" in seen[0] and "05:49:59.120 UTC" in seen[1], seen
        assert "the earliest record" in seen[2] and "05:47:59 UTC" in seen[2], seen
        for _ in range(4):  # held at the earliest record: one notice, not a stack of them
            await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: notices(app), what="the notice")
        await pilot.pause()
        assert len(notices(app)) == 1, notices(app)
        assert title(app) == seen[2]


class VersionsHost(App[None]):
    def compose(self) -> Any:
        yield VersionTable(id="versions")


async def test_the_versions_ages_move_on_and_only_the_changed_rows_are_drawn_again() -> None:
    now = [dt.datetime(2026, 12, 7, 6, 0, 0, tzinfo=dt.UTC)]
    versions = [
        Version("v3", "2026-12-07T05:53:00Z", "recent"),  # 7 min ago
        Version("v2", "2026-12-05T05:00:00Z", "two days"),  # 2 d ago: the same in a minute
    ]
    app = VersionsHost()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(VersionTable)
        table.view = VersionsView(Workspace("1", "Bot", "bot"), versions, "label", clock=lambda: now[0])
        await pilot.pause()
        assert table.get_cell("v3", "date").startswith("7 min ago")
        before = [table.render_line(y).text for y in range(3)]
        assert "7 min ago" in before[1], before

        redrawn: list[int] = []
        draw = table._refresh_row
        table._refresh_row = lambda row: (redrawn.append(row), draw(row))  # type: ignore[method-assign]
        table.refresh_ages()
        assert redrawn == []  # the clock has not moved: nothing is drawn again

        now[0] += dt.timedelta(minutes=5)
        table.refresh_ages()
        assert redrawn == [0]  # the row whose age changed, alone (v2 is still "2 d ago")
        await pilot.pause()
        after = [table.render_line(y).text for y in range(3)]
        assert "12 min ago" in after[1] and after[2] == before[2], after
