"""Groups from the server (issue 18): the platform workspace's repositories list their groups; the app
shows them and offers them to bulk push and import without [groups] in the config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import platform_config, settle_tolerant
from textual.widgets import OptionList, SelectionList

from tui.app import server_groups
from tui.app.screens.modals import ActionModal
from tui.core.api.models import Repository
from tui.core.config import Group
from tui.sandbox.runner import Running


def repo(rid: str, *groups: str) -> Repository:
    return Repository(rid, rid, "git", "read-write", groups=groups)


def test_server_groups_merge_with_the_configs_own() -> None:
    repos = [repo("release", "base1", "base2"), repo("archive", "base2", "[b]odd")]
    config = {"base1": Group("base1", ("production:app:base1",)), "mine": Group("mine", ("team:x",))}
    assert server_groups.from_server(repos) == {
        "base1": ["release"],
        "base2": ["release", "archive"],
        "[b]odd": ["archive"],
    }
    assert list(server_groups.server_only(config, repos)) == ["base2", "[b]odd"]
    labels = [(str(label), value) for label, value in server_groups.options(config, repos)]
    assert labels == [
        ("base1 (production:app:base1)", "base1"),
        ("mine (team:x, not on the server)", "mine"),
        ("base2 (server: release, archive)", "base2"),
        ("[b]odd (server: archive)", "[b]odd"),  # a server's text stays text, never markup
    ]


@pytest.mark.e2e
async def test_the_app_shows_and_offers_the_servers_groups_without_config_groups(
    platform: dict[str, Running],
) -> None:
    import os
    from datetime import datetime

    from tui.app.app import PrismeDeployApp
    from tui.core import config as cfg
    from tui.core.ops.context import Context

    root = Path(platform["dev"].sandbox.data_dir).parent
    text = re.sub(r"\[groups\.[a-z0-9]+\]\nlabels = \[[^\]]*\]\n", "", platform_config(platform, root))
    config = cfg.parse(text)
    assert not config.groups
    for name, running in platform.items():
        os.environ[f"PRISME_DEPLOY_TOKEN_{name.upper()}"] = running.token
    app = PrismeDeployApp(
        Context.create(config, use_keyring=False), initial_env="dev", clock=lambda: datetime(2026, 3, 2, 9, 30)
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_tolerant(pilot)
        pane = app.query_one("#groups", OptionList)
        shown = [str(pane.get_option_at_index(i).prompt) for i in range(pane.option_count)]
        assert {"base1 · server", "base2 · server", "extended · server"} <= set(shown), shown
        await pilot.press("P")
        await settle_tolerant(pilot)
        modal = app.screen
        assert isinstance(modal, ActionModal)
        choices = modal.query_one("#groups", SelectionList)
        values = [choices.get_option_at_index(i).value for i in range(choices.option_count)]
        assert values == ["base1", "base2", "extended"]
