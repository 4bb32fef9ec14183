"""A bulk push's secret scan reads its exports concurrently (issue 30: the pre-stream work of `bulk-push`
against `curl -N`), and still reports in the order given, and refuses on any refused export."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import zipfile
from types import SimpleNamespace
from typing import Any

import pytest

from tui.core import errors as E
from tui.core.api.models import Workspace
from tui.core.ops import secretscan

GITHUB = "ghp_" + "0123456789abcdefghijKLMNOPQRSTUVWXyz"  # assembled: this file is no finding itself


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"current/{name}", data)
    return buffer.getvalue()


def _leaky(slug: str) -> bytes:
    return _zip({"automations/sync.yml": f"slug: sync\ndo:\n  - set:\n      token: {GITHUB}{slug}\n".encode()})


class Exports:
    """Each export waits until every one has been asked for: a scan reading them one after the other
    never gets its first answer (the test's guard fails it), and answers arrive last-asked first."""

    def __init__(self, slugs: list[str], refused: str | None = None) -> None:
        self.slugs, self.refused = slugs, refused
        self.asked: list[str] = []
        self.cancelled: list[str] = []
        self.everyone = asyncio.Event()

    async def export(self, ws_id: str) -> bytes:
        self.asked.append(ws_id)
        if len(self.asked) == len(self.slugs):
            self.everyone.set()
        if ws_id == self.refused:
            raise E.PermissionDenied(f"export of {ws_id} refused")
        try:
            await self.everyone.wait()
            if self.refused:
                await asyncio.Event().wait()  # answers only after the refusal: cancelled, or the test hangs
            for _ in range(len(self.slugs) - self.slugs.index(ws_id)):
                await asyncio.sleep(0)  # the last asked answers first
        except asyncio.CancelledError:
            self.cancelled.append(ws_id)
            raise
        return _leaky(ws_id)


def _ctx() -> Any:
    return SimpleNamespace(config=SimpleNamespace(allowed_findings={}, pragma_files={}, repositories={}))


def _scan(client: Exports, slugs: list[str]) -> secretscan.ScanReport:
    workspaces = [Workspace(id=slug, name=slug, slug=slug) for slug in slugs]

    async def run() -> secretscan.ScanReport:
        return await asyncio.wait_for(secretscan.scan_workspaces(_ctx(), client, "dev", workspaces), 60)  # type: ignore[arg-type]

    return asyncio.run(run())


def test_exports_are_read_together_and_findings_keep_the_order_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secretscan, "SCAN_FETCHES", 8)
    slugs = [f"ws-{n}" for n in range(6)]
    report = _scan(Exports(slugs), slugs)
    assert [f.workspace for f in report.findings] == slugs
    assert report.files == len(slugs)


def test_a_refused_export_refuses_the_scan_and_stops_the_other_reads() -> None:
    slugs = [f"ws-{n}" for n in range(4)]
    client = Exports(slugs, refused="ws-3")
    with pytest.raises(E.PermissionDenied, match="ws-3"):
        _scan(client, slugs)
    assert sorted(client.cancelled) == slugs[:3]  # none left running against a client about to close


def test_reads_at_once_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never more exports in flight than SCAN_FETCHES (the server's per-user limits)."""
    monkeypatch.setattr(secretscan, "SCAN_FETCHES", 2)
    in_flight = 0
    most = 0

    class Counting:
        async def export(self, ws_id: str) -> bytes:
            nonlocal in_flight, most
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0)
            in_flight -= 1
            return _leaky(ws_id)

    slugs = [f"ws-{n}" for n in range(5)]
    report = _scan(Counting(), slugs)  # type: ignore[arg-type]
    assert most == 2 and [f.workspace for f in report.findings] == slugs


def test_a_scan_with_no_configured_clone_does_not_load_git() -> None:
    """With no [repositories] there is no last pushed version to read: git and tarfile stay unloaded (they
    were imported on the event loop before that was checked)."""
    probe = (
        "import asyncio, sys\n"
        "from tests.unit.test_scan_concurrent import Exports, _ctx\n"
        "from tui.core.api.models import Workspace\n"
        "from tui.core.ops import secretscan\n"
        "ws = [Workspace(id='a', name='a', slug='a')]\n"
        "report = asyncio.run(secretscan.scan_workspaces(_ctx(), Exports(['a']), 'dev', ws))\n"
        "print(len(report.findings), ' '.join(m for m in ('tui.core.gitsource', 'tarfile') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["1"]
