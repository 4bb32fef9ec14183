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

from tui.core import errors as E
from tui.core.api.client import PROGRESS_RESERVE, PrismeClient, segment
from tui.core.api.models import PullResult, Repository, Version, Workspace, validate_version_name
from tui.core.ops import bundles, snapshots, verify
from tui.core.ops.context import Context
from tui.core.ops.requests import Request
from tui.core.rails import with_reason

if TYPE_CHECKING:
    from tui.core.audit import AuditEntry

Progress = Callable[[str], object]
T = TypeVar("T")
SETTLE_WAIT = 30.0  # how long a finished pull may take to show in the workspace's state
SHARING_READS = 200  # workspaces read one by one (a listing without repositories) to find a shared root


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
    notes: list[str] = field(default_factory=list)  # what was adapted to the instance, what could not be read
    # the server's warnings (an index refresh), a success the platform qualified (a slug kept), in words
    warnings: list[str] = field(default_factory=list)

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
        if self.notes:
            data["notes"] = self.notes
        if self.warnings:
            data["warnings"] = self.warnings
        return data

    def told(self, client: PrismeClient, result: PullResult | None = None) -> Outcome:
        """Add what was adapted to this instance and the server's warnings, in the message too (the app
        shows the message; the CLI and JSON also list them)."""
        self.notes.extend(n for n in client.notes if n not in self.notes)
        if result is not None:
            self.warnings.extend(w for w in result.warnings if w not in self.warnings)
        extra = [f"Warning: {w}." for w in self.warnings] + [f"Note: {n}." for n in self.notes]
        if extra:
            self.message = " ".join([self.message, *extra])
        return self


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
    push that failed just before. Events unreadable: no steps (the outcome says so)."""
    try:
        events = await client.events(
            ws.id, types=["workspaces.versions.progress"], after_date=since, limit=100, sort="asc"
        )
    except E.EventsUnavailable as exc:
        verify.events_down(client, exc)
        return []
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
    request: Request | None = None,
) -> Outcome:
    """``request``: the push asked for (its reason and broken glass go to the gate, the journal and the
    version description); None: the run's default reason."""
    why = request if request is not None else Request()
    if name:
        validate_version_name(name)
    with ctx.operation(env, f"push {slug}", request=why):
        async with ctx.client(env) as client:
            ws = await client.find_workspace(slug)
            shared: list[str] = []
            if repository:
                repo = await repository_of(client, ws, repository)
                if not repo.writable:
                    raise E.PermissionDenied(f"{env}: repository {repository!r} is {repo.mode}.")
                shared = await sharing_root(client, ws, repo)
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
                try:
                    version = await client.publish(
                        ws.id,
                        description=with_reason(description, why.reason) or "",
                        name=name,
                        repository_id=repository,
                    )
                except E.VersionNameTaken as exc:
                    if repository and exc.error_class == "AlreadyUsedError":
                        raise _tag_taken(exc, repository, name) from exc
                    raise
                entry.version = version.name
                operation = client.last_operation
                after = await client.get_workspace(ws.id)
                steps = await _steps(client, ws, since, "push", correlation=operation, repository=repository or None)
            where = f"git repository {repository!r}" if repository else "the native (Prismeai) store"
            lock_note = ""
            if after.write_lock:
                lock_note = f" The workspace is still locked ({after.write_lock.reason}): unlock it if this is stale."
            outcome = Outcome(
                True, f"Pushed {slug} as {version.name} to {where}.{lock_note}", after, version=version, steps=steps
            )
            outcome.warnings.extend(shared)
            return outcome.told(client)


async def repository_of(client: PrismeClient, ws: Workspace, repository: str) -> Repository:
    """The repository ``--repository`` names for this workspace: one of its own (``repositories``) or a
    platform repository; an unknown id lists both kinds."""
    repos = ws.repositories
    if repository not in repos and not ws.platform_repositories:
        repos = {**await client.platform_repositories(), **ws.own_repositories}
    if repository in repos:
        return repos[repository]
    own = ", ".join(sorted(ws.own_repositories)) or "none"
    platform = ", ".join(sorted(r for r in repos if r not in ws.own_repositories)) or "none"
    raise E.NotFound(
        f"{client.env_name}: no repository {repository!r} for {ws.slug}; the workspace's own: {own}; "
        f"platform: {platform}.",
        hint="A workspace's own repositories are in its repositories field (index.yml); platform ones are "
        "WORKSPACES_STORAGE_GIT_PLATFORM_<id>_* on the server.",
    )


async def sharing_root(client: PrismeClient, ws: Workspace, repo: Repository) -> list[str]:
    """Warnings when another workspace of this instance declares the same repository root (url, branch,
    dirpath) as its own: a push writes the workspace at that root and removes every other file there."""
    if repo.origin != "workspace" or not repo.url:
        return []
    try:
        others = [w for w in await client.list_workspaces() if w.id != ws.id]
        if others and not all("repositories" in w.raw for w in others):  # a listing without them (2024)
            if len(others) > SHARING_READS:
                return [f"not checked whether another of the {len(others)} workspaces pushes to this repository root"]
            gate = asyncio.Semaphore(8)

            async def read(other: Workspace) -> Workspace:
                async with gate:
                    return await client.get_workspace(other.id)

            others = list(await asyncio.gather(*(read(w) for w in others)))
    except E.PrismeError:
        return ["could not read the workspaces to check whether another one pushes to the same repository root"]
    sharing = sorted(
        other.slug for other in others if any(r.root == repo.root for r in other.own_repositories.values())
    )
    if not sharing:
        return []
    return [
        f"{', '.join(sharing[:5])} also push(es) to this repository and branch: a push rewrites the repository "
        "root and removes what another workspace wrote there (one workspace per repository root)"
    ]


def _tag_taken(exc: E.VersionNameTaken, repository: str, name: str | None) -> E.PrismeError:
    """``AlreadyUsedError`` on a git push: the service commits and pushes the branch before it tags, so
    the branch may already hold this workspace's commit although the version was refused."""
    return E.VersionNameTaken(
        f"{exc.message} The version was refused and is not in the workspace's list, but the branch of "
        f"{repository!r} may already hold this push's commit (the tag is written after the branch).",
        hint=f"Push again with another version name than {name!r}; check the branch's last commit in the "
        "repository before pulling it anywhere.",
        status=exc.status,
        error_class=exc.error_class,
        correlation_id=exc.correlation_id,
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
    request: Request | None = None,
    verb: str | None = None,
) -> Outcome:
    """Pull latest, or roll back to ``version``; then verify it from the workspace's state.

    Success means the workspace reports the pull (its ``lastPull``, live version and lock), read with
    backoff until a deadline; a 408 or ``{processing: true}`` is "still running", followed the same
    way. ``on_step`` receives the ``workspaces.versions.progress`` steps while the pull runs; ``on_wait``
    (default ``on_step``) what the verification is waiting for, after a 408 possibly for minutes.
    ``request``: the pull, rollback or restore asked for (its reason and broken glass). ``verb``: how the
    outcome says it (a drill's restore leg is journalled as a rollback, but it restores); default from ``action``."""
    on_wait = on_wait or on_step
    segment(version, "version name")  # '.' or '..' would become another endpoint: refused before any request
    with ctx.operation(env, f"{action} {slug}", request=request):
        async with ctx.client(env) as client:
            ws = await client.find_workspace(slug)
            repository = await _source_of(client, ws, version, repository)
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
                    failed = await _pull_errors(client, ws, entry, result, await _steps(client, ws, since))
                    return failed.told(client, result)
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
                if settled.untracked:
                    settled = await _by_content(ctx, client, env, ws, version, settled)
                if not settled.confirmed:
                    entry.outcome = "failed" if not result.pending else "unconfirmed"
                    return _unconfirmed(slug, version, action, settled, result, steps, snap).told(client, result)
                if result.pending:  # the answer never came (408): its errors are in the imported event only
                    event = settled.event or await verify.import_report(client, ws.id, version, since=since)
                    if event is None:
                        steps.append(
                            "the platform's import report was not searchable in time: per-file errors unchecked"
                        )
                    else:
                        result, warnings = slug_kept(PullResult.from_json(event.payload, recovered=True))
                    if result.errors:
                        return (await _pull_errors(client, ws, entry, result, steps)).told(client, result)
                if warnings:
                    entry.details["warnings"] = warnings
            if action == "rollback":  # the bundle pointers of another time (tui.core.ops.bundles)
                warnings += await bundles.check(client, settled.workspace, exported=settled.content)
            verb = verb or ("Rolled back" if action == "rollback" else "Pulled")
            outcome = _confirmed(slug, version, verb, settled, result, steps, before, snap)
            outcome.warnings = list(warnings)
            return outcome.told(client, result)


async def _source_of(client: PrismeClient, ws: Workspace, version: str, repository: str | None) -> str | None:
    """Where ``version`` is when the caller did not say: the workspace's version list names its repository
    (a git version pulled as a native one is "Unknown version name"). A name found in more than one place
    is refused: which one is meant cannot be guessed."""
    if repository is not None or version in ("latest", "current"):
        return repository
    sources = {v.repository_id for v in await client.list_versions(ws.id) if v.name == version}
    if len(sources) > 1:
        places = ", ".join(sorted(s or "native" for s in sources))
        raise E.UsageError(f"{ws.slug}: {version} exists in {places}: say which one with --repository.")
    return next(iter(sources), None)


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


async def _by_content(
    ctx: Context, client: PrismeClient, env: str, ws: Workspace, version: str, settled: verify.Settled
) -> verify.Settled:
    """An instance that records no pull and whose events are down (2024, events service down): the pull is
    confirmed when the workspace's content now is the version's (native: its export; git: the configured
    clone), as ``diff`` compares them. Otherwise it stays unconfirmed, saying how to check."""
    from tui.core.diff import diff_files, files_from_zip
    from tui.core.ops.compare import Ref, git_snapshot, ignore_rules

    native = {v.name for v in await client.list_versions(ws.id) if v.repository_id is None}
    try:
        if version in native:
            wanted = files_from_zip(await client.export(ws.id, version))
        else:
            wanted = await asyncio.to_thread(git_snapshot, ctx, Ref(env, ws.slug, version), ws.own_repositories)
    except E.PrismeError as exc:
        settled.detail = f"{settled.detail}; the content of {version} could not be read to compare ({exc.message})"
        return settled
    now = settled.content = files_from_zip(await client.export(ws.id))
    differs = await asyncio.to_thread(lambda: diff_files(wanted, now, ignore=ignore_rules(ctx)).files)
    if differs:
        kept = _index_keys_kept(wanted.get("index.yml"), now.get("index.yml"))
        settled.detail = (
            f"{settled.detail}; its content differs from {version} in {len(differs)} file(s): "
            + ", ".join(f.path for f in differs[:5])
            + (
                f" (index.yml keys the import kept: {', '.join(kept)}; this generation merges the index)"
                if kept
                else ""
            )
        )
        return settled
    settled.confirmed = True
    settled.detail = f"content verified: the workspace's content is {version}'s ({settled.detail})"
    return settled


def _index_keys_kept(version: bytes | None, now: bytes | None) -> list[str]:
    """Top-level keys of index.yml the workspace has and the version lacks: an import that merges the index
    (2024) keeps them, so a pull never removes them."""
    import yaml

    try:
        old, new = yaml.safe_load(version or b"") or {}, yaml.safe_load(now or b"") or {}
    except yaml.YAMLError:
        return []
    if not isinstance(old, dict) or not isinstance(new, dict):
        return []
    return sorted(str(k) for k in new if k not in old and k not in ("labels", "customDomains", "description"))[:5]


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
    verb: str,
    settled: verify.Settled,
    result: PullResult,
    steps: list[str],
    before: str | None,
    snap: snapshots.Snapshot | None,
) -> Outcome:
    after = settled.workspace
    live = after.live_version
    if settled.untracked:
        proof = settled.detail
    elif live and version in ("latest", live):
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
    elif settled.untracked:
        head = (
            f"{slug}: the server accepted the {what} to {version}, but it cannot be confirmed from the workspace: "
            f"{settled.detail}."
        )
        hint = (
            f"This instance records no pulls and its events cannot be read: compare the workspace with the version "
            f"(`prisme-deploy diff ENV:{slug} ENV:{slug}@{version}`) to see what the pull left as it was."
        )
    else:
        head = (
            f"{slug}: the server accepted the {what} to {version}, but the workspace is not at {version}: "
            f"it reports {settled.detail}."
        )
        hint = "Another operation may have run on this workspace: check its activity before retrying."
    return Outcome(
        False, head, settled.workspace, result, steps=steps, next_step=hint, snapshot_id=snap.id if snap else None
    )


async def restore(ctx: Context, snapshot_id: str, *, request: Request | None = None) -> Outcome:
    """Undo an overwrite with its safety snapshot, leaving the server's state true.

    A snapshot of a clean workspace is exactly a version: pulling that version again brings back the
    content, the label and a clean state. Otherwise the archive is imported (with prune), which the
    server marks dirty, and says so: the content is restored, the label stays what it is."""
    snap = snapshots.SnapshotStore.for_context(ctx).get(snapshot_id)
    if snap.clean_version:
        return await _pull_again(ctx, snap, request)
    return await _import_snapshot(ctx, snap, request)


async def _pull_again(ctx: Context, snap: snapshots.Snapshot, request: Request | None) -> Outcome:
    version = snap.clean_version or "latest"
    outcome = await pull(
        ctx,
        snap.env,
        snap.slug,
        version=version,
        repository=snap.repository,
        discard_local_changes=True,
        action="restore",
        request=request,
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


async def _import_snapshot(ctx: Context, snap: snapshots.Snapshot, request: Request | None) -> Outcome:
    with ctx.operation(snap.env, f"restore {snap.slug}", request=request):
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
                left = None if result.errors or result.pending else await _left_over(ctx, client, ws, archive)
                if left:
                    entry.outcome = "failed"
            after = await client.get_workspace(ws.id)
            ok = not result.errors and not left
            message = (
                f"Restored {snap.slug} on {snap.env} from the snapshot of {snap.time[:19]} "
                f"(taken before {snap.action}): {label_note(after, 'content restored from a snapshot')}."
                if ok
                else f"Restore of {snap.slug} reported errors: {result.errors[0]}"
                if result.errors
                else f"Restore of {snap.slug} imported the snapshot, but the workspace still differs from it: {left}."
            )
            return Outcome(  # the server's warnings and what was adapted, said (told)
                ok,
                message,
                after,
                result,
                snapshot_id=before.id if before else None,
                content_note=label_note(after, "content restored from a snapshot") if ok else None,
                next_step=None if ok else "Delete what is left over in the studio, or roll back by version instead.",
            ).told(client, result)


async def _left_over(ctx: Context, client: PrismeClient, ws: Workspace, archive: bytes) -> str | None:
    """After an import with prune: how the workspace still differs from the archive, in words (None: it does
    not). Only objects the archive lacks left over: the instance merges on import (2024 ignores ``prune``)."""
    from tui.core.diff import diff_files, files_from_zip
    from tui.core.ops.compare import ignore_rules

    now = files_from_zip(await client.export(ws.id))
    files = await asyncio.to_thread(lambda: diff_files(files_from_zip(archive), now, ignore=ignore_rules(ctx)).files)
    return merged_note(client, files)


def merged_note(client: PrismeClient, files: list[Any]) -> str | None:
    """What a diff (archive -> workspace after its import) says: None when identical; when only files the
    archive lacks remain, the instance merged instead of pruning (learned: ``import_prune`` no)."""
    if not files:
        return None
    extra = [f.path for f in files if f.status == "added"]
    names = ", ".join(f.path for f in files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    if len(extra) == len(files):
        client.caps.learn("import_prune", False, "objects absent from the archive stayed after ?prune=true")
        return (
            f"this instance merges on import (?prune= is ignored): {len(extra)} object(s) the archive lacks are "
            f"still there: {names}"
        )
    return f"{len(files)} file(s) differ: {names}"


def label_note(ws: Workspace, origin: str) -> str:
    """An archive import changes content, not the version label: say both, in words."""
    label = ws.live_version or "none"
    dirty = "; marked dirty" if ws.dirty else ""
    return f"{origin}; server label {label}{dirty}"


async def unlock(ctx: Context, env: str, slug: str, *, request: Request | None = None) -> Outcome:
    with ctx.operation(env, f"unlock {slug}", request=request):
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
