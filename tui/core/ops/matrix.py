"""The drift matrix: workspaces down, environments across; each cell the version label that environment
shows, whether that label is dirty (the content is no longer that version), and whether its content
(not its label) differs from the environment to its left. The cross-instance view Argo CD gives for
clusters."""

from __future__ import annotations

import asyncio
import hashlib
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tui.core import errors as E
from tui.core.api.models import Workspace
from tui.core.diff import files_from_zip, normalise
from tui.core.ignore import Ignore
from tui.core.ops.context import Context

if TYPE_CHECKING:
    from tui.core.api.client import PrismeClient


@dataclass
class Cell:
    present: bool
    version: str | None = None  # the server's label: what it last pulled or pushed
    digest: str = ""
    drift: int = 0  # objects edited since the last import (GET .../status; 0 when build skipped it)
    differs_from_left: bool | None = None  # None: nothing to its left to compare with
    error: str | None = None
    # The platform's dirty flag: set by any content update, a pull included; not proof of an edit.
    dirty: bool = False
    # Whether the content is its label's version, from content (the label's export or git tag against the
    # workspace's): True/False when compared, None when not (a clean label is the platform's word; a
    # dirty one that could not be read is unknown, said "✎?").
    label_differs: bool | None = None

    @property
    def label_mark(self) -> str:
        """ "✎": the content is not its label's version (compared); "✎?": dirty, not compared (unknown is
        never safe); "°": the platform's dirty flag only, the content is its label's version."""
        if self.label_differs:
            return " ✎"
        if self.dirty and self.version:  # no label: "no version" says it all
            return " ✎?" if self.label_differs is None else " °"
        return ""

    @property
    def text(self) -> str:
        if self.error:
            return "error"
        if not self.present:
            return "—"
        mark = "" if self.differs_from_left is None else (" ≠" if self.differs_from_left else " =")
        return f"{self.version or 'no version'}{self.label_mark}{mark}"


@dataclass
class Matrix:
    envs: list[str]
    slugs: list[str]
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    # An environment whose workspaces could not be listed: its column is empty for that reason, not
    # because nothing is deployed there.
    env_errors: dict[str, str] = field(default_factory=dict)

    def cell(self, slug: str, env: str) -> Cell:
        return self.cells.get((slug, env)) or Cell(False)

    @property
    def drifted(self) -> list[str]:
        """Workspaces whose content differs between two neighbouring environments that both have it."""
        return [s for s in self.slugs if any(self.cell(s, e).differs_from_left for e in self.envs)]

    @property
    def errors(self) -> list[str]:
        """What could not be read, one line each: environments not listed, cells not exported."""
        found = [f"{env}: workspaces not listed: {message}" for env, message in self.env_errors.items()]
        found += [
            f"{env}:{slug}: {self.cell(slug, env).error}"
            for slug in self.slugs
            for env in self.envs
            if self.cell(slug, env).error
        ]
        return found

    def to_json(self) -> dict[str, object]:
        return {
            "envs": list(self.envs),
            "drifted": self.drifted,
            "errors": self.errors,
            "workspaces": [
                {"slug": slug, "cells": {env: _cell_json(self.cell(slug, env)) for env in self.envs}}
                for slug in self.slugs
            ],
        }


def _cell_json(cell: Cell) -> dict[str, object]:
    return {
        "present": cell.present,
        "version": cell.version,
        "dirty": cell.dirty,
        "contentIsLabel": None if cell.label_differs is None else not cell.label_differs,
        "differsFromLeft": cell.differs_from_left,
        "drift": cell.drift,
        "error": cell.error,
    }


def content_digest(archive: bytes, ignore: Ignore | None = None) -> str:
    """The content's fingerprint, without what the platform rewrites on import (``tui.core.ignore``)."""
    return Digests(ignore).of(archive)


class Digests:
    """Content fingerprints for one matrix build. A file is canonicalised (YAML parsed and written again, so
    that formatting is not reported as drift) only the first time its exact bytes are seen under its path:
    the same file exported by another environment reuses that result, since the canonical text is a function
    of the path and the bytes alone. Files whose bytes differ are still canonicalised, so a formatting-only
    difference is still not drift. Memory is bounded: at most KNOWN_MAX files are remembered (then forgotten
    all at once; the environments export the same workspaces at about the same time, so reuse survives)."""

    KNOWN_MAX = 65_536  # about 10 MB of hashes

    def __init__(self, ignore: Ignore | None = None) -> None:
        self.ignore = ignore or Ignore()
        self._known: dict[bytes, bytes] = {}  # sha256(path, bytes) -> sha256(canonical text)
        self.canonicalised = 0  # files parsed (the rest were known by their bytes)

    def of(self, archive: bytes) -> str:
        return self.of_files(files_from_zip(archive))

    def of_files(self, files: dict[str, bytes]) -> str:
        digest = hashlib.sha256()
        for path in sorted(p for p in files if p != ".import.yml"):
            digest.update(path.encode() + b"\0" + self._canonical_hash(path, files[path]) + b"\0")
        return digest.hexdigest()

    def _canonical_hash(self, path: str, data: bytes) -> bytes:
        key = hashlib.sha256(path.encode() + b"\0" + data).digest()
        found = self._known.get(key)
        if found is None:
            self.canonicalised += 1
            found = hashlib.sha256(normalise(path, data, ignore=self.ignore).encode()).digest()
            if len(self._known) >= self.KNOWN_MAX:
                self._known.clear()
            self._known[key] = found
        return found


async def build(
    ctx: Context,
    envs: list[str],
    labels: tuple[str, ...] | None,
    concurrency: int = 6,
    *,
    with_status: bool = True,
) -> Matrix:
    """Every environment at once, each through one client (one connection pool: keep-alive, no TLS handshake
    per workspace) with at most ``concurrency`` requests in flight per host (bench/: drift matrix).
    ``with_status`` False skips each workspace's status request (``Cell.drift`` stays 0): the matrix screen
    does not show it, and it is half the requests."""
    digests = Digests(Ignore.from_config(ctx.config.diff_ignore))
    per_env: dict[str, dict[str, Workspace]] = {}
    env_errors: dict[str, str] = {}
    cells: dict[tuple[str, str], Cell] = {}
    tags: dict[tuple[str, str, str], asyncio.Task[str | None]] = {}  # one git read per repository, slug, version

    async def git_digest(env: str, slug: str, version: str) -> str | None:
        from tui.core.ops.compare import Ref, git_snapshot

        try:
            return digests.of_files(await asyncio.to_thread(git_snapshot, ctx, Ref(env, slug, version)))
        except E.PrismeError:
            return None

    async def label_digest(client: PrismeClient, gate: asyncio.Semaphore, env: str, ws: Workspace) -> str | None:
        """The digest of the label's version: its export when the instance has it, else its git tag."""
        version = ws.live_version or ""
        try:
            async with gate:
                native = {v.name for v in await client.list_versions(ws.id) if v.repository_id is None}
            if version in native:
                async with gate:
                    return digests.of(await client.export(ws.id, version))
        except E.PrismeError:
            return None
        key = (",".join(ctx.env(env).repositories or ()), ws.slug, version)
        if key not in tags:
            tags[key] = asyncio.ensure_future(git_digest(env, ws.slug, version))
        return await tags[key]

    async def column(env: str) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def cell(client: PrismeClient, ws: Workspace) -> None:
            try:
                async with gate:
                    archive = await client.export(ws.id)
                drift = 0
                if with_status and not client.caps.missing("status"):
                    async with gate:
                        with suppress(E.Unsupported):  # no status (2024): not measured, as when skipped
                            drift = len((await client.status(ws.id)).get("changes") or [])
            except E.PrismeError as exc:
                cells[(ws.slug, env)] = Cell(True, ws.live_version, error=exc.message)
                return
            digest = digests.of(archive)
            label_differs: bool | None = None
            if ws.dirty and ws.live_version:  # the flag says "maybe": the content says which
                label = await label_digest(client, gate, env, ws)
                label_differs = None if label is None else label != digest
            cells[(ws.slug, env)] = Cell(
                True, ws.live_version, digest, drift, dirty=ws.dirty, label_differs=label_differs
            )

        try:
            async with ctx.client(env) as client:
                items = await client.list_workspaces(labels=list(labels) if labels else None)
                per_env[env] = {w.slug: w for w in items}
                await asyncio.gather(*(cell(client, ws) for ws in per_env[env].values()))
        except E.PrismeError as exc:
            per_env.setdefault(env, {})
            env_errors[env] = exc.message

    await asyncio.gather(*(column(e) for e in envs))
    slugs = sorted({slug for found in per_env.values() for slug in found})
    matrix = Matrix(envs, slugs, cells, env_errors={e: env_errors[e] for e in envs if e in env_errors})
    for slug in slugs:
        left: Cell | None = None
        for env in envs:
            current = matrix.cells.setdefault((slug, env), Cell(False))
            if left is not None and current.present and left.present:
                current.differs_from_left = current.digest != left.digest
            left = current
    return matrix
