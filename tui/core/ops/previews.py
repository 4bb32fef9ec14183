"""What the app's dialogs show before a bulk import or a rollback is confirmed (issue 16; moved from
tui/app/plans.py by issue 27: Textual-free, so it is an operation's, not the app's).

The same plan as ``prisme-deploy plan bulk-import`` (per group and workspace: create/update/skip/blocked,
the version change, a diffstat, the edits that will be lost), and whether a rollback would be undone by
the next restart of the workspaces service. Computed by workers after the dialog opened; these
functions only read and return lines, the app posts them to the dialog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui.core import errors as E
from tui.core.ops import plan, sticky
from tui.core.ops.context import Context

STICKY_LABEL = "Push this content as a new version (sticks across restarts)"  # one line at 80x24


@dataclass
class Preview:
    """What fills a pending dialog: its details, its warnings, and why Confirm stays off (if it must)."""

    details: list[str]
    warnings: list[str] = field(default_factory=list)
    blocked: str | None = None
    plan: Any = None


async def bulk_import(ctx: Context, env: str, repository: str, groups: list[str], force: bool) -> Preview:
    """The plan of a bulk import; lost edits are raised as a warning above it (they scroll away otherwise)."""
    from tui.core.ops.release import ReleaseRejected

    try:
        the_plan = await plan.bulk_import(ctx, env, repository=repository, groups=groups, force_reimport=force)
    except ReleaseRejected as exc:  # the import would be refused too: Confirm stays off, the way out is said
        refusal = f"REFUSED: {exc.message}"
        return Preview([refusal] + ([exc.hint] if exc.hint else []), [refusal], f"Refused: {exc.message}")
    except E.PrismeError as exc:
        # The import itself does not need the local clone the plan reads: say so, do not forbid it.
        return Preview(
            [f"No plan: {exc.message}"] + ([exc.hint] if exc.hint else []),
            [f"The plan could not be computed; what this import changes on {env} is unknown."],
        )
    warnings = []
    lost = [item for item in the_plan.items if item.lost_edits or item.warnings]
    if lost:
        names = ", ".join(f"{item.slug} ({len(item.lost_edits)})" if item.lost_edits else item.slug for item in lost)
        warnings.append(f"EDITS THAT WILL BE LOST on {env}: {names} (listed below).")
    blocked = [item.slug for item in the_plan.items if item.action == "blocked"]
    if blocked:
        warnings.append(f"BLOCKED (locked): {', '.join(blocked)}; the import stops at their group.")
    if not the_plan.has_changes:
        text = f"Nothing to import: every workspace of {', '.join(groups)} on {env} is already at its version."
        return Preview(the_plan.lines(), warnings, text if not force else None, the_plan)
    return Preview(the_plan.lines(), warnings, None, the_plan)


async def restart_risk(ctx: Context, env: str, slug: str, version: str) -> Preview:
    """For the rollback dialog: will the next restart of the workspaces service undo this rollback?"""
    try:
        risk = await sticky.restart_risk(ctx, env, slug, after=version)
    except E.PrismeError as exc:  # unknown is never safe: taken as at risk, the sticky rollback offered
        risk = sticky.RestartRisk(True, f"UNKNOWN ({exc.message}): assume the next restart re-imports", unknown=True)
    details = [f"After a restart: {risk.message}"]
    if not risk.at_risk:
        return Preview(details)
    if risk.unknown:
        warning = f"UNKNOWN: assume the next restart of {env} re-imports over {version}."
        return Preview(details, [warning])
    again = risk.reimports or "the repository's latest"
    # Said in the dialog (the sticky box below it) and in the log after it closed: no "tick the box" here.
    warning = f"AT RISK: the next restart of {env} re-imports {again} over {version}."
    return Preview(details, [warning])
