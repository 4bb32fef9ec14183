"""Exact apply of a saved plan (issue 28): save, approve, check, run.

- :func:`save`: the plan and what it read on every target (:func:`read_targets`), recorded in the ledger of
  each environment it changes (kind ``plan``: the ledger stamps its author) and written to the file;
- :func:`approve`: an ``approval`` record of the plan's digest, by anyone but its author;
- :func:`check`: the approvals each environment's merged policy asks for (other users than the author),
  then every target read again and compared (:class:`TargetsChanged`, exit 1, naming each change);
- :func:`approved`: while it is open the gate's approval rule lets the plan's environments through, and
  the existing operations run the plan (bulk import, promotion per workspace, rollout): each passes the
  gate itself, and each takes its own safety snapshots and journal entries;
- :func:`apply_plan`: the whole apply (gate, approvals, targets unchanged, :func:`run_plan`, :func:`record`),
  the one the CLI's ``apply FILE`` and the app's Pending plans both call, each reporting its events its way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core import errors as E
from tui.core.api.client import PrismeClient
from tui.core.api.models import Workspace
from tui.core.diff import files_from_zip, is_metadata
from tui.core.gitsource import GitHistory
from tui.core.ops import planfile, policy
from tui.core.ops.context import Context
from tui.core.ops.planfile import SavedPlan
from tui.core.ops.requests import Request

NEEDS_ACTION = ("create", "update", "blocked")


class NotApproved(E.PrismeError):
    """The plan lacks approvals its environments need (exit 1): nothing was done."""

    kind = "not_approved"


class SelfApproval(E.PrismeError):
    """The plan's author asked to approve it (exit 1)."""

    kind = "self_approval"


class TargetsChanged(E.PrismeError):
    """A target no longer reads as it did when the plan was made (exit 1): nothing was done."""

    kind = "targets_changed"


# ------------------------------------------------------------------------------------------- reads
def slugs_by_env(kind: str, params: dict[str, Any], summary: dict[str, Any]) -> dict[str, list[str]]:
    """The workspaces a plan reads, per environment: its targets (and a promotion's sources)."""
    plans = summary.get("plans") if kind == "rollout" else [summary]
    found: dict[str, list[str]] = {}
    for one in plans or []:
        names = [str(item.get("workspace")) for item in one.get("items") or [] if isinstance(item, dict)]
        found.setdefault(str(one.get("env")), []).extend(names)
        if kind == "promote":
            found.setdefault(str(params["source"]), []).extend(names)
    return {env: sorted(set(names)) for env, names in found.items()}


async def read_targets(ctx: Context, kind: str, params: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """What the plan depends on, read now: each workspace's version, last import, lock and content digest;
    the repository's branch head for a bulk import or a rollout."""
    reads: dict[str, dict[str, Any]] = {}
    if kind in ("bulk-import", "rollout"):
        head = await asyncio.to_thread(_head, ctx, str(params["repository"]))
        reads[f"repository:{params['repository']}"] = {"head": head}
    elif kind == "rollback" and params.get("repository"):  # a git version: the commit its tag names
        where = f"{params['repository']}:{params['workspace']}@{params['version']}"
        reads[f"version:{where}"] = {
            "head": await asyncio.to_thread(
                _head, ctx, str(params["repository"]), str(params["workspace"]), str(params["version"])
            )
        }
    for env, slugs in slugs_by_env(kind, params, summary).items():
        async with ctx.client(env) as client:
            present = {w.slug: w for w in await client.list_workspaces()}
            found = await asyncio.gather(*(_workspace_read(client, present.get(slug)) for slug in slugs))
        reads.update({f"{env}:{slug}": read for slug, read in zip(slugs, found, strict=True)})
    return reads


def _head(ctx: Context, repository: str, slug: str = "", version: str = "latest") -> str:
    """The commit of the branch head (or of a workspace's version tag) in the configured clone."""
    source = ctx.config.repositories.get(repository)
    if source is None:
        raise E.UsageError(f"No local copy of repository {repository!r} is configured.")
    return GitHistory(source).resolve(slug, version)


async def _workspace_read(client: PrismeClient, ws: Workspace | None) -> dict[str, Any]:
    if ws is None:
        return {"exists": False}
    # .import.yml and folder indexes carry the export's own date: metadata, not what the plan would change
    files = {path: data for path, data in files_from_zip(await client.export(ws.id)).items() if not is_metadata(path)}
    return {
        "exists": True,
        "id": ws.id,
        "version": ws.live_version,
        "lastPull": ws.last_pull.version if ws.last_pull else None,
        "lock": ws.write_lock.reason if ws.write_lock else None,
        "content": await asyncio.to_thread(planfile.content_digest, files),
    }


def changes(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Each target that reads differently now, and what changed on it (server text: shown inert)."""
    said = []
    for key in sorted(saved):
        before, after = saved[key], now.get(key, {})
        if before == after:
            continue
        if "head" in before:
            what = "branch head" if key.startswith("repository:") else "commit"
            said.append(f"{key}: {what} {str(before['head'])[:7]} → {str(after.get('head'))[:7]}")
            continue
        if before.get("exists") != after.get("exists"):
            said.append(f"{key}: {'deleted' if before.get('exists') else 'created'} since the plan")
            continue
        parts = []
        for field_name, label in (("version", "version"), ("lastPull", "last import"), ("lock", "write lock")):
            if before.get(field_name) != after.get(field_name):
                parts.append(f"{label} {before.get(field_name) or 'none'} → {after.get(field_name) or 'none'}")
        if before.get("content") != after.get("content"):
            parts.append("content changed")
        if before.get("id") != after.get("id"):
            parts.append("recreated (another id)")
        said.append(f"{key}: " + ", ".join(parts or ["changed"]))
    return said


# ------------------------------------------------------------------------------------------- save
async def build(ctx: Context, kind: str, params: dict[str, Any], summary: dict[str, Any]) -> SavedPlan:
    if kind == "promote":
        creates = [i["workspace"] for i in summary.get("items") or [] if i.get("action") == "create"]
        if creates:
            raise E.UsageError(
                f"this promotion creates {', '.join(creates)} on {params['target']}: a saved plan applies to "
                "workspaces that exist (a creation has nothing to compare with); nothing was written.",
                hint=f"Create them on {params['target']} first (or promote them one by one), then plan again.",
            )
    environments = [str(p.get("env")) for p in summary.get("plans") or []] if kind == "rollout" else [summary["env"]]
    reads = await read_targets(ctx, kind, params, summary)
    if moved := _moved_while_planning(kind, summary, reads):
        raise TargetsChanged(
            f"a target changed while the plan was made ({'; '.join(moved)}): nothing was written.",
            hint="Plan again once nobody else is changing it.",
        )
    return SavedPlan(kind, params, list(dict.fromkeys(environments)), reads, summary)


def _moved_while_planning(kind: str, summary: dict[str, Any], reads: dict[str, Any]) -> list[str]:
    """The targets whose version read after the plan is not the one the plan shows (its "from")."""
    moved = []
    for one in summary.get("plans") or [] if kind == "rollout" else [summary]:
        for item in one.get("items") or []:
            read = reads.get(f"{one.get('env')}:{item.get('workspace')}") or {}
            # an update or a blocked item shows the version the target ran ("from"): it must still be the one read
            if item.get("action") in ("update", "blocked") and read.get("version") != item.get("from"):
                moved.append(f"{one.get('env')}:{item.get('workspace')} {item.get('from')} → {read.get('version')}")
    return moved


@dataclass
class Saved:
    path: Path
    plan: SavedPlan
    recorded: list[str] = field(default_factory=list)  # environments whose ledger holds the plan
    notes: list[str] = field(default_factory=list)


async def save(ctx: Context, the_plan: SavedPlan, path: Path) -> Saved:
    """Record the plan in each environment's ledger (its author, stamped), then write the file. An environment
    that needs approvals and whose ledger cannot be reached: nothing is written (its approvals could never
    be checked)."""
    from tui.core.ledger import LedgerUnavailable, open_ledger

    saved = Saved(Path(path), the_plan)
    payload = {"digest": the_plan.digest, "kind": the_plan.kind, "title": the_plan.title(), "file": Path(path).name}
    for env in the_plan.environments:
        try:
            ledger = open_ledger(ctx, env)
            record = await ledger.append("plan", env, payload)
        except LedgerUnavailable as exc:
            if ctx.env(env).approvals > 0:
                raise NotApproved(
                    f"{env} needs approvals, and its ledger cannot be reached ({exc.message}): the plan's author "
                    "could not be recorded; nothing was written.",
                    hint="Check the ledger (`ledger --env ENV`), then save the plan again.",
                ) from None
            saved.notes.append(f"{env}: the ledger could not be reached ({exc.message}); the plan is not recorded")
            continue
        the_plan.author = the_plan.author or {"id": record.user_id, "name": record.user_name, "stamped": record.stamped}
        saved.recorded.append(env)
        if not record.stamped:
            saved.notes.append(
                f"{env}: the ledger's identity is claimed, not stamped (this instance has no stamped channel)"
            )
    planfile.write(the_plan, path)
    return saved


# ------------------------------------------------------------------------------------------- approvals
@dataclass
class Approvals:
    env: str
    needed: int
    author: tuple[str, str] | None  # (user id, name) as the ledger knows them; None: no plan record
    approvers: list[tuple[str, str]] = field(default_factory=list)
    stamped: bool = True  # False: some record's identity is claimed, not stamped

    @property
    def enough(self) -> bool:
        return self.author is not None and len(self.approvers) >= self.needed

    def said(self) -> str:
        who = ", ".join(name for _id, name in self.approvers) or "nobody"
        author = self.author[1] if self.author else "unknown (no plan record in the ledger)"
        claim = "" if self.stamped else " (identity claimed, not stamped)"
        return f"{self.env}: {len(self.approvers)}/{self.needed} approval(s), by {who}; author {author}{claim}"


async def approvals(ctx: Context, the_plan: SavedPlan, env: str) -> Approvals:
    return await approvals_of(ctx, the_plan.digest, env)


async def approvals_of(ctx: Context, digest: str, env: str) -> Approvals:
    """Who saved the plan of ``digest`` (its ``plan`` record) and who else approved it, per the ledger of ``env``."""
    from tui.core.ledger import open_ledger

    records = await open_ledger(ctx, env).read(env=env, kinds=["plan", "approval"])
    return _tally(ctx, env, digest, records)


def _tally(ctx: Context, env: str, digest: str, records: list[Any]) -> Approvals:
    mine = [r for r in records if r.payload.get("digest") == digest]
    plans = [r for r in mine if r.kind == "plan"]
    author = (plans[0].user_id, plans[0].user_name) if plans else None
    found = Approvals(env, ctx.env(env).approvals, author, stamped=all(r.stamped for r in mine))
    seen: set[str] = set()
    for record in mine:
        if record.kind == "approval" and author and record.user_id != author[0] and record.user_id not in seen:
            seen.add(record.user_id)
            found.approvers.append((record.user_id, record.user_name))
    return found


@dataclass(frozen=True)
class Pending:
    digest: str
    title: str
    saved_at: str
    approvals: Approvals


async def pending(ctx: Context, env: str) -> list[Pending]:
    """Plans saved for ``env`` that await an approval or their apply: a plan leaves the list once an apply
    of it succeeded (its ``change`` record), approved or not (newest first)."""
    from tui.core.ledger import open_ledger

    records = await open_ledger(ctx, env).read(env=env, kinds=["plan", "approval", "change"])
    applied = {
        str(r.payload.get("digest"))
        for r in records
        if r.kind == "change" and r.payload.get("action") == "apply" and r.payload.get("outcome") == "ok"
    }
    found: list[Pending] = []
    for record in records:
        digest = str(record.payload.get("digest") or "")
        if record.kind != "plan" or not digest or digest in applied or any(p.digest == digest for p in found):
            continue
        state = _tally(ctx, env, digest, records)
        title = str(record.payload.get("title") or record.payload.get("kind") or "")
        found.append(Pending(digest, title, record.at.isoformat(timespec="minutes"), state))
    return found[::-1]


async def approve(ctx: Context, the_plan: SavedPlan, reason: str | None) -> list[tuple[str, Any]]:
    """An approval record in the ledger of each environment of the plan; the author's own is refused."""
    return [
        (env, await approve_digest(ctx, env, the_plan.digest, the_plan.title(), reason))
        for env in the_plan.environments
    ]


async def approve_digest(ctx: Context, env: str, digest: str, title: str, reason: str | None) -> Any:
    """An approval of the plan of ``digest`` in ``env``'s ledger (the app approves from the ledger's record)."""
    from tui.core.ledger import open_ledger

    ledger = open_ledger(ctx, env)
    state = await approvals_of(ctx, digest, env)
    me = await ledger.whoami()
    if state.author is None:
        raise NotApproved(
            f"plan {digest[:12]} is not recorded in {env}'s ledger: its author is unknown, so an approval "
            "could not be told from a self-approval; nothing was approved.",
            hint="Ask its author to save it again with `plan ... --out FILE` while the ledger is reachable.",
        )
    if me[0] == state.author[0]:
        raise SelfApproval(
            f"you ({me[1]}) saved plan {digest[:12]}: an approval must come from another platform user; "
            "nothing was approved.",
            hint="Ask a colleague to run `prisme-deploy approve FILE`.",
        )
    return await ledger.append("approval", env, {"digest": digest, "title": title, "reason": reason})


async def require_approvals(ctx: Context, the_plan: SavedPlan) -> list[Approvals]:
    found = [await approvals(ctx, the_plan, env) for env in the_plan.environments if ctx.env(env).approvals > 0]
    missing = [a for a in found if not a.enough]
    if missing:
        raise NotApproved(
            f"plan {the_plan.short} is not approved enough: " + "; ".join(a.said() for a in missing) + ". "
            "Nothing was done.",
            hint="Another platform user approves it with `prisme-deploy approve FILE`.",
        )
    return found


# ------------------------------------------------------------------------------------------- check, run
async def require_unchanged(ctx: Context, the_plan: SavedPlan) -> None:
    now = await read_targets(ctx, the_plan.kind, the_plan.params, the_plan.summary)
    said = changes(the_plan.reads, now)
    if said:
        raise TargetsChanged(
            f"plan {the_plan.short} no longer matches its targets: " + "; ".join(said) + ". Nothing was done.",
            hint="Plan again (`plan ... --out FILE`) and have the new plan approved.",
        )


async def record(
    ctx: Context, the_plan: SavedPlan, states: list[Approvals], ok: bool, reason: str | None = None
) -> list[str]:
    """The apply in each environment's ledger: the plan's digest, who approved it, the outcome (the operations'
    own changes are there too, from their journal entries). A ledger out of reach is said, never fatal."""
    from tui.core.ledger import open_ledger

    notes = []
    for env in the_plan.environments:
        approvers = [name for state in states if state.env == env for _id, name in state.approvers]
        payload = {
            "action": "apply",
            "digest": the_plan.digest,
            "title": the_plan.title(),
            "approvedBy": approvers,
            "outcome": "ok" if ok else "failed",
            "reason": reason,
        }
        try:
            await open_ledger(ctx, env).append("change", env, payload)
        except E.PrismeError as exc:
            notes.append(f"{env}: the ledger could not record this apply ({exc.message}); the local journal has it")
    return notes


@contextmanager
def approved(the_plan: SavedPlan) -> Iterator[None]:
    """The gate's approval rule lets this plan's environments through while the plan runs."""
    token = policy.APPROVED.set(policy.APPROVED.get() | frozenset(the_plan.environments))
    try:
        yield
    finally:
        policy.APPROVED.reset(token)


async def promotions(ctx: Context, the_plan: SavedPlan, request: Request | None = None) -> AsyncIterator[Any]:
    """A promotion plan, workspace by workspace, through the existing promotion (snapshot, import, verify);
    the drift it overwrites is the one the plan listed, approved, and checked unchanged."""
    from tui.core.ops import actions, promote
    from tui.core.ops.compare import Ref

    source, target = str(the_plan.params["source"]), str(the_plan.params["target"])
    for item in the_plan.summary.get("items") or []:
        slug = str(item.get("workspace"))
        if item.get("action") == "blocked":
            yield actions.Outcome(False, f"{target}:{slug} is locked: not promoted ({item.get('reason') or ''}).")
            continue
        if item.get("action") != "update":
            continue
        step = await promote.plan(ctx, Ref(source, slug), Ref(target, slug))
        yield await promote.promote(ctx, step, accept_drift=True, request=request)


# ------------------------------------------------------------------------------------------- run, apply
async def run_plan(
    ctx: Context, the_plan: SavedPlan, request: Request, on_event: Callable[[Any], None] | None = None
) -> bool:
    """Run a checked plan through the existing operations; True when every part succeeded. ``on_event`` gets
    what the run reports, in order: bulk events (``api.bulk.BulkEvent``), then the ``bulk.BulkRun``; each
    ``actions.Outcome``; a sentence (``str``) where no operation ran or for a rollout's end."""
    from tui.core.ops import actions, bulk, rollout

    said = on_event or (lambda _event: None)
    p: dict[str, Any] = the_plan.params
    if the_plan.kind == "bulk-import":
        result = bulk.BulkRun(p["env"], "bulk-import")
        events = bulk.bulk_import(
            ctx,
            p["env"],
            repository=p["repository"],
            groups=p["groups"],
            force_reimport=bool(p.get("force_reimport")),
            run=result,
            request=request,
        )
        async for event in events:
            said(event)
        said(result)
        return not result.failed
    if the_plan.kind == "rollback":
        item = (the_plan.summary.get("items") or [{}])[0]
        if item.get("action") == "skip":
            said(f"{p['workspace']} on {p['env']} already runs the content of {p['version']}: nothing to roll back.")
            return True
        outcome = await actions.pull(
            ctx,
            p["env"],
            p["workspace"],
            version=p["version"],
            repository=p.get("repository"),
            discard_local_changes=bool(p.get("discard_local_changes")),
            action="rollback",
            request=request,
        )
        said(outcome)
        return outcome.ok
    if the_plan.kind == "promote":
        ok = True
        async for outcome in promotions(ctx, the_plan, request):
            said(outcome)
            ok = outcome.ok and ok
        return ok

    async def confirmed(_env: str, _plan: Any) -> bool:
        return True  # the apply was confirmed once, for every environment, before it ran

    state = await rollout.run(
        ctx, p["release"], repository=p["repository"], groups=p["groups"], confirm=confirmed, request=request
    )
    said(f"rollout {state.release}: {state.status}" + (f" at {state.failed['env']}" if state.failed else ""))
    return state.status == "completed"


async def apply_plan(
    ctx: Context,
    the_plan: SavedPlan,
    request: Request,
    *,
    confirm: Callable[[str], None] | None = None,
    on_event: Callable[[Any], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> bool:
    """The whole apply, for the CLI and the app alike: the gate (its approval rule answered below, from the
    ledger), the approvals, every target unchanged, ``confirm`` per environment (raises to stop), the run,
    and its record in each ledger. A refusal raises (:class:`NotApproved`, :class:`TargetsChanged`, the
    gate's): nothing was done. Returns whether the run succeeded."""
    from tui.core.ops import gate

    note = on_note or (lambda _text: None)
    with approved(the_plan):  # the approval rule is checked below, from the ledger
        gate.enforce(
            ctx, gate.operation(ctx, f"apply of plan {the_plan.short}", the_plan.environments, request=request)
        )
    states = await require_approvals(ctx, the_plan)
    for state in states:
        note(f"approved: {state.said()}")
    await require_unchanged(ctx, the_plan)
    note(f"every target reads as it did when plan {the_plan.short} was made")
    with approved(the_plan):  # approved above: the confirmation and the operations ask the gate again
        for env in the_plan.environments:
            if confirm is not None:
                confirm(env)
        ok = await run_plan(ctx, the_plan, request, on_event)
    for said in await record(ctx, the_plan, states, ok, request.reason):
        note(f"note: {said}")
    return ok
