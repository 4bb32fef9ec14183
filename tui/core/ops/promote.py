"""Promotion of a workspace from A to B (two instances, or a dev/prod pair on one instance).

The diff is the preview; drift on B (edits since its last import) must be acknowledged; a safety
snapshot of B is taken; afterwards the diff is computed again and must be empty.
- ``archive``: export A, import into B with prune (the Deployment guide's API script);
- ``git``: push A to a platform repository, then pull that version on B.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tui.core import errors as E
from tui.core.diff import WorkspaceDiff
from tui.core.ops import actions, bundles, snapshots, verify
from tui.core.ops.actions import Outcome, label_note
from tui.core.ops.compare import Ref, compare, drift, edits_unknown
from tui.core.ops.context import Context
from tui.core.ops.requests import Request
from tui.core.rails import with_reason

if TYPE_CHECKING:
    from tui.core.ops.parity import Parity


class DriftNotAcknowledged(E.UsageError):
    kind = "drift"


@dataclass
class Plan:
    source: Ref
    target: Ref
    diff: WorkspaceDiff
    drift: list[dict[str, Any]] = field(default_factory=list)
    parity: Parity | None = None  # secrets and config names the target lacks (tui.core.ops.parity)
    warnings: list[str] = field(default_factory=list)  # what the import does besides the diff (a rename)

    def to_json(self) -> dict[str, Any]:
        return {
            "from": str(self.source),
            "to": str(self.target),
            "diff": self.diff.to_json(hunks=False),
            "drift": self.drift,
            "parity": self.parity.to_json() if self.parity else None,
            "warnings": self.warnings,
        }


async def plan(ctx: Context, source: Ref, target: Ref) -> Plan:
    if source.version or target.version:
        raise E.UsageError("Promotion copies the current state: give ENV:SLUG without @VERSION.")
    from tui.core.ops.parity import parity

    # The preview reads as what changes on the target: its current state (old) -> the source's (new).
    return Plan(
        source,
        target,
        await compare(ctx, target, source),
        await drift(ctx, target.env, target.slug),
        await parity(ctx, source, target),
        await renamed(ctx, source, target),
    )


async def renamed(ctx: Context, source: Ref, target: Ref) -> list[str]:
    """An import replaces the target's ``name`` with the archive's (slug, id and repositories are kept):
    said in the preview, as a dev/prod pair's diff leaves the name out on purpose."""
    async with ctx.client(source.env) as src, ctx.client(target.env) as dst:
        old, new = (await dst.find_workspace(target.slug)).name, (await src.find_workspace(source.slug)).name
    if old == new:
        return []
    return [f"the import renames {target} from {old!r} to {new!r} (an import takes the archive's name)"]


async def promote(
    ctx: Context,
    the_plan: Plan,
    *,
    via: str = "archive",
    accept_drift: bool = False,
    name: str | None = None,
    repository: str | None = None,
    allow_missing: Collection[str] = (),
    request: Request | None = None,
) -> Outcome:
    """``request``: the promotion asked for (its reason and broken glass); None: the run's default reason."""
    why = request if request is not None else Request()
    source, target = the_plan.source, the_plan.target
    if the_plan.parity:
        from tui.core.ops.parity import refusal

        refused = refusal(the_plan.parity, allow_missing)
        if refused:
            raise refused
    if the_plan.drift and not accept_drift:
        if edits_unknown(the_plan.drift):
            raise DriftNotAcknowledged(
                f"Edits made on {target} since its last import are UNKNOWN (this instance has no status "
                "endpoint); promoting overwrites any there are.",
                hint="Review the diff, then acknowledge it (--accept-drift).",
            )
        slugs = ", ".join(f"{c.get('type')}/{c.get('slug')}" for c in the_plan.drift)
        raise DriftNotAcknowledged(
            f"{target} was edited since its last import ({slugs}); promoting overwrites it.",
            hint="Review the diff, then acknowledge the drift (--accept-drift).",
        )
    if the_plan.diff.identical:
        return Outcome(True, f"{target} already matches {source}: nothing to promote.")
    if via == "git" and not (name and repository):
        raise E.UsageError("Promotion through git needs a version name and a repository.")
    from tui.core.ledger import lease  # the target's lease (issue 28)

    with ctx.operation(target.env, f"promote {target.slug}", request=why):  # the gate: writable, freeze, reason, busy
        async with (
            lease.for_environments(ctx, [target.env], "promotion", f"{source} to {target}"),
            ctx.client(source.env) as src,
            ctx.client(target.env) as dst,
        ):
            src_ws = await src.find_workspace(source.slug)
            dst_ws = await dst.find_workspace(target.slug)
            snap = await snapshots.take(ctx, dst, target.env, dst_ws, "promote")
            with ctx.audit.record(
                "promote",
                target.env,
                dst.base_url,
                targets=[target.slug],
                version=name,
                details={
                    "from": str(source),
                    "via": via,
                    "snapshot": snap.id if snap else None,
                    "stat": the_plan.diff.stat(),
                    "drift": len(the_plan.drift),
                    "allowedMissing": sorted(r.name for r in _accepted(the_plan, allow_missing)),
                },
            ) as entry:
                if via == "git":
                    await src.publish(
                        src_ws.id,
                        name=name,
                        description=with_reason(f"Promote {source} to {target}", why.reason) or "",
                        repository_id=repository,
                    )
                    await dst.ready_for("imports")
                    since = dst.server_now(-2)
                    result = await dst.pull(
                        dst_ws.id, name or "latest", repository_id=repository, discard_local_changes=True, wait=False
                    )
                    if not result.errors:
                        settled = await verify.settle_pull(
                            dst,
                            dst_ws,
                            name or "latest",
                            since=since,
                            answered=result,
                            deadline=dst.processing_wait if result.pending else actions.SETTLE_WAIT,
                        )
                        if not settled.confirmed:
                            entry.outcome = "failed"
                            return Outcome(
                                False,
                                f"Promotion of {source} to {target}: the pull of {name} is not confirmed; "
                                f"{target} reports {settled.detail}.",
                                settled.workspace,
                                result,
                                snapshot_id=snap.id if snap else None,
                                next_step="Follow it in the workspace's activity before promoting again.",
                            )
                else:
                    result = await dst.import_archive(dst_ws.id, await src.export(src_ws.id), prune=True)
                if result.errors:
                    entry.outcome = "failed"
                    return Outcome(
                        False,
                        f"Promotion of {source} to {target} reported errors: {result.errors[0]}",
                        result=result,
                        snapshot_id=snap.id if snap else None,
                    )
                after = await compare(ctx, source, target)
                entry.details["verified"] = after.identical
                if not after.identical:
                    entry.outcome = "failed"
                    merged = "merges on import" in (actions.merged_note(dst, after.files) or "")
                    return Outcome(
                        False,
                        f"Promoted, but {target} still differs from {source}: {actions.merged_note(dst, after.files)}.",
                        result=result,
                        snapshot_id=snap.id if snap else None,
                        next_step="Delete the objects left over on the target (this instance does not prune on import)."
                        if merged
                        else "Check pull.exclude rules and the workspace's activity.",
                    ).told(dst, result)
            landed = await dst.get_workspace(dst_ws.id)
            note = None if via == "git" else label_note(landed, f"content of {source} by archive")
            warnings = await bundles.check(dst, landed)  # Builder bundles point at files, not versioned
            return Outcome(
                True,
                f"Promoted {source} to {target} via {via}: {the_plan.diff.stat()['files']} file(s) "
                f"changed; verified, no difference remains{_ignored(after.ignored)}" + (f" ({note})." if note else "."),
                landed,
                result,
                snapshot_id=snap.id if snap else None,
                content_note=note,
                warnings=warnings,
            ).told(dst, result)


def _accepted(the_plan: Plan, allow_missing: Collection[str]) -> list[Any]:
    """The missing required names the operator accepted with --allow-missing-secrets (for the journal)."""
    missing = the_plan.parity.missing() if the_plan.parity else []
    return [r for r in missing if r.name in allow_missing]


def _ignored(count: int) -> str:
    return f" (ignoring {count} difference(s) the platform makes on import or the config ignores)" if count else ""
