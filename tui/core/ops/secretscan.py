"""No secret goes to git: what is about to be pushed is scanned first, with Yelp's detect-secrets.

The DSUL files that changed since the last push (the workspace's export against the last pushed
version read from the configured clone of the platform repository; every file when that cannot be
read) go through detect-secrets' default plugins and filters, offline. A finding blocks the push with
the file, the line, the rule and a masked value; the value itself is never printed, logged or stored.
A reviewed false positive is allowed by its fingerprint (``[scan] allow`` in the configuration, with
the reason), which is derived from the rule and detect-secrets' hash of the value, not the value.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
import threading
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tui.core import errors as E
from tui.core.jsonshape import Exported
from tui.core.ops.context import Context

if TYPE_CHECKING:
    from tui.core.api.client import PrismeClient
    from tui.core.api.models import Workspace
    from tui.core.diff import Files

T = TypeVar("T")
_BOUNDARY = frozenset(" \t'\"`,;()[]{}<>=")
# Written by the platform on export (checksums, which look random to an entropy rule), not by people.
NOT_SCANNED = frozenset({".import.yml"})
# The 2024 service's per-folder indexes (``automations/__index__.yml``...): names, dates and the creator's
# user id, a 24-hex MongoDB ObjectId that an entropy rule takes for a key. Written by the platform too.
PLATFORM_INDEX = "__index__.yml"


def scanned(path: str) -> bool:
    return path not in NOT_SCANNED and path.rsplit("/", 1)[-1] != PLATFORM_INDEX


_SCANNER_LOCK = threading.Lock()  # detect-secrets keeps its settings in a process-wide object
# detect-secrets skips a line with an inline "pragma: allowlist secret" (or whitelist, nextline): anyone
# who can edit a workspace could wave a token through with no review. Unless the configuration allows
# pragmas for that file ([scan] pragma_files, with a reason), they are neutralised before the scan.
_PRAGMA = re.compile(rb"pragma:( ?)(allowlist|whitelist)", re.IGNORECASE)


@dataclass(frozen=True)
class Finding(Exported):
    """A possible secret (its value never kept: masked); its JSON is its fields."""

    workspace: str
    file: str
    line: int
    rule: str
    masked: str
    fingerprint: str

    def __str__(self) -> str:
        return f"{self.workspace}/{self.file}:{self.line}: {self.rule} {self.masked} (fingerprint {self.fingerprint})"


@dataclass
class ScanReport:
    findings: list[Finding] = field(default_factory=list)  # block the push
    allowed: list[Finding] = field(default_factory=list)  # reviewed false positives ([scan] allow)
    files: int = 0  # how many files were scanned
    pragma_files: list[str] = field(default_factory=list)  # scanned with their inline pragmas honoured

    def audit(self) -> dict[str, Any]:
        """For the journal: how much was scanned, the fingerprints let through (no value, no mask), and
        the files whose inline allowlist pragmas were honoured ([scan] pragma_files)."""
        return {"files": self.files, "allowed": [f.fingerprint for f in self.allowed], "pragmaFiles": self.pragma_files}

    def to_json(self) -> dict[str, Any]:
        return {
            "scannedFiles": self.files,
            "findings": [f.to_json() for f in self.findings],
            "allowed": [f.to_json() for f in self.allowed],
        }


class SecretsFound(E.PrismeError):
    """The push was refused: the files about to go to git hold what look like secrets (exit 1)."""

    kind = "secrets_found"

    def __init__(self, report: ScanReport, what: str) -> None:
        lines = "\n".join(f"  {f}" for f in report.findings)
        super().__init__(
            f"{what} refused: {len(report.findings)} possible secret(s) in what would be pushed to git:\n{lines}",
            hint="Move the value into a workspace secret ({{secret.NAME}}) and push again; for a reviewed false "
            "positive, pass --allow-secret FINGERPRINT --reason WHY (stored in the configuration).",
        )
        self.report = report

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "scan": self.report.to_json()}


FINGERPRINT_RE = re.compile(r"^[0-9a-f]{16}$")


def remember_allowed(ctx: Context, path: Path, fingerprints: Iterable[str], reason: str | None) -> None:
    """``--allow-secret FINGERPRINT``: stored in the configuration with the request's reason, and audited."""
    from tui.core import config as cfg

    wanted = list(dict.fromkeys(fingerprints))
    bad = [f for f in wanted if not FINGERPRINT_RE.match(f)]
    if bad:
        raise E.UsageError(f"--allow-secret {bad[0]!r} is not a fingerprint (16 hex digits, as a finding shows it).")
    if not reason:
        raise E.UsageError("--allow-secret needs --reason WHY: the reason is stored with the fingerprint.")
    with cfg.ConfigEditor.locked(path) as editor:
        for item in wanted:
            editor.allow_finding(item, reason)
        editor.save()
    for item in wanted:
        ctx.config.allowed_findings[item] = reason
    details = {"change": "scan allow", "fingerprints": wanted, "file": str(path)}
    with ctx.audit.record("config", "-", details=details, reason=reason):
        pass


# ---------------------------------------------------------------------------------------------- scanning
def mask(value: str | None) -> str:
    """Enough to recognise which value it is (its first characters and length), never enough to use it."""
    if not value:
        return "****"
    shown = value[:4] if len(value) >= 16 else ""
    return f"{shown}****({len(value)} chars)"


def whole_value(line: str, found: str | None) -> str | None:
    """The whole word around what a rule matched: some rules capture only a prefix (``ghp`` of a GitHub
    token), which would mask as 3 characters and fingerprint every token of that kind alike."""
    if not found or found not in line:
        return found
    start = line.index(found)
    end = start + len(found)
    while start > 0 and line[start - 1] not in _BOUNDARY:
        start -= 1
    while end < len(line) and line[end] not in _BOUNDARY:
        end += 1
    return line[start:end]


def fingerprint(value: str | None) -> str:
    """Stable for one value wherever it sits, whichever rules match it; a one-way digest (never the value)."""
    return hashlib.sha256(f"prisme-deploy-scan\0{value or ''}".encode()).hexdigest()[:16]


def scan_files(workspace: str, files: Files, paths: Iterable[str], pragma_files: Iterable[str] = ()) -> list[Finding]:
    """detect-secrets over ``paths`` of ``files``, in a private temporary folder removed at once. Inline
    allowlist pragmas count only in ``pragma_files`` (``slug/path``, reviewed in the configuration)."""
    honoured = {f"{workspace}/{rel}" for rel in files} & set(pragma_files)
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    wanted = sorted(p for p in paths if p in files and scanned(p))
    if not wanted:
        return []
    findings: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="prisme-deploy-scan-") as folder:
        os.chmod(folder, 0o700)
        root = Path(folder)
        for number, rel in enumerate(wanted):
            # One flat name per file (no server-chosen path is joined), keeping the extension the plugins read.
            target = root / f"{number}{Path(rel).suffix}"
            data = files[rel]
            target.write_bytes(data if f"{workspace}/{rel}" in honoured else _PRAGMA.sub(rb"pragma:\1ignored", data))
        with _SCANNER_LOCK, default_settings():
            collection = SecretsCollection(root=folder)
            for number in range(len(wanted)):
                collection.scan_file(str(root / f"{number}{Path(wanted[number]).suffix}"))
        for filename, secrets in collection.data.items():
            rel = wanted[int(Path(filename).stem)]
            lines = files[rel].decode("utf-8", "replace").splitlines()
            for secret in secrets:
                number = int(secret.line_number or 0)
                line = lines[number - 1] if 0 < number <= len(lines) else ""
                value = whole_value(line, secret.secret_value)
                findings.append(Finding(workspace, rel, number, str(secret.type), mask(value), fingerprint(value)))
    return _one_per_value(findings)


def _one_per_value(findings: list[Finding]) -> list[Finding]:
    """Several rules matching one value on one line make one finding, naming every rule."""
    merged: dict[tuple[str, int, str], Finding] = {}
    for item in sorted(findings, key=lambda f: (f.file, f.line, f.rule)):
        key = (item.file, item.line, item.fingerprint)
        if key in merged:
            item = replace(merged[key], rule=f"{merged[key].rule}, {item.rule}")
        merged[key] = item
    return sorted(merged.values(), key=lambda f: (f.workspace, f.file, f.line))


def changed(current: Files, previous: Files) -> set[str]:
    return {path for path, data in current.items() if previous.get(path) != data}


async def _last_pushed(ctx: Context, env: str, slug: str) -> Files:
    """The last pushed version, from the configured clone of the platform repository; {} when unknown."""
    if not ctx.config.repositories:
        return {}  # before the import: git and its archives are not loaded for nothing (bench/: bulk push)
    from tui.core.ops.compare import Ref, git_snapshot

    try:
        return await asyncio.to_thread(git_snapshot, ctx, Ref(env, slug, "latest"))
    except E.PrismeError:
        return {}


SCAN_FETCHES = 8  # exports read at once: the server builds one while we scan another (as take_many does)


async def scan_workspaces(ctx: Context, client: PrismeClient, env: str, workspaces: Iterable[Workspace]) -> ScanReport:
    from tui.core.diff import files_from_zip  # YAML and diffs load only when a push is scanned

    allowed = set(ctx.config.allowed_findings)
    pragmas = ctx.config.pragma_files
    gate = asyncio.Semaphore(SCAN_FETCHES)

    async def one(ws: Workspace) -> tuple[Workspace, set[str], list[Finding]]:
        async with gate:
            current = files_from_zip(await client.export(ws.id), f"the export of {ws.slug}")
            paths = changed(current, await _last_pushed(ctx, env, ws.slug))
        return ws, paths, await asyncio.to_thread(scan_files, ws.slug, current, paths, pragmas)

    report = ScanReport()
    for ws, paths, found in await gathered([one(ws) for ws in workspaces]):  # in the order given
        report.files += len(paths)
        report.pragma_files += sorted(f"{ws.slug}/{p}" for p in paths if f"{ws.slug}/{p}" in pragmas)
        for finding in found:
            (report.allowed if finding.fingerprint in allowed else report.findings).append(finding)
    return report


async def gathered(work: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Every result, in order; the first error is raised once the others are cancelled (a refused export
    must not leave the rest running against a client about to close)."""
    tasks = [asyncio.ensure_future(item) for item in work]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def guard(ctx: Context, client: PrismeClient, env: str, workspaces: Iterable[Workspace], what: str) -> ScanReport:
    """Scan, and refuse (SecretsFound) when anything not allowed is found."""
    report = await scan_workspaces(ctx, client, env, workspaces)
    if report.findings:
        raise SecretsFound(report, what)
    return report
