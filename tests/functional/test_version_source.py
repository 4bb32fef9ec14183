"""Where a version is, when the operator does not say (found by a new-user walkthrough): `versions` lists a
git version, so `rollback SLUG VERSION` without --repository pulls it from that repository, not as a
native version the server does not know; and the app's pull dialog names the repository's own latest."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tui.cli.main import main
from tui.core.api.client import PrismeClient
from tui.sandbox.runner import Running

pytestmark = pytest.mark.e2e


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def test_a_rollback_without_repository_takes_the_version_from_where_it_is_listed(
    configured: Path, platform: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await asyncio.to_thread(cli, capsys, "versions", "securechat", "--env", "dev", "--json")
    listed = {v["name"]: v for v in json.loads(out)}
    assert code == 0 and "v1.1.0" in listed  # a version of the release repository, as `versions` says
    code, out, err = await asyncio.to_thread(
        cli, capsys, "rollback", "securechat", "v1.1.0", "--env", "dev", "--yes", "--json"
    )
    assert code == 0, out + err
    async with PrismeClient(platform["dev"].url, platform["dev"].token) as api:
        assert (await api.find_workspace("securechat")).live_version == "v1.1.0"
