"""Plans: what a bulk import or an environment-to-environment promotion would change, before it runs.

Like ``terraform plan``: per group in order and per workspace, the action the platform will take
(``create``, ``update``, ``skip`` at the same version, ``blocked`` by a lock), the version change, a
diffstat against what the instance runs now, and the edits that will be lost. A bulk import always
discards local changes (the guide's ``discardLocalChanges``), so every object edited on the target since
its last import (``GET .../status`` ``changes``) is listed as lost.

The plan reads, never writes: exports, status and the workspace list are outside the gateway's import
and event limits, and the repository's content comes from the configured local clone
(``[repositories.<id>]``), the same one diffs read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from tui.core import errors as E
from tui.core.api.client import PrismeClient
from tui.core.api.models import Workspace
from tui.core.diff import Files, WorkspaceDiff, diff_files, files_from_zip
from tui.core.gitsource import GitHistory, _git
from tui.core.ops.compare import UNKNOWN_EDITS, ignore_rules
from tui.core.ops.context import Context
from tui.core.ops.repo_content import RepoWorkspace, read_repository

CHANGES = ("create", "update", "blocked")  # what makes `plan` exit 1
# No source says a real bulk import clears a write lock: any lock is expected to fail that workspace's import
# (a merge conflict always does). The sandbox's Realism.bulk_import_clears_locks reproduces both answers.
SAME_CONTENT, EARLIER_GROUP = "same content", "imported by an earlier group"
SKIP_LABELS = {SAME_CONTENT: "same content", EARLIER_GROUP: "earlier group"}


@dataclass
class PlanItem:
    group: str
    slug: str
    action: str  # create | update | skip | blocked
    from_version: str | None = None
    to_version: str | None = None
    reason: str = ""
    diff: WorkspaceDiff | None = None
    lost_edits: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def version_change(self) -> str:
        return f"{self.from_version or '—'} → {self.to_version or '—'}"

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "workspace": self.slug,
            "action": self.action,
            "from": self.from_version,
            "to": self.to_version,
            "reason": self.reason,
            "stat": self.diff.stat() if self.diff else None,
            "files": [
                {"path": f.path, "status": f.status, "insertions": f.stat[0], "deletions": f.stat[1]}
                for f in (self.diff.files if self.diff else [])
            ],
            "lostEdits": [
                {"type": c.get("type"), "slug": c.get("slug"), "updatedBy": c.get("updatedBy") or None}
                for c in self.lost_edits
            ],
            "warnings": self.warnings,
        }


@dataclass
class Plan:
    kind: str  # bulk-import | promote
    env: str
    source: str  # the repository id, or the source environment
    groups: list[str]
    items: list[PlanItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return any(item.action in CHANGES for item in self.items)

    def counts(self) -> dict[str, int]:
        found = {action: 0 for action in ("create", "update", "skip", "blocked")}
        for item in self.items:
            found[item.action] = found.get(item.action, 0) + 1
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "env": self.env,
            "source": self.source,
            "groups": self.groups,
            "changes": self.has_changes,
            "counts": self.counts(),
            "items": [item.to_json() for item in self.items],
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        """The plan as text (CLI; the app's dialogs show the same lines). Server text is escaped by the printer."""
        out = [f"Plan: {self.kind} {self.source} → {self.env}, groups {', '.join(self.groups)}"]
        for group in self.groups:
            out.append(f"group {group}:")
            items = [i for i in self.items if i.group == group]
            if not items:
                out.append("  (no workspace of this group in the source)")
            for item in items:
                out.extend(_item_lines(item))
        counts = self.counts()
        out.append(
            f"{counts['create']} to create, {counts['update']} to update, {counts['skip']} unchanged, "
            f"{counts['blocked']} blocked."
        )
        out.extend(f"note: {note}" for note in self.notes)
        return out


def _item_lines(item: PlanItem) -> list[str]:
    mark = {"create": "+", "update": "~", "skip": "=", "blocked": "!"}[item.action]
    label = {"skip": f"skip ({SKIP_LABELS.get(item.reason, 'same version')})", "blocked": "blocked (locked)"}
    head = f"  {mark} {item.slug:24} {label.get(item.action, item.action):20} {item.version_change}"
    if item.diff is not None and item.action != "skip":
        stat = item.diff.stat()
        head += f"  {stat['files']} file(s) +{stat['insertions']} -{stat['deletions']}"
    lines = [head]
    if item.reason and item.action == "blocked":
        lines.append(f"      {item.reason}")
    if item.diff is not None and item.action == "update":
        for f in item.diff.files:
            lines.append(f"      {f.status:8} {f.path} +{f.stat[0]} -{f.stat[1]}")
    if item.lost_edits:
        lines.append(f"      WARNING: {len(item.lost_edits)} edit(s) made on this instance will be lost:")
        for change in item.lost_edits:
            if change.get("unknown"):
                lines.append("        - UNKNOWN: which edits cannot be listed (no status endpoint)")
                continue
            who = f" (by {change.get('updatedBy')})" if change.get("updatedBy") else ""
            lines.append(f"        - {change.get('type')}/{change.get('slug')}{who}")
    lines.extend(f"      warning: {w}" for w in item.warnings)
    return lines


# ------------------------------------------------------------------------------------------- bulk import
async def bulk_import(
    ctx: Context, env: str, *, repository: str, groups: list[str], force_reimport: bool = False
) -> Plan:
    """What ``bulk-import --groups ...`` would do on ``env``, the way the workspaces service decides it."""
    if not groups:
        raise E.UsageError("Name the groups to plan, in order (for example base1,base2,extended).")
    from tui.core.ops import release  # release imports this module

    await release.refuse_rejected_import(ctx, repository)  # no plan of what would be refused (issue 29)
    content = await asyncio.to_thread(read_repository, ctx, repository)
    plan = Plan("bulk-import", env, repository, groups)
    plan.notes.append("a bulk import discards local changes on every workspace it updates (discardLocalChanges)")
    ignore = ignore_rules(ctx)
    async with ctx.client(env) as client:
        await _require_groups(ctx, client, env, repository, groups, content)
        present = {w.slug: w for w in await client.list_workspaces()}
        done: set[str] = set()  # imported by an earlier group: the next group finds it at that version
        for group in groups:
            members = [w for w in content if group in w.groups]
            items = await asyncio.gather(
                *(
                    _import_item(client, group, w, present.get(w.slug), w.slug in done, force_reimport, ignore)
                    for w in members
                )
            )
            plan.items.extend(items)
            done.update(w.slug for w in members)
            if any(item.action == "blocked" for item in items) and group != groups[-1]:
                rest = ", ".join(groups[groups.index(group) + 1 :])
                plan.notes.append(
                    f"group {group} will report errors (blocked): the import stops there, {rest} not imported"
                )
    return plan


class NothingFound(E.UsageError):
    """The source holds no workspace of a requested group, or the group is defined nowhere (exit 2): a plan
    of nothing would read as "nothing to do" in CI."""

    kind = "nothing_found"


async def _require_groups(
    ctx: Context, client: PrismeClient, env: str, repository: str, groups: list[str], content: list[RepoWorkspace]
) -> None:
    """Refuse (exit 2) a group defined nowhere, or one of which the repository holds no workspace, saying
    what was looked for (repository, dirpath, groups and their labels) and what was found."""
    platform: tuple[str, ...] | None = None
    if any(g not in ctx.config.groups for g in groups):
        try:  # group names are exposed on the platform workspace's repositories (labels are not)
            repos = await client.platform_repositories()
            platform = tuple(sorted({g for r in repos.values() for g in r.groups}))
        except E.PrismeError:
            platform = None
    undefined = [g for g in groups if g not in ctx.config.groups and (platform is None or g not in platform)]
    empty = [g for g in groups if g not in undefined and not any(g in w.groups for w in content)]
    if not undefined and not empty:
        return
    problems = []
    if undefined:
        seen = "could not be read" if platform is None else (", ".join(platform) or "none")
        problems.append(
            f"group(s) {', '.join(undefined)} undefined: not in the configuration's [groups] "
            f"({', '.join(ctx.config.groups) or 'none'}) nor among the groups {env}'s platform lists ({seen})"
        )
    if empty:
        labels = "; ".join(
            f"{g}: labels {', '.join(ctx.config.groups[g].labels)}"
            if g in ctx.config.groups
            else f"{g}: labels unknown"
            for g in empty
        )
        problems.append(
            f"no workspace of group(s) {', '.join(empty)} in repository {repository} "
            f"(looked for .import.yml groups; {labels}); {await asyncio.to_thread(_found, ctx, repository, content)}"
        )
    raise NothingFound(
        "nothing to plan: " + "; ".join(problems) + ".",
        hint="Check --groups and the repository's dirpath ([repositories.<id>] dirpath), then plan again.",
    )


def _found(ctx: Context, repository: str, content: list[RepoWorkspace]) -> str:
    """What the repository's head holds, said so that the fix is plain (``set dirpath``)."""
    source = ctx.config.repositories[repository]
    where = f"dirpath {source.dirpath!r}" if source.dirpath else "no dirpath (the repository root)"
    grouped = sorted({g for w in content for g in w.groups})
    if grouped:
        return f"read under {where}: {len(content)} workspace folder(s), of groups {', '.join(grouped)}"
    history = GitHistory(source)
    head = history.resolve("", "latest")
    listing = _git(history.repo, "ls-tree", "-r", "--name-only", head, check=False).splitlines()
    base = source.dirpath.strip("/") + "/" if source.dirpath else ""
    nested = sorted(
        {
            path[len(base) :].split("/")[0]
            for path in listing
            if path.startswith(base) and path.endswith("/.import.yml") and path[len(base) :].count("/") >= 2
        }
    )
    if nested:
        return f"read under {where}: workspaces found under {', '.join(d + '/' for d in nested)}: set dirpath"
    folders = ", ".join(w.slug for w in content[:8]) or "none"
    return f"read under {where}: {len(content)} folder(s) ({folders}), none with groups"


async def _import_item(
    client: PrismeClient,
    group: str,
    source: RepoWorkspace,
    ws: Workspace | None,
    earlier: bool,
    force: bool,
    ignore: Any,
) -> PlanItem:
    if ws is None:
        return PlanItem(group, source.slug, "create", None, source.version, "not on this instance")
    current = ws.last_pull.version if ws.last_pull else None
    if earlier and not force:
        return PlanItem(group, source.slug, "skip", source.version, source.version, EARLIER_GROUP)
    if not force and source.version and current == source.version:
        return PlanItem(group, source.slug, "skip", current, source.version, f"already at version {current}")
    lock = ws.write_lock.reason if ws.write_lock else None
    if lock:
        return PlanItem(
            group,
            source.slug,
            "blocked",
            ws.live_version,
            source.version,
            f"locked ({lock}): the import of this workspace will fail until it is resolved or unlocked",
        )
    item = PlanItem(group, source.slug, "update", ws.live_version, source.version)
    await _compare_with_instance(client, ws, source.files, item, ignore, f"repository {source.version or 'latest'}")
    return item


async def _compare_with_instance(
    client: PrismeClient, ws: Workspace, incoming: Files, item: PlanItem, ignore: Any, label: str
) -> None:
    """Diffstat against what the instance runs, and the edits made there since its last import."""
    archive = await client.export(ws.id)
    try:
        status = await client.status(ws.id)
    except E.Unsupported:  # no status endpoint (2024): the edits are unknown, which is never safe
        status = {"changes": [dict(UNKNOWN_EDITS)]}
        item.warnings.append(UNKNOWN_EDITS["why"] + "; assume they will be lost")
    running = files_from_zip(archive)
    item.diff = await asyncio.to_thread(
        diff_files, running, incoming, old_label=f"{ws.slug} (running)", new_label=label, ignore=ignore
    )
    item.lost_edits = [c for c in status.get("changes") or [] if isinstance(c, dict)]
    if ws.dirty and not status.get("version") and not item.diff.identical:
        item.warnings.append("dirty and never imported: its unpushed content (the diff above) will be lost")


# ------------------------------------------------------------------------------------------- promote
async def promote(ctx: Context, source: str, target: str, *, groups: list[str] | None = None) -> Plan:
    """What promoting every workspace of ``groups`` from one environment to another would change."""
    names = groups or list(ctx.config.groups)
    if not names:
        raise E.UsageError("No workspace groups are configured: add [groups.<name>] or give --groups.")
    unknown = [g for g in names if g not in ctx.config.groups]
    if unknown:
        raise E.UsageError(f"Unknown group(s) {', '.join(unknown)}; configured: {', '.join(ctx.config.groups)}.")
    plan = Plan("promote", target, source, names)
    ignore = ignore_rules(ctx)
    async with ctx.client(source) as src, ctx.client(target) as dst:
        there = {w.slug: w for w in await dst.list_workspaces()}
        done: set[str] = set()
        for group in names:
            labels = list(ctx.config.groups[group].labels)
            found = await src.list_workspaces(labels=labels)
            if not found:  # nothing to promote is not "no changes": say what was looked for (exit 2)
                raise NothingFound(
                    f"nothing to plan: no workspace of group {group} on {source} (labels looked for: "
                    f"{', '.join(labels)}).",
                    hint=f"Check [groups.{group}] labels and the workspaces' labels on {source}.",
                )
            members = [w for w in found if w.slug not in done]
            items = await asyncio.gather(
                *(_promote_item(src, dst, group, w, there.get(w.slug), ignore) for w in members)
            )
            plan.items.extend(items)
            done.update(w.slug for w in members)
    return plan


async def _promote_item(
    src: PrismeClient, dst: PrismeClient, group: str, ws: Workspace, there: Workspace | None, ignore: Any
) -> PlanItem:
    if there is None:
        return PlanItem(group, ws.slug, "create", None, ws.live_version, "not on the target")
    lock = there.write_lock.reason if there.write_lock else None
    if lock:
        return PlanItem(
            group, ws.slug, "blocked", there.live_version, ws.live_version, f"locked ({lock}) on the target"
        )
    incoming = files_from_zip(await src.export(ws.id))
    item = PlanItem(group, ws.slug, "update", there.live_version, ws.live_version)
    await _compare_with_instance(dst, there, incoming, item, ignore, f"{ws.slug} (source)")
    if item.diff is not None and item.diff.identical:
        item.action, item.reason = "skip", SAME_CONTENT
        item.lost_edits = []
    return item


# ------------------------------------------------------------------------------------------- rollback
ROLLBACK = "rollback"  # the one "group" of a rollback plan


async def rollback(ctx: Context, env: str, slug: str, version: str, *, repository: str | None = None) -> Plan:
    """What rolling ``slug`` back to ``version`` would change on ``env``: the version's content against what
    runs, and the edits made there since its last import (a rollback's pull replaces them)."""
    from tui.core.api.models import check_git_ref
    from tui.core.ops.compare import Ref, snapshot

    check_git_ref(version)
    the_plan = Plan(ROLLBACK, env, repository or "native versions", [ROLLBACK])
    async with ctx.client(env) as client:
        ws = await client.find_workspace(slug)
        lock = ws.write_lock.reason if ws.write_lock else None
        if lock:
            reason = f"locked ({lock}): the rollback will fail until it is resolved or unlocked"
            the_plan.items.append(PlanItem(ROLLBACK, ws.slug, "blocked", ws.live_version, version, reason))
            return the_plan
        incoming = await snapshot(ctx, Ref(env, ws.slug, version))
        item = PlanItem(ROLLBACK, ws.slug, "update", ws.live_version, version)
        await _compare_with_instance(client, ws, incoming, item, ignore_rules(ctx), f"{ws.slug}@{version}")
        if item.diff is not None and item.diff.identical:
            item.action, item.reason, item.lost_edits = "skip", SAME_CONTENT, []
        the_plan.items.append(item)
    return the_plan
