"""Where the two sides of a diff come from: ``env:slug[@version]``.

- no version, or ``current``: the workspace's working state (an export of ``current``);
- a native version of that instance: its export;
- anything else: a git version (tag, ``latest`` or a commit) read from the configured local clone
  of the platform repository (``[repositories.<id>]``).
Drift: ``GET .../status`` compares the target with the ``.import.yml`` checksums of its last import.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.core import errors as E
from tui.core.api.models import Repository, check_git_ref
from tui.core.config import RepoSource
from tui.core.diff import Files, WorkspaceDiff, diff_files, files_from_zip
from tui.core.gitsource import GitHistory
from tui.core.ignore import Ignore
from tui.core.ops.context import Context


@dataclass(frozen=True)
class Ref:
    env: str
    slug: str
    version: str | None = None

    @classmethod
    def parse(cls, text: str) -> Ref:
        env, sep, rest = text.partition(":")
        if not sep or not env or not rest:
            raise E.UsageError(f"{text!r} is not ENV:SLUG[@VERSION] (for example prod:support-bot@v1.2.0).")
        slug, _, version = rest.partition("@")
        if version:
            check_git_ref(version)  # `a..b` would be read by git as a range
        return cls(env, slug, version or None)

    def __str__(self) -> str:
        return f"{self.env}:{self.slug}" + (f"@{self.version}" if self.version else "")


async def snapshot(ctx: Context, ref: Ref) -> Files:
    version = ref.version or "current"
    async with ctx.client(ref.env) as client:
        ws = await client.find_workspace(ref.slug)
        own = ws.own_repositories
        if version != "current":
            native = {v.name for v in await client.list_versions(ws.id) if v.repository_id is None}
            if version not in native:  # the server exports native versions only (a git one is a 404)
                return await asyncio.to_thread(git_snapshot, ctx, ref, own)
        return files_from_zip(await client.export(ws.id, version))


def git_snapshot(ctx: Context, ref: Ref, own: dict[str, Repository] | None = None) -> Files:
    """A git version read from a configured clone: of the platform repository, or of one of the
    workspace's own repositories (``own``), where the workspace sits at the repository root."""
    env = ctx.env(ref.env)
    own = own or {}
    ids = list(dict.fromkeys([*(env.repositories or tuple(ctx.config.repositories)), *own]))
    sources = [ctx.config.repositories[i] for i in ids if i in ctx.config.repositories]
    sources += [s for s in local_clones(own) if s.id not in ctx.config.repositories]
    if not sources:
        clone = next(iter(own.values()), None)
        where = f"[repositories.{clone.id}] (a clone of {clone.url or 'its url'})" if clone else "[repositories.<id>]"
        raise E.UsageError(
            f"{ref.version!r} is not a native version of {ref.slug} on {ref.env} (the server exports native "
            "versions only), and no clone of its git repository is configured to read it from.",
            hint=f'Add {where} with path = "/path/to/clone" (or url) to the config.',
        )
    errors = []
    for source in sources:
        try:
            return GitHistory(source, root=source.id in own).files(ref.slug, ref.version or "latest")
        except E.PrismeError as exc:
            errors.append(exc.message)
    raise E.NotFound(f"{ref}: not found: {'; '.join(errors)}")


def local_clones(own: dict[str, Repository]) -> list[RepoSource]:
    """The workspace's own repositories that are readable here as they are (a local path or ``file://``: the
    same machine as the instance), when no ``[repositories.<id>]`` names a clone of them."""
    found = []
    for repo in own.values():
        location = (repo.url or "").removeprefix("file://")
        if location.startswith("/") and Path(location).is_dir():
            found.append(RepoSource(repo.id, path=location, branch=repo.branch or "main", dirpath=repo.dirpath))
    return found


def ignore_rules(ctx: Context, *, enabled: bool = True) -> Ignore:
    """The platform's import rewrites plus the config's ``[diff] ignore`` (nothing with --no-ignore)."""
    return Ignore.from_config(ctx.config.diff_ignore, enabled=enabled)


async def compare(
    ctx: Context, old: Ref, new: Ref, *, raw: bool = False, context: int = 3, ignore: Ignore | None = None
) -> WorkspaceDiff:
    left, right = await asyncio.gather(snapshot(ctx, old), snapshot(ctx, new))
    # A pair (two slugs) is a dev/prod couple on purpose: its name and labels differ by design.
    keys = ("name", "labels") if old.slug != new.slug else ()
    return await asyncio.to_thread(
        diff_files,
        left,
        right,
        old_label=str(old),
        new_label=str(new),
        raw=raw,
        context=context,
        ignore_keys=keys,
        ignore=ignore_rules(ctx) if ignore is None else ignore,
    )


async def to_archive(ctx: Context, current: Ref, archive: bytes, label: str) -> WorkspaceDiff:
    """What importing ``archive`` (a safety snapshot) changes: the workspace's current state -> it."""
    files = await snapshot(ctx, current)
    return await asyncio.to_thread(diff_files, files, files_from_zip(archive), old_label=str(current), new_label=label)


# What stands for the edits of a workspace whose instance has no ``.../status`` (2024): unknown, which is
# never safe, so it counts as drift (acknowledged before a promotion) and reads as "may be lost".
UNKNOWN_EDITS: dict[str, Any] = {
    "type": "unknown",
    "slug": "*",
    "unknown": True,
    "why": "this instance has no status endpoint: edits since the last import cannot be listed",
}


def edits_unknown(changes: list[dict[str, Any]]) -> bool:
    return any(c.get("unknown") for c in changes)


def drift_names(changes: list[dict[str, Any]]) -> str:
    """The drift in a few words, for dialogs and notes: the edited objects, or that they are unknown."""
    if edits_unknown(changes):
        return "UNKNOWN edits (the instance has no status endpoint: assume there are some)"
    return ", ".join(f"{c.get('type')}/{c.get('slug')}" for c in changes)


async def drift(ctx: Context, env: str, slug: str) -> list[dict[str, Any]]:
    """Objects edited on that instance since their last import (someone's fix a promotion would erase).
    Without a status endpoint: one UNKNOWN_EDITS entry (unknown is treated as edited)."""
    async with ctx.client(env) as client:
        ws = await client.find_workspace(slug)
        try:
            status = await client.status(ws.id)
        except E.Unsupported:
            return [dict(UNKNOWN_EDITS)]
    return list(status.get("changes") or [])


async def lost_edits(ctx: Context, env: str, slug: str, *, discard: bool = True) -> str:
    """What a dirty workspace would lose to an import that discards local changes, in words.

    The platform marks a workspace dirty after any content update, a pull included, so "dirty" alone
    does not mean someone edited it: its ``status`` lists the objects changed since the last import.
    An instance without ``status``: UNKNOWN, said as possibly lost, never "no edit is lost"."""
    changes = await drift(ctx, env, slug)
    if edits_unknown(changes):
        return (
            f"UNKNOWN: this instance has no status endpoint, so edits made on {slug} since its last import "
            "cannot be listed; assume they will be LOST. To find out, compare it with its last version "
            f"(`prisme-deploy diff {env}:{slug} {env}:{slug}@<version>`)."
        )
    if not changes:
        return (
            f"Marked dirty by the platform, but {slug}'s status lists no object edited since its last "
            "import: no edit is lost."
        )
    names = ", ".join(f"{c.get('type')}/{c.get('slug')}" for c in changes[:5])
    more = f" and {len(changes) - 5} more" if len(changes) > 5 else ""
    fate = "will be LOST" if discard else "are merged, or LOST if you discard local changes"
    return f"DIRTY: {len(changes)} object(s) edited since the last import {fate}: {names}{more}."
