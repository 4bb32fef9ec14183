"""Bulk push and bulk import runs, as the Deployment guide's CI steps do them, with an audit entry.

Bulk import goes one group at a time, in the order given, and stops at the first group with errors
(unless told to continue), as the guide's update procedure asks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

from tui.core import errors as E
from tui.core.api.bulk import BulkEvent, locked_slugs
from tui.core.api.client import PrismeClient
from tui.core.api.models import Workspace
from tui.core.ops import snapshots
from tui.core.ops.context import Context
from tui.core.ops.requests import Request
from tui.core.rails import with_reason


@dataclass
class BulkRun:
    """What a run ended with: the summaries, and whether the guide's checks pass."""

    env: str
    operation: str
    summaries: list[BulkEvent] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    stopped_at: str | None = None
    locked: list[str] = field(default_factory=list)  # skipped for a write lock: not pushed, so not a success
    done: list[str] = field(default_factory=list)  # groups whose summary has no error, conflict or lock

    @property
    def failed(self) -> bool:
        return any(s.failed for s in self.summaries) or self.stopped_at is not None or bool(self.locked)

    @property
    def status(self) -> str:
        return "stopped" if self.stopped_at else "failed" if self.failed else "completed"

    def to_json(self) -> dict[str, Any]:
        """The stream's last line (``format.summary_document``), the server's summaries inside."""
        from tui.core.ops.format import summary_document

        return summary_document(
            self.operation,
            status=self.status,
            done=self.done,
            stopped_at=self.stopped_at,
            locked=self.locked,
            failed=self.failed,
            env=self.env,
            notices=self.notices,
            summaries=[s.payload for s in self.summaries],
        )


async def validate_repository(client: PrismeClient, env: str, repository: str, *, write: bool) -> None:
    repos = await client.platform_repositories()
    if client.caps.missing("platform_repositories"):
        kind = "push" if write else "import"
        raise E.Unsupported(
            f"{env}: this instance has no platform repositories ({client.caps.get('platform_repositories').evidence}),"
            f" so no bulk {kind}.",
            hint=f"{'Push' if write else 'Pull'} workspaces one by one (`prisme-deploy {'push' if write else 'pull'} "
            "SLUG --repository ID`, with the workspace's own repository).",
            capability="bulk_push" if write else "bulk_import",
        )
    if repository not in repos:
        raise E.NotFound(
            f"{env}: unknown platform repository {repository!r}; available: {', '.join(sorted(repos)) or 'none'}.",
            hint="Platform repositories are the WORKSPACES_STORAGE_GIT_PLATFORM_<id>_* variables.",
        )
    repo = repos[repository]
    if write and not repo.writable:
        raise E.PermissionDenied(f"{env}: repository {repository!r} is {repo.mode}; a bulk push needs read-write.")
    if not write and not repo.readable:
        raise E.PermissionDenied(f"{env}: repository {repository!r} is {repo.mode}; a bulk import needs to read it.")


async def group_members(client: PrismeClient, ctx: Context, group: str, repository: str) -> list[Workspace] | None:
    """The workspaces of ``group``: by its configured labels, else as the server defines the group (a bulk
    push dry run categorises its members and pushes nothing). None when neither can tell."""
    known = ctx.config.groups.get(group)
    if known:
        return await client.list_workspaces(labels=list(known.labels))
    slugs: set[str] = set()
    try:
        async for event in client.bulk_push(repository_id=repository, groups=[group], dry_run=True):
            if event.kind == "started":
                slugs = {str(w.get("slug")) for w in event.payload.get("workspaces") or [] if isinstance(w, dict)}
    except E.PrismeError:
        return None
    return [w for w in await client.list_workspaces() if w.slug in slugs]


async def _snapshot_group(
    ctx: Context, client: PrismeClient, env: str, group: str, repository: str
) -> tuple[list[str], str] | None:
    """Every workspace a group import may overwrite, exported concurrently first (None: snapshots off).
    Returns the snapshot ids and what to say about them."""
    if not snapshots.enabled(ctx, env):
        return None
    members = await group_members(client, ctx, group, repository)
    if members is None:
        members = await client.list_workspaces()
        what = f"all {len(members)} workspace(s) saved before importing {group} (its members are unknown here)"
    else:
        what = f"{len(members)} workspace(s) of {group} saved before the import"
    taken = await snapshots.take_many(ctx, client, env, members, f"bulk-import {group}")
    return [s.id for s in taken], what


async def _to_push(
    ctx: Context, client: PrismeClient, repository: str, groups: list[str], force: bool
) -> list[Workspace]:
    """What a bulk push will push, as the server decides it (the secret scan's list): the candidates of
    its own dry run of the same groups (groups the configuration does not know included), plus the
    configured labels' dirty members (all with --force). When the server's dry run cannot tell, every
    dirty workspace: unknown is never safe, so the scan assumes the widest push."""
    from tui.core.ops.secretscan import gathered

    # The dry run and the listing are independent reads: asked together, the server answers both in one wait.
    candidates, listing = await gathered([_candidates(client, repository, groups, force), client.list_workspaces()])
    (answered, slugs), everything = cast(tuple[bool, set[str]], candidates), cast(list[Workspace], listing)
    labels = {label for g in groups if g in ctx.config.groups for label in ctx.config.groups[g].labels}
    return [
        w
        for w in everything
        if w.slug in slugs or ((force or w.dirty) and (not answered or labels.intersection(w.labels)))
    ]


async def _candidates(client: PrismeClient, repository: str, groups: list[str], force: bool) -> tuple[bool, set[str]]:
    """The server's own dry run of the push: whether it answered, and the slugs it would push."""
    slugs: set[str] = set()
    answered = False
    try:
        async for event in client.bulk_push(repository_id=repository, groups=groups, dry_run=True, force=force):
            if event.kind == "started":
                answered = True
                named = event.payload.get("workspaces")
                for item in named if isinstance(named, list) else []:
                    if isinstance(item, dict) and item.get("status") in (None, "candidate"):
                        slugs.add(str(item.get("slug")))
    except E.PrismeError:
        answered = False
    return answered, slugs


async def bulk_push(
    ctx: Context,
    env: str,
    *,
    repository: str,
    groups: list[str],
    name: str | None,
    description: str | None,
    dry_run: bool = False,
    force: bool = False,
    run: BulkRun | None = None,
    request: Request | None = None,
) -> AsyncIterator[BulkEvent]:
    run = run or BulkRun(env, "bulk-push")
    why = request if request is not None else Request()  # its reason and broken glass
    with ctx.operation(env, "bulk push", request=why, rails=not dry_run):
        async with ctx.client(env) as client:
            await validate_repository(client, env, repository, write=True)
            with ctx.audit.record(
                "bulk-push",
                env,
                client.base_url,
                targets=groups,
                version=name,
                details={"repository": repository, "dryRun": dry_run, "force": force},
            ) as entry:
                if not dry_run:  # what goes to git is scanned first (tui.core.ops.secretscan)
                    from tui.core.ops import secretscan

                    pushed = await _to_push(ctx, client, repository, groups, force)
                    scan = await secretscan.guard(ctx, client, env, pushed, f"Bulk push to {repository}")
                    entry.details["secretScan"] = scan.audit()
                async for event in client.bulk_push(
                    repository_id=repository,
                    groups=groups,
                    name=name,
                    description=with_reason(description, why.reason),
                    dry_run=dry_run,
                    force=force,
                ):
                    if event.kind == "notice" and event.message:
                        run.notices.append(event.message)
                    run.locked += [s for s in locked_slugs(event) if s not in run.locked]  # a recovery replays it
                    if event.kind == "completed":
                        run.summaries.append(event)
                        entry.details["skippedWhileLocked"] = list(run.locked)
                        if run.locked:
                            entry.outcome = "failed"
                        entry.details["pushed"] = len(event.ids("pushedWorkspaceIds"))
                        entry.details["errors"] = len(event.payload.get("errors") or [])
                        entry.details["mergeConflicts"] = len(event.ids("mergeConflictWorkspaceIds"))
                        if event.failed:
                            entry.outcome = "failed"
                        elif not run.locked:
                            run.done += [g for g in groups if g not in run.done]  # one summary for every group
                    if event.kind == "failure":
                        entry.outcome = "failed"
                        raise E.ServerError(f"{env}: the bulk push failed: {event.message}")
                    yield event


async def bulk_import(
    ctx: Context,
    env: str,
    *,
    repository: str,
    groups: list[str],
    force_reimport: bool = False,
    continue_on_error: bool = False,
    run: BulkRun | None = None,
    request: Request | None = None,
) -> AsyncIterator[BulkEvent]:
    run = run or BulkRun(env, "bulk-import")
    if not groups:
        raise E.UsageError("Name the groups to import, in order (for example base1,base2,extended).")
    from tui.core.ops import release  # loaded by the import that needs it, as the lease below

    await release.refuse_rejected_import(ctx, repository)  # a rejected head: refused before anything (issue 29)
    seen: set[str] = set()  # platform event ids already shown: each group's run shows only its own
    from tui.core.ledger import lease  # the environment's lease (issue 28), unless a rollout holds it

    with ctx.operation(env, "bulk import", request=request):
        async with lease.for_environments(ctx, [env], "bulk import", ",".join(groups)), ctx.client(env) as client:
            await validate_repository(client, env, repository, write=False)
            with ctx.audit.record(
                "bulk-import",
                env,
                client.base_url,
                targets=groups,
                details={"repository": repository, "forceReimport": force_reimport},
            ) as entry:
                for group in groups:
                    yield _notice(run, group, f"importing group {group}")
                    saved = await _snapshot_group(ctx, client, env, group, repository)
                    if saved is not None:
                        entry.details.setdefault("snapshots", []).extend(saved[0])
                        yield _notice(run, group, f"safety snapshots: {saved[1]}")
                    summary: BulkEvent | None = None
                    # Only this group's events: the client filters the platform's feed (``client._ours``).
                    async for event in client.bulk_import(
                        repository_id=repository, group=group, force_reimport=force_reimport, seen=seen
                    ):
                        if event.kind == "completed":
                            summary = event
                            run.summaries.append(event)
                        if event.kind == "notice" and event.message:
                            run.notices.append(event.message)
                        yield event
                    if summary is None:
                        raise E.BulkIncomplete(f"{env}: group {group} ended without a completed summary.")
                    if summary.failed:
                        entry.outcome = "failed"  # with --continue-on-error too: the journal says what happened
                    else:
                        run.done.append(group)
                    if summary.payload.get("errors") and not continue_on_error:
                        run.stopped_at = group
                        entry.outcome = "failed"
                        entry.details["stoppedAt"] = group
                        rest = groups[groups.index(group) + 1 :]
                        if rest:
                            yield _notice(
                                run, group, f"stopped: group {group} has errors; not importing {', '.join(rest)}"
                            )
                        return


def _notice(run: BulkRun, group: str, message: str) -> BulkEvent:
    """A notice of the import (words, on stderr), kept in the run's summary document too."""
    run.notices.append(message)
    return BulkEvent("notice", {}, "import", group, message=message)
