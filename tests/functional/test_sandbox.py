"""The sandbox behaves like a real instance: persistence, repositories, caps, long operations, ordering."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from waits import wait_until, wait_until_sync

from tui.core.api.client import PrismeClient
from tui.sandbox import dsul
from tui.sandbox.runner import Running, start_in_thread

pytestmark = pytest.mark.e2e


def api(running: Running) -> PrismeClient:
    return PrismeClient(running.url, running.token, poll_interval=0.1)


async def test_data_survives_a_restart(single_template: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(single_template, data, symlinks=True)
    first = start_in_thread(data, "at:restart-token-123456", environ={})
    async with api(first) as client:
        ws = await client.find_workspace("faq-widget")
        await client.publish(ws.id, name="before-stop", description="kept")
        await client.lock(ws.id, "manual")
    first.stop()
    second = start_in_thread(data, "at:restart-token-123456", environ={})
    try:
        async with api(second) as client:
            again = await client.find_workspace("faq-widget")
            assert again.id == ws.id and again.write_lock is not None
            assert (await client.list_versions(ws.id))[0].name == "before-stop"
            published = await client.events(ws.id, types=["workspaces.versions.published"], limit=1)
            assert published[0].payload["version"]["name"] == "before-stop"
    finally:
        second.stop()


async def test_native_versions_are_capped(sandbox: Running) -> None:
    async with api(sandbox) as client:
        ws = await client.find_workspace("ai-store")
        for number in range(22):
            await client.publish(ws.id, name=f"n{number}", description="snapshot")
        native = [v.name for v in await client.list_versions(ws.id) if v.repository_id is None]
        assert len(native) == 20 and native[0] == "n21" and "n0" not in native
        with pytest.raises(Exception, match="Unknown version name"):
            await client.pull(ws.id, "n0")


async def test_filesystem_repository_is_read_only_and_importable(tmp_path: Path) -> None:
    folder = tmp_path / "baked" / "faq"
    folder.mkdir(parents=True)
    (folder / "index.yml").write_text("name: FAQ\nslug: faq\nlabels: [production:app]\n")
    (folder / "automations").mkdir()
    (folder / "automations" / "answer.yml").write_text("slug: answer\n")
    (folder / ".import.yml").write_bytes(dsul.dump_yaml({"version": {"name": "r1"}, "groups": ["extended"]}))
    environ = {
        "WORKSPACES_STORAGE_GIT_PLATFORM_release_TYPE": "filesystem",
        "WORKSPACES_STORAGE_GIT_PLATFORM_release_DIRPATH": str(tmp_path / "baked"),
        "WORKSPACES_STORAGE_GIT_PLATFORM_release_MODE": "read-only",  # as the deployment guide's image sets it
        "WORKSPACES_GROUP_extended_LABELS": "production:app",
    }
    running = start_in_thread(tmp_path / "data", "at:fs-token-123456789", environ=environ)
    try:
        async with api(running) as client:
            repos = await client.platform_repositories()
            assert repos["release"].type == "filesystem" and not repos["release"].writable
            events = [e async for e in client.bulk_import(repository_id="release", group="extended")]
            summary = events[-1]
            assert len(summary.ids("createdWorkspaceIds")) == 1  # a missing workspace is created
            ws = await client.find_workspace("faq")
            assert ws.last_pull and ws.last_pull.version == "r1"
            with pytest.raises(Exception, match="read-only"):
                await client.publish(ws.id, name="x", description="x", repository_id="release")
    finally:
        running.stop()


def test_bulk_import_orders_by_depends_on() -> None:
    from tui.sandbox.engine import _topological

    entries = [
        ("support-bot", {"dependsOn": ["app/kb"]}),
        ("chat", {}),
        ("knowledge", {"app": {"slug": "kb"}, "dependsOn": ["app/chat"]}),
    ]
    assert [slug for slug, _ in _topological(entries)] == ["chat", "knowledge", "support-bot"]


async def test_bulk_push_without_sse_answers_processing_after_timeout(sandbox: Running) -> None:
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    httpx.post(f"{sandbox.url}/sandbox/faults", json={"push_delay_ms": 400}, headers=headers).raise_for_status()
    started = time.monotonic()
    answer = httpx.post(
        f"{sandbox.url}/v2/workspaces/platform/versions",
        params={"timeout": "0.2"},
        json={"repository": {"id": "release"}, "groups": ["extended"], "force": True},
        headers=headers,
        timeout=30,
    ).json()
    assert answer["processing"] is True and time.monotonic() - started < 2
    busy = httpx.post(
        f"{sandbox.url}/v2/workspaces/platform/versions",
        json={"repository": {"id": "release"}, "groups": ["base1"]},
        headers=headers,
        timeout=30,
    )
    assert busy.status_code == 400 and "already running" in busy.json()["message"]  # one bulk at a time
    async with api(sandbox) as client:
        done = await wait_until(
            None,
            lambda: client.events("platform", types=["workspaces.bulkPush.completed"], limit=1),
            every=0.2,
            what="the bulk push's completed event",
        )
    assert done and len(done[0].payload["pushedWorkspaceIds"]) == 6  # 7 in extended, one locked


def test_sandbox_serve_command_seeds_and_serves(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui",
            "sandbox",
            "serve",
            "--data",
            str(tmp_path / "d"),
            "--seed",
            "demo",
            "--token",
            "at:cli-token-123456789",
            "--fault",
            "latency_ms=1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split(": ", 1)[1].strip()

        def answered() -> httpx.Response | None:
            try:
                return httpx.get(
                    f"{url}/v2/workspaces",
                    params={"limit": 100},
                    headers={"Authorization": "Bearer at:cli-token-123456789"},
                )
            except httpx.ConnectError:
                return None

        listing = wait_until_sync(answered, what="the sandbox to listen")
        assert len(listing.json()) == 15
    finally:
        proc.terminate()
        proc.wait(10)
    bad = subprocess.run(
        [sys.executable, "-m", "tui", "sandbox", "serve", "--data", str(tmp_path / "e"), "--fault", "nonsense=1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2 and "unknown fault" in bad.stderr
