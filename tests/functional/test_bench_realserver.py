"""The published-server bench row's machinery (bench/realserver.py), on the sandbox: what the CLI sends is
captured with its waits, and the curl replay sends the same requests to another user's workspaces."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from conftest import fresh_token

from bench import realserver
from scripts.loader import realplatform
from tui.sandbox.runner import Running


def side(running: Running, token: str, workspace_id: str, tmp_path: Path) -> realserver.Side:
    return realserver.Side(running.url, token, tmp_path / "unused.toml", ids={"roll": workspace_id})


def test_the_replay_sends_the_captured_requests_and_waits_for_another_user(
    shared_sandbox: Running, tmp_path: Path
) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl not installed")
    first, second = fresh_token(shared_sandbox), fresh_token(shared_sandbox)
    with httpx.Client(base_url=f"{shared_sandbox.url}/v2", headers={"Authorization": f"Bearer {first}"}) as api:
        ids = [w["id"] for w in api.get("/workspaces", params={"limit": 2}).json()]
    source, target = side(shared_sandbox, first, ids[0], tmp_path), side(shared_sandbox, second, ids[1], tmp_path)

    async def operation() -> None:  # a request, a settling wait, a request with a body
        async with httpx.AsyncClient(
            base_url=f"{shared_sandbox.url}/v2", headers={"Authorization": f"Bearer {first}"}
        ) as api:
            await api.get(f"/workspaces/{ids[0]}")
            await asyncio.sleep(0.05)
            await api.post(f"/workspaces/{ids[0]}/versions/current/export", json={})

    steps: list[realserver.Step] = []
    with realserver.captured(steps):
        asyncio.run(operation())
    assert [(s.method, s.pause) for s in steps] == [("GET", 0.0), ("", 0.05), ("POST", 0.0)]
    assert [s.status for s in steps if not s.pause] == [200, 200]

    script = realserver.replay_script(steps, source, target, tmp_path)
    text = script.read_text()
    assert ids[1] in text and ids[0] not in text  # the other user's workspace
    assert first not in text and second not in text  # the token comes from the environment
    assert "sleep 0.050" in text
    answer = subprocess.run(
        ["sh", str(script)], env={**os.environ, "TOKEN": second}, capture_output=True, text=True, check=True
    )
    assert answer.stdout.split() == ["200", "200"]  # the second user may read and export the workspace


def test_the_rows_are_skipped_with_a_reason_when_the_build_is_absent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = realplatform()  # the module realserver loads: one per process (scripts/loader.py)
    monkeypatch.setattr(script, "build_dir", lambda: tmp_path / "no-build")
    monkeypatch.setattr(script, "missing_tools", lambda: [])

    class Quick:
        events = 100

    assert list(realserver.realserver(tmp_path, Quick(), 1)) == []
    assert "realserver skipped: the published server is not built" in capsys.readouterr().out


def test_the_httpx_floor_and_curl_send_the_other_sides_names_in_bodies_and_archives_as_captured(
    tmp_path: Path,
) -> None:
    source = realserver.Side("http://x", "t1", tmp_path / "c.toml", ids={"roll": "AAA111"}, versions=["v-source"])
    target = realserver.Side("http://x", "t2", tmp_path / "c.toml", ids={"roll": "BBB222"}, versions=["v-target"])
    sub = realserver.substitution(source, target)
    body = b'{"workspaceId": "AAA111", "version": "v-source"}'
    assert realserver.replayed_body(body, sub) == b'{"workspaceId": "BBB222", "version": "v-target"}'
    archive = b"PK\x03\x04\x00AAA111"  # binary: its bytes are the content, never rewritten
    assert realserver.replayed_body(archive, sub) == archive
