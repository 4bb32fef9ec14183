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
from typing import Any

from tui.core.api import errors as E
from tui.core.api.models import check_git_ref
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
        if version != "current":
            native = {v.name for v in await client.list_versions(ws.id) if v.repository_id is None}
            if version not in native:
                return await asyncio.to_thread(git_snapshot, ctx, ref)
        return files_from_zip(await client.export(ws.id, version))


def git_snapshot(ctx: Context, ref: Ref) -> Files:
    env = ctx.env(ref.env)
    ids = env.repositories or tuple(ctx.config.repositories)
    sources = [ctx.config.repositories[i] for i in ids if i in ctx.config.repositories]
    if not sources:
        raise E.UsageError(
            f"{ref.version!r} is not a native version of {ref.slug} on {ref.env}, and no git "
            "repository is configured to read it from.",
            hint='Add [repositories.<id>] with path = "/path/to/clone" (or url) to the config.',
        )
    errors = []
    for source in sources:
        try:
            return GitHistory(source).files(ref.slug, ref.version or "latest")
        except E.PrismeError as exc:
            errors.append(exc.message)
    raise E.NotFound(f"{ref}: not found: {'; '.join(errors)}")


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


async def drift(ctx: Context, env: str, slug: str) -> list[dict[str, Any]]:
    """Objects edited on that instance since their last import (someone's fix a promotion would erase)."""
    async with ctx.client(env) as client:
        ws = await client.find_workspace(slug)
        status = await client.status(ws.id)
    return list(status.get("changes") or [])


async def lost_edits(ctx: Context, env: str, slug: str, *, discard: bool = True) -> str:
    """What a dirty workspace would lose to an import that discards local changes, in words.

    The platform marks a workspace dirty after any content update, a pull included, so "dirty" alone
    does not mean someone edited it: its ``status`` lists the objects changed since the last import."""
    changes = await drift(ctx, env, slug)
    if not changes:
        return (
            f"Marked dirty by the platform, but {slug}'s status lists no object edited since its last "
            "import: no edit is lost."
        )
    names = ", ".join(f"{c.get('type')}/{c.get('slug')}" for c in changes[:5])
    more = f" and {len(changes) - 5} more" if len(changes) > 5 else ""
    fate = "will be LOST" if discard else "are merged, or LOST if you discard local changes"
    return f"DIRTY: {len(changes)} object(s) edited since the last import {fate}: {names}{more}."
