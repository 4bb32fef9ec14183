"""The Releases view by keys at 80x24 (issue 16): every environment's column on screen (a cut cell ends in
"…", the cursor's row is spelled out in full under the table), and ? shows this view's keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tui.sandbox.runner import Running

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("a_reason")]

FAR_ENV = "prod-us-east-2"  # a fourth environment with a long name, last: the one a narrow terminal lost


async def test_at_80x24_every_environment_is_on_screen_and_the_cursors_row_is_read_in_full(
    platform: dict[str, Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_app import make_app, settle
    from textual.widgets import DataTable, Input, Static

    from tui.app.screens.help import HelpScreen, KeyGrid
    from tui.app.screens.releases import ReleasesScreen
    from tui.core.ops import release

    root = Path(platform["dev"].sandbox.data_dir).parent
    far = f'[environments.{FAR_ENV}]\nurl = "{platform["prod"].url}"\ntier = "production"\nrepositories = ["release"]\n'
    monkeypatch.setenv("PRISME_DEPLOY_TOKEN_PROD_US_EAST_2", platform["prod"].token)
    app = make_app(platform, root, env="dev", extra=far)
    release.save(app.ctx, await release.from_env(app.ctx, "staging", "a-release-with-a-long-name"), None, local=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReleasesScreen)
        table = screen.query_one(DataTable)
        labels = [column.label.plain for column in table.columns.values()]
        envs = ["dev", "staging", "prod", FAR_ENV]
        assert len(labels) == 3 + len(envs) and all(
            whole_or_cut(s, t) for s, t in zip(envs, labels[3:], strict=True)
        ), labels
        assert labels[-1] != FAR_ENV  # too wide for 80 columns: cut, and said so by "…"
        # Every column inside the table's width: none is off to the right.
        assert table.virtual_size.width <= table.scrollable_content_region.width, table.virtual_size
        row = [cell.plain for cell in table.get_row_at(0)]
        assert whole_or_cut("a-release-with-a-long-name", row[0]) and row[0].endswith("…"), row
        detail = str(screen.query_one("#row-detail", Static).render())
        assert detail.startswith("a-release-with-a-long-name: "), detail  # in full, under the table
        assert all(f"· {env} " in detail for env in envs), detail  # every environment's cell, named

        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen) and app.screen.scope == "releases"
        ids = {r.action.id for r in app.screen.rows}
        assert {"releases.earlier", "releases.later", "releases.at", "releases.now", "releases.close"} <= ids
        assert {"releases.rollout", "releases.filter"} <= ids  # enter and / have their rows
        grid = str(app.screen.query_one(KeyGrid).render())
        assert re.search(r"enter +Roll out", grid) and re.search(r"/ +Filter", grid), grid
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen  # help closed: the view is where it was

        await pilot.press("slash", *"long")  # / then the text: the filter box takes it
        await settle(pilot)
        box = screen.query_one("#table-filter", Input)
        assert box.has_focus and box.value == "long"
        assert [r[0] for r in screen.shown] == ["a-release-with-a-long-name"]
        await pilot.press("enter")  # back to the rows, the filter kept
        assert table.has_focus and app.screen is screen and box.value == "long"


def whole_or_cut(text: str, shown: str) -> bool:
    return shown == text or (shown.endswith("…") and text.startswith(shown[:-1]) and len(shown) >= 8)
