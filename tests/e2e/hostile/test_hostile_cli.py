"""The CLI and the API client against a hostile server (points 1, 3, 4, 5, 6, 7 and 15 of issue 14)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from hostile_server import (  # noqa: F401  (fixtures)
    HOSTILE,
    RAW_CONTROLS,
    TOKEN,
    YAML_BOMB,
    HostileServer,
    hostile_config_fixture,
    hostile_fixture,
    zip_bomb,
    zip_of,
)

from tui.cli.main import main
from tui.core import errors as E
from tui.core import limits
from tui.core.api.bulk import BulkEvent
from tui.core.api.client import PrismeClient

pytestmark = pytest.mark.e2e


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_inert(text: str) -> None:
    """No control character reaches the terminal; each is shown as a visible escape."""
    for char in RAW_CONTROLS:
        assert char not in text, f"raw {char!r} reached the terminal"
    assert "\\x1b]52;c;" in text  # the OSC 52 sequence, made visible


# ------------------------------------------------------------------------------------ 1. escape sequences
@pytest.mark.parametrize(
    "command",
    [
        ("workspaces", "--env", "h"),
        ("versions", "evil-ws", "--env", "h"),
        ("events", "--env", "h"),
        ("status", "--env", "h"),
    ],
)
def test_human_output_shows_server_text_inert(
    hostile_config: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    _, out, err = cli(capsys, *command)
    assert_inert(out + err)


def test_errors_show_server_text_inert(
    hostile: HostileServer, hostile_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile.mode.add("error")
    code, _, err = cli(capsys, "workspaces", "--env", "h")
    assert code == 1
    assert "error:" in err
    assert_inert(err)


def test_json_output_escapes_c1_controls_too(hostile_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "versions", "evil-ws", "--env", "h", "--json")
    assert code == 0
    for char in RAW_CONTROLS:
        assert char not in out
    assert "\\u009b" in out and "\\u001b" in out
    assert json.loads(out)[0]["description"] == HOSTILE  # the same text once decoded


# ------------------------------------------------------------------------------------ 3. deadlines
async def test_a_trickling_server_hits_the_total_deadline(hostile: HostileServer) -> None:
    hostile.mode.add("trickle")  # one byte every 0.2 s: httpx's per-read timeout never fires
    async with PrismeClient(hostile.url, TOKEN, timeout=1, deadline=1.5) as client:
        with pytest.raises(E.RequestTimeout, match=r"did not complete within 1\.5s"):
            await asyncio.wait_for(client.list_workspaces(), timeout=30)


def test_a_trickling_server_ends_the_cli_with_exit_4(
    hostile: HostileServer, hostile_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile_config.write_text(hostile_config.read_text() + "deadline = 2\n")
    hostile.mode.add("trickle")
    code, _, err = cli(capsys, "workspaces", "--env", "h")
    assert code == 4
    assert "did not complete within 2s" in err


async def test_a_silent_stream_hits_the_idle_deadline_and_is_recovered(hostile: HostileServer) -> None:
    hostile.mode |= {"silent", "fresh-completion"}
    bounds = limits.Limits(sse_idle_s=1)
    async with PrismeClient(hostile.url, TOKEN, poll_interval=0.05, processing_wait=5, limits=bounds) as client:
        events = await asyncio.wait_for(_collect(client), timeout=60)
    notice = next(e for e in events if e.kind == "notice")
    assert "sent nothing for 1s" in (notice.message or "")
    assert events[-1].kind == "completed"


async def test_keep_alives_keep_a_slow_stream_alive(hostile: HostileServer) -> None:
    hostile.mode.add("keep-alive")  # 2 s without data, a comment every 0.25 s, then the summary
    bounds = limits.Limits(sse_idle_s=1)
    async with PrismeClient(hostile.url, TOKEN, poll_interval=0.05, processing_wait=1, limits=bounds) as client:
        events = await asyncio.wait_for(_collect(client), timeout=60)
    assert [e.kind for e in events] == ["progress", "completed"]  # no notice: the stream was never cut


async def _collect(client: PrismeClient) -> list[BulkEvent]:
    return [event async for event in client.bulk_push(repository_id="release", groups=["base1"])]


# ------------------------------------------------------------------------------------ 4. sizes
async def test_an_endless_body_stops_at_the_body_limit(hostile: HostileServer) -> None:
    hostile.mode.add("endless")
    bounds = limits.Limits(max_json_mb=2)
    async with PrismeClient(hostile.url, TOKEN, limits=bounds) as client:
        with pytest.raises(E.ResponseTooLarge, match="more than 2 MB") as caught:
            await asyncio.wait_for(client.list_workspaces(), timeout=60)
    assert "max_json_mb" in (caught.value.hint or "")


async def test_an_export_beyond_its_limit_is_refused_from_its_content_length(hostile: HostileServer) -> None:
    hostile.export_archive = b"PK" + b"\0" * (3 * 1024 * 1024)
    async with PrismeClient(hostile.url, TOKEN, limits=limits.Limits(max_body_mb=2)) as client:
        with pytest.raises(E.ResponseTooLarge, match=r"more than 2 MB \(3 MB announced\)") as caught:
            await client.export("ws1")
    assert "max_body_mb" in (caught.value.hint or "")


def test_a_500_mb_json_answer_is_refused_by_default(
    hostile: HostileServer, hostile_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile.mode.add("endless")  # as large as the client reads: the default JSON limit stops it
    code, _, err = cli(capsys, "workspaces", "--env", "h")
    assert code == 4
    assert "more than 64 MB" in err and "max_json_mb" in err


def test_a_zip_bomb_in_diff_is_refused(
    hostile: HostileServer, hostile_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile.export_archive = zip_bomb(300)
    assert len(hostile.export_archive) < 2 * 1024 * 1024
    code, _, err = cli(capsys, "diff", "--from", "h:evil-ws", "--to", "h:evil-ws@v0")
    assert code == 4
    assert "zip bomb" in err and "archive_max_ratio" in err


# ------------------------------------------------------------------------------------ 5. YAML alias bomb
def test_a_yaml_alias_bomb_in_diff_names_the_file(
    hostile: HostileServer, hostile_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile.export_archive = zip_of({"current/automations/bomb.yml": YAML_BOMB, "current/index.yml": b"a: 1\n"})
    hostile.export_by_version["v0"] = zip_of({"v0/automations/bomb.yml": b"a: 1\n", "v0/index.yml": b"a: 1\n"})
    code, _, err = cli(capsys, "diff", "--from", "h:evil-ws", "--to", "h:evil-ws@v0")
    assert code == 4
    assert "automations/bomb.yml" in err and "yaml_max_nodes" in err


# ------------------------------------------------------------------------------------ 6. '.' and '..'
@pytest.mark.parametrize("version", ["..", "."])
def test_dot_version_names_are_refused_before_any_request(
    hostile: HostileServer, hostile_config: Path, capsys: pytest.CaptureFixture[str], version: str
) -> None:
    code, out, _ = cli(capsys, "rollback", "evil-ws", version, "--env", "h", "--yes")
    assert code == 2
    assert "Rolled back" not in out
    assert not [path for method, path in hostile.requests if method == "POST"]


async def test_a_dot_dot_workspace_id_from_the_server_is_refused(hostile: HostileServer) -> None:
    hostile.mode.add("dotdot-id")
    async with PrismeClient(hostile.url, TOKEN) as client:
        with pytest.raises(E.UsageError, match="cannot be used in a URL path"):
            await client.find_workspace("evil-ws")
    assert all("/v2/workspaces/.." not in path for _, path in hostile.requests)


# ------------------------------------------------------------------------------------ 7. stale completion
async def test_a_stale_bulk_push_completion_is_not_this_runs_summary(hostile: HostileServer) -> None:
    async with PrismeClient(hostile.url, TOKEN, poll_interval=0.05, processing_wait=1) as client:
        kinds = []
        with pytest.raises(E.BulkIncomplete):
            async for event in client.bulk_push(repository_id="release", groups=["base1"]):
                kinds.append(event.kind)
    assert "completed" not in kinds  # the 2020 summary was never taken for this run's


async def test_a_fresh_completion_recovers_the_dropped_stream(hostile: HostileServer) -> None:
    hostile.mode.add("fresh-completion")
    async with PrismeClient(hostile.url, TOKEN, poll_interval=0.05, processing_wait=5) as client:
        events = [event async for event in client.bulk_push(repository_id="release", groups=["base1"])]
    assert events[-1].kind == "completed"
    assert events[-1].ids("pushedWorkspaceIds") == ["ws1"]


# ------------------------------------------------------------------------------------ 15. unsafe archives
async def test_the_client_refuses_to_pass_on_an_archive_with_unsafe_entries(hostile: HostileServer) -> None:
    archive = zip_of({"x/automations/../../../../escape.yml": b"a: 1\n"})
    async with PrismeClient(hostile.url, TOKEN) as client:
        with pytest.raises(E.ArchiveRefused, match="unsafe entry"):
            await client.import_archive("ws1", archive)
    assert not [path for _, path in hostile.requests if path.endswith("/import")]


def test_promote_from_a_hostile_instance_does_not_pass_its_archive_on(
    hostile: HostileServer, hostile_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile.export_archive = zip_of({"current/automations/../../../escape.yml": b"a: 1\n"})
    code, _, err = cli(capsys, "promote", "--from", "h:evil-ws", "--to", "h:evil-ws", "--yes")
    assert code == 4
    assert "unsafe entry" in err
    assert not [path for _, path in hostile.requests if path.endswith("/import")]
