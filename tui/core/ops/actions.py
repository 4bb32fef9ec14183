"""Single-workspace actions: push, pull latest, roll back, unlock. Each verifies and audits.

A rollback is a pull of an earlier version. After the pull we verify it the way the contract says
we can: a ``workspaces.imported`` event after the request, the workspace's live version, and its
write lock (a merge conflict leaves ``writeLock.reason = merge_conflict``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from tui.core.api import errors as E
from tui.core.api.client import PROGRESS_RESERVE, PrismeClient, segment
from tui.core.api.models import PullResult, Version, Workspace, validate_version_name
from tui.core.ops import bundles, snapshots, verify
from tui.core.ops.context import Context
from tui.core.rails import with_reason

if TYPE_CHECKING:
    from tui.core.audit import AuditEntry

Progress = Callable[[str], object]
T = TypeVar("T")
SETTLE_WAIT = 30.0  # how long a finished pull may take to show in the workspace's state


@dataclass
class Outcome:
    ok: bool
    message: str
    workspace: Workspace | None = None
    result: PullResult | None = None
    version: Version | None = None
    steps: list[str] = field(default_factory=list)
    next_step: str | None = None
    snapshot_id: str | None = None  # the safety snapshot taken before (undo restores it)
    content_note: str | None = None  # where the content came from when it is not the label's version
    warnings: list[str] = field(default_factory=list)  # a success the platform qualified (a slug kept)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": self.ok, "message": self.message, "steps": self.steps}
        if self.next_step:
            data["nextStep"] = self.next_step
        if self.workspace:
            data["workspace"] = {
                "id": self.workspace.id,
                "slug": self.workspace.slug,
                "liveVersion": self.workspace.live_version,
                "dirty": self.workspace.dirty,
                "writeLock": self.workspace.write_lock.reason if self.workspace.write_lock else None,
            }
        if self.result:
            data["imported"] = list(self.result.imported)
            data["deleted"] = list(self.result.deleted)
            data["errors"] = list(self.result.errors)
        if self.version:
            data["version"] = {"name": self.version.name, "repository": self.version.source}
        if self.snapshot_id:
            data["snapshot"] = self.snapshot_id
        if self.content_note:
            data["contentNote"] = self.content_note
        if self.warnings:
            data["warnings"] = self.warnings
        return data


async def progress_steps(
    client: PrismeClient,
    ws: Workspace,
    since: str,
    operation: str,
    *,
    correlation: str | None = None,
    repository: str | bool | None = False,
) -> list[str]:
    """The progress steps of one operation. ``correlation`` (its request's x-correlation-id) ties the
    events to it; ``repository`` (None: the native store; False: any) keeps another push's steps out
    where the platform writes no correlation id. A time window alone would take in the steps of a
    push that failed just before."""
    events = await client.events(ws.id, types=["workspaces.versions.progress"], after_date=since, limit=100, sort="asc")
    return [
        f"{e.payload.get('step')}: {e.payload.get('message')}"
        for e in events
        if e.payload.get("operation") == operation
        and (repository is False or e.payload.get("repositoryId") == repository)
        and (correlation is None or e.source.get("correlationId") in (None, correlation))
    ]


async def _with_steps(
    client: PrismeClient, ws: Workspace, since: str, operation: str, call: Awaitable[T], on_step: Progress | None
) -> T:
    """Await ``call``, following its progress events meanwhile (a pull can take minutes on a big repo).

    Progress is optional: it backs off, and skips a turn when the event-search budget runs low."""
    if on_step is None:
        return await call
    task = asyncio.ensure_future(call)
    seen = 0
    pause = 1.0
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=pause)
            pause = min(pause * 1.5, 5.0)
            if done or client.budget.room("events") <= PROGRESS_RESERVE:
                if done:
                    return task.result()
                continue
            steps = await progress_steps(client, ws, since, operation)
            for step in steps[seen:]:
                on_step(step)
            seen = len(steps)
    finally:
        if not task.done():
            task.cancel()


async def push(
    ctx: Context,
    env: str,
    slug: str,
    *,
    name: str | None,
    description: str,
    repository: str | None,
    on_step: Progress | None = None,
) -> Outcome:
    if name:
        validate_version_name(name)
    with ctx.operation(env, f"push {slug}"):
        async with ctx.client(env) as client:
            ws = await client.find_workspace(slug)
            if repository:
                repos = ws.platform_repositories
                if repository not in repos:
                    raise E.NotFound(
                        f"{env}: no platform repository {repository!r}; available: "
                        f"{', '.join(sorted(repos)) or 'none'}."
                    )
                if not repos[repository].writable:
                    raise E.PermissionDenied(f"{env}: repository {repository!r} is {repos[repository].mode}.")
            since = client.server_now(-2)
            with ctx.audit.record(
                "push",
                env,
                client.base_url,
                targets=[slug],
                version=name,
                details={"repository": repository or "native"},
            ) as entry:
                if repository:  # what goes to git is scanned first (tui.core.ops.secretscan)
                    from tui.core.ops import secretscan

                    scan = await secretscan.guard(ctx, client, env, [ws], f"Push of {slug} to {repository}")
                    entry.details["secretScan"] = scan.audit()
                version = await client.publish(
                    ws.id, description=with_reason(description, ctx.reason) or "", name=name, repository_id=repository
                )
                entry.version = version.name
                operation = client.last_operation
                after = await client.get_workspace(ws.id)
                steps = await _steps(client, ws, since, "push", correlation=operation, repository=repository or None)
            where = f"git repository {repository!r}" if repository else "the native (Prismeai) store"
            lock_note = ""
            if after.write_lock:
                lock_note = f" The workspace is still locked ({after.write_lock.reason}): unlock it if this is stale."
            return Outcome(
                True, f"Pushed {slug} as {version.name} to {where}.{lock_note}", after, version=version, steps=steps
            )


async def pull(
    ctx: Context,
    env: str,
    slug: str,
    *,
    version: str = "latest",
    repository: str | None,
    discard_local_changes: bool = False,
    action: str = "pull",
    on_step: Progress | None = None,
    on_wait: Progress | None = None,
) -> Outcome:
    """Pull latest, or roll back to ``version``; then verify it from the workspace's state.

    Success means the workspace reports the pull (its ``lastPull``, live version and lock), read with
    backoff until a deadline; a 408 or ``{processing: true}`` is "still running", followed the same
    way. ``on_step`` receives the ``workspaces.versions.progress`` steps while the pull runs; ``on_wait``
    (default ``on_step``) what the verification is waiting for, after a 408 possibly for minutes."""
    on_wait = on_wait or on_step
    segment(version, "version name")  # '.' or '..' would become another endpoint: refused before any request
    with ctx.operation(env, f"{action} {slug}"):
        async with ctx.client(env) as client:
            ws = await client.find_workspace(slug)
            before = ws.live_version
            snap = await snapshots.take(ctx, client, env, ws, action)
            with ctx.audit.record(
                action,
                env,
                client.base_url,
                targets=[slug],
                version=version,
                details={
                    "repository": repository or "native",
                    "from": before,
                    "discardLocalChanges": discard_local_changes,
                    "snapshot": snap.id if snap else None,
                },
            ) as entry:
                await client.ready_for("imports")  # a paced wait first: "since" is when the pull really goes
                since = client.server_now(-2)
                try:
                    result = await _with_steps(
                        client,
                        ws,
                        since,
                        "pull",
                        client.pull(
                            ws.id,
                            version,
                            repository_id=repository,
                            discard_local_changes=discard_local_changes,
                            wait=False,
                        ),
                        on_step,
                    )
                except E.MergeConflict as exc:
                    entry.outcome = "failed"
                    return Outcome(
                        False,
                        f"{slug}: merge conflict, the workspace is locked until it is resolved.",
                        await client.get_workspace(ws.id),
                        next_step=exc.hint,
                    )
                result, warnings = slug_kept(result)
                if result.errors:
                    return await _pull_errors(client, ws, entry, result, await _steps(client, ws, since))
                if result.pending and on_wait is not None:
                    on_wait(f"still running on the server ({result.message or 'processing'}); following its state")
                deadline = client.processing_wait if result.pending else min(SETTLE_WAIT, client.processing_wait)
                settled = await verify.settle_pull(
                    client, ws, version, since=since, answered=result, deadline=deadline, on_wait=on_wait
                )
                steps = await _steps(client, ws, since)
                if result.pending:
                    steps.append(
                        f"still running on the server when the request returned ({result.message or 'processing'}); "
                        f"followed the workspace's state for {settled.waited:.0f} s"
                    )
                if settled.conflict:
                    entry.outcome = "failed"
                    return Outcome(
                        False,
                        f"{slug}: merge conflict, the workspace is locked.",
                        settled.workspace,
                        result,
                        steps=steps,
                        next_step=E.hint_for_lock("merge_conflict"),
                    )
                if not settled.confirmed:
                    entry.outcome = "failed" if not result.pending else "unconfirmed"
                    return _unconfirmed(slug, version, action, settled, result, steps, snap)
                if result.pending:  # the answer never came (408): its errors are in the imported event only
                    event = settled.event or await verify.import_report(client, ws.id, version, since=since)
                    if event is None:
                        steps.append(
                            "the platform's import report was not searchable in time: per-file errors unchecked"
                        )
                    else:
                        result, warnings = slug_kept(PullResult.from_json(event.payload, recovered=True))
                    if result.errors:
                        return await _pull_errors(client, ws, entry, result, steps)
                if warnings:
                    entry.details["warnings"] = warnings
            if action == "rollback":  # the bundle pointers of another time (tui.core.ops.bundles)
                warnings += await bundles.check(client, settled.workspace)
            outcome = _confirmed(slug, version, action, settled, result, steps, before, snap)
            outcome.warnings = warnings
            if warnings:
                outcome.message += " Warning: " + " ".join(warnings)
            return outcome


def slug_kept(result: PullResult) -> tuple[PullResult, list[str]]:
    """A ``SlugAlreadyInUse`` where the index still went in (a real instance applies it and keeps the old
    slug): the content landed, so it is a warning, not a failed pull. Where the index was left out
    (``index.yml`` not imported) it stays an error: the pull applied only part of the version."""
    indexed = "index.yml" in result.imported
    kept = [e for e in result.errors if indexed and isinstance(e, dict) and e.get("err") == "SlugAlreadyInUse"]
    if not kept:
        return result, []
    slug = result.workspace.get("slug") or "as it was"
    warnings = [
        f"the slug stays {slug}: {e.get('slug') or 'the version slug'} is used by another workspace "
        f"({e.get('conflictingWorkspaceId') or 'unknown'}); the rest of the version went in"
        for e in kept
    ]
    return replace(result, errors=tuple(e for e in result.errors if e not in kept)), warnings


async def _pull_errors(
    client: PrismeClient, ws: Workspace, entry: AuditEntry, result: PullResult, steps: list[str]
) -> Outcome:
    """The platform applied the pull only in part (a SlugAlreadyInUse leaves index.yml out): a failure."""
    entry.outcome = "failed"
    entry.details["errors"] = list(result.errors)
    first = result.errors[0]
    return Outcome(
        False,
        f"{ws.slug}: the pull reported errors: {first.get('msg') or first.get('message') or first}",
        await client.get_workspace(ws.id),
        result,
        steps=steps,
        next_step="Fix the cause (for a slug conflict, rename or exclude index), then retry.",
    )


def _confirmed(
    slug: str,
    version: str,
    action: str,
    settled: verify.Settled,
    result: PullResult,
    steps: list[str],
    before: str | None,
    snap: snapshots.Snapshot | None,
) -> Outcome:
    after = settled.workspace
    verb = "Rolled back" if action == "rollback" else "Pulled"
    live = after.live_version
    if live and version in ("latest", live):
        proof = f"verified, the workspace now runs {live}"
    else:  # an instance that records no lastPull for this kind of version: its imported event says it
        proof = f"verified by its workspaces.imported event (the workspace reports {live or 'no live version'})"
    files = "" if result.pending else f"{len(result.imported)} files imported, {len(result.deleted)} removed; "
    return Outcome(
        True,
        f"{verb} {slug} to {live if version == 'latest' and live else version}: {proof} "
        f"({files}was {before or 'unknown'}).",
        after,
        result,
        steps=steps,
        snapshot_id=snap.id if snap else None,
    )


async def _steps(
    client: PrismeClient,
    ws: Workspace,
    since: str,
    operation: str = "pull",
    *,
    correlation: str | None = None,
    repository: str | bool | None = False,
) -> list[str]:
    """The progress steps for the record, if the search budget allows one more read (they may be late)."""
    if client.budget.room("events") <= PROGRESS_RESERVE:
        return []
    return await progress_steps(client, ws, since, operation, correlation=correlation, repository=repository)


def _unconfirmed(
    slug: str,
    version: str,
    action: str,
    settled: verify.Settled,
    result: PullResult,
    steps: list[str],
    snap: snapshots.Snapshot | None,
) -> Outcome:
    """Say exactly what is known: the server's answer, and what the workspace reports now."""
    what = "roll back" if action == "rollback" else "pull"
    if result.pending:
        head = (
            f"{slug}: the {what} to {version} is still running on the server after {settled.waited:.0f} s "
            f"(not confirmed yet); the workspace reports {settled.detail}."
        )
        hint = "Do not retry yet: follow it with `a` (activity) or `prisme-deploy events`, then check the version."
    else:
        head = (
            f"{slug}: the server accepted the {what} to {version}, but the workspace is not at {version}: "
            f"it reports {settled.detail}."
        )
        hint = "Another operation may have run on this workspace: check its activity before retrying."
    return Outcome(
        False, head, settled.workspace, result, steps=steps, next_step=hint, snapshot_id=snap.id if snap else None
    )


async def restore(ctx: Context, snapshot_id: str) -> Outcome:
    """Undo an overwrite with its safety snapshot, leaving the server's state true.

    A snapshot of a clean workspace is exactly a version: pulling that version again brings back the
    content, the label and a clean state. Otherwise the archive is imported (with prune), which the
    server marks dirty, and says so: the content is restored, the label stays what it is."""
    snap = snapshots.SnapshotStore.for_context(ctx).get(snapshot_id)
    if snap.clean_version:
        return await _pull_again(ctx, snap)
    return await _import_snapshot(ctx, snap)


async def _pull_again(ctx: Context, snap: snapshots.Snapshot) -> Outcome:
    version = snap.clean_version or "latest"
    outcome = await pull(
        ctx,
        snap.env,
        snap.slug,
        version=version,
        repository=snap.repository,
        discard_local_changes=True,
        action="restore",
    )
    if not outcome.ok:
        return outcome
    differs = await _differs_from(ctx, snap)
    outcome.message = (
        f"Restored {snap.slug} on {snap.env}: pulled {version} again (it was clean at {version} before "
        f"{snap.action}); label and content agree."
        if not differs
        else f"Pulled {version} into {snap.slug} on {snap.env} (it was clean at {version} before {snap.action}), "
        f"but the content differs from the snapshot in {len(differs)} file(s): {', '.join(differs[:5])}."
    )
    if differs:
        outcome.ok = False
        outcome.next_step = f"`prisme-deploy snapshots restore {snap.id}` imports the snapshot itself (marked dirty)."
    return outcome


async def _differs_from(ctx: Context, snap: snapshots.Snapshot) -> list[str]:
    from tui.core.diff import diff_files, files_from_zip

    async with ctx.client(snap.env) as client:
        ws = await client.find_workspace(snap.slug)
        now = files_from_zip(await client.export(ws.id))
    result = await asyncio.to_thread(diff_files, files_from_zip(snap.archive.read_bytes()), now)
    return [f.path for f in result.files]


async def _import_snapshot(ctx: Context, snap: snapshots.Snapshot) -> Outcome:
    with ctx.operation(snap.env, f"restore {snap.slug}"):
        async with ctx.client(snap.env) as client:
            ws = await client.find_workspace(snap.slug)
            archive = await asyncio.to_thread(snap.archive.read_bytes)
            # The undo point of this restore must not prune the snapshot being restored (at the keep bound
            # it is the oldest): it would be gone if the import then failed.
            before = await snapshots.take(ctx, client, snap.env, ws, "restore", protect=frozenset({snap.id}))
            with ctx.audit.record(
                "restore",
                snap.env,
                client.base_url,
                targets=[snap.slug],
                version=snap.live_version,
                details={"snapshot": snap.id},
            ) as entry:
                result = await client.import_archive(ws.id, archive, prune=True)
                if result.errors:
                    entry.outcome = "failed"
            after = await client.get_workspace(ws.id)
            ok = not result.errors
            return Outcome(
                ok,
                f"Restored {snap.slug} on {snap.env} from the snapshot of {snap.time[:19]} "
                f"(taken before {snap.action}): {label_note(after, 'content restored from a snapshot')}."
                if ok
                else f"Restore of {snap.slug} reported errors: {result.errors[0]}",
                after,
                result,
                snapshot_id=before.id if before else None,
                content_note=label_note(after, "content restored from a snapshot") if ok else None,
            )


def label_note(ws: Workspace, origin: str) -> str:
    """An archive import changes content, not the version label: say both, in words."""
    label = ws.live_version or "none"
    dirty = "; marked dirty" if ws.dirty else ""
    return f"{origin}; server label {label}{dirty}"


async def unlock(ctx: Context, env: str, slug: str) -> Outcome:
    with ctx.operation(env, f"unlock {slug}"):
        async with ctx.client(env) as client:
            ws = await client.find_workspace(slug)
            if not ws.write_lock:
                return Outcome(True, f"{slug} is not locked.", ws)
            reason = ws.write_lock.reason
            with ctx.audit.record("unlock", env, client.base_url, targets=[slug], details={"reason": reason}):
                await client.unlock(ws.id)
            after = await client.get_workspace(ws.id)
            note = (
                " It was a merge conflict: pull with discard local changes now, or the conflict comes back."
                if reason == "merge_conflict"
                else ""
            )
            return Outcome(True, f"Unlocked {slug} (was {reason}).{note}", after)
