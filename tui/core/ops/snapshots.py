"""Safety snapshots: before anything overwrites a workspace, its current state is exported to a local
archive (environment, slug, time, live version, the action that followed), so every destructive action
can be undone. Bounded per workspace (count and size, oldest removed first); off per environment with
``snapshots = false``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tui.core import errors as E
from tui.core import paths
from tui.core.api.client import PrismeClient
from tui.core.api.models import Workspace
from tui.core.jsonshape import Exported
from tui.core.ops.context import Context


@dataclass(frozen=True)
class Snapshot(Exported):
    """A safety snapshot; its JSON (`snapshots list --json`) is its fields."""

    id: str
    env: str
    slug: str
    time: str
    live_version: str | None
    action: str
    size: int
    archive: Path
    dirty: bool | None = None  # None: taken before this was recorded
    repository: str | None = None  # where the live version came from (None: native, or unknown)

    @property
    def clean_version(self) -> str | None:
        """The version the workspace exactly was when the snapshot was taken, if it was one (not dirty)."""
        return self.live_version if self.dirty is False else None


def _live_repository(ws: Workspace) -> str | None:
    """The repository of the version the workspace runs (the newer of its last pull and push)."""
    for info in (ws.last_pull, ws.last_push):
        if info is not None and info.version == ws.live_version:
            return info.repository_id
    return None


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _private_dir(path: Path, root: Path) -> None:
    """``path`` and every folder from ``root`` down to it exist with mode 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder in (path, *path.parents):
        if not folder.is_relative_to(root):
            break
        folder.chmod(0o700)  # mkdir's mode does not apply to folders that existed, nor to parents


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file created 0600 (never readable by others, not
    even while it is written), fsync, then rename: the file is whole or absent."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # mkstemp: 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class SnapshotStore:
    def __init__(self, root: Path | None = None, *, keep: int = 10, max_mb: float = 200.0) -> None:
        self.root = root or paths.snapshots_dir()
        self.keep = keep
        self.max_bytes = int(max_mb * 1024 * 1024)
        self.warnings: list[str] = []  # unreadable entries skipped by the last list()

    @classmethod
    def for_context(cls, ctx: Context) -> SnapshotStore:
        return cls(keep=ctx.config.snapshot_keep, max_mb=ctx.config.snapshot_max_mb)

    def save(
        self, env: str, ws: Workspace, archive: bytes, action: str, *, protect: frozenset[str] = frozenset()
    ) -> Snapshot:
        """The archive first, then its metadata: a snapshot is listed only once both are whole.
        ``protect``: snapshots pruning must not remove (the one being restored)."""
        now = datetime.now(UTC)
        folder = self.root / _safe(env) / _safe(ws.slug)
        _private_dir(folder, self.root.parent)
        sid = f"{_safe(env)}.{_safe(ws.slug)}.{now.strftime('%Y%m%dT%H%M%S%f')}"
        path = folder / f"{sid}.zip"
        _write_private(path, archive)
        meta = {
            "id": sid,
            "env": env,
            "slug": ws.slug,
            "workspaceId": ws.id,
            "time": now.isoformat(),
            "liveVersion": ws.live_version,
            "action": action,
            "size": len(archive),
            "dirty": ws.dirty,
            "repository": _live_repository(ws),
        }
        _write_private(folder / f"{sid}.json", json.dumps(meta, indent=1).encode("utf-8"))
        self.prune(env, ws.slug, protect=protect | {sid})
        return self._load(folder / f"{sid}.json")

    def _load(self, meta_path: Path) -> Snapshot:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        snap = Snapshot(
            str(meta["id"]),
            str(meta["env"]),
            str(meta["slug"]),
            str(meta["time"]),
            meta.get("liveVersion"),
            str(meta["action"]),
            int(meta.get("size", 0)),
            meta_path.with_suffix(".zip"),
            meta.get("dirty"),
            meta.get("repository"),
        )
        if snap.archive.stat().st_size != snap.size:
            raise ValueError(f"the archive has {snap.archive.stat().st_size} bytes, the metadata says {snap.size}")
        return snap

    def list(self, env: str | None = None, slug: str | None = None) -> list[Snapshot]:
        """Newest first. An unreadable or half-written entry (a full disk) is skipped with a warning,
        never offered for restore, and never stops the others from being listed."""
        self.warnings = []
        if not self.root.exists():
            return []
        pattern = f"{_safe(env) if env else '*'}/{_safe(slug) if slug else '*'}/*.json"
        found = []
        for meta_path in self.root.glob(pattern):
            try:
                found.append(self._load(meta_path))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self.warnings.append(f"skipped the unreadable snapshot {meta_path}: {exc}")
        return sorted(found, key=lambda s: s.time, reverse=True)

    def get(self, snapshot_id: str) -> Snapshot:
        for snap in self.list():
            if snap.id == snapshot_id:
                return snap
        raise E.NotFound(f"No snapshot {snapshot_id!r}.", hint="`prisme-deploy snapshots list` shows them.")

    def prune(self, env: str, slug: str, *, protect: frozenset[str] = frozenset()) -> None:
        """Keep at most ``keep`` snapshots and ``max_mb`` per workspace, oldest removed first; never one
        in ``protect``."""
        snaps = self.list(env, slug)
        total = 0
        for index, snap in enumerate(snaps):
            total += snap.size
            if snap.id in protect:
                continue
            if index >= self.keep or (index > 0 and total > self.max_bytes):
                snap.archive.with_suffix(".json").unlink(missing_ok=True)  # unlisted first
                snap.archive.unlink(missing_ok=True)

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def enabled(ctx: Context, env: str) -> bool:
    return ctx.config.snapshots_enabled and ctx.env(env).snapshots


async def take(
    ctx: Context, client: PrismeClient, env: str, ws: Workspace, action: str, *, protect: frozenset[str] = frozenset()
) -> Snapshot | None:
    """Export the target's current state before ``action`` overwrites it."""
    if not enabled(ctx, env):
        return None
    archive = await client.export(ws.id)
    store = SnapshotStore.for_context(ctx)
    return await asyncio.to_thread(functools.partial(store.save, env, ws, archive, action, protect=protect))


async def take_many(
    ctx: Context, client: PrismeClient, env: str, workspaces: list[Workspace], action: str, concurrency: int = 8
) -> list[Snapshot]:
    """Concurrently, for a bulk import of many workspaces."""
    gate = asyncio.Semaphore(concurrency)

    async def one(ws: Workspace) -> Snapshot | None:
        async with gate:
            return await take(ctx, client, env, ws, action)

    return [s for s in await asyncio.gather(*(one(w) for w in workspaces)) if s is not None]
