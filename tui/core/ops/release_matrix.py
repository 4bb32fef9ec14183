"""The Releases view's matrix and the rollout dialog's plans (issue 16; moved from tui/app/releases.py by
issue 27): each recorded release against each environment.

A cell says where a release is ``deployed`` (every workspace at its version, no edit since), ``drifted``
(at its versions, but edited on the instance since the import), ``partial n/m`` (some workspaces at the
release's version), or ``-`` (none). Rollout steps arrive as dicts (tui.core.ops.rollout) and become log
lines here. Textual-free: the app posts what these functions return.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from tui.core import errors as E
from tui.core.ops import at, plan, release, rollout
from tui.core.ops.context import Context

MISMATCH = ("removed", "changed")


def state_of(the_release: release.Release, differences: list[release.Difference]) -> str:
    total = len(the_release.workspaces)
    off = sum(1 for d in differences if d.state in MISMATCH)
    drifted = sum(1 for d in differences if d.state == "drifted")
    if total == 0:
        return "empty"  # a release of no workspace is deployed nowhere
    if off == 0:
        return f"drifted ({drifted})" if drifted else "deployed"
    if off < total:
        return f"partial {total - off}/{total}" + (f", drifted ({drifted})" if drifted else "")
    return "-"


async def _cell(ctx: Context, env: str, the_release: release.Release) -> str:
    try:
        return state_of(the_release, await release.diff_env(ctx, env, the_release))
    except E.PrismeError as exc:
        return f"? {exc.message}"


HEAD = "HEAD"
REJECTED = "REJECTED"  # marked bad (release reject): never rolled out, whatever the head is


def head_of(ctx: Context, the_release: release.Release, heads: dict[str, release.Release | str]) -> str:
    """``HEAD`` when the release is its repository's branch head (what a rollout imports), else why not;
    unreadable is not the head (a rollout refuses it). ``heads``: each repository's head, read once."""
    repo_id = the_release.repository
    if repo_id not in heads:
        try:
            heads[repo_id] = release.from_repository(ctx, repo_id or release._repository(ctx, None), "head")
        except E.PrismeError as exc:
            heads[repo_id] = f"? {exc.message}"
    head = heads[repo_id]
    if isinstance(head, str):
        return head
    try:
        rollout.require_head(ctx, the_release, repo_id or None, head)
    except E.PrismeError:
        return "not head"
    return HEAD


async def matrix(ctx: Context) -> tuple[list[str], list[list[str]]]:
    """Columns (release, created, head, then one per environment) and one row per release, newest first."""
    releases = list(reversed(await asyncio.to_thread(release.list_releases, ctx)))
    envs = list(ctx.config.environments)
    cells = await asyncio.gather(*(_cell(ctx, env, r) for r in releases for env in envs))
    read: dict[str, release.Release | str] = {}
    heads = await asyncio.to_thread(lambda: [head_of(ctx, r, read) for r in releases])
    rows = [
        [
            r.name,
            (r.created_at or "")[:16],
            REJECTED if r.rejected else heads[i],
            *cells[i * len(envs) : (i + 1) * len(envs)],
        ]
        for i, r in enumerate(releases)
    ]
    return ["release", "created", "head", *envs], rows


def environments(ctx: Context) -> list[str]:
    return [env for stage in rollout.stages(ctx) for env in stage.environments]


async def rollout_plans(
    ctx: Context, name: str, groups: list[str], keep: dict[str, Any] | None = None
) -> tuple[list[str], list[str]]:
    """What the rollout would import on each environment of its stages, in order (as `plan rollout`); ``keep``
    receives what a saved plan needs (its params and summary: ctrl+s)."""
    the_release = await asyncio.to_thread(release.get, ctx, name)
    repo_id = await asyncio.to_thread(rollout.require_head, ctx, the_release)  # refused before any confirmation
    details: list[str] = []
    warnings: list[str] = []
    found_plans = []
    for env in environments(ctx):
        found = await plan.bulk_import(ctx, env, repository=the_release.repository or "", groups=groups)
        found_plans.append(found.to_json())
        details.extend([*found.lines(), ""])
        lost = [item.slug for item in found.items if item.lost_edits]
        if lost:
            warnings.append(f"EDITS THAT WILL BE LOST on {env}: {', '.join(lost)} (listed below).")
    note = rollout.smoke_note(rollout.smokes(ctx))
    if note:
        warnings.append(note[0].upper() + note[1:] + ".")
    if keep is not None:
        keep["params"] = {"release": the_release.name, "repository": repo_id, "groups": groups}
        keep["summary"] = {"release": the_release.name, "plans": found_plans}
    return details, warnings


def step_line(step: dict[str, Any]) -> str:
    """One rollout step as a log line (the CLI prints the same facts)."""
    env, message = step.get("env"), str(step.get("message"))
    # Most steps' messages name their environment already ("prod-us: every gate passed"): said once, in
    # its one place (after FAILED, before the gate), so every line reads "FAILED prod-us: [smoke] ...".
    if env and message.startswith(f"{env}: "):
        message = message[len(f"{env}: ") :]
    where = f"{env}: " if env and not message.startswith(f"{env} ") else ""
    gate = f"[{step['gate']}] " if step.get("gate") else ""
    mark = "" if step.get("ok", True) else "FAILED "
    return f"  rollout {step.get('kind')}: {mark}{where}{gate}{message}"


# ------------------------------------------------------------------------------------------- time cursor
async def timeline(ctx: Context) -> at.Timeline:
    """The record the time cursor steps through (issue 29), leaving event searches for verifications."""
    from tui.core.ops.history import OPTIONAL_RESERVE

    return await at.timeline(ctx, list(ctx.config.environments), sources=at.default_sources(OPTIONAL_RESERVE))


def at_table(ctx: Context, found: at.Timeline, when: dt.datetime) -> tuple[list[str], list[list[str]]]:
    """Workspaces × environments at ``when``: the version (● when an import changed it at that instant, not
    when a snapshot merely read it then; * when later imports could not be seen), or unknown (``prisme-deploy
    at`` says why)."""
    envs = list(ctx.config.environments)
    answer = at.state_at(found, when)
    changed = found.changed_at(when)
    slugs = sorted({slug for _, slug in answer})

    def cell(running: at.Running | None) -> str:
        if running is None:
            return "-"
        deployed = (running.env, running.workspace) in changed and not running.unknown
        return running.cell() + (" ●" if deployed else "")

    return ["workspace", *envs], [[slug, *(cell(answer.get((env, slug))) for env in envs)] for slug in slugs]
